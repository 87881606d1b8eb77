"""General projector pair for detectors that tilt or move (Hologic), by a virtual flat plane.

The forward model is ``A = R A_flat``: the separable slab-integrated projector onto a
virtual stationary detector in the plane z = 0 (same sources, same pitch, large enough to
hold every view's real detector seen from its source), followed by ``R``, which gives each
real pixel the bilinear interpolation of the virtual line integrals at the point where the
ray from the source through the real pixel centre crosses z = 0 (the same ray, so the same
line integral). The adjoint is ``A^T = A_flat^T R^T`` with ``R^T`` the exact transpose of the
interpolation (a splat with the same weights), so the pair stays matched.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from recon.geometry import Geometry
from recon.projectors.base import Projector
from recon.projectors.separable import SeparableProjector
from recon.types import VolumeGrid

__all__ = ["GeneralProjector", "rebin_to_virtual", "virtual_flat_geometry"]


def virtual_flat_geometry(geometry: Geometry, *, margin_px: int = 2) -> Geometry:
    """A stationary detector at z = 0 that receives every ray reaching the real detector.

    Same sources and pixel pitch; its extent is the union over views of the real
    detector's corners projected from the source onto z = 0, plus ``margin_px`` pixels.
    """
    nv, nu = geometry.detector_shape
    dv, du = geometry.pixel_mm
    xs, ys = [], []
    for p in range(geometry.n_views):
        s = geometry.source_mm[p]
        for r, c in ((0, 0), (0, nu), (nv, 0), (nv, nu)):
            o = geometry.detector_origin_mm[p]
            q = o + c * du * geometry.detector_u_dir[p] + r * dv * geometry.detector_v_dir[p]
            t = s[2] / (s[2] - q[2])
            h = s + t * (q - s)
            xs.append(h[0])
            ys.append(h[1])
    x0 = min(xs) - margin_px * du
    y0 = min(ys) - margin_px * dv
    n_u = int(math.ceil((max(xs) + margin_px * du - x0) / du))
    n_v = int(math.ceil((max(ys) + margin_px * dv - y0) / dv))
    return Geometry(
        source_mm=geometry.source_mm,
        detector_origin_mm=np.array([x0, y0, 0.0]),
        detector_u_dir=np.array([1.0, 0.0, 0.0]),
        detector_v_dir=np.array([0.0, 1.0, 0.0]),
        pixel_mm=(dv, du),
        detector_shape=(n_v, n_u),
        angles_rad=geometry.angles_rad,
        name=f"{geometry.name} (virtual flat)",
        support_height_mm=geometry.support_height_mm,
        pivot_height_mm=geometry.pivot_height_mm,
        source_to_detector_mm=geometry.source_to_detector_mm,
    )


@njit(cache=True, inline="always")
def _hit(p, r, c, src, org, udir, vdir, du, dv, vx0, vy0, vdu, vdv):
    """Fractional virtual (row, column) where the ray through real pixel (r, c) meets z = 0."""
    a = (c + 0.5) * du
    b = (r + 0.5) * dv
    px = org[p, 0] + a * udir[p, 0] + b * vdir[p, 0]
    py = org[p, 1] + a * udir[p, 1] + b * vdir[p, 1]
    pz = org[p, 2] + a * udir[p, 2] + b * vdir[p, 2]
    sx = src[p, 0]
    sy = src[p, 1]
    sz = src[p, 2]
    t = sz / (sz - pz)
    hx = sx + t * (px - sx)
    hy = sy + t * (py - sy)
    return (hy - vy0) / vdv - 0.5, (hx - vx0) / vdu - 0.5


@njit(parallel=True, cache=True)
def _resample(virt, out, views, src, org, udir, vdir, du, dv, vx0, vy0, vdu, vdv):
    """out[pp] = R virt[pp]: bilinear interpolation at each real pixel's ray crossing."""
    P, nv, nu = out.shape
    nvv, nuv = virt.shape[1], virt.shape[2]
    for pr in prange(P * nv):
        pp = pr // nv
        r = pr % nv
        p = views[pp]
        for c in range(nu):
            fr, fc = _hit(p, r, c, src, org, udir, vdir, du, dv, vx0, vy0, vdu, vdv)
            r0 = int(math.floor(fr))
            c0 = int(math.floor(fc))
            wr = fr - r0
            wc = fc - c0
            acc = 0.0
            for a in range(2):
                rr = r0 + a
                if rr < 0 or rr >= nvv:
                    continue
                wa = wr if a == 1 else 1.0 - wr
                for b in range(2):
                    cc = c0 + b
                    if cc < 0 or cc >= nuv:
                        continue
                    wb = wc if b == 1 else 1.0 - wc
                    acc += np.float32(wa * wb) * virt[pp, rr, cc]
            out[pp, r, c] = acc
    return out


@njit(parallel=True, cache=True)
def _splat(real, virt, views, stripes, src, org, udir, vdir, du, dv, vx0, vy0, vdu, vdv):
    """virt[pp] += R^T real[pp] (the exact transpose of :func:`_resample`) for row stripes in parallel.

    ``stripes`` (n, 3) int64 holds (frame, first row, end row); stripes processed together
    must splat onto disjoint virtual rows (the caller arranges that).
    """
    nu = real.shape[2]
    nvv, nuv = virt.shape[1], virt.shape[2]
    for s in prange(stripes.shape[0]):
        pp = stripes[s, 0]
        p = views[pp]
        for r in range(stripes[s, 1], stripes[s, 2]):
            for c in range(nu):
                fr, fc = _hit(p, r, c, src, org, udir, vdir, du, dv, vx0, vy0, vdu, vdv)
                r0 = int(math.floor(fr))
                c0 = int(math.floor(fc))
                wr = fr - r0
                wc = fc - c0
                val = real[pp, r, c]
                for a in range(2):
                    rr = r0 + a
                    if rr < 0 or rr >= nvv:
                        continue
                    wa = wr if a == 1 else 1.0 - wr
                    for b in range(2):
                        cc = c0 + b
                        if cc < 0 or cc >= nuv:
                            continue
                        wb = wc if b == 1 else 1.0 - wc
                        virt[pp, rr, cc] += np.float32(wa * wb) * val
    return virt


_STRIPE = 64  # real detector rows per parallel splat work item


def _splat_phases(geometry: Geometry, virtual: Geometry, views: np.ndarray) -> list[np.ndarray]:
    """Row stripes of every frame for :func:`_splat`, in two phases of disjoint virtual rows.

    Stripe i of a frame splats onto virtual rows [floor(min fr), floor(max fr) + 1], with the
    extremes at the stripe's end columns (the map is projective, so monotone along lines);
    the even and the odd stripes of each frame form the phases when stripes i and i + 2
    never share a row, otherwise every frame is one work item.
    """
    nv, nu = geometry.detector_shape
    dv, du = geometry.pixel_mm
    vy0 = float(virtual.detector_origin_mm[0, 1])
    vdv = float(virtual.pixel_mm[0])
    starts = np.arange(0, nv, _STRIPE)
    ends = np.minimum(starts + _STRIPE, nv)
    even, odd = [], []
    for pp, p in enumerate(views):
        b = (np.arange(nv) + 0.5)[:, None] * dv
        a = (np.array([0, nu - 1]) + 0.5)[None, :] * du
        pts = (
            geometry.detector_origin_mm[p][None, None, :]
            + a[..., None] * geometry.detector_u_dir[p]
            + b[..., None] * geometry.detector_v_dir[p]
        )
        s = geometry.source_mm[p]
        t = s[2] / (s[2] - pts[..., 2])
        fr = (s[1] + t * (pts[..., 1] - s[1]) - vy0) / vdv - 0.5  # (nv, 2)
        lo = np.array([np.floor(fr[r0:r1].min()) for r0, r1 in zip(starts, ends, strict=True)])
        hi = np.array([np.floor(fr[r0:r1].max()) + 1 for r0, r1 in zip(starts, ends, strict=True)])
        if starts.size > 2 and not np.all(hi[:-2] < lo[2:]):
            return [np.array([[q, 0, nv] for q in range(views.size)], dtype=np.int64)]
        rows = [(pp, int(r0), int(r1)) for r0, r1 in zip(starts, ends, strict=True)]
        even += rows[0::2]
        odd += rows[1::2]
    return [np.array(ph, dtype=np.int64).reshape(-1, 3) for ph in (even, odd) if ph]


class GeneralProjector(Projector):
    """Matched projector pair for any flat detector pose per view (tilted, moved).

    Parameters
    ----------
    geometry : Geometry
        Any geometry whose detector lies below the volume.
    grid : VolumeGrid
        Voxel grid.
    """

    backend = "general"

    def __init__(self, geometry: Geometry, grid: VolumeGrid):
        super().__init__(geometry, grid)
        self.virtual_geometry = virtual_flat_geometry(geometry)
        self.flat = SeparableProjector(self.virtual_geometry, grid)
        g = geometry
        self._args = (
            np.ascontiguousarray(g.source_mm),
            np.ascontiguousarray(g.detector_origin_mm),
            np.ascontiguousarray(g.detector_u_dir),
            np.ascontiguousarray(g.detector_v_dir),
            float(g.pixel_mm[1]),
            float(g.pixel_mm[0]),
            float(self.virtual_geometry.detector_origin_mm[0, 0]),
            float(self.virtual_geometry.detector_origin_mm[0, 1]),
            float(self.virtual_geometry.pixel_mm[1]),
            float(self.virtual_geometry.pixel_mm[0]),
        )

    def resample(self, virtual: np.ndarray, views: np.ndarray) -> np.ndarray:
        """R: virtual-plane projections (views, nvv, nuv) to the real detectors."""
        out = np.empty((views.size, *self.geometry.detector_shape), dtype=np.float32)
        return _resample(virtual, out, views, *self._args)

    def resample_adjoint(self, real: np.ndarray, views: np.ndarray) -> np.ndarray:
        """R^T: real-detector frames to the virtual plane."""
        virt = np.zeros((views.size, *self.virtual_geometry.detector_shape), dtype=np.float32)
        for stripes in _splat_phases(self.geometry, self.virtual_geometry, views):
            _splat(real, virt, views, stripes, *self._args)
        return virt

    def forward(self, volume: np.ndarray, *, views=None) -> np.ndarray:
        idx = self._views(views)
        vol = self._check_volume(volume)
        return self.resample(self.flat.forward(vol, views=idx), idx)

    def back(self, projections: np.ndarray, *, views=None, out: np.ndarray | None = None) -> np.ndarray:
        idx = self._views(views)
        q = self._check_projections(projections, idx.size)
        return self.flat.back(self.resample_adjoint(q, idx), views=idx, out=out)


@njit(parallel=True, cache=True)
def _rebin(real, virt, views, src, org, udir, vdir, nrm, du, dv, vx0, vy0, vdu, vdv):
    """virt[pp] = real detector values interpolated where the ray to each virtual pixel meets it.

    Bilinear, with coordinates clamped to the detector (edge values extend outward).
    """
    P, nvv, nuv = virt.shape
    nv, nu = real.shape[1], real.shape[2]
    for pr in prange(P * nvv):
        pp = pr // nvv
        r = pr % nvv
        p = views[pp]
        sx, sy, sz = src[p, 0], src[p, 1], src[p, 2]
        hy = vy0 + (r + 0.5) * vdv
        num = nrm[p, 0] * (org[p, 0] - sx) + nrm[p, 1] * (org[p, 1] - sy) + nrm[p, 2] * (org[p, 2] - sz)
        for c in range(nuv):
            hx = vx0 + (c + 0.5) * vdu
            dx, dy, dz = hx - sx, hy - sy, -sz
            t = num / (nrm[p, 0] * dx + nrm[p, 1] * dy + nrm[p, 2] * dz)
            px = sx + t * dx - org[p, 0]
            py = sy + t * dy - org[p, 1]
            pz = sz + t * dz - org[p, 2]
            fc = (px * udir[p, 0] + py * udir[p, 1] + pz * udir[p, 2]) / du - 0.5
            fr = (px * vdir[p, 0] + py * vdir[p, 1] + pz * vdir[p, 2]) / dv - 0.5
            fr = min(max(fr, 0.0), nv - 1.0)
            fc = min(max(fc, 0.0), nu - 1.0)
            r0 = min(int(fr), nv - 2) if nv > 1 else 0
            c0 = min(int(fc), nu - 2) if nu > 1 else 0
            wr = fr - r0
            wc = fc - c0
            r1 = min(r0 + 1, nv - 1)
            c1 = min(c0 + 1, nu - 1)
            virt[pp, r, c] = (1.0 - wr) * ((1.0 - wc) * real[pp, r0, c0] + wc * real[pp, r0, c1]) + wr * (
                (1.0 - wc) * real[pp, r1, c0] + wc * real[pp, r1, c1]
            )
    return virt


def rebin_to_virtual(projector: GeneralProjector, real: np.ndarray, views: np.ndarray) -> np.ndarray:
    """Resample real-detector frames onto the projector's virtual flat plane (for FBP).

    Unlike :meth:`GeneralProjector.resample_adjoint` this is an interpolation (an approximate
    inverse of ``R``), not a transpose.
    """
    vg = projector.virtual_geometry
    g = projector.geometry
    virt = np.empty((views.size, *vg.detector_shape), dtype=np.float32)
    return _rebin(
        real,
        virt,
        views,
        np.ascontiguousarray(g.source_mm),
        np.ascontiguousarray(g.detector_origin_mm),
        np.ascontiguousarray(g.detector_u_dir),
        np.ascontiguousarray(g.detector_v_dir),
        np.ascontiguousarray(g.detector_normal),
        float(g.pixel_mm[1]),
        float(g.pixel_mm[0]),
        float(vg.detector_origin_mm[0, 0]),
        float(vg.detector_origin_mm[0, 1]),
        float(vg.pixel_mm[1]),
        float(vg.pixel_mm[0]),
    )
