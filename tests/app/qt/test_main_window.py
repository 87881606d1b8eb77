import numpy as np
import pytest

from tests.app.qt.conftest import grab, image_to_array

pytestmark = pytest.mark.gui


def test_main_window_renders_something(qtbot, tmp_path):
    from app.qt.application import grab_window
    from app.qt.main_window import QtMainWindow

    window = QtMainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.render_all()
    img = image_to_array(grab_window(window))
    assert img.shape[0] > 400 and img.shape[1] > 600
    # not blank: many distinct colours, and the empty VTK viewports drew their gradient
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 50
    vp = window.viewports[0].vtk
    top_left = vp.mapTo(window, vp.rect().topLeft())
    y0 = top_left.y() + (window.frameGeometry().height() - window.height())
    x0 = top_left.x()
    patch = img[y0 + 5 : y0 + vp.height() - 5, x0 + 5 : x0 + vp.width() - 5].astype(float)
    rows = patch.mean(axis=(1, 2))
    assert rows[0] > rows[-1] + 10, "viewport gradient (lighter at the top) not visible"
    window.close()


def test_worklist_lists_studies_and_opens_with_enter(qtbot, demo):
    from PySide6 import QtCore

    from app.qt.main_window import QtMainWindow

    window = QtMainWindow()
    qtbot.addWidget(window)
    window.add_studies([demo])
    window.show()
    qtbot.waitExposed(window)
    table = window.worklist.table_model
    assert table.rowCount() == 1
    assert table.data(table.index(0, 0)) == "DEMO^SCREENING"
    assert table.data(table.index(0, 3)) == "RCC LCC RMLO LMLO"
    assert window.session.study is None
    window.worklist.selectRow(0)
    qtbot.keyClick(window.worklist, QtCore.Qt.Key.Key_Return)
    assert window.session.study is demo
    assert [vp.state.image.label for vp in window.viewports] == ["R CC", "L CC", "R MLO", "L MLO"]
    window.close()


def test_shortcuts_drive_the_model_and_help_lists_them(window, qtbot):
    from PySide6 import QtCore

    vp = window.session.viewports[0]
    k = vp.slice_index
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Up)
    assert vp.slice_index == k + 1
    qtbot.keyClick(window, QtCore.Qt.Key.Key_T)
    qtbot.keyClick(window, QtCore.Qt.Key.Key_T)
    assert vp.slab_slices == 3
    qtbot.keyClick(window, QtCore.Qt.Key.Key_M)
    assert vp.slab_mode == "mip"
    qtbot.keyClick(window, QtCore.Qt.Key.Key_I)
    assert vp.invert
    qtbot.keyClick(window, QtCore.Qt.Key.Key_N)
    assert window.session.stage_index == 1
    assert all(v.state.image.kind == "synthetic2d" for v in window.viewports)
    qtbot.keyClick(window, QtCore.Qt.Key.Key_4, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert window.session.protocol_id == "single" and len(window.viewports) == 1
    panel = window.show_help()
    texts = [panel.table.item(r, 1).text() for r in range(panel.table.rowCount())]
    keys = [panel.table.item(r, 0).text() for r in range(panel.table.rowCount())]
    assert "Cine play/stop" in texts and "Space" in keys and "Magnifier loupe on/off" in texts
    panel.close()


def test_inverted_view_is_the_negative(window):
    vp = window.viewports[1]
    before = grab(window)
    from tests.app.qt.conftest import view_crop

    a = view_crop(window, before, vp)
    vp.state.invert = True
    b = view_crop(window, grab(window), vp)
    h, w = a.shape
    centre = (slice(h // 3, 2 * h // 3), slice(w // 3, 2 * w // 3))
    assert np.corrcoef(a[centre].ravel(), b[centre].ravel())[0, 1] < -0.9
