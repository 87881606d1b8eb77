"""Calcification candidates: bright specks in normalised slabs, found by a DoG filter."""

from __future__ import annotations

import numpy as np

from cad._filters import gaussian_2d, sparse_local_maxima

__all__ = ["speck_response", "calcification_candidates"]


def speck_response(norm_slabs: np.ndarray, *, pixel_mm: float) -> np.ndarray:
    """Difference-of-Gaussians response to 0.1-0.5 mm specks, per slab (float32)."""
    s1 = max(0.6, 0.1 / pixel_mm)
    s2 = 4.0 * s1
    out = np.empty_like(norm_slabs, dtype=np.float32)
    for k in range(norm_slabs.shape[0]):
        out[k] = gaussian_2d(norm_slabs[k], s1) - gaussian_2d(norm_slabs[k], s2)
    sample = out[:, ::3, ::3]
    out /= 1.4826 * np.median(np.abs(sample - np.median(sample))) + 1e-12
    return out


def calcification_candidates(
    norm_slabs: np.ndarray, *, pixel_mm: float, threshold: float = 4.0, max_candidates: int = 3000
) -> tuple[np.ndarray, np.ndarray]:
    """Local maxima of the speck response above ``threshold`` (noise units).

    Returns
    -------
    idx : int array (N, 3)
        (slab, row, column) on the model grid, strongest first.
    strength : float array (N,)
    """
    resp = speck_response(norm_slabs, pixel_mm=pixel_mm)
    k = max(3, int(round(0.5 / pixel_mm)) * 2 + 1)
    return sparse_local_maxima(resp, threshold=threshold, footprint=(3, k, k), max_peaks=max_candidates)
