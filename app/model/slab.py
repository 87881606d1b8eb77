"""Slabs and display regions of a slice stack, computed on the fly from numpy arrays.

The viewer keeps volumes as numpy arrays and, per frame, computes only what it shows: the
slab (average or maximum intensity projection over a range of slices) of the visible region,
box-averaged down to the screen resolution when the image is shown smaller than 1:1. One
pass over the needed voxels (numpy reductions at full resolution, a numba kernel that reads
image rows contiguously when box-averaging); nothing is precomputed per volume.
Single-threaded on purpose: the renderer needs the other core.

Two helpers serve the viewer's texture path: :func:`window_to_uint8` applies window/level
(and invert) into an 8-bit grey image in one pass, so the GPU gets a quarter of the bytes
of a float texture and VTK does no colour mapping of its own; :class:`ReducedSlices` keeps
box-reduced slices of one region so that a slab at a reduced level of detail costs one new
reduced slice plus one pass over the reduced slab when the reader scrolls.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["SLAB_MODES", "slab_range", "slab_region", "slab_image", "window_to_uint8", "ReducedSlices"]

SLAB_MODES = ("average", "mip")


@numba.njit(cache=True, fastmath=True)
def _region_kernel(data, k0, k1, mip, r0, c0, step, out):  # pragma: no cover - compiled
    # row by row, slice by slice, so that every read runs along a contiguous image row
    h, w = out.shape
    nk = k1 - k0 + 1
    inv = np.float32(1.0) / np.float32(nk * step * step)
    inv_box = np.float32(1.0) / np.float32(step * step)
    acc = np.empty(w, dtype=np.float32)  # allocated once, not per row
    tmp = np.empty(w, dtype=np.float32)
    for i in range(h):
        acc[:] = 0.0
        for k in range(k0, k1 + 1):
            dst = tmp if mip else acc
            if mip:
                dst[:] = 0.0
            for a in range(step):
                src = data[k, r0 + i * step + a]
                if step == 1:
                    for j in range(w):
                        dst[j] += src[c0 + j]
                elif step == 2:
                    for j in range(w):
                        dst[j] += src[c0 + 2 * j] + src[c0 + 2 * j + 1]
                else:
                    for j in range(w):
                        s = np.float32(0.0)
                        base = c0 + j * step
                        for b in range(step):
                            s += src[base + b]
                        dst[j] += s
            if mip:
                if k == k0:
                    acc[:] = tmp
                else:
                    for j in range(w):
                        if tmp[j] > acc[j]:
                            acc[j] = tmp[j]
        scale = inv_box if mip else inv
        for j in range(w):
            out[i, j] = acc[j] * scale


def slab_range(index: int, n_slices: int, n_total: int) -> tuple[int, int]:
    """First and last slice (inclusive) of a slab of ``n_slices`` centred on ``index``.

    The slab is shifted, not shortened, at the ends of the stack (it is shortened only
    when the stack has fewer slices than asked).
    """
    if n_total < 1:
        raise ValueError(f"slab_range: the stack has no slices (n_total={n_total})")
    if not 0 <= index < n_total:
        raise ValueError(f"slab_range: slice {index} outside 0..{n_total - 1}")
    n = max(1, min(int(n_slices), n_total))
    k0 = index - (n - 1) // 2
    k0 = min(max(k0, 0), n_total - n)
    return k0, k0 + n - 1


def slab_region(
    data: np.ndarray,
    k0: int,
    k1: int,
    *,
    mode: str = "average",
    rows: tuple[int, int] | None = None,
    cols: tuple[int, int] | None = None,
    step: int = 1,
) -> np.ndarray:
    """Average or MIP over slices ``k0..k1`` of a region, box-averaged by ``step``.

    Parameters
    ----------
    data : float32 array (nz, ny, nx)
        The slice stack (not modified).
    k0, k1 : int
        First and last slice, inclusive.
    mode : {'average', 'mip'}
        Mean over the slices, or maximum intensity projection. With ``step > 1`` each
        slice is box-averaged before the MIP.
    rows, cols : (start, stop), optional
        Half-open pixel range (default all); trimmed to a multiple of ``step``.
    step : int
        Output pixel = mean of a ``step x step`` block (1: full resolution).

    Returns
    -------
    float32 array (rows // step, cols // step)
    """
    if not isinstance(data, np.ndarray) or data.ndim != 3:
        raise TypeError("slab_region: data must be a 3-D numpy array (nz, ny, nx)")
    if data.dtype != np.float32:
        raise TypeError(f"slab_region: data must be float32, got {data.dtype}")
    if mode not in SLAB_MODES:
        raise ValueError(f"slab_region: mode must be one of {SLAB_MODES}, got {mode!r}")
    nz, ny, nx = data.shape
    if not 0 <= k0 <= k1 < nz:
        raise ValueError(f"slab_region: slices {k0}..{k1} outside 0..{nz - 1}")
    step = int(step)
    if step < 1:
        raise ValueError(f"slab_region: step must be >= 1, got {step}")
    r0, r1 = rows if rows is not None else (0, ny)
    c0, c1 = cols if cols is not None else (0, nx)
    if not (0 <= r0 < r1 <= ny and 0 <= c0 < c1 <= nx):
        raise ValueError(f"slab_region: region rows {r0}..{r1}, cols {c0}..{c1} outside {ny} x {nx}")
    h = (r1 - r0) // step
    w = (c1 - c0) // step
    if h < 1 or w < 1:
        raise ValueError(f"slab_region: region {r1 - r0} x {c1 - c0} smaller than step {step}")
    if step == 1:
        if k0 == k1:
            return data[k0, r0:r1, c0:c1]  # a view: no copy for the plain single-slice case
        sub = data[k0 : k1 + 1, r0:r1, c0:c1]
        if mode == "mip":
            return np.maximum.reduce(sub, axis=0)
        out = np.add.reduce(sub, axis=0, dtype=np.float32)
        out *= np.float32(1.0 / (k1 - k0 + 1))
        return out
    out = np.empty((h, w), dtype=np.float32)
    _region_kernel(data, int(k0), int(k1), mode == "mip", int(r0), int(c0), step, out)
    return out


def slab_image(data: np.ndarray, index: int, n_slices: int, *, mode: str = "average") -> np.ndarray:
    """Full-resolution slab of ``n_slices`` centred on slice ``index`` (a new array)."""
    k0, k1 = slab_range(index, n_slices, data.shape[0])
    return np.array(slab_region(data, k0, k1, mode=mode), dtype=np.float32, copy=True)


@numba.njit(cache=True)
def _window_kernel(src, lo, scale, invert, out):  # pragma: no cover - compiled
    # no fastmath: NaN must map to black, not to whatever a NaN-free assumption gives
    h, w = src.shape
    top = np.float32(255.0)
    half = np.float32(0.5)
    zero = np.float32(0.0)
    for i in range(h):
        for j in range(w):
            v = (src[i, j] - lo) * scale
            if not v > zero:
                v = zero
            elif v > top:
                v = top
            g = np.uint8(v + half)
            out[i, j] = np.uint8(255) - g if invert else g


def window_to_uint8(
    values: np.ndarray, center: float, width: float, *, invert: bool = False, out: np.ndarray | None = None
) -> np.ndarray:
    """Grey levels 0–255 of ``values`` under window/level ``(center, width)``.

    The mapping is VTK's image window/level: ``center - width/2`` maps to 0 and
    ``center + width/2`` to 255, linear in between, rounded, clamped (NaN is 0). With
    ``invert`` the grey is ``255 - grey``.

    Parameters
    ----------
    values : float32 array (rows, cols)
        Not modified; any strides.
    center, width : float
        Window centre and width (width > 0), in the units of ``values``.
    invert : bool
        Black on white.
    out : uint8 array (rows, cols), optional
        Written in place and returned (reuse a texture buffer between frames).

    Returns
    -------
    uint8 array (rows, cols)
    """
    if not isinstance(values, np.ndarray) or values.ndim != 2 or values.dtype != np.float32:
        raise TypeError("window_to_uint8: values must be a 2-D float32 numpy array")
    width = float(width)
    if not width > 0:
        raise ValueError(f"window_to_uint8: width must be > 0, got {width}")
    if out is None:
        out = np.empty(values.shape, dtype=np.uint8)
    elif not isinstance(out, np.ndarray) or out.dtype != np.uint8 or out.shape != values.shape:
        raise ValueError(f"window_to_uint8: out must be a uint8 array of shape {values.shape}")
    lo = np.float32(float(center) - width / 2.0)
    scale = np.float32(255.0 / width)
    _window_kernel(values, lo, scale, bool(invert), out)
    return out


@numba.njit(cache=True, fastmath=True)
def _reduce_slots(buf, slots, mip, out):  # pragma: no cover - compiled
    # mean or max over buf[slots] row by row: each read runs along a contiguous row
    n = slots.size
    h, w = out.shape
    inv = np.float32(1.0) / np.float32(n)
    for i in range(h):
        row = out[i]
        first = buf[slots[0], i]
        for j in range(w):
            row[j] = first[j]
        for s in range(1, n):
            src = buf[slots[s], i]
            if mip:
                for j in range(w):
                    if src[j] > row[j]:
                        row[j] = src[j]
            else:
                for j in range(w):
                    row[j] += src[j]
        if not mip:
            for j in range(w):
                row[j] *= inv


class ReducedSlices:
    """Box-reduced slices of one region of a stack, computed when first needed and kept.

    A slab of ``n`` slices shown at a reduced level of detail (``step > 1``) is the mean or
    the maximum of its ``n`` reduced slices; scrolling by one slice then reduces one new
    slice and makes one pass over ``n`` small images instead of ``n`` full-resolution ones.
    Results equal :func:`slab_region` (to float32 rounding).

    Parameters
    ----------
    data : float32 array (nz, ny, nx)
        The stack (kept by reference, never modified).
    rows, cols : (start, stop)
        Half-open region, already aligned to whole ``step`` blocks.
    step : int
        Box size of the reduction (>= 1).
    max_bytes : int
        Memory for reduced slices; the least recently used are dropped beyond it (at least
        enough for ``min_slices`` slices is always kept).
    min_slices : int
        Slices that always fit (the thickest slab).
    """

    def __init__(
        self,
        data: np.ndarray,
        *,
        rows: tuple[int, int],
        cols: tuple[int, int],
        step: int,
        max_bytes: int = 64 * 2**20,
        min_slices: int = 1,
    ):
        if not isinstance(data, np.ndarray) or data.ndim != 3 or data.dtype != np.float32:
            raise TypeError("ReducedSlices: data must be a float32 array (nz, ny, nx)")
        step = int(step)
        if step < 1:
            raise ValueError(f"ReducedSlices: step must be >= 1, got {step}")
        nz, ny, nx = data.shape
        r0, r1 = (int(v) for v in rows)
        c0, c1 = (int(v) for v in cols)
        if not (0 <= r0 < r1 <= ny and 0 <= c0 < c1 <= nx):
            raise ValueError(f"ReducedSlices: region rows {r0}..{r1}, cols {c0}..{c1} outside {ny} x {nx}")
        h, w = (r1 - r0) // step, (c1 - c0) // step
        if h < 1 or w < 1:
            raise ValueError(f"ReducedSlices: region {r1 - r0} x {c1 - c0} smaller than step {step}")
        self.data = data
        self.rows, self.cols, self.step = (r0, r1), (c0, c1), step
        self.shape = (h, w)
        per_slice = h * w * 4
        n_slots = max(int(min_slices), int(max_bytes) // per_slice, 1)
        self.n_slots = min(n_slots, nz)
        self._buf = np.empty((self.n_slots, h, w), dtype=np.float32)
        self._slot_of: dict[int, int] = {}  # slice -> slot, in least-recently-used order
        self._free = list(range(self.n_slots - 1, -1, -1))
        self.computed = 0

    @property
    def nbytes(self) -> int:
        return int(self._buf.nbytes)

    def _slot(self, k: int, keep: set[int]) -> int:
        slot = self._slot_of.pop(k, None)
        if slot is None:
            if self._free:
                slot = self._free.pop()
            else:
                victim = next(s for s in self._slot_of if s not in keep)
                slot = self._slot_of.pop(victim)
            r0, r1 = self.rows
            c0, c1 = self.cols
            if self.step == 1:
                self._buf[slot] = self.data[k, r0:r1, c0:c1]
            else:
                _region_kernel(self.data, k, k, False, r0, c0, self.step, self._buf[slot])
            self.computed += 1
        self._slot_of[k] = slot  # most recently used last
        return slot

    def slab(self, k0: int, k1: int, *, mode: str = "average", out: np.ndarray | None = None) -> np.ndarray:
        """Mean or MIP of reduced slices ``k0..k1`` (inclusive), float32 ``shape``."""
        if mode not in SLAB_MODES:
            raise ValueError(f"ReducedSlices.slab: mode must be one of {SLAB_MODES}, got {mode!r}")
        nz = self.data.shape[0]
        if not 0 <= k0 <= k1 < nz:
            raise ValueError(f"ReducedSlices.slab: slices {k0}..{k1} outside 0..{nz - 1}")
        if k1 - k0 + 1 > self.n_slots:
            raise ValueError(f"ReducedSlices.slab: {k1 - k0 + 1} slices but room for {self.n_slots}")
        if out is None:
            out = np.empty(self.shape, dtype=np.float32)
        elif out.dtype != np.float32 or out.shape != self.shape:
            raise ValueError(f"ReducedSlices.slab: out must be float32 of shape {self.shape}")
        wanted = set(range(k0, k1 + 1))
        slots = np.array([self._slot(k, wanted) for k in range(k0, k1 + 1)], dtype=np.int64)
        _reduce_slots(self._buf, slots, mode == "mip", out)
        return out
