"""One job: projections in, preview / volume / synthetic 2D / CAD SR out, sent to the PACS.

Stages (``node_jobs.stage``, the last one reached; the log gives each one's duration)
------------------------------------------------------------------------------------
1. ``read``: the acquisition's files are read (:func:`app.dicom.read_projection_set`) and
   turned into line integrals; the grid covers the breast's shadow from the breast support up
   to the compressed thickness, at ``slice_mm`` slices and the detector pitch.
2. ``preview`` (when enabled): a fast FBP preview (2x2-binned projections, 2 mm slices) is
   reconstructed as one Dask task, written as a Breast Tomosynthesis Image in its own series
   ("DBT preview", series number 90) and sent at once, so the PACS shows something within
   seconds; the final volume follows in its own series. A preview that cannot be sent now is
   sent with the rest.
3. ``volume``: the volume is reconstructed on the cluster (FBP as slabs of slices in parallel).
4. ``analysis``: the synthetic 2D and CAD run as Dask tasks.
5. ``writing`` -> ``written``: the Breast Tomosynthesis Image, the synthetic 2D (Digital
   Mammography For Presentation) and the Mammography CAD SR are written durably into the store
   (``files/<study>/<series>/<sop>.dcm``), then recorded as derived objects of the source
   projections and listed in ``node_results`` -- one transaction.
6. ``sending`` -> ``sent``: each result not yet acknowledged is C-STOREd to the PACS (one
   association per object) and marked sent.

A job that runs again (restart, backoff, ``node retry``) skips what is recorded: with every
result written it only sends what the PACS has not acknowledged; otherwise it recomputes.
Result UIDs derive from the inputs (:mod:`app.node.uids`), so a re-run writes the same SOP and
Series Instance UIDs and the PACS never holds two copies.

Failures: unreadable or inconsistent input fails the job at once (``failed``, with the reason);
a PACS that is down or refuses, or an unexpected error, is transient: the job is queued again
after an exponential backoff until ``max_attempts``.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import time
import warnings
from pathlib import Path

from app.node import faults
from app.node.audit import AuditLog
from app.node.queue import JobQueue, open_queue
from app.node.receiver import write_durably
from app.node.settings import NodeSettings
from app.node.uids import ResultUIDs, job_basis, result_uids, scrub, uid_tag

__all__ = ["JobRunner", "PermanentError", "TransientError", "SOFTWARE"]

LOG = logging.getLogger("crescent.node")
SEND_ORDER = ("preview", "volume", "synthetic2d", "cad_sr")
SERIES_NUMBERS = {"preview": 90, "volume": 2, "synthetic2d": 3, "cad_sr": 4}
DERIVED_KIND = {"preview": "volume", "volume": "volume", "synthetic2d": "synthetic2d", "cad_sr": "cad"}


def _software() -> str:
    from app import __version__

    return f"crescent {__version__}"


SOFTWARE = _software()


class _Stages:
    """Records a job's stage in the store and how long each stage took (for the log)."""

    def __init__(self, queue: JobQueue, job_id: int):
        self.queue, self.job_id = queue, job_id
        self.name, self.t0 = "", time.perf_counter()
        self.times: list[tuple[str, float]] = []

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        if self.name:
            self.times.append((self.name, now - self.t0))
        self.name, self.t0 = name, now
        self.queue.set_stage(self.job_id, name)

    def summary(self) -> str:
        return ", ".join(f"{name} {dt:.2f} s" for name, dt in self.times)


class PermanentError(Exception):
    """The job cannot succeed as it is (bad input): fail it, keep the reason."""


class TransientError(Exception):
    """The job may succeed later (PACS down): retry after a backoff."""


def _dataset_bytes(ds) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


class JobRunner:
    """Runs jobs of one node (from its job threads).

    Parameters
    ----------
    settings : NodeSettings
    root : Path
        The store folder.
    client : distributed.Client
        Where the computation runs.
    audit : AuditLog
    clock : callable
        Unix seconds.
    """

    def __init__(self, settings: NodeSettings, root: Path, client, audit: AuditLog, *, clock=time.time):
        self.settings = settings
        self.root = Path(root)
        self.client = client
        self.audit = audit
        self.clock = clock

    # ------------------------------------------------------------------ entry point
    def run(self, job_id: int) -> str:
        """Run job ``job_id`` (already claimed: ``running``); returns its new state."""
        queue = open_queue(self.root, clock=self.clock)
        try:
            job = queue.job(job_id)
            self.audit.write("job", job=job_id, state="running", attempt=job.attempts)
            LOG.info("job %d: attempt %d", job_id, job.attempts)
            try:
                stages = _Stages(queue, job_id)
                self._run(job_id, queue, stages)
            except PermanentError as exc:
                reason = scrub(str(exc))
                queue.fail(job_id, reason)
                self.audit.write("job", job=job_id, state="failed", attempt=job.attempts, reason=reason)
                LOG.error("job %d failed: %s", job_id, reason)
                return "failed"
            except Exception as exc:
                reason = scrub(str(exc) if isinstance(exc, TransientError) else f"{type(exc).__name__}: {exc}")
                state = queue.defer(
                    job_id,
                    reason,
                    delay_s=self.settings.backoff(job.attempts),
                    max_attempts=self.settings.max_attempts,
                )
                self.audit.write("job", job=job_id, state=state, attempt=job.attempts, reason=reason)
                LOG.warning("job %d: %s (now %s)", job_id, reason, state)
                if not isinstance(exc, TransientError):
                    LOG.debug("job %d: unexpected error", job_id, exc_info=True)
                return state
            queue.finish(job_id)
            self.audit.write("job", job=job_id, state="done", attempt=job.attempts)
            LOG.info("job %d done (%s)", job_id, stages.summary())
            return "done"
        finally:
            queue.close()

    def needed(self) -> tuple[str, ...]:
        """The result kinds a job makes with these settings."""
        return tuple(k for k in SEND_ORDER if k != "preview" or self.settings.preview)

    def _run(self, job_id: int, queue: JobQueue, stage: _Stages) -> None:
        results = queue.results(job_id)
        if not all(kind in results for kind in self.needed()):
            self._compute(job_id, queue, results, stage)
        faults.crash_point("computed")
        stage("sending")
        self._send_unsent(job_id, queue, final=True)
        stage("sent")

    # ------------------------------------------------------------------ computing
    def _read(self, job_id: int, queue: JobQueue):
        from app.dicom import read_projection_set
        from app.errors import InputError
        from recon.preprocess import preprocess_projection_set

        sources = queue.sources(job_id)
        if not sources:
            raise PermanentError("the acquisition has no received objects")
        paths = [p for _, p in sources]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                pset = read_projection_set(paths if len(paths) > 1 else paths[0])
                li = preprocess_projection_set(pset)
            except InputError as exc:
                raise PermanentError(f"cannot read the projections: {exc}") from None
            except ValueError as exc:
                raise PermanentError(f"cannot convert the projections to line integrals: {exc}") from None
        for w in caught:
            LOG.info("job %d: %s", job_id, scrub(str(w.message)))
        if li.data.shape[0] < 2:
            raise PermanentError(f"only {li.data.shape[0]} projection(s): nothing to reconstruct")
        return [u for u, _ in sources], pset, li

    def _grid(self, li):
        from app.commands.recon import breast_extent_mm
        from recon.types import VolumeGrid

        thickness = li.metadata.get("thickness_mm")
        if not thickness:
            raise PermanentError("no compressed breast thickness (Body Part Thickness, 0018,11A0) in the projections")
        ex, ey = breast_extent_mm(li.data, li.geometry)
        try:
            return VolumeGrid.for_geometry(
                li.geometry, float(thickness), slice_mm=self.settings.slice_mm, extent_x_mm=ex, extent_y_mm=ey
            )
        except ValueError as exc:
            raise PermanentError(f"no volume grid for this geometry: {exc}") from None

    def _compute(self, job_id: int, queue: JobQueue, results: dict, stage) -> None:
        from app.node.executor import reconstruct_distributed, worker_threads
        from app.node.tasks import detect_findings, reconstruct_preview, synthetic_image

        stage("read")
        source_uids, pset, li = self._read(job_id, queue)
        grid = self._grid(li)
        basis = job_basis(
            source_uids,
            method=self.settings.method,
            options={"slice_mm": self.settings.slice_mm, "cad_models": self.settings.cad_models},
            software=SOFTWARE,
        )
        client = self.client
        data = client.scatter(li.data, hash=False)
        if self.settings.preview and "preview" not in results:
            stage("preview")
            preview = client.submit(reconstruct_preview, data, li.geometry, grid, pure=False).result()
            written = self._write_volume(job_id, queue, pset, preview, basis, "preview", sources=source_uids)
            self._record(queue, job_id, [written])
            self._send_unsent(job_id, queue, final=False, kinds=("preview",))
        stage("volume")
        chunks = self.settings.chunks or worker_threads(client)
        volume = reconstruct_distributed(client, data, li.geometry, grid, method=self.settings.method, chunks=chunks)
        stage("analysis")
        vol_future = client.scatter(volume, hash=False)
        s2d_future = client.submit(synthetic_image, vol_future, pure=False)
        cad_future = client.submit(detect_findings, vol_future, self.settings.cad_models, pure=False)
        image, case = s2d_future.result(), cad_future.result()
        stage("writing")
        vol_written = self._write_volume(job_id, queue, pset, volume, basis, "volume", sources=source_uids)
        s2d_written = self._write_synthetic(job_id, queue, pset, image, volume.grid, basis, vol_written.written)
        sr_written = self._write_sr(job_id, queue, case, basis, vol_written.written)
        self._record(queue, job_id, [vol_written, s2d_written, sr_written])
        stage("written")

    # ------------------------------------------------------------------ writing
    @dataclasses.dataclass
    class _Made:
        kind: str
        path: Path
        written: object  # app.dicom.WrittenObject with the final UIDs and path
        sources: list
        description: str
        parameters: dict

    def _scratch(self, job_id: int, kind: str) -> Path:
        folder = self.root / "node-scratch"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"job{job_id}-{kind}.dcm"

    def _finalise(self, queue: JobQueue, scratch: Path, written, uids: ResultUIDs):
        """Give a written object its derived SOP Instance UID, then write it durably into the store."""
        import pydicom

        ds = pydicom.dcmread(scratch)
        ds.SOPInstanceUID = uids.sop
        ds.file_meta.MediaStorageSOPInstanceUID = uids.sop
        for keyword in ("DimensionOrganizationSequence", "DimensionIndexSequence"):
            for item in ds.get(keyword, None) or []:
                if "DimensionOrganizationUID" in item:
                    item.DimensionOrganizationUID = uids.dimension
        final = queue.store.received_path(str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), uids.sop)
        write_durably(final, _dataset_bytes(ds), root=self.root)
        scratch.unlink(missing_ok=True)
        return final, dataclasses.replace(written, path=final, sop_instance_uid=uids.sop)

    def _write_volume(self, job_id, queue, pset, volume, basis, kind, *, sources):
        from app.dicom import write_tomosynthesis

        uids = result_uids(basis, kind)
        preview = kind == "preview"
        method = "fbp" if preview else self.settings.method
        scratch = self._scratch(job_id, kind)
        params = {"slice_mm": round(volume.grid.voxel_mm[0], 4), "pixel_mm": round(volume.grid.voxel_mm[2], 4)}
        written = write_tomosynthesis(
            volume,
            scratch,
            study=pset.metadata["study"],
            projections=pset,
            algorithm=method.upper(),
            algorithm_description=f"Crescent node {method}" + (" preview" if preview else ""),
            parameters=params,
            series_instance_uid=uids.series,
            series_number=SERIES_NUMBERS[kind],
            series_description="DBT preview" if preview else "DBT reconstruction",
        )
        final, written = self._finalise(queue, scratch, written, uids)
        text = "reconstruction preview" if preview else "reconstruction"
        return self._Made(kind, final, written, list(sources), f"node {text} ({method})", {"method": method, **params})

    def _write_synthetic(self, job_id, queue, pset, image, grid, basis, source):
        from app.dicom import write_synthetic_2d

        uids = result_uids(basis, "synthetic2d")
        scratch = self._scratch(job_id, "synthetic2d")
        written = write_synthetic_2d(
            image,
            scratch,
            study=pset.metadata["study"],
            pixel_mm=(grid.voxel_mm[1], grid.voxel_mm[2]),
            source=source,
            series_instance_uid=uids.series,
            series_number=SERIES_NUMBERS["synthetic2d"],
        )
        final, written = self._finalise(queue, scratch, written, uids)
        return self._Made("synthetic2d", final, written, [source.sop_instance_uid], "node synthetic 2D", {})

    def _write_sr(self, job_id, queue, case, basis, source):
        from app.dicom.cad_sr import write_cad_sr

        uids = result_uids(basis, "cad_sr")
        scratch = self._scratch(job_id, "cad_sr")
        written = write_cad_sr(
            case,
            scratch,
            image=source.path,
            series_instance_uid=uids.series,
            sop_instance_uid=uids.sop,
            series_number=SERIES_NUMBERS["cad_sr"],
        )
        final, written = self._finalise(queue, scratch, written, uids)
        params = {"findings": len(case.findings), "models": self.settings.cad_models}
        return self._Made("cad_sr", final, written, [source.sop_instance_uid], "node CAD", params)

    def _record(self, queue: JobQueue, job_id: int, made: list) -> None:
        """Index the written results as derived objects and list them for sending (one transaction)."""
        store = queue.store
        with store.transaction():
            for m in made:
                if store.instance(m.written.sop_instance_uid) is None:  # not indexed by an earlier attempt
                    sources = [s for s in m.sources if store.instance(s) is not None]
                    store.add_derived(
                        DERIVED_KIND[m.kind],
                        m.path,
                        sources=sources,
                        description=m.description,
                        software=SOFTWARE,
                        parameters=m.parameters,
                    )
                queue.add_result(job_id, m.kind, m.written.sop_instance_uid, m.path)

    # ------------------------------------------------------------------ sending
    def _send_unsent(self, job_id: int, queue: JobQueue, *, final: bool, kinds=SEND_ORDER) -> None:
        from app.config import LocalAE
        from app.dicom.net import PacsError, send

        peer = self.settings.pacs
        if peer is None:
            raise PermanentError("no PACS configured for the results")
        local = LocalAE(ae_title=self.settings.ae_title, port=0, timeout_s=self.settings.timeout_s)
        results = queue.results(job_id)
        problems = []
        for kind in kinds:
            rec = results.get(kind)
            if rec is None or rec.sent_at is not None:
                continue
            try:
                outcome = send(peer, [rec.path], local=local)
            except PacsError as exc:
                problems.append(scrub(str(exc)))
                self.audit.write(
                    "send_failed", job=job_id, kind=kind, sop=uid_tag(rec.sop_instance_uid), reason=problems[-1]
                )
                break  # the PACS is unreachable: the others would fail the same way
            if outcome.sent == 1:
                faults.crash_point("sent")
                queue.mark_sent(job_id, kind)
                self.audit.write(
                    "sent",
                    job=job_id,
                    kind=kind,
                    sop=uid_tag(rec.sop_instance_uid),
                    pacs=f"{peer.ae_title}@{peer.host}:{peer.port}",
                )
            else:
                problems.append(scrub(outcome.errors[0] if outcome.errors else "not sent"))
                self.audit.write(
                    "send_failed", job=job_id, kind=kind, sop=uid_tag(rec.sop_instance_uid), reason=problems[-1]
                )
        if problems and final:
            raise TransientError(f"sending to the PACS failed: {problems[0]}")
