"""The durable job queue: received objects, acquisitions, jobs and results, in the study store.

Tables (migration ``250_node.sql``): ``node_acquisitions``, ``node_received``, ``node_jobs``,
``node_results``. Every change is one SQLite transaction; the node's connections use
``PRAGMA synchronous = FULL`` so that a committed row survives a power cut, not only a crash.

Job states::

    queued --claim--> running --finish--> done
       ^                 |  \\--fail (bad input, or max_attempts reached)--> failed
       |                 |                                                  |
       +--defer (transient: PACS down; next_at = now + backoff)             |
       +--resume (the node restarted while it ran)                          |
       +--retry ('crescent node retry JOB') --------------------------------+

A :class:`JobQueue` wraps one :class:`app.store.Store` (one thread); open one per thread.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from app.node.grouping import AcquisitionInfo
from app.store import InstanceHeader, Store

__all__ = ["JOB_STATES", "JobQueue", "JobRecord", "Received", "ResultRecord", "open_queue"]

JOB_STATES = ("queued", "running", "done", "failed")


@dataclass(frozen=True)
class Received:
    """What recording a received object did."""

    outcome: str  # "added" or "duplicate"
    acquisition: int
    job: int | None  # the job queued because this object completed the acquisition


@dataclass(frozen=True)
class JobRecord:
    """One row of ``node_jobs`` with its acquisition's counts."""

    id: int
    acquisition: int
    state: str
    stage: str
    attempts: int
    reason: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    next_at: float
    projections: int
    expected: int | None


@dataclass(frozen=True)
class ResultRecord:
    """One result a job made (``node_results``)."""

    kind: str
    sop_instance_uid: str
    path: Path
    sent_at: float | None


def open_queue(root, *, clock=time.time) -> JobQueue:
    """A :class:`JobQueue` on a fresh connection to the store in ``root`` (synchronous = FULL)."""
    store = Store.open(root)
    store.connection.execute("PRAGMA synchronous = FULL")
    return JobQueue(store, clock=clock)


_JOB_SQL = (
    "SELECT j.id, j.acquisition, j.state, j.stage, j.attempts, j.reason, j.created_at, j.started_at,"
    " j.finished_at, j.next_at, a.received, a.expected FROM node_jobs j"
    " JOIN node_acquisitions a ON a.id = j.acquisition"
)


class JobQueue:
    """The node's tables in one store.

    Parameters
    ----------
    store : Store
        The open store (owned by the queue: :meth:`close` closes it).
    clock : callable
        Unix seconds; the default is ``time.time`` (tests pass their own).
    """

    def __init__(self, store: Store, *, clock=time.time):
        if not isinstance(store, Store):
            raise TypeError(f"store must be an app.store.Store, got {type(store).__name__}")
        self.store = store
        self.clock = clock

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> JobQueue:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def root(self) -> Path:
        return self.store.root

    def _rel(self, path: Path) -> str:
        path = Path(os.path.normpath(Path(path).absolute()))
        try:
            return path.relative_to(self.store.root.absolute()).as_posix()
        except ValueError:
            return str(path)

    def _abs(self, stored: str) -> Path:
        p = Path(stored)
        return p if p.is_absolute() else self.store.root / p

    # ------------------------------------------------------------------ receiving
    def is_received(self, sop_instance_uid: str) -> bool:
        """Whether the node already acknowledged this SOP Instance UID."""
        row = self.store.connection.execute(
            "SELECT 1 FROM node_received WHERE sop_instance_uid = ?", (sop_instance_uid,)
        ).fetchone()
        return row is not None

    def record_received(
        self, header: InstanceHeader, path, info: AcquisitionInfo, *, calling_ae: str = "", now: float | None = None
    ) -> Received:
        """Index a received file (already written and fsynced) and add it to its acquisition.

        One transaction: the store's instance row, the ``node_received`` row, the acquisition's
        counts and, when this object completes the acquisition, its queued job.

        Parameters
        ----------
        header : InstanceHeader
            The file's header (:func:`app.store.read_header`).
        path : path
            The file, inside the store folder.
        info : AcquisitionInfo
            From :func:`app.node.grouping.acquisition_of`.
        calling_ae : str
            Who sent it.
        now : float, optional
            Unix seconds (default the queue's clock).

        Returns
        -------
        Received
        """
        now = float(self.clock() if now is None else now)
        path = Path(path)
        with self.store.transaction() as conn:
            row = conn.execute(
                "SELECT acquisition FROM node_received WHERE sop_instance_uid = ?", (header.sop_instance_uid,)
            ).fetchone()
            if row is not None:
                return Received("duplicate", row[0], None)
            self.store.add_header(header, path, origin="received")
            acq = conn.execute(
                "SELECT id, expected, received, state FROM node_acquisitions WHERE key = ?", (info.key,)
            ).fetchone()
            if acq is None:
                acq_id = conn.execute(
                    "INSERT INTO node_acquisitions (key, study_uid, expected, received, calling_ae, first_at, last_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (info.key, info.study_uid, info.expected, info.projections, calling_ae, now, now),
                ).lastrowid
                expected, received, state = info.expected, info.projections, "open"
            else:
                acq_id, expected, received, state = acq
                expected = expected if expected is not None else info.expected
                received += info.projections
                conn.execute(
                    "UPDATE node_acquisitions SET expected = ?, received = ?, last_at = ? WHERE id = ?",
                    (expected, received, now, acq_id),
                )
            conn.execute(
                "INSERT INTO node_received (sop_instance_uid, acquisition, path, projections, received_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (header.sop_instance_uid, acq_id, self._rel(path), info.projections, now),
            )
            job = None
            if state == "open" and expected is not None and received >= expected:
                job = self._queue(conn, acq_id, now)
            return Received("added", acq_id, job)

    def _queue(self, conn: sqlite3.Connection, acq_id: int, now: float) -> int:
        conn.execute("UPDATE node_acquisitions SET state = 'queued' WHERE id = ?", (acq_id,))
        return conn.execute(
            "INSERT INTO node_jobs (acquisition, state, created_at, next_at) VALUES (?, 'queued', ?, ?)",
            (acq_id, now, now),
        ).lastrowid

    def sweep(self, *, quiet_s: float, now: float | None = None) -> list[int]:
        """Queue the open acquisitions that received nothing for ``quiet_s`` seconds.

        Returns
        -------
        list of int
            The jobs queued now.
        """
        if not quiet_s > 0:
            raise ValueError(f"quiet_s must be > 0, got {quiet_s!r}")
        now = float(self.clock() if now is None else now)
        jobs = []
        with self.store.transaction() as conn:
            due = conn.execute(
                "SELECT id FROM node_acquisitions WHERE state = 'open' AND last_at <= ? ORDER BY last_at, id",
                (now - quiet_s,),
            ).fetchall()
            for (acq_id,) in due:
                jobs.append(self._queue(conn, acq_id, now))
        return jobs

    # ------------------------------------------------------------------ running
    def claim(self, *, limit: int, now: float | None = None) -> list[int]:
        """Move up to ``limit`` due queued jobs (oldest first) to ``running``; their attempt count grows."""
        if limit <= 0:
            return []
        now = float(self.clock() if now is None else now)
        with self.store.transaction() as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM node_jobs WHERE state = 'queued' AND next_at <= ? ORDER BY next_at, id LIMIT ?",
                    (now, int(limit)),
                )
            ]
            for job_id in ids:
                conn.execute(
                    "UPDATE node_jobs SET state = 'running', attempts = attempts + 1, started_at = ?,"
                    " finished_at = NULL WHERE id = ?",
                    (now, job_id),
                )
        return ids

    def resume(self, *, now: float | None = None) -> list[int]:
        """After a restart: jobs left ``running`` by a node that died go back to ``queued``."""
        now = float(self.clock() if now is None else now)
        with self.store.transaction() as conn:
            ids = [r[0] for r in conn.execute("SELECT id FROM node_jobs WHERE state = 'running' ORDER BY id")]
            conn.execute(
                "UPDATE node_jobs SET state = 'queued', next_at = ?, reason = 'interrupted: the node stopped while it"
                " ran' WHERE state = 'running'",
                (now,),
            )
        return ids

    def set_stage(self, job_id: int, stage: str) -> None:
        """Record the last stage a job reached (shown by ``node status``)."""
        with self.store.transaction() as conn:
            conn.execute("UPDATE node_jobs SET stage = ? WHERE id = ?", (stage, job_id))

    def finish(self, job_id: int, *, now: float | None = None) -> None:
        """``running`` -> ``done``."""
        now = float(self.clock() if now is None else now)
        self._set(job_id, "done", now, reason="", finished=True)

    def fail(self, job_id: int, reason: str, *, now: float | None = None) -> None:
        """-> ``failed`` with its reason (kept; ``retry`` queues it again)."""
        now = float(self.clock() if now is None else now)
        self._set(job_id, "failed", now, reason=reason, finished=True)

    def defer(self, job_id: int, reason: str, *, delay_s: float, max_attempts: int, now: float | None = None) -> str:
        """A transient failure: back to ``queued`` after ``delay_s``, or ``failed`` after ``max_attempts`` tries.

        Returns
        -------
        str
            The new state.
        """
        now = float(self.clock() if now is None else now)
        job = self.job(job_id)
        if job.attempts >= max_attempts:
            self.fail(job_id, f"{reason} (gave up after {job.attempts} attempts)", now=now)
            return "failed"
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE node_jobs SET state = 'queued', reason = ?, next_at = ? WHERE id = ?",
                (reason, now + float(delay_s), job_id),
            )
        return "queued"

    def retry(self, job_id: int, *, now: float | None = None) -> None:
        """A ``failed`` job back to ``queued`` (attempts start again).

        Raises
        ------
        KeyError
            When there is no such job.
        ValueError
            When the job is not failed.
        """
        now = float(self.clock() if now is None else now)
        job = self.job(job_id)
        if job.state != "failed":
            raise ValueError(f"job {job_id} is {job.state}, not failed")
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE node_jobs SET state = 'queued', attempts = 0, next_at = ?, finished_at = NULL,"
                " reason = 'retried: ' || reason WHERE id = ?",
                (now, job_id),
            )

    def _set(self, job_id: int, state: str, now: float, *, reason: str, finished: bool) -> None:
        with self.store.transaction() as conn:
            cur = conn.execute(
                "UPDATE node_jobs SET state = ?, reason = ?, finished_at = ? WHERE id = ?",
                (state, reason, now if finished else None, job_id),
            )
            if cur.rowcount != 1:
                raise KeyError(f"no job {job_id}")

    # ------------------------------------------------------------------ reading
    @staticmethod
    def _record(r) -> JobRecord:
        return JobRecord(*r)

    def job(self, job_id: int) -> JobRecord:
        """The job ``job_id``.

        Raises
        ------
        KeyError
            When there is none.
        """
        row = self.store.connection.execute(_JOB_SQL + " WHERE j.id = ?", (int(job_id),)).fetchone()
        if row is None:
            raise KeyError(f"no job {job_id}")
        return self._record(row)

    def jobs(self, *, state: str | None = None) -> list[JobRecord]:
        """All jobs (or those in ``state``), oldest first."""
        if state is not None and state not in JOB_STATES:
            raise ValueError(f"state must be one of {JOB_STATES}, got {state!r}")
        sql, params = _JOB_SQL, ()
        if state is not None:
            sql += " WHERE j.state = ?"
            params = (state,)
        return [self._record(r) for r in self.store.connection.execute(sql + " ORDER BY j.id", params)]

    def sources(self, job_id: int) -> list[tuple[str, Path]]:
        """(SOP Instance UID, file) of every object of the job's acquisition."""
        rows = self.store.connection.execute(
            "SELECT r.sop_instance_uid, r.path FROM node_received r JOIN node_jobs j ON j.acquisition = r.acquisition"
            " WHERE j.id = ? ORDER BY r.sop_instance_uid",
            (int(job_id),),
        ).fetchall()
        return [(uid, self._abs(p)) for uid, p in rows]

    def results(self, job_id: int) -> dict[str, ResultRecord]:
        """The results recorded for a job, by kind."""
        rows = self.store.connection.execute(
            "SELECT kind, sop_instance_uid, path, sent_at FROM node_results WHERE job = ?", (int(job_id),)
        ).fetchall()
        return {k: ResultRecord(k, uid, self._abs(p), s) for k, uid, p, s in rows}

    def add_result(self, job_id: int, kind: str, sop_instance_uid: str, path) -> None:
        """Record a written result (inside a caller's transaction when there is one)."""
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO node_results (job, kind, sop_instance_uid, path, sent_at)"
                " VALUES (?, ?, ?, ?, (SELECT sent_at FROM node_results WHERE job = ? AND kind = ?))",
                (int(job_id), kind, sop_instance_uid, self._rel(Path(path)), int(job_id), kind),
            )

    def mark_sent(self, job_id: int, kind: str, *, now: float | None = None) -> None:
        """The PACS acknowledged result ``kind`` of the job."""
        now = float(self.clock() if now is None else now)
        with self.store.transaction() as conn:
            conn.execute("UPDATE node_results SET sent_at = ? WHERE job = ? AND kind = ?", (now, int(job_id), kind))

    def counts(self) -> dict[str, int]:
        """Jobs per state, and acquisitions still gathering projections (``open``)."""
        out = dict.fromkeys(JOB_STATES, 0)
        for state, n in self.store.connection.execute("SELECT state, count(*) FROM node_jobs GROUP BY state"):
            out[state] = n
        out["open"] = self.store.connection.execute(
            "SELECT count(*) FROM node_acquisitions WHERE state = 'open'"
        ).fetchone()[0]
        return out

    def done_since(self, since: float) -> int:
        """Jobs finished (``done``) at or after ``since``."""
        return self.store.connection.execute(
            "SELECT count(*) FROM node_jobs WHERE state = 'done' AND finished_at >= ?", (float(since),)
        ).fetchone()[0]
