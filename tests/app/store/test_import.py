"""``crescent import``: folders, DICOMDIRs, bad files, duplicates, and a real SIGKILL mid-import."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pydicom.fileset import FileSet
from pydicom.uid import generate_uid

from app.cli import main
from app.store import Store
from app.store.importer import collect_files, import_paths
from tests.app.store.factory import clone_study, tiny_dm, write, write_study

REPO = Path(__file__).resolve().parents[3]


def _messy_folder(root: Path) -> dict:
    """Two studies in nested folders plus every kind of bad file; returns what an import must report."""
    study_a, paths_a = write_study(root / "a", n_files=5, patient_id="A")
    study_b, paths_b = write_study(root / "deep" / "er" / "b", n_files=3, patient_id="B")
    (root / "notes.txt").write_text("not dicom")
    truncated = root / "truncated.dcm"
    truncated.write_bytes(paths_a[0].read_bytes()[:200])
    no_uid = tiny_dm(study_uid=generate_uid(), series_uid=generate_uid())
    del no_uid.StudyInstanceUID
    write(no_uid, root / "no_study_uid.dcm")
    (root / "copy_of_a0.dcm").write_bytes(paths_a[0].read_bytes())  # same SOP Instance UID
    (root / ".hidden").write_text("skipped")
    return {
        "studies": {study_a, study_b},
        "added": 8,
        "duplicates": 1,
        "bad": {"notes.txt": "not a DICOM file", "truncated.dcm": "", "no_study_uid.dcm": "missing StudyInstanceUID"},
    }


def test_import_folder_reports_each_bad_file_and_imports_the_rest(tmp_path, capsys):
    expected = _messy_folder(tmp_path / "in")
    status = main(["--store", str(tmp_path / "store"), "import", "-q", str(tmp_path / "in")])
    out, err = capsys.readouterr()
    assert status == 0
    lines = err.strip().splitlines()
    assert len(lines) == len(expected["bad"])
    for name, reason in expected["bad"].items():
        (line,) = [x for x in lines if f"/{name}:" in x]
        assert reason in line and line.startswith("crescent import: ")
    assert "imported 8 files (2 studies, 2 new), 1 already in the store, 3 errors" in out
    with Store.open(tmp_path / "store") as store:
        assert {s.study_uid for s in store.studies()} == expected["studies"]
        assert store.counts()["instances"] == 8
        assert store.check() == []


def test_reimport_skips_everything_and_exits_zero(tmp_path, capsys):
    _, paths = write_study(tmp_path / "in", n_files=4)
    with Store.open(tmp_path / "store") as store:
        first = import_paths(store, [tmp_path / "in"])
        assert (first.added, first.duplicates, first.errors) == (4, 0, [])
        calls = []
        again = import_paths(store, [tmp_path / "in", paths[0]], progress=lambda d, t, m: calls.append((d, t)))
        assert (again.added, again.duplicates, again.files) == (0, 4, 4)  # a path given twice counts once
        assert calls[-1] == (4, 4)
    assert main(["--store", str(tmp_path / "store"), "import", "-q", str(tmp_path / "in")]) == 0
    assert "0 files" in capsys.readouterr().out


def test_nothing_importable_exits_2(tmp_path, capsys):
    (tmp_path / "junk.bin").write_bytes(b"\0" * 300)
    assert main(["--store", str(tmp_path / "s"), "import", "-q", str(tmp_path / "junk.bin")]) == 2
    assert main(["--store", str(tmp_path / "s"), "import", "-q", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "junk.bin: not a DICOM file" in err and "missing: no such file or folder" in err


def _media(root: Path, n: int) -> tuple[str, Path]:
    """A DICOMDIR file set (pydicom's FileSet) of ``n`` tiny images; returns the study UID and the DICOMDIR."""
    study_uid = generate_uid()
    series_uid = generate_uid()
    fs = FileSet()
    for k in range(n):
        fs.add(tiny_dm(study_uid=study_uid, series_uid=series_uid, instance_number=k + 1, seed=k))
    fs.write(root)
    return study_uid, root / "DICOMDIR"


def test_dicomdir_given_directly_or_met_in_a_folder(tmp_path):
    study_uid, dicomdir = _media(tmp_path / "cd", 3)
    files, errors = collect_files([dicomdir])
    assert errors == [] and len(files) == 3 and all(f.name != "DICOMDIR" for f in files)
    with Store.open(tmp_path / "s") as store:
        summary = import_paths(store, [dicomdir])
        assert (summary.added, summary.errors) == (3, [])
        summary = import_paths(store, [tmp_path / "cd"])  # the DICOMDIR itself is no error, nothing counted twice
        assert (summary.files, summary.added, summary.duplicates, summary.errors) == (3, 0, 3, [])
        assert store.study(study_uid).summary.instance_count == 3


def test_dicomdir_with_a_missing_file_names_it(tmp_path):
    _, dicomdir = _media(tmp_path / "cd", 2)
    files, _ = collect_files([dicomdir])
    files[1].unlink()
    with Store.open(tmp_path / "s") as store:
        summary = import_paths(store, [dicomdir])
    assert summary.added == 1
    (line,) = summary.errors
    assert str(dicomdir) in line and "does not exist" in line


def test_cancel_keeps_what_was_done(tmp_path):
    _, paths = write_study(tmp_path / "in", n_files=6)

    class StopAfterThree:
        def __init__(self):
            self.calls = 0

        def is_set(self):
            self.calls += 1
            return self.calls > 3

    with Store.open(tmp_path / "s") as store:
        summary = import_paths(store, [tmp_path / "in"], cancel=StopAfterThree())
        assert summary.cancelled and summary.added == 3
        assert store.counts()["instances"] == 3


def _instances_committed(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.05)
        try:
            return conn.execute("SELECT count(*) FROM instances").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:  # not created yet, or busy
        return 0


def test_sigkill_mid_import_leaves_a_consistent_store_and_rerun_completes(tmp_path):
    n_files = 700
    source = tmp_path / "in"
    study_uid, _ = clone_study(source / "one", n_files=n_files - 200)
    study_uid2, _ = clone_study(source / "two", n_files=200, patient_id="P2")
    store_dir = tmp_path / "store"
    cmd = [sys.executable, "-m", "app", "--store", str(store_dir), "import", "-q", str(source)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    db = store_dir / "crescent.sqlite"
    deadline = time.monotonic() + 60
    while _instances_committed(db) == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the import finished before it could be killed"
    proc.stderr.close()
    with Store.open(store_dir) as store:
        assert store.check() == []  # integrity_check and foreign_key_check
        partial = store.counts()["instances"]
        assert 0 < partial < n_files, partial
        # every indexed instance hangs off a series, study and patient
        orphans = store.connection.execute(
            "SELECT count(*) FROM instances i LEFT JOIN series s ON s.id = i.series WHERE s.id IS NULL"
        ).fetchone()[0]
        assert orphans == 0
    rerun = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert f"imported {n_files - partial} files" in rerun.stdout
    assert f"{partial} already in the store, 0 errors" in rerun.stdout
    with Store.open(store_dir) as store:
        assert store.check() == []
        assert store.counts() == {"patients": 2, "studies": 2, "series": 4, "instances": n_files, "derived": 0}
        assert {s.study_uid: s.instance_count for s in store.studies()} == {study_uid: n_files - 200, study_uid2: 200}


@pytest.mark.parametrize("name", ["DICOMDIR", "dicomdir"])
def test_unreadable_dicomdir_is_one_line(tmp_path, name):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / name).write_text("garbage")
    files, errors = collect_files([tmp_path / "m"])
    assert files == [] and len(errors) == 1 and "unreadable DICOMDIR" in errors[0]
