"""What the reader sees: hanging, mirroring, scrolling, slabs, linking and click-to-slice, from pixels."""

import numpy as np
import pytest
from scipy import ndimage

from tests.app.qt.conftest import grab, view_crop

pytestmark = pytest.mark.gui


def _peak(crop: np.ndarray) -> tuple[float, float]:
    """(row, col) of the brightest smoothed spot, as fractions of the crop size."""
    sm = ndimage.uniform_filter(crop, 9)
    r, c = np.unravel_index(int(np.argmax(sm)), sm.shape)
    return r / crop.shape[0], c / crop.shape[1]


def _show_marker(window, key: str) -> None:
    for vp in window.session.viewports:
        vp.overlays_visible = False  # text would be the brightest thing on screen
        k, _, _ = vp.image.metadata["truth"][key]
        vp.slice_index = k
        vp.update(window_center=0.09, window_width=0.08)  # tissue dark, markers bright


def test_four_view_is_mirrored_with_chest_walls_at_the_centre_line(window, tmp_path):
    from app.qt.application import save_screenshot

    session = window.session
    session.link_scrolling = False
    assert [vp.state.image.label for vp in window.viewports] == ["R CC", "L CC", "R MLO", "L MLO"]
    # chest wall on the inner edge: tissue touches the edge facing the centre line, air outside
    for vp in session.viewports:
        vp.overlays_visible = False
    shot = grab(window)
    for i, qvp in enumerate(window.viewports):
        crop = view_crop(window, shot, qvp)
        mid = crop[crop.shape[0] // 3 : 2 * crop.shape[0] // 3]
        inner, outer = (mid[:, -3], mid[:, 2]) if i % 2 == 0 else (mid[:, 2], mid[:, -3])
        assert inner.mean() > outer.mean() + 30, f"{qvp.state.image.label}: chest wall not at the inner edge"
    # nipple markers: toward the outer edges (R views on the viewer's left)
    _show_marker(window, "nipple_marker")
    shot = grab(window)
    save_screenshot(window, str(tmp_path / "nipple.png"))
    for i, qvp in enumerate(window.viewports):
        crop = view_crop(window, shot, qvp)
        _, col = _peak(crop)
        if i % 2 == 0:  # right breast on the left half of the screen: nipple toward the left
            assert col < 0.4, f"{qvp.state.image.label}: nipple marker at {col:.2f} of the width"
        else:
            assert col > 0.6, f"{qvp.state.image.label}: nipple marker at {col:.2f} of the width"
    # lateral (CC) / axillary (MLO) markers at the top
    _show_marker(window, "upper_marker")
    shot = grab(window)
    for qvp in window.viewports:
        row, _ = _peak(view_crop(window, shot, qvp))
        assert row < 0.4, f"{qvp.state.image.label}: upper marker at {row:.2f} of the height"


def test_calcification_only_in_the_top_left_view(window):
    # the right CC has a calcification: it must be in the top-left viewport (R CC hung there)
    for vp in window.session.viewports:
        vp.slice_index = vp.image.metadata["truth"].get("calcification", (7, 0, 0))[0]
        vp.update(window_center=0.3, window_width=0.4, overlays_visible=False)
    shot = grab(window)
    peaks = [view_crop(window, shot, qvp).max() for qvp in window.viewports]
    assert peaks[0] > 150 and max(peaks[1:]) < peaks[0] - 40


def _wheel(widget, steps: int):
    from PySide6 import QtCore, QtGui, QtWidgets

    pos = QtCore.QPointF(widget.width() / 2, widget.height() / 2)
    ev = QtGui.QWheelEvent(
        pos,
        widget.mapToGlobal(pos),
        QtCore.QPoint(0, 0),
        QtCore.QPoint(0, 120 * steps),
        QtCore.Qt.MouseButton.NoButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
        QtCore.Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QtWidgets.QApplication.sendEvent(widget, ev)


def test_wheel_changes_slice_and_linked_scrolling_moves_the_partner(window):
    rcc, lcc, rmlo, lmlo = window.viewports
    before = grab(window)
    crops = [view_crop(window, before, v) for v in window.viewports]
    k = rcc.state.slice_index
    _wheel(rcc.vtk, 3)
    assert rcc.state.slice_index == k + 3
    assert rmlo.state.slice_index == k + 3, "linked scrolling did not move the R MLO"
    assert lcc.state.slice_index == k and lmlo.state.slice_index == k
    assert rcc.slider.value() == k + 3 and rmlo.slider.value() == k + 3
    after = grab(window)
    diff = [np.abs(view_crop(window, after, v) - c).mean() for v, c in zip(window.viewports, crops, strict=True)]
    assert diff[0] > 1.0 and diff[2] > 1.0, f"R views did not change on screen: {diff}"
    assert diff[1] < 0.2 and diff[3] < 0.2, f"L views changed: {diff}"
    # unlinked: only the scrolled view moves
    window.session.link_scrolling = False
    _wheel(rcc.vtk, -2)
    assert rcc.state.slice_index == k + 1 and rmlo.state.slice_index == k + 3


def test_slab_mip_is_brighter_than_a_single_slice_at_a_calcification(window):
    qvp = window.viewports[0]
    vp = qvp.state
    k, r, c = vp.image.metadata["truth"]["calcification"]
    window.session.link_scrolling = False
    vp.update(slice_index=k + 3, window_center=0.3, window_width=0.5, overlays_visible=False)
    x, y = qvp.vtk.view.image_to_display(r, c)
    shot = grab(window)
    box = (slice(int(y) - 6, int(y) + 7), slice(int(x) - 6, int(x) + 7))
    single = view_crop(window, shot, qvp)[box].max()
    vp.update(slab_mm=10, slab_mode="mip")
    mip = view_crop(window, grab(window), qvp)[box].max()
    vp.slab_mode = "average"
    avg = view_crop(window, grab(window), qvp)[box].max()
    assert mip > single + 40, f"MIP {mip} vs single slice {single}"
    assert mip > avg


def test_click_on_synthetic_2d_jumps_the_tomo_to_the_mass_slice(window, qtbot):
    from PySide6 import QtCore

    window.session.set_protocol("s2d-tomo")
    s2d, tomo = window.viewports
    assert s2d.state.image.kind == "synthetic2d" and tomo.state.image.kind == "tomo"
    k, r, c = tomo.state.image.metadata["truth"]["mass"]
    tomo.state.slice_index = 0
    window.render_all()
    x, y = s2d.vtk.view.image_to_display(r, c)
    qtbot.mouseClick(s2d.vtk, QtCore.Qt.MouseButton.LeftButton, pos=QtCore.QPoint(int(x), int(y)))
    assert tomo.state.slice_index == k
    assert tomo.slider.value() == k


def test_ruler_drag_measures_mm_and_draws(window, qtbot):
    from PySide6 import QtCore

    qvp = window.viewports[1]
    window.session.tool = "ruler"
    x0, y0 = qvp.vtk.view.image_to_display(40, 60)
    x1, y1 = qvp.vtk.view.image_to_display(40, 100)
    qtbot.mousePress(qvp.vtk, QtCore.Qt.MouseButton.LeftButton, pos=QtCore.QPoint(int(x0), int(y0)))
    qtbot.mouseMove(qvp.vtk, pos=QtCore.QPoint(int(x1), int(y1)))
    qtbot.mouseRelease(qvp.vtk, QtCore.Qt.MouseButton.LeftButton, pos=QtCore.QPoint(int(x1), int(y1)))
    from app.model.overlays import ruler_length_mm

    (item,) = qvp.state.overlays
    assert ruler_length_mm(item, qvp.state.image.pixel_mm) == pytest.approx(20.0, abs=1.0)  # 40 px x 0.5 mm
    grab(window)
    assert qvp.vtk.view.items.n_drawn == 1
