"""Analytic objects: exact ray-ellipsoid line integrals for any acquisition geometry.

Objects much smaller than a voxel (microcalcifications of 0.1-0.5 mm, test beads) are
described here analytically instead of by voxels. Their line integrals are exact for each
ray (source to a point on the detector); each detector pixel averages ``subsamples`` x
``subsamples`` rays spread evenly over its area. The model knows nothing about the
reconstruction projectors in ``recon/projectors``: it is the independent forward model
that the bead-position tests and the acquisition simulation use.

An ellipsoid is ``{p : (p - c)^T Q (p - c) <= 1}`` with ``Q = R diag(1/a^2) R^T``, where the
columns of ``R`` are its axes in the detector frame. A ray ``s + t d`` (``|d| = 1``) meets it
where ``A t^2 + B t + C = 0`` with ``A = d^T Q d``, ``B = 2 d^T Q (s - c)``,
``C = (s - c)^T Q (s - c) - 1``; the chord length is ``sqrt(B^2 - 4 A C) / A``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numba import njit, prange

from recon.geometry import Geometry
from recon.types import VolumeGrid

__all__ = [
    "Ellipsoid",
    "sphere",
    "rotation_matrix",
    "ellipsoid_line_integrals",
    "voxelize_ellipsoids",
]


def rotation_matrix(yaw_rad: float = 0.0, pitch_rad: float = 0.0, roll_rad: float = 0.0) -> np.ndarray:
    """Rotation ``Rz(yaw) @ Ry(pitch) @ Rx(roll)``; its columns are the rotated x, y, z axes."""
    cz, sz = np.cos(yaw_rad), np.sin(yaw_rad)
    cy, sy = np.cos(pitch_rad), np.sin(pitch_rad)
    cx, sx = np.cos(roll_rad), np.sin(roll_rad)
    rz = np.array([[cz, -sz, 0.0], [sz, cz, 0.0], [0.0, 0.0, 1.0]])
    ry = np.array([[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]])
    rx = np.array([[1.0, 0.0, 0.0], [0.0, cx, -sx], [0.0, sx, cx]])
    return rz @ ry @ rx


@dataclass(frozen=True, eq=False)
class Ellipsoid:
    """A homogeneous ellipsoid in the detector frame.

    Parameters
    ----------
    center_mm : (x, y, z)
        Centre, mm.
    semi_axes_mm : (a, b, c)
        Semi-axis lengths along the columns of ``rotation``, mm.
    mu_per_mm : float
        Linear attenuation added to whatever lies around it, 1/mm (for a calcification in
        tissue: its attenuation minus the tissue's).
    rotation : array (3, 3), optional
        Orthonormal matrix whose columns are the ellipsoid axes; identity by default.
    """

    center_mm: tuple[float, float, float]
    semi_axes_mm: tuple[float, float, float]
    mu_per_mm: float
    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))

    def __post_init__(self):
        c = tuple(float(v) for v in np.asarray(self.center_mm, dtype=np.float64).reshape(-1))
        if len(c) != 3 or not all(np.isfinite(c)):
            raise ValueError(f"Ellipsoid: center_mm must be three finite values, got {self.center_mm}")
        a = tuple(float(v) for v in np.asarray(self.semi_axes_mm, dtype=np.float64).reshape(-1))
        if len(a) != 3 or not all(np.isfinite(v) and v > 0 for v in a):
            raise ValueError(f"Ellipsoid: semi_axes_mm must be three positive values, got {self.semi_axes_mm}")
        mu = float(self.mu_per_mm)
        if not np.isfinite(mu):
            raise ValueError(f"Ellipsoid: mu_per_mm must be finite, got {self.mu_per_mm}")
        rot = np.array(self.rotation, dtype=np.float64)
        if rot.shape != (3, 3) or not np.allclose(rot.T @ rot, np.eye(3), atol=1e-9):
            raise ValueError("Ellipsoid: rotation must be an orthonormal 3 x 3 matrix")
        rot.setflags(write=False)
        object.__setattr__(self, "center_mm", c)
        object.__setattr__(self, "semi_axes_mm", a)
        object.__setattr__(self, "mu_per_mm", mu)
        object.__setattr__(self, "rotation", rot)

    @property
    def quadric(self) -> np.ndarray:
        """``Q = R diag(1/a^2) R^T``: the ellipsoid is ``(p - c)^T Q (p - c) <= 1``."""
        r = self.rotation
        return r @ np.diag(1.0 / np.square(self.semi_axes_mm)) @ r.T

    @property
    def bounding_radius_mm(self) -> float:
        """Radius of a sphere about the centre that contains the ellipsoid, mm."""
        return max(self.semi_axes_mm)

    @property
    def volume_mm3(self) -> float:
        a, b, c = self.semi_axes_mm
        return 4.0 / 3.0 * np.pi * a * b * c

    def contains(self, points_mm) -> np.ndarray:
        """Whether each point (N, 3) lies inside."""
        p = np.atleast_2d(np.asarray(points_mm, dtype=np.float64)) - np.asarray(self.center_mm)
        return np.einsum("ni,ij,nj->n", p, self.quadric, p) <= 1.0

    def to_dict(self) -> dict:
        """JSON-able description."""
        return {
            "center_mm": list(self.center_mm),
            "semi_axes_mm": list(self.semi_axes_mm),
            "mu_per_mm": self.mu_per_mm,
            "rotation": self.rotation.tolist(),
        }


def sphere(center_mm, diameter_mm: float, mu_per_mm: float) -> Ellipsoid:
    """A sphere of the given diameter (mm) and added attenuation (1/mm)."""
    if not diameter_mm > 0:
        raise ValueError(f"sphere: diameter_mm must be > 0, got {diameter_mm}")
    r = float(diameter_mm) / 2.0
    return Ellipsoid(center_mm=center_mm, semi_axes_mm=(r, r, r), mu_per_mm=mu_per_mm)


def _pack(ellipsoids: Sequence[Ellipsoid]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if isinstance(ellipsoids, Ellipsoid):
        ellipsoids = [ellipsoids]
    items = list(ellipsoids)
    for e in items:
        if not isinstance(e, Ellipsoid):
            raise TypeError(f"expected Ellipsoid objects, got {type(e).__name__}")
    n = len(items)
    centers = np.zeros((n, 3))
    quads = np.zeros((n, 3, 3))
    mus = np.zeros(n)
    radii = np.zeros(n)
    for i, e in enumerate(items):
        centers[i] = e.center_mm
        quads[i] = e.quadric
        mus[i] = e.mu_per_mm
        radii[i] = e.bounding_radius_mm
    return centers, quads, mus, radii


@njit(cache=True)
def _chord(sx, sy, sz, dx, dy, dz, cx, cy, cz, q):
    wx, wy, wz = sx - cx, sy - cy, sz - cz
    qd0 = q[0, 0] * dx + q[0, 1] * dy + q[0, 2] * dz
    qd1 = q[1, 0] * dx + q[1, 1] * dy + q[1, 2] * dz
    qd2 = q[2, 0] * dx + q[2, 1] * dy + q[2, 2] * dz
    qw0 = q[0, 0] * wx + q[0, 1] * wy + q[0, 2] * wz
    qw1 = q[1, 0] * wx + q[1, 1] * wy + q[1, 2] * wz
    qw2 = q[2, 0] * wx + q[2, 1] * wy + q[2, 2] * wz
    a = dx * qd0 + dy * qd1 + dz * qd2
    b = 2.0 * (dx * qw0 + dy * qw1 + dz * qw2)
    c = wx * qw0 + wy * qw1 + wz * qw2 - 1.0
    disc = b * b - 4.0 * a * c
    if disc <= 0.0:
        return 0.0
    return np.sqrt(disc) / a


@njit(cache=True)
def _to_detector(px, py, pz, s, o, u, v, nrm, du, dv):
    """Fractional (row, col) pixel index of the shadow of point p (pixel centres at integers)."""
    dx, dy, dz = px - s[0], py - s[1], pz - s[2]
    den = dx * nrm[0] + dy * nrm[1] + dz * nrm[2]
    t = ((o[0] - s[0]) * nrm[0] + (o[1] - s[1]) * nrm[1] + (o[2] - s[2]) * nrm[2]) / den
    hx = s[0] + t * dx - o[0]
    hy = s[1] + t * dy - o[1]
    hz = s[2] + t * dz - o[2]
    col = (hx * u[0] + hy * u[1] + hz * u[2]) / du - 0.5
    row = (hx * v[0] + hy * v[1] + hz * v[2]) / dv - 0.5
    return row, col


@njit(cache=True, parallel=True)
def _ellipsoid_projection_kernel(
    out, sources, origins, udirs, vdirs, normals, du, dv, centers, quads, mus, radii, nsub
):
    nviews, nv, nu = out.shape
    ne = centers.shape[0]
    inv = 1.0 / (nsub * nsub)
    for view in prange(nviews):
        s = sources[view]
        o = origins[view]
        u = udirs[view]
        v = vdirs[view]
        nrm = normals[view]
        for e in range(ne):
            cx, cy, cz = centers[e, 0], centers[e, 1], centers[e, 2]
            r = radii[e]
            q = quads[e]
            mu = mus[e]
            # detector bounding box: shadows of the corners of the cube around the sphere
            rmin, rmax, cmin, cmax = 1e30, -1e30, 1e30, -1e30
            for kx in (-1.0, 1.0):
                for ky in (-1.0, 1.0):
                    for kz in (-1.0, 1.0):
                        rr, cc = _to_detector(cx + kx * r, cy + ky * r, cz + kz * r, s, o, u, v, nrm, du, dv)
                        rmin = min(rmin, rr)
                        rmax = max(rmax, rr)
                        cmin = min(cmin, cc)
                        cmax = max(cmax, cc)
            r0 = max(int(np.floor(rmin)), 0)
            r1 = min(int(np.ceil(rmax)) + 1, nv)
            c0 = max(int(np.floor(cmin)), 0)
            c1 = min(int(np.ceil(cmax)) + 1, nu)
            for row in range(r0, r1):
                for col in range(c0, c1):
                    acc = 0.0
                    for i in range(nsub):
                        fv = (row + (i + 0.5) / nsub) * dv
                        for j in range(nsub):
                            fu = (col + (j + 0.5) / nsub) * du
                            px = o[0] + fu * u[0] + fv * v[0]
                            py = o[1] + fu * u[1] + fv * v[1]
                            pz = o[2] + fu * u[2] + fv * v[2]
                            dx, dy, dz = px - s[0], py - s[1], pz - s[2]
                            norm = np.sqrt(dx * dx + dy * dy + dz * dz)
                            acc += _chord(s[0], s[1], s[2], dx / norm, dy / norm, dz / norm, cx, cy, cz, q)
                    out[view, row, col] += mu * acc * inv


def ellipsoid_line_integrals(
    ellipsoids: Sequence[Ellipsoid] | Ellipsoid,
    geometry: Geometry,
    *,
    subsamples: int = 3,
    views: Sequence[int] | None = None,
) -> np.ndarray:
    """Exact line integrals of ellipsoids, averaged over each detector pixel.

    Parameters
    ----------
    ellipsoids : Ellipsoid or sequence of Ellipsoid
        The objects; overlapping ones add up.
    geometry : Geometry
        Any geometry (tilted or moving detectors included).
    subsamples : int
        Rays per pixel along each detector axis (``subsamples**2`` per pixel), spread
        evenly over the pixel area; 1 = one ray through the pixel centre.
    views : sequence of int, optional
        Only these views (default all).

    Returns
    -------
    float32 array (views, rows, columns)
        Dimensionless line integrals (sum of mu x chord length).
    """
    if not isinstance(geometry, Geometry):
        raise TypeError(f"ellipsoid_line_integrals: geometry must be a recon.Geometry, got {type(geometry).__name__}")
    if int(subsamples) != subsamples or subsamples < 1:
        raise ValueError(f"ellipsoid_line_integrals: subsamples must be a positive integer, got {subsamples}")
    geom = geometry if views is None else geometry.subset(views)
    centers, quads, mus, radii = _pack(ellipsoids)
    out = np.zeros((geom.n_views, *geom.detector_shape), dtype=np.float64)
    if centers.shape[0]:
        _ellipsoid_projection_kernel(
            out,
            np.ascontiguousarray(geom.source_mm),
            np.ascontiguousarray(geom.detector_origin_mm),
            np.ascontiguousarray(geom.detector_u_dir),
            np.ascontiguousarray(geom.detector_v_dir),
            np.ascontiguousarray(geom.detector_normal),
            float(geom.pixel_mm[1]),
            float(geom.pixel_mm[0]),
            centers,
            quads,
            mus,
            radii,
            int(subsamples),
        )
    return out.astype(np.float32)


@njit(cache=True, parallel=True)
def _voxelize_one(buf, k0, j0, i0, z0, y0, x0, dz, dy, dx, cx, cy, cz, q, nsz, nsy, nsx):
    bz, by, bx = buf.shape
    inv = 1.0 / (nsz * nsy * nsx)
    for kk in prange(bz):
        k = k0 + kk
        for jj in range(by):
            j = j0 + jj
            for ii in range(bx):
                i = i0 + ii
                hits = 0
                for a in range(nsz):
                    pz = z0 + (k - 0.5 + (a + 0.5) / nsz) * dz - cz
                    for b in range(nsy):
                        py = y0 + (j - 0.5 + (b + 0.5) / nsy) * dy - cy
                        for c in range(nsx):
                            px = x0 + (i - 0.5 + (c + 0.5) / nsx) * dx - cx
                            val = (
                                q[0, 0] * px * px
                                + q[1, 1] * py * py
                                + q[2, 2] * pz * pz
                                + 2.0 * (q[0, 1] * px * py + q[0, 2] * px * pz + q[1, 2] * py * pz)
                            )
                            if val <= 1.0:
                                hits += 1
                buf[kk, jj, ii] = hits * inv


def _splat(out: np.ndarray, fidx: np.ndarray, amount: float) -> None:
    """Add ``amount`` at fractional index ``fidx`` (z, y, x) with trilinear weights."""
    base = np.floor(fidx).astype(int)
    w = fidx - base
    for dk in (0, 1):
        for dj in (0, 1):
            for di in (0, 1):
                idx = base + (dk, dj, di)
                if np.all(idx >= 0) and np.all(idx < out.shape):
                    wt = (w[0] if dk else 1 - w[0]) * (w[1] if dj else 1 - w[1]) * (w[2] if di else 1 - w[2])
                    out[tuple(idx)] += amount * wt


def voxelize_ellipsoids(
    ellipsoids: Sequence[Ellipsoid] | Ellipsoid, grid: VolumeGrid, *, supersample: int = 3
) -> np.ndarray:
    """Ellipsoids on a voxel grid, with partial-volume fractions.

    Parameters
    ----------
    ellipsoids : Ellipsoid or sequence of Ellipsoid
        The objects; overlapping ones add up.
    grid : VolumeGrid
        Target grid.
    supersample : int
        Minimum sample points per voxel along each axis; more are used along an axis where
        the ellipsoid is thin, and the sampled shape is rescaled so that every ellipsoid
        deposits exactly ``mu x volume`` (tiny ones missed by every sample are splatted
        trilinearly at their centre).

    Returns
    -------
    float32 array (nz, ny, nx)
        Added attenuation per voxel, 1/mm (mu x the fraction of the voxel inside).
    """
    if not isinstance(grid, VolumeGrid):
        raise TypeError(f"voxelize_ellipsoids: grid must be a recon.VolumeGrid, got {type(grid).__name__}")
    if int(supersample) != supersample or supersample < 1:
        raise ValueError(f"voxelize_ellipsoids: supersample must be a positive integer, got {supersample}")
    if isinstance(ellipsoids, Ellipsoid):
        ellipsoids = [ellipsoids]
    out = np.zeros(grid.shape, dtype=np.float64)
    z0, y0, x0 = grid.origin_mm
    vox = np.asarray(grid.voxel_mm)
    for e in ellipsoids:
        if not isinstance(e, Ellipsoid):
            raise TypeError(f"voxelize_ellipsoids: expected Ellipsoid objects, got {type(e).__name__}")
        c = np.asarray(e.center_mm)
        r = e.bounding_radius_mm
        # the exact mu x volume, in voxel units: the sampled shape is rescaled to it
        amount = e.mu_per_mm * e.volume_mm3 / float(np.prod(vox))
        czyx = c[::-1]
        lo = np.maximum(np.floor((czyx - r - grid.origin_mm) / vox).astype(int), 0)
        hi = np.minimum(np.ceil((czyx + r - grid.origin_mm) / vox).astype(int) + 1, grid.shape)
        if np.any(hi <= lo):
            continue
        # sample spacing at most a third of the smallest semi-axis
        ns = np.clip(np.ceil(3.0 * vox / min(e.semi_axes_mm)), supersample, 32).astype(int)
        buf = np.zeros(tuple(hi - lo), dtype=np.float64)
        _voxelize_one(buf, *(int(v) for v in lo), z0, y0, x0, *(float(v) for v in vox), *c, e.quadric, *ns)
        total = buf.sum()
        if total > 0:
            out[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] += buf * (amount / total)
        else:
            _splat(out, grid.mm_to_index(c), amount)
    return out.astype(np.float32)
