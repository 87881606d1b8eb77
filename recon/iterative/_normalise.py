"""SART-type normalisations (per-ray ``1 / A·1``, per-voxel ``A_Sᵀ m``) and the fused update kernels.

Every update of a subset S of views is, slab by slab of the back projection
(:class:`recon.iterative._slabs.SlabBack`)::

    additive (SART family):  x <- clamp(x + relaxation * A_Sᵀ r / (A_Sᵀ m), lower, upper)
    multiplicative (EM):     x <- x * A_Sᵀ r / (A_Sᵀ m)

with ``r`` the normalised residual or the EM ratio (:func:`residual`, :func:`em_ratio`, one pass
each, in place) and ``m`` the mask of valid rays. Voxels whose sensitivity ``A_Sᵀ m`` is at
most 1e-6 of the subset's maximum are seen by no valid ray and are not updated (only clamped).
The sensitivities are stored or recomputed as the memory plan says
(:mod:`recon.iterative._memory`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from recon.errors import check_cancel

__all__ = ["Normalisation", "residual", "em_ratio", "update_subset"]

_BLOCK = 65536
# float16 bit pattern -> float32 value (numba has no float16 arrays)
_F16_LUT = np.arange(65536, dtype=np.uint16).view(np.float16).astype(np.float32)
_NONE16 = np.zeros(1, np.uint16)
_NONE32 = np.zeros(1, np.float32)
_F16_TOP_EXP = 8  # a stored slab's maximum is scaled to about 2**8 (float16 tops out at 65504)


# --------------------------------------------------------------------------------------
# kernels
# --------------------------------------------------------------------------------------
@njit(cache=True, parallel=True, fastmath=True)
def _residual(y, r, rw, views):  # pragma: no cover - numba
    n, nv, nu = r.shape
    for pr in prange(n * nv):
        q = pr // nv
        row = pr % nv
        v = views[q]
        for c in range(nu):
            r[q, row, c] = (y[v, row, c] - r[q, row, c]) * rw[v, row, c]


@njit(cache=True, parallel=True, fastmath=True)
def _em_ratio(y, r, rw, views, tiny):  # pragma: no cover - numba
    n, nv, nu = r.shape
    zero = np.float32(0.0)
    for pr in prange(n * nv):
        q = pr // nv
        row = pr % nv
        v = views[q]
        for c in range(nu):
            a = r[q, row, c]
            if rw[v, row, c] > zero and a > tiny:
                r[q, row, c] = max(y[v, row, c], zero) / a
            else:
                r[q, row, c] = zero


@njit(cache=True, parallel=True, fastmath=True)
def _mask(rw, views, out):  # pragma: no cover - numba
    n, nv, nu = out.shape
    zero = np.float32(0.0)
    one = np.float32(1.0)
    for pr in prange(n * nv):
        q = pr // nv
        row = pr % nv
        v = views[q]
        for c in range(nu):
            out[q, row, c] = one if rw[v, row, c] > zero else zero


# no fastmath: the bounds may be +-inf
@njit(cache=True, parallel=True)
def _additive(x, upd, s32, s16, lut, half, sscale, thr, lam, lo, hi):  # pragma: no cover - numba
    n = x.size
    one = np.float32(1.0)
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        for i in range(b * _BLOCK, min(n, (b + 1) * _BLOCK)):
            s = lut[s16[i]] * sscale if half else s32[i]
            v = x[i]
            if s > thr:
                inv = one / s
                v = v + lam * upd[i] * inv
            x[i] = min(max(v, lo), hi)


@njit(cache=True, parallel=True, fastmath=True)
def _multiplicative(x, upd, s32, s16, lut, half, sscale, thr):  # pragma: no cover - numba
    n = x.size
    one = np.float32(1.0)
    zero = np.float32(0.0)
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        for i in range(b * _BLOCK, min(n, (b + 1) * _BLOCK)):
            s = lut[s16[i]] * sscale if half else s32[i]
            inv = one / s if s > thr else zero
            x[i] = x[i] * upd[i] * inv


# --------------------------------------------------------------------------------------
# projection-domain steps
# --------------------------------------------------------------------------------------
def residual(y: np.ndarray, r: np.ndarray, ray_weight: np.ndarray, views: np.ndarray) -> None:
    """In place, one pass: ``r = (y[views] - r) * ray_weight[views]``."""
    _residual(y, r, ray_weight, views)


def em_ratio(y: np.ndarray, r: np.ndarray, ray_weight: np.ndarray, views: np.ndarray, tiny: float) -> None:
    """In place, one pass: ``r = max(y[views], 0) / r`` on valid rays with ``r > tiny``, else 0."""
    _em_ratio(y, r, ray_weight, views, np.float32(tiny))


# --------------------------------------------------------------------------------------
# normalisations
# --------------------------------------------------------------------------------------
class Normalisation:
    """Per-ray weights and per-subset voxel sensitivities for a projector and its view subsets.

    * ``ray_weight`` (views, nv, nu) float32: 1 / (A·1) for rays whose intersection length with
      the grid exceeds ``ray_min_mm``, 0 for the others (gated out of every update).
    * per subset, the voxel sensitivity Aₛᵀ·m (m = the mask of valid rays), stored in float32,
      stored in float16 (scaled by a power of two) or recomputed, as ``sensitivity`` says.

    Parameters
    ----------
    projector
        The projector pair of the whole grid.
    slabs : SlabBack
        The slab back projections.
    subsets : list of int arrays
        View subsets.
    ray_min_mm : float
        Rays with A·1 <= this length (mm) are ignored.
    sensitivity : {"float32", "float16", "recompute"}
    work : float32 array (nz, ny, nx)
        A volume this may overwrite (it is filled with ones to compute A·1).
    cancel : optional
        Checked between subsets.
    """

    def __init__(self, projector, slabs, subsets, *, ray_min_mm: float, sensitivity: str, work, cancel=None):
        self.slabs = slabs
        self.subsets = subsets
        self.mode = sensitivity
        work.fill(1.0)
        a1 = projector.forward(work)
        check_cancel(cancel)
        valid = a1 > np.float32(ray_min_mm)
        if not valid.any():
            raise ValueError(
                f"no ray crosses at least {ray_min_mm:g} mm of the grid: the grid does not lie in the beam"
            )
        np.divide(np.float32(1.0), a1, out=a1, where=valid)
        a1[~valid] = 0.0
        del valid
        self.ray_weight = a1
        shape = (len(subsets), *work.shape)
        self._s32 = np.empty(shape, np.float32) if sensitivity == "float32" else None
        self._s16 = np.empty(shape, np.uint16) if sensitivity == "float16" else None
        self._sscale = [np.float32(1.0)] * len(subsets)
        self.thresholds = []
        for s, views in enumerate(subsets):
            check_cancel(cancel)
            mask = self.mask(views)
            top = 0.0
            scale = None
            for piece, (k0, k1, _) in enumerate(slabs.pieces):
                out = self._s32[s, k0:k1] if self._s32 is not None else None
                sens = slabs.back(piece, mask, views, out=out)
                m = float(sens.max())
                top = max(top, m)
                if self._s16 is not None:
                    if scale is None and m > 0:
                        scale = 2.0 ** (_F16_TOP_EXP - math.ceil(math.log2(m)))
                    f = np.float32(scale or 1.0)
                    np.multiply(sens, f, out=sens)
                    np.minimum(sens, np.float32(65504.0), out=sens)
                    self._s16[s, k0:k1] = sens.astype(np.float16).view(np.uint16)
                    self._sscale[s] = np.float32(1.0) / f
            # voxels seen by no valid ray (relative to the subset's maximum) are not updated
            self.thresholds.append(np.float32(1e-6) * np.float32(max(top, 1e-30)))

    def mask(self, views) -> np.ndarray:
        """The float32 mask of valid rays of ``views`` (1 or 0)."""
        out = np.empty((len(views), *self.ray_weight.shape[1:]), np.float32)
        _mask(self.ray_weight, np.asarray(views, np.int64), out)
        return out

    def _sensitivity(self, s: int, piece: int, mask):
        """(s32, s16, half, scale) of subset ``s`` on slab ``piece`` for the update kernels."""
        k0, k1, _ = self.slabs.pieces[piece]
        if self._s32 is not None:
            return self._s32[s, k0:k1].reshape(-1), _NONE16, False, np.float32(1.0)
        if self._s16 is not None:
            return _NONE32, self._s16[s, k0:k1].reshape(-1), True, self._sscale[s]
        sens = self.slabs.back(piece, mask, self.subsets[s], buffer=1)
        return sens.reshape(-1), _NONE16, False, np.float32(1.0)


def update_subset(x, data, s: int, norm: Normalisation, *, relaxation=None, lower=None, upper=None) -> None:
    """Apply the back projection of ``data`` for subset ``s`` to ``x``, slab by slab.

    Additive (``relaxation`` given): ``x = clamp(x + relaxation * Aᵀdata / sens, lower, upper)``;
    multiplicative (``relaxation`` None): ``x = x * Aᵀdata / sens``.
    """
    views = norm.subsets[s]
    mask = norm.mask(views) if norm.mode == "recompute" else None
    thr = norm.thresholds[s]
    for piece, (k0, k1, _) in enumerate(norm.slabs.pieces):
        upd = norm.slabs.back(piece, data, views, buffer=0).reshape(-1)
        s32, s16, half, sscale = norm._sensitivity(s, piece, mask)
        xs = x[k0:k1].reshape(-1)
        if relaxation is not None:
            lo = np.float32(-np.inf if lower is None else lower)
            hi = np.float32(np.inf if upper is None else upper)
            _additive(xs, upd, s32, s16, _F16_LUT, half, sscale, thr, np.float32(relaxation), lo, hi)
        else:
            _multiplicative(xs, upd, s32, s16, _F16_LUT, half, sscale, thr)
