import numpy as np
import pytest

pytestmark = pytest.mark.gui


def _image_to_array(image):
    from PySide6.QtGui import QImage

    image = image.convertToFormat(QImage.Format.Format_RGB32)
    ptr = image.constBits()
    arr = np.frombuffer(ptr, dtype=np.uint8, count=image.sizeInBytes())
    return arr.reshape(image.height(), image.bytesPerLine() // 4, 4)[:, : image.width(), :3].copy()


def test_main_window_renders_something(qtbot, tmp_path):
    from app.qt.application import grab_window
    from app.qt.main_window import QtMainWindow

    window = QtMainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.render_all()
    img = _image_to_array(grab_window(window))
    assert img.shape[0] > 400 and img.shape[1] > 600
    # not blank: many distinct colours, and the VTK viewports drew their gradient
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 50
    vp = window.viewports[0]
    top_left = vp.mapTo(window, vp.rect().topLeft())
    y0 = top_left.y() + (window.frameGeometry().height() - window.height())
    x0 = top_left.x()
    patch = img[y0 + 5 : y0 + vp.height() - 5, x0 + 5 : x0 + vp.width() - 5].astype(float)
    rows = patch.mean(axis=(1, 2))
    assert rows[0] > rows[-1] + 10, "viewport gradient (lighter at the top) not visible"
