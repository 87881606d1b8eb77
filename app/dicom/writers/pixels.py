"""Integer pixels for the writers: range, scaling, quantisation frame by frame, and a stream.

Clinical volumes are large (a GE-size reconstruction is 0.9 GB of float32), so nothing here
makes a full-size temporary: the value range is two reductions over the float32 data, frames
are quantised one at a time (float64 arithmetic per voxel, as ``numpy.rint((x - b) / a)``),
statistics of the stored integers come from a histogram, and :class:`QuantizedFrames` hands
pydicom the stored bytes frame by frame while it writes the file (pydicom 3 writes a Pixel
Data value given as an :class:`io.BufferedIOBase` in chunks), so a writer never holds the
integer volume.
"""

from __future__ import annotations

import io
import os

import numpy as np
from numba import njit

__all__ = [
    "integer_range",
    "value_range",
    "scale_for",
    "quantize_value",
    "quantize_frame",
    "stored_histogram",
    "histogram_percentiles",
    "QuantizedFrames",
]


def integer_range(bits: int, signed: bool) -> tuple[int, int]:
    """(smallest, largest) stored integer for ``bits`` bits."""
    if not isinstance(bits, int) or not 2 <= bits <= 16:
        raise ValueError(f"integer_range: bits must be an integer from 2 to 16, got {bits!r}")
    if signed:
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


def value_range(data: np.ndarray) -> tuple[float, float]:
    """(min, max) of ``data`` without temporaries; ValueError when a value is not finite.

    NaN propagates through both reductions and an infinity is an extreme, so checking the
    two results checks every value.
    """
    lo, hi = float(np.min(data)), float(np.max(data))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError("cannot store non-finite pixel values")
    return lo, hi


def scale_for(lo: float, hi: float, *, bits: int = 16, signed: bool = False) -> tuple[float, float]:
    """(slope, intercept) spreading ``[lo, hi]`` over the stored range; slope 1 for a constant.

    Both are rounded to 10 significant digits so that the Decimal Strings and the Real World
    Value Mapping written from them hold exactly the values used for quantising.
    """
    smin, smax = integer_range(bits, signed)
    slope = 1.0 if hi - lo <= 0 else (hi - lo) / (smax - smin)
    intercept = lo - smin * slope
    return float(f"{slope:.10g}"), float(f"{intercept:.10g}")


def quantize_value(value: float, slope: float, intercept: float, smin: int, smax: int) -> int:
    """The stored integer of one value (what :func:`quantize_frame` computes for each voxel)."""
    return int(min(max(np.rint((float(value) - intercept) / slope), smin), smax))


# Serial kernels: error_model="numpy" lets LLVM vectorise the division (no zero check); a
# GE-size volume quantises in about 0.1 s on one core, and a parallel launch per frame only
# adds barrier waits on a shared machine.
@njit(cache=True, error_model="numpy")
def _quantize_frame(src, out, slope, intercept, smin, smax, flip_rows, flip_cols):  # pragma: no cover - numba
    rows, cols = src.shape
    lo = np.float64(smin)
    hi = np.float64(smax)
    for r in range(rows):
        a = src[r]
        b = out[rows - 1 - r] if flip_rows else out[r]
        if flip_cols:
            for c in range(cols):
                v = np.rint((np.float64(a[c]) - intercept) / slope)
                b[cols - 1 - c] = np.int32(min(max(v, lo), hi))
        else:
            for c in range(cols):
                v = np.rint((np.float64(a[c]) - intercept) / slope)
                b[c] = np.int32(min(max(v, lo), hi))


def quantize_frame(
    src: np.ndarray,
    out: np.ndarray,
    *,
    slope: float,
    intercept: float,
    smin: int,
    smax: int,
    flip_rows: bool = False,
    flip_cols: bool = False,
) -> np.ndarray:
    """Quantise one 2D frame into ``out`` (int16/uint16, same shape), optionally flipped.

    ``out[r', c'] = clip(rint((src[r, c] - intercept) / slope), smin, smax)`` in float64, with
    ``r' = rows - 1 - r`` when ``flip_rows`` (likewise columns): the stored pixel order of
    :func:`app.dicom.views.to_disk`.
    """
    if src.ndim != 2 or out.shape != src.shape:
        raise ValueError(f"quantize_frame: src must be 2D and out of its shape, got {src.shape} and {out.shape}")
    if out.dtype not in (np.uint16, np.int16):
        raise TypeError(f"quantize_frame: out must be uint16 or int16, got {out.dtype}")
    if not slope > 0:
        raise ValueError(f"quantize_frame: slope must be > 0, got {slope}")
    _quantize_frame(src, out, float(slope), float(intercept), int(smin), int(smax), bool(flip_rows), bool(flip_cols))
    return out


@njit(cache=True, error_model="numpy")
def _histogram(src, step, slope, intercept, smin, smax, hist):  # pragma: no cover - numba
    lo = np.float64(smin)
    hi = np.float64(smax)
    for r in range(0, src.shape[0], step):
        a = src[r]
        for c in range(0, src.shape[1], step):
            v = np.rint((np.float64(a[c]) - intercept) / slope)
            hist[np.int64(min(max(v, lo), hi)) - smin] += 1


def stored_histogram(
    data: np.ndarray, *, slope: float, intercept: float, smin: int, smax: int, step: int = 1
) -> np.ndarray:
    """Counts (int64, ``smax - smin + 1`` bins from ``smin``) of the stored integers of ``data``.

    The integers are those :func:`quantize_frame` writes, of every ``step``-th row and column
    of every frame; nothing of the size of ``data`` is made.
    """
    if not isinstance(step, int) or step < 1:
        raise ValueError(f"stored_histogram: step must be a positive integer, got {step!r}")
    arr = np.asarray(data)
    frames = arr.reshape(1, 1, -1) if arr.ndim < 2 else arr.reshape(-1, *arr.shape[-2:])
    hist = np.zeros(smax - smin + 1, np.int64)
    for frame in frames:
        _histogram(frame, step, float(slope), float(intercept), int(smin), int(smax), hist)
    return hist


def histogram_percentiles(hist: np.ndarray, q, *, smin: int = 0) -> np.ndarray:
    """``numpy.percentile(stored, q)`` (linear method) of the integers counted in ``hist``."""
    counts = np.asarray(hist, dtype=np.int64)
    total = int(counts.sum())
    if total < 1:
        raise ValueError("histogram_percentiles: empty histogram")
    cum = np.cumsum(counts)
    pos = np.asarray(q, dtype=np.float64) / 100.0 * (total - 1)
    below = np.floor(pos)
    frac = pos - below
    lo = np.searchsorted(cum, below, side="right") + smin
    hi = np.searchsorted(cum, np.minimum(below + 1, total - 1), side="right") + smin
    return lo + (hi - lo) * frac


class QuantizedFrames(io.BufferedIOBase):
    """A read-only, seekable stream of the stored bytes of ``data`` (frames, rows, columns).

    Each frame is quantised (:func:`quantize_frame`) when the stream first reads from it, into
    one reused frame buffer; give it to pydicom as the Pixel Data value and the file is written
    without the integer volume ever existing. Little-endian bytes, frame after frame.
    """

    def __init__(
        self,
        data: np.ndarray,
        *,
        slope: float,
        intercept: float,
        smin: int,
        smax: int,
        flip_rows: bool = False,
        flip_cols: bool = False,
    ) -> None:
        super().__init__()
        if data.ndim != 3 or data.size == 0:
            raise ValueError(f"QuantizedFrames: data must be non-empty (frames, rows, columns), got {data.shape}")
        self._data = data
        self._args = {
            "slope": slope,
            "intercept": intercept,
            "smin": smin,
            "smax": smax,
            "flip_rows": flip_rows,
            "flip_cols": flip_cols,
        }
        self._frame = np.empty(data.shape[1:], "<i2" if smin < 0 else "<u2")
        self._bytes = memoryview(self._frame).cast("B")
        self._frame_nbytes = self._frame.nbytes
        self._length = self._frame_nbytes * data.shape[0]
        self._current = -1
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._length}[whence]
        pos = base + int(offset)
        if pos < 0:
            raise ValueError(f"negative seek position {pos}")
        self._pos = pos
        return pos

    def _load(self, k: int) -> None:
        if k != self._current:
            quantize_frame(self._data[k], self._frame, **self._args)
            self._current = k

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._pos < self._length:
            k, start = divmod(self._pos, self._frame_nbytes)
            self._load(k)
            n = min(len(view) - done, self._frame_nbytes - start)
            view[done : done + n] = self._bytes[start : start + n]
            done += n
            self._pos += n
        return done

    def read(self, size: int | None = -1) -> bytes:
        remaining = max(self._length - self._pos, 0)
        if size is None or size < 0 or size > remaining:
            size = remaining
        if size == 0:
            return b""
        k, start = divmod(self._pos, self._frame_nbytes)
        if start + size <= self._frame_nbytes:  # within one frame: one copy
            self._load(k)
            self._pos += size
            return self._bytes[start : start + size].tobytes()
        out = bytearray(size)
        self.readinto(out)
        return bytes(out)

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)
