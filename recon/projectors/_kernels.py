"""Numba kernels of the separable slab-integrated projector pair (stationary flat detector).

The system matrix of one view ``p`` factorises per slice ``k`` as

    A[(r, c), (k, j, i)] = s_p(r, c) * g[p, k] * Wv[p, k](r, j) * Wu[p, k](c, i)

* ``Wu`` (columns, x): distance-driven overlap of detector pixel ``c`` with the shadow of
  voxel column ``i`` cast at the slice centre. It is applied through exclusive cumulative
  sums of each detector row along u: the overlap-weighted sum over a voxel's pixels is the
  difference of the (linearly interpolated) cumulative sum at the voxel's two edges, so
  the cost is two reads per voxel whatever the shadow width, with no weight tables.
* ``Wv`` (rows, y, the tube-motion axis): the voxel row's footprint *integrated over the
  slab thickness*: the shadows of the voxel's lower and upper edge move linearly with
  height inside the slab, so the footprint is the difference of two ramps and its
  integral over a pixel has a closed form. Computed on the fly per (view, slice, row).
* ``s_p(r, c)`` (applied outside these kernels): the secant of the ray through the pixel
  centre, so that ``g * s`` is the path length through the slab (``g = dz``).

Both kernels visit the same weights, so back projection is the exact transpose of forward
projection up to float32 rounding. Rows of the detector are processed as contiguous
vectors (the v-phase), columns through the edge tables ``ne``/``fe`` (the u-phase).
The back projection reads cumulative sums stored in float32, so its rounding error is
about 6e-8 times the running row sum (about 1e-4 of a pixel value for 2400 columns).
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
def back_kernel(qc, vol, views, k0, k1, vco, gscale, y_edge0, dy, ne, fe, crange, block):
    """vol[k0:k1] += A^T q for the listed views, from the column cumulative sums of q.

    qc : (len(views), nv, nu + 1) float32, exclusive cumulative sums along u of the
        secant-weighted projections (``qc[..., n] = sum(q[..., :n])``)
    vol : (nz, ny, nx) float32, accumulated in place (slices k0..k1-1)
    views : int64 (P,) view indices into the tables
    vco : float64 (n_views_all, nz, 4) row-map coefficients (al, bl, ah, bh)
    gscale : float32 (n_views_all, nz) per (view, slice) weight (dz, or FBP weights)
    ne, fe : (n_views_all, nz, nx + 1) int32 / float32: voxel column edge ``e`` lands at
        ``ne + fe`` in cumulative-sum coordinates (clipped to [0, nu])
    crange : int64 (n_views_all, nz, 2) cumulative-sum columns [lo, hi) read

    The distance-driven overlap sum over pixels of voxel column i is the difference of the
    linearly interpolated cumulative sum at its two edges: two reads per voxel, whatever the
    shadow width, and shared edges between neighbours.
    """
    P = views.shape[0]
    nv = qc.shape[1]
    nu1 = qc.shape[2]
    ny = vol.shape[1]
    nx = vol.shape[2]
    nblocks = (ny + block - 1) // block
    for b in prange(nblocks):
        j_start = b * block
        j_stop = min(ny, j_start + block)
        tmp = np.zeros(nu1 + 1, dtype=np.float32)
        edges = np.zeros(nx + 1, dtype=np.float32)
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
                n = ch - cl
                qp = qc[pp]
                nepk = ne[p, k]
                fepk = fe[p, k]
                for j in range(j_start, j_stop):
                    rf, T = _vtaps(j, al, bl, ah, bh, y_edge0, dy, nv, wbuf)
                    if T == 0:
                        continue
                    # v-phase: slab-integrated combination of detector rows (contiguous)
                    tview = tmp[cl:ch]
                    w = F32(wbuf[0] * g)
                    row = qp[rf, cl:ch]
                    for c in range(n):
                        tview[c] = w * row[c]
                    for t in range(1, T):
                        w = F32(wbuf[t] * g)
                        row = qp[rf + t, cl:ch]
                        for c in range(n):
                            tview[c] += w * row[c]
                    # u-phase: interpolate the cumulative sum at the voxel edges, difference
                    for e in range(nx + 1):
                        m = np.uint64(nepk[e])
                        a = tmp[m]
                        edges[e] = a + fepk[e] * (tmp[m + np.uint64(1)] - a)
                    vrow = vol[k, j]
                    for i in range(nx):
                        vrow[i] += edges[i + 1] - edges[i]
    return vol


@njit(parallel=True, fastmath=True, cache=True)
def forward_kernel(vol, qc, views, k0, k1, vco, gscale, y_edge0, dy, ne, fe, crange, block):
    """qc += the transpose of :func:`back_kernel` (in cumulative-sum coordinates).

    ``qc`` (len(views), nv, nu + 1) receives the adjoint of the cumulative-sum domain;
    :func:`reverse_cumsum_secant` turns it into projections. Parallel over blocks of
    detector rows, so every work item owns its output rows.
    """
    P = views.shape[0]
    nv = qc.shape[1]
    nu1 = qc.shape[2]
    ny = vol.shape[1]
    nx = vol.shape[2]
    nblocks = (nv + block - 1) // block
    for b in prange(nblocks):
        r_start = b * block
        r_stop = min(nv, r_start + block)
        tmp = np.zeros(nu1 + 1, dtype=np.float32)
        dlo = np.empty(nx + 1, dtype=np.float32)
        dhi = np.empty(nx + 1, dtype=np.float32)
        wbuf = np.empty(nv + 2, dtype=np.float64)
        for pp in range(P):
            p = views[pp]
            qp = qc[pp]
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
                nepk = ne[p, k]
                fepk = fe[p, k]
                j0, j1 = _row_range(al, bl, ah, bh, y_edge0, dy, ny, r_start, r_stop - 1)
                for j in range(j0, j1 + 1):
                    rf, T = _vtaps(j, al, bl, ah, bh, y_edge0, dy, nv, wbuf)
                    if T == 0:
                        continue
                    t_lo = max(0, r_start - rf)
                    t_hi = min(T, r_stop - rf)
                    if t_hi <= t_lo:
                        continue
                    # u-phase (transposed): edge differences splatted into the cumsum domain.
                    # Two passes, each touching increasing addresses (no store-to-load chain).
                    tview = tmp[cl:ch]
                    for c in range(n):
                        tview[c] = F32(0.0)
                    vrow = vol[k, j]
                    dlo[0] = -vrow[0]
                    for e in range(1, nx):
                        dlo[e] = vrow[e - 1] - vrow[e]
                    dlo[nx] = vrow[nx - 1]
                    for e in range(nx + 1):
                        dhi[e] = fepk[e] * dlo[e]
                        dlo[e] -= dhi[e]
                    for e in range(nx + 1):
                        tmp[np.uint64(nepk[e])] += dlo[e]
                    for e in range(nx + 1):
                        tmp[np.uint64(nepk[e]) + np.uint64(1)] += dhi[e]
                    # v-phase (transposed): add to the detector rows of this block
                    for t in range(t_lo, t_hi):
                        w = F32(wbuf[t] * g)
                        row = qp[rf + t, cl:ch]
                        for c in range(n):
                            row[c] += w * tview[c]
    return qc


@njit(parallel=True, fastmath=True, cache=True)
def cumsum_secant(q, views, src, u0, v0, du, dv, out):
    """out[p, r, :] = exclusive cumulative sum along u of q[p, r, :] * sec(ray of each pixel).

    ``out`` has one more column than ``q``. The running sums are kept in float64.
    """
    P = q.shape[0]
    nv = q.shape[1]
    nu = q.shape[2]
    for pr in prange(P * nv):
        pp = pr // nv
        r = pr % nv
        p = views[pp]
        zs = src[p, 2]
        dyr = v0 + (r + 0.5) * dv - src[p, 1]
        inv2 = F32(1.0 / (zs * zs))
        base = F32(1.0 + dyr * dyr / (zs * zs))
        x0 = F32(u0 + 0.5 * du - src[p, 0])
        dux = F32(du)
        qrow = q[pp, r]
        orow = out[pp, r]
        # weighted values first (vectorised), then the running sum
        for c in range(nu):
            dx = x0 + dux * F32(c)
            orow[c + 1] = qrow[c] * math.sqrt(base + dx * dx * inv2)
        acc = 0.0
        orow[0] = F32(0.0)
        for c in range(1, nu + 1):
            acc += orow[c]
            orow[c] = F32(acc)
    return out


@njit(parallel=True, fastmath=True, cache=True)
def reverse_cumsum_secant(qc, views, src, u0, v0, du, dv, out):
    """out[p, r, c] = sec(ray of pixel c) * sum(qc[p, r, c + 1:]): the transpose of :func:`cumsum_secant`."""
    P = out.shape[0]
    nv = out.shape[1]
    nu = out.shape[2]
    for pr in prange(P * nv):
        pp = pr // nv
        r = pr % nv
        p = views[pp]
        zs = src[p, 2]
        dyr = v0 + (r + 0.5) * dv - src[p, 1]
        inv2 = F32(1.0 / (zs * zs))
        base = F32(1.0 + dyr * dyr / (zs * zs))
        x0 = F32(u0 + 0.5 * du - src[p, 0])
        dux = F32(du)
        crow = qc[pp, r]
        orow = out[pp, r]
        acc = 0.0
        for c in range(nu - 1, -1, -1):
            acc += crow[c + 1]
            orow[c] = F32(acc)
        for c in range(nu):
            dx = x0 + dux * F32(c)
            orow[c] = orow[c] * math.sqrt(base + dx * dx * inv2)
    return out
