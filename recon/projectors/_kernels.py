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

Back projection reads exclusive cumulative sums of each detector row along u (two reads
per voxel edge); forward projection reads exclusive cumulative sums of each voxel row along
x, evaluated at the detector pixel edges (gathers, no scatter), so the two kernels have the
same shape and cost and are each other's transpose up to float32 rounding. Both remove each
row's mean before the running sum (and add ``mean * overlap`` back exactly), so the float32
sums stay small and their rounding does not grow with a row's constant offset.
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


@njit(parallel=True, fastmath=True, cache=True)
def back_kernel(qc, qmean, vol, views, k0, k1, vco, gscale, y_edge0, dy, ne, fe, wd, crange, block):
    """vol[k0:k1] += A^T q for the listed views, from the column cumulative sums of q.

    qc : (len(views), nv, nu + 1) float32, exclusive cumulative sums along u of the
        secant-weighted projections with each row's mean removed
        (``qc[..., n] = sum(q[..., :n] - qmean)``, see :func:`cumsum_secant`)
    qmean : (len(views), nv) float32, the removed row means
    vol : (nz, ny, nx) float32, accumulated in place (slices k0..k1-1)
    views : int64 (P,) view indices into the tables
    vco : float64 (n_views_all, nz, 4) row-map coefficients (al, bl, ah, bh)
    gscale : float32 (n_views_all, nz) per (view, slice) weight (dz, or FBP weights)
    ne, fe : (n_views_all, nz, nx + 1) int32 / float32: voxel column edge ``e`` lands at
        ``ne + fe`` in cumulative-sum coordinates (clipped to [0, nu])
    wd : (n_views_all, nz, nx) float32: width of each voxel column's (clipped) shadow, pixels
    crange : int64 (n_views_all, nz, 2) cumulative-sum columns [lo, hi) read

    The distance-driven overlap sum over pixels of voxel column i is the difference of the
    linearly interpolated cumulative sum at its two edges: two reads per voxel, whatever the
    shadow width, and shared edges between neighbours. The removed mean comes back exactly
    as ``mean * width``; keeping it out of the running sums keeps them small, so their
    float32 rounding does not grow with the rows' constant offset.
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
                qm = qmean[pp]
                nepk = ne[p, k]
                fepk = fe[p, k]
                wdpk = wd[p, k]
                for j in range(j_start, j_stop):
                    rf, T = _vtaps(j, al, bl, ah, bh, y_edge0, dy, nv, wbuf)
                    if T == 0:
                        continue
                    # v-phase: slab-integrated combination of detector rows (contiguous)
                    tview = tmp[cl:ch]
                    w = F32(wbuf[0] * g)
                    mw = w * qm[rf]
                    row = qp[rf, cl:ch]
                    for c in range(n):
                        tview[c] = w * row[c]
                    for t in range(1, T):
                        w = F32(wbuf[t] * g)
                        mw += w * qm[rf + t]
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
                        vrow[i] += (edges[i + 1] - edges[i]) + mw * wdpk[i]
    return vol


@njit(cache=True, inline="always")
def _prefix_rows(vol, k, j_start, nj, pre, pmean):
    """pre[jj] = exclusive cumulative sum of vol[k, j_start + jj] - pmean[jj] (float64 sums).

    Four rows at a time, so the four running sums hide each other's add latency.
    """
    nx = vol.shape[2]
    jj = 0
    while jj < nj:
        r0 = vol[k, j_start + jj]
        r1 = vol[k, j_start + min(jj + 1, nj - 1)]
        r2 = vol[k, j_start + min(jj + 2, nj - 1)]
        r3 = vol[k, j_start + min(jj + 3, nj - 1)]
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        for i in range(nx):
            s0 += r0[i]
            s1 += r1[i]
            s2 += r2[i]
            s3 += r3[i]
        m0 = F32(s0 / nx)
        m1 = F32(s1 / nx)
        m2 = F32(s2 / nx)
        m3 = F32(s3 / nx)
        p0 = pre[jj]
        p1 = pre[min(jj + 1, nj - 1)]
        p2 = pre[min(jj + 2, nj - 1)]
        p3 = pre[min(jj + 3, nj - 1)]
        a0 = 0.0
        a1 = 0.0
        a2 = 0.0
        a3 = 0.0
        p0[0] = F32(0.0)
        p1[0] = F32(0.0)
        p2[0] = F32(0.0)
        p3[0] = F32(0.0)
        for i in range(nx):
            a0 += r0[i] - m0
            a1 += r1[i] - m1
            a2 += r2[i] - m2
            a3 += r3[i] - m3
            p0[i + 1] = F32(a0)
            p1[i + 1] = F32(a1)
            p2[i + 1] = F32(a2)
            p3[i + 1] = F32(a3)
        pmean[jj] = m0
        if jj + 1 < nj:
            pmean[jj + 1] = m1
        if jj + 2 < nj:
            pmean[jj + 2] = m2
        if jj + 3 < nj:
            pmean[jj + 3] = m3
        jj += 4


@njit(parallel=True, fastmath=True, cache=True)
def forward_kernel(vol, out, views, k0, k1, vco, gscale, sc, y_edge0, dy, fne, ffe, ov, pcr, sb_rows, block):
    """out[pp] += A_p vol[k0:k1] (before the secant weighting), the exact transpose of :func:`back_kernel`.

    out : (len(views), nv, nu) float32, accumulated in place
    sc : float64 (n_views_all, nz): width of a voxel column's shadow in pixels (scale S)
    fne, ffe : (n_views_all, nz, nu + 1) int32 / float32: detector column edge ``c`` lies at
        voxel-edge coordinate ``fne + ffe`` (clamped to [0, nx])
    ov : (n_views_all, nz, nu) float32: overlap of pixel c with the slice's whole shadow, pixels
    pcr : int64 (n_views_all, nz, 2): pixels [lo, hi) the slice's shadow touches
    sb_rows : int64 (n, 2): voxel-row ranges processed in parallel; their detector rows
        must not overlap (the caller checks)

    Voxel-row major like :func:`back_kernel`: per (slice, voxel row) the exclusive cumulative
    sum of the row (mean removed) is computed once for all views; the overlap-weighted sum
    over the voxels of detector pixel c is the difference of its linear interpolation at the
    pixel's two edges (gathers, no scatter), plus ``mean * overlap``; the v-phase adds the
    result, slab-integrated, to the detector rows the voxel row touches.
    """
    P = views.shape[0]
    nv = out.shape[1]
    nu = out.shape[2]
    nx = vol.shape[2]
    for s in prange(sb_rows.shape[0]):
        ja = sb_rows[s, 0]
        jb = sb_rows[s, 1]
        pre = np.empty((block, nx + 1), dtype=np.float32)
        pmean = np.empty(block, dtype=np.float32)
        E = np.empty(nu + 1, dtype=np.float32)
        d = np.empty(nu, dtype=np.float32)
        wbuf = np.empty(nv + 2, dtype=np.float64)
        for j_start in range(ja, jb, block):
            nj = min(jb, j_start + block) - j_start
            for k in range(k0, k1):
                _prefix_rows(vol, k, j_start, nj, pre, pmean)
                for pp in range(P):
                    p = views[pp]
                    pl = pcr[p, k, 0]
                    ph = pcr[p, k, 1]
                    if ph <= pl:
                        continue
                    n = ph - pl
                    al = vco[p, k, 0]
                    bl = vco[p, k, 1]
                    ah = vco[p, k, 2]
                    bh = vco[p, k, 3]
                    g = gscale[p, k]
                    s_pk = F32(sc[p, k])
                    fn = fne[p, k, pl : ph + 1]
                    ff = ffe[p, k, pl : ph + 1]
                    ovv = ov[p, k, pl:ph]
                    for jj in range(nj):
                        rf, T = _vtaps(j_start + jj, al, bl, ah, bh, y_edge0, dy, nv, wbuf)
                        if T == 0:
                            continue
                        prow = pre[jj]
                        # u-phase: the row's cumulative sum at the pixel edges, differenced
                        for c in range(n + 1):
                            m = np.uint64(fn[c])
                            a = prow[m]
                            E[c] = a + ff[c] * (prow[m + np.uint64(1)] - a)
                        mj = pmean[jj]
                        for c in range(n):
                            d[c] = s_pk * (E[c + 1] - E[c]) + mj * ovv[c]
                        # v-phase (transposed): slab-integrated weights onto the detector rows
                        for t in range(T):
                            w = F32(wbuf[t] * g)
                            orow = out[pp, rf + t, pl:ph]
                            for c in range(n):
                                orow[c] += w * d[c]
    return out


@njit(parallel=True, fastmath=True, cache=True)
def cumsum_secant(q, views, src, u0, v0, du, dv, out, mean):
    """out[p, r, :] = exclusive cumulative sum along u of q[p, r, :] * sec - mean[p, r].

    ``out`` has one more column than ``q``; ``mean`` (P, nv) receives each weighted row's
    mean (float32), which :func:`back_kernel` adds back exactly. Sums are kept in float64.
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
        # weighted values first (vectorised), then the running sum of the centred values
        tot = 0.0
        for c in range(nu):
            dx = x0 + dux * F32(c)
            val = qrow[c] * math.sqrt(base + dx * dx * inv2)
            orow[c + 1] = val
            tot += val
        m = F32(tot / nu)
        mean[pp, r] = m
        _centred_cumsum(orow, nu, m)
    return out


@njit(cache=True, inline="always")
def _centred_cumsum(orow, nu, m):
    """orow[1:nu + 1] <- running sum of (orow[c] - m), orow[0] = 0 (float64 accumulator)."""
    mm = np.float64(m)
    acc = 0.0
    orow[0] = F32(0.0)
    for c in range(1, nu + 1):
        acc += orow[c] - mm
        orow[c] = F32(acc)


@njit(parallel=True, fastmath=True, cache=True)
def apply_secant(proj, views, src, u0, v0, du, dv):
    """proj[p, r, c] *= sec(ray of pixel (r, c)) in place: the row factor of the forward model."""
    P = proj.shape[0]
    nv = proj.shape[1]
    nu = proj.shape[2]
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
        row = proj[pp, r]
        for c in range(nu):
            dx = x0 + dux * F32(c)
            row[c] = row[c] * math.sqrt(base + dx * dx * inv2)
    return proj
