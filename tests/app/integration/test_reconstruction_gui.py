"""Reconstruction from real projections (the demo's simulated GE acquisition, DICOM For Processing)
in the workstation: the real ``recon.reconstruct`` API, preview first, GUI responsive, Cancel."""

from __future__ import annotations

import shutil
import threading

import numpy as np
import pytest

pytestmark = pytest.mark.gui


def _gated(gate: threading.Event):
    """The real reconstruction whose full (not preview) run waits at its first progress report until ``gate``."""
    from recon.reconstruct import reconstruct as real

    def reconstruct(projections, geometry, grid, *, progress, preview=False, **kw):
        def held(done, total, message=""):
            if not preview:
                gate.wait(10)
            progress(done, total, message)

        return real(projections, geometry, grid, progress=held, preview=preview, **kw)

    return reconstruct


def _overlap(a, b):
    """The parts of two stacks (same pixel size and slices) over the same detector area."""
    oy = int(round((b.origin_mm[0] - a.origin_mm[0]) / a.pixel_mm[0]))
    ox = int(round((b.origin_mm[1] - a.origin_mm[1]) / a.pixel_mm[1]))
    ya, yb, xa, xb = max(0, oy), max(0, -oy), max(0, ox), max(0, -ox)
    ny, nx = min(a.rows - ya, b.rows - yb), min(a.cols - xa, b.cols - xb)
    return a.data[:, ya : ya + ny, xa : xa + nx], b.data[:, yb : yb + ny, xb : xb + nx]


def test_projections_reconstruct_with_preview_first_responsive_and_cancellable(qtbot, demo_exam, tmp_path):
    from PySide6 import QtCore, QtWidgets

    from app.model.loading import load_paths
    from app.qt.main_window import QtMainWindow

    QtWidgets.QApplication.instance().setProperty("crescent_no_dialogs", True)
    folder = tmp_path / "acquisition"
    folder.mkdir()
    shutil.copy(demo_exam.folder / "RCC_projections.dcm", folder)
    w = QtMainWindow(store_dir=tmp_path / "store")
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    hung = []
    w.session.events.layout.connect(
        lambda e: hung.extend(
            (vp.image.label, vp.image.n_slices, round(vp.image.slice_mm, 3)) for vp in e.viewports if vp.image
        )
    )

    # a folder of projections only: reconstructed in the background with the real API
    w.load_paths([folder])
    (job, dialog) = w.jobs[-1]
    qtbot.waitUntil(lambda: job.finished, timeout=60000)
    assert job.state == "done", job.error
    qtbot.waitUntil(lambda: any("preview" not in h[0] for h in hung), timeout=3000)
    truth = demo_exam.truth("RCC")
    preview, full = hung[0], hung[-1]
    # preview first: 2 mm slices over the compressed thickness; then 1 mm slices
    assert preview == ("R CC preview", round(truth["thickness_mm"] / 2), 2.0)
    assert full == ("R CC", round(truth["thickness_mm"]), 1.0)
    image = w.session.viewports[0].image
    assert (image.laterality, image.view, image.kind) == ("R", "CC", "tomo")
    assert image.pixel_mm == pytest.approx((0.4, 0.4))  # the detector pitch
    # the same volume as the demo's own FBP of these projections (its BTO file), where the grids overlap
    (stored,) = load_paths([demo_exam.folder / "RCC_tomo.dcm"]).study.images
    a, b = _overlap(image, stored)
    assert a.shape[0] == b.shape[0] == 20 and a.shape[1] > 60 and a.shape[2] > 60
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.95
    assert not dialog.isVisible()

    # while the full run is held, the preview shows and the event loop keeps running; Cancel stops it
    ticks = []
    timer = QtCore.QTimer(w)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    gate = threading.Event()
    (projections,) = load_paths([folder]).projections
    job = w.reconstruct(projections, reconstruct=_gated(gate))
    _, dialog = w.jobs[-1]
    hung.clear()
    qtbot.waitUntil(lambda: any(h[0] == "R CC preview" for h in hung), timeout=20000)
    n = len(ticks)
    qtbot.waitUntil(lambda: len(ticks) >= n + 5, timeout=3000)
    assert not job.finished and dialog.isVisible()
    button = next(b for b in dialog.findChildren(QtWidgets.QPushButton) if b.text() == "Cancel")
    qtbot.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)
    gate.set()
    qtbot.waitUntil(lambda: job.finished, timeout=20000)
    assert job.state == "cancelled" and job.result is None
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=3000)
    assert all("preview" in h[0] for h in hung)  # the full volume never came
    timer.stop()
    w.close()
