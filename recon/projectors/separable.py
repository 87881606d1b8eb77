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
    """Where the voxel column edges land on the detector, in cumulative-sum coordinates.

    Edge ``e`` (``e = 0..nx``) of the voxel columns lands at fractional detector column
    ``A + S * e`` (pixel c covers [c - 0.5, c + 0.5]); in the coordinates of the exclusive
    cumulative sum along u (pixel c covers [c, c + 1]) that is ``x = A + S * e + 0.5``,
    clipped to the detector [0, nu]. Returns ``ne`` (int32 floor, at most nu - 1), ``fe``
    (float32 fraction, 0..1) and the cumulative-sum columns [lo, hi) each (view, slice) reads.
    """
    e = np.arange(nx + 1, dtype=np.float64)[None, None, :]
    x = np.clip(A[:, :, None] + S[:, :, None] * e + 0.5, 0.0, float(nu))
    ne = np.minimum(np.floor(x), nu - 1)
    fe = (x - ne).astype(np.float32)
    ne = ne.astype(np.int32)
    lo = ne.min(axis=2).astype(np.int64)
    hi = ne.max(axis=2).astype(np.int64) + 2
    # a slice whose shadow misses the detector entirely reads nothing
    miss = (x[:, :, -1] <= 0.0) | (x[:, :, 0] >= nu)
    hi = np.where(miss, lo, hi)
    return ne, fe, np.stack([lo, hi], axis=2)


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
        self._ne, self._fe, self._crange = _column_tables(A, S, nx, nu)
        self._dz_table = np.full((self.n_views, nz), dz, dtype=np.float32)
        self.magnification = m_c  # (views, nz), for weighting in FBP

    # -- internal entry points (used by FBP and the general path) -----------------------
    def cumsum_secant(self, projections: np.ndarray, views: np.ndarray) -> np.ndarray:
        """Secant-weighted exclusive cumulative sums along u (views, nv, nu + 1), for :meth:`back_weighted`."""
        p, nv, nu = projections.shape
        out = np.empty((p, nv, nu + 1), dtype=np.float32)
        return K.cumsum_secant(projections, views, self._src, self._u0, self._v0, self._du, self._dv, out)

    def back_weighted(
        self,
        qc: np.ndarray,
        views: np.ndarray,
        *,
        gscale: np.ndarray | None = None,
        k_range: tuple[int, int] | None = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Accumulate the back projection of ``qc`` (from :meth:`cumsum_secant`) into ``out``.

        ``gscale`` (views, nz) float32 replaces the slab thickness ``dz`` as the weight of
        each (view, slice); ``k_range`` restricts the slices written.
        """
        if out is None:
            out = np.zeros(self.grid.shape, dtype=np.float32)
        k0, k1 = k_range or (0, self.grid.shape[0])
        g = self._dz_table if gscale is None else gscale
        K.back_kernel(
            qc, out, views, k0, k1, self._vco, g, self._y_edge0, self._dy, self._ne, self._fe, self._crange, _BP_BLOCK
        )
        return out

    # -- interface ----------------------------------------------------------------------
    def forward(self, volume: np.ndarray, *, views=None) -> np.ndarray:
        idx = self._views(views)
        vol = self._check_volume(volume)
        nv, nu = self.geometry.detector_shape
        qc = np.zeros((idx.size, nv, nu + 1), dtype=np.float32)
        K.forward_kernel(
            vol,
            qc,
            idx,
            0,
            self.grid.shape[0],
            self._vco,
            self._dz_table,
            self._y_edge0,
            self._dy,
            self._ne,
            self._fe,
            self._crange,
            _FP_BLOCK,
        )
        out = np.empty((idx.size, nv, nu), dtype=np.float32)
        return K.reverse_cumsum_secant(qc, idx, self._src, self._u0, self._v0, self._du, self._dv, out)

    def back(self, projections: np.ndarray, *, views=None, out: np.ndarray | None = None) -> np.ndarray:
        idx = self._views(views)
        q = self._check_projections(projections, idx.size)
        vol = self._out_volume(out)
        return self.back_weighted(self.cumsum_secant(q, idx), idx, out=vol)
