"""Local maxima of 3D response maps and non-maximum suppression across slices."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["local_maxima", "nms_3d"]


def local_maxima(response: np.ndarray, *, threshold: float, footprint: tuple[int, int, int], max_peaks: int = 5000):
    """Positions and values of local maxima above a threshold.

    Parameters
    ----------
    response : array (nz, ny, nx)
        Response map (e.g. a detector's heatmap or filter output).
    threshold : float
        Keep maxima with value > threshold.
    footprint : (kz, ky, kx)
        Size of the neighbourhood a maximum must dominate.
    max_peaks : int
        Keep at most this many, strongest first.

    Returns
    -------
    idx : int array (N, 3)
        (slice, row, column) of each maximum, strongest first.
    values : float array (N,)
    """
    if response.ndim != 3:
        raise ValueError(f"local_maxima: response must be 3D, got shape {response.shape}")
    mx = ndimage.maximum_filter(response, size=footprint, mode="nearest")
    mask = (response == mx) & (response > threshold)
    idx = np.argwhere(mask)
    vals = response[mask]
    order = np.argsort(-vals, kind="stable")[:max_peaks]
    return idx[order], vals[order]


def nms_3d(centers_mm: np.ndarray, scores: np.ndarray, *, radius_mm: tuple[float, float]) -> np.ndarray:
    """Greedy non-maximum suppression of detections within an ellipsoidal radius.

    Parameters
    ----------
    centers_mm : array (N, 3)
        Centres (x, y, z) in mm.
    scores : array (N,)
    radius_mm : (in-plane, depth)
        A detection is suppressed by a stronger one closer than this (in-plane and depth
        distances scaled by their radii, combined as an ellipsoid).

    Returns
    -------
    int array
        Indices of the kept detections, strongest first.
    """
    c = np.asarray(centers_mm, dtype=np.float64).reshape(-1, 3)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if c.shape[0] != s.shape[0]:
        raise ValueError("nms_3d: centres and scores differ in length")
    order = np.argsort(-s, kind="stable")
    scale = np.array([radius_mm[0], radius_mm[0], radius_mm[1]], dtype=np.float64)
    kept: list[int] = []
    for i in order:
        if kept:
            d = (c[kept] - c[i]) / scale
            if np.any(np.sum(d * d, axis=1) < 1.0):
                continue
        kept.append(int(i))
    return np.asarray(kept, dtype=int)
