"""Persistence of BI-RADS findings: save and load a :class:`~app.model.findings.FindingsSession`, autosave.

Tables: ``app/store/migrations/100_findings.sql``. Every save writes the whole state of one study
in one transaction (findings, exam assessment, CAD decisions, new history entries, viewer state),
so the database always holds a complete earlier state, never half of one: killing the program
loses at most the edits not yet saved.

:class:`Autosaver` saves a session within a second of an edit: it saves once the edits have paused
for ``quiet_s`` or once the oldest unsaved edit is ``max_delay_s`` old, whichever comes first. Its
clock is injectable; something must call :meth:`Autosaver.poll` regularly (the GUI's timer every
100 ms, or after each edit in batch code).

Works on any ``sqlite3.Connection`` in autocommit mode (``isolation_level=None``), e.g.
``Store.connection``; :func:`ensure_schema` brings a bare connection up to date.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime

from app.model.findings import FindingsEvent, FindingsSession


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _dumps(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True)


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Apply the store's schema migrations (core and findings) to ``conn``."""
    from app.store.migrate import migrate

    migrate(conn)


def _check_conn(conn) -> None:
    if not isinstance(conn, sqlite3.Connection):
        raise TypeError(f"conn must be a sqlite3.Connection, not {type(conn).__name__}")
    if conn.isolation_level is not None:
        raise ValueError("the findings store needs a connection with isolation_level=None")


def save_session(
    conn: sqlite3.Connection,
    snapshot: dict,
    *,
    clock: Callable[[], float] = time.time,
    _before_commit: Callable[[], None] | None = None,
) -> None:
    """Write one study's findings state (``FindingsSession.snapshot()``) atomically.

    Parameters
    ----------
    conn : sqlite3.Connection
        Autocommit connection to a store with the findings tables.
    snapshot : dict
        The session snapshot.
    clock : callable
        Wall clock for ``saved_at``.
    """
    _check_conn(conn)
    if not isinstance(snapshot, dict) or "study_uid" not in snapshot:
        raise TypeError("snapshot must be a FindingsSession.snapshot() dict")
    uid = snapshot["study_uid"]
    now = _iso(clock())
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "INSERT INTO findings_studies (study_uid, revision, assessment, geometries, cad_marks, saved_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (study_uid) DO UPDATE SET revision = excluded.revision,"
            " assessment = excluded.assessment, geometries = excluded.geometries, cad_marks = excluded.cad_marks,"
            " saved_at = excluded.saved_at",
            (
                uid,
                int(snapshot.get("revision", 0)),
                _dumps(snapshot.get("assessment", {})),
                _dumps(snapshot.get("geometries", {})),
                _dumps(snapshot.get("cad_marks", [])),
                now,
            ),
        )
        conn.execute("DELETE FROM findings_cad_decisions WHERE study_uid = ?", (uid,))
        ids = [f["id"] for f in snapshot.get("findings", [])]
        conn.execute(
            f"DELETE FROM findings WHERE study_uid = ? AND id NOT IN ({','.join('?' * len(ids))})",
            (uid, *ids),
        )
        for f in snapshot.get("findings", []):
            conn.execute(
                "INSERT INTO findings (id, study_uid, number, kind, laterality, category, data)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET number = excluded.number,"
                " kind = excluded.kind, laterality = excluded.laterality, category = excluded.category,"
                " data = excluded.data",
                (f["id"], uid, f["number"], f["kind"], f["laterality"], f.get("category"), _dumps(f)),
            )
        for d in snapshot.get("cad_decisions", []):
            conn.execute(
                "INSERT INTO findings_cad_decisions (study_uid, cad_id, decision, finding_id, reader, decided_at,"
                " reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    uid,
                    d["cad_id"],
                    d["decision"],
                    d.get("finding_id"),
                    d.get("reader", ""),
                    d["at"],
                    d.get("reason", ""),
                ),
            )
        (last,) = conn.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM findings_history WHERE study_uid = ?", (uid,)
        ).fetchone()
        for h in snapshot.get("history", []):
            if h["seq"] <= last:
                continue
            conn.execute(
                "INSERT INTO findings_history (study_uid, seq, at, at_epoch, reader, action, target, detail)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (uid, h["seq"], _iso(h["at"]), h["at"], h["reader"], h["action"], h["target"], _dumps(h["detail"])),
            )
        conn.execute(
            "INSERT INTO viewer_states (study_uid, state, saved_at) VALUES (?, ?, ?)"
            " ON CONFLICT (study_uid) DO UPDATE SET state = excluded.state, saved_at = excluded.saved_at",
            (uid, _dumps(snapshot.get("viewer_state", {})), now),
        )
        if _before_commit is not None:
            _before_commit()
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def load_snapshot(conn: sqlite3.Connection, study_uid: str) -> dict | None:
    """The saved state of ``study_uid`` as snapshot data, or ``None`` when nothing was saved."""
    _check_conn(conn)
    row = conn.execute(
        "SELECT revision, assessment, geometries, cad_marks FROM findings_studies WHERE study_uid = ?", (study_uid,)
    ).fetchone()
    if row is None:
        return None
    findings = [
        json.loads(r[0])
        for r in conn.execute("SELECT data FROM findings WHERE study_uid = ? ORDER BY number", (study_uid,))
    ]
    decisions = [
        {"cad_id": r[0], "decision": r[1], "finding_id": r[2], "reader": r[3], "at": r[4], "reason": r[5]}
        for r in conn.execute(
            "SELECT cad_id, decision, finding_id, reader, decided_at, reason FROM findings_cad_decisions"
            " WHERE study_uid = ? ORDER BY cad_id",
            (study_uid,),
        )
    ]
    history = [
        {"seq": r[0], "at": r[1], "reader": r[2], "action": r[3], "target": r[4], "detail": json.loads(r[5])}
        for r in conn.execute(
            "SELECT seq, at_epoch, reader, action, target, detail FROM findings_history WHERE study_uid = ?"
            " ORDER BY seq",
            (study_uid,),
        )
    ]
    vs = conn.execute("SELECT state FROM viewer_states WHERE study_uid = ?", (study_uid,)).fetchone()
    return {
        "study_uid": study_uid,
        "revision": row[0],
        "findings": findings,
        "assessment": json.loads(row[1]),
        "geometries": json.loads(row[2]),
        "cad_marks": json.loads(row[3]),
        "cad_decisions": decisions,
        "viewer_state": json.loads(vs[0]) if vs else {},
        "history": history,
    }


def load_session(
    conn: sqlite3.Connection, study_uid: str, *, reader: str = "", clock: Callable[[], float] = time.time
) -> FindingsSession:
    """The study's saved findings session, or a new empty one when nothing was saved."""
    snap = load_snapshot(conn, study_uid)
    if snap is None:
        return FindingsSession(study_uid, reader=reader, clock=clock)
    return FindingsSession.from_snapshot(snap, reader=reader, clock=clock)


def load_viewer_state(conn: sqlite3.Connection, study_uid: str) -> dict | None:
    """The saved viewer state (JSON blob) of a study, or ``None``."""
    _check_conn(conn)
    row = conn.execute("SELECT state FROM viewer_states WHERE study_uid = ?", (study_uid,)).fetchone()
    return json.loads(row[0]) if row else None


def check_consistency(conn: sqlite3.Connection, study_uid: str) -> list[str]:
    """Problems with a study's saved findings (empty when consistent): database integrity,
    foreign keys, history numbering, and that the state loads and validates."""
    problems = []
    if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
        problems.append("SQLite integrity check failed")
    for row in conn.execute("PRAGMA foreign_key_check"):
        problems.append(f"foreign key violation in {row[0]}")
    seqs = [
        r[0] for r in conn.execute("SELECT seq FROM findings_history WHERE study_uid = ? ORDER BY seq", (study_uid,))
    ]
    if seqs != list(range(1, len(seqs) + 1)):
        problems.append("history sequence has gaps")
    try:
        snap = load_snapshot(conn, study_uid)
        if snap is not None:
            FindingsSession.from_snapshot(snap)
            fids = {f["id"] for f in snap["findings"]}
            for d in snap["cad_decisions"]:
                if d["decision"] == "accepted" and d["finding_id"] not in fids:
                    problems.append(f"accepted CAD mark {d['cad_id']} points at a missing finding")
    except (ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
        problems.append(f"saved state does not load: {exc}")
    return problems


class Autosaver:
    """Save a session within a second of each edit (debounced).

    Parameters
    ----------
    session : FindingsSession
    save : callable
        ``save(snapshot)``, e.g. ``lambda snap: save_session(conn, snap)``.
    clock : callable
        Monotonic seconds (injectable for tests).
    quiet_s : float
        Save once no edit has come for this long.
    max_delay_s : float
        Save at the latest this long after the oldest unsaved edit (keep <= 0.9 so that, with
        :meth:`poll` called every 0.1 s, every edit is saved within a second).
    """

    def __init__(
        self,
        session: FindingsSession,
        save: Callable[[dict], None],
        *,
        clock: Callable[[], float] = time.monotonic,
        quiet_s: float = 0.3,
        max_delay_s: float = 0.9,
    ):
        if not isinstance(session, FindingsSession):
            raise TypeError("session must be a FindingsSession")
        if not (0 < quiet_s <= max_delay_s):
            raise ValueError(f"need 0 < quiet_s <= max_delay_s, got {quiet_s}, {max_delay_s}")
        self.session = session
        self._save = save
        self.clock = clock
        self.quiet_s = float(quiet_s)
        self.max_delay_s = float(max_delay_s)
        self._first: float | None = None
        self._last: float | None = None
        self.saved_revision = session.revision
        self.saves = 0
        self._unsubscribe = session.subscribe(self._on_change)

    def _on_change(self, event: FindingsEvent) -> None:
        now = self.clock()
        if self._first is None:
            self._first = now
        self._last = now

    @property
    def dirty(self) -> bool:
        return self.session.revision != self.saved_revision

    def due(self) -> bool:
        """Whether a save is due now."""
        if not self.dirty or self._first is None:
            return False
        now = self.clock()
        return now - self._last >= self.quiet_s or now - self._first >= self.max_delay_s

    def poll(self) -> bool:
        """Save if due; returns whether it saved."""
        if self.due():
            self.flush()
            return True
        return False

    def flush(self) -> None:
        """Save now if anything changed since the last save."""
        if not self.dirty:
            return
        snap = self.session.snapshot()
        self._save(snap)
        self.saved_revision = snap["revision"]
        self.saves += 1
        self._first = self._last = None

    def close(self) -> None:
        """Save what is pending and stop listening."""
        self.flush()
        self._unsubscribe()
