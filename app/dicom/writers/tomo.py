"""Breast Tomosynthesis Image (enhanced multi-frame) from a :class:`recon.Volume`.

Slices are stored as unsigned 16-bit integers with a Real World Value Mapping back to the
volume's values (1/mm for reconstructions: DESIGN.md "on disk"); Pixel Value Transformation is
the identity (the IOD requires it). Each frame carries its Plane Position (Patient); Plane
Orientation, Pixel Measures, Frame Anatomy, X-Ray 3D Frame Type and Frame VOI LUT are shared.
Geometry in the patient frame follows :mod:`app.dicom.views`.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from app.dicom import uids
from app.dicom.identity import PatientStudy, new_uid
from app.dicom.views import detector_to_patient, disk_flips
from app.dicom.writers.common import (
    MANUFACTURER,
    PER_MM,
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
from app.dicom.writers.pixels import (
    QuantizedFrames,
    histogram_percentiles,
    integer_range,
    scale_for,
    stored_histogram,
    value_range,
)

__all__ = ["write_tomosynthesis", "slice_positions_lps"]

#: Voxels sampled (every n-th row and column of every slice) for the default display window.
_WINDOW_SAMPLE = 16_000_000


def slice_positions_lps(grid, laterality: str, view: str) -> tuple[np.ndarray, np.ndarray]:
    """(positions (nz, 3), orientation (6,)) in the patient frame of the stored slices."""
    a = detector_to_patient(laterality, view)
    flip_rows, flip_cols = disk_flips(laterality)
    nz, ny, nx = grid.shape
    dz, dy, dx = grid.voxel_mm
    z0, y0, x0 = grid.origin_mm
    x = x0 + ((nx - 1) * dx if flip_cols else 0.0)
    y = y0 + ((ny - 1) * dy if flip_rows else 0.0)
    pts = np.stack([np.full(nz, x), np.full(nz, y), z0 + dz * np.arange(nz)], axis=1)
    pos = pts @ a.T
    row_dir = a @ np.array([-1.0 if flip_cols else 1.0, 0.0, 0.0])
    col_dir = a @ np.array([0.0, -1.0 if flip_rows else 1.0, 0.0])
    return pos, np.concatenate([row_dir, col_dir])


def _source_refs(projections, source) -> list[tuple[str, str]]:
    refs = []
    for obj in (source, projections):
        if obj is None:
            continue
        meta = getattr(obj, "metadata", None)
        if meta is not None:
            for cls, inst in zip(
                [meta.get("sop_class_uid")] * len(meta.get("sop_instance_uids", [meta.get("sop_instance_uid")])),
                meta.get("sop_instance_uids", [meta.get("sop_instance_uid")]),
                strict=True,
            ):
                if cls and inst:
                    refs.append((cls, inst))
        elif hasattr(obj, "sop_instance_uid"):
            refs.append((obj.sop_class_uid, obj.sop_instance_uid))
    return list(dict.fromkeys(refs))


def write_tomosynthesis(
    volume,
    path,
    *,
    study: PatientStudy,
    projections=None,
    source=None,
    algorithm: str = "FBP",
    algorithm_description: str = "filtered backprojection",
    parameters: dict | None = None,
    window: tuple[float, float] | None = None,
    series_instance_uid: str | None = None,
    series_number: int = 2,
    frame_of_reference_uid: str | None = None,
    manufacturer: str = MANUFACTURER,
    model_name: str = "Crescent reconstruction",
    series_description: str = "DBT reconstruction",
    units: str = "1/mm",
) -> WrittenObject:
    """Write a volume as one Breast Tomosynthesis Image file.

    Parameters
    ----------
    volume : recon.Volume
        Slices (nz, ny, nx), slice 0 nearest the breast support.
    path : str or Path
    study : PatientStudy
        Patient, study, laterality and view (use the projections' ``metadata["study"]``).
    projections : recon.ProjectionSet, optional
        The source projections: their geometry, exposures and thickness fill the Breast
        Tomosynthesis Acquisition module; their UIDs (from a reader's metadata) are
        referenced and their Frame of Reference shared.
    source : WrittenObject, optional
        The written projection object to reference (from :func:`write_projection_set`).
    algorithm, algorithm_description : str
        Reconstruction algorithm (e.g. ``FBP``, ``SART``) and its description.
    parameters : dict, optional
        Algorithm parameters, recorded in the Reconstruction Description.
    window : (centre, width), optional
        Display window in volume units; default ``volume.metadata["window"]``, else the
        1st-99th percentile range of the stored values (every n-th row and column of every
        slice for volumes over 16 M voxels: every 4th for a GE-size volume).
    units : str
        ``"1/mm"`` for linear attenuation, anything else records unitless values.

    Returns
    -------
    WrittenObject
    """
    from recon.types import Volume

    if not isinstance(volume, Volume):
        raise TypeError(f"write_tomosynthesis: volume must be a recon.Volume, got {type(volume).__name__}")
    if not isinstance(study, PatientStudy):
        raise TypeError("write_tomosynthesis: study must be a PatientStudy")
    try:
        lo, hi = value_range(volume.data)  # NaN/inf check without a full-size temporary
    except ValueError:
        raise ValueError("write_tomosynthesis: the volume contains non-finite values") from None
    grid = volume.grid
    nz, ny, nx = grid.shape
    window = window or volume.metadata.get("window")
    if window is not None and not (len(window) == 2 and window[1] > 0):
        raise ValueError(f"write_tomosynthesis: window must be (centre, width > 0), got {window}")

    proj_meta = getattr(projections, "metadata", {}) or {}
    for_uid = (
        frame_of_reference_uid
        or getattr(source, "frame_of_reference_uid", None)
        or proj_meta.get("frame_of_reference_uid")
        or new_uid()
    )
    series_uid = series_instance_uid or new_uid()
    refs = _source_refs(projections, source)

    ds = base_dataset(uids.BTO)
    add_patient_study(ds, study)
    add_series(ds, modality="MG", series_uid=series_uid, series_number=series_number, description=series_description)
    add_equipment(ds, manufacturer=manufacturer, model=model_name)
    ds.FrameOfReferenceUID = for_uid
    ds.PositionReferenceIndicator = ""
    now = _dt.datetime.now()
    ds.ContentDate = now.strftime("%Y%m%d")
    ds.ContentTime = now.strftime("%H%M%S")
    acquired = now.strftime("%Y%m%d%H%M%S")
    ds.InstanceNumber = 1
    ds.ImageType = ["DERIVED", "PRIMARY", "TOMOSYNTHESIS", "NONE"]
    ds.PixelPresentation = "MONOCHROME"
    ds.VolumetricProperties = "VOLUME"
    ds.VolumeBasedCalculationTechnique = "TOMOSYNTHESIS"
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    ds.ContentQualification = "RESEARCH"
    ds.AcquisitionContextSequence = Sequence()
    add_breast_view(ds, study, image_laterality=False, patient_orientation=False)
    ds.BreastImplantPresent = "NO"
    ds.PartialView = "NO"
    ds.PresentationLUTShape = "IDENTITY"

    smin, smax = integer_range(16, False)
    slope, intercept = scale_for(lo, hi)
    flip_rows, flip_cols = disk_flips(study.laterality)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = ny, nx
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.NumberOfFrames = nz
    # streamed: each frame is quantised into stored order while pydicom writes the file
    ds.PixelData = QuantizedFrames(
        volume.data, slope=slope, intercept=intercept, smin=smin, smax=smax, flip_rows=flip_rows, flip_cols=flip_cols
    )

    # reconstruction
    rec = Dataset()
    text = algorithm_description
    if parameters:
        text += "; " + ", ".join(f"{k}={v}" for k, v in sorted(parameters.items()))
    rec.ReconstructionDescription = text[:64]
    rec.ApplicationName = "Crescent"
    rec.ApplicationVersion = ds.SoftwareVersions
    rec.ApplicationManufacturer = MANUFACTURER
    rec.AlgorithmType = "FILTER_BACK_PROJ" if algorithm.upper() in ("FBP", "FDK", "BP") else "ITERATIVE"
    rec.AlgorithmDescription = text[:1024]
    rec.AcquisitionIndex = [1]
    ds.XRay3DReconstructionSequence = Sequence([rec])
    ds.XRay3DAcquisitionSequence = Sequence([_acquisition_item(projections, proj_meta)])

    # functional groups
    positions, orientation = slice_positions_lps(grid, study.laterality, study.view)
    shared = Dataset()
    pm = Dataset()
    pm.PixelSpacing = [ds_str(grid.voxel_mm[1]), ds_str(grid.voxel_mm[2])]
    pm.SliceThickness = ds_str(grid.voxel_mm[0])
    shared.PixelMeasuresSequence = Sequence([pm])
    po = Dataset()
    po.ImageOrientationPatient = [ds_str(v) for v in orientation]
    shared.PlaneOrientationSequence = Sequence([po])
    shared.FrameAnatomySequence = frame_anatomy(study.laterality)
    voi = Dataset()
    if window is None:  # 1st-99th percentile of the stored values (of at most ~16 M voxels)
        step = max(1, int(np.ceil(np.sqrt(volume.data.size / _WINDOW_SAMPLE))))
        hist = stored_histogram(volume.data, slope=slope, intercept=intercept, smin=smin, smax=smax, step=step)
        p_lo, p_hi = histogram_percentiles(hist, [1.0, 99.0], smin=smin) * slope + intercept
        window = ((p_lo + p_hi) / 2.0, max(p_hi - p_lo, 1e-6))
    centre = (float(window[0]) - intercept) / slope
    width = max(float(window[1]) / slope, 1.0)
    voi.WindowCenter = ds_str(centre)
    voi.WindowWidth = ds_str(width)
    voi.VOILUTFunction = "LINEAR"
    shared.FrameVOILUTSequence = Sequence([voi])
    pvt = Dataset()
    pvt.RescaleIntercept = "0"
    pvt.RescaleSlope = "1"
    pvt.RescaleType = "US"
    shared.PixelValueTransformationSequence = Sequence([pvt])
    per_mm = units == "1/mm"
    shared.RealWorldValueMappingSequence = real_world_mapping(
        slope,
        intercept,
        label="MU" if per_mm else "VALUE",
        units=PER_MM if per_mm else UNITLESS,
        explanation="linear attenuation coefficient" if per_mm else "reconstructed value",
    )
    if refs:
        der = Dataset()
        der.DerivationCodeSequence = Sequence(
            [code_item("113091", "DCM", "Spatially-related frames extracted from the volume")]
        )
        der.DerivationDescription = f"tomosynthesis reconstruction ({algorithm})"
        srcs = []
        for cls, inst in refs:
            item = Dataset()
            item.ReferencedSOPClassUID = cls
            item.ReferencedSOPInstanceUID = inst
            item.PurposeOfReferenceCodeSequence = Sequence(
                [code_item("121322", "DCM", "Source image for image processing operation")]
            )
            srcs.append(item)
        der.SourceImageSequence = Sequence(srcs)
        shared.DerivationImageSequence = Sequence([der])

    per_frame = []
    for k in range(nz):
        item = Dataset()
        fc = Dataset()
        fc.FrameAcquisitionDateTime = acquired
        fc.FrameReferenceDateTime = acquired
        fc.FrameAcquisitionDuration = 0.0
        fc.StackID = "1"
        fc.InStackPositionNumber = k + 1
        fc.DimensionIndexValues = [k + 1]
        item.FrameContentSequence = Sequence([fc])
        ft = Dataset()
        ft.FrameType = ["DERIVED", "PRIMARY", "TOMOSYNTHESIS", "NONE"]
        ft.PixelPresentation = "MONOCHROME"
        ft.VolumetricProperties = "VOLUME"
        ft.VolumeBasedCalculationTechnique = "TOMOSYNTHESIS"
        ft.ReconstructionIndex = 1
        item.XRay3DFrameTypeSequence = Sequence([ft])
        pp = Dataset()
        pp.ImagePositionPatient = [ds_str(v) for v in positions[k]]
        item.PlanePositionSequence = Sequence([pp])
        per_frame.append(item)
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    ds.PerFrameFunctionalGroupsSequence = Sequence(per_frame)
    dim_uid = new_uid()
    dim = Dataset()
    dim.DimensionOrganizationUID = dim_uid
    ds.DimensionOrganizationSequence = Sequence([dim])
    idx = Dataset()
    idx.DimensionOrganizationUID = dim_uid
    idx.DimensionIndexPointer = 0x00209057  # In-Stack Position Number
    idx.FunctionalGroupPointer = 0x00209111  # Frame Content Sequence
    idx.DimensionDescriptionLabel = "slice"
    ds.DimensionIndexSequence = Sequence([idx])
    ds.DimensionOrganizationType = "3D"
    return WrittenObject(
        path=save(ds, path),
        sop_class_uid=ds.SOPClassUID,
        sop_instance_uid=ds.SOPInstanceUID,
        series_instance_uid=series_uid,
        study_instance_uid=study.study_instance_uid,
        frame_of_reference_uid=for_uid,
        number_of_frames=nz,
    )


def _acquisition_item(projections, meta: dict) -> Dataset:
    """One X-Ray 3D Acquisition Sequence item (Breast Tomosynthesis Acquisition module)."""
    item = Dataset()
    if projections is not None:
        g = projections.geometry
        deg = np.degrees(g.angles_rad)
        heights = np.sum((g.source_mm - g.detector_origin_mm) * g.detector_normal, axis=1)
        dsd = float(g.source_to_detector_mm or np.mean(heights))
        n = g.n_views
        thickness = float(meta.get("thickness_mm") or projections.metadata.get("thickness_mm") or 50.0)
        mas = projections.exposure_mas
    else:
        deg = np.zeros(1)
        dsd, n, thickness, mas = 650.0, 1, 50.0, None
        g = None
    support = float(g.support_height_mm) if g is not None else 0.0
    item.DistanceSourceToDetector = ds_str(dsd)
    item.DistanceSourceToPatient = ds_str(max(dsd - support - thickness, 1.0))
    item.EstimatedRadiographicMagnificationFactor = ds_str(dsd / max(dsd - support - thickness / 2.0, 1.0))
    item.PrimaryPositionerScanArc = float(deg.max() - deg.min())
    item.PrimaryPositionerScanStartAngle = float(deg[0])
    item.PrimaryPositionerIncrement = float(np.mean(np.diff(deg))) if n > 1 else 0.0
    item.AnodeTargetMaterial = "TUNGSTEN"
    item.FilterType = "STRIP"
    item.FilterMaterial = ["ALUMINUM"]
    item.FilterThicknessMinimum = ["0.7"]
    item.FilterThicknessMaximum = ["0.7"]
    item.BodyPartThickness = ds_str(thickness)
    item.CompressionForce = ds_str(float(meta.get("compression_force_n") or 100.0))
    item.PaddleDescription = "SIMULATED"
    item.XRayReceptorType = "DIGITAL_DETECTOR"
    item.ExposureControlMode = "MANUAL"
    item.ExposureControlModeDescription = "simulated acquisition"
    item.HalfValueLayer = 0.5
    item.FocalSpots = ["0.3"]
    item.DetectorBinning = [1.0, 1.0]
    item.DetectorTemperature = "25"
    item.FieldOfViewShape = "RECTANGLE"
    item.FieldOfViewOrigin = ["0", "0"]
    item.FieldOfViewRotation = "0"
    item.FieldOfViewHorizontalFlip = "NO"
    item.KVP = "29"
    total = float(np.sum(mas)) if mas is not None else 0.0
    item.ExposureInmAs = total
    item.ExposureTimeInms = 100.0 * n
    item.XRayTubeCurrentInmA = total / (0.1 * n) if n else 0.0
    per = []
    for i in range(n):
        p = Dataset()
        p.PositionerPrimaryAngle = ds_str(float(deg[i]))
        p.ExposureTimeInms = 100.0
        p.ExposureInmAs = float(mas[i]) if mas is not None else 0.0
        p.RelativeXRayExposure = 1
        p.OrganDose = "0"
        p.EntranceDoseInmGy = "0"
        per.append(p)
    item.PerProjectionAcquisitionSequence = Sequence(per)
    return item
