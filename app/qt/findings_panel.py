"""The findings panel: the study's findings, the annotation mode, CAD marks to accept or dismiss, and the form."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from app.model.findings import FindingsEvent, FindingsSession
from app.qt.findings_form import QtDescriptorForm
from app.reports.birads import location_text, size_text


def finding_summary(session: FindingsSession, f) -> str:
    """One line for the list: number, breast, type, location, size, category, views."""
    ft = session.lexicon.finding_type(f.kind)
    loc = session.location(f.id)
    where = loc.region or (f"{loc.quadrant} {loc.clock}:00" if loc.clock else loc.quadrant or "")
    views = "+".join(sorted(m.family for m in f.marks)) or "no mark"
    bits = [
        f"#{f.number} {f.laterality} {ft.label}",
        where,
        size_text(f),
        f"BI-RADS {f.category}" if f.category else "",
        f"[{views}]",
    ]
    return "  ".join(b for b in bits if b)


class QtFindingsPanel(QtWidgets.QWidget):
    """Lists findings and CAD marks of a :class:`FindingsSession`; edits go to the session.

    Parameters
    ----------
    session : FindingsSession
    controller : AnnotationController, optional
        When given, the panel shows the drawing mode (point / ellipse / polygon) and selecting a
        finding makes it the controller's current finding (the next mark on the other view links).
    """

    def __init__(self, session: FindingsSession, controller=None, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        if not isinstance(session, FindingsSession):
            raise TypeError("session must be a FindingsSession")
        self.session = session
        self.controller = controller
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        if controller is not None:
            row = QtWidgets.QHBoxLayout()
            self.mode_buttons = {}
            group = QtWidgets.QButtonGroup(self)
            for mode in ("point", "ellipse", "polygon"):
                b = QtWidgets.QToolButton()
                b.setText(mode.capitalize())
                b.setCheckable(True)
                b.setChecked(controller.mode == mode)
                b.clicked.connect(lambda _c=False, m=mode: self.controller.set_mode(m))
                group.addButton(b)
                row.addWidget(b)
                self.mode_buttons[mode] = b
            new = QtWidgets.QPushButton("New finding")
            new.setToolTip("The next mark starts a new finding")
            new.clicked.connect(self._new_finding)
            row.addWidget(new)
            lay.addLayout(row)
        lay.addWidget(QtWidgets.QLabel("Findings"))
        self.list = QtWidgets.QListWidget()
        self.list.setObjectName("findings_list")
        self.list.currentItemChanged.connect(self._selected)
        lay.addWidget(self.list, 2)
        self.delete_button = QtWidgets.QPushButton("Delete finding")
        self.delete_button.clicked.connect(self._delete)
        lay.addWidget(self.delete_button)
        self.form = QtDescriptorForm(session)
        lay.addWidget(self.form, 4)
        lay.addWidget(QtWidgets.QLabel("CAD marks"))
        self.cad_list = QtWidgets.QListWidget()
        self.cad_list.setObjectName("cad_list")
        lay.addWidget(self.cad_list, 1)
        row = QtWidgets.QHBoxLayout()
        self.accept_button = QtWidgets.QPushButton("Accept as finding")
        self.accept_button.clicked.connect(self._accept)
        self.dismiss_button = QtWidgets.QPushButton("Dismiss")
        self.dismiss_button.clicked.connect(self._dismiss)
        row.addWidget(self.accept_button)
        row.addWidget(self.dismiss_button)
        lay.addLayout(row)
        self._unsubscribe = session.subscribe(self._on_event)
        self.refresh()

    def refresh(self) -> None:
        current = self.selected_id()
        self.list.blockSignals(True)
        self.list.clear()
        for f in self.session.findings:
            item = QtWidgets.QListWidgetItem(finding_summary(self.session, f))
            item.setData(QtCore.Qt.ItemDataRole.UserRole, f.id)
            item.setToolTip(location_text(self.session, f))
            self.list.addItem(item)
            if f.id == current:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        decisions = self.session.cad_decisions
        self.cad_list.clear()
        for m in sorted(self.session.cad_marks, key=lambda m: -m.score):
            d = decisions.get(m.id)
            state = d.decision if d else "not reviewed"
            item = QtWidgets.QListWidgetItem(
                f"{m.id}: {m.kind.replace('_', ' ')} {m.laterality} {m.view} slice {m.slice_index + 1}, "
                f"score {m.score:.0f} - {state}"
            )
            item.setData(QtCore.Qt.ItemDataRole.UserRole, m.id)
            self.cad_list.addItem(item)
        if self.form.finding_id != self.selected_id():
            self.form.set_finding(self.selected_id())

    def selected_id(self) -> str | None:
        item = self.list.currentItem()
        return item.data(QtCore.Qt.ItemDataRole.UserRole) if item is not None else None

    def select(self, finding_id: str | None) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(QtCore.Qt.ItemDataRole.UserRole) == finding_id:
                self.list.setCurrentRow(i)
                return

    def _selected(self, item, _previous) -> None:
        fid = item.data(QtCore.Qt.ItemDataRole.UserRole) if item is not None else None
        self.form.set_finding(fid)
        if self.controller is not None:
            self.controller.select(fid)

    def _new_finding(self) -> None:
        self.list.setCurrentRow(-1)
        if self.controller is not None:
            self.controller.select(None)

    def _delete(self) -> None:
        fid = self.selected_id()
        if fid is not None:
            self.session.remove_finding(fid)

    def _cad_id(self) -> str | None:
        item = self.cad_list.currentItem()
        return item.data(QtCore.Qt.ItemDataRole.UserRole) if item is not None else None

    def _accept(self) -> None:
        cid = self._cad_id()
        if cid is not None:
            f = self.session.accept_cad(cid)
            self.select(f.id)

    def _dismiss(self) -> None:
        cid = self._cad_id()
        if cid is not None:
            self.session.dismiss_cad(cid)

    def _on_event(self, event: FindingsEvent) -> None:
        if event.kind == "finding_added":
            self.refresh()
            self.select(event.target)
        elif event.kind != "viewer_state_changed":
            self.refresh()

    def closeEvent(self, event):
        self._unsubscribe()
        super().closeEvent(event)


def start_autosave_timer(parent: QtCore.QObject, autosaver, *, interval_ms: int = 100) -> QtCore.QTimer:
    """Poll ``autosaver`` (an :class:`app.store.findings.Autosaver`) every ``interval_ms`` on the GUI thread.

    With the autosaver's default ``max_delay_s`` of 0.9 s this saves every edit within a second.
    The timer stops with ``parent``; call ``autosaver.close()`` when the study closes.
    """
    if interval_ms <= 0 or interval_ms > 100:
        raise ValueError(f"interval_ms must be in 1..100 to save within a second, got {interval_ms}")
    timer = QtCore.QTimer(parent)
    timer.setInterval(int(interval_ms))
    timer.timeout.connect(autosaver.poll)
    timer.start()
    return timer
