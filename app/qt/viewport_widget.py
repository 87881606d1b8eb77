"""One viewport on screen: a VTK view of a :class:`ViewportState` plus its slice slider.

The widget only translates Qt events into model calls (through the session's
:class:`~app.model.interaction.InteractionController`) and schedules paints when the model
changes; the drawing is done by :class:`~app.render.viewport_renderer.ViewportRenderer`.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets
from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor

from app.model.tools import PointerEvent
from app.render.viewport_renderer import ViewportRenderer

__all__ = ["QtVtkView", "QtViewport"]

_BUTTONS = {
    QtCore.Qt.MouseButton.LeftButton: "left",
    QtCore.Qt.MouseButton.MiddleButton: "middle",
    QtCore.Qt.MouseButton.RightButton: "right",
}
_CURSORS = {
    "arrow": QtCore.Qt.CursorShape.ArrowCursor,
    "cross": QtCore.Qt.CursorShape.CrossCursor,
    "hand": QtCore.Qt.CursorShape.OpenHandCursor,
    "size": QtCore.Qt.CursorShape.SizeAllCursor,
    "zoom": QtCore.Qt.CursorShape.SizeVerCursor,
}


def _modifiers(mods) -> frozenset:
    out = set()
    if mods & QtCore.Qt.KeyboardModifier.ShiftModifier:
        out.add("shift")
    if mods & QtCore.Qt.KeyboardModifier.ControlModifier:
        out.add("ctrl")
    if mods & QtCore.Qt.KeyboardModifier.AltModifier:
        out.add("alt")
    return frozenset(out)


class QtVtkView(QVTKRenderWindowInteractor):
    """The VTK part of a viewport; mouse and wheel go to the interaction controller."""

    def __init__(self, parent, state, index: int, controller, *, dpi: float = 96.0):
        super().__init__(parent)
        self.state = state
        self.index = index
        self.controller = controller
        self._Iren.SetInteractorStyle(None)  # all interaction goes through the model
        self.view = ViewportRenderer(state, self.GetRenderWindow(), request_render=self.update, dpi=dpi)
        self.setMouseTracking(True)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self._press_pos = None
        self._last_pos = None
        self._wheel_rest = 0
        self._initialized = False

    # -- coordinates -------------------------------------------------------------------
    def _ratio(self) -> float:
        return float(self.devicePixelRatioF())

    def _pointer(self, ev, button=None) -> PointerEvent:
        pos = ev.position()
        ratio = self._ratio()
        x, y = pos.x() * ratio, pos.y() * ratio
        row = col = None
        if self.state.image is not None:
            row, col = self.view.display_to_image(x, y)
            if not (-0.5 <= row < self.state.image.rows - 0.5 and -0.5 <= col < self.state.image.cols - 0.5):
                row = col = None
        last = self._last_pos or (x, y)
        press = self._press_pos or (x, y)
        return PointerEvent(
            x,
            y,
            row=row,
            col=col,
            button=button,
            modifiers=_modifiers(ev.modifiers()),
            dx=x - last[0],
            dy=y - last[1],
            total_dx=x - press[0],
            total_dy=y - press[1],
            world_per_px=self.view.geometry.world_per_px,
        )

    # -- Qt events ---------------------------------------------------------------------
    def showEvent(self, ev):
        super().showEvent(ev)
        if not self._initialized:
            self.Initialize()
            self._initialized = True

    def resizeEvent(self, ev):
        super().resizeEvent(ev)
        ratio = self._ratio()
        self.view.set_size(int(self.width() * ratio), int(self.height() * ratio))

    def mousePressEvent(self, ev):
        button = _BUTTONS.get(ev.button())
        pos = ev.position()
        self._press_pos = self._last_pos = (pos.x() * self._ratio(), pos.y() * self._ratio())
        self.controller.press(self.index, self._pointer(ev, button))

    def mouseMoveEvent(self, ev):
        buttons = ev.buttons()
        button = next((name for b, name in _BUTTONS.items() if buttons & b), None)
        pe = self._pointer(ev, button)
        self._last_pos = (pe.x, pe.y)
        self.controller.move(self.index, pe)

    def mouseReleaseEvent(self, ev):
        pe = self._pointer(ev, _BUTTONS.get(ev.button()))
        self._press_pos = self._last_pos = None
        self.controller.release(self.index, pe)

    def mouseDoubleClickEvent(self, ev):
        # the second press of a double click: the tool decides (a polygon closes; others press again)
        button = _BUTTONS.get(ev.button())
        pos = ev.position()
        self._press_pos = self._last_pos = (pos.x() * self._ratio(), pos.y() * self._ratio())
        self.controller.double_click(self.index, self._pointer(ev, button))

    def leaveEvent(self, ev):
        self.controller.leave(self.index)

    def enterEvent(self, ev):
        pass

    def wheelEvent(self, ev):
        self._wheel_rest += ev.angleDelta().y()
        steps = int(self._wheel_rest / 120)
        if steps:
            self._wheel_rest -= steps * 120
            self.controller.wheel(self.index, steps, modifiers=_modifiers(ev.modifiers()))

    def keyPressEvent(self, ev):
        ev.ignore()  # keys are the main window's shortcuts

    def keyReleaseEvent(self, ev):
        ev.ignore()

    def set_tool_cursor(self, name: str) -> None:
        self.setCursor(QtGui.QCursor(_CURSORS.get(name, QtCore.Qt.CursorShape.ArrowCursor)))

    def render_now(self) -> None:
        self.view.render()

    def set_state(self, state, index: int) -> None:
        """Show another viewport state in this render window (no new OpenGL context)."""
        self.state = state
        self.index = index
        self._press_pos = self._last_pos = None
        self._wheel_rest = 0
        self.view.set_state(state)

    def close_view(self) -> None:
        self.view.close()
        self.Finalize()


class QtViewport(QtWidgets.QFrame):
    """A viewport: VTK view, slice slider (for stacks) and a frame marking the active one."""

    def __init__(self, parent, state, index: int, controller, *, dpi: float = 96.0):
        super().__init__(parent)
        self.state = state
        self.index = index
        self.setObjectName(f"viewport{index}")
        self.setFrameShape(QtWidgets.QFrame.Shape.Box)
        self.setLineWidth(2)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(0)
        self.vtk = QtVtkView(self, state, index, controller, dpi=dpi)
        layout.addWidget(self.vtk, 1)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Vertical, self)
        self.slider.setObjectName("slice_slider")
        self.slider.setToolTip("Slice (drag, wheel, arrow keys, Page Up/Down)")
        self.slider.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        layout.addWidget(self.slider)
        self.slider.valueChanged.connect(self._slider_moved)
        self.cine = QtCore.QTimer(self)
        self.cine.timeout.connect(state.advance_cine)
        state.events.image.connect(self._on_image)
        state.events.slice_index.connect(self._on_slice)
        state.events.active.connect(self._on_active)
        state.events.cine_playing.connect(self._on_cine)
        state.events.cine_fps.connect(self._on_cine)
        self._on_image()
        self._on_active()

    def _on_image(self, event=None) -> None:
        image = self.state.image
        stack = image is not None and image.is_stack
        self.slider.setVisible(stack)
        if stack:
            with QtCore.QSignalBlocker(self.slider):
                self.slider.setRange(0, image.n_slices - 1)
                self.slider.setValue(self.state.slice_index)

    def _on_slice(self, event=None) -> None:
        with QtCore.QSignalBlocker(self.slider):
            self.slider.setValue(self.state.slice_index)

    def _slider_moved(self, value: int) -> None:
        self.state.slice_index = value

    def _on_active(self, event=None) -> None:
        color = "#3a8ee6" if self.state.active else "#202020"
        self.setStyleSheet(f"QFrame#{self.objectName()} {{ border: 2px solid {color}; background: black; }}")

    def _on_cine(self, event=None) -> None:
        if self.state.cine_playing:
            self.cine.start(int(round(1000.0 / self.state.cine_fps)))
        else:
            self.cine.stop()

    def set_state(self, state, index: int) -> None:
        """Show another viewport state (a new stage or study) in this viewport and its render
        window: the hanging area reuses its viewports when the grid keeps its shape."""
        if state is self.state and index == self.index:
            return
        self.cine.stop()
        self.cine.timeout.disconnect(self.state.advance_cine)
        callbacks = (
            ("image", self._on_image),
            ("slice_index", self._on_slice),
            ("active", self._on_active),
            ("cine_playing", self._on_cine),
            ("cine_fps", self._on_cine),
        )
        for name, cb in callbacks:
            getattr(self.state.events, name).disconnect(cb)
        self.state = state
        self.index = index
        self.setObjectName(f"viewport{index}")
        self.cine.timeout.connect(state.advance_cine)
        for name, cb in callbacks:
            getattr(state.events, name).connect(cb)
        self.vtk.set_state(state, index)
        self._on_image()
        self._on_active()
        self._on_cine()

    def close_view(self) -> None:
        self.cine.stop()
        for name, cb in (
            ("image", self._on_image),
            ("slice_index", self._on_slice),
            ("active", self._on_active),
            ("cine_playing", self._on_cine),
            ("cine_fps", self._on_cine),
        ):
            getattr(self.state.events, name).disconnect(cb)
        self.vtk.close_view()
