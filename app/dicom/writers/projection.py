"""Breast Projection X-Ray Image - For Processing (multi-frame) from a :class:`recon.ProjectionSet`.

What ``crescent phantom`` writes. The acquisition geometry goes into the standard
functional groups (Breast X-Ray Positioner, Detector, Geometry and Isocenter Reference System
macros; see :mod:`app.dicom.isocenter`), so :func:`app.dicom.read_projection_set` gives back
the same :class:`recon.Geometry`. Pixels are 16-bit unsigned integers with a Pixel Value
Transformation (rescale) back to the stored quantity: line integrals (Pixel Intensity
Relationship LOG, sign -1) or raw detector signal (LIN, sign +1).
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from app.dicom import uids
from app.dicom.identity import PatientStudy, new_uid
from app.dicom.isocenter import encode_view
from app.dicom.views import disk_flips, gantry_angle_deg
from app.dicom.writers.common import (
    MANUFACTURER,
    UNITLESS,
    WrittenObject,
    add_breast_view,
    add_equipment,
    add_patient_study,
    add_series,
    base_dataset,
    code_item,
    ds_str,
    frame_anatomy,
    real_world_mapping,
    save,
)
from app.dicom.writers.pixels import QuantizedFrames, integer_range, quantize_value, scale_for, value_range

__all__ = ["write_projection_set"]


def _fd(values) -> list[float]:
    return [float(v) for v in values]


def write_projection_set(
    projections,
    path,
    *,
    study: PatientStudy,
    series_instance_uid: str | None = None,
    series_number: int = 1,
    frame_of_reference_uid: str | None = None,
    manufacturer: str = MANUFACTURER,
    model_name: str | None = None,
    kvp: float = 29.0,
    body_part_thickness_mm: float | None = None,
    series_description: str = "DBT projections (for processing)",
) -> WrittenObject:
    """Write a projection set as one Breast Projection X-Ray Image - For Processing file.

    Parameters
    ----------
    projections : recon.ProjectionSet
        Data (views, rows along y, columns along x), geometry and per-view exposure.
    path : str or Path
        Output file (written atomically).
    study : PatientStudy
        Patient, study, laterality and view.
    series_instance_uid, frame_of_reference_uid : str, optional
        Default: new UIDs. Give the frame of reference to share it with a reconstruction.
    manufacturer, model_name : str
        Equipment attributes; ``model_name`` defaults to the geometry's name (readers pick
        a preset from it when the geometry attributes are missing).
    kvp : float
        Tube voltage recorded in the acquisition attributes.
    body_part_thickness_mm : float, optional
        Compressed breast thickness; default ``projections.metadata["thickness_mm"]`` or 50.

    Returns
    -------
    WrittenObject
    """
    from recon.types import ProjectionSet

    if not isinstance(projections, ProjectionSet):
        raise TypeError(f"write_projection_set: projections must be a recon.ProjectionSet, got {type(projections)}")
    if not isinstance(study, PatientStudy):
        raise TypeError("write_projection_set: study must be a PatientStudy")
    geom = projections.geometry
    n, nv, nu = projections.data.shape
    thickness = float(body_part_thickness_mm or projections.metadata.get("thickness_mm", 50.0))
    if not thickness > 0:
        raise ValueError(f"write_projection_set: body_part_thickness_mm must be > 0, got {thickness}")
    series_uid = series_instance_uid or new_uid()
    for_uid = frame_of_reference_uid or new_uid()
    ds = base_dataset(uids.BPX_PROCESSING)
    add_patient_study(ds, study)
    add_series(ds, modality="MG", series_uid=series_uid, series_number=series_number, description=series_description)
    add_equipment(ds, manufacturer=manufacturer, model=model_name or geom.name)
    ds.FrameOfReferenceUID = for_uid
    ds.PositionReferenceIndicator = ""
    now = _dt.datetime.now()
    ds.ContentDate = now.strftime("%Y%m%d")
    ds.ContentTime = now.strftime("%H%M%S")
    ds.AcquisitionDateTime = now.strftime("%Y%m%d%H%M%S")
    ds.InstanceNumber = 1
    ds.ImageType = ["ORIGINAL", "PRIMARY", "TOMOSYNTHESIS", "NONE"]
    ds.PresentationIntentType = "FOR PROCESSING"
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    ds.QualityControlImage = "NO"
    ds.ContentQualification = "RESEARCH"
    ds.BodyPartExamined = "BREAST"
    add_breast_view(ds, study, image_laterality=False)
    ds.BreastImplantPresent = "NO"
    ds.PartialView = "NO"
    ds.BodyPartThickness = f"{thickness:.6g}"
    ds.KVP = f"{kvp:.6g}"
    ds.AcquisitionContextSequence = Sequence()
    ds.PositionerType = "MAMMOGRAPHIC"
    ds.DetectorType = "DIRECT"
    ds.DetectorConfiguration = "AREA"
    ds.PositionerMotion = "DYNAMIC"
    ds.AcquisitionDuration = 0.1 * n
    exposure = projections.exposure_mas
    total_mas = float(np.sum(exposure)) if exposure is not None else 0.0
    ds.ExposureInmAs = total_mas
    ds.ExposureTimeInms = 100.0 * n
    ds.XRayTubeCurrentInmA = total_mas / (0.1 * n)
    ds.FocalSpots = ["0.3"]
    ds.AnodeTargetMaterial = "TUNGSTEN"
    ds.CompressionForce = "0"
    ds.PaddleDescription = "SIMULATED"
    ds.ExposureControlMode = "MANUAL"
    ds.ExposureControlModeDescription = "simulated acquisition"
    ds.OrganDose = "0"
    ds.EntranceDoseInmGy = "0"
    ds.TypeOfDetectorMotion = "STATIONARY" if geom.is_stationary_flat else "ROTATING"
    ds.PatientOrientationCodeSequence = Sequence([code_item("10904000", "SCT", "orthostatic body position")])

    # pixels
    line = bool(projections.is_line_integral)
    smin, smax = integer_range(16, False)
    lo, hi = value_range(projections.data)
    slope, intercept = scale_for(lo, hi)
    flip_rows, flip_cols = disk_flips(study.laterality)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2" if not line else "MONOCHROME1"
    ds.Rows, ds.Columns = nv, nu
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.NumberOfFrames = n
    ds.PresentationLUTShape = "INVERSE" if line else "IDENTITY"
    # streamed: each frame is quantised into stored order while pydicom writes the file
    ds.PixelData = QuantizedFrames(
        projections.data,
        slope=slope,
        intercept=intercept,
        smin=smin,
        smax=smax,
        flip_rows=flip_rows,
        flip_cols=flip_cols,
    )
    # window: the mean and the full range of the stored values (stored is monotone in the data)
    stored_mean = (float(np.mean(projections.data)) - intercept) / slope  # float32 pairwise sum: ~1e-6 relative
    q_lo, q_hi = (quantize_value(v, slope, intercept, smin, smax) for v in (lo, hi))
    stored_ptp = float(q_hi - q_lo)
    gantry = gantry_angle_deg(study.view)

    shared = Dataset()
    pvt = Dataset()
    pvt.RescaleIntercept = "0"
    pvt.RescaleSlope = "1"
    pvt.RescaleType = "US"
    shared.PixelValueTransformationSequence = Sequence([pvt])
    shared.RealWorldValueMappingSequence = real_world_mapping(
        slope,
        intercept,
        label="LINE_INTEGRAL" if line else "SIGNAL",
        units=UNITLESS,
        explanation=("line integral -ln(I/I0)" if line else "detector signal"),
    )
    voi = Dataset()
    voi.WindowCenter = ds_str(stored_mean)
    voi.WindowWidth = ds_str(max(stored_ptp, 1.0))
    voi.VOILUTFunction = "LINEAR"
    shared.FrameVOILUTSequence = Sequence([voi])
    shared.FrameAnatomySequence = frame_anatomy(study.laterality)
    shared.FramePixelDataPropertiesSequence = Sequence([_pixel_properties(geom, line)])
    fov = Dataset()
    fov.FieldOfViewShape = "RECTANGLE"
    fov.FieldOfViewOrigin = ["0", "0"]
    fov.FieldOfViewRotation = "0"
    fov.FieldOfViewHorizontalFlip = "NO"
    shared.FieldOfViewSequence = Sequence([fov])
    coll = Dataset()
    coll.CollimatorShape = "RECTANGULAR"
    coll.CollimatorLeftVerticalEdge = 0
    coll.CollimatorRightVerticalEdge = nu
    coll.CollimatorUpperHorizontalEdge = 0
    coll.CollimatorLowerHorizontalEdge = nv
    shared.CollimatorShapeSequence = Sequence([coll])

    per_frame = []
    for i in range(n):
        item = Dataset()
        fc = Dataset()
        fc.FrameAcquisitionNumber = i + 1
        fc.FrameAcquisitionDateTime = ds.AcquisitionDateTime
        fc.FrameReferenceDateTime = ds.AcquisitionDateTime
        fc.FrameAcquisitionDuration = 100.0
        item.FrameContentSequence = Sequence([fc])
        ev = Dataset()
        ev.IrradiationEventUID = new_uid()
        item.IrradiationEventIdentificationSequence = Sequence([ev])
        pose = encode_view(geom, i, flip_rows=flip_rows, flip_cols=flip_cols, gantry_deg=gantry)
        pos = Dataset()
        pos.PositionerPrimaryAngle = ds_str(np.degrees(geom.angles_rad[i]))
        pos.PositionerSecondaryAngle = 0.0
        pos.PositionerPrimaryAngleDirection = "CW"
        item.PositionerPositionSequence = Sequence([pos])
        det = Dataset()
        det.DetectorPrimaryAngle = ds_str(pose.detector_primary_deg)
        det.DetectorSecondaryAngle = ds_str(pose.detector_secondary_deg)
        item.DetectorPositionSequence = Sequence([det])
        gm = Dataset()
        src_height = float(np.dot(geom.source_mm[i] - geom.detector_origin_mm[i], geom.detector_normal[i]))
        gm.DistanceSourceToDetector = ds_str(src_height)
        gm.DistanceSourceToIsocenter = float(pose.source_to_isocenter_mm)
        gm.DistanceSourceToPatient = ds_str(max(src_height - float(geom.support_height_mm) - thickness, 1.0))
        gm.EstimatedRadiographicMagnificationFactor = ds_str(src_height / max(src_height - geom.support_height_mm, 1.0))
        item.XRayGeometrySequence = Sequence([gm])
        iso = Dataset()
        iso.XRaySourceIsocenterPrimaryAngle = pose.source_primary_deg
        iso.XRaySourceIsocenterSecondaryAngle = pose.source_secondary_deg
        iso.BreastSupportIsocenterPrimaryAngle = pose.support_primary_deg
        iso.BreastSupportIsocenterSecondaryAngle = 0.0
        iso.BreastSupportXPositionToIsocenter = pose.support_position_mm[0]
        iso.BreastSupportYPositionToIsocenter = pose.support_position_mm[1]
        iso.BreastSupportZPositionToIsocenter = pose.support_position_mm[2]
        iso.DetectorIsocenterPrimaryAngle = pose.detector_primary_deg
        iso.DetectorIsocenterSecondaryAngle = pose.detector_secondary_deg
        iso.DetectorXPositionToIsocenter = pose.detector_position_mm[0]
        iso.DetectorYPositionToIsocenter = pose.detector_position_mm[1]
        iso.DetectorZPositionToIsocenter = pose.detector_position_mm[2]
        iso.DetectorActiveAreaTLHCPosition = _fd(pose.tlhc_mm)
        iso.DetectorActiveAreaOrientation = _fd(pose.orientation)
        item.IsocenterReferenceSystemSequence = Sequence([iso])
        dose = Dataset()
        mas = float(exposure[i]) if exposure is not None else 0.0
        dose.ExposureInmAs = mas
        dose.ExposureTimeInms = 100.0
        dose.OrganDose = "0"
        dose.EntranceDoseInmGy = "0"
        item.XRayAcquisitionDoseSequence = Sequence([dose])
        per_frame.append(item)
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    ds.PerFrameFunctionalGroupsSequence = Sequence(per_frame)
    return WrittenObject(
        path=save(ds, path),
        sop_class_uid=ds.SOPClassUID,
        sop_instance_uid=ds.SOPInstanceUID,
        series_instance_uid=series_uid,
        study_instance_uid=study.study_instance_uid,
        frame_of_reference_uid=for_uid,
        number_of_frames=n,
    )


def _pixel_properties(geom, line: bool) -> Dataset:
    item = Dataset()
    item.FrameType = ["ORIGINAL", "PRIMARY", "TOMOSYNTHESIS", "NONE"]
    item.PixelIntensityRelationship = "LOG" if line else "LIN"
    item.PixelIntensityRelationshipSign = -1 if line else 1
    item.GeometricalProperties = "UNIFORM"
    item.ImageProcessingApplied = "NONE"
    item.ImagerPixelSpacing = [f"{geom.pixel_mm[0]:.10g}", f"{geom.pixel_mm[1]:.10g}"]
    return item
