"""The BI-RADS findings of the study open in the main window: tools, overlays, panels, autosave, viewer state.

:class:`QtStudyFindings` connects one :class:`~app.model.findings.FindingsSession` to the main
window's :class:`~app.model.session.ReadingSession`:

- the ``birads_*`` tools of the viewer act through an :class:`~app.model.annotation.AnnotationController`
  (:func:`app.model.annotation.bind`);
- :class:`~app.model.annotation.FindingsOverlay` draws the findings on the viewports (again after
  every change of layout);
- the findings panel (list, lexicon form, CAD marks) and the assessment panel are docked on the right;
- a mark on an image without landmarks gets them (:func:`app.model.study_findings.ensure_view_geometries`),
  so the location (quadrant, clock, depth, distance from the nipple) is derived;
- the CAD marks of the window's CAD results (:mod:`app.qt.cad_actions`, when installed) are listed
  in the findings panel to accept or dismiss;
- every 100 ms the viewer state (protocol, stage, slices, window/level, zoom) goes into the session
  and the :class:`~app.store.findings.Autosaver` saves what changed (within a second).
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from app.model import annotation
from app.model.findings import FindingsEvent, FindingsSession
from app.model.study_findings import ensure_view_geometries
from app.qt.findings_assessment import QtAssessmentPanel
from app.qt.findings_panel import QtFindingsPanel, start_autosave_timer

__all__ = ["QtStudyFindings"]


class QtStudyFindings(QtCore.QObject):
    """Findings of the open study, wired into ``window`` (a :class:`~app.qt.main_window.QtMainWindow`).

    Parameters
    ----------
    window : QtMainWindow
    findings : FindingsSession
    save : callable, optional
        ``save(snapshot)`` (e.g. :func:`app.store.findings.save_session` on the store's connection);
        without it nothing is saved (a study that is not in the store and has no Study Instance UID).
    """

    def __init__(self, window, findings: FindingsSession, *, save=None):
        super().__init__(window)
        if not isinstance(findings, FindingsSession):
            raise TypeError("findings must be a FindingsSession")
        self.window = window
        self.session = window.session
        self.findings = findings
        self.controller = annotation.AnnotationController(findings)
        annotation.bind(self.session, self.controller)
        self.overlay = annotation.FindingsOverlay(findings, lambda: self.session.viewports)
        self.session.events.layout.connect(self._on_layout)
        self._unsubscribe = findings.subscribe(self._on_findings)
        self.saver = None
        if save is not None:
            from app.store.findings import Autosaver

            self.saver = Autosaver(findings, save)
            self.timer = start_autosave_timer(self, self.saver)
        else:
            self.timer = QtCore.QTimer(self)
            self.timer.setInterval(100)
            self.timer.start()
        self.timer.timeout.connect(self.sync_viewer_state)
        self.panel = QtFindingsPanel(findings, self.controller)
        self.panel.setObjectName("findings_panel")
        self.assessment = QtAssessmentPanel(findings)
        self.assessment.setObjectName("assessment_panel")
        self.dock = self._dock("Findings", "findings_dock", self.panel)
        self.assessment_dock = self._dock("Assessment", "assessment_dock", self.assessment)
        window.tabifyDockWidget(self.dock, self.assessment_dock)
        self.dock.raise_()
        ensure_view_geometries(findings, self._images())
        self._cad = getattr(window, "cad", None)
        if self._cad is not None:
            self._cad.controller.events.results.connect(self._on_cad_results)
            self._on_cad_results()

    def _dock(self, title: str, name: str, widget) -> QtWidgets.QDockWidget:
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(widget)
        dock = QtWidgets.QDockWidget(title, self.window)
        dock.setObjectName(name)
        dock.setWidget(scroll)
        dock.setMinimumWidth(340)
        self.window.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, dock)
        return dock

    def _images(self):
        study = self.session.study
        return list(study.images) if study is not None else []

    def _on_layout(self, event=None) -> None:
        self.overlay.refresh()

    def _on_findings(self, event: FindingsEvent) -> None:
        if event.kind in ("finding_added", "finding_changed", "reloaded"):
            ensure_view_geometries(self.findings, self._images())

    def _on_cad_results(self, event=None) -> None:
        marks = self._cad.controller.cad_marks(self.session.study)
        key = sorted(m.id for m in marks)
        if marks and key != sorted(m.id for m in self.findings.cad_marks):
            self.findings.set_cad_marks(marks)

    def sync_viewer_state(self) -> None:
        """Put the reading session's viewer state into the findings session (saved with it)."""
        if self.session.study is not None:
            self.findings.set_viewer_state(self.session.viewer_state())

    def restore_viewer_state(self) -> bool:
        """Apply the saved viewer state to the reading session; returns whether there was one."""
        state = self.findings.viewer_state
        if not state:
            return False
        self.session.restore_viewer_state(state)
        return True

    def flush(self) -> None:
        """Save now what is pending (viewer state included)."""
        self.sync_viewer_state()
        if self.saver is not None:
            self.saver.flush()

    def close(self) -> None:
        """Save, stop listening and remove the panels."""
        self.timer.stop()
        self.flush()
        if self.saver is not None:
            self.saver.close()
        self._unsubscribe()
        self.overlay.close()
        self.session.events.layout.disconnect(self._on_layout)
        if self._cad is not None:
            self._cad.controller.events.results.disconnect(self._on_cad_results)
        for vp in self.session.viewports:
            for item in [
                it for it in vp.overlays if it.source in (annotation.FindingsOverlay.SOURCE, "birads_preview")
            ]:
                vp.overlays.remove(item)
        for dock, widget in ((self.dock, self.panel), (self.assessment_dock, self.assessment)):
            widget.close()  # unsubscribes from the findings session
            self.window.removeDockWidget(dock)
            dock.deleteLater()
