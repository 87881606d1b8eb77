"""Slabs and display regions of a slice stack, computed on the fly from numpy arrays.

The viewer keeps volumes as numpy arrays and, per frame, computes only what it shows: the
slab (average or maximum intensity projection over a range of slices) of the visible region,
box-averaged down to the screen resolution when the image is shown smaller than 1:1. One
pass over the needed voxels (numpy reductions at full resolution, a numba kernel that reads
image rows contiguously when box-averaging); nothing is precomputed per volume.
Single-threaded on purpose: the renderer needs the other core.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["SLAB_MODES", "slab_range", "slab_region", "slab_image"]

SLAB_MODES = ("average", "mip")


@numba.njit(cache=True, fastmath=True)
def _region_kernel(data, k0, k1, mip, r0, c0, step, out):  # pragma: no cover - compiled
    # row by row, slice by slice, so that every read runs along a contiguous image row
    h, w = out.shape
    nk = k1 - k0 + 1
    inv = np.float32(1.0) / np.float32(nk * step * step)
    inv_box = np.float32(1.0) / np.float32(step * step)
    for i in range(h):
        acc = np.zeros(w, dtype=np.float32)
        tmp = np.zeros(w, dtype=np.float32)
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
