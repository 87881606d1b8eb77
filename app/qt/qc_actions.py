"""Technologist QC in the workstation: a "QC" menu that opens the QC mode of an acquisition.

:func:`install_qc` plugs QC into a :class:`~app.qt.main_window.QtMainWindow` without the window
knowing about QC. "QC of the open study's acquisition" (Ctrl+Shift+Q) finds the projection set
of the open study (the store's files of a store study, else the folder it was loaded from; with
several sets, the one of the active viewport's breast and view), runs every acquisition check in
the background with a progress dialog (:mod:`app.jobs`), keeps the session in the store and
opens the QC mode (:class:`~app.qt.qc_mode.QCModeWindow`): projection cine with the flags beside
each projection, the checklist, accept/reject with a reason (a reject writes the KOS "Rejected
for Quality Reasons" into the store and records the decision) and the device trend view.
"QC of a projection file or folder…" (Ctrl+Alt+Q) does the same for files chosen in a dialog.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from app.qt.actions import ActionSpec, add_menu_actions

__all__ = ["QtQC", "install_qc", "qc_action_specs"]


def qc_action_specs() -> list[ActionSpec]:
    """The QC commands and their shortcuts (menu "QC")."""
    S = ActionSpec
    return [
        S("qc_open_study", "QC of the open study's acquisition", ("Ctrl+Shift+Q",), "QC", lambda w: w.qc.run_study()),
        S("qc_open_paths", "QC of a projection file or folder…", ("Ctrl+Alt+Q",), "QC", lambda w: w.qc.run_dialog()),
    ]


class QtQC(QtCore.QObject):
    """QC commands of one main window (see the module notes).

    Parameters
    ----------
    window : QtMainWindow
    store : bool
        Keep QC sessions and decisions in the store ``window.store_dir``.
    limits : recon.qc.limits.QCLimits, optional
        Default: the device's limits kept in the store.
    """

    def __init__(self, window, *, store: bool = True, limits=None):
        super().__init__(window)
        self.window = window
        self.use_store = bool(store)
        self.limits = limits
        self.last_run = None  # app.model.qc_runs.QCRun of the last finished run
        self.mode = None  # the QCModeWindow of the last run
        self.windows: list = []
        self.specs = qc_action_specs()
        self.actions = self._build_actions()
        window.specs.extend(self.specs)  # the help panel lists them

    def _build_actions(self) -> dict[str, QtGui.QAction]:
        menu = self.window.menuBar().addMenu("QC")
        menu.setObjectName("qc_menu")
        return add_menu_actions(self.window, menu, self.specs)

    def _dialogs_allowed(self) -> bool:
        return not QtWidgets.QApplication.instance().property("crescent_no_dialogs")

    # -- choosing what to check --------------------------------------------------------
    def run_study(self):
        """Check the open study's projection set in the background; returns the Job (or None)."""
        from app.errors import CrescentError
        from app.model.qc_runs import projection_choices, study_paths

        study = self.window.session.study
        if study is None:
            self.window.show_error("QC: open a study first (or use QC of a projection file or folder)")
            return None
        try:
            paths = study_paths(study, store_dir=self.window.store_dir if self.use_store else None)
            if not paths:
                raise CrescentError(f"{study.source or 'this study'}: no files known for it to find projections in")
            choices = projection_choices(paths)
        except CrescentError as exc:
            self.window.show_error(f"QC: {exc}")
            return None
        choice = self._choose(choices)
        return None if choice is None else self.run_files(choice.files)

    def run_dialog(self):
        """Ask for a projection file or folder and check it."""
        if not self._dialogs_allowed():
            return None
        path = QtWidgets.QFileDialog.getExistingDirectory(self.window, "Projections to check")
        return self.run_paths([path]) if path else None

    def run_paths(self, paths):
        """Check the projection set found in ``paths`` (files or folders); returns the Job (or None)."""
        from app.errors import CrescentError
        from app.model.qc_runs import projection_choices

        try:
            choices = projection_choices(paths)
        except CrescentError as exc:
            self.window.show_error(f"QC: {exc}")
            return None
        choice = self._choose(choices)
        return None if choice is None else self.run_files(choice.files)

    def _choose(self, choices):
        """The set of the active viewport's breast and view, the only one, or the user's pick."""
        if len(choices) == 1:
            return choices[0]
        vp = self.window.session.active_viewport
        image = vp.image if vp is not None else None
        if image is not None:
            same = [c for c in choices if (c.laterality, c.view) == (image.laterality, (image.view or "").upper())]
            if len(same) == 1:
                return same[0]
        if not self._dialogs_allowed():
            return choices[0]
        labels = [f"{c.laterality} {c.view}: {c.description}" for c in choices]
        label, ok = QtWidgets.QInputDialog.getItem(self.window, "QC", "Projection set to check", labels, 0, False)
        return choices[labels.index(label)] if ok else None

    # -- running -----------------------------------------------------------------------
    def run_files(self, files):
        """Check one projection set in the background with a progress dialog; returns the Job."""
        from app.jobs import default_runner
        from app.model.qc_runs import qc_task
        from app.qt.job_dialog import QtJobDialog

        task = qc_task(files, store=self.use_store, store_dir=self.window.store_dir, limits=self.limits)
        job = default_runner().submit(task, title="Checking the acquisition")
        dialog = QtJobDialog(job, self.window)
        dialog.watcher.finished.connect(self._on_finished)
        dialog.watcher.failed.connect(lambda msg: self.window.show_error(f"QC failed: {msg}"))
        dialog.show()
        self.window.jobs.append((job, dialog))  # the window cancels them when it closes
        return job

    def _on_finished(self, run) -> None:
        if run is None:
            return
        self.last_run = run
        self.open_mode(run)
        self.window.statusBar().showMessage(f"QC {run.report.status.upper()}: {run.note}", 8000)

    def open_mode(self, run):
        """Open the QC mode of a finished :class:`~app.model.qc_runs.QCRun`; returns its window."""
        from app.model.qc_runs import decision_recorder
        from app.model.qc_session import QCSessionModel
        from app.qt.qc_mode import QCModeWindow

        on_decision = decision_recorder(run, store_dir=self.window.store_dir) if self.use_store else None
        model = QCSessionModel(run.projections, run.report, on_decision=on_decision, trends=run.trends)
        mode = QCModeWindow(model, technologist=self._technologist(), subject=run.subject, parent=self.window)
        mode.setWindowFlag(QtCore.Qt.WindowType.Window, True)
        mode.setObjectName("qc_mode")
        mode.show()
        self.mode = mode
        self.windows.append(mode)
        return mode

    def _technologist(self) -> str:
        return str(getattr(self.window, "reader", "") or "")

    def close(self) -> None:
        for w in self.windows:
            w.close()
        self.windows.clear()


def install_qc(window, **options) -> QtQC:
    """Add QC to a main window (``window.qc``); ``options`` go to :class:`QtQC`."""
    window.qc = QtQC(window, **options)
    return window.qc
