"""Saving and restoring findings: atomic saves, autosave within a second, and a real crash (SIGKILL)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from app.model.findings import FindingsSession
from app.store.findings import (
    Autosaver,
    check_consistency,
    ensure_schema,
    load_session,
    load_snapshot,
    load_viewer_state,
    save_session,
)

from . import crash_child
from .helpers import STUDY, FakeClock, known_session

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def conn(tmp_path):
    c = sqlite3.connect(tmp_path / "crescent.sqlite", isolation_level=None)
    c.execute("PRAGMA foreign_keys = ON")
    ensure_schema(c)
    yield c
    c.close()


def test_save_and_reopen_restores_everything(conn):
    s, ids = known_session()
    s.set_viewer_state({"layout": "4view", "slices": {"R CC": 10, "R MLO": 12}, "zoom": 1.5})
    save_session(conn, s.snapshot())
    t = load_session(conn, STUDY)
    assert t.snapshot() == s.snapshot()
    assert [f.id for f in t.findings] == list(ids)
    assert t.location(ids[0]).clock == 10
    assert t.cad_decisions["cad-2"].decision == "dismissed"
    assert t.assessment.right.composition == "c"
    assert load_viewer_state(conn, STUDY)["zoom"] == 1.5
    assert check_consistency(conn, STUDY) == []
    # history rows carry the reader and the time
    rows = conn.execute(
        "SELECT seq, at, reader, action FROM findings_history WHERE study_uid = ? ORDER BY seq", (STUDY,)
    ).fetchall()
    assert len(rows) == len(s.history) and rows[0][2] == "Dr Reader" and rows[0][1].endswith("Z")
    # removing a finding and saving again removes its row; history only grows
    s.remove_finding(ids[1])
    save_session(conn, s.snapshot())
    assert [r[0] for r in conn.execute("SELECT id FROM findings WHERE study_uid = ?", (STUDY,))] == [ids[0], ids[2]]
    assert load_session(conn, STUDY).snapshot() == s.snapshot()
    assert load_session(conn, "1.2.3.4").findings == []


def test_failed_save_leaves_previous_state(conn):
    s, _ = known_session()
    save_session(conn, s.snapshot())
    before = load_snapshot(conn, STUDY)
    s.add_finding("skin_lesion", "L")

    def boom():
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError):
        save_session(conn, s.snapshot(), _before_commit=boom)
    assert load_snapshot(conn, STUDY) == before


def test_autosave_within_a_second():
    clock = FakeClock(0.0)
    s = FindingsSession(STUDY, reader="Dr A", clock=clock)
    saved = []
    saver = Autosaver(s, lambda snap: saved.append((clock(), snap["revision"])), clock=clock)
    f = s.add_finding("mass", "R")
    clock.advance(0.2)
    assert not saver.poll()  # still typing
    clock.advance(0.15)
    assert saver.poll() and saved[-1] == (0.35, 1)
    assert not saver.poll()  # nothing new
    # continuous editing every 1/8 s for 5 s, polled as often (binary fractions: exact times):
    # each edit is saved within a second of being made
    edit_times = {}
    for k in range(40):
        clock.advance(0.125)
        s.set_note(f.id, f"note {k}")
        edit_times[s.revision] = clock()
        saver.poll()
    for _ in range(8):
        clock.advance(0.125)
        saver.poll()
    for rev, t in edit_times.items():
        t_saved = min(ts for ts, r in saved if r >= rev)
        assert t_saved - t <= 1.0, (rev, t, t_saved)
    assert len(saved) < 20  # debounced: far fewer saves than edits
    saver.close()
    assert saved[-1][1] == s.revision


def _lines(proc, until):
    out = []
    for line in proc.stdout:
        out.append(line.strip())
        if until(out[-1]):
            break
    return out


def _spawn(db, mode):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "tests.app.findings.crash_child", str(db), mode],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _db_state(db):
    c = sqlite3.connect(db, isolation_level=None)
    c.execute("PRAGMA foreign_keys = ON")
    try:
        return load_snapshot(c, crash_child.STUDY), check_consistency(c, crash_child.STUDY)
    finally:
        c.close()


def test_sigkill_mid_edit_loses_at_most_the_last_second(tmp_path):
    db = tmp_path / "crescent.sqlite"
    proc = _spawn(db, "run")
    try:
        lines = _lines(proc, lambda ln: ln.split()[0] == "160")  # 8 s of editing at 20 edits/s
        proc.send_signal(signal.SIGKILL)  # the child keeps editing until this lands
    finally:
        proc.wait(timeout=30)
        err = proc.stderr.read()
    assert proc.returncode == -signal.SIGKILL, err
    rows = [tuple(float(x) for x in ln.split()) for ln in lines]
    t_last = rows[-1][1]
    must_have = max(int(r[2]) for r in rows if r[1] <= t_last - 1.0)
    snap, problems = _db_state(db)
    assert problems == []
    assert snap["revision"] >= must_have
    # what survived is exactly the state at the saved revision (nothing half-written)
    assert snap == json.loads(json.dumps(crash_child.replay(snap["revision"]).snapshot()))


def test_sigkill_inside_a_save_transaction_keeps_the_previous_save(tmp_path):
    db = tmp_path / "crescent.sqlite"
    proc = _spawn(db, "pause-3")
    try:
        lines = _lines(proc, lambda ln: ln.startswith("PAUSED"))
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        err = proc.stderr.read()
    assert lines[-1].startswith("PAUSED"), err
    previous_save = int(lines[-2].split()[3])  # saved_revision before the third save began
    snap, problems = _db_state(db)
    assert problems == []
    assert snap["revision"] == previous_save > 0
    assert snap == json.loads(json.dumps(crash_child.replay(previous_save).snapshot()))
