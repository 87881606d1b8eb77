"""Key Object Selection "Rejected for Quality Reasons" (113001, DCM) for technologist rejects and repeats.

The KOS (TID 2010) references the rejected instances (and, for DBT, the frames named in the
reason text); the reason is the Key Object Description (113012, DCM). It joins the study of the
images it rejects, in a series of its own. Written with highdicom; dciodvfy-clean.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.errors import InputError

__all__ = ["REJECT_REASONS", "RejectRecord", "write_reject_kos", "read_reject_kos"]

REJECT_REASONS = ("positioning", "motion", "artifact", "exposure", "equipment", "other")
"""Reasons of the reject/repeat analysis (clinical.md section 7)."""


@dataclass(frozen=True)
class RejectRecord:
    """What a reject KOS says: reason, free text, the rejected instances and who wrote it."""

    reason: str
    text: str
    referenced_sop_instance_uids: tuple
    study_instance_uid: str
    sop_instance_uid: str
    observer: str


def _load(ds_or_path):
    import pydicom

    if isinstance(ds_or_path, (str, Path)):
        try:
            return pydicom.dcmread(str(ds_or_path), stop_before_pixels=True)
        except (OSError, pydicom.errors.InvalidDicomError) as exc:
            raise InputError(f"{ds_or_path}: not a readable DICOM file ({exc})") from None
    return ds_or_path


def write_reject_kos(
    rejected,
    path,
    *,
    reason: str,
    text: str = "",
    observer: str = "Technologist^",
    series_number: int = 901,
    manufacturer: str = "Crescent",
):
    """Write a KOS "Rejected for Quality Reasons" referencing the rejected images.

    Parameters
    ----------
    rejected : sequence of pydicom Dataset or file paths
        The instances rejected (all of one study).
    path : str or Path
        Output file (written atomically).
    reason : str
        One of :data:`REJECT_REASONS`.
    text : str
        Free text (which projections, what was seen); appended to the reason.
    observer : str
        Person name of the technologist (DICOM PN, e.g. "Doe^Jane").

    Returns
    -------
    RejectRecord
    """
    import highdicom as hd
    from pydicom.sr.codedict import codes

    from app.dicom.identity import new_uid

    if reason not in REJECT_REASONS:
        raise InputError(f"--reason {reason}: must be one of {', '.join(REJECT_REASONS)}")
    items = [_load(r) for r in rejected]
    if not items:
        raise InputError("a reject needs at least one rejected image")
    studies = {str(ds.StudyInstanceUID) for ds in items}
    if len(studies) != 1:
        raise InputError(f"rejected images belong to {len(studies)} studies; a KOS covers one study")
    description = f"{reason}: {text}".strip(": ") if text else reason
    description = description[:64]  # Key Object Description is a TEXT item; keep it one short line
    observer_ctx = hd.sr.ObserverContext(
        observer_type=codes.DCM.Person,
        observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(name=observer),
    )
    content = hd.ko.KeyObjectSelection(
        document_title=codes.DCM.RejectedForQualityReasons,
        referenced_objects=items,
        observer_person_context=observer_ctx,
        description=description,
    )
    sop_uid = new_uid()
    kos = hd.ko.KeyObjectSelectionDocument(
        evidence=items,
        content=content,
        series_instance_uid=new_uid(),
        series_number=series_number,
        sop_instance_uid=sop_uid,
        instance_number=1,
        manufacturer=manufacturer,
    )
    kos.SeriesDescription = "Rejected for quality reasons"
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    kos.save_as(str(tmp), enforce_file_format=True)
    tmp.replace(path)
    return RejectRecord(
        reason=reason,
        text=text,
        referenced_sop_instance_uids=tuple(str(ds.SOPInstanceUID) for ds in items),
        study_instance_uid=studies.pop(),
        sop_instance_uid=sop_uid,
        observer=observer,
    )


def read_reject_kos(path) -> RejectRecord:
    """Read back a reject KOS written by :func:`write_reject_kos` (or any 113001 KOS)."""
    ds = _load(path)
    title = ds.ConceptNameCodeSequence[0] if "ConceptNameCodeSequence" in ds else None
    if title is None or title.CodeValue != "113001":
        raise InputError(f"{path}: not a Key Object Selection 'Rejected for Quality Reasons'")
    refs, text, observer = [], "", ""
    for item in ds.ContentSequence:
        if item.ValueType == "IMAGE" or item.ValueType == "COMPOSITE":
            refs.append(str(item.ReferencedSOPSequence[0].ReferencedSOPInstanceUID))
        elif item.ValueType == "TEXT" and item.ConceptNameCodeSequence[0].CodeValue == "113012":
            text = str(item.TextValue)
        elif item.ValueType == "PNAME":
            observer = str(item.PersonName)
    reason, _, rest = text.partition(": ")
    return RejectRecord(
        reason=reason,
        text=rest,
        referenced_sop_instance_uids=tuple(refs),
        study_instance_uid=str(ds.StudyInstanceUID),
        sop_instance_uid=str(ds.SOPInstanceUID),
        observer=observer,
    )
