"""QC persistence: sessions per device with their checks, accept/reject decisions, limits, trends.

Tables: ``app/store/migrations/200_qc.sql``. Works on the store's ``sqlite3.Connection``
(autocommit mode; every write in one transaction). Time comes from an injectable clock.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from app.errors import InputError
from recon.qc.limits import QCLimits
from recon.qc.results import QCReport

__all__ = [
    "QCSession",
    "record_session",
    "decide",
    "sessions",
    "session",
    "trend",
    "set_device",
    "device_settings",
    "reject_analysis",
]

DECISIONS = ("accepted", "rejected", "repeated")


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _check_conn(conn) -> None:
    if not isinstance(conn, sqlite3.Connection):
        raise TypeError(f"conn must be a sqlite3.Connection, not {type(conn).__name__}")
    if conn.isolation_level is not None:
        raise ValueError("the QC store needs a connection with isolation_level=None")


def _scalar(v):
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, dict) and v and all(isinstance(x, (int, float)) for x in v.values()):
        return float(sum(v.values()))  # e.g. detector defect counts
    return None


@dataclass(frozen=True)
class QCSession:
    id: int
    device: str
    kind: str
    study_uid: str | None
    series_uid: str | None
    sop_instance_uid: str | None
    view: str | None
    performed_at: str
    status: str
    report: QCReport
    decision: str | None
    decision_reason: str | None
    decision_text: str | None
    decided_by: str | None
    decided_at: str | None
    kos_sop_instance_uid: str | None


def record_session(
    conn: sqlite3.Connection,
    report: QCReport,
    *,
    device: str,
    kind: str = "acquisition",
    study_uid: str | None = None,
    series_uid: str | None = None,
    sop_instance_uid: str | None = None,
    view: str | None = None,
    clock: Callable[[], float] = time.time,
) -> int:
    """Store one QC session and its check values; returns its id."""
    _check_conn(conn)
    if not isinstance(report, QCReport):
        raise TypeError("record_session: report must be a recon.qc.QCReport")
    if not device:
        raise InputError("a QC session needs a device name")
    if kind not in ("acquisition", "phantom"):
        raise InputError(f"QC session kind {kind!r}: must be acquisition or phantom")
    conn.execute("BEGIN IMMEDIATE")
    try:
        cur = conn.execute(
            "INSERT INTO qc_sessions (device, kind, study_uid, series_uid, sop_instance_uid, view, performed_at,"
            " status, report) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                device,
                kind,
                study_uid,
                series_uid,
                sop_instance_uid,
                view,
                _iso(clock()),
                report.status,
                json.dumps(report.to_dict(), separators=(",", ":")),
            ),
        )
        sid = int(cur.lastrowid)
        conn.executemany(
            "INSERT INTO qc_values (session_id, name, value, status) VALUES (?, ?, ?, ?)",
            [(sid, c.name, _scalar(c.value), c.status) for c in report.checks],
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return sid


def decide(
    conn: sqlite3.Connection,
    session_id: int,
    *,
    decision: str,
    by: str,
    reason: str | None = None,
    text: str = "",
    kos_sop_instance_uid: str | None = None,
    clock: Callable[[], float] = time.time,
) -> None:
    """Record the technologist's accept / reject / repeat of a QC session."""
    _check_conn(conn)
    if decision not in DECISIONS:
        raise InputError(f"decision {decision!r}: must be one of {', '.join(DECISIONS)}")
    if decision != "accepted" and not reason:
        raise InputError(f"a {decision} acquisition needs a reason")
    cur = conn.execute(
        "UPDATE qc_sessions SET decision = ?, decision_reason = ?, decision_text = ?, decided_by = ?,"
        " decided_at = ?, kos_sop_instance_uid = ? WHERE id = ?",
        (decision, reason, text, by, _iso(clock()), kos_sop_instance_uid, int(session_id)),
    )
    if cur.rowcount != 1:
        raise InputError(f"no QC session {session_id}")


def _row(r) -> QCSession:
    return QCSession(
        id=r[0],
        device=r[1],
        kind=r[2],
        study_uid=r[3],
        series_uid=r[4],
        sop_instance_uid=r[5],
        view=r[6],
        performed_at=r[7],
        status=r[8],
        report=QCReport.from_dict(json.loads(r[9])),
        decision=r[10],
        decision_reason=r[11],
        decision_text=r[12],
        decided_by=r[13],
        decided_at=r[14],
        kos_sop_instance_uid=r[15],
    )


_COLS = (
    "id, device, kind, study_uid, series_uid, sop_instance_uid, view, performed_at, status, report, decision,"
    " decision_reason, decision_text, decided_by, decided_at, kos_sop_instance_uid"
)


def session(conn: sqlite3.Connection, session_id: int) -> QCSession:
    r = conn.execute(f"SELECT {_COLS} FROM qc_sessions WHERE id = ?", (int(session_id),)).fetchone()
    if r is None:
        raise InputError(f"no QC session {session_id}")
    return _row(r)


def sessions(conn: sqlite3.Connection, *, device: str | None = None, kind: str | None = None) -> list[QCSession]:
    """QC sessions, oldest first, optionally of one device and kind."""
    q, args = f"SELECT {_COLS} FROM qc_sessions WHERE 1=1", []
    if device is not None:
        q += " AND device = ?"
        args.append(device)
    if kind is not None:
        q += " AND kind = ?"
        args.append(kind)
    return [_row(r) for r in conn.execute(q + " ORDER BY performed_at, id", args)]


def trend(conn: sqlite3.Connection, device: str, name: str, *, kind: str = "phantom") -> list[tuple[str, float, str]]:
    """(performed_at, value, status) of one check over a device's sessions, oldest first."""
    return [
        (r[0], r[1], r[2])
        for r in conn.execute(
            "SELECT s.performed_at, v.value, v.status FROM qc_values v JOIN qc_sessions s ON s.id = v.session_id"
            " WHERE s.device = ? AND s.kind = ? AND v.name = ? ORDER BY s.performed_at, s.id",
            (device, kind, name),
        )
    ]


def set_device(
    conn: sqlite3.Connection,
    device: str,
    *,
    limits: QCLimits | None = None,
    baseline: dict | None = None,
    clock: Callable[[], float] = time.time,
) -> None:
    """Set a device's limits (overrides of the defaults) and/or phantom baseline."""
    _check_conn(conn)
    old_limits, old_base = device_settings(conn, device)
    lim = (limits or old_limits).to_dict()
    base = dict(old_base if baseline is None else baseline)
    conn.execute(
        "INSERT INTO qc_devices (device, limits, baseline, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (device) DO UPDATE SET limits = excluded.limits, baseline = excluded.baseline,"
        " updated_at = excluded.updated_at",
        (device, json.dumps(lim), json.dumps(base), _iso(clock())),
    )


def device_settings(conn: sqlite3.Connection, device: str) -> tuple[QCLimits, dict]:
    """A device's limits and baseline (defaults and {} when it has none)."""
    r = conn.execute("SELECT limits, baseline FROM qc_devices WHERE device = ?", (device,)).fetchone()
    if r is None:
        return QCLimits(), {}
    return QCLimits.from_dict(json.loads(r[0])), json.loads(r[1])


def reject_analysis(conn: sqlite3.Connection, *, device: str | None = None, since: str | None = None) -> dict:
    """Reject/repeat analysis: acquisitions checked, rejected or repeated, and counts per reason."""
    q = "SELECT decision, decision_reason FROM qc_sessions WHERE kind = 'acquisition'"
    args = []
    if device is not None:
        q += " AND device = ?"
        args.append(device)
    if since is not None:
        q += " AND performed_at >= ?"
        args.append(since)
    rows = conn.execute(q, args).fetchall()
    out = {"acquisitions": len(rows), "rejected": 0, "repeated": 0, "reasons": {}}
    for decision, reason in rows:
        if decision in ("rejected", "repeated"):
            out[decision] += 1
            out["reasons"][reason] = out["reasons"].get(reason, 0) + 1
    out["reject_rate"] = (out["rejected"] + out["repeated"]) / out["acquisitions"] if rows else 0.0
    return out
