"""A real Orthanc PACS for tests: started on free loopback ports with its own config and storage.

Usage in a test module (one Orthanc per module keeps the suite fast)::

    import pytest
    from tests.orthanc import free_port, running_orthanc

    SCP_PORT = free_port()          # where our Storage SCP will listen (C-MOVE destination)

    @pytest.fixture(scope="module")
    def orthanc(tmp_path_factory):
        with running_orthanc(
            tmp_path_factory.mktemp("orthanc"),
            modalities={"crescent": ("CRESCENT", "127.0.0.1", SCP_PORT)},
        ) as server:
            yield server

    def test_echo(orthanc):
        ...  # orthanc.host, orthanc.dicom_port, orthanc.aet; orthanc.rest("/instances")

Orthanc answers C-FIND, C-GET and C-MOVE only from the AE titles listed in ``modalities``
(``DicomAlwaysAllow*`` are off) and checks the called AE title (``DicomCheckCalledAet``), so
tests can see real rejections. The Debian package ``orthanc`` provides ``/usr/sbin/Orthanc``;
a missing binary fails the test (``make test`` installs it).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ORTHANC_BINARY = os.environ.get("CRESCENT_ORTHANC", "/usr/sbin/Orthanc")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class OrthancServer:
    """A running Orthanc: where it listens, its REST API, and its process."""

    aet: str
    dicom_port: int
    http_port: int
    workdir: Path
    process: subprocess.Popen = field(repr=False)
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        """Base URL of the REST API."""
        return f"http://{self.host}:{self.http_port}"

    @property
    def log(self) -> str:
        """Orthanc's log so far (for assertion messages)."""
        path = self.workdir / "orthanc.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def rest(self, path: str, *, method: str = "GET", data: bytes | dict | None = None):
        """Call the REST API; returns the decoded JSON (or ``None`` for an empty answer)."""
        body = json.dumps(data).encode() if isinstance(data, dict) else data
        request = urllib.request.Request(self.url + path, data=body, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = response.read()
        return json.loads(payload) if payload else None

    def instance_uids(self) -> set[str]:
        """SOP Instance UIDs of every instance Orthanc holds."""
        return {self.rest(f"/instances/{i}/simplified-tags")["SOPInstanceUID"] for i in self.rest("/instances")}

    def file_bytes(self, sop_instance_uid: str) -> bytes:
        """The stored DICOM file of an instance, as Orthanc holds it."""
        ids = self.rest("/tools/lookup", method="POST", data=sop_instance_uid.encode())
        (orthanc_id,) = [x["ID"] for x in ids if x["Type"] == "Instance"]
        with urllib.request.urlopen(f"{self.url}/instances/{orthanc_id}/file", timeout=30) as response:
            return response.read()

    def clear(self) -> None:
        """Delete every patient (and so every study, series and instance)."""
        for patient in self.rest("/patients"):
            self.rest(f"/patients/{patient}", method="DELETE")

    def stop(self, *, graceful: bool = False) -> None:
        """Stop Orthanc: SIGKILL (its storage is a throw-away folder), or SIGTERM when ``graceful``.

        A graceful stop takes Orthanc about 3 s.
        """
        if self.process.poll() is None:
            if graceful:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=10)
                    return
                except subprocess.TimeoutExpired:
                    pass
            self.process.kill()
            self.process.wait(timeout=10)


def _config(workdir: Path, aet: str, dicom_port: int, http_port: int, modalities: dict) -> dict:
    storage = workdir / "storage"
    return {
        "Name": "crescent-test",
        "StorageDirectory": str(storage),
        "IndexDirectory": str(storage),
        "StorageCompression": False,
        "Plugins": [],
        "LuaScripts": [],
        "ConcurrentJobs": 1,
        "SaveJobs": False,
        "HttpServerEnabled": True,
        "HttpPort": http_port,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "OrthancExplorerEnabled": False,
        "WebDavEnabled": False,
        "DicomServerEnabled": True,
        "DicomAet": aet,
        "DicomPort": dicom_port,
        "DicomCheckCalledAet": True,
        "DicomAlwaysAllowEcho": True,
        "DicomAlwaysAllowStore": True,
        "DicomAlwaysAllowFind": False,
        "DicomAlwaysAllowGet": False,
        "DicomAlwaysAllowMove": False,
        "DicomCheckModalityHost": False,
        "DicomScuTimeout": 10,
        "DicomScpTimeout": 30,
        "DicomAssociationCloseDelay": 0,
        "UnknownSopClassAccepted": False,
        "DicomModalities": {name: list(value) for name, value in modalities.items()},
        "DicomModalitiesInDatabase": False,
    }


def start_orthanc(
    workdir: str | os.PathLike[str],
    *,
    aet: str = "ORTHANC",
    modalities: dict[str, tuple[str, str, int]] | None = None,
    timeout_s: float = 30.0,
) -> OrthancServer:
    """Start Orthanc on free loopback ports and wait until its DICOM and HTTP servers answer.

    Parameters
    ----------
    workdir : path
        A fresh folder for the configuration, storage and log.
    aet : str
        Orthanc's AE title.
    modalities : dict, optional
        ``{name: (ae_title, host, port)}``: the AEs Orthanc knows (they may query and retrieve,
        and are C-MOVE destinations).
    timeout_s : float
        How long to wait for it to come up.

    Returns
    -------
    OrthancServer
        Call :meth:`OrthancServer.stop` when done (or use :func:`running_orthanc`).
    """
    if shutil.which(ORTHANC_BINARY) is None:
        raise RuntimeError(f"Orthanc is not installed ({ORTHANC_BINARY}); install the Debian package 'orthanc'")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    last_error = ""
    for _attempt in range(3):  # a port taken between free_port() and Orthanc's bind: try others
        dicom_port, http_port = free_port(), free_port()
        config = workdir / "orthanc.json"
        config.write_text(json.dumps(_config(workdir, aet, dicom_port, http_port, modalities or {}), indent=2))
        log = open(workdir / "orthanc.log", "ab")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            [ORTHANC_BINARY, str(config)], stdout=log, stderr=subprocess.STDOUT, cwd=workdir, start_new_session=True
        )
        log.close()
        server = OrthancServer(aet, dicom_port, http_port, workdir, process)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and process.poll() is None:
            if _answers(server):
                return server
            time.sleep(0.05)
        server.stop()
        last_error = server.log[-2000:]
    raise RuntimeError(f"Orthanc did not start; its log ends with:\n{last_error}")


def _answers(server: OrthancServer) -> bool:
    try:
        with socket.create_connection((server.host, server.dicom_port), timeout=0.5):
            pass
        server.rest("/system")
        return True
    except (OSError, urllib.error.URLError, ValueError):
        return False


@contextlib.contextmanager
def running_orthanc(workdir: str | os.PathLike[str], **kwargs) -> Iterator[OrthancServer]:
    """:func:`start_orthanc` as a context manager that stops Orthanc on exit."""
    server = start_orthanc(workdir, **kwargs)
    try:
        yield server
    finally:
        server.stop()
