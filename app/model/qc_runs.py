"""Running acquisition QC from the workstation, and keeping sessions and decisions in the store.

A run reads one projection set, runs every acquisition check (:mod:`recon.qc`) with progress
and cancellation, records the session for the device (:mod:`app.store.qc`) and gathers the
device's trends for the trend view. The technologist's accept/reject goes through
:func:`decision_recorder`: a reject or repeat writes the Key Object Selection "Rejected for
Quality Reasons" next to the study in the store (``store.derived_path``, recorded with
``store.add_derived(kind="qc")``) and the decision, with the KOS's UID, on the QC session.
Imports of ``app.dicom`` and ``app.store`` happen inside the functions (the model stays
importable without them).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "ProjectionChoice",
    "QCRun",
    "projection_choices",
    "study_paths",
    "qc_task",
    "device_trends",
    "decision_recorder",
]


@dataclass(frozen=True)
class ProjectionChoice:
    """One projection set found in a study: its files and a line for a chooser."""

    files: tuple
    laterality: str
    view: str
    description: str


@dataclass(frozen=True)
class QCRun:
    """What a background QC run produced.

    ``projections``: the ``recon.ProjectionSet`` checked; ``report``: its ``QCReport``;
    ``files``: the projection files (what a reject KOS references); ``device``: the device name
    the session is kept under; ``session_id``: the store's QC session (None when not kept);
    ``trends``: ``{label: [(date, value), ...]}`` of the device; ``subject``: facts for the
    title; ``note``: one line for the user.
    """

    projections: object
    report: object
    files: tuple
    device: str
    study_uid: str | None = None
    session_id: int | None = None
    trends: dict = field(default_factory=dict)
    subject: dict = field(default_factory=dict)
    note: str = ""


def study_paths(study, *, store_dir=None) -> list[Path]:
    """Where a study's files are: the store's files of a store study, else the folder or files it was
    loaded from (empty when neither is known)."""
    from app.model.loading import looks_like_uid

    uid = getattr(study, "study_uid", "") or ""
    source = getattr(study, "source", "") or ""
    if uid and looks_like_uid(uid):
        from app.errors import CrescentError
        from app.store import Store, resolve_store_dir
        from app.store.location import DB_NAME

        if (Path(resolve_store_dir(store_dir)) / DB_NAME).is_file():
            try:
                with Store.open(store_dir) as store:
                    files = store.files(uid)
            except CrescentError:  # not in the store (e.g. opened from a folder)
                files = []
            if files:
                return list(files)
    if source and not source.startswith("store:") and Path(source).exists():
        return [Path(source)]
    return []


def projection_choices(paths) -> list[ProjectionChoice]:
    """The projection sets among ``paths`` (files or folders), in the readers' order.

    Raises
    ------
    InputError
        None of the paths holds a projection set.
    """
    from app.dicom.readers import examine
    from app.dicom.readers.base import breast_identity
    from app.errors import InputError

    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("no files to check: open a study with its projections, or choose a folder")
    result = examine(paths)
    out = []
    for ld in result.loadables:
        if ld.kind != "projections" or not ld.headers:
            continue
        ident = breast_identity(ld.headers[0].ds)
        out.append(
            ProjectionChoice(
                files=tuple(h.path for h in ld.headers),
                laterality=ident.get("laterality") or "",
                view=(ident.get("view") or "").upper(),
                description=ld.description,
            )
        )
    if not out:
        label = str(paths[0]) if len(paths) == 1 else f"{len(paths)} paths"
        raise InputError(f"{label}: no DBT projection set (Breast Projection X-Ray) found to check")
    return out


def device_trends(conn, device: str) -> dict:
    """``{"name (kind)": [(date, value), ...]}`` of every numeric check kept for ``device``."""
    from app.store import qc as qcstore

    rows = conn.execute(
        "SELECT DISTINCT s.kind, v.name FROM qc_values v JOIN qc_sessions s ON s.id = v.session_id"
        " WHERE s.device = ? AND v.value IS NOT NULL ORDER BY s.kind DESC, v.name",
        (device,),
    ).fetchall()
    out = {}
    for kind, name in rows:
        points = [(when[:10], value) for when, value, _ in qcstore.trend(conn, device, name, kind=kind)]
        points = [(d, v) for d, v in points if v is not None]
        if points:
            out[f"{name} ({kind})"] = points
    return out


def qc_task(files, *, store: bool = True, store_dir=None, limits=None, system: str | None = None):
    """A job function (``app.jobs``) checking the projection set in ``files``; returns a :class:`QCRun`.

    Parameters
    ----------
    files : sequence of paths
        The files of one projection set (see :func:`projection_choices`).
    store : bool
        Record the session in the store ``store_dir`` (and read the device's trends and limits
        from it).
    limits : recon.qc.limits.QCLimits, optional
        Default: the device's limits kept in the store, else the defaults.
    system : str, optional
        System preset for protocol conformance (default: the geometry's preset name).
    """
    files = tuple(Path(f) for f in files)
    if not files:
        raise ValueError("qc_task: no files")

    def run(progress, cancel, emit):
        import warnings

        from app.dicom import read_projection_set
        from app.reports.qc_inputs import acquisition_qc_options, device_name, dose_attributes
        from recon.errors import check_cancel
        from recon.qc.acquisition import run_acquisition_qc

        progress(0, 1, "reading the projections")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = read_projection_set(list(files))
        check_cancel(cancel)
        meta = p.metadata or {}
        device = device_name(meta, dose_attributes(files[0]))
        opts = acquisition_qc_options(files[0], p, system=system)
        lim = limits
        conn_store = None
        if store:
            from app.store import Store

            conn_store = Store.open(store_dir)
        try:
            if lim is None and conn_store is not None:
                from app.store import qc as qcstore

                lim = qcstore.device_settings(conn_store.connection, device)[0]

            def checks_progress(done, total, message=""):
                progress(done, total + 1, message)

            report = run_acquisition_qc(p, limits=lim, progress=checks_progress, cancel=cancel, **opts)
            study_uid = meta.get("study_instance_uid") or getattr(meta.get("study"), "study_instance_uid", None)
            session_id, trends, note = None, {}, "QC results not kept (store off)"
            if conn_store is not None:
                from app.store import qc as qcstore

                session_id = qcstore.record_session(
                    conn_store.connection,
                    report,
                    device=device,
                    study_uid=study_uid,
                    series_uid=meta.get("series_instance_uid"),
                    sop_instance_uid=meta.get("sop_instance_uid"),
                    view=f"{meta.get('laterality') or ''}{meta.get('view') or ''}" or None,
                )
                trends = device_trends(conn_store.connection, device)
                note = f"QC session {session_id} kept for {device}"
        finally:
            if conn_store is not None:
                conn_store.close()
        study = meta.get("study")
        subject = {
            "patient": getattr(study, "patient_name", "") if study is not None else "",
            "view": f"{meta.get('laterality') or ''} {meta.get('view') or ''}".strip(),
            "device": device,
            "projections": p.geometry.n_views,
            "system": opts["system"] or "not given",
        }
        progress(1, 1, "done")
        return QCRun(p, report, files, device, study_uid, session_id, trends, subject, note)

    return run


def decision_recorder(run: QCRun, *, store_dir=None, clock=None):
    """The ``on_decision`` of a :class:`~app.model.qc_session.QCSessionModel` for ``run``.

    A reject or repeat writes the KOS "Rejected for Quality Reasons" referencing the projection
    files into the store (indexing them where they lie when the store does not know them yet)
    and records it as a derived object of kind ``qc``; every decision is recorded on the run's
    QC session. The callable returns ``{"kos": path or None, "kos_uid": uid or None}``.

    Raises (from the callable)
    --------------------------
    CrescentError
        The KOS or the store could not be written (the message names the file).
    """
    import time

    clock = clock or time.time

    def record(decision) -> dict:
        import pydicom

        from app.dicom.kos_reject import write_reject_kos
        from app.dicom.writers.common import SOFTWARE_VERSION
        from app.errors import CrescentError
        from app.store import Store
        from app.store import qc as qcstore

        out = {"kos": None, "kos_uid": None}
        try:
            with Store.open(store_dir) as store:
                if decision.decision != "accepted":
                    sops = []
                    for f in run.files:
                        ds = pydicom.dcmread(str(f), stop_before_pixels=True, specific_tags=["SOPInstanceUID"])
                        sops.append(str(ds.SOPInstanceUID))
                        if store.instance(sops[-1]) is None:
                            store.add_file(f)
                    study_uid = run.study_uid or str(
                        pydicom.dcmread(str(run.files[0]), stop_before_pixels=True).StudyInstanceUID
                    )
                    stamp = _dt.datetime.fromtimestamp(clock()).strftime("%Y%m%d%H%M%S%f")
                    path = store.derived_path(study_uid, f"qc-reject-{sops[0]}-{stamp}.dcm")
                    rec = write_reject_kos(
                        list(run.files), path, reason=decision.reason, text=decision.text, observer=decision.by
                    )
                    store.add_derived(
                        "qc",
                        path,
                        sources=sops,
                        description=f"QC {decision.decision}: {decision.reason}"
                        + (f" ({decision.text})" if decision.text else ""),
                        software=SOFTWARE_VERSION,
                        parameters={"decision": decision.decision, "reason": decision.reason, "by": decision.by},
                    )
                    out = {"kos": path, "kos_uid": rec.sop_instance_uid}
                if run.session_id is not None:
                    qcstore.decide(
                        store.connection,
                        run.session_id,
                        decision=decision.decision,
                        by=decision.by,
                        reason=decision.reason,
                        text=decision.text,
                        kos_sop_instance_uid=out["kos_uid"],
                        clock=clock,
                    )
        except CrescentError:
            raise
        except (OSError, pydicom.errors.InvalidDicomError) as exc:
            raise CrescentError(f"QC decision not recorded: {exc}") from None
        return out

    return record
