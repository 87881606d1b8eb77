"""Numba kernels of the separable slab-integrated projector pair (stationary flat detector).

The system matrix of one view ``p`` factorises per slice ``k`` as

    A[(r, c), (k, j, i)] = s_p(r, c) * g[p, k] * Wv[p, k](r, j) * Wu[p, k](c, i)

* ``Wu`` (columns, x): distance-driven overlap of detector pixel ``c`` with the shadow of
  voxel column ``i`` cast at the slice centre (index/weight tables, built in numpy).
* ``Wv`` (rows, y, the tube-motion axis): the voxel row's footprint *integrated over the
  slab thickness*: the shadows of the voxel's lower and upper edge move linearly with
  height inside the slab, so the footprint is the difference of two ramps and its
  integral over a pixel has a closed form. Computed on the fly per (view, slice, row).
* ``s_p(r, c)`` (applied outside these kernels): the secant of the ray through the pixel
  centre, so that ``g * s`` is the path length through the slab (``g = dz``).

Both kernels visit the same weights, so back projection is the exact transpose of forward
projection up to float32 rounding. Rows of the detector are processed as contiguous
vectors (the v-phase), columns through small index tables (the u-phase).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

F32 = np.float32


@njit(cache=True, inline="always")
def _ramp_integral(x, e0, e1):
    """Integral from -inf to x of the ramp rising from 0 at e0 to 1 at e1 (float64)."""
    if x <= e0:
        return 0.0
    if x >= e1:
        return x - 0.5 * (e0 + e1)
    w = e1 - e0
    d = x - e0
    return d * d / (2.0 * w)


@njit(cache=True)
def _vtaps(j, al, bl, ah, bh, y_edge0, dy, nv, wbuf):
    """Slab-integrated footprint of voxel row ``j`` on the detector rows.

    ``al + bl * y`` and ``ah + bh * y`` map a y edge to fractional detector row indices
    at the bottom and the top of the slab. Fills ``wbuf[:T]`` with the weights of rows
    ``first .. first + T - 1`` (already clipped to the detector) and returns (first, T).
    """
    y0 = y_edge0 + j * dy
    y1 = y0 + dy
    a1 = al + bl * y0
    a2 = ah + bh * y0
    b1 = al + bl * y1
    b2 = ah + bh * y1
    amin = min(a1, a2)
    amax = max(a1, a2)
    bmin = min(b1, b2)
    bmax = max(b1, b2)
    if amax - amin < 1e-9:
        amax = amin + 1e-9
    if bmax - bmin < 1e-9:
        bmax = bmin + 1e-9
    rf = int(math.floor(amin + 0.5))
    rl = int(math.floor(bmax + 0.5))
    if rf < 0:
        rf = 0
    if rl > nv - 1:
        rl = nv - 1
    if rl < rf:
        return rf, 0
    t = 0
    for r in range(rf, rl + 1):
        lo = r - 0.5
        hi = r + 0.5
        w = (
            _ramp_integral(hi, amin, amax)
            - _ramp_integral(lo, amin, amax)
            - _ramp_integral(hi, bmin, bmax)
            + _ramp_integral(lo, bmin, bmax)
        )
        wbuf[t] = w
        t += 1
    return rf, t


@njit(cache=True)
def _row_range(al, bl, ah, bh, y_edge0, dy, ny, r_lo, r_hi):
    """Voxel rows whose footprint may touch detector rows [r_lo, r_hi] (inclusive)."""
    # footprint of row j spans [min(a(j)), max(b(j))] with a(j) = edge j, b(j) = edge j+1
    lo_pos = r_lo - 0.5
    hi_pos = r_hi + 0.5
    # first j with max over z of edge(j+1) >= lo_pos
    e_lo = min((lo_pos - al) / bl, (lo_pos - ah) / bh)
    e_hi = max((hi_pos - al) / bl, (hi_pos - ah) / bh)
    j0 = int(math.floor((e_lo - y_edge0) / dy)) - 2
    j1 = int(math.floor((e_hi - y_edge0) / dy)) + 2
    if j0 < 0:
        j0 = 0
    if j1 > ny - 1:
        j1 = ny - 1
    return j0, j1


@njit(parallel=True, fastmath=True, cache=True)
def back_kernel(q, vol, views, k0, k1, vco, gscale, y_edge0, dy, c0, wu, crange, block):
    """vol[k0:k1] += A^T q for the listed views (q already multiplied by the secants).

    q : (len(views), nv, nu) float32, projections in the order of ``views``
    vol : (nz, ny, nx) float32, accumulated in place (slices k0..k1-1)
    views : int64 (P,) view indices into the tables
    vco : float64 (n_views_all, nz, 4) row-map coefficients (al, bl, ah, bh)
    gscale : float32 (n_views_all, nz) per (view, slice) weight (dz, or FBP weights)
    c0 : int32 (n_views_all, nz, nx) first detector column of each voxel column
    wu : float32 (n_views_all, nz, nx, Tu) column weights
    crange : int64 (n_views_all, nz, 2) detector columns [lo, hi) touched
    """
    P = views.shape[0]
    nv = q.shape[1]
    nu = q.shape[2]
    ny = vol.shape[1]
    nx = vol.shape[2]
    tu = wu.shape[3]
    pad = tu + 1
    nblocks = (ny + block - 1) // block
    for b in prange(nblocks):
        j_start = b * block
        j_stop = min(ny, j_start + block)
        tmp = np.zeros(nu + 2 * pad, dtype=np.float32)
        wbuf = np.empty(nv + 2, dtype=np.float64)
        for k in range(k0, k1):
            for pp in range(P):
                p = views[pp]
                al = vco[p, k, 0]
                bl = vco[p, k, 1]
                ah = vco[p, k, 2]
                bh = vco[p, k, 3]
                g = gscale[p, k]
                cl = crange[p, k, 0]
                ch = crange[p, k, 1]
                if ch <= cl:
                    continue
                qp = q[pp]
                c0pk = c0[p, k]
                wupk = wu[p, k]
                for j in range(j_start, j_stop):
                    rf, T = _vtaps(j, al, bl, ah, bh, y_edge0, dy, nv, wbuf)
                    if T == 0:
                        continue
                    tview = tmp[pad + cl : pad + ch]
                    n = ch - cl
                    w = F32(wbuf[0] * g)
                    row = qp[rf, cl:ch]
                    for c in range(n):
                        tview[c] = w * row[c]
                    for t in range(1, T):
                        w = F32(wbuf[t] * g)
                        row = qp[rf + t, cl:ch]
                        for c in range(n):
                            tview[c] += w * row[c]
                    vrow = vol[k, j]
                    for i in range(nx):
                        ci = c0pk[i] + pad
                        s = F32(0.0)
                        for t in range(tu):
                            s += wupk[i, t] * tmp[ci + t]
                        vrow[i] += s
    return vol


@njit(parallel=True, fastmath=True, cache=True)
def forward_kernel(vol, q, views, k0, k1, vco, gscale, y_edge0, dy, i0, wi, crange, block):
    """q += A vol[k0:k1] for the listed views (before multiplying by the secants).

    q : (len(views), nv, nu) float32, accumulated in place
    i0 : int32 (n_views_all, nz, nu) first voxel column of each detector column
    wi : float32 (n_views_all, nz, nu, Ti) weights (the transpose of ``wu``)
    Other arguments as in :func:`back_kernel`.
    """
    P = views.shape[0]
    nv = q.shape[1]
    nu = q.shape[2]
    ny = vol.shape[1]
    nx = vol.shape[2]
    ti = wi.shape[3]
    pad = ti + 1
    nblocks = (nv + block - 1) // block
    for b in prange(nblocks):
        r_start = b * block
        r_stop = min(nv, r_start + block)
        tmp = np.zeros(nu, dtype=np.float32)
        vpad = np.zeros(nx + 2 * pad, dtype=np.float32)
        wbuf = np.empty(nv + 2, dtype=np.float64)
        for pp in range(P):
            p = views[pp]
            qp = q[pp]
            for k in range(k0, k1):
                al = vco[p, k, 0]
                bl = vco[p, k, 1]
                ah = vco[p, k, 2]
                bh = vco[p, k, 3]
                g = gscale[p, k]
                cl = crange[p, k, 0]
                ch = crange[p, k, 1]
                if ch <= cl:
                    continue
                n = ch - cl
                i0pk = i0[p, k]
                wipk = wi[p, k]
                j0, j1 = _row_range(al, bl, ah, bh, y_edge0, dy, ny, r_start, r_stop - 1)
                for j in range(j0, j1 + 1):
                    rf, T = _vtaps(j, al, bl, ah, bh, y_edge0, dy, nv, wbuf)
                    if T == 0:
                        continue
                    t_lo = max(0, r_start - rf)
                    t_hi = min(T, r_stop - rf)
                    if t_hi <= t_lo:
                        continue
                    vrow = vol[k, j]
                    for i in range(nx):
                        vpad[pad + i] = vrow[i]
                    for c in range(cl, ch):
                        ii = i0pk[c] + pad
                        s = F32(0.0)
                        for t in range(ti):
                            s += wipk[c, t] * vpad[ii + t]
                        tmp[c] = s
                    tv = tmp[cl:ch]
                    for t in range(t_lo, t_hi):
                        w = F32(wbuf[t] * g)
                        row = qp[rf + t, cl:ch]
                        for c in range(n):
                            row[c] += w * tv[c]
    return q


@njit(parallel=True, fastmath=True, cache=True)
def secant_multiply(q, views, src, u0, v0, du, dv, out):
    """out[p] = q[p] * sec(ray through each pixel centre) for a flat detector at z = 0."""
    P = q.shape[0]
    nv = q.shape[1]
    nu = q.shape[2]
    for pr in prange(P * nv):
        pp = pr // nv
        r = pr % nv
        p = views[pp]
        xs = src[p, 0]
        ys = src[p, 1]
        zs = src[p, 2]
        dyr = v0 + (r + 0.5) * dv - ys
        base = zs * zs + dyr * dyr
        inv = 1.0 / zs
        qrow = q[pp, r]
        orow = out[pp, r]
        for c in range(nu):
            dx = u0 + (c + 0.5) * du - xs
            orow[c] = qrow[c] * F32(math.sqrt(base + dx * dx) * inv)
    return out
