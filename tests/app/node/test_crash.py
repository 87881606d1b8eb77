"""SIGKILL of the node process (``crescent node serve`` in a subprocess) at the worst moments.

Whatever was acknowledged is kept, every job finishes after a restart, and the PACS (a real
Orthanc) ends up with exactly the derived result UIDs: no duplicates, nothing missing.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pydicom
import pytest

from app.node.job import SOFTWARE
from app.node.uids import job_basis, result_uids
from tests.app.node.helpers import NODE_AE, modality_send, multi_frame_file, single_frame_files
from tests.orthanc import free_port, running_orthanc

REPO = Path(__file__).resolve().parents[3]
KINDS = ("preview", "volume", "synthetic2d", "cad_sr")


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    with running_orthanc(tmp_path_factory.mktemp("orthanc")) as server:
        yield server


class NodeProcess:
    """``crescent node serve`` in a subprocess on a fixed port and store."""

    def __init__(self, root: Path, orthanc, log: Path):
        self.root, self.orthanc, self.log = root, orthanc, log
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self, *, crash_at: str | None = None) -> NodeProcess:
        env = dict(os.environ)
        env.pop("CRESCENT_NODE_CRASH_AT", None)
        if crash_at:
            env["CRESCENT_NODE_CRASH_AT"] = crash_at
        cmd = [
            sys.executable, "-m", "app", "--store", str(self.root), "node", "serve",
            "--ae-title", NODE_AE, "--host", "127.0.0.1", "--port", str(self.port),
            "--pacs", f"{self.orthanc.aet}@127.0.0.1:{self.orthanc.dicom_port}",
            "--allow", "MODALITY@127.0.0.1", "--cad-models", "classical", "--workers", "1",
        ]  # fmt: skip
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the node exited early:\n{self.log.read_text()[-3000:]}"
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"the node did not start:\n{self.log.read_text()[-3000:]}")

    def wait_killed(self, timeout_s: float = 120) -> None:
        """Wait until the node died by its own SIGKILL (a crash point)."""
        rc = self.proc.wait(timeout=timeout_s)
        assert rc == -signal.SIGKILL, f"exit status {rc}:\n{self.log.read_text()[-3000:]}"

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        assert self.proc.wait(timeout=30) == -signal.SIGKILL

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=60) == 0, self.log.read_text()[-3000:]


def _db(root: Path, sql: str, params=()):
    with sqlite3.connect(root / "crescent.sqlite", timeout=30) as conn:
        return conn.execute(sql, params).fetchall()


def _wait_for(root: Path, sql: str, want, *, timeout_s: float = 120, poll_s: float = 0.01):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            rows = _db(root, sql)
        except sqlite3.OperationalError:  # the tables are not there yet
            rows = None
        if rows is not None and want(rows):
            return rows
        time.sleep(poll_s)
    raise AssertionError(f"timed out waiting for {sql!r}: {rows}")


def _expected(paths) -> dict[str, str]:
    sources = [str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in paths]
    basis = job_basis(sources, method="fbp", options={"slice_mm": 1.0, "cad_models": "classical"}, software=SOFTWARE)
    return {kind: result_uids(basis, kind).sop for kind in KINDS}


def test_sigkill_after_storing_mid_job_and_after_sending_loses_nothing_and_duplicates_nothing(orthanc, tmp_path):
    orthanc.clear()
    root = tmp_path / "store"
    node = NodeProcess(root, orthanc, tmp_path / "node.log")
    multi = multi_frame_file(tmp_path / "mf", seed=4)
    files = single_frame_files(tmp_path / "sf", seed=5)
    first, second = _expected([multi]), _expected(files)

    # 1. killed after the object was made durable, before the C-STORE response
    node.start(crash_at="stored")
    assert modality_send(node.port, [multi]) == [None]  # the modality saw no acknowledgement...
    node.wait_killed()
    assert _db(root, "SELECT state FROM node_jobs") == [("queued",)]  # ...but nothing was lost

    # 2. the modality sends again (a duplicate: acknowledged, not queued twice); killed once the
    #    results are written, the preview already sent
    node.start(crash_at="computed")
    assert modality_send(node.port, [multi]) == [0x0000]
    node.wait_killed()
    rows = dict(_db(root, "SELECT kind, sent_at IS NOT NULL FROM node_results"))
    assert rows == {"preview": 1, "volume": 0, "synthetic2d": 0, "cad_sr": 0}
    assert orthanc.instance_uids() == {first["preview"]}

    # 3. killed after the PACS acknowledged the volume, before the node recorded it
    node.start(crash_at="sent")
    node.wait_killed()
    assert orthanc.instance_uids() == {first["preview"], first["volume"]}
    assert dict(_db(root, "SELECT kind, sent_at IS NOT NULL FROM node_results"))["volume"] == 0

    # 4. a clean start finishes job 1 (the volume goes again: same UID, one copy); a second
    #    acquisition arrives and the node is killed from outside while its job runs
    node.start()
    _wait_for(root, "SELECT state FROM node_jobs WHERE id = 1", lambda r: r == [("done",)])
    assert modality_send(node.port, files) == [0x0000] * len(files)
    _wait_for(root, "SELECT state FROM node_jobs WHERE id = 2", lambda r: r == [("running",)])
    node.kill()

    # 5. restart: job 2 resumes and finishes
    node.start()
    _wait_for(root, "SELECT state FROM node_jobs WHERE id = 2", lambda r: r == [("done",)])
    node.stop()

    jobs = _db(root, "SELECT id, state, attempts FROM node_jobs ORDER BY id")
    assert jobs[0] == (1, "done", 3) and jobs[1][:2] == (2, "done") and len(jobs) == 2
    assert len(orthanc.rest("/instances")) == 8
    assert orthanc.instance_uids() == set(first.values()) | set(second.values())
    assert _db(root, "SELECT count(*) FROM node_received") == [(1 + len(files),)]
    assert _db(root, "SELECT count(*) FROM node_results WHERE sent_at IS NULL") == [(0,)]
