"""Who and what a DICOM object is about: patient, study, and the breast view.

Writers take a :class:`PatientStudy`; readers return one in ``metadata["study"]`` so that a
reconstruction written from a projection set joins the same patient and study.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field, replace

from pydicom.uid import generate_uid

__all__ = ["PatientStudy", "UID_PREFIX", "new_uid"]

#: Prefix of the UIDs Crescent generates (pydicom's registered example root; see ``new_uid``).
UID_PREFIX = "1.2.826.0.1.3680043.8.498."

LATERALITIES = ("R", "L")
#: Views the writers know (View Code Sequence, Patient Orientation and the detector-to-patient mapping).
VIEWS = ("CC", "MLO", "ML", "LM", "XCCL", "XCCM", "LMO", "FB", "SIO", "ISO")


def new_uid() -> str:
    """A fresh UID under :data:`UID_PREFIX`."""
    return generate_uid(prefix=UID_PREFIX)


def _today() -> str:
    return _dt.date.today().strftime("%Y%m%d")


def _now() -> str:
    return _dt.datetime.now().strftime("%H%M%S")


@dataclass(frozen=True)
class PatientStudy:
    """Patient, study and breast-view identity shared by every object of one examination.

    Make one per study (the default factories generate a fresh Study Instance UID) and use
    :meth:`for_view` for each breast view so that all objects share the study.

    Parameters
    ----------
    patient_name : str
        DICOM person name, ``Family^Given``.
    patient_id : str
    patient_birth_date : str
        ``YYYYMMDD`` or empty.
    patient_sex : str
        ``F``, ``M``, ``O`` or empty.
    study_instance_uid : str
    study_id, accession_number, study_description, referring_physician_name : str
    study_date, study_time : str
        ``YYYYMMDD`` and ``HHMMSS``; default now.
    laterality : str
        ``R`` or ``L``: the imaged breast.
    view : str
        ``CC``, ``MLO``, ``ML``, ... (see ``VIEWS``).
    """

    patient_name: str = "Crescent^Synthetic"
    patient_id: str = "CRESCENT-0001"
    patient_birth_date: str = ""
    patient_sex: str = "F"
    study_instance_uid: str = field(default_factory=new_uid)
    study_id: str = "1"
    accession_number: str = ""
    study_description: str = "Digital breast tomosynthesis"
    referring_physician_name: str = ""
    study_date: str = field(default_factory=_today)
    study_time: str = field(default_factory=_now)
    laterality: str = "R"
    view: str = "CC"

    def __post_init__(self):
        if self.laterality not in LATERALITIES:
            raise ValueError(f"PatientStudy: laterality must be 'R' or 'L', got {self.laterality!r}")
        if self.view not in VIEWS:
            raise ValueError(f"PatientStudy: view must be one of {', '.join(VIEWS)}, got {self.view!r}")
        if self.patient_sex not in ("F", "M", "O", ""):
            raise ValueError(f"PatientStudy: patient_sex must be F, M, O or empty, got {self.patient_sex!r}")
        for name in ("patient_birth_date", "study_date"):
            value = getattr(self, name)
            if value and (len(value) != 8 or not value.isdigit()):
                raise ValueError(f"PatientStudy: {name} must be YYYYMMDD, got {value!r}")

    def for_view(self, laterality: str, view: str) -> PatientStudy:
        """The same patient and study for another breast view."""
        return replace(self, laterality=laterality, view=view)

    @classmethod
    def from_dataset(cls, ds, *, laterality: str | None = None, view: str | None = None) -> PatientStudy:
        """Identity read from a pydicom dataset (missing values get the defaults).

        ``laterality`` and ``view`` are taken from the arguments when given (readers pass
        what they decoded from Frame Laterality / View Code Sequence), else default.
        """

        def text(keyword: str, default: str = "") -> str:
            value = ds.get(keyword, None)
            return default if value is None or value == "" else str(value)

        kwargs = dict(
            patient_name=text("PatientName"),
            patient_id=text("PatientID"),
            patient_birth_date=text("PatientBirthDate") if len(text("PatientBirthDate")) == 8 else "",
            patient_sex=text("PatientSex") if text("PatientSex") in ("F", "M", "O") else "",
            study_id=text("StudyID"),
            accession_number=text("AccessionNumber"),
            study_description=text("StudyDescription"),
            referring_physician_name=text("ReferringPhysicianName"),
            study_date=text("StudyDate") if len(text("StudyDate")) == 8 and text("StudyDate").isdigit() else "",
            study_time=text("StudyTime"),
        )
        uid = text("StudyInstanceUID")
        if uid:
            kwargs["study_instance_uid"] = uid
        if laterality in LATERALITIES:
            kwargs["laterality"] = laterality
        if view in VIEWS:
            kwargs["view"] = view
        return cls(**kwargs)
