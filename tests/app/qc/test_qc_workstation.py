"""QC from the workstation: the background run on a real DICOM exam and a real store (no Qt), then the
QC menu of the main window in a real Xvfb window: the dropped projection flagged in the list, a
reject writing a dciodvfy-clean KOS into the store and the decision recorded."""

from __future__ import annotations

import threading

import pytest

from app.dicom.kos_reject import read_reject_kos
from app.errors import InputError
from app.model.qc_runs import decision_recorder, device_trends, projection_choices, qc_task
from app.model.qc_session import QCSessionModel
from app.store import qc as qcstore
from app.store.store import Store
from recon.errors import Cancelled
from tests.app.qc.exam_folder import DROPPED, write_exam_folder
from tests.dicom_validate import assert_dciodvfy_clean


@pytest.fixture(scope="module")
def exam(tmp_path_factory):
    return write_exam_folder(tmp_path_factory.mktemp("exam") / "RCC")


def _run_job(fn):
    events = []
    cancel = threading.Event()
    result = fn(lambda d, t, m="": events.append((d, t, m)), cancel, lambda n, v: None)
    return result, events


def test_run_keeps_the_session_and_a_reject_writes_the_kos(exam, tmp_path):
    choices = projection_choices([exam["projections"].parent])
    assert [(c.laterality, c.view) for c in choices] == [("R", "CC")]
    assert choices[0].files == (exam["projections"],)
    store_dir = tmp_path / "store"
    run, events = _run_job(qc_task(choices[0].files, store_dir=store_dir))
    # progress: reading, one step per check, done; never backwards within the checks
    assert events[0][2] == "reading the projections" and events[-1][:2] == (1, 1)
    names = [m for _, _, m in events]
    assert "projection count" in names and "motion" in names
    assert run.report.check("projection_count").status == "fail"
    assert run.report.check("projection_count").views == (DROPPED - 1, DROPPED)
    assert run.study_uid == exam["study_uid"] and run.session_id is not None
    assert run.trends and all(k.endswith("(acquisition)") for k in run.trends)
    model = QCSessionModel(run.projections, run.report, on_decision=decision_recorder(run, store_dir=store_dir))
    assert model.flags(DROPPED) == ["projection_count"] and model.flags(0) == []
    d = model.reject(reason="equipment", text="projection missing at -1.07 deg", by="Roe^Ann")
    kos = model.decision_record["kos"]
    assert kos.is_file() and kos.is_relative_to(store_dir)
    assert_dciodvfy_clean(kos)
    rec = read_reject_kos(kos)
    assert rec.reason == "equipment" and rec.observer == "Roe^Ann"
    assert rec.referenced_sop_instance_uids == (exam["projection_sop_uid"],)
    with Store.open(store_dir) as st:
        s = qcstore.session(st.connection, run.session_id)
        assert (s.decision, s.decision_reason, s.decided_by) == ("rejected", "equipment", "Roe^Ann")
        assert s.kos_sop_instance_uid == rec.sop_instance_uid and s.study_uid == exam["study_uid"]
        derived = st.derived(study_uid=exam["study_uid"], kind="qc")
        assert [r.path for r in derived] == [kos] and tuple(derived[0].source_uids) == (exam["projection_sop_uid"],)
        assert qcstore.reject_analysis(st.connection)["reasons"] == {"equipment": 1}
        # a second run of the same device: the trend has two points
        assert d.decision == "rejected"
    run2, _ = _run_job(qc_task(choices[0].files, store_dir=store_dir))
    with Store.open(store_dir) as st:
        trends = device_trends(st.connection, run2.device)
    assert len(trends["projection_count (acquisition)"]) == 2
    model2 = QCSessionModel(run2.projections, run2.report, on_decision=decision_recorder(run2, store_dir=store_dir))
    assert model2.accept(by="Roe^Ann").decision == "accepted" and model2.decision_record["kos"] is None


def test_cancel_and_bad_input(exam, tmp_path):
    cancel = threading.Event()
    cancel.set()
    fn = qc_task([exam["projections"]], store=False)
    with pytest.raises(Cancelled):
        fn(lambda *a: None, cancel, lambda n, v: None)
    with pytest.raises(InputError, match="no DBT projection set"):
        projection_choices([exam["projections"].parent / "recon.dcm"])
    with pytest.raises(InputError, match="no files"):
        projection_choices([])


@pytest.mark.gui
def test_qc_menu_flags_the_dropped_projection_and_reject_writes_a_kos(exam, qtbot, tmp_path):
    from PySide6 import QtWidgets

    from app.qt.application import save_screenshot
    from app.qt.main_window import QtMainWindow

    QtWidgets.QApplication.instance().setProperty("crescent_no_dialogs", True)
    store_dir = tmp_path / "store"
    window = QtMainWindow(store_dir=store_dir, reader="Roe^Ann")
    qtbot.addWidget(window)
    qc = window.qc  # installed by the window itself
    menu = window.menuBar().findChild(QtWidgets.QMenu, "qc_menu")
    assert menu is not None and [a.shortcut().toString() for a in menu.actions()] == ["Ctrl+Shift+Q", "Ctrl+Alt+Q"]
    window.resize(1000, 700)
    window.show()
    qtbot.waitExposed(window)
    window.load_paths([exam["projections"].parent])  # hangs the reconstruction; the projections are not rebuilt
    assert window.session.study is not None and not window.jobs
    qc.actions["qc_open_study"].trigger()  # what Ctrl+Shift+Q does
    qtbot.waitUntil(lambda: qc.mode is not None, timeout=60000)
    mode = qc.mode.mode
    qtbot.waitExposed(qc.mode)
    assert "FAIL" in qc.mode.windowTitle() and "R CC" in qc.mode.windowTitle()
    rows = [mode.flags.item(i).text() for i in range(mode.flags.count())]
    assert len(rows) == 14
    assert rows[DROPPED].endswith("projection_count") and rows[DROPPED - 1].endswith("projection_count")
    assert all(r.endswith("ok") for i, r in enumerate(rows) if i not in (DROPPED - 1, DROPPED))
    mode.flags.setCurrentRow(DROPPED)
    assert mode.cine.slider.value() == DROPPED and "projection_count" in mode.cine.caption.text()
    assert mode.who.text() == "Roe^Ann" and mode.trend_choice.count() > 0
    mode.reason.setCurrentText("equipment")
    mode.reason_text.setText("projection missing between 5 and 6")
    shot = save_screenshot(qc.mode, tmp_path / "qc_mode_in_workstation.png")
    mode.reject_button.click()
    kos = mode.model.decision_record["kos"]
    assert "KOS" in mode.status.text() and mode.status.toolTip() == str(kos)
    assert_dciodvfy_clean(kos)
    assert read_reject_kos(kos).referenced_sop_instance_uids == (exam["projection_sop_uid"],)
    with Store.open(store_dir) as st:
        s = qcstore.session(st.connection, qc.last_run.session_id)
        assert s.decision == "rejected" and s.decision_reason == "equipment"
    assert shot
    window.close()
