"""Fast separable Gaussian filtering and sparse local maxima for 2D slabs (Numba, parallel).

``gaussian_2d`` reproduces ``scipy.ndimage.gaussian_filter`` (same kernel: truncate 4.0;
modes "reflect" and "nearest") to float32 rounding, in parallel over rows with contiguous
inner loops; the CAD preprocessing uses it so that inference sees exactly what training saw.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["gaussian_weights", "gaussian_2d", "smooth_background", "sparse_local_maxima"]

_MODES = {"reflect": 0, "nearest": 1}


def gaussian_weights(sigma: float, truncate: float = 4.0) -> np.ndarray:
    """The 1D kernel scipy.ndimage uses for ``gaussian_filter(sigma, truncate=truncate)``."""
    radius = int(truncate * float(sigma) + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    w = np.exp(-0.5 / (float(sigma) ** 2) * x * x)
    return (w / w.sum()).astype(np.float32)


@njit(cache=True, inline="always")
def _src(i, n, mode):
    if mode == 0:  # reflect: d c b a | a b c d | d c b a
        period = 2 * n
        i = i % period
        if i < 0:
            i += period
        return i if i < n else period - 1 - i
    return min(max(i, 0), n - 1)


@njit(cache=True, parallel=True, fastmath=True)
def _filter_rows(img, w, mode, out):
    ny, nx = img.shape
    r = (w.size - 1) // 2
    for y in prange(ny):
        row = img[y]
        o = out[y]
        for x in range(nx):
            o[x] = 0.0
        lo, hi = min(r, nx), max(nx - r, min(r, nx))
        for t in range(w.size):
            wt = w[t]
            d = t - r
            for x in range(lo, hi):
                o[x] += wt * row[x + d]
        for x in range(0, lo):
            acc = np.float32(0.0)
            for t in range(w.size):
                acc += w[t] * row[_src(x + t - r, nx, mode)]
            o[x] = acc
        for x in range(hi, nx):
            acc = np.float32(0.0)
            for t in range(w.size):
                acc += w[t] * row[_src(x + t - r, nx, mode)]
            o[x] = acc


@njit(cache=True, parallel=True, fastmath=True)
def _filter_cols(img, w, mode, out):
    ny, nx = img.shape
    r = (w.size - 1) // 2
    for y in prange(ny):
        o = out[y]
        for x in range(nx):
            o[x] = 0.0
        for t in range(w.size):
            src = img[_src(y + t - r, ny, mode)]
            wt = w[t]
            for x in range(nx):
                o[x] += wt * src[x]


def gaussian_2d(img: np.ndarray, sigma: float, *, mode: str = "reflect") -> np.ndarray:
    """2D Gaussian filter of a float32 image, as ``scipy.ndimage.gaussian_filter``."""
    if img.ndim != 2:
        raise ValueError(f"gaussian_2d: image must be 2D, got shape {img.shape}")
    a = np.ascontiguousarray(img, dtype=np.float32)
    w = gaussian_weights(sigma)
    tmp = np.empty_like(a)
    out = np.empty_like(a)
    _filter_cols(a, w, _MODES[mode], tmp)
    _filter_rows(tmp, w, _MODES[mode], out)
    return out


def smooth_background(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian background (mode "nearest") of a float32 image.

    For wide kernels (sigma > 6 pixels) the edge-extended image is block-averaged by about
    sigma / 4, filtered there and interpolated back bilinearly: the result differs from the
    full-size filter by under 1 % of the noise inside the image and 5 % at its border
    (tested), at a fraction of the cost.
    """
    f = int(sigma // 4) if sigma > 6 else 1
    if f <= 1:
        return gaussian_2d(img, sigma, mode="nearest")
    ny, nx = img.shape
    # extend the edges at full resolution first, as mode "nearest" does, so that the
    # block-averaged copy sees the same border
    m = int(4 * sigma + 0.5) + f
    my, mx = -(-(ny + 2 * m) // f), -(-(nx + 2 * m) // f)
    pad = np.pad(img, ((m, my * f - ny - m), (m, mx * f - nx - m)), mode="edge")
    small = pad.reshape(my, f, mx, f).mean(axis=(1, 3), dtype=np.float32)
    blurred = gaussian_2d(small, sigma / f, mode="nearest")
    # block centres lie at (i + 0.5) f - 0.5 in padded full-size pixels
    yy = (np.arange(ny, dtype=np.float32) + m + 0.5) / f - 0.5
    xx = (np.arange(nx, dtype=np.float32) + m + 0.5) / f - 0.5
    return _separable_linear(_separable_linear(blurred, yy).T, xx).T


def _separable_linear(img: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Rows of ``img`` linearly interpolated at fractional row positions ``pos`` (edges held).

    Bilinear interpolation on a grid is separable: two of these passes equal
    ``ndimage.map_coordinates(order=1, mode="nearest")`` at a fraction of its cost.
    """
    n = img.shape[0]
    p = np.clip(pos, 0, n - 1)
    i0 = np.minimum(p.astype(np.intp), n - 2) if n > 1 else np.zeros(len(p), np.intp)
    w = (p - i0).astype(np.float32)[:, None]
    return np.ascontiguousarray(img[i0] * (1 - w) + img[np.minimum(i0 + 1, n - 1)] * w, dtype=np.float32)


@njit(cache=True)
def _sparse_maxima(vol, zs, ys, xs, kz, ky, kx, keep):
    nz, ny, nx = vol.shape
    for i in range(zs.size):
        z, y, x = zs[i], ys[i], xs[i]
        v = vol[z, y, x]
        ok = True
        for dz in range(-kz, kz + 1):
            zz = min(max(z + dz, 0), nz - 1)
            for dy in range(-ky, ky + 1):
                yy = min(max(y + dy, 0), ny - 1)
                for dx in range(-kx, kx + 1):
                    xx = min(max(x + dx, 0), nx - 1)
                    if vol[zz, yy, xx] > v:
                        ok = False
                        break
                if not ok:
                    break
            if not ok:
                break
        keep[i] = ok


def sparse_local_maxima(vol: np.ndarray, *, threshold: float, footprint: tuple[int, int, int], max_peaks: int):
    """Local maxima above ``threshold`` (same result as a maximum filter with mode "nearest").

    Only voxels above the threshold are examined, so the cost follows the number of bright
    voxels, not the volume size. Returns (idx (N, 3), values (N,)) strongest first.
    """
    zs, ys, xs = np.nonzero(vol > threshold)
    keep = np.zeros(zs.size, dtype=np.bool_)
    if zs.size:
        _sparse_maxima(vol, zs, ys, xs, footprint[0] // 2, footprint[1] // 2, footprint[2] // 2, keep)
    idx = np.stack([zs[keep], ys[keep], xs[keep]], axis=1)
    vals = vol[zs[keep], ys[keep], xs[keep]]
    order = np.argsort(-vals, kind="stable")[:max_peaks]
    return idx[order], vals[order]
