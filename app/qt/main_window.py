"""The workstation's main window: worklist, hanging area, commands and background jobs.

The window owns a :class:`~app.model.session.ReadingSession` (the state) and a
:class:`~app.model.worklist.WorklistModel`; widgets only show them and call their methods.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from app import __version__
from app.model import annotation  # noqa: F401  (registers the BI-RADS tools)
from app.model.session import ReadingSession
from app.model.tools import TOOLS
from app.model.worklist import WorklistModel
from app.qt.actions import QtHelpPanel, action_specs, build_actions
from app.qt.hanging_area import QtHangingArea
from app.qt.worklist_widget import QtWorklist

__all__ = ["QtMainWindow"]

_BUILTIN_TOOLS = {
    "window",
    "pan",
    "zoom",
    "ruler",
    "probe",
    "focus",
    "birads_point",
    "birads_ellipse",
    "birads_polygon",
}


class QtMainWindow(QtWidgets.QMainWindow):
    """Main window: the worklist on the left, the hanging area in the centre.

    Parameters
    ----------
    session : ReadingSession, optional
        The reading state (a new one by default).
    worklist : WorklistModel, optional
        Studies to list; open them with double click or Enter.
    store_dir : path, optional
        The store: worklist studies not loaded in memory come from it, findings, viewer state
        and reports go to it (default: ``$CRESCENT_HOME`` or the user data folder).
    reader : str, optional
        The reader's name for the audit history and reports (default: ``reader_name`` of the
        configuration's ``[preferences]``, else the login name).

    Opening a study loads its BI-RADS findings and viewer state from the store
    (:class:`~app.qt.study_findings.QtStudyFindings`) and marks a study of the store read.
    """

    def __init__(
        self,
        parent=None,
        *,
        session: ReadingSession | None = None,
        worklist: WorklistModel | None = None,
        store_dir=None,
        reader: str | None = None,
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
        self.last_report = None  # app.reports.study_report.WrittenReport of the last Report action
        self.findings_ui = None  # QtStudyFindings of the open study
        self._store = None
        self._reader = reader
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
        self.session.events.tool.connect(self._on_tool)
        self._on_tool()
        if self.worklist_model.entries:  # start on the worklist: wide enough for every column
            QtCore.QTimer.singleShot(0, lambda: self._worklist_width(640))
        self._update_status()
        from app.qt.cad_actions import install_cad  # CAD menu, marks, background runs (H9)

        install_cad(self)
        from app.qt.qc_actions import install_qc  # QC menu, QC mode of the open study's acquisition (H14)

        install_qc(self)

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

    def _worklist_width(self, width: int) -> None:
        if self.worklist_dock.isVisible():
            self.resizeDocks([self.worklist_dock], [width], QtCore.Qt.Orientation.Horizontal)

    def _on_tool(self, event=None) -> None:
        # Enter closes a polygon only while the polygon tool is active (else it stays with the widgets)
        act = self.actions_by_id.get("finish_outline")
        if act is not None:
            act.setEnabled(self.session.tool == "birads_polygon")

    @property
    def reader(self) -> str:
        """The reader's name (preferences, else the login name)."""
        if self._reader is None:
            import getpass

            from app.config import load_config
            from app.errors import CrescentError

            try:
                name = load_config().preferences.reader_name
            except CrescentError:
                name = ""
            if not name:
                try:
                    name = getpass.getuser()
                except (KeyError, OSError):
                    name = ""
            self._reader = name or "Unknown^Reader"
        return self._reader

    @property
    def store(self):
        """The open :class:`app.store.Store` (opened on first use, closed with the window)."""
        if self._store is None:
            from app.store import Store

            self._store = Store.open(self.store_dir)
        return self._store

    def _in_store(self, study_uid: str) -> bool:
        row = self.store.connection.execute("SELECT 1 FROM studies WHERE study_uid = ?", (study_uid,)).fetchone()
        return row is not None

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

    def open_study(
        self, study, *, protocol_id: str | None = None, restore: bool = True, read_only: bool = False
    ) -> None:
        """Hang ``study`` and bring its findings: with ``protocol_id`` its first stage, else the
        protocol, stage, slices and windows the reader left (``restore``) or the default protocol.

        A study with a Study Instance UID keeps its findings and viewer state in the store; a study
        of the store is marked read. ``read_only`` (screenshots) shows the saved findings and
        changes nothing in the store.
        """
        from app.errors import CrescentError

        self._close_findings()
        self._worklist_width(300)
        self.session.open(study, protocol_id=protocol_id)
        try:
            self._open_findings(study, restore=restore, keep_protocol=protocol_id is not None, read_only=read_only)
        except CrescentError as exc:
            self.show_error(str(exc))
        self._update_status()

    def _open_findings(self, study, *, restore: bool, keep_protocol: bool, read_only: bool) -> None:
        from app.model.findings import FindingsSession
        from app.model.loading import looks_like_uid
        from app.qt.study_findings import QtStudyFindings

        uid = study.study_uid if study is not None else ""
        if not (uid and looks_like_uid(uid)):
            findings = FindingsSession(uid or study.source or "unsaved", reader=self.reader)
            self.findings_ui = QtStudyFindings(self, findings)
            return
        from app.store.findings import load_session, save_session

        conn = self.store.connection
        findings = load_session(conn, uid, reader=self.reader)
        save = None if read_only else (lambda snap: save_session(conn, snap))
        self.findings_ui = QtStudyFindings(self, findings, save=save)
        state = findings.viewer_state
        if restore and state:
            if keep_protocol:
                state = {k: v for k, v in state.items() if k not in ("protocol", "stage", "active")}
            self.session.restore_viewer_state(state)
        if not read_only and self._in_store(uid) and study.status == "unread":
            self.set_study_status(uid, "read")

    def _close_findings(self) -> None:
        if self.findings_ui is not None:
            self.findings_ui.close()
            self.findings_ui.deleteLater()
            self.findings_ui = None

    def set_study_status(self, study_uid: str, status: str) -> None:
        """Record a study's reading status in the store and show it in the worklist."""
        from dataclasses import replace

        self.store.set_status(study_uid, status, by=self.reader)
        st = self.studies.get(study_uid)
        if st is not None:
            st.status = status
        if self.session.study is not None and self.session.study.study_uid == study_uid:
            self.session.study.status = status
        entries = self.worklist_model.entries
        if any(e.study_uid == study_uid for e in entries):
            self.worklist_model.entries = tuple(
                replace(e, status=status) if e.study_uid == study_uid else e for e in entries
            )

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
    def finish_outline(self) -> None:
        """Enter: the active tool finishes what it draws (closes a BI-RADS polygon)."""
        self.area.controller.finish()

    def toggle_findings(self) -> None:
        ui = self.findings_ui
        if ui is not None:
            visible = not ui.dock.isVisible()
            ui.dock.setVisible(visible)
            ui.assessment_dock.setVisible(visible)

    def write_report(self, *, open_file: bool = True):
        """Build the open study's BI-RADS report (PDF, HTML, DICOM SR) into the store, record it,
        mark the study reported and open the PDF. Returns the
        :class:`~app.reports.study_report.WrittenReport` (None after an error, shown to the user)."""
        from app.errors import CrescentError
        from app.model.loading import looks_like_uid
        from app.reports.study_report import write_study_report

        study, ui = self.session.study, self.findings_ui
        if study is None or ui is None:
            self.show_error("no study is open")
            return None
        uid = study.study_uid
        if not (uid and looks_like_uid(uid)):
            self.show_error(f"{study.source or 'this study'}: no Study Instance UID; a report needs DICOM images")
            return None
        QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.CursorShape.WaitCursor)
        try:
            if not self._in_store(uid):
                from app.store.importer import import_paths

                if not study.source or study.source.startswith("store:"):
                    raise CrescentError(f"study {uid} is not in the store {self.store.root}")
                import_paths(self.store, [study.source])
            ui.flush()
            written = write_study_report(self.store, uid, ui.findings, reader=self.reader)
        except CrescentError as exc:
            self.show_error(f"report: {exc}")
            return None
        finally:
            QtWidgets.QApplication.restoreOverrideCursor()
        self.set_study_status(uid, "reported")
        self.last_report = written
        self.statusBar().showMessage(f"Report written: {written.pdf} ({written.summary})")
        if open_file and not QtWidgets.QApplication.instance().property("crescent_no_dialogs"):
            from PySide6 import QtGui

            QtGui.QDesktopServices.openUrl(QtCore.QUrl.fromLocalFile(str(written.pdf)))
        return written

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
        for ps in result.projections:  # only the projection sets whose volume is missing
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
        self._close_findings()
        if self._store is not None:
            self._store.close()
            self._store = None
        self.area.close_views()
        super().closeEvent(event)
