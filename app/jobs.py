"""Background jobs (reconstruction, CAD, import) with progress, partial results and cancellation.

A job is a function ``fn(progress, cancel, emit) -> result`` run on a worker thread:

- ``progress(done, total, message)`` reports progress (the project-wide convention);
- ``cancel`` is a :class:`threading.Event`; long work checks it (``recon.errors.check_cancel``)
  and raises ``recon.errors.Cancelled``;
- ``emit(name, value)`` hands over a partial result (e.g. the preview reconstruction).

The GUI never waits on a job: it polls :meth:`Job.poll` from a timer (``app.qt.job_dialog``),
so no Qt object crosses threads. Without Qt, :meth:`Job.wait` blocks.
"""

from __future__ import annotations

import queue
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

__all__ = ["Job", "JobEvent", "JobRunner", "reconstruction_task", "default_grid", "default_runner"]

PENDING, RUNNING, DONE, FAILED, CANCELLED = "pending", "running", "done", "failed", "cancelled"


@dataclass(frozen=True)
class JobEvent:
    """What happened in a job: ``kind`` is 'progress', 'partial', 'done', 'failed' or 'cancelled'."""

    kind: str
    done: int = 0
    total: int = 0
    message: str = ""
    name: str = ""
    value: Any = None


class Job:
    """One background job; create it with :meth:`JobRunner.submit`."""

    def __init__(self, fn: Callable, *, title: str = "job"):
        if not callable(fn):
            raise TypeError("Job: fn must be callable")
        self.fn = fn
        self.title = title
        self.cancel_event = threading.Event()
        self.state = PENDING
        self.result: Any = None
        self.error: str | None = None
        self.partials: dict[str, Any] = {}
        self.last_progress: tuple[int, int, str] = (0, 0, "")
        self._events: queue.Queue[JobEvent] = queue.Queue()
        self.future: Future | None = None

    # -- called on the worker thread ---------------------------------------------------
    def _progress(self, done: int, total: int, message: str = "") -> None:
        self.last_progress = (int(done), int(total), str(message))
        self._events.put(JobEvent("progress", int(done), int(total), str(message)))

    def _emit(self, name: str, value: Any) -> None:
        self.partials[name] = value
        self._events.put(JobEvent("partial", name=name, value=value))

    def _run(self) -> Any:
        from recon.errors import Cancelled

        self.state = RUNNING
        try:
            if self.cancel_event.is_set():
                raise Cancelled("cancelled before start")
            result = self.fn(self._progress, self.cancel_event, self._emit)
        except Cancelled:
            self.state = CANCELLED
            self._events.put(JobEvent("cancelled", message="cancelled"))
            return None
        except Exception as exc:  # reported to the GUI as one line; traceback kept for the log
            self.error = f"{type(exc).__name__}: {exc}" if not getattr(exc, "exit_status", None) else str(exc)
            self.traceback = traceback.format_exc()
            self.state = FAILED
            self._events.put(JobEvent("failed", message=self.error))
            return None
        if self.cancel_event.is_set():
            self.state = CANCELLED
            self._events.put(JobEvent("cancelled", message="cancelled"))
            return None
        self.result = result
        self.state = DONE
        self._events.put(JobEvent("done", value=result))
        return result

    # -- called from the owner's thread ------------------------------------------------
    def cancel(self) -> None:
        """Ask the job to stop (it stops at its next cancellation check)."""
        self.cancel_event.set()

    def poll(self) -> list[JobEvent]:
        """Events since the last poll, oldest first (never blocks)."""
        out = []
        while True:
            try:
                out.append(self._events.get_nowait())
            except queue.Empty:
                return out

    @property
    def finished(self) -> bool:
        return self.state in (DONE, FAILED, CANCELLED)

    def wait(self, timeout: float | None = None) -> Any:
        """Block until the job ends; returns its result (None if it failed or was cancelled)."""
        if self.future is not None:
            self.future.result(timeout)
        return self.result


class JobRunner:
    """Runs jobs on worker threads (one at a time by default: the machine has few cores)."""

    def __init__(self, max_workers: int = 1):
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="crescent-job")
        self.jobs: list[Job] = []

    def submit(self, fn: Callable, *, title: str = "job") -> Job:
        """Start ``fn(progress, cancel, emit)`` in the background and return its :class:`Job`."""
        job = Job(fn, title=title)
        job.future = self._executor.submit(job._run)
        self.jobs.append(job)
        return job

    def shutdown(self, *, cancel: bool = True) -> None:
        if cancel:
            for job in self.jobs:
                job.cancel()
        self._executor.shutdown(wait=True, cancel_futures=True)


_DEFAULT: JobRunner | None = None


def default_runner() -> JobRunner:
    """The process-wide runner used by the GUI."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = JobRunner()
    return _DEFAULT


def default_grid(projections, *, slice_mm: float = 1.0):
    """The grid ``crescent recon`` uses by default: ``slice_mm`` slices from the breast support to the
    compressed thickness, the detector pitch in-plane, over the breast's shadow in the central view.

    Parameters
    ----------
    projections : recon.ProjectionSet
        Line integrals (see :func:`recon.preprocess.preprocess_projection_set`) whose metadata holds
        ``thickness_mm`` (Body Part Thickness).

    Raises
    ------
    app.errors.InputError
        When the compressed thickness is unknown.
    """
    from app.commands.recon import breast_extent_mm
    from app.errors import InputError
    from recon.types import VolumeGrid

    md = projections.metadata or {}
    thickness = md.get("thickness_mm")
    if not thickness:
        where = (md.get("paths") or [md.get("source_file") or "projections"])[0]
        raise InputError(f"{where}: no compressed breast thickness (Body Part Thickness); cannot choose a grid")
    ex, ey = breast_extent_mm(projections.data, projections.geometry)
    return VolumeGrid.for_geometry(
        projections.geometry, float(thickness), slice_mm=slice_mm, extent_x_mm=ex, extent_y_mm=ey
    )


def _displayable(volume, projections, *, preview: bool):
    """``volume`` with the facts the viewer hangs it by (laterality, view) from the projections."""
    from recon.types import Volume

    src = projections.metadata or {}
    md = dict(volume.metadata or {})
    lat, view = src.get("laterality") or md.get("laterality"), src.get("view") or md.get("view")
    md.update(kind="tomo", preview=bool(preview))
    if lat:
        md["laterality"] = lat
    if view:
        md["view"] = view
    md.setdefault("uid", f"reconstruction:{lat or '?'}{view or '?'}{':preview' if preview else ''}")
    if src.get("sop_instance_uid"):
        md["source_sop_instance_uids"] = [src["sop_instance_uid"]]
    md.pop("sop_instance_uid", None)  # the new volume is not the projections' instance
    return Volume(data=volume.data, grid=volume.grid, metadata=md)


def reconstruction_task(
    projections, grid=None, *, method: str = "fbp", preview: bool = True, reconstruct=None, **options
):
    """A job function that reconstructs ``projections``, emitting a quick preview first.

    Parameters
    ----------
    projections : recon.ProjectionSet
        Raw signal or line integrals (converted once, on the worker thread).
    grid : recon.VolumeGrid, optional
        Default: :func:`default_grid` (needs ``metadata['thickness_mm']``).
    method : str
        Reconstruction method name (see :func:`recon.reconstruct.reconstruct`).
    preview : bool
        First run the quick preview with FBP (``reconstruct(..., preview=True)``: 2x2-binned
        projections onto :func:`recon.reconstruct.preview_grid`, 2 mm slices) and emit it as the
        partial result ``'preview'``.
    reconstruct : callable, optional
        ``reconstruct(projections, geometry, grid, method=..., progress=..., cancel=..., preview=..., **options)``;
        default :func:`recon.reconstruct.reconstruct`.
    **options
        Method options passed to the full reconstruction (and to an FBP preview of an FBP method).

    The volumes carry the projections' laterality and view in their metadata (``preview`` marks
    the quick one), so the viewer hangs them in the right place.
    """

    def run(progress, cancel, emit):
        from recon.errors import check_cancel
        from recon.preprocess import preprocess_projection_set

        fn = reconstruct
        if fn is None:
            from recon.reconstruct import reconstruct as fn
        pset = preprocess_projection_set(projections)
        target = grid
        if target is None and (pset.metadata or {}).get("thickness_mm"):
            target = default_grid(pset)
        check_cancel(cancel)
        if preview:

            def preview_progress(done, total, message=""):
                progress(0, 1, f"preview: {message}")

            vol = fn(
                pset,
                pset.geometry,
                target,
                method="fbp",
                progress=preview_progress,
                cancel=cancel,
                preview=True,
                **(options if method == "fbp" else {}),
            )
            emit("preview", _displayable(vol, projections, preview=True))
        vol = fn(pset, pset.geometry, target, method=method, progress=progress, cancel=cancel, **options)
        return _displayable(vol, projections, preview=False)

    return run
