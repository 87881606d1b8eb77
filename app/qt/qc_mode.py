"""The QC mode for technologists: projection cine with flags beside each projection, the
checklist, accept/reject, and the device trend view. Widgets only show the model and forward
the user's actions to it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from app.dicom.kos_reject import REJECT_REASONS
from app.model.qc_session import QCSessionModel

__all__ = ["QCModeWidget", "QCModeWindow"]

_COLOURS = {"pass": "#1a7f37", "warn": "#9a6700", "fail": "#cf222e"}


class _Cine(QtWidgets.QWidget):
    def __init__(self, model: QCSessionModel, parent=None):
        super().__init__(parent)
        self.model = model
        self.image = QtWidgets.QLabel(alignment=QtCore.Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumSize(320, 320)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(0, model.n_views - 1)
        self.play = QtWidgets.QPushButton("Play")
        self.play.setCheckable(True)
        self.caption = QtWidgets.QLabel()
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(150)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.play)
        row.addWidget(self.slider, 1)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(self.image, 1)
        lay.addLayout(row)
        lay.addWidget(self.caption)
        self.slider.valueChanged.connect(model.set_view)
        self.play.toggled.connect(lambda on: self.timer.start() if on else self.timer.stop())
        self.timer.timeout.connect(model.next_view)
        model.subscribe("view", self._show)
        self._show(model.view)

    def _show(self, v: int) -> None:
        frame = np.ascontiguousarray(self.model.display_frame(v))
        h, w = frame.shape
        qimg = QtGui.QImage(frame.data, w, h, w, QtGui.QImage.Format.Format_Grayscale8).copy()
        pix = QtGui.QPixmap.fromImage(qimg).scaled(self.image.minimumSize(), QtCore.Qt.AspectRatioMode.KeepAspectRatio)
        self.image.setPixmap(pix)
        if self.slider.value() != v:
            self.slider.blockSignals(True)
            self.slider.setValue(v)
            self.slider.blockSignals(False)
        flags = self.model.flags(v)
        angle = np.rad2deg(self.model.projections.geometry.angles_rad[v])
        self.caption.setText(f"projection {v} ({angle:+.2f} deg)" + (f": {', '.join(flags)}" if flags else ""))


class QCModeWidget(QtWidgets.QWidget):
    """The QC screen of one acquisition (takes a :class:`QCSessionModel`)."""

    def __init__(self, model: QCSessionModel, *, technologist: str = "", parent=None):
        super().__init__(parent)
        self.model = model
        self.setWindowTitle(f"QC: {model.report.status.upper()}")
        self.cine = _Cine(model)
        # flags beside each projection
        self.flags = QtWidgets.QListWidget()
        for v in range(model.n_views):
            names = model.flags(v)
            item = QtWidgets.QListWidgetItem(f"{v:2d}  " + (", ".join(names) if names else "ok"))
            item.setForeground(QtGui.QColor(_COLOURS["fail" if names else "pass"]))
            self.flags.addItem(item)
        self.flags.setMinimumWidth(170)
        self.flags.setMaximumWidth(220)
        self.flags.currentRowChanged.connect(lambda r: model.set_view(r) if r >= 0 else None)
        model.subscribe("view", lambda v: self.flags.setCurrentRow(v))
        # checklist
        self.checklist = QtWidgets.QTreeWidget()
        self.checklist.setHeaderLabels(["check", "status", "value", "detail"])
        for c in model.report.checks:
            it = QtWidgets.QTreeWidgetItem([c.name, c.status.upper(), _fmt(c.value), c.detail])
            it.setForeground(1, QtGui.QColor(_COLOURS[c.status]))
            it.setToolTip(3, c.detail)
            if c.needs_confirmation:
                it.setCheckState(0, QtCore.Qt.CheckState.Unchecked)
            self.checklist.addTopLevelItem(it)
        for name, why in model.report.not_run:
            it = QtWidgets.QTreeWidgetItem([name, "NOT RUN", "", why])
            it.setToolTip(3, why)
            self.checklist.addTopLevelItem(it)
        self.checklist.itemChanged.connect(self._checked)
        for col in range(3):
            self.checklist.resizeColumnToContents(col)
        # decision
        self.who = QtWidgets.QLineEdit(technologist)
        self.who.setPlaceholderText("technologist (Family^Given)")
        self.reason = QtWidgets.QComboBox()
        self.reason.addItems(REJECT_REASONS)
        self.reason_text = QtWidgets.QLineEdit()
        self.reason_text.setPlaceholderText("what was seen, which projections")
        self.accept_button = QtWidgets.QPushButton("Accept")
        self.reject_button = QtWidgets.QPushButton("Reject / repeat")
        self.status = QtWidgets.QLabel()
        self.status.setWordWrap(True)
        self.status.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        form = QtWidgets.QFormLayout()
        form.addRow("Technologist", self.who)
        form.addRow("Reason", self.reason)
        form.addRow("Note", self.reason_text)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.accept_button)
        buttons.addWidget(self.reject_button)
        self.accept_button.clicked.connect(self._accept)
        self.reject_button.clicked.connect(self._reject)
        model.subscribe("decision", self._decided)
        # device trends
        self.trend_choice = QtWidgets.QComboBox()
        self.trend_choice.addItems(sorted(model.trends))
        self.trend_choice.setCurrentText(_preferred_trend(model.trends))
        self.trend_image = QtWidgets.QLabel()
        self.trend_choice.currentTextChanged.connect(self._show_trend)
        # layout
        right = QtWidgets.QVBoxLayout()
        overall = QtWidgets.QLabel(
            f"<b>Overall: <span style='color:{_COLOURS[model.report.status]}'>{model.report.status.upper()}</span></b>"
        )
        right.addWidget(overall)
        right.addWidget(self.checklist, 2)
        right.addLayout(form)
        right.addLayout(buttons)
        right.addWidget(self.status)
        right.addWidget(QtWidgets.QLabel("Device trend"))
        right.addWidget(self.trend_choice)
        right.addWidget(self.trend_image, 1)
        lay = QtWidgets.QHBoxLayout(self)
        lay.addWidget(self.flags)
        lay.addWidget(self.cine, 2)
        lay.addLayout(right, 2)
        self._show_trend(self.trend_choice.currentText())

    def _decided(self, d) -> None:
        text = f"{d.decision} by {d.by}" + (f" ({d.reason})" if d.reason else "")
        record = self.model.decision_record
        if isinstance(record, dict) and record.get("kos"):
            text += "; KOS 'Rejected for Quality Reasons' written"
            self.status.setToolTip(str(Path(record["kos"])))
        self.status.setText(text)

    def _checked(self, item, column):
        if column == 0 and item.text(0) in self.model.confirmed:
            self.model.confirm(item.text(0), item.checkState(0) == QtCore.Qt.CheckState.Checked)

    def _accept(self):
        self._guard(lambda: self.model.accept(by=self.who.text().strip()))

    def _reject(self):
        self._guard(
            lambda: self.model.reject(
                reason=self.reason.currentText(), text=self.reason_text.text(), by=self.who.text().strip()
            )
        )

    def _guard(self, fn):
        from app.errors import CrescentError

        try:
            fn()
        except CrescentError as exc:
            self.status.setText(f"<span style='color:{_COLOURS['fail']}'>{exc}</span>")

    def _show_trend(self, name: str):
        if not name or name not in self.model.trends:
            self.trend_image.setText("no trend recorded for this device")
            return
        from app.reports.qc_plots import trend_plot

        points = self.model.trends[name]
        png = trend_plot(name, points)
        pix = QtGui.QPixmap()
        pix.loadFromData(png, "PNG")
        self.trend_image.setPixmap(pix.scaledToWidth(420, QtCore.Qt.TransformationMode.SmoothTransformation))


class QCModeWindow(QtWidgets.QMainWindow):
    """A top-level window holding the QC mode of one acquisition, with cine keys.

    Keys: Space plays/pauses the cine, Right/Left step through the projections (not while
    typing in a text field).

    Parameters
    ----------
    model : QCSessionModel
    technologist : str
        Pre-filled name of who decides.
    subject : dict, optional
        Facts for the title (patient, view, device).
    """

    def __init__(self, model: QCSessionModel, *, technologist: str = "", subject: dict | None = None, parent=None):
        super().__init__(parent)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose, False)
        self.mode = QCModeWidget(model, technologist=technologist)
        self.setCentralWidget(self.mode)
        subject = subject or {}
        parts = [str(subject[k]) for k in ("patient", "view", "device") if subject.get(k)]
        self.setWindowTitle(f"QC {model.report.status.upper()}" + (f": {' | '.join(parts)}" if parts else ""))
        self.resize(1400, 760)
        keys = (
            ("Space", self.mode.cine.play.toggle),
            ("Right", model.next_view),
            ("Left", model.previous_view),
        )
        for key, fn in keys:
            sc = QtGui.QShortcut(QtGui.QKeySequence(key), self)
            sc.activated.connect(fn)
        model.subscribe("decision", lambda d: self.statusBar().showMessage(self.mode.status.text()))


def _preferred_trend(trends: dict) -> str:
    """The trend shown first: a phantom score, else the dose or motion of the acquisitions."""
    names = sorted(trends)
    for want in ("(phantom)", "dose (", "motion ("):
        for n in names:
            if want in n:
                return n
    return names[0] if names else ""


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    if isinstance(v, dict):
        return ", ".join(f"{k} {x}" for k, x in v.items())
    return "" if v is None else str(v)
