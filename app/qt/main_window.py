"""The workstation's main window: worklist beside the viewing area."""

from __future__ import annotations

import vtkmodules.vtkInteractionStyle  # noqa: F401
import vtkmodules.vtkRenderingFreeType  # noqa: F401  (text rendering)
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (registers the OpenGL render window)
from PySide6 import QtCore, QtWidgets
from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor
from vtkmodules.vtkRenderingCore import vtkRenderer, vtkTextActor

from app import __version__


class QtPlaceholderViewport(QVTKRenderWindowInteractor):
    """A VTK viewport that shows a message until a study is hung in it."""

    def __init__(self, parent: QtWidgets.QWidget | None, message: str):
        super().__init__(parent)
        self.renderer = vtkRenderer()
        self.renderer.SetBackground(0.02, 0.02, 0.03)
        self.renderer.SetBackground2(0.10, 0.11, 0.16)
        self.renderer.GradientBackgroundOn()
        text = vtkTextActor()
        text.SetInput(message)
        prop = text.GetTextProperty()
        prop.SetFontSize(18)
        prop.SetColor(0.85, 0.85, 0.9)
        prop.SetJustificationToCentered()
        prop.SetVerticalJustificationToCentered()
        text.GetPositionCoordinate().SetCoordinateSystemToNormalizedViewport()
        text.GetPositionCoordinate().SetValue(0.5, 0.5)
        self.renderer.AddViewProp(text)
        self.GetRenderWindow().AddRenderer(self.renderer)


class QtMainWindow(QtWidgets.QMainWindow):
    """Main window: the worklist on the left, the hanging area in the centre."""

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Crescent {__version__}")
        self.resize(1280, 800)
        self.worklist = QtWidgets.QTableWidget(0, 4)
        self.worklist.setHorizontalHeaderLabels(["Patient", "Date", "Views", "Status"])
        self.worklist.horizontalHeader().setStretchLastSection(True)
        dock = QtWidgets.QDockWidget("Worklist", self)
        dock.setObjectName("worklist_dock")
        dock.setWidget(self.worklist)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        grid = QtWidgets.QWidget(self)
        layout = QtWidgets.QGridLayout(grid)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.viewports = []
        for i, label in enumerate(["R CC", "L CC", "R MLO", "L MLO"]):
            vp = QtPlaceholderViewport(grid, f"{label}\nno study open")
            layout.addWidget(vp, i // 2, i % 2)
            self.viewports.append(vp)
        self.setCentralWidget(grid)
        self.statusBar().showMessage("Ready")

    def showEvent(self, event):
        super().showEvent(event)
        for vp in self.viewports:
            vp.Initialize()

    def render_all(self) -> None:
        """Render every viewport now (before a screenshot)."""
        for vp in self.viewports:
            vp.GetRenderWindow().Render()

    def closeEvent(self, event):
        for vp in self.viewports:
            vp.Finalize()
        super().closeEvent(event)
