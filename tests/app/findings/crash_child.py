"""Child process for the crash test: edits a findings session forever, autosaving, until killed.

Run as ``python -m tests.app.findings.crash_child DB MODE`` (MODE ``run`` or ``pause-N``: block
inside the N-th save's transaction, before COMMIT, until killed). Time is a fake clock that moves
0.05 s per edit; each line printed is ``edit_no fake_time revision saved_revision``.
"""

from __future__ import annotations

import sqlite3
import sys

from app.model.findings import FindingsSession
from app.store.findings import Autosaver, ensure_schema, save_session

STUDY = "1.2.826.0.1.3680043.8.498.77"
T0 = 1_700_000_000.0
STEP = 0.05
SHAPES = ("oval", "round", "irregular")
CATS = ("2", "3", "4A", "4B")


class Clock:
    def __init__(self):
        self.t = T0

    def __call__(self):
        return self.t


def edit(s: FindingsSession, i: int) -> None:
    """Edit number ``i`` (1-based): exactly one change of the session, deterministic."""
    latest = s.findings[-1] if s.findings else None
    k = i % 6
    if k == 1 or latest is None:
        s.add_finding("mass", "R" if (i // 6) % 2 else "L", finding_id=f"f{i}", reader=f"reader{i % 3}")
    elif k == 2:
        s.update_descriptors(latest.id, {"shape": SHAPES[(i // 6) % 3], "margin": "obscured"})
    elif k == 3:
        s.set_breast_assessment("R" if (i // 6) % 2 else "L", category=CATS[(i // 6) % 4], composition="b")
    elif k == 4:
        s.correct_location(latest.id, clock=(i % 12) + 1)
    elif k == 5:
        if (i // 6) % 2 == 0 and len(s.findings) > 1:
            s.remove_finding(s.findings[0].id)
        else:
            s.set_note(latest.id, f"note {i}")
    else:
        s.set_viewer_state({"slice": i, "layout": "4view"})


def replay(n_revisions: int) -> FindingsSession:
    """The session after the edits that produced revision ``n_revisions``."""
    clock = Clock()
    s = FindingsSession(STUDY, reader="replay", clock=clock)
    i = 0
    while s.revision < n_revisions:
        i += 1
        clock.t = T0 + i * STEP
        edit(s, i)
    return s


def main(db: str, mode: str) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    ensure_schema(conn)
    clock = Clock()
    s = FindingsSession(STUDY, reader="replay", clock=clock)
    pause_at = int(mode.split("-")[1]) if mode.startswith("pause-") else None
    saves = [0]

    def hook():
        saves[0] += 1
        if saves[0] == pause_at:
            print(f"PAUSED {s.revision}", flush=True)
            sys.stdin.readline()  # wait here, mid-transaction, until killed

    saver = Autosaver(s, lambda snap: save_session(conn, snap, clock=clock, _before_commit=hook), clock=clock)
    i = 0
    while True:
        i += 1
        clock.t = T0 + i * STEP
        edit(s, i)
        saver.poll()
        print(f"{i} {clock.t - T0:.3f} {s.revision} {saver.saved_revision}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
