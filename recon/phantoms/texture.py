"""Power-law (1/f^beta) noise for fibroglandular texture, and trilinear resampling."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["power_law_noise", "resample_trilinear"]


def power_law_noise(
    shape: tuple[int, int, int], voxel_mm: tuple[float, float, float], *, beta: float, rng: np.random.Generator
) -> np.ndarray:
    """Gaussian random field whose power spectrum falls as ``1 / |f|^beta``.

    Parameters
    ----------
    shape : (nz, ny, nx)
        Grid size.
    voxel_mm : (dz, dy, dx)
        Grid spacing, mm (the spectrum is isotropic in physical frequency).
    beta : float
        Spectral exponent; about 3 for breast tissue (Burgess et al., Med Phys 28:419, 2001).
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    float32 array
        Zero mean, unit standard deviation.
    """
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"power_law_noise: shape must be three positive sizes, got {shape}")
    if not beta >= 0:
        raise ValueError(f"power_law_noise: beta must be >= 0, got {beta}")
    white = rng.standard_normal(shape)
    spec = np.fft.rfftn(white)
    fz = np.fft.fftfreq(shape[0], d=voxel_mm[0])[:, None, None]
    fy = np.fft.fftfreq(shape[1], d=voxel_mm[1])[None, :, None]
    fx = np.fft.rfftfreq(shape[2], d=voxel_mm[2])[None, None, :]
    f2 = fz * fz + fy * fy + fx * fx
    f2[0, 0, 0] = np.inf
    spec *= f2 ** (-beta / 4.0)
    field = np.fft.irfftn(spec, s=shape, axes=(0, 1, 2))
    field -= field.mean()
    std = field.std()
    if std > 0:
        field /= std
    return field.astype(np.float32)


@njit(cache=True, parallel=True)
def _trilinear(out, src, z0, y0, x0, dz, dy, dx, sz0, sy0, sx0, sdz, sdy, sdx):
    nz, ny, nx = out.shape
    mz, my, mx = src.shape
    for k in prange(nz):
        fz = (z0 + k * dz - sz0) / sdz
        fz = min(max(fz, 0.0), mz - 1.0)
        kz = min(int(fz), mz - 2) if mz > 1 else 0
        wz = fz - kz if mz > 1 else 0.0
        kz1 = kz + 1 if mz > 1 else 0
        for j in range(ny):
            fy = (y0 + j * dy - sy0) / sdy
            fy = min(max(fy, 0.0), my - 1.0)
            jy = min(int(fy), my - 2) if my > 1 else 0
            wy = fy - jy if my > 1 else 0.0
            jy1 = jy + 1 if my > 1 else 0
            for i in range(nx):
                fx = (x0 + i * dx - sx0) / sdx
                fx = min(max(fx, 0.0), mx - 1.0)
                ix = min(int(fx), mx - 2) if mx > 1 else 0
                wx = fx - ix if mx > 1 else 0.0
                ix1 = ix + 1 if mx > 1 else 0
                c00 = src[kz, jy, ix] * (1 - wx) + src[kz, jy, ix1] * wx
                c01 = src[kz, jy1, ix] * (1 - wx) + src[kz, jy1, ix1] * wx
                c10 = src[kz1, jy, ix] * (1 - wx) + src[kz1, jy, ix1] * wx
                c11 = src[kz1, jy1, ix] * (1 - wx) + src[kz1, jy1, ix1] * wx
                c0 = c00 * (1 - wy) + c01 * wy
                c1 = c10 * (1 - wy) + c11 * wy
                out[k, j, i] = c0 * (1 - wz) + c1 * wz


def resample_trilinear(
    src: np.ndarray,
    src_origin_mm: tuple[float, float, float],
    src_voxel_mm: tuple[float, float, float],
    shape: tuple[int, int, int],
    origin_mm: tuple[float, float, float],
    voxel_mm: tuple[float, float, float],
) -> np.ndarray:
    """Sample a (z, y, x) array at the voxel centres of another grid (clamped at the edges).

    Origins and voxel sizes are (z, y, x) in mm; returns float32 of ``shape``.
    """
    out = np.empty(tuple(int(s) for s in shape), dtype=np.float32)
    _trilinear(
        out,
        np.ascontiguousarray(src, dtype=np.float32),
        *(float(v) for v in origin_mm),
        *(float(v) for v in voxel_mm),
        *(float(v) for v in src_origin_mm),
        *(float(v) for v in src_voxel_mm),
    )
    return out
