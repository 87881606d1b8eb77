"""The worklist table: a Qt view of :class:`~app.model.worklist.WorklistModel`."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from app.model.worklist import WorklistModel

__all__ = ["QtWorklistTableModel", "QtWorklist"]

_HEADERS = {
    "patient": "Patient",
    "patient_id": "ID",
    "date": "Date",
    "views": "Views",
    "status": "Status",
    "score": "CAD",
}


class QtWorklistTableModel(QtCore.QAbstractTableModel):
    """Rows of the worklist model in its sort order; sorting goes back to the model."""

    def __init__(self, model: WorklistModel, parent=None):
        super().__init__(parent)
        self.model = model
        self._rows = model.sorted_entries()
        model.events.changed.connect(self._reset)

    def _reset(self, event=None) -> None:
        self.beginResetModel()
        self._rows = self.model.sorted_entries()
        self.endResetModel()

    def rowCount(self, parent=None):
        return 0 if parent is not None and parent.isValid() else len(self._rows)

    def columnCount(self, parent=None):
        return 0 if parent is not None and parent.isValid() else len(self.model.columns)

    def data(self, index, role=QtCore.Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        entry = self._rows[index.row()]
        column = self.model.columns[index.column()]
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            value = entry.value(column)
            if column == "date" and len(value) == 8 and value.isdigit():
                return f"{value[:4]}-{value[4:6]}-{value[6:]}"
            return str(value)
        if role == QtCore.Qt.ItemDataRole.UserRole:
            return entry.study_uid
        return None

    def headerData(self, section, orientation, role=QtCore.Qt.ItemDataRole.DisplayRole):
        if orientation == QtCore.Qt.Orientation.Horizontal and role == QtCore.Qt.ItemDataRole.DisplayRole:
            return _HEADERS.get(self.model.columns[section], self.model.columns[section])
        return None

    def sort(self, column, order=QtCore.Qt.SortOrder.AscendingOrder):
        name = self.model.columns[column]
        self.model.update(sort_column=name, sort_descending=order == QtCore.Qt.SortOrder.DescendingOrder)

    def study_uid(self, row: int) -> str:
        return self._rows[row].study_uid


class QtWorklist(QtWidgets.QTableView):
    """Sortable worklist; double click or Enter emits ``open_requested(study_uid)``."""

    open_requested = QtCore.Signal(str)

    def __init__(self, model: WorklistModel, parent=None):
        super().__init__(parent)
        self.table_model = QtWorklistTableModel(model, self)
        self.setModel(self.table_model)
        self.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.setSortingEnabled(True)
        self.horizontalHeader().setStretchLastSection(True)
        self.verticalHeader().hide()
        self.doubleClicked.connect(lambda index: self._open(index.row()))

    def keyPressEvent(self, ev):
        if ev.key() in (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self._open(self.currentIndex().row())
            return
        super().keyPressEvent(ev)

    def _open(self, row: int) -> None:
        if 0 <= row < self.table_model.rowCount():
            self.open_requested.emit(self.table_model.study_uid(row))
