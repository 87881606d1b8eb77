"""CAD in the workstation: a "CAD" menu with its shortcuts, background runs, marks and case scores.

:func:`install_cad` plugs CAD into a :class:`~app.qt.main_window.QtMainWindow` without the
window knowing about CAD: it adds the menu and shortcuts (also listed in the help panel), a
:class:`~app.model.cad_marks.CadMarksController` on the window's reading session (marks drawn by
the glyphs of :mod:`app.render.cad_marks`), runs CAD in the background with a progress dialog
(:mod:`app.jobs`), keeps results in the store, loads stored results when a study is hung, and
puts case scores into the worklist (its "CAD" column sorts by them for triage).
"""

from __future__ import annotations

from dataclasses import replace

from PySide6 import QtCore, QtGui

import app.render.cad_marks  # noqa: F401  (registers the CAD glyphs)
from app.model.cad_marks import CadMarksController
from app.qt.actions import ActionSpec, add_menu_actions

__all__ = ["QtCad", "install_cad", "cad_action_specs"]


def cad_action_specs() -> list[ActionSpec]:
    """The CAD commands and their shortcuts (menu "CAD")."""
    S = ActionSpec
    return [
        S("cad_run", "Run CAD on the active image", ("Ctrl+Shift+C",), "CAD", lambda w: w.cad.run_active()),
        S("cad_toggle", "CAD marks on/off", ("C",), "CAD", lambda w: w.cad.controller.toggle()),
        S(
            "cad_all",
            "All CAD marks / operating point only",
            ("Shift+C",),
            "CAD",
            lambda w: w.cad.controller.toggle_show_all(),
        ),
        S("cad_next", "Next CAD finding (jump to its slice)", (".",), "CAD", lambda w: w.cad.controller.next()),
        S("cad_prev", "Previous CAD finding", (",",), "CAD", lambda w: w.cad.controller.previous()),
    ]


def _min_score() -> float:
    """The reading operating point from the configuration (its default when the file is bad)."""
    from app.config import Preferences, load_config
    from app.errors import CrescentError

    try:
        return load_config().preferences.cad_mark_min_score
    except CrescentError:
        return Preferences().cad_mark_min_score


class QtCad(QtCore.QObject):
    """CAD commands of one main window (see the module notes).

    Parameters
    ----------
    window : QtMainWindow
    models : "default", "classical" or list of manifests
        What :meth:`run_active` detects with.
    threads : int
        Inference threads.
    store : bool
        Keep results in (and load them from) the store ``window.store_dir``.
    """

    def __init__(self, window, *, models="default", threads: int = 2, store: bool = True):
        super().__init__(window)
        self.window = window
        self.models = models
        self.threads = int(threads)
        self.use_store = bool(store)
        self.controller = CadMarksController(window.session, geometry_for=self._geometry, min_score=_min_score())
        self.last_run = None
        self._loaded: set[str] = set()
        self.specs = cad_action_specs()
        self.actions = self._build_actions()
        window.specs.extend(self.specs)  # the help panel lists them
        self.controller.events.results.connect(self._on_results)
        window.session.events.layout.connect(self._on_layout)
        self.refresh_worklist_scores()
        self._on_layout()

    # -- plumbing ----------------------------------------------------------------------
    def _build_actions(self) -> dict[str, QtGui.QAction]:
        menu = self.window.menuBar().addMenu("CAD")
        menu.setObjectName("cad_menu")
        return add_menu_actions(self.window, menu, self.specs)

    def _geometry(self, index: int):
        views = self.window.area.viewports
        if 0 <= index < len(views):
            return views[index].vtk.view.geometry
        return None

    def _status(self, message: str) -> None:
        self.window.statusBar().showMessage(message, 8000)

    # -- running -----------------------------------------------------------------------
    def run_active(self):
        """Run CAD on the active viewport's DBT stack in the background; returns the Job (or None)."""
        from app.jobs import default_runner
        from app.model.cad_runs import cad_task
        from app.qt.job_dialog import QtJobDialog

        vp = self.window.session.active_viewport
        image = vp.image if vp is not None else None
        if image is None or image.kind != "tomo" or not image.is_stack:
            self.window.show_error("CAD: make a DBT slice stack the active viewport first")
            return None
        study = self.window.session.study
        task = cad_task(
            image,
            models=self.models,
            threads=self.threads,
            store=self.use_store,
            store_dir=self.window.store_dir,
            study_uid=(study.study_uid if study is not None else None) or None,
        )
        job = default_runner().submit(task, title=f"CAD {image.label or image.uid}")
        dialog = QtJobDialog(job, self.window)
        dialog.watcher.finished.connect(self._on_finished)
        dialog.watcher.failed.connect(lambda msg: self.window.show_error(f"CAD failed: {msg}"))
        dialog.show()
        self.window.jobs.append((job, dialog))  # the window cancels them when it closes
        return job

    def _on_finished(self, run) -> None:
        if run is None:
            return
        self.last_run = run
        self.controller.set_result(run.uid, run.result)
        if run.note:
            self._status(run.note)

    # -- results, worklist -------------------------------------------------------------
    def _on_results(self, event=None) -> None:
        QtCore.QTimer.singleShot(0, self._push_to_findings)  # after open_study has made its findings UI
        study = self.window.session.study
        score = self.controller.study_case_score(study)
        if study is None or score is None:
            return
        self.set_worklist_score(study.study_uid or study.source, score)

    def _push_to_findings(self) -> None:
        """Give the findings panel (accept/dismiss) the CAD marks of the open study."""
        ui = getattr(self.window, "findings_ui", None)
        findings = getattr(ui, "findings", None)
        if findings is None or not hasattr(findings, "set_cad_marks"):
            return
        try:
            marks = self.controller.cad_marks()
            if marks:  # never wipe marks the findings session got elsewhere
                findings.set_cad_marks(marks)
        except (TypeError, ValueError) as exc:  # a mark the findings model cannot take (e.g. an odd view)
            self._status(f"CAD marks not listed in the findings panel: {exc}")

    def set_worklist_score(self, study_uid: str, score: float | None) -> None:
        model = self.window.worklist_model
        entries = tuple(replace(e, score=score) if e.study_uid == study_uid else e for e in model.entries)
        if entries != model.entries:
            model.entries = entries

    def refresh_worklist_scores(self) -> None:
        """Case scores of the store's studies into the worklist."""
        if not self.use_store:
            return
        from app.errors import CrescentError
        from app.model.cad_runs import case_scores_from_store

        try:
            scores = case_scores_from_store(store_dir=self.window.store_dir)
        except CrescentError:
            return
        model = self.window.worklist_model
        if scores and any(e.study_uid in scores for e in model.entries):
            model.entries = tuple(
                replace(e, score=scores[e.study_uid]) if e.study_uid in scores else e for e in model.entries
            )

    def _on_layout(self, event=None) -> None:
        study = self.window.session.study
        if study is not None:  # a re-opened study gets a new findings session: give it the marks again
            QtCore.QTimer.singleShot(0, self._push_to_findings)
        if not self.use_store or study is None or not study.study_uid or study.study_uid in self._loaded:
            return
        self._loaded.add(study.study_uid)
        from app.errors import CrescentError
        from app.model.cad_runs import load_from_store

        try:
            results = load_from_store(study.study_uid, study.images, store_dir=self.window.store_dir)
        except CrescentError as exc:
            self._status(f"stored CAD results not loaded: {exc}")
            return
        for uid, result in results.items():
            self.controller.set_result(uid, result)

    def close(self) -> None:
        self.window.session.events.layout.disconnect(self._on_layout)
        self.controller.close()


def install_cad(window, **options) -> QtCad:
    """Add CAD to a main window (``window.cad``); ``options`` go to :class:`QtCad`."""
    window.cad = QtCad(window, **options)
    return window.cad
