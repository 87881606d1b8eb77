"""A classical detector: the baseline the learned models are compared with.

Calcifications: a difference-of-Gaussians (DoG) filter per slice tuned to 0.1-0.5 mm
specks, normalised by a robust estimate of the slice's noise, local maxima above a
threshold, then grouped into clusters. Masses: a scale-normalised Laplacian-of-Gaussian
(LoG) blob filter on a downsampled slab volume, normalised the same way.
Scores map the normalised responses to 0-100 with a logistic curve.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from cad.clustering import cluster_calcifications
from cad.peaks import local_maxima, nms_3d
from cad.types import CaseResult, Finding
from recon.types import Volume

__all__ = ["CLASSICAL_MODEL_ID", "detect_classical", "calcification_response", "mass_response"]

CLASSICAL_MODEL_ID = "classical-dog-log@1.0"


def _robust_std(a: np.ndarray, axis) -> np.ndarray:
    med = np.median(a, axis=axis, keepdims=True)
    return 1.4826 * np.median(np.abs(a - med), axis=axis, keepdims=True) + 1e-12


def _logistic(z, z0: float, width: float) -> np.ndarray:
    return 100.0 / (1.0 + np.exp(-(np.asarray(z, dtype=np.float64) - z0) / width))


def calcification_response(data: np.ndarray, voxel_mm: tuple[float, float, float]) -> np.ndarray:
    """Noise-normalised DoG response per slice (float32, same shape as ``data``)."""
    dy = float(voxel_mm[1])
    s1 = max(0.6, 0.1 / dy)
    s2 = 4.0 * s1
    out = np.empty(data.shape, dtype=np.float32)
    for k in range(data.shape[0]):
        sl = data[k].astype(np.float32, copy=False)
        dog = ndimage.gaussian_filter(sl, s1) - ndimage.gaussian_filter(sl, s2)
        sub = dog[::4, ::4]
        out[k] = dog / _robust_std(sub, axis=None).item()
    return out


def mass_response(data: np.ndarray, voxel_mm: tuple[float, float, float], *, radius_mm: float = 4.0):
    """Noise-normalised, scale-normalised LoG response on a downsampled volume.

    Returns
    -------
    response : float32 array (nz, ny', nx')
    factor : int
        In-plane downsampling factor (response pixel = ``factor`` voxels).
    """
    dy = float(voxel_mm[1])
    factor = max(1, int(round(0.5 / dy)))
    ny, nx = data.shape[1] // factor * factor, data.shape[2] // factor * factor
    small = data[:, :ny, :nx].reshape(data.shape[0], ny // factor, factor, nx // factor, factor).mean(axis=(2, 4))
    sigma = radius_mm / np.sqrt(2.0) / (dy * factor)
    out = np.empty(small.shape, dtype=np.float32)
    for k in range(small.shape[0]):
        log = -(sigma**2) * ndimage.gaussian_laplace(small[k].astype(np.float32), sigma)
        out[k] = log / _robust_std(log, axis=None).item()
    return out, factor


def detect_classical(
    volume: Volume,
    *,
    calc_threshold: float = 6.0,
    mass_threshold: float = 3.0,
    max_calcs: int = 400,
    max_masses: int = 10,
) -> CaseResult:
    """Detect calcification clusters and masses with classical filters.

    Parameters
    ----------
    volume : recon.Volume
        Reconstructed volume (1/mm), slice 0 nearest the breast support.
    calc_threshold, mass_threshold : float
        Minimum noise-normalised response of a candidate.
    max_calcs, max_masses : int
        Caps on the number of candidates kept.

    Returns
    -------
    CaseResult
    """
    if not isinstance(volume, Volume):
        raise TypeError(f"detect_classical: expected a recon.Volume, got {type(volume).__name__}")
    grid = volume.grid
    data = volume.data
    model = CLASSICAL_MODEL_ID
    dz, dy, dx = grid.voxel_mm
    # calcifications
    resp = calcification_response(data, grid.voxel_mm)
    kz = max(1, int(round(1.0 / dz)) * 2 + 1)
    kxy = max(3, int(round(0.6 / dy)) * 2 + 1)
    idx, vals = local_maxima(resp, threshold=calc_threshold, footprint=(kz, kxy, kxy), max_peaks=max_calcs * 4)
    calcs = []
    if len(idx):
        mm = grid.index_to_mm(idx.astype(float))
        keep = nms_3d(mm, vals, radius_mm=(0.5, 3.0))[:max_calcs]
        scores = _logistic(vals[keep], calc_threshold + 2.0, 1.5)
        for i, s in zip(keep, scores, strict=True):
            calcs.append(Finding("calcification", tuple(idx[i]), tuple(mm[i]), (0.3, 0.3, 1.0), float(s), model))
    clusters = cluster_calcifications(calcs, model=model)
    # masses
    mresp, f = mass_response(data, grid.voxel_mm)
    mk = max(1, int(round(3.0 / dz)) * 2 + 1)
    midx, mvals = local_maxima(mresp, threshold=mass_threshold, footprint=(mk, 9, 9), max_peaks=max_masses * 10)
    masses = []
    if len(midx):
        full = midx.astype(float) * np.array([1.0, f, f]) + np.array([0.0, (f - 1) / 2, (f - 1) / 2])
        mm = grid.index_to_mm(full)
        keep = nms_3d(mm, mvals, radius_mm=(8.0, 10.0))[:max_masses]
        scores = _logistic(mvals[keep], mass_threshold + 2.0, 1.0)
        for i, s in zip(keep, scores, strict=True):
            masses.append(Finding("mass", tuple(full[i]), tuple(mm[i]), (8.0, 8.0, 5.0), float(s), model))
    findings = tuple(clusters + masses)
    case_score = max((fi.score for fi in findings), default=0.0)
    return CaseResult(findings, case_score, (model,))
