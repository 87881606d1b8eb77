"""The Qt binding must not lose references to None: the viewer makes Qt calls on every frame.

PySide6 6.12.0 under Python 3.11 dropped one reference to ``None`` on every call of a method
returning void (``processEvents``, ``update``, ``setValue``...); None's count reached zero
after some tens of thousands of such calls and the process aborted ("Fatal Python error:
none_dealloc") a few minutes into scrolling. pyproject.toml keeps such a release out.
"""

import sys

import pytest

pytestmark = pytest.mark.gui


def test_void_qt_calls_keep_the_references_to_none():
    from PySide6 import QtWidgets

    from app.qt.application import ensure_application

    app = ensure_application()
    widget = QtWidgets.QWidget()
    slider = QtWidgets.QSlider()
    before = sys.getrefcount(None)
    for i in range(300):
        app.processEvents()
        widget.update()
        slider.setValue(i % 10)
    lost = before - sys.getrefcount(None)
    assert lost < 100  # 900 void calls: a leaking binding loses ~900
