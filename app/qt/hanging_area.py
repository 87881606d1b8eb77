"""The hanging area: the grid of viewports of the session's current protocol stage."""

from __future__ import annotations

from PySide6 import QtWidgets

from app.model.interaction import InteractionController
from app.qt.viewport_widget import QtViewport

__all__ = ["QtHangingArea"]


class QtHangingArea(QtWidgets.QWidget):
    """Rebuilds its grid of :class:`QtViewport` whenever the session's layout changes."""

    def __init__(self, session, parent=None, *, dpi: float = 96.0):
        super().__init__(parent)
        self.session = session
        self.controller = InteractionController(session)
        self.dpi = dpi
        self.grid = QtWidgets.QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(0)
        self.viewports: list[QtViewport] = []
        session.events.layout.connect(self._rebuild)
        session.events.tool.connect(self._on_tool)
        self._rebuild()

    def _rebuild(self, event=None) -> None:
        stage = self.session.stage
        shape = (stage.rows, stage.cols, len(self.session.viewports))
        if self.viewports and shape == getattr(self, "_shape", None):
            # same grid: keep the viewports and their render windows (an OpenGL context costs
            # ~0.3 s to create in software OpenGL), show the new states in them
            for i, state in enumerate(self.session.viewports):
                self.viewports[i].set_state(state, i)
            self._on_tool()
            return
        self._shape = shape
        for vp in self.viewports:
            self.grid.removeWidget(vp)
            vp.close_view()
            vp.hide()
            vp.deleteLater()
        self.viewports = []
        stage = self.session.stage
        for r in range(self.grid.rowCount()):
            self.grid.setRowStretch(r, 0)
        for c in range(self.grid.columnCount()):
            self.grid.setColumnStretch(c, 0)
        for i, state in enumerate(self.session.viewports):
            vp = QtViewport(self, state, i, self.controller, dpi=self.dpi)
            self.grid.addWidget(vp, i // stage.cols, i % stage.cols)
            self.viewports.append(vp)
        for r in range(stage.rows):
            self.grid.setRowStretch(r, 1)
        for c in range(stage.cols):
            self.grid.setColumnStretch(c, 1)
        self._on_tool()

    def _on_tool(self, event=None) -> None:
        cursor = self.controller.tool(self.session.tool).cursor
        for vp in self.viewports:
            vp.vtk.set_tool_cursor(cursor)

    def render_all(self) -> None:
        for vp in self.viewports:
            vp.vtk.render_now()

    def close_views(self) -> None:
        for vp in self.viewports:
            vp.close_view()
        self.viewports = []
