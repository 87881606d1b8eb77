"""Acquisition geometry from DICOM attributes, with presets for what is missing.

Order of preference for each projection:

1. the Breast X-Ray Isocenter Reference System macro (source and detector pose, exact; see
   :mod:`app.dicom.isocenter`);
2. an arc from the per-projection Positioner Primary Angle with Distance Source to Detector
   and Distance Source to Isocenter (pivot height = DSD - DSI), detector stationary;
3. a preset picked from Manufacturer / Manufacturer Model Name (or given by the user) for
   whatever is missing, with a :class:`GeometryAssumedWarning` naming the assumed values.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from app.dicom.isocenter import ViewPose, decode_view
from app.dicom.readers.attrs import first_item, functional_group, get_float, get_floats, get_value
from app.errors import InputError

__all__ = ["GeometryAssumedWarning", "preset_for_equipment", "projection_geometry", "pixel_spacing"]


class GeometryAssumedWarning(UserWarning):
    """Geometry attributes were missing and preset values were assumed."""


def preset_for_equipment(manufacturer: str, model: str) -> str | None:
    """Name of the preset matching Manufacturer / Manufacturer Model Name, or None."""
    from recon.presets import PRESETS

    model_l = (model or "").strip().lower()
    if model_l in PRESETS:
        return model_l
    text = f"{manufacturer} {model}".upper()
    if "HOLOGIC" in text or "SELENIA" in text or "DIMENSIONS" in text:
        return "hologic-dimensions"
    if "SIEMENS" in text or "MAMMOMAT" in text:
        return "siemens-mammomat"
    if "GE " in f"{text} " or "GE MEDICAL" in text or "GE HEALTHCARE" in text or "SENOGRAPHE" in text:
        return "ge-essential"
    if "VICTRE" in text:
        return "victre"
    return None


def pixel_spacing(ds, frame: int, path) -> tuple[float, float] | None:
    """(row pitch, column pitch) at the detector, mm."""
    props = functional_group(ds, frame, "FramePixelDataPropertiesSequence")
    for holder, keyword in (
        (props, "ImagerPixelSpacing"),
        (ds, "ImagerPixelSpacing"),
        (ds, "DetectorElementSpacing"),
        (functional_group(ds, frame, "PixelMeasuresSequence"), "PixelSpacing"),
        (ds, "PixelSpacing"),
    ):
        values = get_floats(holder, keyword)
        if values and len(values) == 2 and min(values) > 0:
            return float(values[0]), float(values[1])
    return None


_POSE_KEYS = (
    "XRaySourceIsocenterPrimaryAngle",
    "XRaySourceIsocenterSecondaryAngle",
    "DetectorIsocenterPrimaryAngle",
    "DetectorIsocenterSecondaryAngle",
    "DetectorXPositionToIsocenter",
    "DetectorYPositionToIsocenter",
    "DetectorZPositionToIsocenter",
)


def _pose(ds, frame: int, path) -> ViewPose | None:
    """The isocenter pose of one frame; None when the macro is absent, InputError when it is broken."""
    iso = functional_group(ds, frame, "IsocenterReferenceSystemSequence")
    geo = functional_group(ds, frame, "XRayGeometrySequence")
    if iso is None:
        return None
    where = f"{path} (frame {frame + 1})"
    vals = {k: get_float(iso, k) for k in _POSE_KEYS}
    for key, value in vals.items():
        if value is None:
            raise InputError(f"{where}: {key} (Isocenter Reference System) is missing or invalid")
    dsi = get_float(geo, "DistanceSourceToIsocenter") or get_float(ds, "DistanceSourceToIsocenter")
    if dsi is None or not dsi > 0:
        raise InputError(f"{where}: DistanceSourceToIsocenter (X-Ray Geometry) is missing or not positive")
    tlhc = get_floats(iso, "DetectorActiveAreaTLHCPosition")
    if tlhc is None or len(tlhc) != 3:
        raise InputError(f"{where}: DetectorActiveAreaTLHCPosition is missing or not 3 numbers")
    orient = get_floats(iso, "DetectorActiveAreaOrientation")
    o = np.asarray(orient if orient is not None else [], dtype=float)
    if (
        o.size != 6
        or not np.isclose(np.linalg.norm(o[:3]), 1, atol=1e-3)
        or not np.isclose(np.linalg.norm(o[3:]), 1, atol=1e-3)
        or abs(float(np.dot(o[:3], o[3:]))) > 1e-3
    ):
        raise InputError(f"{where}: DetectorActiveAreaOrientation is not two orthogonal unit vectors ({orient})")
    return ViewPose(
        source_primary_deg=vals["XRaySourceIsocenterPrimaryAngle"],
        source_secondary_deg=vals["XRaySourceIsocenterSecondaryAngle"],
        source_to_isocenter_mm=dsi,
        detector_primary_deg=vals["DetectorIsocenterPrimaryAngle"],
        detector_secondary_deg=vals["DetectorIsocenterSecondaryAngle"],
        detector_position_mm=(
            vals["DetectorXPositionToIsocenter"],
            vals["DetectorYPositionToIsocenter"],
            vals["DetectorZPositionToIsocenter"],
        ),
        tlhc_mm=tuple(tlhc),
        orientation=tuple(float(v) for v in o),
        support_primary_deg=get_float(iso, "BreastSupportIsocenterPrimaryAngle", 0.0) or 0.0,
        support_position_mm=(
            get_float(iso, "BreastSupportXPositionToIsocenter", 0.0) or 0.0,
            get_float(iso, "BreastSupportYPositionToIsocenter", 0.0) or 0.0,
            get_float(iso, "BreastSupportZPositionToIsocenter", 0.0) or 0.0,
        ),
    )


def frame_angle_deg(ds, frame: int) -> float | None:
    """Tube angle of one projection: Positioner Primary Angle (functional group, top level,
    or the X-Ray 3D Acquisition Sequence's Per Projection Acquisition Sequence)."""
    pos = functional_group(ds, frame, "PositionerPositionSequence")
    angle = get_float(pos, "PositionerPrimaryAngle")
    if angle is None and get_value(ds, "NumberOfFrames", 1) in (1, "1", None):
        angle = get_float(ds, "PositionerPrimaryAngle")  # single-frame image: top level
    if angle is not None:
        return angle
    acq = first_item(ds, "XRay3DAcquisitionSequence")
    per = acq.get("PerProjectionAcquisitionSequence") if acq is not None else None
    try:
        if per is not None and frame < len(per):
            angle = get_float(per[frame], "PositionerPrimaryAngle")
            if angle is not None:
                return angle
    except Exception:
        pass
    return None


def projection_geometry(
    frames: list,
    *,
    rows: int,
    columns: int,
    path: Path | str,
    manufacturer: str = "",
    model: str = "",
    preset: str | None = None,
    geometry=None,
    flips_hint: tuple[bool, bool] | None = None,
    thickness_mm: float | None = None,
):
    """The Geometry of a projection set and how to flip its stored pixels.

    Parameters
    ----------
    frames : list of (dataset, frame index)
        Where each projection's attributes live (one multi-frame dataset with indices 0..n-1,
        or one single-frame dataset per projection with index 0).
    rows, columns : int
        Stored image size.
    preset : str, optional
        User override: take missing values from this preset (and ignore the manufacturer).
    geometry : recon.Geometry, optional
        User override: use this geometry as it is (it must match the number of frames and the
        image size; rows along y and columns along x of our convention).
    flips_hint : (flip rows, flip columns), optional
        How stored pixels relate to our order when the isocenter attributes do not say.

    Returns
    -------
    geometry, (flip_rows, flip_cols), source, warnings
        ``source`` says where the geometry came from: ``"dicom"``, ``"dicom+preset:NAME"``,
        ``"override"``.
    """
    from recon.geometry import Geometry, arc_geometry
    from recon.presets import PRESETS

    n = len(frames)
    notes: list[str] = []
    flips = flips_hint or (False, False)
    if geometry is not None:
        if not isinstance(geometry, Geometry):
            raise TypeError("geometry override must be a recon.Geometry")
        if geometry.n_views != n or geometry.detector_shape != (rows, columns):
            raise InputError(
                f"{path}: the geometry override has {geometry.n_views} views of {geometry.detector_shape}, "
                f"the file {n} frames of {(rows, columns)}"
            )
        return geometry, flips, "override", notes
    if preset is not None and preset not in PRESETS:
        raise InputError(f"unknown geometry preset {preset!r}; choose one of {', '.join(PRESETS)}")

    spacing = pixel_spacing(*frames[0], path)
    poses = [_pose(ds, i, path) for ds, i in frames]
    if any(p is not None for p in poses) and not all(p is not None for p in poses):
        k = next(i for i, p in enumerate(poses) if p is None)
        raise InputError(f"{path} (frame {k + 1}): IsocenterReferenceSystemSequence is missing (other frames have it)")
    if all(p is not None for p in poses) and spacing is None:
        raise InputError(f"{path}: ImagerPixelSpacing is missing (Frame Pixel Data Properties)")
    if all(p is not None for p in poses):
        decoded = [decode_view(p, rows=rows, columns=columns, pixel_mm=spacing) for p in poses]
        flips = (decoded[0].flip_rows, decoded[0].flip_cols)
        if any((d.flip_rows, d.flip_cols) != flips for d in decoded):
            raise InputError(f"{path}: DetectorActiveAreaOrientation flips the image differently between frames")
        angles = [frame_angle_deg(ds, i) for ds, i in frames]
        src = np.array([d.source_mm for d in decoded])
        if any(a is None for a in angles):
            angles_rad = np.arctan2(src[:, 1], src[:, 2] - decoded[0].pivot_height_mm)
        else:
            angles_rad = np.deg2rad(np.array(angles, dtype=np.float64))
        # nominal source-to-detector distance of an arc: pivot height + source-to-pivot distance
        dsd = decoded[0].pivot_height_mm + poses[0].source_to_isocenter_mm
        try:
            geom = Geometry(
                source_mm=src,
                detector_origin_mm=np.array([d.origin_mm for d in decoded]),
                detector_u_dir=np.array([d.u_dir for d in decoded]),
                detector_v_dir=np.array([d.v_dir for d in decoded]),
                pixel_mm=spacing,
                detector_shape=(rows, columns),
                angles_rad=angles_rad,
                name=(model or "dicom").strip() or "dicom",
                support_height_mm=max(decoded[0].support_height_mm, 0.0),
                pivot_height_mm=decoded[0].pivot_height_mm,
                source_to_detector_mm=dsd,
            )
        except ValueError as exc:
            raise InputError(f"{path}: the isocenter attributes give an impossible geometry ({exc})") from None
        return geom, flips, "dicom", notes

    # partial attributes: an arc, with a preset for what is missing
    angles = [frame_angle_deg(ds, i) for ds, i in frames]
    geo0 = functional_group(frames[0][0], frames[0][1], "XRayGeometrySequence")
    ds0 = frames[0][0]
    dsd = get_float(geo0, "DistanceSourceToDetector") or get_float(ds0, "DistanceSourceToDetector")
    dsi = get_float(geo0, "DistanceSourceToIsocenter") or get_float(ds0, "DistanceSourceToIsocenter")
    name = preset or preset_for_equipment(manufacturer, model)
    missing = []
    if any(a is None for a in angles):
        missing.append("PositionerPrimaryAngle")
    if spacing is None:
        missing.append("ImagerPixelSpacing")
    if dsd is None or not dsd > 0:
        missing.append("DistanceSourceToDetector")
    if dsi is None or not dsi > 0:
        missing.append("DistanceSourceToIsocenter")
    if missing and name is None:
        raise InputError(
            f"{path}: geometry attributes missing ({', '.join(missing)}) and Manufacturer/ManufacturerModelName "
            f"({manufacturer or '-'}/{model or '-'}) match no preset; give a preset"
        )
    p = PRESETS[name] if name else None
    assumed = []
    if "PositionerPrimaryAngle" in missing:
        half = np.deg2rad(p.arc_deg) / 2
        angles_rad = np.linspace(-half, half, n) if n > 1 else np.zeros(1)
        assumed.append(f"{n} angles evenly over {p.arc_deg:g} degrees")
    else:
        angles_rad = np.deg2rad(np.array(angles, dtype=np.float64))
    if spacing is None:
        spacing = (p.pixel_mm, p.pixel_mm)
        assumed.append(f"pixel pitch {p.pixel_mm:g} mm")
    if "DistanceSourceToDetector" in missing:
        dsd = p.source_to_detector_mm
        assumed.append(f"source to detector {dsd:g} mm")
    if "DistanceSourceToIsocenter" in missing:
        pivot = p.pivot_height_mm if p else 0.0
        assumed.append(f"pivot height {pivot:g} mm")
    else:
        pivot = dsd - dsi
    if not (dsd > pivot >= 0):
        raise InputError(
            f"{path}: DistanceSourceToIsocenter ({dsi}) and DistanceSourceToDetector ({dsd}) give a pivot "
            f"{pivot:g} mm from the detector"
        )
    support = p.support_height_mm if p else 0.0
    tilt = p.detector_tilt_deg if (p and "DistanceSourceToDetector" in missing) else 0.0
    if p is not None:
        assumed.append(f"breast support {support:g} mm above the detector")
        if tilt:
            assumed.append(f"detector tilt {tilt:g} degrees")
    source = "dicom" if not missing else f"dicom+preset:{name}"
    if missing:
        message = f"{path}: {', '.join(missing)} missing; assumed preset {name!r} values: {', '.join(assumed)}"
        notes.append(message)
        warnings.warn(message, GeometryAssumedWarning, stacklevel=3)
    try:
        geom = arc_geometry(
            angles_rad=angles_rad,
            source_to_detector_mm=dsd,
            pivot_height_mm=pivot,
            detector_shape=(rows, columns),
            pixel_mm=spacing,
            detector_tilt_deg=tilt,
            support_height_mm=support,
            name=name or (model or "dicom"),
        )
    except ValueError as exc:
        raise InputError(f"{path}: the geometry attributes are impossible ({exc})") from None
    return geom, flips, source, notes


def thickness_of(ds) -> float | None:
    """Compressed breast thickness (Body Part Thickness), mm, from the top level, the dose
    functional group or the X-Ray 3D Acquisition Sequence."""
    for holder in (
        ds,
        functional_group(ds, 0, "XRayAcquisitionDoseSequence"),
        first_item(ds, "XRay3DAcquisitionSequence"),
    ):
        value = get_float(holder, "BodyPartThickness")
        if value is not None and value > 0:
            return value
    return None


__all__ += ["frame_angle_deg", "thickness_of"]
