"""PACS networking against a real Orthanc on loopback: echo, send, find, retrieve (C-MOVE and C-GET), errors."""

from __future__ import annotations

import io
import socket
from dataclasses import replace

import pydicom
import pytest
from pydicom.uid import RLELossless, generate_uid

from app.cli import main
from app.config import Config, LocalAE, Peer, save_config
from app.dicom.net import PacsError, echo, find_series, find_studies, retrieve, send
from app.errors import InputError
from app.store import Store
from tests.app.store.factory import tiny_dm, write, write_study
from tests.orthanc import free_port, running_orthanc

SCP_PORT = free_port()
LOCAL = LocalAE(ae_title="CRESCENT", host="127.0.0.1", port=SCP_PORT, timeout_s=10)


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    with running_orthanc(
        tmp_path_factory.mktemp("orthanc"), modalities={"crescent": ("CRESCENT", "127.0.0.1", SCP_PORT)}
    ) as server:
        yield server


@pytest.fixture(scope="module")
def peer(orthanc):
    return Peer("orthanc", orthanc.aet, orthanc.host, orthanc.dicom_port)


@pytest.fixture(scope="module")
def sent(orthanc, peer, tmp_path_factory):
    """One study of 6 uncompressed images in 2 series plus one RLE-compressed image, sent to Orthanc."""
    folder = tmp_path_factory.mktemp("sent")
    study_uid, paths = write_study(folder, n_files=6, patient_id="PACS1")
    rle = tiny_dm(study_uid=study_uid, series_uid=generate_uid(), patient_id="PACS1", rows=16, columns=12, seed=42)
    rle.compress(RLELossless)
    paths.append(write(rle, folder / "rle.dcm"))
    result = send(peer, paths, local=LOCAL)
    assert (result.sent, result.errors) == (7, [])
    return study_uid, paths


def _by_sop(paths):
    return {pydicom.dcmread(p).SOPInstanceUID: p for p in paths}


def _assert_bit_exact(store_files, originals):
    """Each retrieved file's pixel data (native or encapsulated) equals the original's, byte for byte."""
    original = _by_sop(originals)
    assert len(store_files) == len(original)
    for path in store_files:
        got = pydicom.dcmread(path)
        want = pydicom.dcmread(original[got.SOPInstanceUID])
        assert got.file_meta.TransferSyntaxUID == want.file_meta.TransferSyntaxUID
        assert got.PixelData == want.PixelData
        assert (got.pixel_array == want.pixel_array).all()


def test_echo(peer):
    assert 0 < echo(peer, local=LOCAL) < 10


def test_send_puts_the_files_in_orthanc_unchanged(orthanc, sent):
    study_uid, paths = sent
    assert set(_by_sop(paths)) <= orthanc.instance_uids()
    for path in (paths[0], paths[-1]):  # uncompressed, and RLE: Orthanc keeps what it was sent
        want = pydicom.dcmread(path)
        got = pydicom.dcmread(io.BytesIO(orthanc.file_bytes(want.SOPInstanceUID)))
        assert got.file_meta.TransferSyntaxUID == want.file_meta.TransferSyntaxUID
        assert got.PixelData == want.PixelData


def test_find_studies_and_series(peer, sent):
    study_uid, _ = sent
    (match,) = find_studies(peer, local=LOCAL, patient_id="PACS1")
    assert match.study_uid == study_uid and match.patient_name == "Doe^Jane" and match.modalities == ("MG",)
    assert (match.series_count, match.instance_count, match.study_date) == (3, 7, "20240115")
    assert find_studies(peer, local=LOCAL, patient_id="NOBODY") == []
    assert [m.study_uid for m in find_studies(peer, local=LOCAL, patient_name="DOE*", study_date="20240101-")] == [
        study_uid
    ]
    series = find_series(peer, study_uid, local=LOCAL)
    assert sorted(s.instance_count for s in series) == [1, 3, 3]


@pytest.mark.parametrize("method", ["move", "get"])
def test_retrieve_into_the_store_bit_exact(peer, sent, tmp_path, method):
    study_uid, paths = sent
    progress = []
    with Store.open(tmp_path / "store") as store:
        result = retrieve(
            peer, study_uid, store=store, local=LOCAL, method=method, progress=lambda *a: progress.append(a)
        )
        assert (result.received, result.added, result.failed, result.errors) == (7, 7, 0, [])
        files = store.files(study_uid)
        assert all(p.is_relative_to(store.root / "files" / study_uid) for p in files)
        assert {i.origin for i in store.instances()} == {"received"}
        _assert_bit_exact(files, paths)
        (summary,) = store.studies()
        assert (summary.study_uid, summary.instance_count, summary.series_count) == (study_uid, 7, 3)
        again = retrieve(peer, study_uid, store=store, local=LOCAL, method=method)
        assert (again.received, again.added, again.duplicates) == (7, 0, 7)
        assert store.counts()["instances"] == 7 and store.check() == []
    if method == "move":
        assert progress and progress[-1][0] <= progress[-1][1]


def test_retrieve_one_series_by_get(peer, sent, tmp_path):
    study_uid, paths = sent
    series = find_series(peer, study_uid, local=LOCAL)
    one = next(s for s in series if s.instance_count == 3)
    with Store.open(tmp_path / "store") as store:
        result = retrieve(peer, study_uid, store=store, local=LOCAL, series_uid=one.series_uid, method="get")
        assert result.added == 3 and {i.series_uid for i in store.instances()} == {one.series_uid}


def test_send_reports_unreadable_files_and_sends_the_rest(peer, tmp_path):
    _, (good,) = write_study(tmp_path, n_files=1, patient_id="PACS2")
    bad = tmp_path / "bad.dcm"
    bad.write_text("not dicom")
    result = send(peer, [good, bad], local=LOCAL)
    assert result.sent == 1
    (line,) = result.errors
    assert "bad.dcm" in line and "not a DICOM file" in line


# ------------------------------------------------------------------ errors: one line each


def test_wrong_called_ae_title_is_rejected(peer):
    with pytest.raises(PacsError, match="association rejected.*Called AE title.*'WRONG'") as info:
        echo(replace(peer, ae_title="WRONG"), local=LOCAL)
    assert "\n" not in str(info.value)


def test_unknown_calling_ae_may_not_query(peer):
    with pytest.raises(PacsError) as info:
        find_studies(peer, local=replace(LOCAL, ae_title="STRANGER"))
    assert "orthanc" in str(info.value) and "'STRANGER'" in str(info.value) and "\n" not in str(info.value)


def test_refused_connection():
    port = free_port()  # nothing listens there
    with pytest.raises(PacsError, match=f"127.0.0.1:{port}.*connection refused"):
        echo(Peer("gone", "GONE", "127.0.0.1", port), local=LOCAL)


def test_silent_peer_times_out():
    with socket.socket() as silent:  # accepts TCP connections, never speaks DICOM
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        with pytest.raises(PacsError, match="no answer to the association request within 1 s"):
            echo(Peer("silent", "SILENT", "127.0.0.1", port), local=replace(LOCAL, timeout_s=1))


def test_scp_port_in_use_for_move(peer, sent, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        local = replace(LOCAL, port=taken.getsockname()[1])
        with Store.open(tmp_path / "s") as store, pytest.raises(PacsError, match="cannot listen on 127.0.0.1"):
            retrieve(peer, sent[0], store=store, local=local, method="move")


def test_get_of_an_unknown_study_is_bad_input(peer, tmp_path):
    with Store.open(tmp_path / "s") as store, pytest.raises(InputError, match="has no instances of study 1.2.3.4"):
        retrieve(peer, "1.2.3.4", store=store, local=LOCAL, method="get")


# ------------------------------------------------------------------ the command line


def test_cli_echo_find_retrieve_send(orthanc, sent, tmp_path, capsys):
    study_uid, _ = sent
    save_config(Config(local=LOCAL).with_peer(Peer("o", orthanc.aet, orthanc.host, orthanc.dicom_port)))
    assert main(["pacs", "echo", "o"]) == 0
    assert main(["pacs", "echo", f"{orthanc.aet}@127.0.0.1:{orthanc.dicom_port}"]) == 0
    assert main(["pacs", "find", "o", "--patient-id", "PACS1"]) == 0
    assert study_uid in capsys.readouterr().out
    store = str(tmp_path / "store")
    assert main(["--store", store, "pacs", "retrieve", "o", study_uid, "--method", "get", "-q"]) == 0
    assert "retrieved 7 objects by C-GET (7 new" in capsys.readouterr().out
    # send a study back from the store by its UID: Orthanc already has it, and accepts it again
    assert main(["--store", store, "pacs", "send", "o", study_uid, "-q"]) == 0
    assert "sent 7 files, 0 failed" in capsys.readouterr().out
    assert main(["--store", store, "pacs", "send", "o", study_uid, "--derived", "-q"]) == 2  # it has none
    assert "nothing to send" in capsys.readouterr().err
    assert main(["pacs", "echo", "nowhere"]) == 2
    assert main(["pacs", "--timeout", "2", "echo", f"X@127.0.0.1:{free_port()}"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "unknown PACS peer 'nowhere'" in err[0] and "connection refused" in err[1]


# ------------------------------------------------------------------ the DBT objects Crescent writes


def test_dbt_objects_index_send_and_come_back_bit_exact(orthanc, peer, tmp_path):
    """Projections (Breast Projection For Processing), a BTO and a synthetic 2D made by app.dicom's
    writers: indexed with the right worklist attributes, linked as derived, sent, retrieved by C-GET."""
    from app.dicom import PatientStudy, write_projection_set, write_synthetic_2d, write_tomosynthesis
    from tests.app.dicom.conftest import make_projections, make_volume

    study = PatientStudy(patient_name="Tomo^Tess", patient_id="DBT-1", laterality="L", view="MLO")
    projections = make_projections(n_views=9)
    volume = make_volume(projections.geometry)
    with Store.open(tmp_path / "a") as store:
        made = store.root / "derived" / study.study_instance_uid
        made.mkdir(parents=True)
        proj = write_projection_set(projections, tmp_path / "proj.dcm", study=study)
        bto = write_tomosynthesis(volume, made / "bto.dcm", study=study, projections=projections, source=proj)
        syn = write_synthetic_2d(volume.data.max(axis=0), made / "syn.dcm", study=study, pixel_mm=0.5, source=bto)
        store.add_file(proj.path)
        vol = store.add_derived("volume", bto.path, sources=[proj.sop_instance_uid], software="crescent test")
        store.add_derived("synthetic2d", syn.path, source_ids=[vol.id])
        frames = {i.sop_class_uid: (i.frames, i.laterality, i.view, i.origin) for i in store.instances()}
        assert frames == {
            proj.sop_class_uid: (9, "L", "MLO", "imported"),
            bto.sop_class_uid: (volume.data.shape[0], "L", "MLO", "made"),
            syn.sop_class_uid: (1, "L", "MLO", "made"),
        }
        assert store.studies()[0].views == ("LMLO",)
        result = send(peer, store.files(study.study_instance_uid), local=LOCAL)
        assert (result.sent, result.errors) == (3, [])
        originals = store.files(study.study_instance_uid)
    with Store.open(tmp_path / "b") as other:
        got = retrieve(peer, study.study_instance_uid, store=other, local=LOCAL, method="get")
        assert (got.added, got.errors) == (3, [])
        _assert_bit_exact(other.files(study.study_instance_uid), originals)
