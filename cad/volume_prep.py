"""Bring a volume onto a model's grid: slabs, in-plane pixel size, normalisation, patches.

Training (``cad/training``) and inference use these same functions, so a model sees at run
time exactly what it saw when it learned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from cad._filters import smooth_background
from recon.types import Volume

__all__ = ["ModelGrid", "to_model_grid", "normalise", "extract_patches", "stack_channels"]


@dataclass(frozen=True)
class ModelGrid:
    """How model-grid indices map back to the volume's voxel indices.

    ``volume_index = (slab * slab_step + slab_offset, row * factor + off, col * factor + off)``.
    """

    slab_step: float
    slab_offset: float
    factor: float
    offset: float

    def to_volume_index(self, idx) -> np.ndarray:
        idx = np.asarray(idx, dtype=np.float64)
        out = np.empty_like(idx)
        out[..., 0] = idx[..., 0] * self.slab_step + self.slab_offset
        out[..., 1] = idx[..., 1] * self.factor + self.offset
        out[..., 2] = idx[..., 2] * self.factor + self.offset
        return out

    def to_model_index(self, idx) -> np.ndarray:
        idx = np.asarray(idx, dtype=np.float64)
        out = np.empty_like(idx)
        out[..., 0] = (idx[..., 0] - self.slab_offset) / self.slab_step
        out[..., 1] = (idx[..., 1] - self.offset) / self.factor
        out[..., 2] = (idx[..., 2] - self.offset) / self.factor
        return out


def to_model_grid(volume: Volume, *, slab_mm: float, pixel_mm: float) -> tuple[np.ndarray, ModelGrid]:
    """Average slices into slabs of about ``slab_mm`` and resample in-plane to ``pixel_mm``.

    In-plane: block averaging by an integer factor when the model's pixel is coarser than the
    voxel, linear zoom when it is finer. Returns the float32 array (slabs, rows, cols) and the
    index mapping back to the volume.
    """
    dz, dy, _ = volume.grid.voxel_mm
    data = volume.data
    n = max(1, int(round(slab_mm / dz)))
    ns = data.shape[0] // n if data.shape[0] >= n else 1
    n = min(n, data.shape[0])
    slabs = data[: ns * n].reshape(ns, n, *data.shape[1:]).mean(axis=1, dtype=np.float32)
    ratio = pixel_mm / dy
    if ratio >= 1.0:
        f = max(1, int(round(ratio)))
        ny, nx = slabs.shape[1] // f * f, slabs.shape[2] // f * f
        if f > 1:
            slabs = slabs[:, :ny, :nx].reshape(ns, ny // f, f, nx // f, f).mean(axis=(2, 4), dtype=np.float32)
        grid = ModelGrid(float(n), (n - 1) / 2.0, float(f), (f - 1) / 2.0)
    else:
        z = 1.0 / ratio
        slabs = ndimage.zoom(slabs, (1, z, z), order=1).astype(np.float32)
        grid = ModelGrid(float(n), (n - 1) / 2.0, ratio, 0.0)
    return np.ascontiguousarray(slabs, dtype=np.float32), grid


def normalise(
    slabs: np.ndarray, *, pixel_mm: float, method: str = "highpass_zscore", background_mm: float = 2.0
) -> np.ndarray:
    """Remove the slowly varying background of each slab and scale by the volume's noise.

    ``highpass_zscore``: subtract a Gaussian-smoothed copy (sigma ``background_mm``, edges
    extended) per slab, then divide by a robust standard deviation (1.4826 MAD) of the result over the whole
    volume, so that values are comparable across systems, doses and reconstruction methods.
    The background is computed by :func:`cad._filters.smooth_background` (exact for narrow
    kernels; for wide ones block-averaged, filtered and interpolated back, within 0.5 % of
    the noise inside the image and 5 % near its border). The calcification model uses 2 mm,
    which keeps sub-millimetre detail; the mass model a wider background, which keeps the
    interior of a mass instead of only its rim.
    """
    if method != "highpass_zscore":
        raise ValueError(f"normalise: unknown method {method!r}")
    if not background_mm > 0:
        raise ValueError(f"normalise: background_mm must be > 0, got {background_mm}")
    sigma = background_mm / pixel_mm
    out = np.empty_like(slabs, dtype=np.float32)
    for k in range(slabs.shape[0]):
        out[k] = slabs[k] - smooth_background(slabs[k], sigma)
    sample = out[:, ::3, ::3]
    med = np.median(sample)
    mad = 1.4826 * np.median(np.abs(sample - med)) + 1e-12
    out -= med
    out /= mad
    return out


def stack_channels(slabs: np.ndarray, k: int, channels: int) -> np.ndarray:
    """The ``channels`` slabs centred on slab ``k`` (edges repeated), shape (channels, H, W)."""
    half = channels // 2
    idx = np.clip(np.arange(k - half, k + half + 1), 0, slabs.shape[0] - 1)
    return slabs[idx]


def extract_patches(slabs: np.ndarray, centres: np.ndarray, *, channels: int, size: int) -> np.ndarray:
    """Patches (N, channels, size, size) centred on (slab, row, col) integer centres; zero padded."""
    centres = np.asarray(centres, dtype=int).reshape(-1, 3)
    half = size // 2
    pad = np.pad(slabs, ((0, 0), (half, half), (half, half)))
    out = np.empty((len(centres), channels, size, size), dtype=np.float32)
    ch = channels // 2
    for i, (k, r, c) in enumerate(centres):
        ks = np.clip(np.arange(k - ch, k + ch + 1), 0, slabs.shape[0] - 1)
        out[i] = pad[ks, r : r + size, c : c + size]
    return out
