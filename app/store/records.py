"""Plain records the store returns: frozen dataclasses, paths already resolved."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

STUDY_STATUSES = ("unread", "read", "reported")
"""Reading status of a study, in workflow order."""

DERIVED_KINDS = ("volume", "synthetic2d", "cad", "report", "qc", "other")
"""Kinds of derived objects the store links to their sources."""

ORIGINS = ("imported", "received", "made")
"""Where an instance's file came from: indexed where it lies, received from a PACS, or made by Crescent."""


@dataclass(frozen=True)
class StudySummary:
    """One worklist row: a study with its patient and what its series hold.

    ``views`` are laterality + view (``"RCC"``, ``"LMLO"``), sorted; ``modalities`` and
    ``manufacturers`` are distinct values over the study's series.
    """

    study_uid: str
    patient_name: str
    patient_id: str
    birth_date: str
    sex: str
    study_date: str
    study_time: str
    accession: str
    description: str
    modalities: tuple[str, ...]
    manufacturers: tuple[str, ...]
    views: tuple[str, ...]
    series_count: int
    instance_count: int
    status: str
    status_at: str | None
    status_by: str
    added_at: str


@dataclass(frozen=True)
class InstanceRecord:
    """One DICOM instance in the store; ``path`` is absolute."""

    sop_instance_uid: str
    sop_class_uid: str
    series_uid: str
    study_uid: str
    instance_number: int | None
    path: Path
    origin: str
    file_size: int
    transfer_syntax_uid: str
    frames: int
    rows: int | None
    columns: int | None
    laterality: str
    view: str
    presentation_intent: str
    image_type: str


@dataclass(frozen=True)
class SeriesRecord:
    """One series with its instances (sorted by instance number, then UID)."""

    series_uid: str
    study_uid: str
    modality: str
    series_number: int | None
    description: str
    manufacturer: str
    model: str
    body_part: str
    instances: tuple[InstanceRecord, ...]


@dataclass(frozen=True)
class DerivedRecord:
    """A derived object (volume, synthetic 2D, CAD result, report) and what it was made from.

    ``sop_instance_uid`` is set when the object is itself a DICOM instance in the store;
    ``source_uids`` are the SOP Instance UIDs of source instances; ``source_ids`` the ids of
    source derived objects.
    """

    id: int
    kind: str
    study_uid: str
    path: Path
    sop_instance_uid: str
    description: str
    software: str
    parameters: dict = field(hash=False, compare=True)
    created_at: str = ""
    source_uids: tuple[str, ...] = ()
    source_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class StudyDetail:
    """A study with its series, instances and derived objects."""

    summary: StudySummary
    series: tuple[SeriesRecord, ...]
    derived: tuple[DerivedRecord, ...]

    @property
    def study_uid(self) -> str:
        """The Study Instance UID."""
        return self.summary.study_uid

    @property
    def instances(self) -> tuple[InstanceRecord, ...]:
        """All instances of all series, series by series."""
        return tuple(i for s in self.series for i in s.instances)


@dataclass(frozen=True)
class AddOutcome:
    """What adding one file did: ``status`` is ``"added"``, ``"duplicate"`` or ``"relocated"``.

    ``relocated`` means the SOP Instance UID was known but its recorded file had gone, so the
    record now points at the new file.
    """

    status: str
    sop_instance_uid: str
    study_uid: str
    new_study: bool = False
