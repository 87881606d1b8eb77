"""The weighted-TV proximal step (Chambolle's dual projection), whole or in pieces of rows.

``prox_{beta TV_w}(f)`` is approximated by ``n`` steps of Chambolle's algorithm on the dual
field p (one vector of 2 or 3 components per voxel, |p| <= 1), warm-started from the p left by
the previous call, then ``u = f - beta div_w p``.

In pieces: one Chambolle step changes p at a voxel from p and f within one voxel of it, and
the kernels treat the edge of a piece as the edge of the volume, so after ``n`` steps the wrong
values have spread at most ``n + 1`` rows into a piece (``n`` for p, one more for ``u``, which
reads p one row back). A piece of rows ``[a, b)`` is therefore computed on rows
``[a - h, b + h)`` with the halo ``h = n + 1`` and only ``[a, b)`` is kept: the result is the
same, bit for bit, as the whole-volume step. Pieces run in order along y; the original values
of the ``h`` rows below the next piece are kept aside before a piece is written back.

Between calls p is stored in float32, or quantised to int16 / int8 (``p * 32767`` or
``p * 127``, rounded): it only warm-starts the next step, whose result is computed in float32.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = ["TVProx", "DUAL_DTYPES", "piece_floats"]

DUAL_DTYPES = {"float32": (np.float32, 1.0), "int16": (np.int16, 32767.0), "int8": (np.int8, 127.0)}


# --------------------------------------------------------------------------------------
# Chambolle kernels
# --------------------------------------------------------------------------------------
@njit(cache=True, inline="always")
def _div_row(f, pz, py, px, k, j, out, wz, wy, wx, inv_beta, has_z):  # pragma: no cover - numba
    """out[:] = (div_w p - f / beta)[k, j, :], branch-free inside the row (vectorised)."""
    nz, ny, nx = f.shape
    zero = np.float32(0.0)
    # a missing neighbour is read from an existing row with a zero weight
    cz1 = wz if (has_z and k < nz - 1) else zero
    cz0 = wz if (has_z and k > 0) else zero
    cy1 = wy if j < ny - 1 else zero
    cy0 = wy if j > 0 else zero
    z1 = pz[k, j] if has_z else py[k, j]
    z0 = pz[max(k - 1, 0), j] if has_z else py[k, j]
    y1 = py[k, j]
    y0 = py[k, max(j - 1, 0)]
    xr = px[k, j]
    fr = f[k, j]
    if nx == 1:
        out[0] = cz1 * z1[0] - cz0 * z0[0] + cy1 * y1[0] - cy0 * y0[0] - fr[0] * inv_beta
        return
    out[0] = cz1 * z1[0] - cz0 * z0[0] + cy1 * y1[0] - cy0 * y0[0] + wx * xr[0] - fr[0] * inv_beta
    for i in range(1, nx - 1):
        out[i] = cz1 * z1[i] - cz0 * z0[i] + cy1 * y1[i] - cy0 * y0[i] + wx * (xr[i] - xr[i - 1]) - fr[i] * inv_beta
    m = nx - 1
    out[m] = cz1 * z1[m] - cz0 * z0[m] + cy1 * y1[m] - cy0 * y0[m] - wx * xr[m - 1] - fr[m] * inv_beta


@njit(cache=True, inline="always")
def _project_row(pz, py, px, k, j, crow, nrow, urow, wz, wy, wx, tau, has_z):  # pragma: no cover - numba
    """p[k, j, :] <- (p + tau grad_w v) / (1 + tau |grad_w v|), v rows: this, next slice, next row."""
    nx = crow.shape[0]
    one = np.float32(1.0)
    yr = py[k, j]
    xr = px[k, j]
    zr = pz[k, j] if has_z else py[k, j]
    zero = np.float32(0.0)
    if has_z:
        for i in range(nx - 1):
            c = crow[i]
            gz = wz * (nrow[i] - c)
            gy = wy * (urow[i] - c)
            gx = wx * (crow[i + 1] - c)
            den = one / (one + tau * np.sqrt(gz * gz + gy * gy + gx * gx))
            zr[i] = (zr[i] + tau * gz) * den
            yr[i] = (yr[i] + tau * gy) * den
            xr[i] = (xr[i] + tau * gx) * den
    else:
        for i in range(nx - 1):
            c = crow[i]
            gy = wy * (urow[i] - c)
            gx = wx * (crow[i + 1] - c)
            den = one / (one + tau * np.sqrt(gy * gy + gx * gx))
            yr[i] = (yr[i] + tau * gy) * den
            xr[i] = (xr[i] + tau * gx) * den
    # the last column: no x difference
    i = nx - 1
    c = crow[i]
    gz = wz * (nrow[i] - c) if has_z else zero
    gy = wy * (urow[i] - c)
    den = one / (one + tau * np.sqrt(gz * gz + gy * gy))
    if has_z:
        zr[i] = (zr[i] + tau * gz) * den
    yr[i] = (yr[i] + tau * gy) * den
    xr[i] = xr[i] * den


@njit(cache=True, parallel=True, fastmath=True)
def _dual_sweep(f, pz, py, px, ring, wz, wy, wx, inv_beta, tau, has_z):  # pragma: no cover - numba
    """One Chambolle step in one sweep along z: v = div_w p - f / beta lives in a ring of two slices.

    At slice k, row j of v[k + 1] is made (from p[k + 1] and the old p[k, j]) just before
    p[k, j] is updated from v[k] and v[k + 1]; rows are independent within a slice. A missing
    neighbour (volume edge) is the voxel itself, so its difference is exactly 0. Same arithmetic
    as the textbook two-pass step, less memory traffic, and no scratch volume.
    """
    nz, ny, nx = f.shape
    for j in prange(ny):
        _div_row(f, pz, py, px, 0, j, ring[0, j], wz, wy, wx, inv_beta, has_z)
    for k in range(nz):
        cur = ring[k % 2]
        nxt = ring[(k + 1) % 2]
        more = k < nz - 1
        for j in prange(ny):
            if more:
                _div_row(f, pz, py, px, k + 1, j, nxt[j], wz, wy, wx, inv_beta, has_z)
            crow = cur[j]
            nrow = nxt[j] if (more and has_z) else crow
            urow = cur[j + 1] if j < ny - 1 else crow
            _project_row(pz, py, px, k, j, crow, nrow, urow, wz, wy, wx, tau, has_z)


@njit(cache=True, parallel=True, fastmath=True)
def _apply(f, pz, py, px, wz, wy, wx, beta, has_z):  # pragma: no cover - numba
    nz, ny, nx = f.shape
    for k in prange(nz):
        for j in range(ny):
            for i in range(nx):
                d = np.float32(0.0)
                if has_z:
                    if k < nz - 1:
                        d += wz * pz[k, j, i]
                    if k > 0:
                        d -= wz * pz[k - 1, j, i]
                if j < ny - 1:
                    d += wy * py[k, j, i]
                if j > 0:
                    d -= wy * py[k, j - 1, i]
                if i < nx - 1:
                    d += wx * px[k, j, i]
                if i > 0:
                    d -= wx * px[k, j, i - 1]
                f[k, j, i] -= beta * d


# no fastmath: the bounds may be +-inf
@njit(cache=True, parallel=True)
def _clamp_copy(src, s0, dst, d0, n, lo, hi):  # pragma: no cover - numba
    """dst[:, d0:d0+n] = clamp(src[:, s0:s0+n])."""
    nz = src.shape[0]
    nx = src.shape[2]
    for k in prange(nz):
        for jj in range(n):
            for i in range(nx):
                dst[k, d0 + jj, i] = min(max(src[k, s0 + jj, i], lo), hi)


@njit(cache=True, parallel=True)
def _decode(src, s0, dst, d0, n, inv_scale):  # pragma: no cover - numba
    """dst[:, d0:d0+n] = src[:, s0:s0+n] * inv_scale (float32)."""
    nz = src.shape[0]
    nx = src.shape[2]
    for k in prange(nz):
        for jj in range(n):
            for i in range(nx):
                dst[k, d0 + jj, i] = np.float32(src[k, s0 + jj, i]) * inv_scale


@njit(cache=True, parallel=True)
def _encode(src, s0, dst, d0, n, scale, quantise):  # pragma: no cover - numba
    """dst[:, d0:d0+n] = src[:, s0:s0+n], rounded to integers of ``scale`` when ``quantise``."""
    nz = src.shape[0]
    nx = src.shape[2]
    half = np.float32(0.5)
    for k in prange(nz):
        for jj in range(n):
            for i in range(nx):
                v = src[k, s0 + jj, i]
                if quantise:
                    q = math.floor(v * scale + half)
                    dst[k, d0 + jj, i] = min(max(q, -scale), scale)
                else:
                    dst[k, d0 + jj, i] = v


# --------------------------------------------------------------------------------------
# the operator
# --------------------------------------------------------------------------------------
def piece_floats(shape, *, components: int, rows: int, halo: int) -> int:
    """Float32 values of work space the step needs in pieces of ``rows`` rows (f, p and the v ring)."""
    nz, ny, nx = shape
    span = min(ny, max(rows, min(halo, ny)) + 2 * halo)
    return (components + 1) * nz * span * nx + 2 * span * nx


class TVProx:
    """Weighted-TV proximal operator on a fixed volume shape, keeping its dual field between calls.

    Parameters
    ----------
    shape : (nz, ny, nx)
    weights : (wz, wy, wx)
        Non-negative per-axis weights of the differences (wy, wx > 0).
    dual : {"float32", "int16", "int8"}
        Storage of the dual field between calls.
    rows : int, optional
        Rows (along y) per piece (default: the whole volume in one piece).
    workspace : float32 1-D array, optional
        Scratch memory to work in (shared with other steps); allocated per call when missing
        or too small.
    """

    def __init__(self, shape, weights, *, dual: str = "float32", rows: int | None = None, workspace=None):
        wz, wy, wx = (float(w) for w in weights)
        if wy <= 0 or wx <= 0 or wz < 0:
            raise ValueError(f"TVProx: weights must be wz >= 0, wy > 0, wx > 0, got {weights}")
        if dual not in DUAL_DTYPES:
            raise ValueError(f"TVProx: dual must be one of {', '.join(DUAL_DTYPES)}, got {dual!r}")
        self.shape = tuple(int(s) for s in shape)
        self.has_z = wz > 0
        self.w = (np.float32(wz), np.float32(wy), np.float32(wx))
        # Chambolle's step: tau <= 1 / ||div_w||^2, ||div_w||^2 <= 4 (wz^2 + wy^2 + wx^2)
        self.tau = np.float32(0.99 / (4.0 * (wz * wz + wy * wy + wx * wx)))
        self.dual = dual
        dtype, scale = DUAL_DTYPES[dual]
        self.scale = np.float32(scale)
        self.rows = self.shape[1] if rows is None else max(1, min(int(rows), self.shape[1]))
        comps = 3 if self.has_z else 2
        self.p = [np.zeros(self.shape, dtype) for _ in range(comps)]  # (pz,) py, px
        self.workspace = workspace

    @property
    def in_place(self) -> bool:
        """Whether the step runs on the volume itself (one piece, float32 dual)."""
        return self.rows >= self.shape[1] and self.dual == "float32"

    def __call__(self, x: np.ndarray, beta: float, iterations: int, lower=None, upper=None) -> None:
        """Replace ``x`` (float32, C-contiguous) in place by clamp(prox_{beta TV_w}(x), lower, upper)."""
        if beta <= 0 or iterations < 1:
            return
        lo = np.float32(-np.inf if lower is None else lower)
        hi = np.float32(np.inf if upper is None else upper)
        if self.in_place:
            self._whole(x, np.float32(beta), int(iterations), lo, hi)
        else:
            self._pieces(x, np.float32(beta), int(iterations), lo, hi)

    def _scratch(self, n: int) -> np.ndarray:
        ws = self.workspace
        if ws is not None and ws.size >= n:
            return ws[:n]
        return np.empty(n, np.float32)

    def _components(self, p):
        if self.has_z:
            return p[0], p[1], p[2]
        return p[0], p[0], p[1]  # pz is never touched without a z term

    def _whole(self, x, beta, iterations, lo, hi) -> None:
        wz, wy, wx = self.w
        _, ny, nx = self.shape
        ring = self._scratch(2 * ny * nx).reshape(2, ny, nx)
        pz, py, px = self._components(self.p)
        inv_beta = np.float32(1.0) / beta
        for _ in range(iterations):
            _dual_sweep(x, pz, py, px, ring, wz, wy, wx, inv_beta, self.tau, self.has_z)
        _apply(x, pz, py, px, wz, wy, wx, beta, self.has_z)
        if np.isfinite(lo) or np.isfinite(hi):
            np.clip(x, lo, hi, out=x)

    def _pieces(self, x, beta, iterations, lo, hi) -> None:
        wz, wy, wx = self.w
        nz, ny, nx = self.shape
        h = iterations + 1
        rows = max(self.rows, min(h, ny))  # a piece must hold the next piece's lower halo
        span = min(ny, rows + 2 * h)
        comps = len(self.p)
        vol = nz * span * nx
        work = self._scratch(piece_floats(self.shape, components=comps, rows=rows, halo=h))
        flat = [work[i * vol : (i + 1) * vol] for i in range(comps + 1)]  # f, p...
        ring_flat = work[(comps + 1) * vol : (comps + 1) * vol + 2 * span * nx]
        carry_h = min(h, ny)
        carry_x = np.empty((nz, carry_h, nx), np.float32)
        carry_p = [np.empty((nz, carry_h, nx), p.dtype) for p in self.p]
        quantise = self.dual != "float32"
        inv_scale = np.float32(1.0) / self.scale
        inv_beta = np.float32(1.0) / beta
        for a in range(0, ny, rows):
            b = min(ny, a + rows)
            lo_row = max(0, a - h)
            hi_row = min(ny, b + h)
            n = hi_row - lo_row
            f, *pp = (buf[: nz * n * nx].reshape(nz, n, nx) for buf in flat)
            ring = ring_flat[: 2 * n * nx].reshape(2, n, nx)
            below = a - lo_row  # rows [lo_row, a) were written by the previous piece: from the carry
            if below:
                f[:, :below] = carry_x[:, carry_h - below :]
            f[:, below:] = x[:, a:hi_row]
            for c in range(comps):
                if below:
                    _decode(carry_p[c], carry_h - below, pp[c], 0, below, inv_scale)
                _decode(self.p[c], a, pp[c], below, hi_row - a, inv_scale)
            pz, py, px = self._components(pp)
            for _ in range(iterations):
                _dual_sweep(f, pz, py, px, ring, wz, wy, wx, inv_beta, self.tau, self.has_z)
            _apply(f, pz, py, px, wz, wy, wx, beta, self.has_z)
            if b < ny:  # keep the originals of the next piece's lower halo
                carry_x[:] = x[:, b - carry_h : b]
                for c in range(comps):
                    carry_p[c][:] = self.p[c][:, b - carry_h : b]
            _clamp_copy(f, below, x, a, b - a, lo, hi)
            for c in range(comps):
                _encode(pp[c], below, self.p[c], a, b - a, self.scale, quantise)
