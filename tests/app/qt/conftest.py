"""Fixtures for window tests: a main window showing the synthetic demo study, and pixel helpers."""

from __future__ import annotations

import numpy as np
import pytest


def image_to_array(image) -> np.ndarray:
    """A QImage as an (h, w, 3) uint8 array."""
    from PySide6.QtGui import QImage

    image = image.convertToFormat(QImage.Format.Format_RGB32)
    arr = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
    return arr.reshape(image.height(), image.bytesPerLine() // 4, 4)[:, : image.width(), 2::-1].copy()


def grab(window) -> np.ndarray:
    """What the screen shows of ``window`` after rendering every viewport."""
    from app.qt.application import grab_window

    window.render_all()
    return image_to_array(grab_window(window))


def view_crop(window, shot: np.ndarray, qvp) -> np.ndarray:
    """The grey levels of the VTK part of viewport widget ``qvp`` in a window screenshot."""
    view = qvp.vtk
    top_left = view.mapTo(window, view.rect().topLeft())
    y0 = top_left.y() + (window.frameGeometry().height() - window.height())
    x0 = top_left.x() + (window.frameGeometry().width() - window.width()) // 2
    crop = shot[y0 : y0 + view.height(), x0 : x0 + view.width()]
    return crop.astype(np.float64).mean(axis=2)


@pytest.fixture(scope="module")
def demo():
    from app.model.demo import demo_study

    return demo_study(shape=(16, 160, 224), pixel_mm=0.5)


@pytest.fixture
def window(qtbot, demo):
    from PySide6 import QtWidgets

    from app.qt.main_window import QtMainWindow

    QtWidgets.QApplication.instance().setProperty("crescent_no_dialogs", True)
    w = QtMainWindow()
    w.resize(1100, 760)
    qtbot.addWidget(w)
    w.add_studies([demo])
    w.worklist_dock.hide()
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is w, timeout=3000)
    w.open_study(demo)
    qtbot.wait(20)
    yield w
    w.close()
