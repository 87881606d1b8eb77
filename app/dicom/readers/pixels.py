"""Pixel data decoding (native and compressed transfer syntaxes) and value mapping for readers."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pydicom
from numba import njit
from pydicom.dataset import Dataset

from app.dicom.readers.attrs import first_item, functional_group, get_float, get_int, get_text, get_value
from app.errors import InputError

__all__ = [
    "read_full",
    "check_frame_count",
    "pixel_shape",
    "decode_frames",
    "read_frames",
    "value_mapping",
    "apply_mapping",
]


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


_NATIVE_LE = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1")
_NATIVE = (*_NATIVE_LE, "1.2.840.10008.1.2.2")
_PIXEL_DATA = 0x7FE00010


def _deferred_pixel_data(ds: Dataset):
    """(file path, offset, length) of a Pixel Data value still on disk (deferred read), else None.

    None also when the file changed since the header was read (pydicom then warns on access).
    """
    if not isinstance(getattr(ds, "filename", None), str) or _PIXEL_DATA not in ds:
        return None
    try:
        elem = ds.get_item(_PIXEL_DATA, keep_deferred=True)
        if not getattr(elem, "is_raw", False) or elem.value is not None or elem.value_tell is None:
            return None
        st = os.stat(ds.filename)
        if getattr(ds, "timestamp", None) not in (None, st.st_mtime):
            return None
        return ds.filename, int(elem.value_tell), min(int(elem.length), max(st.st_size - int(elem.value_tell), 0))
    except Exception:
        return None


def _pixel_header(ds: Dataset, path: Path) -> tuple[int, int, int, int, str]:
    """(frames, rows, columns, bits allocated, transfer syntax), checked; native data checked for length."""
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
    if ts in _NATIVE:
        # native: check the length ourselves for a clear message (without reading a deferred value)
        expected = rows * cols * n_frames * bits // 8
        deferred = _deferred_pixel_data(ds)
        if deferred is not None:
            have = deferred[2]
        else:
            try:
                have = len(ds.PixelData)
            except Exception:
                have = 0
        if have < expected:
            raise InputError(
                f"{path}: PixelData is truncated ({have} bytes for {n_frames} frame(s) of {rows} x {cols} "
                f"at {bits} bits, need {expected})"
            )
    return n_frames, rows, cols, bits, ts


def pixel_shape(ds: Dataset, path: Path) -> tuple[int, int, int]:
    """(frames, rows, columns) of the pixel data, checked against the header as :func:`decode_frames` does.

    Reads no pixel data (a deferred value stays on disk).
    """
    n, rows, cols, _, _ = _pixel_header(ds, path)
    return n, rows, cols


def decode_frames(ds: Dataset, path: Path) -> np.ndarray:
    """Stored pixel values as an array (frames, rows, columns), checked against the header."""
    n_frames, rows, cols, _, ts = _pixel_header(ds, path)
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


def _native_dtype(ds: Dataset, bits: int, ts: str):
    """The stored dtype when frames can be read straight from the bytes, else None."""
    if ts not in _NATIVE_LE or bits not in (8, 16, 32) or "FloatPixelData" in ds:
        return None
    if get_int(ds, "BitsStored", bits) != bits:  # high bits to mask or sign-extend: pydicom does it
        return None
    signed = get_int(ds, "PixelRepresentation", 0)
    if signed not in (0, 1):
        return None
    return np.dtype(f"<{'i' if signed else 'u'}{bits // 8}")


def _iter_stored(ds: Dataset, path: Path, indices: list[int]):
    """(output positions, stored frame) pairs: each frame of ``indices`` once, one frame in memory at a time.

    Native little-endian data is read frame by frame (from the file when the value was
    deferred, else from the bytes in memory); compressed data is decoded frame by frame with
    pydicom; anything else (big endian, masked high bits, float pixels) is decoded whole.
    """
    n, rows, cols, bits, ts = _pixel_header(ds, path)
    wanted: dict[int, list[int]] = {}
    for j, i in enumerate(indices):
        wanted.setdefault(i, []).append(j)
    order = sorted(wanted)  # file order: sequential reads
    dtype = _native_dtype(ds, bits, ts)
    if dtype is not None:
        frame_bytes = rows * cols * dtype.itemsize
        deferred = _deferred_pixel_data(ds)
        if deferred is not None:  # read each frame from the file into one buffer
            filename, offset, _ = deferred
            buf = np.empty((rows, cols), dtype)
            with open(filename, "rb") as f:
                for i in order:
                    f.seek(offset + i * frame_bytes)
                    if f.readinto(memoryview(buf).cast("B")) != frame_bytes:
                        raise InputError(f"{path}: PixelData is truncated (frame {i + 1} of {n})")
                    yield wanted[i], buf
            return
        frames = np.frombuffer(ds.PixelData, dtype, count=n * rows * cols).reshape(n, rows, cols)
        for i in order:
            yield wanted[i], frames[i]
        return
    if ts not in _NATIVE and n > 1 and "PixelData" in ds:
        yield from _iter_compressed(ds, path, wanted, n, rows, cols, ts)
        return
    arr = decode_frames(ds, path)
    for i in order:
        yield wanted[i], arr[i]


def _iter_compressed(ds: Dataset, path: Path, wanted: dict, n: int, rows: int, cols: int, ts: str):
    """Encapsulated frames decoded one at a time (pydicom ``iter_pixels``), checked like :func:`decode_frames`."""
    from pydicom.pixels import iter_pixels

    count = 0
    try:
        for i, frame in enumerate(iter_pixels(ds)):
            count += 1
            if frame.shape != (rows, cols):
                raise InputError(
                    f"{path}: PixelData frame {i + 1} has shape {frame.shape}, the header says Rows={rows}, "
                    f"Columns={cols}"
                )
            if i in wanted:
                yield wanted[i], frame
    except InputError:
        raise
    except Exception as exc:
        raise InputError(
            f"{path}: PixelData cannot be decoded (transfer syntax {ts}; {type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:100]})"
        ) from None
    if count != n:
        raise InputError(f"{path}: PixelData holds {count} frames, the header says NumberOfFrames={n}")


@njit(cache=True, error_model="numpy")
def _map_frame(src, out, slope, intercept, flip_rows, flip_cols):  # pragma: no cover - numba
    rows, cols = src.shape
    for r in range(rows):
        a = src[r]
        b = out[rows - 1 - r] if flip_rows else out[r]
        if flip_cols:
            for c in range(cols):
                b[cols - 1 - c] = np.float32(np.float64(a[c]) * slope + intercept)
        else:
            for c in range(cols):
                b[c] = np.float32(np.float64(a[c]) * slope + intercept)


def read_frames(
    ds: Dataset,
    path: Path,
    *,
    indices=None,
    slopes=1.0,
    intercepts=0.0,
    flip_rows: bool = False,
    flip_cols: bool = False,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Frames of ``ds`` as real values, float32 ``(len(indices), rows, columns)``.

    ``out[j] = slopes[j] * stored[indices[j]] + intercepts[j]`` (float64 arithmetic, as
    :func:`apply_mapping`), rows and/or columns reversed when asked. Native little-endian
    pixel data is read frame by frame (from the file when the value was deferred), so
    nothing but the result is of the volume's size; other transfer syntaxes are decoded with
    :func:`decode_frames` first.

    Parameters
    ----------
    ds : Dataset
    path : Path
        For messages.
    indices : sequence of int, optional
        Frames to read, in the order wanted (0-based; default all).
    slopes, intercepts : float or sequence of float
        Value mapping per output frame.
    flip_rows, flip_cols : bool
    out : float32 array, optional
        Where to put the frames (C-contiguous, of the result's shape).
    """
    n, rows, cols = pixel_shape(ds, path)
    idx = list(range(n)) if indices is None else [int(i) for i in indices]
    if any(i < 0 or i >= n for i in idx):
        raise ValueError(f"read_frames: frame indices must lie in [0, {n}), got {idx}")
    m = len(idx)
    slopes = np.broadcast_to(np.asarray(slopes, dtype=np.float64), (m,))
    intercepts = np.broadcast_to(np.asarray(intercepts, dtype=np.float64), (m,))
    if out is None:
        out = np.empty((m, rows, cols), np.float32)
    elif out.shape != (m, rows, cols) or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError(
            f"read_frames: out must be C-contiguous float32 {(m, rows, cols)}, got {out.dtype} {out.shape}"
        )
    for positions, frame in _iter_stored(ds, path, idx):
        for j in positions:
            _map(frame, out[j], float(slopes[j]), float(intercepts[j]), flip_rows, flip_cols)
    return out


def _map(frame: np.ndarray, out: np.ndarray, slope: float, intercept: float, flip_rows: bool, flip_cols: bool) -> None:
    if frame.dtype.kind in "uif" and frame.dtype.itemsize <= 8 and frame.dtype.isnative:
        _map_frame(frame, out, slope, intercept, bool(flip_rows), bool(flip_cols))
        return
    mapped = (np.asarray(frame, dtype=np.float64) * slope + intercept).astype(np.float32)
    out[...] = mapped[:: -1 if flip_rows else 1, :: -1 if flip_cols else 1]


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
    """float32 ``slope * stored + intercept`` (computed in float64, frame by frame)."""
    arr = np.asarray(stored)
    out = np.empty(arr.shape, np.float32)
    if arr.size == 0:
        return out
    frames = arr.reshape(1, 1, -1) if arr.ndim < 2 else arr.reshape(-1, *arr.shape[-2:])
    dest = out.reshape(frames.shape)
    for k in range(frames.shape[0]):
        _map(frames[k], dest[k], float(slope), float(intercept), False, False)
    return out
