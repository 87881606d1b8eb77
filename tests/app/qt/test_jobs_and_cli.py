"""Background reconstruction with a progress dialog and Cancel; ``crescent view --screenshot``."""

import threading
import time

import numpy as np
import pytest

from tests.app.qt.conftest import image_to_array

pytestmark = pytest.mark.gui


def _projections():
    from recon import ProjectionSet, preset_geometry

    geometry = preset_geometry("hologic-dimensions", detector_shape=(48, 64), pixel_mm=1.0, n_views=5)
    data = np.random.default_rng(0).random((5, 48, 64), dtype=np.float32)
    return ProjectionSet(data, geometry, metadata={"laterality": "L", "view": "CC"})


def _shift_and_add(gate: threading.Event | None = None):
    """A real (if crude) DBT reconstruction: shift-and-add of the projections, slice by slice,
    reporting progress and honouring cancellation; ``gate`` holds the full run until set."""
    from recon import Volume, VolumeGrid
    from recon.errors import check_cancel

    def reconstruct(projections, geometry, grid, *, method, progress, cancel, preview=False):
        nz = 4 if preview else 12
        n, ny, nx = projections.data.shape
        grid = VolumeGrid((nz, ny, nx), (2.0 if preview else 1.0, 1.0, 1.0), (1.0, 0.0, 0.5))
        vol = np.empty((nz, ny, nx), np.float32)
        for k in range(nz):
            if not preview and gate is not None:
                gate.wait(5)
            check_cancel(cancel)
            shifts = np.round(np.tan(geometry.angles_rad) * k).astype(int)
            vol[k] = np.mean([np.roll(p, s, axis=0) for p, s in zip(projections.data, shifts, strict=True)], axis=0)
            progress(k + 1, nz, f"slice {k + 1}/{nz}")
            time.sleep(0.01)
        return Volume(vol, grid, metadata=dict(projections.metadata))

    return reconstruct


def test_reconstruction_shows_preview_then_full_volume_without_freezing(qtbot):
    from app.qt.main_window import QtMainWindow

    window = QtMainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    gate = threading.Event()
    job = window.reconstruct(_projections(), reconstruct=_shift_and_add(gate))
    _, dialog = window.jobs[-1]
    assert dialog.isVisible()
    # the preview arrives while the full reconstruction is held: the GUI keeps running
    qtbot.waitUntil(lambda: any(v.state.image is not None for v in window.viewports), timeout=5000)
    shown = next(v.state.image for v in window.viewports if v.state.image is not None)
    assert shown.label == "L CC preview" and shown.n_slices == 4
    gate.set()
    qtbot.waitUntil(lambda: job.finished, timeout=10000)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=3000)
    shown = next(v.state.image for v in window.viewports if v.state.image is not None)
    assert shown.n_slices == 12 and "preview" not in shown.label
    window.close()


def test_cancel_stops_the_reconstruction(qtbot):
    from app.qt.main_window import QtMainWindow

    window = QtMainWindow()
    qtbot.addWidget(window)
    window.show()
    gate = threading.Event()
    job = window.reconstruct(_projections(), reconstruct=_shift_and_add(gate), preview=False)
    _, dialog = window.jobs[-1]
    from PySide6 import QtCore, QtWidgets

    button = next(b for b in dialog.findChildren(QtWidgets.QPushButton) if b.text() == "Cancel")
    qtbot.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)
    gate.set()
    qtbot.waitUntil(lambda: job.finished, timeout=5000)
    assert job.state == "cancelled" and job.result is None
    assert all(v.state.image is None for v in window.viewports)
    window.close()


def test_view_command_screenshot_of_npz_study(tmp_path, demo, qtbot):
    from PySide6 import QtGui

    from app.cli import main
    from app.model.loading import save_npz

    folder = tmp_path / "study"
    folder.mkdir()
    for i, image in enumerate(im for im in demo.images if im.kind == "tomo"):
        save_npz(folder / f"{i}.npz", image, study=demo)
    out = tmp_path / "cc.png"
    k = demo.find("R", "CC").metadata["truth"]["nipple_marker"][0]
    assert (
        main(["view", str(folder), "--layout", "cc", "--slice", str(k), "--size", "1000x500", "--screenshot", str(out)])
        == 0
    )
    img = image_to_array(QtGui.QImage(str(out))).astype(float).mean(axis=2)
    h, w = img.shape
    body = img[h // 4 : 3 * h // 4, :]
    # the right CC fills the left half, the left CC the right half; chest walls meet in the middle
    assert body[:, w // 2 - 30 : w // 2 + 30].mean() > body[:, :30].mean() + 30
    assert body[:, w // 2 - 30 : w // 2 + 30].mean() > body[:, -30:].mean() + 30
    assert main(["view", str(tmp_path / "missing"), "--screenshot", str(out)]) == 2
    assert main(["view", str(folder), "--slice", "999", "--screenshot", str(out)]) == 2
