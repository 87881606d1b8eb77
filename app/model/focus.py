"""Click-to-slice: the slice of a DBT stack where a point is in focus.

Method
------
An object lies in the slice where it is sharpest: out of its plane, tomosynthesis blurs it
along the tube-motion direction and its local contrast falls. For the clicked point (row,
col) we take a square neighbourhood of half-size ``radius_mm`` on every slice, remove the
slowly varying background with a Gaussian of sigma ``background_mm`` (a difference of
Gaussians: fine sigma ``detail_mm`` minus coarse sigma), and score each slice by the
Gaussian-weighted mean squared band-pass signal around the point (weights of sigma
``radius_mm / 2`` centred on the click). The slice with the largest score is the plane of
best focus. Only the neighbourhood is read, so a click costs a few milliseconds.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["focus_profile", "best_focus_slice"]


def focus_profile(
    data: np.ndarray,
    row: float,
    col: float,
    *,
    pixel_mm: tuple[float, float] = (0.1, 0.1),
    radius_mm: float = 2.0,
    detail_mm: float = 0.1,
    background_mm: float = 1.0,
    slices: tuple[int, int] | None = None,
) -> np.ndarray:
    """Sharpness score of every slice at (row, col); higher is sharper.

    Parameters
    ----------
    data : array (nz, ny, nx)
        The slice stack (not modified).
    row, col : float
        The point, in pixels.
    pixel_mm : (dy, dx)
        In-plane pixel size, mm.
    radius_mm : float
        Half-size of the neighbourhood scored.
    detail_mm, background_mm : float
        Sigmas of the difference of Gaussians (fine detail kept, background removed).
    slices : (first, last), optional
        Only score these slices (inclusive); the others get ``-inf``.

    Returns
    -------
    float64 array (nz,)
    """
    if not isinstance(data, np.ndarray) or data.ndim != 3:
        raise TypeError("focus_profile: data must be a 3-D array (nz, ny, nx)")
    nz, ny, nx = data.shape
    r, c = int(round(row)), int(round(col))
    if not (0 <= r < ny and 0 <= c < nx):
        raise ValueError(f"focus_profile: point ({row}, {col}) outside the {ny} x {nx} image")
    if not (radius_mm > 0 and background_mm > detail_mm >= 0):
        raise ValueError("focus_profile: need radius_mm > 0 and background_mm > detail_mm >= 0")
    k0, k1 = (0, nz - 1) if slices is None else (max(0, slices[0]), min(nz - 1, slices[1]))
    dy, dx = pixel_mm
    half = np.array([radius_mm / dy, radius_mm / dx])
    margin = np.ceil(half + 3 * np.array([background_mm / dy, background_mm / dx])).astype(int)
    r0, r1 = max(0, r - margin[0]), min(ny, r + margin[0] + 1)
    c0, c1 = max(0, c - margin[1]), min(nx, c + margin[1] + 1)
    crop = np.asarray(data[k0 : k1 + 1, r0:r1, c0:c1], dtype=np.float32)
    fine = (0, detail_mm / dy, detail_mm / dx)
    coarse = (0, background_mm / dy, background_mm / dx)
    band = ndimage.gaussian_filter(crop, fine, mode="nearest") - ndimage.gaussian_filter(crop, coarse, mode="nearest")
    yy = (np.arange(r0, r1) - r)[:, None] * dy
    xx = (np.arange(c0, c1) - c)[None, :] * dx
    weight = np.exp(-(yy**2 + xx**2) / (2 * (radius_mm / 2) ** 2))
    weight[(np.abs(yy) > radius_mm) | (np.abs(xx) > radius_mm)] = 0.0
    weight /= weight.sum()
    scores = np.full(nz, -np.inf)
    scores[k0 : k1 + 1] = np.einsum("kij,ij->k", band.astype(np.float64) ** 2, weight)
    return scores


def best_focus_slice(data: np.ndarray, row: float, col: float, **kwargs) -> int:
    """The slice where (row, col) is sharpest (see :func:`focus_profile` for the options)."""
    return int(np.argmax(focus_profile(data, row, col, **kwargs)))
