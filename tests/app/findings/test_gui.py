"""Findings GUI in real windows (Xvfb): place, describe and measure a finding; assessment; CAD decisions."""

from __future__ import annotations

import numpy as np
import pytest

from app.model.annotation import AnnotationController, ImageInfo
from app.model.findings import FindingsSession

from .helpers import STUDY, cad_mark, session_with_geometry

pytestmark = pytest.mark.gui


@pytest.fixture
def image():
    rr, cc = np.mgrid[:160, :120]
    img = 0.2 + 0.05 * np.random.default_rng(3).standard_normal((160, 120))
    img += np.exp(-((rr - 60) ** 2 + (cc - 50) ** 2) / 60.0)
    return img.astype(np.float32)


def _mouse(widget, kind, pos, buttons):
    from PySide6 import QtCore, QtGui, QtWidgets

    types = {
        "press": QtCore.QEvent.Type.MouseButtonPress,
        "move": QtCore.QEvent.Type.MouseMove,
        "release": QtCore.QEvent.Type.MouseButtonRelease,
    }
    left = QtCore.Qt.MouseButton.LeftButton
    button = QtCore.Qt.MouseButton.NoButton if kind == "move" else left
    held = left if kind in ("press", "move") else QtCore.Qt.MouseButton.NoButton
    ev = QtGui.QMouseEvent(
        types[kind],
        QtCore.QPointF(pos),
        QtCore.QPointF(widget.mapToGlobal(pos)),
        button,
        held,
        QtCore.Qt.KeyboardModifier.NoModifier,
    )
    QtWidgets.QApplication.sendEvent(widget, ev)


def test_place_describe_and_measure(qtbot, image, tmp_path):
    from PySide6 import QtWidgets

    from app.qt.annotation_canvas import QtAnnotationCanvas
    from app.qt.application import save_screenshot
    from app.qt.findings_panel import QtFindingsPanel

    s = session_with_geometry()
    ctl = AnnotationController(s)
    info = ImageInfo("1.2.826.0.1.3680043.8.498.11", "R", "CC", (0.5, 0.5))
    win = QtWidgets.QWidget()
    lay = QtWidgets.QHBoxLayout(win)
    canvas = QtAnnotationCanvas(ctl, image, info, frame=4)
    panel = QtFindingsPanel(s, ctl)
    lay.addWidget(canvas, 2)
    lay.addWidget(panel, 1)
    win.resize(1100, 760)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    # drag an ellipse box from image (row 50, col 40) to (70, 60): 20 x 20 px at 0.5 mm
    a, b = canvas.to_widget(50, 40), canvas.to_widget(70, 60)
    _mouse(canvas, "press", a, None)
    _mouse(canvas, "move", (a + b) / 2, None)
    _mouse(canvas, "move", b, None)
    _mouse(canvas, "release", b, None)
    qtbot.waitUntil(lambda: panel.list.count() == 1)
    (f,) = s.findings
    assert f.marks[0].frame == 4 and f.marks[0].size_mm == pytest.approx(10.0, abs=0.2)
    assert "10 x 10 mm" in panel.list.item(0).text()
    form = panel.form
    qtbot.waitUntil(lambda: form.finding_id == f.id and "margin" in form.combos)
    # only the descriptors of a mass, and only valid terms
    assert set(form.combos) == {"shape", "margin", "density", "change_since_prior"}
    margins = [form.combos["margin"].itemData(i) for i in range(1, form.combos["margin"].count())]
    assert margins == ["circumscribed", "obscured", "microlobulated", "indistinct", "spiculated"]
    assert "calcifications" in form.checks["associated_features"]
    form.combos["margin"].setCurrentIndex(form.combos["margin"].findData("spiculated"))
    form.combos["shape"].setCurrentIndex(form.combos["shape"].findData("irregular"))
    qtbot.waitUntil(lambda: s.finding(f.id).descriptors.get("shape") == "irregular")
    assert s.finding(f.id).descriptors["margin"] == "spiculated"
    form.category_combo.setCurrentIndex(form.category_combo.findData("4B"))
    assert s.finding(f.id).category == "4B"
    qtbot.waitUntil(lambda: "BI-RADS 4B" in panel.list.item(0).text())
    save_screenshot(win, str(tmp_path / "findings_gui.png"))
    # changing the type to calcifications offers calcification descriptors only
    form.type_combo.setCurrentIndex(form.type_combo.findData("calcifications"))
    qtbot.waitUntil(lambda: "calcification_morphology" in form.combos)
    assert "shape" not in form.combos and "calcifications" not in form.checks["associated_features"]
    morph = form.combos["calcification_morphology"]
    assert "(suspicious morphology)" in morph.itemText(morph.findData("amorphous"))
    assert s.history[-1].action == "change_kind" and s.history[-1].reader == "Dr Reader"


def test_assessment_panel(qtbot):
    from app.qt.findings_assessment import QtAssessmentPanel

    s = FindingsSession(STUDY, reader="Dr A")
    panel = QtAssessmentPanel(s)
    qtbot.addWidget(panel)
    panel.show()
    assert "BI-RADS 1" in panel.overall.text() and "Routine mammography screening" in panel.overall.text()
    panel.composition["R"].setCurrentIndex(panel.composition["R"].findData("c"))
    assert s.assessment.right.composition == "c"
    panel.category["L"].setCurrentIndex(panel.category["L"].findData("4A"))
    assert s.assessment.left.category == "4A"
    assert "BI-RADS 4A" in panel.overall.text() and "Tissue diagnosis" in panel.overall.text()
    assert "screening exams take only" in panel.warnings.text()
    assert panel.management["L"].placeholderText() == "Tissue diagnosis"
    panel.exam_type.setCurrentIndex(panel.exam_type.findData("diagnostic"))
    assert "screening exams" not in panel.warnings.text()


def test_cad_accept_and_dismiss_buttons(qtbot):
    from app.qt.findings_panel import QtFindingsPanel

    s = session_with_geometry()
    s.set_cad_marks([cad_mark("a", score=90), cad_mark("b", kind="calcification_cluster", score=40)])
    panel = QtFindingsPanel(s)
    qtbot.addWidget(panel)
    panel.show()
    assert panel.cad_list.count() == 2 and "not reviewed" in panel.cad_list.item(0).text()
    panel.cad_list.setCurrentRow(0)
    panel.accept_button.click()
    assert s.cad_decisions["a"].decision == "accepted" and panel.list.count() == 1
    panel.cad_list.setCurrentRow(1)
    panel.dismiss_button.click()
    assert s.cad_decisions["b"].decision == "dismissed"
    assert "dismissed" in panel.cad_list.item(1).text() and "accepted" in panel.cad_list.item(0).text()


def test_autosave_timer_saves_from_the_event_loop(qtbot):
    from PySide6 import QtCore

    from app.qt.findings_panel import start_autosave_timer
    from app.store.findings import Autosaver

    s = FindingsSession(STUDY)
    saved = []
    t = [0.0]
    saver = Autosaver(s, lambda snap: saved.append(snap["revision"]), clock=lambda: t[0])
    owner = QtCore.QObject()
    timer = start_autosave_timer(owner, saver)
    s.add_finding("mass", "L")
    t[0] = 0.5  # the fake clock says the edit is old enough; the timer does the rest
    qtbot.waitUntil(lambda: saved == [1], timeout=2000)
    assert timer.isActive()
    with pytest.raises(ValueError):
        start_autosave_timer(owner, saver, interval_ms=500)
