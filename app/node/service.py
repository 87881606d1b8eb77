"""The node: receiver + durable queue + scheduler loop + Dask executor + sender, on one store.

>>> node = Node(settings, store_root="/var/lib/crescent")   # doctest: +SKIP
>>> node.start()                                            # listens, resumes unfinished jobs
>>> node.serve_forever()                                    # until stop() / SIGTERM

The scheduler loop (:meth:`Node.tick`) is where time matters: it queues acquisitions that
stayed quiet for ``quiet_s`` and claims due jobs (``next_at`` passed) for the job threads, as
many at once as the cluster has worker threads. Tests call ``tick(now=...)`` with their own
clock instead of sleeping.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from app.errors import CrescentError
from app.node.audit import AuditLog
from app.node.job import JobRunner
from app.node.queue import JobQueue, open_queue
from app.node.receiver import StorageService
from app.node.settings import NodeSettings

__all__ = ["AUDIT_NAME", "LOCK_NAME", "Node"]

LOG = logging.getLogger("crescent.node")
AUDIT_NAME = "node-audit.jsonl"
LOCK_NAME = "node.lock"


class Node:
    """A reconstruction node on one store.

    Parameters
    ----------
    settings : NodeSettings
    store_root : path, optional
        The store folder (default ``$CRESCENT_HOME`` or the user data folder).
    clock : callable
        Unix seconds (default ``time.time``); tests inject their own.
    client : distributed.Client, optional
        Use this Dask client (default: :func:`app.node.executor.make_client`, closed by
        :meth:`stop`).
    """

    def __init__(self, settings: NodeSettings, *, store_root=None, clock=time.time, client=None):
        from app.store import resolve_store_dir

        if not isinstance(settings, NodeSettings):
            raise TypeError(f"settings must be NodeSettings, got {type(settings).__name__}")
        self.settings = settings
        self.root = Path(resolve_store_dir(store_root))
        self.clock = clock
        self.client = client
        self._own_client = client is None
        self.audit: AuditLog | None = None
        self.queue: JobQueue | None = None
        self.service: StorageService | None = None
        self.runner: JobRunner | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._running: dict[int, Future] = {}
        self._lock_fd: int | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.max_jobs = 1

    # ------------------------------------------------------------------ life cycle
    def start(self) -> Node:
        """Open the store, take its node lock, resume unfinished jobs, start Dask and the SCP."""
        from app.node.executor import make_client, worker_threads

        self.queue = open_queue(self.root, clock=self.clock)
        self._take_lock()
        self.audit = AuditLog(self.settings.audit_log or self.root / AUDIT_NAME, clock=self.clock)
        resumed = self.queue.resume()
        for job_id in resumed:
            self.audit.write("job", job=job_id, state="queued", reason="resumed after a restart")
        if resumed:
            LOG.info("resumed %d unfinished job(s): %s", len(resumed), ", ".join(map(str, resumed)))
        if self.client is None:
            self.client = make_client(self.settings)
        self.max_jobs = worker_threads(self.client)
        self.runner = JobRunner(self.settings, self.root, self.client, self.audit, clock=self.clock)
        self._pool = ThreadPoolExecutor(max_workers=self.max_jobs, thread_name_prefix="crescent-job")
        self.service = StorageService(self.settings, self.root, self.audit, clock=self.clock, on_queued=self._on_queued)
        port = self.service.start()
        LOG.info(
            "node %s listening on %s:%d%s; %d worker thread(s)",
            self.settings.ae_title,
            self.settings.host,
            port,
            " (TLS)" if self.settings.tls else "",
            self.max_jobs,
        )
        return self

    def _take_lock(self) -> None:
        path = self.root / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise CrescentError(f"{self.root}: another node is already running on this store") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    @property
    def port(self) -> int:
        """The port the node's SCP listens on."""
        if self.service is None:
            raise RuntimeError("the node is not started")
        return self.service.port

    def stop(self, *, wait: bool = True) -> None:
        """Stop receiving, let running jobs end (``wait``), close Dask and the store."""
        self._stop.set()
        self._wake.set()
        if self.service is not None:
            self.service.stop()
            self.service = None
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
            self._pool = None
        if self.client is not None and self._own_client:
            from app.node.executor import close_client

            close_client(self.client)
            self.client = None
        if self.queue is not None:
            self.queue.close()
            self.queue = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> Node:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ scheduling
    def _on_queued(self, job_id: int) -> None:
        self._wake.set()

    def _reap(self) -> None:
        for job_id, fut in list(self._running.items()):
            if fut.done():
                del self._running[job_id]
                exc = fut.exception()
                if exc is not None:  # JobRunner.run records failures itself; this is a bug
                    LOG.error("job %d: the job thread died: %s", job_id, type(exc).__name__)

    def tick(self, *, now: float | None = None) -> list[int]:
        """One round of the scheduler: queue quiet acquisitions, claim and start due jobs.

        Parameters
        ----------
        now : float, optional
            Unix seconds (default the node's clock).

        Returns
        -------
        list of int
            Jobs started now.
        """
        if self.queue is None or self._pool is None:
            raise RuntimeError("the node is not started")
        now = float(self.clock() if now is None else now)
        for job_id in self.queue.sweep(quiet_s=self.settings.quiet_s, now=now):
            self.audit.write("queued", job=job_id, why="quiet time")
            LOG.info("job %d queued: acquisition quiet for %g s", job_id, self.settings.quiet_s)
        self._reap()
        free = self.max_jobs - len(self._running)
        started = self.queue.claim(limit=free, now=now) if free > 0 else []
        for job_id in started:
            self._running[job_id] = self._pool.submit(self.runner.run, job_id)
        return started

    @property
    def busy(self) -> bool:
        """Whether a job is running in this node."""
        self._reap()
        return bool(self._running)

    def run_until_idle(self, *, timeout_s: float = 120.0, now=None) -> None:
        """Tick until no job runs and none is due (for tests and batch use).

        Parameters
        ----------
        timeout_s : float
            Real seconds before giving up (``TimeoutError``).
        now : callable, optional
            The time to tick with (default the node's clock).
        """
        deadline = time.monotonic() + timeout_s
        while True:
            self.tick(now=None if now is None else now())
            if not self.busy:
                t = float(self.clock() if now is None else now())
                due = self.queue.store.connection.execute(
                    "SELECT count(*) FROM node_jobs WHERE state = 'queued' AND next_at <= ?", (t,)
                ).fetchone()[0]
                if due == 0:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"jobs still running after {timeout_s} s")
            self._wake.wait(0.05)
            self._wake.clear()

    def serve_forever(self, *, poll_s: float = 0.5) -> None:
        """Run the scheduler loop until :meth:`stop` (or KeyboardInterrupt)."""
        while not self._stop.is_set():
            self.tick()
            self._wake.wait(poll_s)
            self._wake.clear()
