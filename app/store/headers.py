"""Read the attributes the store indexes from a DICOM file's header (no pixel data)."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from app.errors import InputError

MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
"""SOP Class UID of a DICOMDIR (Media Storage Directory Storage)."""

# SNOMED CT and legacy SNOMED-RT view codes (View Code Sequence) -> the short view name
VIEW_CODES = {
    "399162004": "CC",
    "R-10242": "CC",
    "399368009": "MLO",
    "R-10226": "MLO",
    "R-102D2": "MLO",
    "399260004": "ML",
    "R-10224": "ML",
    "399352003": "LM",
    "R-10228": "LM",
    "399099002": "LMO",
    "R-10230": "LMO",
    "399196006": "FB",
    "R-10244": "FB",
    "399188001": "SIO",
    "R-102D0": "SIO",
    "441555000": "ISO",
    "399192008": "XCCL",
    "R-1024A": "XCCL",
    "399101009": "XCCM",
    "R-1024B": "XCCM",
    "127457009": "SPECIMEN",
}

_TAGS = [
    0x00080005,  # Specific Character Set
    0x00080008,  # Image Type
    0x00080016,  # SOP Class UID
    0x00080018,  # SOP Instance UID
    0x00080020,  # Study Date
    0x00080030,  # Study Time
    0x00080050,  # Accession Number
    0x00080060,  # Modality
    0x00080068,  # Presentation Intent Type
    0x00080070,  # Manufacturer
    0x00080090,  # Referring Physician's Name
    0x00081030,  # Study Description
    0x0008103E,  # Series Description
    0x00081090,  # Manufacturer's Model Name
    0x00100010,  # Patient's Name
    0x00100020,  # Patient ID
    0x00100021,  # Issuer of Patient ID
    0x00100030,  # Patient's Birth Date
    0x00100040,  # Patient's Sex
    0x00180015,  # Body Part Examined
    0x00185101,  # View Position
    0x0020000D,  # Study Instance UID
    0x0020000E,  # Series Instance UID
    0x00200010,  # Study ID
    0x00200011,  # Series Number
    0x00200013,  # Instance Number
    0x00200060,  # Laterality
    0x00200062,  # Image Laterality
    0x00280008,  # Number of Frames
    0x00280010,  # Rows
    0x00280011,  # Columns
    0x00540220,  # View Code Sequence
    0x52009229,  # Shared Functional Groups Sequence (Frame Anatomy > Frame Laterality)
]


@dataclass(frozen=True)
class InstanceHeader:
    """The indexed attributes of one DICOM instance; absent texts are ``""``."""

    sop_instance_uid: str
    sop_class_uid: str
    study_uid: str
    series_uid: str
    patient_id: str = ""
    issuer: str = ""
    patient_name: str = ""
    birth_date: str = ""
    sex: str = ""
    study_date: str = ""
    study_time: str = ""
    accession: str = ""
    study_id: str = ""
    study_description: str = ""
    referring: str = ""
    modality: str = ""
    series_number: int | None = None
    series_description: str = ""
    manufacturer: str = ""
    model: str = ""
    body_part: str = ""
    instance_number: int | None = None
    transfer_syntax_uid: str = ""
    frames: int = 0
    rows: int | None = None
    columns: int | None = None
    laterality: str = ""
    view: str = ""
    presentation_intent: str = ""
    image_type: str = ""


def _text(ds, keyword: str) -> str:
    value = ds.get(keyword)
    if value is None:
        return ""
    from pydicom.multival import MultiValue

    if isinstance(value, MultiValue | list | tuple):
        return "\\".join(str(v).strip() for v in value)
    return str(value).strip()


def _int(ds, keyword: str, path: Path, *, strict: bool = True) -> int | None:
    value = ds.get(keyword)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        if not strict:  # a numbering attribute that is not a number: index the file anyway
            return None
        raise InputError(f"{path}: {keyword} is not an integer: {value!r}") from None


def _laterality(ds) -> str:
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        anatomy = shared[0].get("FrameAnatomySequence")
        if anatomy:
            value = str(anatomy[0].get("FrameLaterality", "") or "").strip().upper()
            if value:
                return value
    for keyword in ("ImageLaterality", "Laterality"):
        value = _text(ds, keyword).upper()
        if value:
            return value
    return ""


def _view(ds) -> str:
    codes = ds.get("ViewCodeSequence")
    if codes:
        code = str(codes[0].get("CodeValue", "") or "").strip()
        if code in VIEW_CODES:
            return VIEW_CODES[code]
        meaning = str(codes[0].get("CodeMeaning", "") or "").strip()
        if meaning:
            return meaning
    return _text(ds, "ViewPosition").upper()


def read_dataset_header(path: str | os.PathLike[str]):
    """Read a file's header (no pixel data, only the indexed attributes).

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    pydicom.dataset.FileDataset
        The partial dataset, with its file meta information.

    Raises
    ------
    InputError
        When the file cannot be read or is not DICOM; the message names the file and the reason.
    """
    import pydicom
    from pydicom.errors import InvalidDicomError

    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pydicom.dcmread(path, stop_before_pixels=True, specific_tags=_TAGS)
    except InvalidDicomError:
        raise InputError(f"{path}: not a DICOM file (no 'DICM' prefix at byte 128)") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except Exception as exc:  # pydicom raises many kinds on damaged files
        raise InputError(f"{path}: damaged DICOM header: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0].strip() if str(exc).strip() else type(exc).__name__
    return text[:200]


def header_from_dataset(ds, path: str | os.PathLike[str]) -> InstanceHeader:
    """The indexed attributes of a (partial) dataset.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        The dataset, e.g. from :func:`read_dataset_header`.
    path : str or os.PathLike
        The file it came from, for messages.

    Returns
    -------
    InstanceHeader

    Raises
    ------
    InputError
        When an identifying UID is missing or an attribute cannot be decoded; the message names
        the file and the attribute.
    """
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _header(ds, path)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"{path}: damaged DICOM header: {_reason(exc)}") from None


def _header(ds, path: Path) -> InstanceHeader:
    meta = getattr(ds, "file_meta", None)
    sop_class = _text(ds, "SOPClassUID") or (_text(meta, "MediaStorageSOPClassUID") if meta else "")
    if sop_class == MEDIA_STORAGE_DIRECTORY:
        raise InputError(f"{path}: is a DICOMDIR, not an instance")
    uids = {}
    for keyword in ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"):
        value = _text(ds, keyword)
        if not value and keyword == "SOPInstanceUID" and meta is not None:
            value = _text(meta, "MediaStorageSOPInstanceUID")
        if not value:
            if _ends_before(path, keyword):
                raise InputError(f"{path}: truncated: the file ends before {keyword}")
            raise InputError(f"{path}: missing {keyword}")
        if len(value) > 64:
            raise InputError(f"{path}: {keyword} is longer than 64 characters: {value[:70]!r}")
        uids[keyword] = value
    if not sop_class:
        raise InputError(f"{path}: missing SOPClassUID")
    rows = _int(ds, "Rows", path)
    frames = _int(ds, "NumberOfFrames", path)
    if frames is None:
        frames = 1 if rows else 0
    if frames < 0:
        raise InputError(f"{path}: NumberOfFrames is negative: {frames}")
    return InstanceHeader(
        sop_instance_uid=uids["SOPInstanceUID"],
        sop_class_uid=sop_class,
        study_uid=uids["StudyInstanceUID"],
        series_uid=uids["SeriesInstanceUID"],
        patient_id=_text(ds, "PatientID"),
        issuer=_text(ds, "IssuerOfPatientID"),
        patient_name=_text(ds, "PatientName"),
        birth_date=_text(ds, "PatientBirthDate"),
        sex=_text(ds, "PatientSex"),
        study_date=_text(ds, "StudyDate"),
        study_time=_text(ds, "StudyTime"),
        accession=_text(ds, "AccessionNumber"),
        study_id=_text(ds, "StudyID"),
        study_description=_text(ds, "StudyDescription"),
        referring=_text(ds, "ReferringPhysicianName"),
        modality=_text(ds, "Modality"),
        series_number=_int(ds, "SeriesNumber", path, strict=False),
        series_description=_text(ds, "SeriesDescription"),
        manufacturer=_text(ds, "Manufacturer"),
        model=_text(ds, "ManufacturerModelName"),
        body_part=_text(ds, "BodyPartExamined"),
        instance_number=_int(ds, "InstanceNumber", path, strict=False),
        transfer_syntax_uid=_text(meta, "TransferSyntaxUID") if meta is not None else "",
        frames=frames,
        rows=rows,
        columns=_int(ds, "Columns", path),
        laterality=_laterality(ds),
        view=_view(ds),
        presentation_intent=_text(ds, "PresentationIntentType"),
        image_type=_text(ds, "ImageType"),
    )


def _ends_before(path: Path, keyword: str) -> bool:
    """Whether the file's last readable element comes before ``keyword``'s tag (a truncated file)."""
    import pydicom
    from pydicom.datadict import tag_for_keyword

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        last = max((int(t) for t in ds.keys()), default=0)
    except Exception:
        return False
    return 0 < last < tag_for_keyword(keyword)


def read_header(path: str | os.PathLike[str]) -> InstanceHeader:
    """Read the indexed attributes of a DICOM file.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    InstanceHeader

    Raises
    ------
    InputError
        One line naming the file and what is wrong (not DICOM, damaged, missing UID, ...).
    """
    return header_from_dataset(read_dataset_header(path), path)
