"""Total-variation regularised reconstruction for reduced dose (OS-SART + TV proximal step).

Each outer iteration is one SART pass over all views (one view per subset by default, or
OS-SART with ``subsets``; the data step, see :mod:`recon.iterative.sart`) followed by a TV
proximal (ROF denoising) step::

    x <- clamp( argmin_u  1/2 ||u - x||^2 + beta * TV_w(u) )

solved approximately with ``tv_iterations`` steps of Chambolle's dual projection algorithm
(Chambolle, JMIV 20, 2004), warm-started from the previous outer iteration's dual field.
Alternating a SART pass and a TV step is the "SART-TV" member of the ASD-POCS family
(Sidky & Pan 2008; TIGRE's ``SART_TV``), recon.md section 4.2.

Anisotropic voxels: the weighted isotropic TV is

    TV_w(u) = sum over voxels of sqrt( (w_x D_x u)^2 + (w_y D_y u)^2 + (w_z D_z u)^2 )

with forward differences D and weights ``w_a = h / d_a`` (h = the smaller in-plane voxel
size, d_a the voxel size along axis a), so differences are measured per in-plane voxel length.
The z weight is further multiplied by ``tv_z_weight`` (default 0.25): limited-angle data
determine depth poorly, and strong smoothing along z would spread features in depth, so
the penalty acts mostly in-plane.

``beta`` has the units of the volume (1/mm): in a single ROF step, a uniform in-plane disc of
radius R voxels loses about ``2 beta / R`` of its contrast, while edges of larger objects are
kept. By default ``beta = tv_weight * sigma`` (tv_weight 2) where ``sigma`` is a robust estimate of the
voxel noise of the volume after the first data pass (median absolute deviation of in-plane
neighbour differences, divided by 0.6745 * sqrt 2), so the same ``tv_weight`` suits every
dose; pass ``tv_beta`` to fix beta instead.

Defaults (10 iterations of SART-TV, relaxation 0.5, tv_weight 2, 10 Chambolle steps,
tv_z_weight 0.25) were tuned on the dose study ``tests/benchmarks/bench_dose.py``: at 1/5 of
the dose they give higher mass CNR and calcification SDNR than FBP at full dose with a
narrower ASF and higher MTF50.

Memory: besides the volume and the SART normalisations (one sensitivity volume per subset
while they fit in ``recon.iterative._common.SENSITIVITY_MEMORY_BYTES``), the TV step keeps the dual field
(2 volumes, 3 when ``tv_z_weight > 0``) and one scratch volume.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from recon.iterative import _common as C
from recon.iterative.sart import os_sart_engine

__all__ = ["tv", "tv_prox", "estimate_noise_sigma"]


@njit(cache=True, parallel=True, fastmath=True)
def _dual_step(f, pz, py, px, v, wz, wy, wx, inv_beta, tau, has_z):  # pragma: no cover - numba
    nz, ny, nx = f.shape
    one = np.float32(1.0)
    # v = div_w p - f / beta
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
                v[k, j, i] = d - f[k, j, i] * inv_beta
    # p <- (p + tau grad_w v) / (1 + tau |grad_w v|)
    for k in prange(nz):
        for j in range(ny):
            for i in range(nx):
                c = v[k, j, i]
                gz = np.float32(0.0)
                if has_z and k < nz - 1:
                    gz = wz * (v[k + 1, j, i] - c)
                gy = np.float32(0.0)
                if j < ny - 1:
                    gy = wy * (v[k, j + 1, i] - c)
                gx = np.float32(0.0)
                if i < nx - 1:
                    gx = wx * (v[k, j, i + 1] - c)
                den = one + tau * np.sqrt(gz * gz + gy * gy + gx * gx)
                if has_z:
                    pz[k, j, i] = (pz[k, j, i] + tau * gz) / den
                py[k, j, i] = (py[k, j, i] + tau * gy) / den
                px[k, j, i] = (px[k, j, i] + tau * gx) / den


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


class TVProx:
    """Weighted-TV proximal operator on a fixed volume shape, keeping its dual field between calls.

    Parameters
    ----------
    shape : (nz, ny, nx)
    weights : (wz, wy, wx)
        Non-negative per-axis weights of the differences (wy, wx > 0).
    """

    def __init__(self, shape, weights):
        wz, wy, wx = (float(w) for w in weights)
        if wy <= 0 or wx <= 0 or wz < 0:
            raise ValueError(f"TVProx: weights must be wz >= 0, wy > 0, wx > 0, got {weights}")
        self.has_z = wz > 0
        self.w = (np.float32(wz), np.float32(wy), np.float32(wx))
        # Chambolle's step: tau <= 1 / ||div_w||^2, ||div_w||^2 <= 4 (wz^2 + wy^2 + wx^2)
        self.tau = np.float32(0.99 / (4.0 * (wz * wz + wy * wy + wx * wx)))
        self.py = np.zeros(shape, np.float32)
        self.px = np.zeros(shape, np.float32)
        self.pz = np.zeros(shape if self.has_z else (1, 1, 1), np.float32)
        self.scratch = np.empty(shape, np.float32)

    def __call__(self, x: np.ndarray, beta: float, iterations: int) -> None:
        """Replace ``x`` (float32, C-contiguous) in place by prox_{beta TV_w}(x)."""
        if beta <= 0 or iterations < 1:
            return
        wz, wy, wx = self.w
        inv_beta = np.float32(1.0 / beta)
        for _ in range(iterations):
            _dual_step(x, self.pz, self.py, self.px, self.scratch, wz, wy, wx, inv_beta, self.tau, self.has_z)
        _apply(x, self.pz, self.py, self.px, wz, wy, wx, np.float32(beta), self.has_z)


def tv_prox(volume: np.ndarray, *, beta: float, voxel_mm=(1.0, 1.0, 1.0), z_weight: float = 1.0, iterations: int = 50):
    """Weighted-TV denoising (ROF) of a volume: ``argmin_u 1/2 ||u - volume||^2 + beta TV_w(u)``.

    Parameters
    ----------
    volume : float array (nz, ny, nx)
        Not modified.
    beta : float
        Regularisation strength, in the units of ``volume``.
    voxel_mm : (dz, dy, dx)
        Voxel size; weights are ``h / d_a`` with h the smaller in-plane size.
    z_weight : float
        Extra factor on the z weight (0 = slice-by-slice 2D TV).
    iterations : int
        Chambolle iterations.

    Returns
    -------
    float32 array
    """
    if not isinstance(volume, np.ndarray) or volume.ndim != 3:
        raise ValueError("tv_prox: volume must be a 3D numpy array")
    beta = C.float_option("tv_prox", "beta", beta)
    iterations = C.int_option("tv_prox", "iterations", iterations)
    z_weight = C.float_option("tv_prox", "z_weight", z_weight, minimum=0.0, open_min=False)
    x = np.array(volume, dtype=np.float32, order="C", copy=True)
    TVProx(x.shape, _weights(voxel_mm, z_weight))(x, beta, iterations)
    return x


def _weights(voxel_mm, z_weight: float) -> tuple[float, float, float]:
    dz, dy, dx = (float(v) for v in voxel_mm)
    h = min(dy, dx)
    return (z_weight * h / dz, h / dy, h / dx)


def estimate_noise_sigma(volume: np.ndarray) -> float:
    """Robust voxel-noise estimate: MAD of in-plane neighbour differences / (0.6745 sqrt 2).

    Uses differences along x (chest wall to nipple) in every slice; structure edges are rare
    enough not to move the median. Float64 reduction over a subsample of at most ~4 M values.
    """
    v = np.asarray(volume)
    d = v[:, :, 1:] - v[:, :, :-1]
    d = d.reshape(-1)
    step = max(1, d.size // 4_000_000)
    d = d[::step].astype(np.float64)
    return float(np.median(np.abs(d - np.median(d))) / (0.6745 * np.sqrt(2.0)))


def tv(
    projections: np.ndarray,
    geometry,
    grid,
    *,
    projector=None,
    iterations: int = 10,
    subsets: int | None = None,
    relaxation: float = 0.5,
    tv_weight: float = 2.0,
    tv_beta: float | None = None,
    tv_iterations: int = 10,
    tv_z_weight: float = 0.25,
    lower: float | None = 0.0,
    upper: float | None = None,
    ray_min_mm: float | None = None,
    progress=None,
    cancel=None,
    x0=None,
) -> np.ndarray:
    """TV-regularised OS-SART (SART-TV) for reduced-dose acquisitions.

    Parameters
    ----------
    projections : float32 array (views, nv, nu)
        Line integrals.
    geometry : Geometry
    grid : VolumeGrid
    projector : Projector, optional
        A matched pair for (geometry, grid); default ``recon.projectors.make_projector``.
    iterations : int
        Outer iterations, each one pass over all views plus one TV step (default 10).
    subsets : int, optional
        View subsets of the data step (default: one view per subset, i.e. SART-TV; fewer
        subsets (OS-SART) need more iterations for the same result).
    relaxation : float
        Step factor of the data step in (0, 2) (default 0.5).
    tv_weight : float
        TV strength relative to the estimated voxel noise: ``beta = tv_weight * sigma``
        (default 2.0). Ignored when ``tv_beta`` is given.
    tv_beta : float, optional
        Absolute TV strength beta (1/mm).
    tv_iterations : int
        Chambolle iterations per TV step (default 10; the dual field is warm-started).
    tv_z_weight : float
        Extra factor on the TV weight along z (default 0.25; 0 = in-plane TV only).
    lower, upper : float or None
        Bounds (default non-negativity), applied after every update, set TO the bound.
    ray_min_mm : float, optional
        Ray gate, as in :func:`recon.iterative.sart.sart`.
    progress : callable(done, total, message), optional
        Called after every subset; the message of the last subset of each iteration gives beta.
    cancel : object with is_set(), optional
        Checked before every subset and TV step.
    x0 : array (nz, ny, nx), optional
        Starting volume (default zeros). Not modified.

    Returns
    -------
    float32 array (nz, ny, nx)
    """
    method = "tv"
    tv_weight = C.float_option(method, "tv_weight", tv_weight, minimum=0.0, open_min=False)
    if tv_beta is not None:
        tv_beta = C.float_option(method, "tv_beta", tv_beta, minimum=0.0, open_min=False)
    tv_iterations = C.int_option(method, "tv_iterations", tv_iterations)
    tv_z_weight = C.float_option(method, "tv_z_weight", tv_z_weight, minimum=0.0, open_min=False)
    if not hasattr(grid, "voxel_mm") or not hasattr(grid, "shape"):
        raise TypeError(f"{method}: grid must be a recon.VolumeGrid, got {type(grid).__name__}")
    n = subsets if subsets is not None else getattr(geometry, "n_views", 1)
    state: dict = {"prox": None, "beta": tv_beta}

    def regularise(x: np.ndarray, it: int):
        if state["beta"] is None:
            state["beta"] = tv_weight * estimate_noise_sigma(x)
        beta = state["beta"]
        if beta <= 0:
            return "beta 0"
        if state["prox"] is None:
            state["prox"] = TVProx(x.shape, _weights(grid.voxel_mm, tv_z_weight))
        state["prox"](x, beta, tv_iterations)
        C.clamp(x, lower, upper)
        return f"TV beta {beta:.3g}"

    return os_sart_engine(
        method,
        projections,
        geometry,
        grid,
        projector=projector,
        iterations=iterations,
        subsets=n,
        relaxation=relaxation,
        lower=lower,
        upper=upper,
        ray_min_mm=ray_min_mm,
        x0=x0,
        progress=progress,
        cancel=cancel,
        after_iteration=regularise,
    )
