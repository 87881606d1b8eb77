"""The workstation's main window: worklist, hanging area, commands and background jobs.

The window owns a :class:`~app.model.session.ReadingSession` (the state) and a
:class:`~app.model.worklist.WorklistModel`; widgets only show them and call their methods.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from app import __version__
from app.model.session import ReadingSession
from app.model.tools import TOOLS
from app.model.worklist import WorklistModel
from app.qt.actions import QtHelpPanel, action_specs, build_actions
from app.qt.hanging_area import QtHangingArea
from app.qt.worklist_widget import QtWorklist

__all__ = ["QtMainWindow"]

_BUILTIN_TOOLS = {"window", "pan", "zoom", "ruler", "probe", "focus"}


class QtMainWindow(QtWidgets.QMainWindow):
    """Main window: the worklist on the left, the hanging area in the centre.

    Parameters
    ----------
    session : ReadingSession, optional
        The reading state (a new one by default).
    worklist : WorklistModel, optional
        Studies to list; open them with double click or Enter.
    store_dir : path, optional
        Store to load worklist studies from (studies not loaded in memory).
    """

    def __init__(
        self,
        parent=None,
        *,
        session: ReadingSession | None = None,
        worklist: WorklistModel | None = None,
        store_dir=None,
    ):
        super().__init__(parent)
        self.setWindowTitle(f"Crescent {__version__}")
        self.resize(1280, 800)
        self.session = session or ReadingSession()
        self.worklist_model = worklist or WorklistModel()
        self.store_dir = store_dir
        self.studies: dict = {}  # study_uid -> in-memory Study
        self.jobs: list = []
        self.last_error: str | None = None
        self.worklist = QtWorklist(self.worklist_model, self)
        self.worklist.setObjectName("worklist")
        self.worklist.open_requested.connect(self.open_study_uid)
        self.worklist_dock = QtWidgets.QDockWidget("Worklist", self)
        self.worklist_dock.setObjectName("worklist_dock")
        self.worklist_dock.setWidget(self.worklist)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.LeftDockWidgetArea, self.worklist_dock)
        dpi = self._screen_dpi()
        self.area = QtHangingArea(self.session, self, dpi=dpi)
        self.setCentralWidget(self.area)
        self.specs = action_specs()
        self.actions_by_id = build_actions(self, self.specs)
        self._add_plugin_tools()
        self.help_panel: QtHelpPanel | None = None
        self.session.events.changed.connect(self._update_status)
        self.session.events.layout.connect(self._update_status)
        self._update_status()
        from app.qt.cad_actions import install_cad  # CAD menu, marks, background runs (H9)

        install_cad(self)

    # -- helpers -----------------------------------------------------------------------
    def _screen_dpi(self) -> float:
        screen = QtWidgets.QApplication.primaryScreen()
        dpi = float(screen.physicalDotsPerInch()) if screen is not None else 96.0
        return dpi if 30.0 < dpi < 1000.0 else 96.0

    def _add_plugin_tools(self) -> None:
        menu = self.menuBar().addMenu("Plug-in tools")
        self._plugin_menu = menu
        for cls in TOOLS.classes():
            if cls.name in _BUILTIN_TOOLS:
                continue
            act = menu.addAction(cls.title)
            act.setObjectName(f"tool_{cls.name}")
            if cls.shortcut:
                act.setShortcut(cls.shortcut)
            act.triggered.connect(lambda checked=False, n=cls.name: setattr(self.session, "tool", n))
            self.addAction(act)
        menu.menuAction().setVisible(bool(menu.actions()))

    @property
    def viewports(self):
        """The viewport widgets of the current stage."""
        return self.area.viewports

    def _update_status(self, event=None) -> None:
        s = self.session
        stage = s.stage
        link = "linked" if s.link_scrolling else "unlinked"
        study = s.study
        who = f"{study.patient_name}  {study.study_date}  |  " if study is not None else ""
        self.statusBar().showMessage(
            f"{who}{s.protocol.name}: {stage.name} ({s.stage_index + 1}/{len(s.protocol.stages)})  |  "
            f"tool: {s.tool}  |  scrolling {link}  |  F1: shortcuts"
        )

    # -- studies -----------------------------------------------------------------------
    def add_studies(self, studies) -> None:
        """Keep in-memory studies and list them in the worklist."""
        for st in studies:
            uid = st.study_uid or st.source or f"study-{len(self.studies)}"
            self.studies[uid] = st
        from app.model.worklist import WorklistModel as _W

        entries = {e.study_uid: e for e in self.worklist_model.entries}
        for e in _W.from_studies(list(self.studies.values())).entries:
            entries[e.study_uid] = e
        self.worklist_model.entries = tuple(entries.values())

    def open_study(self, study, *, protocol_id: str | None = None) -> None:
        """Hang ``study`` with the first stage of the protocol."""
        self.session.open(study, protocol_id=protocol_id)
        self._update_status()

    def open_study_uid(self, study_uid: str) -> None:
        """Open a worklist study (in memory, else from the store); errors go to a dialog."""
        study = self.studies.get(study_uid)
        if study is None:
            from app.errors import CrescentError
            from app.model.loading import load_store_study

            try:
                result = load_store_study(study_uid, store_dir=self.store_dir)
            except CrescentError as exc:
                self.show_error(str(exc))
                return
            study = result.study
            self.studies[study_uid] = study
        self.open_study(study)

    def show_error(self, message: str) -> None:
        """One-line error for the user (a dialog; kept in ``last_error`` for tests)."""
        self.last_error = message
        self.statusBar().showMessage(message)
        if not QtWidgets.QApplication.instance().property("crescent_no_dialogs"):
            QtWidgets.QMessageBox.warning(self, "Crescent", message)

    # -- commands ----------------------------------------------------------------------
    def show_help(self) -> QtHelpPanel:
        extra = [c for c in TOOLS.classes() if c.name not in _BUILTIN_TOOLS]
        self.help_panel = QtHelpPanel(self.specs, self, extra_tools=extra)
        self.help_panel.show()
        return self.help_panel

    def toggle_worklist(self) -> None:
        self.worklist_dock.setVisible(not self.worklist_dock.isVisible())

    def open_dialog(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Open a study folder")
        if path:
            self.load_paths([path])

    def load_paths(self, paths) -> None:
        from app.errors import CrescentError
        from app.model.loading import load_paths

        try:
            result = load_paths(paths)
        except CrescentError as exc:
            self.show_error(str(exc))
            return
        self.add_studies([result.study])
        if result.study.images:
            self.open_study(result.study)
        for ps in result.projections:
            self.reconstruct(ps)

    def reconstruct_dialog(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Projections to reconstruct")
        if path:
            self.load_paths([path])

    def reconstruct(self, projections, grid=None, *, reconstruct=None, preview: bool = True):
        """Reconstruct in the background with a progress dialog; the preview is shown first,
        then replaced by the full volume. Returns the :class:`app.jobs.Job`."""
        from app.jobs import default_runner, reconstruction_task
        from app.qt.job_dialog import QtJobDialog

        task = reconstruction_task(projections, grid, reconstruct=reconstruct, preview=preview)
        job = default_runner().submit(task, title="Reconstructing")
        dialog = QtJobDialog(job, self)
        dialog.watcher.partial.connect(lambda name, vol: self._show_volume(vol, preview=True))
        dialog.watcher.finished.connect(lambda vol: self._show_volume(vol, preview=False))
        dialog.watcher.failed.connect(lambda msg: self.show_error(f"reconstruction failed: {msg}"))
        dialog.show()
        self.jobs.append((job, dialog))
        return job

    def _show_volume(self, volume, *, preview: bool) -> None:
        if volume is None:
            return
        from app.model.loading import image_from_volume
        from app.model.study import Study

        image = image_from_volume(volume)
        if preview:
            image.label = f"{image.laterality} {image.view} preview"
        study = self.session.study
        if study is None:
            study = Study(images=[], patient_name="Reconstruction", source="reconstruction")
        keep = [
            im
            for im in study.images
            if not (im.kind == "tomo" and (im.laterality, im.view) == (image.laterality, image.view))
        ]
        study.images = keep + [image]
        self.session.open(study, protocol_id=self.session.protocol_id)

    def screenshot_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save screenshot", "crescent.png", "PNG (*.png)")
        if path:
            from app.qt.application import save_screenshot

            self.render_all()
            save_screenshot(self, path)

    # -- rendering ---------------------------------------------------------------------
    def render_all(self) -> None:
        """Render every viewport now (before a screenshot)."""
        QtWidgets.QApplication.processEvents()
        self.area.render_all()

    def closeEvent(self, event):
        for job, dialog in self.jobs:
            job.cancel()
            dialog.close()
        self.area.close_views()
        super().closeEvent(event)
