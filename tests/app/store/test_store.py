"""The study store on a real SQLite file: schema, migrations, records, derived objects, status."""

from __future__ import annotations

import json
import sqlite3
import threading

import pytest
from pydicom.uid import generate_uid

from app.errors import InputError
from app.store import (
    DB_NAME,
    MigrationError,
    Store,
    StoreError,
    UnknownStudyError,
    default_store_dir,
    resolve_store_dir,
)
from app.store.migrate import Migration, available_migrations, migrate, split_statements
from tests.app.store.factory import tiny_dm, write, write_study


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "store") as s:
        yield s


# ------------------------------------------------------------------ location


def test_store_dir_follows_crescent_home_then_user_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CRESCENT_HOME", str(tmp_path / "home"))
    assert default_store_dir() == tmp_path / "home"
    assert resolve_store_dir(None) == tmp_path / "home"
    assert resolve_store_dir(tmp_path / "explicit") == tmp_path / "explicit"  # --store wins
    monkeypatch.delenv("CRESCENT_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_store_dir() == tmp_path / "xdg" / "crescent"


def test_open_creates_wal_database_with_foreign_keys(tmp_path):
    with Store.open(tmp_path / "s") as store:
        assert store.db_path == tmp_path / "s" / DB_NAME
        conn = store.connection
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
        assert versions[0] == 1 and versions == sorted(versions)
        with pytest.raises(sqlite3.IntegrityError):  # foreign keys are enforced
            conn.execute("INSERT INTO studies (study_uid, patient) VALUES ('1.2.3', 999)")
    with Store.open(tmp_path / "s") as again:  # reopening applies nothing twice
        assert again.counts() == {"patients": 0, "studies": 0, "series": 0, "instances": 0, "derived": 0}


def test_open_refuses_a_file_that_is_not_a_store(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / DB_NAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match=DB_NAME):
        Store.open(tmp_path / "s")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(StoreError, match="must be a folder"):
        Store.open(tmp_path / "afile")


# ------------------------------------------------------------------ migrations


def _conn(path):
    return sqlite3.connect(path, isolation_level=None)


def test_shipped_migrations_are_numbered_and_core_comes_first():
    migrations = available_migrations()
    assert migrations[0].version == 1 and migrations[0].name == "core"
    assert [m.version for m in migrations] == sorted({m.version for m in migrations})


def test_migrations_apply_in_order_once_and_a_failed_one_leaves_no_trace(tmp_path):
    conn = _conn(tmp_path / "m.sqlite")
    first = [Migration(1, "a", "CREATE TABLE a (x INTEGER);"), Migration(2, "b", "INSERT INTO a VALUES (7);")]
    assert migrate(conn, first) == [1, 2]
    assert migrate(conn, first) == []
    bad = Migration(3, "bad", "CREATE TABLE c (y INTEGER);\nINSERT INTO nowhere VALUES (1);")
    with pytest.raises(MigrationError, match="003_bad.sql"):
        migrate(conn, [*first, bad])
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "c" not in tables  # rolled back with the failure
    assert {r[0] for r in conn.execute("SELECT version FROM schema_migrations")} == {1, 2}
    with pytest.raises(MigrationError, match="newer"):
        migrate(conn, first[:1])  # the store knows 002, this "program" does not


def test_split_statements_keeps_triggers_whole():
    sql = """
    -- a comment
    CREATE TABLE t (x);
    CREATE TRIGGER tr AFTER INSERT ON t BEGIN
        UPDATE t SET x = x + 1;
        SELECT 1;
    END;
    """
    statements = split_statements(sql)
    assert len(statements) == 2 and statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")


# ------------------------------------------------------------------ instances and studies


def test_add_file_indexes_what_the_worklist_needs(store, tmp_path):
    study_uid, paths = write_study(tmp_path / "src", n_files=4, patient_id="P7")
    outcomes = [store.add_file(p) for p in paths]
    assert [o.status for o in outcomes] == ["added"] * 4
    assert outcomes[0].new_study and not any(o.new_study for o in outcomes[1:])
    (summary,) = store.studies()
    assert summary.study_uid == study_uid
    assert (summary.patient_id, summary.patient_name, summary.study_date) == ("P7", "Doe^Jane", "20240115")
    assert summary.description == "Screening mammography" and summary.accession == "AP7"
    assert summary.modalities == ("MG",) and summary.manufacturers == ("Crescent Test",)
    assert summary.views == ("LCC", "LMLO", "RCC", "RMLO")
    assert (summary.series_count, summary.instance_count, summary.status) == (2, 4, "unread")
    detail = store.study(study_uid)
    assert [len(s.instances) for s in detail.series] == [2, 2]
    inst = store.instance(outcomes[0].sop_instance_uid)
    assert inst.path == paths[0] and inst.origin == "imported" and inst.frames == 1
    assert (inst.rows, inst.columns, inst.laterality, inst.view) == (4, 4, "L", "CC")
    assert inst.presentation_intent == "FOR PRESENTATION" and inst.image_type == "ORIGINAL\\PRIMARY"
    assert store.files(study_uid) == [paths[0], paths[2], paths[1], paths[3]]  # series by series, by number
    assert store.check() == []


def test_duplicates_are_skipped_and_moved_files_relocated(store, tmp_path):
    _, (path,) = write_study(tmp_path / "a", n_files=1)
    assert store.add_file(path).status == "added"
    copy = tmp_path / "b" / "copy.dcm"
    copy.parent.mkdir()
    copy.write_bytes(path.read_bytes())
    assert store.add_file(copy).status == "duplicate"  # same SOP Instance UID, original still there
    assert store.instances()[0].path == path
    path.unlink()
    assert store.add_file(copy).status == "relocated"  # the recorded file is gone: point at the copy
    assert store.instances()[0].path == copy
    assert store.counts()["instances"] == 1


def test_frame_laterality_wins_and_non_images_have_no_frames(store, tmp_path):
    from pydicom.dataset import Dataset

    ds = tiny_dm(study_uid=generate_uid(), series_uid=generate_uid(), laterality="R")
    anatomy = Dataset()
    anatomy.FrameLaterality = "L"
    shared = Dataset()
    shared.FrameAnatomySequence = [anatomy]
    ds.SharedFunctionalGroupsSequence = [shared]
    ds.NumberOfFrames = 1
    store.add_file(write(ds, tmp_path / "x.dcm"))
    assert store.instances()[0].laterality == "L"
    sr = tiny_dm(study_uid=generate_uid(), series_uid=generate_uid())
    for keyword in ("Rows", "Columns", "PixelData", "BitsAllocated", "BitsStored", "HighBit"):
        delattr(sr, keyword)
    sr.SOPClassUID = sr.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.88.50"
    store.add_file(write(sr, tmp_path / "sr.dcm"))
    assert store.instance(sr.SOPInstanceUID).frames == 0


def test_bad_files_raise_one_line_naming_file_and_attribute(store, tmp_path):
    (tmp_path / "notdicom.txt").write_text("hello")
    with pytest.raises(InputError, match=r"notdicom.txt: not a DICOM file"):
        store.add_file(tmp_path / "notdicom.txt")
    ds = tiny_dm(study_uid=generate_uid(), series_uid=generate_uid())
    del ds.SeriesInstanceUID
    path = write(ds, tmp_path / "noseries.dcm")
    with pytest.raises(InputError, match=r"noseries.dcm: missing SeriesInstanceUID") as info:
        store.add_file(path)
    assert "\n" not in str(info.value)
    assert store.counts()["instances"] == 0


def test_worklist_filters_and_status(store, tmp_path):
    uid_a, paths_a = write_study(tmp_path / "a", n_files=2, patient_id="ALPHA")
    uid_b, paths_b = write_study(tmp_path / "b", n_files=2, patient_id="BETA")
    for p in paths_a + paths_b:
        store.add_file(p)
    store.connection.execute("UPDATE studies SET study_date = '20230301' WHERE study_uid = ?", (uid_a,))
    assert [s.study_uid for s in store.studies()] == [uid_b, uid_a]  # newest first
    assert [s.study_uid for s in store.studies(text="alp")] == [uid_a]
    assert [s.study_uid for s in store.studies(patient_id="BETA")] == [uid_b]
    assert [s.study_uid for s in store.studies(date_from="20240101")] == [uid_b]
    assert [s.study_uid for s in store.studies(date_to="20231231")] == [uid_a]
    assert len(store.studies(limit=1)) == 1
    store.set_status(uid_a, "reported", by="Dr Who")
    (a,) = store.studies(status="reported")
    assert a.study_uid == uid_a and a.status_by == "Dr Who" and a.status_at
    assert [s.study_uid for s in store.studies(status="unread")] == [uid_b]
    with pytest.raises(ValueError):
        store.set_status(uid_a, "done")
    with pytest.raises(UnknownStudyError, match="1.2.3.4"):
        store.set_status("1.2.3.4", "read")
    with pytest.raises(UnknownStudyError):
        store.study("1.2.3.4")


def test_transaction_is_all_or_nothing(store, tmp_path):
    _, paths = write_study(tmp_path / "a", n_files=3)
    with pytest.raises(RuntimeError), store.transaction():
        for p in paths:
            store.add_file(p)
        raise RuntimeError("boom")
    assert store.counts() == {"patients": 0, "studies": 0, "series": 0, "instances": 0, "derived": 0}
    with store.transaction():
        store.add_file(paths[0])
        with pytest.raises(RuntimeError), store.transaction():  # a nested failure rolls back only itself
            store.add_file(paths[1])
            raise RuntimeError("inner")
        store.add_file(paths[2])
    assert store.counts()["instances"] == 2


def test_a_reader_in_another_connection_is_not_blocked_by_a_writer(tmp_path):
    _, paths = write_study(tmp_path / "a", n_files=2)
    with Store.open(tmp_path / "s") as writer, Store.open(tmp_path / "s") as reader:
        writer.add_file(paths[0])
        with writer.transaction():
            writer.add_file(paths[1])
            seen = []
            t = threading.Thread(target=lambda: seen.append(_count_in_thread(tmp_path / "s")))
            t.start()
            t.join(timeout=10)
            assert seen == [1]  # WAL: the reader sees the last commit, without waiting
        assert reader.counts()["instances"] == 2


def _count_in_thread(root):
    with Store.open(root, timeout_s=0) as s:
        return s.counts()["instances"]


# ------------------------------------------------------------------ derived objects


def test_derived_objects_link_to_their_sources(store, tmp_path):
    study_uid, paths = write_study(tmp_path / "src", n_files=2)
    sources = [store.add_file(p).sop_instance_uid for p in paths]
    volume_ds = tiny_dm(study_uid=study_uid, series_uid=generate_uid(), seed=99)
    volume_path = write(
        volume_ds, store.received_path(study_uid, volume_ds.SeriesInstanceUID, volume_ds.SOPInstanceUID)
    )
    volume = store.add_derived(
        "volume", volume_path, sources=sources, software="crescent 0.1", parameters={"algorithm": "fbp"}
    )
    assert volume.sop_instance_uid == volume_ds.SOPInstanceUID and volume.study_uid == study_uid
    assert set(volume.source_uids) == set(sources) and volume.parameters == {"algorithm": "fbp"}
    assert store.instance(volume_ds.SOPInstanceUID).origin == "made"  # inside the store folder
    cad_json = store.derived_path(study_uid, "cad.json")
    cad_json.write_text(json.dumps({"findings": []}))
    cad = store.add_derived("cad", cad_json, study_uid=study_uid, source_ids=[volume.id], description="CAD")
    assert cad.sop_instance_uid == "" and cad.source_ids == (volume.id,) and cad.path == cad_json
    detail = store.study(study_uid)
    assert [d.kind for d in detail.derived] == ["volume", "cad"]
    assert [d.id for d in store.derived(kind="cad")] == [cad.id]
    with pytest.raises(ValueError, match="study_uid is required"):
        store.add_derived("report", cad_json)
    with pytest.raises(UnknownStudyError, match="source instance"):
        store.add_derived("report", cad_json, study_uid=study_uid, sources=["1.2.3.4.5"])
    with pytest.raises(ValueError, match="kind"):
        store.add_derived("hologram", cad_json, study_uid=study_uid)
    assert len(store.derived()) == 2  # the failed ones left nothing behind
    assert store.check() == []


def test_remove_study_deletes_only_files_the_store_owns(store, tmp_path):
    study_uid, paths = write_study(tmp_path / "src", n_files=2)
    for p in paths:
        store.add_file(p)
    report = store.derived_path(study_uid, "report.pdf")
    report.write_bytes(b"%PDF-1.4 fake")
    store.add_derived("report", report, study_uid=study_uid)
    assert store.remove_study(study_uid) == 1
    assert not report.exists() and all(p.exists() for p in paths)  # imported files stay where they lie
    assert store.counts() == {"patients": 0, "studies": 0, "series": 0, "instances": 0, "derived": 0}
    assert store.check() == []


def test_paths_inside_the_store_are_stored_relative_so_the_folder_can_move(tmp_path):
    study_uid, series_uid, sop_uid = generate_uid(), generate_uid(), generate_uid()
    with Store.open(tmp_path / "s1") as store:
        path = write(
            tiny_dm(study_uid=study_uid, series_uid=series_uid, sop_uid=sop_uid),
            store.received_path(study_uid, series_uid, sop_uid),
        )
        store.add_file(path, origin="received")
    (tmp_path / "s1").rename(tmp_path / "s2")
    with Store.open(tmp_path / "s2") as moved:
        (inst,) = moved.instances()
        assert inst.path == tmp_path / "s2" / "files" / study_uid / series_uid / f"{sop_uid}.dcm"
        assert inst.path.exists()


def test_path_helpers_reject_bad_input(store):
    with pytest.raises(ValueError):
        store.received_path("../etc", "1.2", "1.3")
    with pytest.raises(ValueError):
        store.derived_path("1.2.3", "../x.pdf")
