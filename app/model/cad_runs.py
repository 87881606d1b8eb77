"""Running CAD on a displayed DBT stack, and keeping the results in the store.

A run detects findings on a :class:`~app.model.image.DisplayImage` (its array is the volume
the marks are drawn on), writes the Mammography CAD SR next to the study in the store
(``store.derived_path``) and records it with ``store.add_derived(kind="cad", ...)`` with the
case score in its parameters, so that the worklist can sort by it. Reading a study back loads
the latest stored result of each image. Imports of ``cad``, ``app.dicom`` and ``app.store``
happen inside the functions (the model stays importable without them).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CadRun",
    "volume_of",
    "bto_of",
    "cad_task",
    "save_to_store",
    "load_from_store",
    "case_scores_from_store",
]


@dataclass(frozen=True)
class CadRun:
    """What a background CAD run produced.

    ``result``: the ``cad.CaseResult``; ``sr_path``: the Mammography CAD SR written (None when
    the image has no Breast Tomosynthesis Image to reference); ``derived_id``: its store record;
    ``note``: one line for the user about what was (not) kept.
    """

    uid: str
    result: object
    sr_path: Path | None = None
    derived_id: int | None = None
    note: str = ""


def volume_of(image):
    """A ``recon.Volume`` of a tomo DisplayImage (its array, slice heights and pixel spacing)."""
    from recon.types import Volume, VolumeGrid

    if image is None or image.kind != "tomo" or not image.is_stack:
        raise ValueError("CAD needs a DBT slice stack (tomo image)")
    dz = max(float(image.slice_mm), 1e-3)
    z0 = max(float(image.slice_heights_mm[0]), dz / 2.0)
    grid = VolumeGrid(
        shape=image.data.shape,
        voxel_mm=(dz, float(image.pixel_mm[0]), float(image.pixel_mm[1])),
        origin_mm=(z0, float(image.origin_mm[0]), float(image.origin_mm[1])),
    )
    return Volume(image.data, grid, metadata=dict(image.metadata or {}))


def bto_of(image) -> Path | None:
    """The Breast Tomosynthesis Image file the image was read from (None if it has none)."""
    from app.dicom import uids

    md = image.metadata or {}
    paths = list(md.get("paths") or [])
    if len(paths) == 1 and md.get("sop_class_uid") == uids.BTO and Path(paths[0]).is_file():
        return Path(paths[0])
    return None


def save_to_store(result, image, *, study_uid: str | None = None, store_dir=None, detections=None):
    """Write the SR of ``result`` into the store and record it; returns (sr path, derived id).

    The Breast Tomosynthesis Image is indexed where it lies when the store does not know it yet.

    Raises
    ------
    ValueError
        The image has no Breast Tomosynthesis Image to reference.
    """
    from app.dicom.cad_sr import write_cad_sr
    from app.dicom.writers.common import SOFTWARE_VERSION
    from app.store import Store

    bto = bto_of(image)
    if bto is None:
        raise ValueError(f"{image.label or image.uid}: no Breast Tomosynthesis Image file to reference")
    md = image.metadata
    sop_uid = str(md.get("sop_instance_uid"))
    study_uid = study_uid or str(md.get("study_instance_uid") or "")
    with Store.open(store_dir) as store:
        if store.instance(sop_uid) is None:
            store.add_file(bto)
        stamp = _dt.datetime.now().strftime("%Y%m%d%H%M%S%f")
        path = store.derived_path(study_uid, f"cad-{sop_uid}-{stamp}.dcm")
        written = write_cad_sr(result, path, image=bto, detections=detections)
        rec = store.add_derived(
            "cad",
            written.path,
            sources=[sop_uid],
            description=f"CAD: {len(result.findings)} findings, case score {result.case_score:.0f}",
            software=SOFTWARE_VERSION,
            parameters={
                "case_score": round(float(result.case_score), 3),
                "models": list(result.models),
                "findings": len(result.findings),
                "source": sop_uid,
            },
        )
    return written.path, rec.id


def cad_task(image, *, models="default", threads: int = 2, store: bool = True, store_dir=None, study_uid=None):
    """A job function (``app.jobs``) running CAD on ``image``; returns a :class:`CadRun`."""
    volume = volume_of(image)
    uid = image.uid

    def run(progress, cancel, emit):
        from cad.detect import detect

        result = detect(volume, models=models, threads=threads, progress=progress, cancel=cancel)
        if not store:
            return CadRun(uid, result, note="CAD results not kept (store off)")
        if bto_of(image) is None:
            return CadRun(uid, result, note="CAD results not kept: the image has no DICOM file to reference")
        sr, rec = save_to_store(result, image, study_uid=study_uid, store_dir=store_dir)
        return CadRun(uid, result, sr, rec, note=f"CAD results kept in the store ({sr.name})")

    return run


def load_from_store(study_uid: str, images, *, store_dir=None) -> dict:
    """The latest stored CAD result of each image (by its SOP Instance UID): ``{uid: CaseResult}``."""
    from app.dicom.cad_sr import read_cad_sr
    from app.errors import InputError
    from app.store import Store, resolve_store_dir
    from app.store.location import DB_NAME

    root = resolve_store_dir(store_dir)
    if not (Path(root) / DB_NAME).is_file():
        return {}
    by_sop = {(im.metadata or {}).get("sop_instance_uid"): im for im in images if im.kind == "tomo"}
    by_sop.pop(None, None)
    with Store.open(store_dir) as store:
        records = store.derived(study_uid=study_uid, kind="cad")
    latest = {}
    for rec in records:  # oldest first: later ones replace earlier ones
        src = rec.parameters.get("source") or (rec.source_uids[0] if rec.source_uids else None)
        if src in by_sop and rec.path.is_file():
            latest[src] = rec
    out = {}
    for sop, rec in latest.items():
        image = by_sop[sop]
        try:
            out[image.uid] = read_cad_sr(rec.path, volume_metadata=image.metadata, grid=volume_of(image).grid)
        except InputError:
            continue
    return out


def case_scores_from_store(*, store_dir=None) -> dict[str, float]:
    """``{study_uid: case score}``: the highest latest-per-image CAD case score of each study."""
    from app.store import Store, resolve_store_dir
    from app.store.location import DB_NAME

    root = resolve_store_dir(store_dir)
    if not (Path(root) / DB_NAME).is_file():
        return {}
    with Store.open(store_dir) as store:
        records = store.derived(kind="cad")
    latest: dict[tuple[str, str], float] = {}
    for rec in records:
        score = rec.parameters.get("case_score")
        if score is None:
            continue
        latest[(rec.study_uid, str(rec.parameters.get("source", rec.id)))] = float(score)
    out: dict[str, float] = {}
    for (study, _), score in latest.items():
        out[study] = max(out.get(study, 0.0), score)
    return out
