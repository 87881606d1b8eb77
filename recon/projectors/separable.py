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

import numba
import numpy as np

from recon.geometry import Geometry
from recon.projectors import _kernels as K
from recon.projectors.base import Projector
from recon.types import VolumeGrid

__all__ = ["SeparableProjector"]

_BP_BLOCK = 16  # voxel rows per parallel work item (all slices and views inside)


def _column_tables(A: np.ndarray, S: np.ndarray, nx: int, nu: int):
    """Where the voxel column edges land on the detector, in cumulative-sum coordinates (back projection).

    Edge ``e`` (``e = 0..nx``) of the voxel columns lands at fractional detector column
    ``A + S * e`` (pixel c covers [c - 0.5, c + 0.5]); in the coordinates of the exclusive
    cumulative sum along u (pixel c covers [c, c + 1]) that is ``x = A + S * e + 0.5``,
    clipped to the detector [0, nu]. Returns ``ne`` (int32 floor, at most nu - 1), ``fe``
    (float32 fraction, 0..1), ``wd`` (float32 width of each clipped voxel shadow, pixels)
    and the cumulative-sum columns [lo, hi) each (view, slice) reads.
    """
    e = np.arange(nx + 1, dtype=np.float64)[None, None, :]
    x = np.clip(A[:, :, None] + S[:, :, None] * e + 0.5, 0.0, float(nu))
    ne = np.minimum(np.floor(x), nu - 1)
    fe = (x - ne).astype(np.float32)
    wd = np.diff(x, axis=2).astype(np.float32)
    ne = ne.astype(np.int32)
    lo = ne.min(axis=2).astype(np.int64)
    hi = ne.max(axis=2).astype(np.int64) + 2
    # a slice whose shadow misses the detector entirely reads nothing
    miss = (x[:, :, -1] <= 0.0) | (x[:, :, 0] >= nu)
    hi = np.where(miss, lo, hi)
    return ne, fe, wd, np.stack([lo, hi], axis=2)


def _pixel_tables(A: np.ndarray, S: np.ndarray, nx: int, nu: int):
    """Where the detector column edges lie among the voxel column edges (forward projection).

    The inverse map of :func:`_column_tables`: detector edge ``c`` (``c = 0..nu``, cumulative-sum
    coordinates) lies at voxel-edge coordinate ``xi = (c - A - 0.5) / S``, clamped to [0, nx].
    Returns ``fne`` (int32 floor, at most nx - 1), ``ffe`` (float32 fraction), ``ov`` (float32
    (.., nu): overlap of each pixel with the slice's whole shadow, pixels) and the pixels
    [lo, hi) the shadow touches.
    """
    c = np.arange(nu + 1, dtype=np.float64)[None, None, :]
    x0 = A + 0.5
    xi = np.clip((c - x0[:, :, None]) / S[:, :, None], 0.0, float(nx))
    fne = np.minimum(np.floor(xi), nx - 1)
    ffe = (xi - fne).astype(np.float32)
    ov = (np.diff(xi, axis=2) * S[:, :, None]).astype(np.float32)
    lo = np.clip(np.floor(x0), 0, nu).astype(np.int64)
    hi = np.clip(np.ceil(x0 + S * nx), 0, nu).astype(np.int64)
    hi = np.maximum(hi, lo)
    return fne.astype(np.int32), ffe, ov, np.stack([lo, hi], axis=2)


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
        self._A, self._S = A, S
        self._ne, self._fe, self._wd, self._crange = _column_tables(A, S, nx, nu)
        self._fwd_tables = None  # built on the first forward projection
        self._dz_table = np.full((self.n_views, nz), dz, dtype=np.float32)
        self.magnification = m_c  # (views, nz), for weighting in FBP

    # -- internal entry points (used by FBP and the general path) -----------------------
    def cumsum_secant(self, projections: np.ndarray, views: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Secant-weighted, mean-removed exclusive cumulative sums along u, for :meth:`back_weighted`.

        Returns ``(qc, qmean)``: float32 (views, nv, nu + 1) and the removed row means (views, nv).
        """
        p, nv, nu = projections.shape
        out = np.empty((p, nv, nu + 1), dtype=np.float32)
        mean = np.empty((p, nv), dtype=np.float32)
        K.cumsum_secant(projections, views, self._src, self._u0, self._v0, self._du, self._dv, out, mean)
        return out, mean

    def back_weighted(
        self,
        qc: np.ndarray,
        qmean: np.ndarray,
        views: np.ndarray,
        *,
        gscale: np.ndarray | None = None,
        k_range: tuple[int, int] | None = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Accumulate the back projection of ``(qc, qmean)`` (from :meth:`cumsum_secant`) into ``out``.

        ``gscale`` (views, nz) float32 replaces the slab thickness ``dz`` as the weight of
        each (view, slice); ``k_range`` restricts the slices written.
        """
        if out is None:
            out = np.zeros(self.grid.shape, dtype=np.float32)
        k0, k1 = k_range or (0, self.grid.shape[0])
        g = self._dz_table if gscale is None else gscale
        K.back_kernel(
            qc,
            qmean,
            out,
            views,
            k0,
            k1,
            self._vco,
            g,
            self._y_edge0,
            self._dy,
            self._ne,
            self._fe,
            self._wd,
            self._crange,
            _BP_BLOCK,
        )
        return out

    def _forward_tables(self):
        if self._fwd_tables is None:
            nx, nu = self.grid.shape[2], self.geometry.detector_shape[1]
            self._fwd_tables = _pixel_tables(self._A, self._S, nx, nu)
        return self._fwd_tables

    def _row_blocks(self, views: np.ndarray) -> list[np.ndarray]:
        """Voxel-row ranges for the forward kernel, in phases run one after another.

        Ranges within a phase are projected in parallel, so the detector rows they reach
        (any listed view, any slice, with the slab) must not overlap: the even-numbered and
        the odd-numbered ranges of a split into equal parts form the two phases, and the
        finest split for which that holds is used, preferring splits that give every
        thread the same number of ranges in both phases.
        """
        ny = self.grid.shape[1]
        vco = self._vco[views]  # (P, nz, 4)
        threads = max(1, numba.get_num_threads())
        most = ny // _BP_BLOCK
        # splits whose phases both hold a multiple of the thread count first, then any
        balanced = [n for n in range(8 * threads, 2 * threads - 1, -2 * threads) if n <= most]
        for n in balanced + list(range(min(4 * threads, most), 2, -1)):
            edges = np.linspace(0, ny, n + 1).round().astype(np.int64)
            y = self._y_edge0 + edges * self._dy
            # fractional detector rows of the range ends, bottom and top of each slab
            lo = np.minimum(vco[..., 0, None] + vco[..., 1, None] * y, vco[..., 2, None] + vco[..., 3, None] * y)
            hi = np.maximum(vco[..., 0, None] + vco[..., 1, None] * y, vco[..., 2, None] + vco[..., 3, None] * y)
            r_lo = lo[..., :-1].min(axis=(0, 1)) - 2.0
            r_hi = hi[..., 1:].max(axis=(0, 1)) + 2.0
            if np.all(r_hi[:-2] < r_lo[2:]):
                ranges = np.stack([edges[:-1], edges[1:]], axis=1)
                return [ranges[0::2].copy(), ranges[1::2].copy()]
        return [np.array([[0, ny]], dtype=np.int64)]

    # -- interface ----------------------------------------------------------------------
    def forward(self, volume: np.ndarray, *, views=None) -> np.ndarray:
        idx = self._views(views)
        vol = self._check_volume(volume)
        nv, nu = self.geometry.detector_shape
        fne, ffe, ov, pcr = self._forward_tables()
        out = np.zeros((idx.size, nv, nu), dtype=np.float32)
        for ranges in self._row_blocks(idx):
            K.forward_kernel(
                vol,
                out,
                idx,
                0,
                self.grid.shape[0],
                self._vco,
                self._dz_table,
                self._S,
                self._y_edge0,
                self._dy,
                fne,
                ffe,
                ov,
                pcr,
                ranges,
                _BP_BLOCK,
            )
        return K.apply_secant(out, idx, self._src, self._u0, self._v0, self._du, self._dv)

    def back(self, projections: np.ndarray, *, views=None, out: np.ndarray | None = None) -> np.ndarray:
        idx = self._views(views)
        q = self._check_projections(projections, idx.size)
        vol = self._out_volume(out)
        qc, qmean = self.cumsum_secant(q, idx)
        return self.back_weighted(qc, qmean, idx, out=vol)
