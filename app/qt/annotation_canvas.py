"""A plain Qt canvas that shows one slice and lets the reader draw BI-RADS marks on it.

For use outside the VTK viewer (review dialogs, tests): it feeds mouse gestures, in image pixels,
to an :class:`~app.model.annotation.AnnotationController` and draws the findings of its image.
Inside the viewer the ``birads_*`` tools do the same through the tool registry.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from app.model.annotation import AnnotationController, ImageInfo, mark_overlay_points


class QtAnnotationCanvas(QtWidgets.QWidget):
    """Shows ``image`` (2-D) fitted to the widget; left mouse draws in the controller's mode."""

    def __init__(
        self,
        controller: AnnotationController,
        image: np.ndarray,
        info: ImageInfo,
        *,
        frame: int = 0,
        parent: QtWidgets.QWidget | None = None,
    ):
        super().__init__(parent)
        if not isinstance(controller, AnnotationController):
            raise TypeError("controller must be an AnnotationController")
        a = np.asarray(image, dtype=np.float32)
        if a.ndim != 2 or a.size == 0:
            raise ValueError(f"image must be a non-empty 2-D array, got shape {a.shape}")
        self.controller = controller
        self.info = info
        self.frame = int(frame)
        lo, hi = np.percentile(a, [1, 99.5])
        g = np.clip((a - lo) / max(hi - lo, 1e-12) * 255, 0, 255).astype(np.uint8)
        self._pixels = np.ascontiguousarray(g)
        h, w = g.shape
        self._qimage = QtGui.QImage(self._pixels.data, w, h, w, QtGui.QImage.Format.Format_Grayscale8)
        self.setMinimumSize(200, 200)
        self.setMouseTracking(True)
        self._unsubscribe = controller.findings.subscribe(lambda _e: self.update())

    # ---- geometry: widget <-> image pixels --------------------------------------------------

    def _transform(self) -> tuple[float, float, float, float]:
        h, w = self._pixels.shape
        sy, sx = self.info.pixel_spacing_mm
        s = min(self.width() / (w * sx), self.height() / (h * sy))
        ox = (self.width() - w * sx * s) / 2
        oy = (self.height() - h * sy * s) / 2
        return s * sx, s * sy, ox, oy

    def to_image(self, pos: QtCore.QPointF) -> tuple[float, float]:
        """Widget position -> (row, col) at pixel centres."""
        kx, ky, ox, oy = self._transform()
        return (pos.y() - oy) / ky - 0.5, (pos.x() - ox) / kx - 0.5

    def to_widget(self, row: float, col: float) -> QtCore.QPointF:
        kx, ky, ox, oy = self._transform()
        return QtCore.QPointF(ox + (col + 0.5) * kx, oy + (row + 0.5) * ky)

    # ---- events --------------------------------------------------------------------------

    def mousePressEvent(self, ev):
        if ev.button() == QtCore.Qt.MouseButton.LeftButton:
            r, c = self.to_image(ev.position())
            self.controller.press(self.info, self.frame, r, c)
            self.update()

    def mouseMoveEvent(self, ev):
        if ev.buttons() & QtCore.Qt.MouseButton.LeftButton:
            r, c = self.to_image(ev.position())
            self.controller.drag(r, c)
            self.update()

    def mouseReleaseEvent(self, ev):
        if ev.button() == QtCore.Qt.MouseButton.LeftButton:
            r, c = self.to_image(ev.position())
            self.controller.release(r, c)
            self.update()

    def mouseDoubleClickEvent(self, ev):
        self.controller.close_polygon()
        self.update()

    def keyPressEvent(self, ev):
        if ev.key() in (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter):
            self.controller.close_polygon()
        elif ev.key() == QtCore.Qt.Key.Key_Escape:
            self.controller.cancel()
        self.update()

    def paintEvent(self, _ev):
        p = QtGui.QPainter(self)
        p.fillRect(self.rect(), QtGui.QColor("black"))
        kx, ky, ox, oy = self._transform()
        h, w = self._pixels.shape
        p.drawImage(QtCore.QRectF(ox, oy, w * kx, h * ky), self._qimage)
        pen = QtGui.QPen(QtGui.QColor(255, 210, 26), 2)
        p.setPen(pen)
        for f in self.controller.findings.findings:
            for m in f.marks:
                if m.sop_instance_uid != self.info.sop_instance_uid or m.frame != self.frame:
                    continue
                kind, pts = mark_overlay_points(m)
                qpts = [self.to_widget(r, c) for r, c in pts]
                if kind == "point":
                    q = qpts[0]
                    p.drawLine(q + QtCore.QPointF(-8, 0), q + QtCore.QPointF(8, 0))
                    p.drawLine(q + QtCore.QPointF(0, -8), q + QtCore.QPointF(0, 8))
                else:
                    p.drawPolygon(QtGui.QPolygonF(qpts))
                p.drawText(qpts[0] + QtCore.QPointF(6, -6), f"#{f.number}")
        if self.controller.preview is not None:
            kind, pts = self.controller.preview
            p.setPen(QtGui.QPen(QtGui.QColor(120, 200, 255), 1, QtCore.Qt.PenStyle.DashLine))
            q = [self.to_widget(r, c) for c, r in pts]
            if kind == "ellipse":
                p.drawEllipse(QtCore.QRectF(q[0], q[-1]))
            else:
                p.drawPolyline(QtGui.QPolygonF(q))
        p.end()

    def closeEvent(self, event):
        self._unsubscribe()
        super().closeEvent(event)
