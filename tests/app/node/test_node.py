"""The node in-process on loopback: a pynetdicom SCU plays the modality, a real Orthanc the PACS."""

from __future__ import annotations

import copy
import logging
import socket
import ssl
import subprocess

import pydicom
import pytest

from app.cli import main
from app.config import Config
from app.node.audit import read_audit
from app.node.job import SOFTWARE
from app.node.queue import open_queue
from app.node.service import AUDIT_NAME, Node
from app.node.settings import settings_from_config
from app.node.status import node_status
from app.node.uids import job_basis, result_uids
from tests.app.node.helpers import (
    PATIENT_ID,
    PATIENT_NAME,
    modality_send,
    multi_frame_file,
    single_frame_files,
)
from tests.dicom_validate import assert_dciodvfy_clean
from tests.orthanc import free_port, running_orthanc

BTO = "1.2.840.10008.5.1.4.1.1.13.1.3"
DM_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.2"
CAD_SR = "1.2.840.10008.5.1.4.1.1.88.50"
OPTIONS = {"slice_mm": 1.0, "cad_models": "classical"}


class Clock:
    def __init__(self, t: float = 2_000_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    with running_orthanc(tmp_path_factory.mktemp("orthanc")) as server:
        yield server


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        with Client(cluster) as c:
            yield c


@pytest.fixture(scope="module")
def acquisitions(tmp_path_factory):
    folder = tmp_path_factory.mktemp("acquisitions")
    return {
        "multi": multi_frame_file(folder / "mf", seed=0),
        "silent": single_frame_files(folder / "sf", seed=1, announce=False),
    }


def _settings(orthanc, **changes):
    values = dict(
        pacs=f"{orthanc.aet}@127.0.0.1:{orthanc.dicom_port}",
        allow=["MODALITY@127.0.0.1"],
        port=free_port(),
        cad_models="classical",
        backoff_s=0.01,
        timeout_s=10.0,
    )
    values.update(changes)
    return settings_from_config(Config(), **values)


def _expected_uids(source_uids) -> dict[str, str]:
    basis = job_basis(source_uids, method="fbp", options=OPTIONS, software=SOFTWARE)
    return {kind: result_uids(basis, kind).sop for kind in ("preview", "volume", "synthetic2d", "cad_sr")}


def _pacs_classes(orthanc) -> dict[str, str]:
    out = {}
    for i in orthanc.rest("/instances"):
        tags = orthanc.rest(f"/instances/{i}/simplified-tags")
        out[tags["SOPInstanceUID"]] = tags["SOPClassUID"]
    return out


def test_an_acquisition_goes_in_and_volume_synthetic_2d_and_cad_sr_arrive_once(
    orthanc, client, acquisitions, tmp_path, caplog
):
    orthanc.clear()
    caplog.set_level(logging.DEBUG, logger="crescent.node")
    root = tmp_path / "store"
    settings = _settings(orthanc, chunks=2)
    source = pydicom.dcmread(acquisitions["multi"], stop_before_pixels=True)
    expected = _expected_uids([str(source.SOPInstanceUID)])
    with Node(settings, store_root=root, client=client) as node:
        assert modality_send(node.port, [acquisitions["multi"]]) == [0x0000]
        assert modality_send(node.port, [acquisitions["multi"]]) == [0x0000]  # resent: acknowledged, not re-queued
        node.run_until_idle(timeout_s=120)
        with open_queue(root) as queue:
            (job,) = queue.jobs()
            assert (job.state, job.attempts, job.stage) == ("done", 1, "sent")
            results = queue.results(job.id)
        assert {k: r.sop_instance_uid for k, r in results.items()} == expected
        classes = _pacs_classes(orthanc)
        assert classes == {
            expected["preview"]: BTO,
            expected["volume"]: BTO,
            expected["synthetic2d"]: DM_PRESENTATION,
            expected["cad_sr"]: CAD_SR,
        }
        for kind, uid in expected.items():  # what the PACS holds is what we wrote, and it is valid
            pacs_file = tmp_path / f"{kind}.dcm"
            pacs_file.write_bytes(orthanc.file_bytes(uid))
            assert pydicom.dcmread(pacs_file) == pydicom.dcmread(results[kind].path)  # the data set (not file meta)
            assert_dciodvfy_clean(pacs_file)
        ds = pydicom.dcmread(results["volume"].path, stop_before_pixels=True)
        assert ds.StudyInstanceUID == source.StudyInstanceUID and ds.PatientID == PATIENT_ID
        assert ds.SeriesInstanceUID != pydicom.dcmread(results["preview"].path).SeriesInstanceUID
        sr = pydicom.dcmread(results["cad_sr"].path)
        refs = {
            str(i.ReferencedSOPInstanceUID)
            for item in sr.CurrentRequestedProcedureEvidenceSequence
            for s in item.ReferencedSeriesSequence
            for i in s.ReferencedSOPSequence
        }
        assert expected["volume"] in refs

        # the job again from scratch (results forgotten): same UIDs, nothing new in the PACS
        with open_queue(root) as queue:
            with queue.store.transaction() as conn:
                conn.execute("DELETE FROM node_results")
            queue.fail(job.id, "test: run again")
            queue.retry(job.id)
        node.run_until_idle(timeout_s=120)
        with open_queue(root) as queue:
            assert queue.job(job.id).state == "done"
            assert {k: r.sop_instance_uid for k, r in queue.results(job.id).items()} == expected
        assert _pacs_classes(orthanc) == classes

    status = node_status(root)
    assert status["counts"]["done"] == 1 and status["throughput_per_hour"]["last_hour"] == 1.0
    events = read_audit(root / AUDIT_NAME)
    kinds = [e["event"] for e in events]
    assert kinds.count("received") == 2 and kinds.count("queued") == 1 and kinds.count("sent") == 8
    assert [e.get("duplicate", False) for e in events if e["event"] == "received"] == [False, True]
    # no patient data and no raw UIDs in the audit log or the node's log lines
    text = (root / AUDIT_NAME).read_text() + "\n".join(r.getMessage() for r in caplog.records)
    for secret in (
        PATIENT_NAME,
        PATIENT_ID,
        str(source.StudyInstanceUID),
        str(source.SOPInstanceUID),
        *expected.values(),
    ):
        assert secret not in text
    assert "job 1 done" in text


def test_projection_files_without_a_count_are_processed_after_the_quiet_time(orthanc, client, acquisitions, tmp_path):
    orthanc.clear()
    clock = Clock()
    root = tmp_path / "store"
    settings = _settings(orthanc, quiet_s=20.0, preview=False)
    with Node(settings, store_root=root, client=client, clock=clock) as node:
        assert modality_send(node.port, acquisitions["silent"][:5]) == [0] * 5
        clock.t += 15.0
        assert modality_send(node.port, acquisitions["silent"][5:]) == [0] * 4
        clock.t += 19.9
        assert node.tick() == []  # 19.9 s of quiet: still gathering
        with open_queue(root) as queue:
            assert queue.jobs() == [] and queue.counts()["open"] == 1
        clock.t += 0.1
        (job_id,) = node.tick()
        node.run_until_idle(timeout_s=120)
        with open_queue(root) as queue:
            job = queue.job(job_id)
            assert (job.state, job.projections, job.expected) == ("done", 9, None)
            assert job.finished_at == clock.t
    sources = [str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in acquisitions["silent"]]
    expected = _expected_uids(sources)
    del expected["preview"]
    assert set(_pacs_classes(orthanc)) == set(expected.values())


def test_unknown_callers_are_rejected_and_malformed_objects_refused_with_nothing_queued(
    orthanc, client, acquisitions, tmp_path
):
    root = tmp_path / "store"
    settings = _settings(orthanc, allow=["MODALITY@127.0.0.1", "FARAWAY@10.254.1.2"])
    good = pydicom.dcmread(acquisitions["multi"])
    no_pixels = copy.deepcopy(good)
    del no_pixels.PixelData
    no_pixels.SOPInstanceUID = no_pixels.file_meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.8.498.901"
    wrong_frames = copy.deepcopy(good)
    wrong_frames.NumberOfFrames = 12
    wrong_frames.SOPInstanceUID = wrong_frames.file_meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.8.498.902"
    paths = []
    for name, ds in (("nopix", no_pixels), ("frames", wrong_frames)):
        paths.append(tmp_path / f"{name}.dcm")
        ds.save_as(paths[-1], enforce_file_format=True)
    with Node(settings, store_root=root, client=client) as node:
        assert modality_send(node.port, [acquisitions["multi"]], calling_ae="STRANGER") == [None]
        assert modality_send(node.port, [acquisitions["multi"]], calling_ae="FARAWAY") == [None]  # wrong host
        assert modality_send(node.port, [acquisitions["multi"]], called_ae="SOMEONE_ELSE") == [None]
        assert modality_send(node.port, paths) == [0xA900, 0xA900]
    with open_queue(root) as queue:
        assert queue.jobs() == [] and queue.counts()["open"] == 0 and queue.store.instances() == []
    assert not (root / "files").exists() or not any(p.is_file() for p in (root / "files").rglob("*"))
    events = read_audit(root / AUDIT_NAME)
    refused = [e for e in events if e["event"] == "association" and not e["accepted"]]
    assert [e["calling_ae"] for e in refused] == ["STRANGER", "FARAWAY"]
    assert [e["status"] for e in events if e["event"] == "refused"] == [0xA900, 0xA900]
    assert "Pixel Data" in events[-2]["reason"] and "Per-Frame" in events[-1]["reason"]


def test_a_pacs_that_is_down_delays_then_fails_the_job_and_retry_delivers_without_recomputing(
    orthanc, client, acquisitions, tmp_path, capsys
):
    orthanc.clear()
    clock = Clock()
    root = tmp_path / "store"
    # a port held bound but not listening: connections are refused, and no other process
    # (another test run) can take it over meanwhile, as it could a merely free port
    blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    blocker.bind(("127.0.0.1", 0))
    down_port = blocker.getsockname()[1]
    down = _settings(orthanc, pacs=f"{orthanc.aet}@127.0.0.1:{down_port}", max_attempts=2, backoff_s=30.0)
    with blocker, Node(down, store_root=root, client=client, clock=clock) as node:
        assert modality_send(node.port, [acquisitions["multi"]]) == [0]
        node.run_until_idle(timeout_s=120)
        with open_queue(root) as queue:
            (job,) = queue.jobs()
            assert (job.state, job.attempts, job.next_at) == ("queued", 1, clock.t + 30.0)
            assert "connection refused" in job.reason and len(queue.results(job.id)) == 4
            assert all(r.sent_at is None for r in queue.results(job.id).values())
        clock.t += 29.0
        assert node.tick() == []  # backing off
        clock.t += 1.0
        node.run_until_idle(timeout_s=120)
        with open_queue(root) as queue:
            job = queue.job(job.id)
        assert (job.state, job.attempts) == ("failed", 2) and "gave up after 2 attempts" in job.reason
    assert main(["--store", str(root), "node", "status"]) == 0
    out = capsys.readouterr().out
    assert "failed 1" in out and f"job {job.id}: failed after 2 attempt(s)" in out
    assert main(["--store", str(root), "node", "retry", str(job.id)]) == 0
    assert main(["--store", str(root), "node", "retry", "77"]) == 2
    assert "JOB 77: no such job" in capsys.readouterr().err
    with open_queue(root) as queue:
        derived_before = len(queue.store.derived())
    with Node(_settings(orthanc), store_root=root, client=client, clock=clock) as node:
        node.run_until_idle(timeout_s=120)
    with open_queue(root) as queue:
        job = queue.job(job.id)
        assert (job.state, job.attempts) == ("done", 1)
        assert len(queue.store.derived()) == derived_before  # sent what was made, nothing recomputed
        assert set(_pacs_classes(orthanc)) == {r.sop_instance_uid for r in queue.results(job.id).values()}


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A throw-away CA, a server certificate for 127.0.0.1 and a client certificate (openssl CLI)."""
    d = tmp_path_factory.mktemp("pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Test CA", cwd=d)
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    for name in ("server", "client"):
        _openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
        extra = ["-extfile", "san.ext"] if name == "server" else []
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.pem",
            "-days",
            "2",
            *extra,
            cwd=d,
        )
    return d


def test_dicom_tls_with_client_certificates(orthanc, client, acquisitions, tmp_path, pki):
    settings = _settings(
        orthanc, tls_cert=pki / "server.pem", tls_key=pki / "server.key", tls_ca=pki / "ca.pem", preview=False
    )

    def context(with_cert: bool):
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(pki / "ca.pem"))
        if with_cert:
            ctx.load_cert_chain(str(pki / "client.pem"), str(pki / "client.key"))
        return (ctx, "127.0.0.1")

    with Node(settings, store_root=tmp_path / "store", client=client) as node:
        assert modality_send(node.port, [acquisitions["multi"]]) == [None]  # plain TCP: no association
        assert modality_send(node.port, [acquisitions["multi"]], tls=context(False)) == [None]  # no client cert
        assert modality_send(node.port, [acquisitions["multi"]], tls=context(True)) == [0x0000]
        with open_queue(tmp_path / "store") as queue:
            assert len(queue.jobs()) == 1
