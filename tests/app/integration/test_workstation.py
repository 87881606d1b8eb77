"""The reading workstation with a real store and real DICOM (Xvfb): place, describe and measure a
finding in the VTK viewer, autosave, reopen (findings and viewer state come back), report."""

from __future__ import annotations

import numpy as np
import pytest

from tests.app.qt.conftest import grab, view_crop

pytestmark = pytest.mark.gui

READER = "Doe^Jane"
FINDING_RGB = np.array([255, 209, 26])  # FindingsOverlay colour (1.0, 0.82, 0.1)


def _mouse(widget, kind: str, xy, *, held: bool = True):
    """Send a left-button mouse event at display position ``xy`` of ``widget``."""
    from PySide6 import QtCore, QtGui, QtWidgets

    types = {
        "press": QtCore.QEvent.Type.MouseButtonPress,
        "move": QtCore.QEvent.Type.MouseMove,
        "release": QtCore.QEvent.Type.MouseButtonRelease,
        "double": QtCore.QEvent.Type.MouseButtonDblClick,
    }
    left = QtCore.Qt.MouseButton.LeftButton
    pos = QtCore.QPointF(*xy)
    ev = QtGui.QMouseEvent(
        types[kind],
        pos,
        QtCore.QPointF(widget.mapToGlobal(pos)),
        QtCore.Qt.MouseButton.NoButton if kind == "move" else left,
        left if kind in ("press", "move", "double") and held else QtCore.Qt.MouseButton.NoButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
    )
    QtWidgets.QApplication.sendEvent(widget, ev)


def _window(qtbot, store_dir):
    from PySide6 import QtWidgets

    from app.model.loading import worklist_from_store
    from app.qt.main_window import QtMainWindow

    QtWidgets.QApplication.instance().setProperty("crescent_no_dialogs", True)
    w = QtMainWindow(worklist=worklist_from_store(store_dir=store_dir), store_dir=store_dir, reader=READER)
    w.resize(1500, 900)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is w, timeout=3000)
    return w


def _status(store_dir, uid):
    from app.store import Store

    with Store.open(store_dir) as s:
        return next(st.status for st in s.studies() if st.study_uid == uid)


def _graphics(ds):
    """(graphic type, (referenced SOP instance, frame number)) of the SR's spatial coordinates."""
    out = []
    for item in ds.get("ContentSequence", []):
        if "GraphicType" in item:
            ref = item.ContentSequence[0].ReferencedSOPSequence[0]
            out.append((item.GraphicType, (ref.ReferencedSOPInstanceUID, int(ref.ReferencedFrameNumber))))
        out += _graphics(item)
    return out


def _worklist_status(window, uid):
    return window.worklist_model.find(uid).status


def test_place_describe_measure_reopen_and_report(qtbot, demo_exam, store_dir, tmp_path):
    from PySide6 import QtCore

    from app.reports.birads import size_text
    from tests.dicom_validate import assert_dciodvfy_clean

    uid = demo_exam.study_uid
    w = _window(qtbot, store_dir)
    # open from the worklist with Enter: the study is marked read (store and worklist)
    assert _worklist_status(w, uid) == "unread"
    w.worklist.selectRow(0)
    qtbot.keyClick(w.worklist, QtCore.Qt.Key.Key_Return)
    assert [vp.state.image.label for vp in w.viewports] == ["R CC", "L CC", "R MLO", "L MLO"]
    assert all(vp.state.image.kind == "tomo" for vp in w.viewports)
    assert _status(store_dir, uid) == "read" and _worklist_status(w, uid) == "read"

    # ellipse tool (E), drag a box on the L CC (a mirrored view) at slice 9
    qtbot.keyClick(w, QtCore.Qt.Key.Key_E)
    assert w.session.tool == "birads_ellipse"
    qvp = w.viewports[1]
    vp = qvp.state
    vp.slice_index = 9
    view = qvp.vtk.view
    rows, cols = vp.image.rows, vp.image.cols
    a = view.image_to_display(rows * 0.35, cols * 0.30)
    b = view.image_to_display(rows * 0.55, cols * 0.60)
    ratio = qvp.vtk.devicePixelRatioF()
    pa, pb = (a[0] / ratio, a[1] / ratio), (b[0] / ratio, b[1] / ratio)
    _mouse(qvp.vtk, "press", pa)
    _mouse(qvp.vtk, "move", ((pa[0] + pb[0]) / 2, (pa[1] + pb[1]) / 2))
    _mouse(qvp.vtk, "move", pb)
    _mouse(qvp.vtk, "release", pb, held=False)
    findings = w.findings_ui.findings
    (f,) = findings.findings
    (m,) = f.marks
    (r0, c0), (r1, c1) = view.display_to_image(*a), view.display_to_image(*b)
    assert (m.laterality, m.view, m.frame, m.kind) == ("L", "CC", 9, "ellipse")
    assert m.sop_instance_uid == vp.image.metadata["sop_instance_uid"]
    assert m.center == pytest.approx(((c0 + c1) / 2, (r0 + r1) / 2), abs=0.6)  # (col, row)
    dy, dx = vp.image.pixel_mm
    assert m.measurements_mm["major_axis_mm"] == pytest.approx(abs(c1 - c0) * dx, abs=2 * dx)
    assert m.measurements_mm["minor_axis_mm"] == pytest.approx(abs(r1 - r0) * dy, abs=2 * dy)
    # drawn where it was placed: the outline's left and top ends are yellow on screen
    vp.overlays_visible = False
    shot = grab(w)
    crop = view_crop(w, shot, qvp)  # grey levels; the colour comes from the full shot below
    assert crop.shape[0] > 100
    top = qvp.vtk.mapTo(w, qvp.vtk.rect().topLeft())
    y0 = top.y() + (w.frameGeometry().height() - w.height())
    x0 = top.x() + (w.frameGeometry().width() - w.width()) // 2
    for rr, cc in ((m.center[1], min(c0, c1)), (min(r0, r1), m.center[0])):
        x, y = view.image_to_display(rr, cc)
        patch = shot[y0 + int(y) - 3 : y0 + int(y) + 4, x0 + int(x) - 3 : x0 + int(x) + 4].reshape(-1, 3)
        assert np.abs(patch.astype(int) - FINDING_RGB).sum(axis=1).min() < 60, (rr, cc)

    # describe it with the lexicon form (only the mass descriptors are offered)
    form = w.findings_ui.panel.form
    assert form.finding_id == f.id
    assert {"shape", "margin", "density"} <= set(form.combos)
    for name, term in (("shape", "irregular"), ("margin", "spiculated"), ("density", "high")):
        combo = form.combos[name]
        combo.setCurrentIndex(combo.findData(term))
        qtbot.wait(5)  # the form rebuilds after each edit
        form = w.findings_ui.panel.form
    form.category_combo.setCurrentIndex(form.category_combo.findData("4C"))
    f = findings.finding(f.id)
    assert dict(f.descriptors) == {"shape": "irregular", "margin": "spiculated", "density": "high"}
    assert f.category == "4C"
    qtbot.waitUntil(lambda: "mm" in w.findings_ui.panel.form.size_label.text(), timeout=2000)
    assert w.findings_ui.panel.form.size_label.text() == size_text(f)
    assert findings.location(f.id).laterality == "L" and findings.geometries  # landmarks found
    comp = w.findings_ui.assessment.composition["L"]
    comp.setCurrentIndex(comp.findData("b"))
    assert findings.assessment.breast("L").composition == "b"

    # a polygon closed by a double click inside the VTK viewer (tool G, new finding)
    qtbot.keyClick(w, QtCore.Qt.Key.Key_G)
    w.findings_ui.panel._new_finding()
    rvp = w.viewports[0]
    pts = [rvp.vtk.view.image_to_display(rows * fr, cols * fc) for fr, fc in ((0.3, 0.2), (0.3, 0.4), (0.6, 0.3))]
    pts = [(x / ratio, y / ratio) for x, y in pts]
    for p in pts:
        _mouse(rvp.vtk, "press", p)
        _mouse(rvp.vtk, "release", p, held=False)
    _mouse(rvp.vtk, "double", pts[-1])
    _mouse(rvp.vtk, "release", pts[-1], held=False)
    assert len(findings.findings) == 2
    poly = findings.findings[1].marks[0]
    assert (poly.kind, poly.laterality, len(poly.points)) == ("polygon", "R", 3)
    # ... and one closed with Enter (the shortcut is live only while the polygon tool is)
    w.findings_ui.panel._new_finding()
    for p in pts[::-1]:
        _mouse(rvp.vtk, "press", p)
        _mouse(rvp.vtk, "release", p, held=False)
    qtbot.keyClick(w, QtCore.Qt.Key.Key_Return)
    assert len(findings.findings) == 3 and findings.findings[2].marks[0].points == poly.points[::-1]
    findings.remove_finding(findings.findings[2].id)
    qtbot.keyClick(w, QtCore.Qt.Key.Key_W)
    assert not w.actions_by_id["finish_outline"].isEnabled()

    # viewer state: window of the L CC, then the next stage (N); autosave catches up within a second
    vp.update(window_center=0.011, window_width=0.033)
    qtbot.keyClick(w, QtCore.Qt.Key.Key_N)
    assert w.session.stage_index == 1
    saver = w.findings_ui.saver
    qtbot.waitUntil(lambda: not saver.dirty and findings.viewer_state.get("stage") == 1, timeout=3000)
    w.close()

    # reopen in a new window: findings, assessment and viewer state are back
    w2 = _window(qtbot, store_dir)
    w2.open_study_uid(uid)
    again = w2.findings_ui.findings
    assert [g.id for g in again.findings] == [g.id for g in findings.findings]
    f2 = again.finding(f.id)
    assert dict(f2.descriptors) == dict(f.descriptors) and f2.category == "4C" and f2.marks == f.marks
    assert again.assessment.breast("L").composition == "b"
    assert w2.session.stage_index == 1 and w2.viewports[1].state.image.kind == "synthetic2d"
    qtbot.keyClick(w2, QtCore.Qt.Key.Key_B)  # previous stage
    lcc = w2.viewports[1].state
    assert (lcc.image.label, lcc.slice_index, lcc.window_center, lcc.window_width) == ("L CC", 9, 0.011, 0.033)
    assert any(it.source == "birads" for it in lcc.overlays)
    assert _status(store_dir, uid) == "read"

    # a CAD result on the L CC: its mark is listed in the findings panel; accepting it makes a finding
    from cad.types import CaseResult
    from cad.types import Finding as CadFinding

    tomo = lcc.image
    cad = CadFinding("mass", (9.0, rows * 0.45, cols * 0.45), (10.0, 0.0, 30.0), (5.0, 5.0, 3.0), 72.0, "test@1")
    w2.cad.controller.set_result(tomo.uid, CaseResult((cad,), 72.0))
    panel = w2.findings_ui.panel
    assert panel.cad_list.count() == 1 and "score 72" in panel.cad_list.item(0).text()
    panel.cad_list.setCurrentRow(0)
    panel.accept_button.click()
    assert len(again.findings) == 3 and again.findings[2].cad_id == again.cad_marks[0].id
    assert again.findings[2].marks[0].center == pytest.approx((cols * 0.45, rows * 0.45))  # (col, row)

    # the Report action (Ctrl+P): PDF, HTML and a dciodvfy-clean SR in the store, study reported
    qtbot.keyClick(w2, QtCore.Qt.Key.Key_P, QtCore.Qt.KeyboardModifier.ControlModifier)
    rep = w2.last_report
    assert rep is not None, w2.last_error
    assert rep.pdf.read_bytes()[:5] == b"%PDF-" and "Finding" in rep.html.read_text()
    assert rep.pdf.parent == store_dir / "derived" / uid
    assert_dciodvfy_clean(rep.sr)
    import pydicom

    from app.dicom.report_sr import frame_mapping_from_dataset

    sr = pydicom.dcmread(rep.sr)
    assert sr.StudyInstanceUID == uid
    shapes = dict(_graphics(sr))
    lcc_frames = frame_mapping_from_dataset(pydicom.dcmread(demo_exam.folder / "LCC_tomo.dcm")).frame_numbers
    assert shapes["ELLIPSE"] == (m.sop_instance_uid, lcc_frames[9])  # the stored frame of slice 9
    assert shapes["POLYLINE"][0] == poly.sop_instance_uid
    from app.store import Store

    with Store.open(store_dir) as s:
        kinds = [(d.kind, d.path.suffix) for d in s.derived(study_uid=uid)]
        assert sorted(kinds) == [("report", ".dcm"), ("report", ".html"), ("report", ".pdf")]
    assert _status(store_dir, uid) == "reported" and _worklist_status(w2, uid) == "reported"
    w2.close()
