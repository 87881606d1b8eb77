"""The worklist: studies to read, with patient, date, views, status and CAD case score."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.model.events import EventedModel

__all__ = ["WorklistEntry", "WorklistModel", "COLUMNS"]

COLUMNS = ("patient", "patient_id", "date", "views", "status", "score")
_STATUS_ORDER = {"unread": 0, "read": 1, "reported": 2}


@dataclass(frozen=True)
class WorklistEntry:
    """One study in the worklist."""

    study_uid: str
    patient: str = ""
    patient_id: str = ""
    date: str = ""
    views: tuple[str, ...] = ()
    status: str = "unread"
    score: float | None = None
    source: str = ""  # file/folder the study came from, when not from the store

    def value(self, column: str):
        """The display value of a column."""
        if column == "views":
            return " ".join(self.views)
        if column == "score":
            return "" if self.score is None else f"{self.score:.0f}"
        return getattr(self, column)

    def sort_key(self, column: str):
        if column == "status":
            return _STATUS_ORDER.get(self.status, 99)
        if column == "score":
            return -1.0 if self.score is None else float(self.score)
        if column == "views":
            return len(self.views), " ".join(self.views)
        return str(getattr(self, column)).lower()


@dataclass(eq=False)
class WorklistModel(EventedModel):
    """Entries plus the sort order; ``events.entries`` fires when the list is replaced."""

    entries: tuple[WorklistEntry, ...] = ()
    sort_column: str = "date"
    sort_descending: bool = True
    columns: tuple[str, ...] = field(default=COLUMNS)

    def _coerce_entries(self, value) -> tuple[WorklistEntry, ...]:
        out = tuple(value)
        for e in out:
            if not isinstance(e, WorklistEntry):
                raise TypeError(f"WorklistModel.entries must be WorklistEntry, got {type(e).__name__}")
        return out

    def _coerce_sort_column(self, value) -> str:
        if value not in COLUMNS:
            raise ValueError(f"WorklistModel: unknown column {value!r}; known: {', '.join(COLUMNS)}")
        return value

    def sorted_entries(self) -> list[WorklistEntry]:
        """Entries in the current sort order (stable; ties keep their order)."""
        return sorted(self.entries, key=lambda e: e.sort_key(self.sort_column), reverse=self.sort_descending)

    def sort_by(self, column: str) -> None:
        """Sort by ``column``; asking again for the same column reverses the order."""
        if column == self.sort_column:
            self.sort_descending = not self.sort_descending
        else:
            self.update(sort_column=column, sort_descending=column in ("date", "score"))

    def find(self, study_uid: str) -> WorklistEntry | None:
        for e in self.entries:
            if e.study_uid == study_uid:
                return e
        return None

    @classmethod
    def from_studies(cls, studies) -> WorklistModel:
        """A worklist of in-memory :class:`~app.model.study.Study` objects."""
        entries = [
            WorklistEntry(
                study_uid=s.study_uid or s.source or f"study-{i}",
                patient=s.patient_name,
                patient_id=s.patient_id,
                date=s.study_date,
                views=tuple(s.views_present),
                status=s.status,
                score=s.case_score,
                source=s.source,
            )
            for i, s in enumerate(studies)
        ]
        return cls(entries=tuple(entries))
