"""The QApplication, created once, and screenshots of real windows."""

from __future__ import annotations

import os
import sys

from PySide6 import QtGui, QtWidgets


def ensure_application() -> QtWidgets.QApplication:
    """Return the running QApplication, creating it if needed.

    Raises
    ------
    app.errors.CrescentError
        When there is no display to open windows on.
    """
    from app.errors import CrescentError

    app = QtWidgets.QApplication.instance()
    if app is not None:
        return app
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")
    ):
        raise CrescentError("no display: set DISPLAY, or run under xvfb-run (make run does this for you)")
    app = QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("Crescent")
    app.setOrganizationName("Crescent")
    return app


def grab_window(widget: QtWidgets.QWidget) -> QtGui.QImage:
    """What the screen shows of a top-level window, OpenGL (VTK) content included.

    ``QWidget.grab`` misses native OpenGL children, so read the X screen instead.
    """
    app = ensure_application()
    widget.raise_()
    for _ in range(5):
        app.processEvents()
    screen = widget.screen() or app.primaryScreen()
    geo = widget.frameGeometry()
    pix = screen.grabWindow(0, geo.x(), geo.y(), geo.width(), geo.height())
    return pix.toImage()


def save_screenshot(widget: QtWidgets.QWidget, path: str) -> str:
    """Save a screenshot of a window to ``path`` (PNG) and return the path."""
    from app.errors import CrescentError

    image = grab_window(widget)
    if image.isNull() or not image.save(str(path)):
        raise CrescentError(f"could not write the screenshot {path}")
    return str(path)
