"""The lexicon-driven descriptor form of one finding: only the descriptors and terms valid for its type."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from app.model.findings import FindingsEvent, FindingsSession
from app.reports.birads import describe, location_text, size_text

AUTO = "auto"


class QtDescriptorForm(QtWidgets.QWidget):
    """Edits the selected finding of a :class:`FindingsSession` (type, descriptors, category, location).

    Every change goes to the session's methods (validated, audited); the form redraws from the
    session's events.
    """

    def __init__(self, session: FindingsSession, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        if not isinstance(session, FindingsSession):
            raise TypeError("session must be a FindingsSession")
        self.session = session
        self.lexicon = session.lexicon
        self.finding_id: str | None = None
        self._updating = False
        self.combos: dict[str, QtWidgets.QComboBox] = {}
        self.checks: dict[str, dict[str, QtWidgets.QCheckBox]] = {}
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        self.title = QtWidgets.QLabel("No finding selected")
        self.title.setObjectName("finding_title")
        outer.addWidget(self.title)
        self.form = QtWidgets.QFormLayout()
        outer.addLayout(self.form)
        self.type_combo = QtWidgets.QComboBox()
        for ft in self.lexicon.finding_types.values():
            self.type_combo.addItem(ft.label, ft.id)
        self.type_combo.currentIndexChanged.connect(self._type_changed)
        self.category_combo = QtWidgets.QComboBox()
        self.category_combo.addItem("(not assessed)", None)
        for c in self.lexicon.categories.values():
            self.category_combo.addItem(f"{c.id}: {c.label}", c.id)
        self.category_combo.currentIndexChanged.connect(self._category_changed)
        self.location_label = QtWidgets.QLabel()
        self.location_label.setWordWrap(True)
        self.size_label = QtWidgets.QLabel()
        self.missing_label = QtWidgets.QLabel()
        self.missing_label.setStyleSheet("color: #b06000")
        self.correct: dict[str, QtWidgets.QComboBox] = {}
        for name, values in (
            ("clock", [str(h) for h in range(1, 13)]),
            ("quadrant", ["UOQ", "UIQ", "LOQ", "LIQ"]),
            ("region", ["retroareolar", "central", "axillary_tail"]),
            ("depth", ["anterior", "middle", "posterior"]),
        ):
            combo = QtWidgets.QComboBox()
            combo.addItem(AUTO, None)
            for v in values:
                combo.addItem(v, int(v) if name == "clock" else v)
            combo.currentIndexChanged.connect(lambda _i, n=name: self._correction_changed(n))
            self.correct[name] = combo
        self.description = QtWidgets.QLabel()
        self.description.setWordWrap(True)
        outer.addWidget(self.description)
        outer.addStretch(1)
        self._unsubscribe = session.subscribe(self._on_event)
        self.set_finding(None)

    # ---- building ---------------------------------------------------------------------------

    def _clear_form(self) -> None:
        while self.form.rowCount():
            row = self.form.takeRow(0)
            for item in (row.labelItem, row.fieldItem):
                w = item.widget() if item is not None else None
                if w is not None and w not in (
                    self.type_combo,
                    self.category_combo,
                    self.location_label,
                    self.size_label,
                    self.missing_label,
                    *self.correct.values(),
                ):
                    w.deleteLater()
                elif w is not None:
                    w.setParent(self)
                    w.hide()
        self.combos, self.checks = {}, {}

    def set_finding(self, finding_id: str | None) -> None:
        """Show ``finding_id`` (``None``: nothing selected)."""
        self.finding_id = finding_id
        self._rebuild()

    def _rebuild(self) -> None:
        self._updating = True
        try:
            self._clear_form()
            f = None
            if self.finding_id is not None:
                try:
                    f = self.session.finding(self.finding_id)
                except KeyError:
                    self.finding_id = None
            if f is None:
                self.title.setText("No finding selected")
                self.description.setText("")
                return
            ft = self.lexicon.finding_type(f.kind)
            self.title.setText(f"Finding {f.number}: {ft.label}, {'right' if f.laterality == 'R' else 'left'} breast")
            self.type_combo.setCurrentIndex(self.type_combo.findData(f.kind))
            self._add_row("Type", self.type_combo)
            for name, req in ft.descriptors.items():
                desc = self.lexicon.descriptors[name]
                label = desc.label + (" *" if req == "required" else "")
                terms = self.lexicon.valid_terms(f.kind, name)
                if desc.multiple:
                    box = QtWidgets.QWidget()
                    lay = QtWidgets.QVBoxLayout(box)
                    lay.setContentsMargins(0, 0, 0, 0)
                    lay.setSpacing(0)
                    self.checks[name] = {}
                    chosen = set(f.descriptors.get(name, ()))
                    for t in terms:
                        cb = QtWidgets.QCheckBox(t.label)
                        cb.setChecked(t.id in chosen)
                        cb.toggled.connect(lambda _on, n=name: self._multi_changed(n))
                        lay.addWidget(cb)
                        self.checks[name][t.id] = cb
                    self._add_row(label, box)
                else:
                    combo = QtWidgets.QComboBox()
                    combo.setObjectName(f"descriptor_{name}")
                    combo.addItem("", None)
                    for t in terms:
                        text = t.label
                        if t.group and desc.groups:
                            text += f"  ({desc.groups[t.group].lower()})"
                        combo.addItem(text, t.id)
                    combo.setCurrentIndex(max(0, combo.findData(f.descriptors.get(name))))
                    combo.currentIndexChanged.connect(lambda _i, n=name: self._single_changed(n))
                    self.combos[name] = combo
                    self._add_row(label, combo)
            self.category_combo.setCurrentIndex(max(0, self.category_combo.findData(f.category)))
            self._add_row("Assessment", self.category_combo)
            self.location_label.setText(location_text(self.session, f))
            self._add_row("Location", self.location_label)
            corr = f.correction
            for name, combo in self.correct.items():
                combo.setCurrentIndex(max(0, combo.findData(getattr(corr, name))))
                self._add_row(f"  {name} (correct)", combo)
            self.size_label.setText(size_text(f) or "(point: not measured)")
            self._add_row("Size", self.size_label)
            missing = self.session.missing_descriptors(f.id)
            self.missing_label.setText("Missing: " + ", ".join(missing) if missing else "")
            self._add_row("", self.missing_label)
            self.description.setText(describe(self.lexicon, f))
        finally:
            self._updating = False

    def _add_row(self, label: str, widget: QtWidgets.QWidget) -> None:
        widget.show()
        self.form.addRow(label, widget)

    # ---- edits ------------------------------------------------------------------------------

    def _type_changed(self, _index: int) -> None:
        if self._updating or self.finding_id is None:
            return
        self.session.change_kind(self.finding_id, self.type_combo.currentData())

    def _single_changed(self, name: str) -> None:
        if self._updating or self.finding_id is None:
            return
        self.session.update_descriptors(self.finding_id, {name: self.combos[name].currentData()})

    def _multi_changed(self, name: str) -> None:
        if self._updating or self.finding_id is None:
            return
        chosen = [tid for tid, cb in self.checks[name].items() if cb.isChecked()]
        self.session.update_descriptors(self.finding_id, {name: chosen})

    def _category_changed(self, _index: int) -> None:
        if self._updating or self.finding_id is None:
            return
        self.session.set_finding_category(self.finding_id, self.category_combo.currentData())

    def _correction_changed(self, name: str) -> None:
        if self._updating or self.finding_id is None:
            return
        self.session.correct_location(self.finding_id, **{name: self.correct[name].currentData()})

    def _on_event(self, event: FindingsEvent) -> None:
        if event.kind in ("finding_changed", "finding_removed", "geometry_changed") and (
            event.target in (self.finding_id, "") or event.kind == "geometry_changed"
        ):
            QtCore.QTimer.singleShot(0, self._rebuild)  # not while a combo is emitting

    def closeEvent(self, event):
        self._unsubscribe()
        super().closeEvent(event)
