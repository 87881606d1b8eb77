"""Gather the inputs of ``crescent qc`` from files: dose attributes of a DICOM header, site limits."""

from __future__ import annotations

import json
from pathlib import Path

from app.errors import InputError
from recon.qc.limits import QCLimits

__all__ = ["dose_attributes", "load_limits", "device_name", "acquisition_qc_options"]

_KEYWORDS = (
    "KVP",
    "AnodeTargetMaterial",
    "FilterMaterial",
    "HalfValueLayer",
    "BodyPartThickness",
    "OrganDose",
    "EntranceDoseInmGy",
    "BitsStored",
    "DeviceSerialNumber",
    "StationName",
)


def dose_attributes(path) -> dict:
    """The dose-related attributes of a DICOM file, wherever they sit (root, sequences, functional groups).

    Returns a dict keyword -> value (the first occurrence), plus ``EntranceDoseInmGy_per_frame``
    (list) when the per-frame functional groups carry one per projection.
    """
    import pydicom

    try:
        ds = pydicom.dcmread(str(path), stop_before_pixels=True)
    except (OSError, pydicom.errors.InvalidDicomError) as exc:
        raise InputError(f"{path}: not a readable DICOM file ({exc})") from None
    out: dict = {}
    for el in ds.iterall():
        kw = el.keyword
        if kw in _KEYWORDS and kw not in out and el.value not in (None, ""):
            out[kw] = el.value
    per_frame = []
    for item in getattr(ds, "PerFrameFunctionalGroupsSequence", []):
        for sub in getattr(item, "XRayAcquisitionDoseSequence", []) or []:
            if "EntranceDoseInmGy" in sub:
                per_frame.append(float(sub.EntranceDoseInmGy))
    if per_frame:
        out["EntranceDoseInmGy_per_frame"] = per_frame
    return out


def load_limits(path) -> QCLimits:
    """Site limits from a JSON file of overrides ({"motion_fail_mm": 1.5, ...})."""
    p = Path(path)
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"--limits {path}: cannot read ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"--limits {path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    try:
        return QCLimits.from_dict(d)
    except (TypeError, ValueError) as exc:
        raise InputError(f"--limits {path}: {exc}") from None


def device_name(meta: dict, attrs: dict | None = None) -> str:
    """A device identifier for trends: manufacturer, model and serial number or station."""
    attrs = attrs or {}
    parts = [
        meta.get("manufacturer") or "",
        meta.get("model_name") or "",
        str(attrs.get("DeviceSerialNumber") or attrs.get("StationName") or ""),
    ]
    name = " ".join(p for p in parts if p).strip()
    return name or "unknown device"


def acquisition_qc_options(
    path,
    projections,
    *,
    system: str | None = None,
    thickness_mm: float | None = None,
    kerma_mgy=None,
    hvl_mm_al: float | None = None,
    target_filter: str | None = None,
    glandularity: float | None = None,
) -> dict:
    """Keyword options of :func:`recon.qc.acquisition.run_acquisition_qc` for a projection file.

    What is not given comes from the header of ``path``: the system (the geometry's preset name
    when it is one), the compressed thickness, the incident air kerma (per frame when every
    projection has one), HVL, target/filter and Organ Dose for the dose check, and the detector
    maximum (2**BitsStored - 1) for the saturation check of raw projections.

    Parameters
    ----------
    path : str or Path
        The (first) projection file.
    projections : recon.ProjectionSet
        The set read from it.

    Returns
    -------
    dict
        ``system``, ``thickness_mm``, ``dose`` (a :class:`recon.qc.acquisition.DoseInputs` or
        None) and ``saturation_level``.

    Raises
    ------
    InputError
        ``system`` is not a known preset, or the file cannot be read.
    """
    import numpy as np

    from recon.presets import PRESETS
    from recon.qc.acquisition import DoseInputs

    attrs = dose_attributes(path)
    meta = projections.metadata or {}
    if system is not None and system not in PRESETS:
        raise InputError(f"--system {system}: unknown; choose one of {', '.join(PRESETS)}")
    system = system or (projections.geometry.name if projections.geometry.name in PRESETS else None)
    thickness = thickness_mm or meta.get("thickness_mm") or attrs.get("BodyPartThickness")
    kerma = kerma_mgy
    if kerma is None:
        per_frame = attrs.get("EntranceDoseInmGy_per_frame")
        n = projections.geometry.n_views
        kerma = per_frame if per_frame and len(per_frame) == n else attrs.get("EntranceDoseInmGy")
    hvl = hvl_mm_al or attrs.get("HalfValueLayer")
    tf = target_filter
    if tf is None and attrs.get("AnodeTargetMaterial") and attrs.get("FilterMaterial"):
        fm = attrs["FilterMaterial"]
        fm = fm if isinstance(fm, str) else (list(fm)[0] if hasattr(fm, "__iter__") else fm)
        tf = f"{attrs['AnodeTargetMaterial']}/{fm}"
    dose = None
    if kerma is not None and hvl and thickness and tf:
        header = attrs.get("OrganDose")
        dose = DoseInputs(
            incident_air_kerma_mgy=np.asarray(kerma, float),
            hvl_mm_al=float(hvl),
            thickness_mm=float(thickness),
            target_filter=str(tf),
            glandularity=glandularity,
            header_dose_mgy=float(header) * 100.0 if header is not None else None,  # Organ Dose is in dGy
        )
    bits = attrs.get("BitsStored")
    return {
        "system": system,
        "thickness_mm": float(thickness) if thickness else None,
        "dose": dose,
        "saturation_level": float(2 ** int(bits) - 1) if bits and not projections.is_line_integral else None,
    }
