"""The demo exam from the store hung on screen (Xvfb): the 4-view with right views on the viewer's left,
chest walls meeting at the centre line, CC above MLO; synthetic 2D beside tomo; ``crescent view --screenshot``."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.filters import gaussian
from skimage.transform import resize

from tests.app.qt.conftest import grab, image_to_array, view_crop

pytestmark = pytest.mark.gui

# The standard display of arrays in the project's order (columns from the chest wall toward the nipple,
# rows toward the patient's left): right breast mirrored left-right (chest wall on the right of its
# pane), left breast upside down (lateral / axilla up); written out here, not taken from the viewer.
EXPECTED_FLIPS = {"R": (True, False), "L": (False, True)}


def _expected(image, k, flips):
    a = image.data[k]
    flip_h, flip_v = flips
    return a[::-1] if flip_v else a, flip_h


def _shown_region(qvp, crop):
    """The part of a viewport's screenshot crop covered by its image (a rectangle, flip-invariant)."""
    view = qvp.vtk.view
    im = qvp.state.image
    corners = [view.image_to_display(r, c) for r in (-0.5, im.rows - 0.5) for c in (-0.5, im.cols - 0.5)]
    xs, ys = [x for x, _ in corners], [y for _, y in corners]
    x0, x1 = int(np.ceil(min(xs))) + 2, int(np.floor(max(xs))) - 2
    y0, y1 = int(np.ceil(min(ys))) + 2, int(np.floor(max(ys))) - 2
    return crop[max(y0, 0) : y1, max(x0, 0) : x1]


def _similarity(region, array, flip_h, *, texture=False):
    """Correlation of what is shown with ``array`` (optionally mirrored); ``texture``: of the fine
    structure only (both breasts share the outline, not the tissue)."""
    a = array[:, ::-1] if flip_h else array
    a = resize(a.astype(np.float64), region.shape, order=1, anti_aliasing=True)
    b = region.astype(np.float64)
    if texture:  # high-passed, inside the breast (the middle of the image), away from the skin line
        h, w = b.shape
        inner = (slice(h // 4, 3 * h // 4), slice(w // 4, 3 * w // 4))
        a, b = (a - gaussian(a, 6))[inner], (b - gaussian(b, 6))[inner]
    return float(np.corrcoef(b.ravel(), a.ravel())[0, 1])


def _window(qtbot, store_dir):
    from PySide6 import QtWidgets

    from app.qt.main_window import QtMainWindow

    QtWidgets.QApplication.instance().setProperty("crescent_no_dialogs", True)
    w = QtMainWindow(store_dir=store_dir, reader="Doe^Jane")
    w.resize(1200, 860)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_four_view_and_synthetic_2d_beside_tomo_from_real_dicom(qtbot, demo_exam, store_dir):
    from app.model.loading import load_store_study

    study = load_store_study(demo_exam.study_uid, store_dir=store_dir).study
    w = _window(qtbot, store_dir)
    w.open_study(study, protocol_id="4view")
    w.findings_ui.dock.hide()
    w.findings_ui.assessment_dock.hide()
    labels = [vp.state.image.label for vp in w.viewports]
    assert labels == ["R CC", "L CC", "R MLO", "L MLO"]  # R on the viewer's left, CC above MLO
    for vp in w.session.viewports:
        vp.update(slice_index=10, overlays_visible=False)
    shot = grab(w)
    others = {im.label: im for im in study.images if im.kind == "tomo"}
    for qvp in w.viewports:
        im = qvp.state.image
        region = _shown_region(qvp, view_crop(w, shot, qvp))
        assert min(region.shape) > 100
        expected, flip_h = _expected(im, 10, EXPECTED_FLIPS[im.laterality])
        right = _similarity(region, expected, flip_h)
        mirrored = _similarity(region, expected, not flip_h)
        assert right > 0.8 and right > mirrored + 0.1, (im.label, right, mirrored)
        # and not the other breast's view
        other = others[("L" if im.laterality == "R" else "R") + im.label[1:]]
        wrong, _ = _expected(other, 10, EXPECTED_FLIPS[im.laterality])
        mine, theirs = (
            _similarity(region, expected, flip_h, texture=True),
            _similarity(region, wrong, flip_h, texture=True),
        )
        assert mine > theirs + 0.2, (im.label, mine, theirs)

    # synthetic 2D beside tomo: each stage shows one view's synthetic 2D and DBT stack
    w.session.set_protocol("s2d-tomo")
    s2d, tomo = w.viewports
    assert (s2d.state.image.kind, tomo.state.image.kind) == ("synthetic2d", "tomo")
    assert s2d.state.image.label == "R CC S2D" and tomo.state.image.label == "R CC"
    for vp in w.session.viewports:
        vp.overlays_visible = False
    shot = grab(w)
    for qvp, k in ((s2d, 0), (tomo, tomo.state.slice_index)):
        im = qvp.state.image
        region = _shown_region(qvp, view_crop(w, shot, qvp))
        expected, flip_h = _expected(im, k, EXPECTED_FLIPS["R"])
        right = _similarity(region, expected, flip_h)
        assert right > 0.8 and right > _similarity(region, expected, not flip_h) + 0.1, im.label
    w.close()


def test_view_command_screenshots_of_a_store_study(demo_exam, store_dir, tmp_path, qtbot):
    from PySide6 import QtGui

    from app.cli import main

    uid = demo_exam.study_uid
    shots = {}
    for layout in ("4view", "s2d"):
        out = tmp_path / f"{layout}.png"
        args = ["--store", str(store_dir), "view", uid, "--layout", layout, "--size", "1000x700"]
        assert main([*args, "--screenshot", str(out)]) == 0
        shots[layout] = image_to_array(QtGui.QImage(str(out))).astype(float).mean(axis=2)
    img = shots["4view"]
    h, w = img.shape
    for band in (img[int(h * 0.15) : int(h * 0.4)], img[int(h * 0.6) : int(h * 0.85)]):  # CC row, MLO row
        centre = band[:, w // 2 - 40 : w // 2 + 40].mean()
        assert centre > band[:, :30].mean() + 30 and centre > band[:, -30:].mean() + 30
    assert shots["s2d"].std() > 20 and np.abs(shots["s2d"] - img).mean() > 5
    assert main(["--store", str(store_dir), "view", "1.2.3.999", "--screenshot", str(tmp_path / "x.png")]) == 2
    # a picture is not a reading: the status and the saved viewer state are untouched
    from app.store import Store
    from app.store.findings import load_snapshot

    with Store.open(store_dir) as s:
        assert [st.status for st in s.studies()] == ["unread"]
        assert load_snapshot(s.connection, uid) is None
