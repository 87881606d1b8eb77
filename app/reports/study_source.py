"""What the report needs from a study's files: identity, the images to reference, slices for key images.

Reads the files with the ``app.dicom`` reader plugins, so key-image pixels and mark coordinates
are in the same (viewer/Volume) convention; :func:`app.dicom.report_sr.frame_mapping_from_dataset`
maps them back to the stored frames for the SR.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.errors import InputError
from app.reports.birads import ImageRef, StudyInfo

BTO = "1.2.840.10008.5.1.4.1.1.13.1.3"


def _text(ds, name: str) -> str:
    v = ds.get(name, "")
    return "" if v is None else str(v)


@dataclass
class StudyFiles:
    """A study's files as the report uses them."""

    info: StudyInfo
    loadables: list = field(default_factory=list)
    frame_mappings: dict = field(default_factory=dict)
    _by_uid: dict = field(default_factory=dict)
    _cache: dict = field(default_factory=dict)

    def slice(self, sop_instance_uid: str, frame: int) -> np.ndarray | None:
        """Slice ``frame`` of image ``sop_instance_uid`` as the viewer shows it (None when unavailable)."""
        from app.dicom.readers import load

        lo = self._by_uid.get(sop_instance_uid)
        if lo is None or lo.kind not in ("volume", "image2d"):
            return None
        if sop_instance_uid not in self._cache:
            try:
                obj = load(lo)
            except InputError:
                self._cache[sop_instance_uid] = None
                return None
            data = getattr(obj, "data", None)
            if data is None:
                data = getattr(obj, "pixels", None)
            self._cache[sop_instance_uid] = None if data is None else np.asarray(data)
        data = self._cache[sop_instance_uid]
        if data is None:
            return None
        if data.ndim == 2:
            return data if frame == 0 else None
        return data[frame] if 0 <= frame < data.shape[0] else None


def study_files(paths, *, study_uid: str | None = None) -> StudyFiles:
    """Examine ``paths`` (files or folders) and collect the study's identity, images and readers.

    Raises
    ------
    InputError
        No DICOM image in ``paths``, or several studies and no ``study_uid`` to choose.
    """
    from app.dicom.readers import examine
    from app.dicom.readers.base import breast_identity
    from app.dicom.report_sr import frame_mapping_from_dataset

    res = examine(paths)
    loadables = [lo for lo in res.loadables if study_uid is None or lo.study_uid == study_uid]
    where = ", ".join(str(p) for p in (paths if isinstance(paths, list | tuple) else [paths]))
    if not loadables:
        detail = f" ({res.errors[0]})" if res.errors else ""
        raise InputError(f"{where}: no breast images found{detail}")
    uids = sorted({lo.study_uid for lo in loadables})
    if len(uids) > 1:
        raise InputError(f"{where}: holds {len(uids)} studies ({', '.join(uids)}); name one by its Study Instance UID")
    headers = [h for lo in loadables for h in lo.headers]
    first = headers[0].ds
    images, by_uid, mappings = [], {}, {}
    for lo in loadables:
        for h in lo.headers:
            ident = breast_identity(h.ds)
            uid = _text(h.ds, "SOPInstanceUID")
            images.append(
                ImageRef(
                    sop_class_uid=h.sop_class_uid,
                    sop_instance_uid=uid,
                    series_uid=h.series_uid,
                    laterality=ident.get("laterality") or "",
                    view=ident.get("view") or "",
                    frames=h.n_frames,
                )
            )
            by_uid[uid] = lo
            if h.sop_class_uid == BTO:
                try:
                    mappings[uid] = frame_mapping_from_dataset(h.ds)
                except (AttributeError, IndexError, KeyError, TypeError, ValueError):
                    pass  # identity: the SR then references the frame as the viewer numbered it
    info = StudyInfo(
        study_uid=uids[0],
        patient_name=_text(first, "PatientName"),
        patient_id=_text(first, "PatientID"),
        birth_date=_text(first, "PatientBirthDate"),
        sex=_text(first, "PatientSex"),
        study_date=_text(first, "StudyDate"),
        study_time=_text(first, "StudyTime"),
        accession=_text(first, "AccessionNumber"),
        study_id=_text(first, "StudyID"),
        description=_text(first, "StudyDescription"),
        referring=_text(first, "ReferringPhysicianName"),
        institution=_text(first, "InstitutionName"),
        images=tuple(images),
    )
    return StudyFiles(info=info, loadables=loadables, frame_mappings=mappings, _by_uid=by_uid)


def resolve_study(study: str, store) -> tuple[list[Path], str | None]:
    """The files of ``study`` (a folder/file, or a Study Instance UID in ``store``) and its UID if known."""
    p = Path(study)
    if p.exists():
        return [p], None
    from app.store.store import UnknownStudyError

    try:
        files = store.files(study)
    except UnknownStudyError:
        raise InputError(
            f"{study}: neither a file or folder nor a Study Instance UID in the store {store.root}"
        ) from None
    except ValueError:
        raise InputError(f"{study}: no such file or folder") from None
    if not files:
        raise InputError(f"study {study}: the store has no files for it")
    return list(files), study
