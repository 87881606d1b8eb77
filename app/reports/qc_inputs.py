"""Gather the inputs of ``crescent qc`` from files: dose attributes of a DICOM header, site limits."""

from __future__ import annotations

import json
from pathlib import Path

from app.errors import InputError
from recon.qc.limits import QCLimits

__all__ = ["dose_attributes", "load_limits", "device_name"]

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
