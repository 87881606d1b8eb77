"""The assessment panel: exam type, per-breast composition and category, management (editable), checks."""

from __future__ import annotations

from PySide6 import QtWidgets

from app.model.findings import FindingsEvent, FindingsSession

SIDES = (("R", "Right breast"), ("L", "Left breast"))


class QtAssessmentPanel(QtWidgets.QWidget):
    """Edits the exam assessment of a :class:`FindingsSession`; shows the derived result and its warnings."""

    def __init__(self, session: FindingsSession, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        if not isinstance(session, FindingsSession):
            raise TypeError("session must be a FindingsSession")
        self.session = session
        lex = session.lexicon
        self._updating = False
        lay = QtWidgets.QVBoxLayout(self)
        top = QtWidgets.QFormLayout()
        self.exam_type = QtWidgets.QComboBox()
        for t in ("screening", "diagnostic"):
            self.exam_type.addItem(t, t)
        self.exam_type.currentIndexChanged.connect(self._exam_changed)
        top.addRow("Exam", self.exam_type)
        lay.addLayout(top)
        self.composition, self.category, self.management = {}, {}, {}
        for side, title in SIDES:
            box = QtWidgets.QGroupBox(title)
            form = QtWidgets.QFormLayout(box)
            comp = QtWidgets.QComboBox()
            comp.addItem("(not set)", None)
            for t in lex.compositions:
                comp.addItem(f"{t.id}: {t.label}", t.id)
            comp.currentIndexChanged.connect(lambda _i, s=side: self._breast_changed(s))
            cat = QtWidgets.QComboBox()
            cat.addItem("auto", None)
            for c in lex.categories.values():
                cat.addItem(f"{c.id}: {c.label}", c.id)
            cat.currentIndexChanged.connect(lambda _i, s=side: self._breast_changed(s))
            mgmt = QtWidgets.QLineEdit()
            mgmt.editingFinished.connect(lambda s=side: self._breast_changed(s))
            form.addRow("Composition", comp)
            form.addRow("Category", cat)
            form.addRow("Management", mgmt)
            self.composition[side], self.category[side], self.management[side] = comp, cat, mgmt
            lay.addWidget(box)
        self.overall = QtWidgets.QLabel()
        self.overall.setObjectName("overall_assessment")
        self.overall.setWordWrap(True)
        self.overall.setStyleSheet("font-weight: bold")
        lay.addWidget(self.overall)
        self.warnings = QtWidgets.QLabel()
        self.warnings.setObjectName("assessment_warnings")
        self.warnings.setWordWrap(True)
        self.warnings.setStyleSheet("color: #b06000")
        lay.addWidget(self.warnings)
        lay.addStretch(1)
        self._unsubscribe = session.subscribe(self._on_event)
        self.refresh()

    def refresh(self) -> None:
        self._updating = True
        try:
            a = self.session.assessment
            res = self.session.evaluate()
            self.exam_type.setCurrentIndex(self.exam_type.findData(a.exam_type))
            for side, _ in SIDES:
                b = a.breast(side)
                r = res.breast(side)
                self.composition[side].setCurrentIndex(max(0, self.composition[side].findData(b.composition)))
                cat = self.category[side]
                cat.setItemText(0, f"auto ({r.category})" if r.category_derived and r.category else "auto")
                cat.setCurrentIndex(max(0, cat.findData(b.category)))
                self.management[side].setText(b.management or "")
                default = self.session.lexicon.category(r.category).management if r.category else ""
                self.management[side].setPlaceholderText(default)
            lex = self.session.lexicon
            if res.overall_category:
                c = lex.category(res.overall_category)
                self.overall.setText(f"Overall: BI-RADS {c.id} ({c.label}); {res.management}")
            else:
                self.overall.setText("Overall: not assessed")
            self.warnings.setText("\n".join(res.warnings))
        finally:
            self._updating = False

    def _exam_changed(self, _index: int) -> None:
        if not self._updating:
            self.session.set_exam_assessment(exam_type=self.exam_type.currentData())

    def _breast_changed(self, side: str) -> None:
        if self._updating:
            return
        self.session.set_breast_assessment(
            side,
            composition=self.composition[side].currentData(),
            category=self.category[side].currentData(),
            management=self.management[side].text().strip() or None,
        )

    def _on_event(self, event: FindingsEvent) -> None:
        if event.kind != "viewer_state_changed":
            self.refresh()

    def closeEvent(self, event):
        self._unsubscribe()
        super().closeEvent(event)
