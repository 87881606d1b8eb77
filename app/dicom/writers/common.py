"""Modules every Crescent object shares: file meta, patient, study, series, equipment, SOP common."""

from __future__ import annotations

import datetime as _dt
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom.config
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian

from app import __version__
from app.dicom.identity import PatientStudy, new_uid
from app.dicom.views import patient_orientation as _orientation
from app.dicom.views import view_code
from app.dicom.writers.pixels import integer_range, quantize_frame, scale_for, value_range

MANUFACTURER = "Crescent"
SOFTWARE_VERSION = f"crescent {__version__}"
BREAST_CODE = ("76752008", "SCT", "Breast")


@dataclass(frozen=True)
class WrittenObject:
    """What a writer wrote: enough to reference the object from another one."""

    path: Path
    sop_class_uid: str
    sop_instance_uid: str
    series_instance_uid: str
    study_instance_uid: str
    frame_of_reference_uid: str | None
    number_of_frames: int = 1


def code_item(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def base_dataset(sop_class_uid: str, sop_instance_uid: str | None = None) -> Dataset:
    """A dataset with its file meta for the given SOP class."""
    uid = sop_instance_uid or new_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class_uid
    meta.MediaStorageSOPInstanceUID = uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = "CRESCENT_" + __version__.replace(".", "")[:8]
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = sop_class_uid
    ds.SOPInstanceUID = uid
    now = _dt.datetime.now()
    ds.InstanceCreationDate = now.strftime("%Y%m%d")
    ds.InstanceCreationTime = now.strftime("%H%M%S")
    return ds


def add_patient_study(ds: Dataset, study: PatientStudy) -> None:
    """Patient and General Study modules."""
    ds.PatientName = study.patient_name
    ds.PatientID = study.patient_id
    ds.PatientBirthDate = study.patient_birth_date
    ds.PatientSex = study.patient_sex
    ds.StudyInstanceUID = study.study_instance_uid
    ds.StudyDate = study.study_date
    ds.StudyTime = study.study_time
    ds.ReferringPhysicianName = study.referring_physician_name
    ds.StudyID = study.study_id
    ds.AccessionNumber = study.accession_number
    if study.study_description:
        ds.StudyDescription = study.study_description


def add_series(ds: Dataset, *, modality: str, series_uid: str, series_number: int, description: str) -> None:
    """General Series module (the caller adds IOD-specific series attributes)."""
    ds.Modality = modality
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = int(series_number)
    ds.SeriesDescription = description
    now = _dt.datetime.now()
    ds.SeriesDate = now.strftime("%Y%m%d")
    ds.SeriesTime = now.strftime("%H%M%S")


def add_equipment(ds: Dataset, *, manufacturer: str, model: str, enhanced: bool = True) -> None:
    """General Equipment and (when ``enhanced``) Enhanced General Equipment modules."""
    ds.Manufacturer = manufacturer
    ds.InstitutionName = "Crescent"
    if enhanced:
        ds.ManufacturerModelName = model
        ds.DeviceSerialNumber = "0"
        ds.SoftwareVersions = SOFTWARE_VERSION
    else:
        ds.ManufacturerModelName = model
        ds.SoftwareVersions = SOFTWARE_VERSION


def add_breast_view(
    ds: Dataset, study: PatientStudy, *, image_laterality: bool = True, patient_orientation: bool = True
) -> None:
    """View Code Sequence (with an empty modifier sequence), Patient Orientation, laterality."""
    code = code_item(*view_code(study.view))
    code.ViewModifierCodeSequence = Sequence()
    ds.ViewCodeSequence = Sequence([code])
    if patient_orientation:
        ds.PatientOrientation = list(_orientation(study.laterality, study.view))
    if image_laterality:
        ds.ImageLaterality = study.laterality


def anatomic_region(laterality: str) -> Sequence:
    """Anatomic Region Sequence: breast (SNOMED CT 76752008)."""
    return Sequence([code_item(*BREAST_CODE)])


def frame_anatomy(laterality: str) -> Sequence:
    """Frame Anatomy Sequence (functional group) for one breast."""
    item = Dataset()
    item.AnatomicRegionSequence = anatomic_region(laterality)
    item.FrameLaterality = laterality
    return Sequence([item])


def quantize(data: np.ndarray, *, bits: int = 16, signed: bool = False) -> tuple[np.ndarray, float, float]:
    """Integers ``stored`` and (slope, intercept) with ``data ~= slope * stored + intercept``.

    The range of ``data`` is spread over the integer range; a constant array gets slope 1.
    Quantised frame by frame into the result (no float64 copy of ``data``); writers of large
    objects stream frames with :class:`app.dicom.writers.pixels.QuantizedFrames` instead.
    """
    arr = np.asarray(data)
    lo, hi = value_range(arr)
    smin, smax = integer_range(bits, signed)
    slope, intercept = scale_for(lo, hi, bits=bits, signed=signed)
    stored = np.empty(arr.shape, np.int16 if signed else np.uint16)
    if arr.ndim < 2:
        frames, out = arr.reshape(1, 1, -1), stored.reshape(1, 1, -1)
    else:
        frames, out = arr.reshape(-1, *arr.shape[-2:]), stored.reshape(-1, *arr.shape[-2:])
    for k in range(frames.shape[0]):
        quantize_frame(frames[k], out[k], slope=slope, intercept=intercept, smin=smin, smax=smax)
    return stored, slope, intercept


#: Write buffer of :func:`save`, and the chunk size in which pydicom copies a streamed Pixel
#: Data value (:class:`app.dicom.writers.pixels.QuantizedFrames`) to the file while :func:`save`
#: runs. pydicom's default (``pydicom.config.settings.buffered_read_size``, 8 KiB) costs a
#: Python call per 8 KiB: 55,000 of them for a GE-size volume, half the time of the write.
_WRITE_BUFFER = 4 * 1024 * 1024
_PIXEL_CHUNK = 1024 * 1024
_chunk_lock = threading.Lock()
_chunk_users = 0
_chunk_saved = 0


@contextmanager
def _large_pixel_chunks():
    """Raise pydicom's buffered-value chunk size while writing (reference-counted across threads)."""
    global _chunk_users, _chunk_saved
    settings = pydicom.config.settings
    with _chunk_lock:
        if _chunk_users == 0:
            _chunk_saved = settings.buffered_read_size
            settings.buffered_read_size = max(_chunk_saved, _PIXEL_CHUNK)
        _chunk_users += 1
    try:
        yield
    finally:
        with _chunk_lock:
            _chunk_users -= 1
            if _chunk_users == 0:
                settings.buffered_read_size = _chunk_saved


def save(ds: Dataset, path) -> Path:
    """Write ``ds`` atomically (temporary file then rename) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    try:
        with open(tmp, "wb", buffering=_WRITE_BUFFER) as f, _large_pixel_chunks():
            ds.save_as(f, enforce_file_format=True)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    return path


#: UCUM "no units" for Real World Value Mapping of dimensionless quantities.
UNITLESS = ("1", "UCUM", "no units")
#: UCUM per millimetre for linear attenuation.
PER_MM = ("/mm", "UCUM", "per millimeter")


def ds_str(value: float) -> str:
    """A Decimal String (at most 16 characters) for ``value``."""
    from pydicom.valuerep import format_number_as_ds

    return format_number_as_ds(float(value))


def real_world_mapping(slope: float, intercept: float, *, label: str, units, explanation: str) -> Sequence:
    """Real World Value Mapping Sequence: ``value = slope * stored + intercept`` over the 16-bit range."""
    item = Dataset()
    item.RealWorldValueFirstValueMapped = 0
    item.RealWorldValueLastValueMapped = 65535
    item.RealWorldValueIntercept = float(intercept)
    item.RealWorldValueSlope = float(slope)
    item.LUTLabel = label
    item.LUTExplanation = explanation
    item.MeasurementUnitsCodeSequence = Sequence([code_item(*units)])
    return Sequence([item])
