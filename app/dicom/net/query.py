"""C-ECHO and C-FIND (Study Root: studies, series, instances)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from app.config import LocalAE, Peer
from app.dicom.net.association import PacsError, associate, check_status

VERIFICATION = "1.2.840.10008.1.1"
STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"


def echo(peer: Peer, *, local: LocalAE) -> float:
    """Verify the peer answers (C-ECHO).

    Parameters
    ----------
    peer : Peer
        The remote AE.
    local : LocalAE
        Our AE title and time limit.

    Returns
    -------
    float
        Round-trip time of the association and echo, seconds.

    Raises
    ------
    PacsError
        One line naming the peer and why it failed.
    """
    from pynetdicom import build_context

    started = time.monotonic()
    with associate(peer, local, [build_context(VERIFICATION)], what="C-ECHO") as assoc:
        since = time.monotonic()
        check_status(assoc.send_c_echo(), peer, "C-ECHO", assoc=assoc, local=local, since=since)
    return time.monotonic() - started


@dataclass(frozen=True)
class StudyMatch:
    """A study a PACS reported for a C-FIND."""

    study_uid: str
    patient_name: str
    patient_id: str
    birth_date: str
    study_date: str
    study_time: str
    accession: str
    description: str
    modalities: tuple[str, ...]
    series_count: int | None
    instance_count: int | None


@dataclass(frozen=True)
class SeriesMatch:
    """A series a PACS reported for a C-FIND."""

    series_uid: str
    study_uid: str
    modality: str
    series_number: int | None
    description: str
    instance_count: int | None


@dataclass(frozen=True)
class InstanceMatch:
    """An instance a PACS reported for a C-FIND at IMAGE level."""

    sop_instance_uid: str
    sop_class_uid: str
    series_uid: str
    instance_number: int | None


def _text(ds, keyword: str) -> str:
    value = ds.get(keyword)
    if value is None:
        return ""
    from pydicom.multival import MultiValue

    if isinstance(value, MultiValue | list | tuple):
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def _int(ds, keyword: str) -> int | None:
    try:
        value = ds.get(keyword)
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError):
        return None


def _find(peer: Peer, local: LocalAE, identifier) -> list:
    from pynetdicom import build_context

    level = identifier.QueryRetrieveLevel
    what = f"C-FIND ({level})"
    out = []
    with associate(peer, local, [build_context(STUDY_ROOT_FIND)], what=what) as assoc:
        since = time.monotonic()
        for status, match in assoc.send_c_find(identifier, STUDY_ROOT_FIND):
            code = check_status(status, peer, what, assoc=assoc, local=local, since=since)
            since = time.monotonic()
            if code in (0xFF00, 0xFF01) and match is not None:
                out.append(match)
    return out


def _check_filter(value: str | None, what: str) -> None:
    if value is not None and (not isinstance(value, str) or "\\" in value):
        raise ValueError(f"{what} must be a str without backslashes, got {value!r}")


def find_studies(
    peer: Peer,
    *,
    local: LocalAE,
    patient_id: str | None = None,
    patient_name: str | None = None,
    study_date: str | None = None,
    accession: str | None = None,
    study_uid: str | None = None,
    modality: str | None = None,
) -> list[StudyMatch]:
    """Query a PACS for studies (C-FIND, Study Root, STUDY level).

    Parameters
    ----------
    peer : Peer
        The remote AE.
    local : LocalAE
        Our AE title and time limit.
    patient_id, patient_name, accession : str, optional
        Matching keys; ``*`` and ``?`` are DICOM wildcards.
    study_date : str, optional
        ``YYYYMMDD`` or a range ``YYYYMMDD-YYYYMMDD``.
    study_uid : str, optional
        One study.
    modality : str, optional
        Modalities in Study (``MG``).

    Returns
    -------
    list of StudyMatch
        In the order the PACS sent them, sorted by date (newest first).

    Raises
    ------
    PacsError
        When the query fails.
    """
    from pydicom.dataset import Dataset

    for value, what in (
        (patient_id, "patient_id"),
        (patient_name, "patient_name"),
        (study_date, "study_date"),
        (accession, "accession"),
        (study_uid, "study_uid"),
        (modality, "modality"),
    ):
        _check_filter(value, what)
    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    ds.StudyInstanceUID = study_uid or ""
    ds.PatientName = patient_name or ""
    ds.PatientID = patient_id or ""
    ds.PatientBirthDate = ""
    ds.StudyDate = study_date or ""
    ds.StudyTime = ""
    ds.AccessionNumber = accession or ""
    ds.StudyDescription = ""
    ds.ModalitiesInStudy = modality or ""
    ds.NumberOfStudyRelatedSeries = ""
    ds.NumberOfStudyRelatedInstances = ""
    matches = []
    for m in _find(peer, local, ds):
        uid = _text(m, "StudyInstanceUID")
        if not uid:
            continue
        mods = _text(m, "ModalitiesInStudy")
        matches.append(
            StudyMatch(
                study_uid=uid,
                patient_name=_text(m, "PatientName"),
                patient_id=_text(m, "PatientID"),
                birth_date=_text(m, "PatientBirthDate"),
                study_date=_text(m, "StudyDate"),
                study_time=_text(m, "StudyTime"),
                accession=_text(m, "AccessionNumber"),
                description=_text(m, "StudyDescription"),
                modalities=tuple(x for x in mods.split("\\") if x),
                series_count=_int(m, "NumberOfStudyRelatedSeries"),
                instance_count=_int(m, "NumberOfStudyRelatedInstances"),
            )
        )
    return sorted(matches, key=lambda s: (s.study_date, s.study_time), reverse=True)


def find_series(peer: Peer, study_uid: str, *, local: LocalAE, modality: str | None = None) -> list[SeriesMatch]:
    """Query a PACS for the series of a study (C-FIND, Study Root, SERIES level).

    Parameters
    ----------
    peer : Peer
        The remote AE.
    study_uid : str
        The study.
    local : LocalAE
        Our AE title and time limit.
    modality : str, optional
        Only series of this modality.

    Returns
    -------
    list of SeriesMatch
        Sorted by series number.
    """
    from pydicom.dataset import Dataset

    if not isinstance(study_uid, str) or not study_uid:
        raise ValueError(f"study_uid must be a non-empty str, got {study_uid!r}")
    _check_filter(modality, "modality")
    ds = Dataset()
    ds.QueryRetrieveLevel = "SERIES"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = ""
    ds.Modality = modality or ""
    ds.SeriesNumber = ""
    ds.SeriesDescription = ""
    ds.NumberOfSeriesRelatedInstances = ""
    out = [
        SeriesMatch(
            series_uid=_text(m, "SeriesInstanceUID"),
            study_uid=_text(m, "StudyInstanceUID") or study_uid,
            modality=_text(m, "Modality"),
            series_number=_int(m, "SeriesNumber"),
            description=_text(m, "SeriesDescription"),
            instance_count=_int(m, "NumberOfSeriesRelatedInstances"),
        )
        for m in _find(peer, local, ds)
        if _text(m, "SeriesInstanceUID")
    ]
    return sorted(out, key=lambda s: (s.series_number is None, s.series_number or 0, s.series_uid))


def find_instances(peer: Peer, study_uid: str, *, local: LocalAE, series_uid: str | None = None) -> list[InstanceMatch]:
    """Query a PACS for the instances of a study or series (C-FIND, Study Root, IMAGE level).

    Parameters
    ----------
    peer : Peer
        The remote AE.
    study_uid : str
        The study.
    local : LocalAE
        Our AE title and time limit.
    series_uid : str, optional
        Only this series.

    Returns
    -------
    list of InstanceMatch
    """
    from pydicom.dataset import Dataset

    if not isinstance(study_uid, str) or not study_uid:
        raise ValueError(f"study_uid must be a non-empty str, got {study_uid!r}")
    ds = Dataset()
    ds.QueryRetrieveLevel = "IMAGE"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid or ""
    ds.SOPInstanceUID = ""
    ds.SOPClassUID = ""
    ds.InstanceNumber = ""
    return [
        InstanceMatch(
            sop_instance_uid=_text(m, "SOPInstanceUID"),
            sop_class_uid=_text(m, "SOPClassUID"),
            series_uid=_text(m, "SeriesInstanceUID"),
            instance_number=_int(m, "InstanceNumber"),
        )
        for m in _find(peer, local, ds)
        if _text(m, "SOPInstanceUID")
    ]


__all__ = [
    "InstanceMatch",
    "PacsError",
    "SeriesMatch",
    "StudyMatch",
    "echo",
    "find_instances",
    "find_series",
    "find_studies",
]
