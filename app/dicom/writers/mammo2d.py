"""Synthetic 2D as Digital Mammography X-Ray Image - For Presentation, derived from a volume."""

from __future__ import annotations

import datetime as _dt

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from app.dicom import uids
from app.dicom.identity import PatientStudy, new_uid
from app.dicom.views import to_disk
from app.dicom.writers.common import (
    MANUFACTURER,
    WrittenObject,
    add_breast_view,
    add_equipment,
    add_patient_study,
    add_series,
    anatomic_region,
    base_dataset,
    code_item,
    ds_str,
    quantize,
    save,
)

__all__ = ["write_synthetic_2d"]


def write_synthetic_2d(
    image,
    path,
    *,
    study: PatientStudy,
    pixel_mm: tuple[float, float] | float,
    source=None,
    label: str = "SYNTHETIC 2D",
    window: tuple[float, float] | None = None,
    series_instance_uid: str | None = None,
    series_number: int = 3,
    manufacturer: str = MANUFACTURER,
    model_name: str = "Crescent synthetic 2D",
) -> WrittenObject:
    """Write a synthetic 2D image (computed from a volume by ``recon``) as a DM For Presentation image.

    Parameters
    ----------
    image : float array (rows along y, columns along x)
        The synthetic mammogram in our order; any real values (stored as 12-bit integers,
        linearly mapped; the window is kept).
    path : str or Path
    study : PatientStudy
    pixel_mm : float or (row pitch, column pitch)
        Pixel size at the detector plane, mm.
    source : WrittenObject, optional
        The Breast Tomosynthesis Image it was derived from (referenced in Source Image Sequence).
    label : str
        Series description / derivation label (vendors use C-VIEW, V-PREVIEW, S-VIEW, ...).
    window : (centre, width), optional
        In ``image`` units; default the 1st-99th percentile range.

    Returns
    -------
    WrittenObject
    """
    arr = np.asarray(image)
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"write_synthetic_2d: image must be a non-empty 2D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("write_synthetic_2d: image contains non-finite values")
    if not isinstance(study, PatientStudy):
        raise TypeError("write_synthetic_2d: study must be a PatientStudy")
    pitch = np.broadcast_to(np.asarray(pixel_mm, dtype=float), (2,))
    if not np.all(pitch > 0):
        raise ValueError(f"write_synthetic_2d: pixel_mm must be positive, got {pixel_mm}")
    stored, slope, intercept = quantize(arr, bits=12)
    if window is None:
        lo, hi = np.percentile(arr, [1.0, 99.0])
        window = ((lo + hi) / 2.0, max(hi - lo, 1e-6))
    series_uid = series_instance_uid or new_uid()

    ds = base_dataset(uids.DM_PRESENTATION)
    add_patient_study(ds, study)
    add_series(ds, modality="MG", series_uid=series_uid, series_number=series_number, description=label)
    add_equipment(ds, manufacturer=manufacturer, model=model_name, enhanced=False)
    now = _dt.datetime.now()
    ds.ContentDate = now.strftime("%Y%m%d")
    ds.ContentTime = now.strftime("%H%M%S")
    ds.InstanceNumber = 1
    ds.ImageType = ["DERIVED", "PRIMARY", "", ""]
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.DerivationDescription = f"{label}: synthetic 2D computed from the tomosynthesis volume"
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    ds.QualityControlImage = "NO"
    ds.BodyPartExamined = "BREAST"
    ds.AnatomicRegionSequence = anatomic_region(study.laterality)
    add_breast_view(ds, study)
    ds.OrganExposed = "BREAST"
    ds.AcquisitionContextSequence = Sequence()
    ds.BreastImplantPresent = "NO"
    ds.PartialView = "NO"
    ds.ImagerPixelSpacing = [ds_str(pitch[0]), ds_str(pitch[1])]
    ds.DetectorType = "DIRECT"
    ds.PositionerType = "MAMMOGRAPHIC"
    ds.PixelIntensityRelationship = "LIN"
    ds.PixelIntensityRelationshipSign = 1
    ds.RescaleIntercept = "0"
    ds.RescaleSlope = "1"
    ds.RescaleType = "US"
    ds.PresentationLUTShape = "IDENTITY"
    ds.WindowCenter = ds_str((float(window[0]) - intercept) / slope)
    ds.WindowWidth = ds_str(max(float(window[1]) / slope, 1.0))
    ds.VOILUTFunction = "LINEAR"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = arr.shape
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.PixelData = to_disk(stored, study.laterality).tobytes()
    if source is not None:
        item = Dataset()
        item.ReferencedSOPClassUID = source.sop_class_uid
        item.ReferencedSOPInstanceUID = source.sop_instance_uid
        item.PurposeOfReferenceCodeSequence = Sequence(
            [code_item("121322", "DCM", "Source image for image processing operation")]
        )
        ds.SourceImageSequence = Sequence([item])
        ds.DerivationCodeSequence = Sequence([code_item("113072", "DCM", "Multiplanar reformatting")])
    return WrittenObject(
        path=save(ds, path),
        sop_class_uid=ds.SOPClassUID,
        sop_instance_uid=ds.SOPInstanceUID,
        series_instance_uid=series_uid,
        study_instance_uid=study.study_instance_uid,
        frame_of_reference_uid=None,
    )
