"""Line integrals through a voxel phantom by ray marching (the simulation's own projector).

This is deliberately a different model from the reconstruction projectors in
``recon/projectors`` so that simulated data do not commit the "inverse crime": one ray per
sub-pixel sample from the source to the detector, sampled where it crosses each slice plane
(Joseph's method with z as the driving axis, which it always is in DBT where rays are within
about 30 degrees of the detector normal), bilinear interpolation inside the slice, and a
path length of ``dz / |cos|`` per slice.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from recon.errors import CancelFlag, ProgressCallback, check_cancel
from recon.geometry import Geometry
from recon.types import Volume

__all__ = ["raymarch_line_integrals"]


@njit(cache=True, parallel=True)
def _raymarch_view(out, vol, z0, y0, x0, dz, dy, dx, s, o, u, v, du, dv, nsub, zlo, zhi, ylo, yhi, xlo, xhi):
    nz, ny, nx = vol.shape
    nrow, ncol = out.shape
    inv = np.float32(1.0 / (nsub * nsub))
    for row in prange(nrow):
        for col in range(ncol):
            acc = 0.0
            for a in range(nsub):
                fv = (row + (a + 0.5) / nsub) * dv
                for b in range(nsub):
                    fu = (col + (b + 0.5) / nsub) * du
                    px = o[0] + fu * u[0] + fv * v[0]
                    py = o[1] + fu * u[1] + fv * v[1]
                    pz = o[2] + fu * u[2] + fv * v[2]
                    ddx, ddy, ddz = px - s[0], py - s[1], pz - s[2]
                    if ddz >= 0.0:
                        continue
                    # where the ray crosses the bottom and top of the object box
                    tb = (zlo - s[2]) / ddz
                    tt = (zhi - s[2]) / ddz
                    xb, yb = s[0] + tb * ddx, s[1] + tb * ddy
                    xt, yt = s[0] + tt * ddx, s[1] + tt * ddy
                    if max(xb, xt) < xlo or min(xb, xt) > xhi or max(yb, yt) < ylo or min(yb, yt) > yhi:
                        continue
                    step = dz * np.sqrt(ddx * ddx + ddy * ddy + ddz * ddz) / abs(ddz)
                    line = 0.0
                    for k in range(nz):
                        zk = z0 + k * dz
                        t = (zk - s[2]) / ddz
                        fx = (s[0] + t * ddx - x0) / dx
                        fy = (s[1] + t * ddy - y0) / dy
                        ix = int(np.floor(fx))
                        iy = int(np.floor(fy))
                        if ix < -1 or ix >= nx or iy < -1 or iy >= ny:
                            continue
                        wx = fx - ix
                        wy = fy - iy
                        val = 0.0
                        if iy >= 0:
                            if ix >= 0:
                                val += (1.0 - wy) * (1.0 - wx) * vol[k, iy, ix]
                            if ix + 1 < nx:
                                val += (1.0 - wy) * wx * vol[k, iy, ix + 1]
                        if iy + 1 < ny:
                            if ix >= 0:
                                val += wy * (1.0 - wx) * vol[k, iy + 1, ix]
                            if ix + 1 < nx:
                                val += wy * wx * vol[k, iy + 1, ix + 1]
                        line += val
                    acc += line * step
            out[row, col] = np.float32(acc) * inv


def raymarch_line_integrals(
    volume: Volume,
    geometry: Geometry,
    *,
    subsamples: int = 1,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
) -> np.ndarray:
    """Line integrals of a voxel volume for every view of a geometry.

    Parameters
    ----------
    volume : Volume
        Attenuation in 1/mm; voxels are samples at their centres, interpolated bilinearly
        in each slice and held constant over the slice thickness.
    geometry : Geometry
        Any geometry (the ray direction is computed per detector sample).
    subsamples : int
        Rays per pixel along each detector axis.
    progress : callable, optional
        ``progress(done, total, message)`` after each view.
    cancel : CancelFlag, optional
        Checked before each view; raises :class:`recon.errors.Cancelled`.

    Returns
    -------
    float32 array (views, rows, columns)
        Dimensionless line integrals.
    """
    if not isinstance(volume, Volume):
        raise TypeError(f"raymarch_line_integrals: volume must be a recon.Volume, got {type(volume).__name__}")
    if not isinstance(geometry, Geometry):
        raise TypeError(f"raymarch_line_integrals: geometry must be a recon.Geometry, got {type(geometry).__name__}")
    if int(subsamples) != subsamples or subsamples < 1:
        raise ValueError(f"raymarch_line_integrals: subsamples must be a positive integer, got {subsamples}")
    grid = volume.grid
    z0, y0, x0 = grid.origin_mm
    dz, dy, dx = grid.voxel_mm
    nz, ny, nx = grid.shape
    vol = np.ascontiguousarray(volume.data, dtype=np.float32)
    box = (z0 - dz / 2, z0 + (nz - 0.5) * dz, y0 - dy, y0 + ny * dy, x0 - dx, x0 + nx * dx)
    out = np.zeros((geometry.n_views, *geometry.detector_shape), dtype=np.float32)
    for view in range(geometry.n_views):
        check_cancel(cancel)
        _raymarch_view(
            out[view],
            vol,
            z0,
            y0,
            x0,
            dz,
            dy,
            dx,
            np.ascontiguousarray(geometry.source_mm[view]),
            np.ascontiguousarray(geometry.detector_origin_mm[view]),
            np.ascontiguousarray(geometry.detector_u_dir[view]),
            np.ascontiguousarray(geometry.detector_v_dir[view]),
            float(geometry.pixel_mm[1]),
            float(geometry.pixel_mm[0]),
            int(subsamples),
            *box,
        )
        if progress is not None:
            progress(view + 1, geometry.n_views, f"projected view {view + 1}/{geometry.n_views}")
    return out
