"""CAD in real workstation windows (Xvfb): marks on screen, toggle, next finding, background run + store."""

from __future__ import annotations

import numpy as np
import pytest

from cad.types import CaseResult, Finding
from tests.app.cad.conftest import make_bto
from tests.app.qt.conftest import image_to_array
from tests.dicom_validate import assert_dciodvfy_clean

pytestmark = pytest.mark.gui

ORANGE = np.array([255, 115, 38])  # MARK_COLORS["mass"]


def _shot(window, qvp) -> np.ndarray:
    """RGB of the VTK part of viewport widget ``qvp`` as the screen shows it."""
    from app.qt.application import grab_window

    window.render_all()
    shot = image_to_array(grab_window(window))
    view = qvp.vtk
    top_left = view.mapTo(window, view.rect().topLeft())
    y0 = top_left.y() + (window.frameGeometry().height() - window.height())
    x0 = top_left.x() + (window.frameGeometry().width() - window.width()) // 2
    return shot[y0 : y0 + view.height(), x0 : x0 + view.width()].astype(int)


def _orange_near(rgb, x, y, radius=22) -> int:
    h, w, _ = rgb.shape
    yy, xx = np.mgrid[:h, :w]
    near = (xx - x) ** 2 + (yy - y) ** 2 <= radius**2
    orange = np.abs(rgb - ORANGE).max(axis=2) < 60
    return int((orange & near).sum())


def _show(window, qtbot, study):
    from PySide6 import QtWidgets

    window.resize(1100, 760)
    qtbot.addWidget(window)
    window.add_studies([study])
    window.worklist_dock.hide()
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is window, timeout=3000)


def test_mark_drawn_at_the_finding_hidden_by_toggle_next_jumps_and_centres(qtbot):
    from PySide6 import QtCore, QtWidgets

    from app.model.demo import demo_study
    from app.qt.main_window import QtMainWindow

    QtWidgets.QApplication.instance().setProperty("crescent_no_dialogs", True)
    study = demo_study(shape=(16, 160, 224), pixel_mm=0.5)
    window = QtMainWindow()
    _show(window, qtbot, study)
    window.open_study(study, protocol_id="single")
    qvp = window.viewports[0]
    vp = qvp.state
    image = vp.image
    k, r, c = image.metadata["truth"]["mass"]
    result = CaseResult((Finding("mass", (k, r, c), (0, 0, 0), (8, 8, 4), 87, "m@1"),), 87, ("m@1",))
    window.cad.controller.set_result(image.uid, result)
    vp.slice_index = k
    rgb = _shot(window, qvp)
    x, y = qvp.vtk.view.image_to_display(r, c)
    assert _orange_near(rgb, x, y) > 30, "the mass mark is drawn where the finding is"
    h, w, _ = rgb.shape
    far_x = w - 1 - x if abs(w - 1 - 2 * x) > 100 else (x + w / 2) % w
    assert _orange_near(rgb, far_x, h - 1 - y) == 0
    vp.slice_index = 0  # 10 slices away: the mark is not on this slice
    assert _orange_near(_shot(window, qvp), x, y) == 0
    vp.slice_index = k
    qtbot.keyClick(window, QtCore.Qt.Key.Key_C)  # marks off
    assert not window.cad.controller.visible
    assert _orange_near(_shot(window, qvp), x, y) == 0
    qtbot.keyClick(window, QtCore.Qt.Key.Key_C)  # on again
    vp.slice_index = 0
    vp.zoom = 2.0
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Period)  # next finding: its slice, centred
    assert vp.slice_index == k
    rgb = _shot(window, qvp)
    h, w, _ = rgb.shape
    cx, cy = qvp.vtk.view.image_to_display(r, c)
    assert abs(cx - w / 2) < 2 and abs(cy - h / 2) < 2
    assert _orange_near(rgb, w / 2, h / 2) > 30
    window.close()


def test_cad_menu_runs_in_background_keeps_sr_in_store_and_worklist_score(qtbot, tmp_path):
    from PySide6 import QtWidgets

    from app.model.loading import worklist_from_store
    from app.qt.job_dialog import QtJobDialog
    from app.qt.main_window import QtMainWindow
    from app.store import Store

    QtWidgets.QApplication.instance().setProperty("crescent_no_dialogs", True)
    bto = tmp_path / "in" / "l_cc.dcm"
    bto.parent.mkdir()
    make_bto(bto, laterality="L", view="CC", bright=None, blob=(3, 24, 30, 6.0, 0.02), voxel_mm=(1.0, 0.5, 0.5))
    window = QtMainWindow()
    _show(window, qtbot, _empty_study())
    window.cad.models = "classical"
    window.load_paths([bto])
    study = window.session.study
    index = next(i for i, vp in enumerate(window.session.viewports) if vp.image is not None)
    window.session.set_active(index)
    window.cad.actions["cad_run"].trigger()  # the menu action: a background job with a progress dialog
    job, dialog = window.jobs[-1]
    assert job.title.startswith("CAD") and isinstance(dialog, QtJobDialog)
    qtbot.waitUntil(lambda: window.cad.last_run is not None, timeout=30000)
    run = window.cad.last_run
    assert job.state == "done" and job.last_progress[1] >= 1  # it reported progress
    assert run.result.findings and run.sr_path is not None
    assert_dciodvfy_clean(run.sr_path)
    marks = [it for it in window.session.viewports[index].overlays if it.source == "cad"]
    shown = [f for f in run.result.findings if f.score >= window.cad.controller.min_score]
    assert window.cad.controller.min_score == 40.0  # the default operating point
    assert 0 < len(shown) < len(run.result.findings)  # weak findings are not marked
    assert len(marks) == len(shown) + 1  # + the case score
    window.cad.actions["cad_all"].trigger()  # Shift+C: every finding
    marks = [it for it in window.session.viewports[index].overlays if it.source == "cad"]
    assert len(marks) == len(run.result.findings) + 1
    ui = getattr(window, "findings_ui", None)
    if ui is not None:  # the findings panel lists the marks for accept/dismiss
        qtbot.waitUntil(lambda: len(ui.findings.cad_marks) == len(run.result.findings), timeout=3000)
    entry = next(e for e in window.worklist_model.entries if e.study_uid == study.study_uid)
    assert entry.score == pytest.approx(run.result.case_score)
    with Store.open() as store:
        (rec,) = store.derived(kind="cad")
        assert rec.path == run.sr_path
        assert rec.parameters["case_score"] == pytest.approx(run.result.case_score, abs=1e-3)
    window.close()

    # a new session: the worklist shows the stored case score; opening the study shows the marks
    window = QtMainWindow(worklist=worklist_from_store())
    qtbot.addWidget(window)
    (entry,) = window.worklist_model.entries
    assert entry.score == pytest.approx(run.result.case_score, abs=1e-3)
    window.worklist_model.sort_by("score")
    assert window.worklist_model.sort_column == "score" and window.worklist_model.sort_descending
    window.open_study_uid(study.study_uid)
    vp = next(vp for vp in window.session.viewports if vp.image is not None)
    marks = [it for it in vp.overlays if it.source == "cad"]
    assert len(marks) == len(shown) + 1  # at the operating point again
    window.close()


def _empty_study():
    from app.model.study import Study

    return Study(images=[], patient_name="nobody", study_uid="2.25.42", source="empty")
