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

__all__ = ["Job", "JobEvent", "JobRunner", "reconstruction_task", "default_runner"]

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


def reconstruction_task(
    projections, grid=None, *, method: str = "fbp", preview: bool = True, reconstruct=None, **options
):
    """A job function that reconstructs ``projections``, emitting a quick preview first.

    Parameters
    ----------
    projections : recon.ProjectionSet
    grid : recon.VolumeGrid, optional
        Default: the reconstruction's default grid.
    method : str
        Reconstruction method name (see ``recon.reconstruct``).
    preview : bool
        First run the fast preview (``reconstruct(..., preview=True)``: a binned, thick-slice
        FBP) and emit it as the partial result ``'preview'``.
    reconstruct : callable, optional
        ``reconstruct(projections, geometry, grid, method=..., progress=..., cancel=..., **options)``;
        default ``recon.reconstruct.reconstruct``.
    """

    def run(progress, cancel, emit):
        fn = reconstruct
        if fn is None:
            from recon.reconstruct import reconstruct as fn
        geometry = projections.geometry
        if preview:

            def preview_progress(done, total, message=""):
                progress(0, 1, f"preview: {message}")

            vol = fn(
                projections,
                geometry,
                grid,
                method=method,
                progress=preview_progress,
                cancel=cancel,
                preview=True,
                **options,
            )
            emit("preview", vol)
        return fn(projections, geometry, grid, method=method, progress=progress, cancel=cancel, **options)

    return run
