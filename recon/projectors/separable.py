"""Separable slab-integrated projector pair for a stationary flat detector (the fast path).

For a detector in the plane z = 0 with u = +x and v = +y, a voxel at (x, y, z) seen from the
source (xs, ys, zs) lands at ``u = xs + (x - xs) M``, ``v = ys + (y - ys) M`` with
``M = zs / (zs - z)``: per (slice, view) a scale and a shift in each axis. Along u the
voxel's shadow at the slice centre is overlapped with the pixels (distance driven); along
v, the tube-motion axis, the footprint is integrated over the slab thickness (the shadows
of the voxel's lower and upper edge sweep over the detector as z crosses the slab). See
:mod:`recon.projectors._kernels` for the matrix.
"""

from __future__ import annotations

import numpy as np

from recon.geometry import Geometry
from recon.projectors import _kernels as K
from recon.projectors.base import Projector
from recon.types import VolumeGrid

__all__ = ["SeparableProjector"]

_BP_BLOCK = 16  # voxel rows per parallel work item (all slices and views inside)
_FP_BLOCK = 32  # detector rows per parallel work item


def _column_tables(A: np.ndarray, S: np.ndarray, nx: int, nu: int):
    """Distance-driven overlap tables along u, voxel-centric and pixel-centric.

    The edge ``e`` of the voxel columns (``e = 0..nx``) lands at fractional detector
    column ``A + S * e`` (pixel c covers [c - 0.5, c + 0.5]). Both tables hold the same
    overlap values, computed by the same expression, so the two kernels are transposes.
    """
    P, nz = A.shape
    A3 = A[:, :, None]
    S3 = S[:, :, None]

    def edge(e):
        extra = (None,) * (e.ndim - 2)
        return A[(slice(None), slice(None), *extra)] + S[(slice(None), slice(None), *extra)] * e

    # voxel-centric: pixels overlapping voxel i
    i = np.arange(nx, dtype=np.float64)[None, None, :]
    ca, cb = edge(i), edge(i + 1.0)
    f = np.floor(ca + 0.5)
    f = np.where(np.minimum(cb, f + 0.5) - np.maximum(ca, f - 0.5) <= 0.0, f + 1.0, f)
    tu = int(max(1, np.max(np.floor(cb + 0.5) - f) + 1))
    c_idx = f[..., None] + np.arange(tu, dtype=np.float64)
    wu = np.minimum(cb[..., None], c_idx + 0.5) - np.maximum(ca[..., None], c_idx - 0.5)
    wu = np.where((wu > 0.0) & (c_idx >= 0) & (c_idx < nu), wu, 0.0)
    pad = tu + 1
    c0 = np.clip(f, -pad, nu + 1).astype(np.int32)
    # re-base the weights when the first index was clamped (those weights are all zero)
    wu = np.where((f != c0)[..., None], 0.0, wu).astype(np.float32)

    # pixel-centric: voxels overlapping pixel c
    c = np.arange(nu, dtype=np.float64)[None, None, :]
    g = np.floor((c - 0.5 - A3) / S3)
    ov = np.minimum(edge(g + 1.0), c + 0.5) - np.maximum(edge(g), c - 0.5)
    g = np.where(ov <= 0.0, g + 1.0, g)
    last = np.floor((c + 0.5 - A3) / S3) + 1.0
    ti = int(max(1, np.max(last - g) + 1))
    i_idx = g[..., None] + np.arange(ti, dtype=np.float64)
    wi = np.minimum(edge(i_idx + 1.0), c[..., None] + 0.5) - np.maximum(edge(i_idx), c[..., None] - 0.5)
    wi = np.where((wi > 0.0) & (i_idx >= 0) & (i_idx < nx), wi, 0.0)
    padi = ti + 1
    i0 = np.clip(g, -padi, nx + 1).astype(np.int32)
    wi = np.where((g != i0)[..., None], 0.0, wi).astype(np.float32)

    # columns touched per (view, slice)
    touched = np.any(wi > 0, axis=3)  # (P, nz, nu)
    any_t = touched.any(axis=2)
    lo = np.where(any_t, np.argmax(touched, axis=2), 0)
    hi = np.where(any_t, nu - np.argmax(touched[:, :, ::-1], axis=2), 0)
    crange = np.stack([lo, hi], axis=2).astype(np.int64)
    return c0, wu, i0, wi, crange


class SeparableProjector(Projector):
    """Matched slab-integrated projector pair for a stationary flat detector at z = 0.

    Parameters
    ----------
    geometry : Geometry
        Must satisfy ``geometry.is_stationary_flat``.
    grid : VolumeGrid
        Voxel grid (any slice spacing and in-plane size, including voxels smaller than the
        detector pixels).
    """

    backend = "separable"

    def __init__(self, geometry: Geometry, grid: VolumeGrid):
        super().__init__(geometry, grid)
        if not geometry.is_stationary_flat:
            raise ValueError("SeparableProjector needs a stationary flat detector (geometry.is_stationary_flat)")
        nz, ny, nx = grid.shape
        dz, dy, dx = grid.voxel_mm
        nv, nu = geometry.detector_shape
        dv, du = geometry.pixel_mm
        self._u0 = float(geometry.detector_origin_mm[0, 0])
        self._v0 = float(geometry.detector_origin_mm[0, 1])
        self._du, self._dv = float(du), float(dv)
        src = np.asarray(geometry.source_mm, dtype=np.float64)
        self._src = np.ascontiguousarray(src)
        xs, ys, zs = (src[:, n][:, None] for n in range(3))
        zk = grid.z_mm[None, :]
        if np.any(zk + dz / 2 >= zs - 1.0):
            raise ValueError("SeparableProjector: the volume reaches the source height")
        m_c = zs / (zs - zk)
        m_lo = zs / (zs - (zk - dz / 2))
        m_hi = zs / (zs - (zk + dz / 2))
        # rows: fractional row index of a y edge at the bottom/top of the slab = alpha + beta*y
        vco = np.empty((self.n_views, nz, 4), dtype=np.float64)
        vco[:, :, 0] = (ys * (1 - m_lo) - self._v0) / dv - 0.5
        vco[:, :, 1] = m_lo / dv
        vco[:, :, 2] = (ys * (1 - m_hi) - self._v0) / dv - 0.5
        vco[:, :, 3] = m_hi / dv
        self._vco = vco
        self._y_edge0 = float(grid.origin_mm[1] - dy / 2)
        self._dy = float(dy)
        # columns: fractional column index of x edge e = A + S*e at the slice centre
        x_edge0 = grid.origin_mm[2] - dx / 2
        A = (xs * (1 - m_c) + x_edge0 * m_c - self._u0) / du - 0.5
        S = m_c * dx / du
        self._c0, self._wu, self._i0, self._wi, self._crange = _column_tables(A, S, nx, nu)
        self._dz_table = np.full((self.n_views, nz), dz, dtype=np.float32)
        self.magnification = m_c  # (views, nz), for weighting in FBP

    # -- internal entry points (used by FBP and the general path) -----------------------
    def secant(self, projections: np.ndarray, views: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Multiply each pixel by the secant of its ray (path length per unit height)."""
        if out is None:
            out = np.empty_like(projections)
        return K.secant_multiply(projections, views, self._src, self._u0, self._v0, self._du, self._dv, out)

    def back_weighted(
        self,
        q: np.ndarray,
        views: np.ndarray,
        *,
        gscale: np.ndarray | None = None,
        k_range: tuple[int, int] | None = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Accumulate the separable back projection of ``q`` (already secant-weighted).

        ``gscale`` (views, nz) float32 replaces the slab thickness ``dz`` as the weight of
        each (view, slice); ``k_range`` restricts the slices written; ``out`` is added to.
        """
        if out is None:
            out = np.zeros(self.grid.shape, dtype=np.float32)
        k0, k1 = k_range or (0, self.grid.shape[0])
        g = self._dz_table if gscale is None else gscale
        K.back_kernel(
            q, out, views, k0, k1, self._vco, g, self._y_edge0, self._dy, self._c0, self._wu, self._crange, _BP_BLOCK
        )
        return out

    def forward_unweighted(self, volume: np.ndarray, views: np.ndarray) -> np.ndarray:
        """Separable forward projection before the secant weighting."""
        nv, nu = self.geometry.detector_shape
        q = np.zeros((views.size, nv, nu), dtype=np.float32)
        K.forward_kernel(
            volume,
            q,
            views,
            0,
            self.grid.shape[0],
            self._vco,
            self._dz_table,
            self._y_edge0,
            self._dy,
            self._i0,
            self._wi,
            self._crange,
            _FP_BLOCK,
        )
        return q

    # -- interface ----------------------------------------------------------------------
    def forward(self, volume: np.ndarray, *, views=None) -> np.ndarray:
        idx = self._views(views)
        vol = self._check_volume(volume)
        q = self.forward_unweighted(vol, idx)
        return self.secant(q, idx, out=q)

    def back(self, projections: np.ndarray, *, views=None) -> np.ndarray:
        idx = self._views(views)
        q = self._check_projections(projections, idx.size)
        qw = self.secant(q, idx)
        return self.back_weighted(qw, idx)
