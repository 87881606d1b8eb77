"""``crescent node status``: the queue, running, done and failed jobs, and throughput, from the store."""

from __future__ import annotations

import time

from app.node.queue import open_queue

__all__ = ["format_status", "node_status"]


def node_status(root=None, *, now: float | None = None) -> dict:
    """The node's state as recorded in the store (works while the node runs, or without it).

    Parameters
    ----------
    root : path, optional
        The store folder (default ``$CRESCENT_HOME`` or the user data folder).
    now : float, optional
        Unix seconds (default now).

    Returns
    -------
    dict
        ``counts`` (open acquisitions and jobs per state), ``running`` / ``queued`` /
        ``failed`` (lists of jobs: id, stage, attempts, reason, times),
        ``throughput_per_hour`` (``last_hour``: jobs done in the last hour; ``last_day``: jobs
        done in the last 24 h divided by 24).
    """
    from app.store import resolve_store_dir

    now = float(time.time() if now is None else now)
    with open_queue(resolve_store_dir(root)) as queue:
        jobs = queue.jobs()
        counts = queue.counts()
        last_hour = queue.done_since(now - 3600.0)
        last_day = queue.done_since(now - 86400.0)

    def row(j):
        return {
            "id": j.id,
            "state": j.state,
            "stage": j.stage,
            "attempts": j.attempts,
            "reason": j.reason,
            "projections": j.projections,
            "created_at": j.created_at,
            "started_at": j.started_at,
            "finished_at": j.finished_at,
            "next_at": j.next_at,
        }

    return {
        "counts": counts,
        "running": [row(j) for j in jobs if j.state == "running"],
        "queued": [row(j) for j in jobs if j.state == "queued"],
        "failed": [row(j) for j in jobs if j.state == "failed"],
        "throughput_per_hour": {"last_hour": float(last_hour), "last_day": round(last_day / 24.0, 3)},
        "now": now,
    }


def format_status(status: dict) -> str:
    """The status as a few human lines (no patient data: job ids, stages, reasons)."""
    c = status["counts"]
    t = status["throughput_per_hour"]
    lines = [
        f"queued {c['queued']}, running {c['running']}, done {c['done']}, failed {c['failed']}"
        f" (acquisitions still arriving: {c['open']})",
        f"throughput: {t['last_hour']:g} acquisitions/hour over the last hour, "
        f"{t['last_day']:g} acquisitions/hour over the last day",
    ]
    now = status["now"]
    for j in status["running"]:
        since = now - (j["started_at"] or now)
        lines.append(f"  job {j['id']}: running ({j['stage'] or 'starting'}, attempt {j['attempts']}, {since:.0f} s)")
    for j in status["queued"]:
        wait = max(0.0, j["next_at"] - now)
        why = f" - {j['reason']}" if j["reason"] else ""
        lines.append(f"  job {j['id']}: queued" + (f" (next try in {wait:.0f} s)" if wait > 0 else "") + why)
    for j in status["failed"]:
        lines.append(f"  job {j['id']}: failed after {j['attempts']} attempt(s) - {j['reason']}")
    return "\n".join(lines)
