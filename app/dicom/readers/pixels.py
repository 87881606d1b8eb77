"""Pixel data decoding (native and compressed transfer syntaxes) and value mapping for readers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from app.dicom.readers.attrs import first_item, functional_group, get_float, get_int, get_text, get_value
from app.errors import InputError

__all__ = ["read_full", "check_frame_count", "decode_frames", "value_mapping", "apply_mapping"]


def read_full(path: Path) -> Dataset:
    """The whole dataset of a file, pixel data included."""
    try:
        return pydicom.dcmread(path)
    except Exception as exc:
        text = " ".join(str(exc).split())[:100]
        raise InputError(f"{path}: unreadable DICOM file ({type(exc).__name__}: {text})") from None


def check_frame_count(ds: Dataset, path: Path, *, required: bool = False) -> int:
    """NumberOfFrames, checked against the Per-Frame Functional Groups Sequence."""
    n = get_int(ds, "NumberOfFrames", None)
    if n is None or n < 1:
        raise InputError(f"{path}: NumberOfFrames is missing or invalid ({get_value(ds, 'NumberOfFrames')})")
    per_frame = get_value(ds, "PerFrameFunctionalGroupsSequence", None)
    try:
        n_items = len(per_frame) if per_frame is not None else None
    except Exception:
        n_items = None
    if n_items is None and required:
        raise InputError(f"{path}: PerFrameFunctionalGroupsSequence is missing")
    if n_items is not None and n_items != n:
        raise InputError(f"{path}: NumberOfFrames is {n} but PerFrameFunctionalGroupsSequence has {n_items} items")
    return n


def decode_frames(ds: Dataset, path: Path) -> np.ndarray:
    """Stored pixel values as an array (frames, rows, columns), checked against the header."""
    if "PixelData" not in ds and "FloatPixelData" not in ds:
        raise InputError(f"{path}: PixelData is missing")
    rows = get_int(ds, "Rows")
    cols = get_int(ds, "Columns")
    if not rows or not cols or rows < 1 or cols < 1:
        raise InputError(f"{path}: Rows/Columns invalid ({get_value(ds, 'Rows')} x {get_value(ds, 'Columns')})")
    if get_int(ds, "SamplesPerPixel", 1) != 1:
        raise InputError(f"{path}: SamplesPerPixel is {get_value(ds, 'SamplesPerPixel')}; only grayscale is supported")
    n_frames = get_int(ds, "NumberOfFrames", 1) or 1
    if n_frames < 1:
        raise InputError(f"{path}: NumberOfFrames has invalid value {get_value(ds, 'NumberOfFrames')}")
    bits = get_int(ds, "BitsAllocated")
    if bits not in (1, 8, 16, 32):
        raise InputError(f"{path}: BitsAllocated has unsupported value {get_value(ds, 'BitsAllocated')}")
    ts = get_text(getattr(ds, "file_meta", None), "TransferSyntaxUID")
    if not ts:
        raise InputError(f"{path}: TransferSyntaxUID is missing from the file meta information")
    if ts in ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"):
        # native: check the length ourselves for a clear message
        expected = rows * cols * n_frames * bits // 8
        try:
            have = len(ds.PixelData)
        except Exception:
            have = 0
        if have < expected:
            raise InputError(
                f"{path}: PixelData is truncated ({have} bytes for {n_frames} frame(s) of {rows} x {cols} "
                f"at {bits} bits, need {expected})"
            )
    try:
        arr = ds.pixel_array
    except Exception as exc:
        raise InputError(
            f"{path}: PixelData cannot be decoded (transfer syntax {ts}; {type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:100]})"
        ) from None
    arr = np.asarray(arr)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape != (n_frames, rows, cols):
        raise InputError(
            f"{path}: PixelData holds an array of shape {arr.shape}, the header says NumberOfFrames={n_frames}, "
            f"Rows={rows}, Columns={cols}"
        )
    return arr


def value_mapping(ds: Dataset, frame: int) -> tuple[float, float, str]:
    """(slope, intercept, label) that map stored values of ``frame`` to real values.

    Real World Value Mapping (functional group, then top level) first, then the Pixel Value
    Transformation / Modality LUT rescale; identity when neither is present.
    """
    rw = functional_group(ds, frame, "RealWorldValueMappingSequence") or first_item(ds, "RealWorldValueMappingSequence")
    if rw is not None:
        slope = get_float(rw, "RealWorldValueSlope")
        intercept = get_float(rw, "RealWorldValueIntercept")
        if slope is not None and intercept is not None and slope != 0:
            units = get_text(first_item(rw, "MeasurementUnitsCodeSequence"), "CodeValue")
            return slope, intercept, get_text(rw, "LUTLabel") + (f" [{units}]" if units else "")
    pvt = functional_group(ds, frame, "PixelValueTransformationSequence") or ds
    slope = get_float(pvt, "RescaleSlope", 1.0) or 1.0
    intercept = get_float(pvt, "RescaleIntercept", 0.0) or 0.0
    return slope, intercept, get_text(pvt, "RescaleType")


def apply_mapping(stored: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    """float32 ``slope * stored + intercept`` (computed in float64)."""
    return (stored.astype(np.float64) * slope + intercept).astype(np.float32)
