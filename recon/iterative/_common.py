"""Shared plumbing of the iterative methods: input checks, option validation, view subsets and
the SART-type normalisations (per-ray A·1 and per-voxel Aᵀ·1)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from recon.errors import check_cancel
from recon.geometry import Geometry
from recon.types import VolumeGrid

# Above this many bytes of per-subset sensitivity volumes, they are recomputed on the fly
# (one extra backprojection of a subset per update, about +50 % time per iteration) instead
# of being kept, so a large volume needs only a few volume-size arrays at a time.
SENSITIVITY_MEMORY_BYTES = 1024**3


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------
def check_inputs(method: str, projections, geometry, grid) -> np.ndarray:
    """Check the three positional inputs; return the projections (never copied)."""
    if not isinstance(geometry, Geometry):
        raise TypeError(f"{method}: geometry must be a recon.Geometry, got {type(geometry).__name__}")
    if not isinstance(grid, VolumeGrid):
        raise TypeError(f"{method}: grid must be a recon.VolumeGrid, got {type(grid).__name__}")
    if not isinstance(projections, np.ndarray):
        raise TypeError(f"{method}: projections must be a numpy array, got {type(projections).__name__}")
    if projections.dtype != np.float32:
        raise TypeError(f"{method}: projections must be float32 line integrals, got {projections.dtype}")
    expected = (geometry.n_views, *geometry.detector_shape)
    if projections.shape != expected:
        raise ValueError(f"{method}: projections have shape {projections.shape}, the geometry needs {expected}")
    if not np.all(np.isfinite(projections)):
        raise ValueError(f"{method}: projections contain non-finite values")
    return projections


def int_option(method: str, name: str, value, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{method}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def float_option(
    method: str, name: str, value, *, minimum: float = 0.0, maximum: float = math.inf, open_min: bool = True
) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{method}: {name} must be a number, got {value!r}") from None
    ok = np.isfinite(v) and (v > minimum if open_min else v >= minimum) and v <= maximum
    if isinstance(value, bool) or not ok:
        bound = f"{'>' if open_min else '>='} {minimum}" + (f" and <= {maximum}" if maximum < math.inf else "")
        raise ValueError(f"{method}: {name} must be {bound}, got {value!r}")
    return v


def bounds_option(method: str, lower, upper) -> tuple[float | None, float | None]:
    lo = None if lower is None else float_option(method, "lower", lower, minimum=-math.inf)
    hi = None if upper is None else float_option(method, "upper", upper, minimum=-math.inf)
    if lo is not None and hi is not None and not hi > lo:
        raise ValueError(f"{method}: upper ({hi}) must be greater than lower ({lo})")
    return lo, hi


def callable_option(method: str, name: str, value):
    if value is not None and not callable(value):
        raise TypeError(f"{method}: {name} must be callable, got {type(value).__name__}")
    return value


def cancel_option(method: str, cancel):
    if cancel is not None and not callable(getattr(cancel, "is_set", None)):
        raise TypeError(f"{method}: cancel must have an is_set() method (e.g. threading.Event)")
    return cancel


def initial_volume(method: str, x0, grid: VolumeGrid, fill: float) -> np.ndarray:
    """A fresh float32 working volume: a copy of ``x0`` or filled with ``fill``."""
    if x0 is None:
        return np.full(grid.shape, fill, dtype=np.float32)
    if not isinstance(x0, np.ndarray):
        raise TypeError(f"{method}: x0 must be a numpy array, got {type(x0).__name__}")
    if x0.shape != grid.shape:
        raise ValueError(f"{method}: x0 has shape {x0.shape}, the grid is {grid.shape}")
    if not np.all(np.isfinite(x0)):
        raise ValueError(f"{method}: x0 contains non-finite values")
    return np.array(x0, dtype=np.float32, copy=True)


def get_projector(method: str, projector, geometry: Geometry, grid: VolumeGrid):
    """The given projector after a consistency check, or a new one for (geometry, grid)."""
    if projector is None:
        from recon.projectors import make_projector

        return make_projector(geometry, grid)
    for attr in ("forward", "back"):
        if not callable(getattr(projector, attr, None)):
            raise TypeError(f"{method}: projector must have forward() and back() methods")
    n = getattr(projector, "n_views", None)
    if n is not None and n != geometry.n_views:
        raise ValueError(f"{method}: the projector has {n} views, the geometry {geometry.n_views}")
    pg = getattr(projector, "grid", None)
    if pg is not None and pg != grid:
        raise ValueError(f"{method}: the projector was made for another grid ({pg.shape} vs {grid.shape})")
    return projector


def default_ray_min_mm(grid: VolumeGrid) -> float:
    """Default gate on a ray's intersection length with the grid: min(5 dz, half the grid height).

    ReconDBT masks rays with l <= 5 dz (recon.md section 4.2): such rays clip a corner of the
    volume, and normalising their residual by the short length blows up at the boundary.
    """
    dz = grid.voxel_mm[0]
    return float(min(5.0 * dz, 0.5 * grid.shape[0] * dz))


# --------------------------------------------------------------------------------------
# view subsets
# --------------------------------------------------------------------------------------
def view_order(n_views: int) -> list[int]:
    """An ordering of views that keeps successive views far apart in angle.

    Greedy: start at the middle view, then always take the unused view farthest (in index,
    i.e. in angle for an evenly spaced arc) from all views used so far; ties go to the lower
    index. For 9 views: 4, 0, 8, 2, 6, 1, 3, 5, 7.
    """
    if n_views <= 0:
        return []
    used = [n_views // 2]
    free = set(range(n_views)) - set(used)
    while free:
        best = max(sorted(free), key=lambda v: min(abs(v - u) for u in used))
        used.append(best)
        free.remove(best)
    return used


def make_subsets(n_views: int, n_subsets: int) -> list[np.ndarray]:
    """Split views into ``n_subsets`` interleaved subsets (every n-th view), ordered for spread.

    Subset ``s`` holds views ``s, s + n, s + 2n, ...``; the subsets are visited in
    :func:`view_order` order so consecutive subsets differ most in angle.
    """
    if not 1 <= n_subsets <= n_views:
        raise ValueError(f"subsets must be between 1 and the number of views ({n_views}), got {n_subsets}")
    sets = [np.arange(s, n_views, n_subsets) for s in range(n_subsets)]
    return [sets[i] for i in view_order(n_subsets)]


# --------------------------------------------------------------------------------------
# normalisations
# --------------------------------------------------------------------------------------
class Normalisation:
    """Precomputed SART-type normalisations for a projector and a list of view subsets.

    * ``ray_weight`` (views, nv, nu): 1 / (A·1) for rays whose intersection length with the grid
      exceeds ``ray_min_mm``, 0 for the others (gated out of every update).
    * per subset, the voxel sensitivity Aₛᵀ·m (m = the mask of valid rays) and its reciprocal
      (0 where a voxel is seen by no valid ray). Kept in memory when they fit in
      :data:`SENSITIVITY_MEMORY_BYTES`, otherwise recomputed when needed.

    Parameters
    ----------
    projector
        The projector pair.
    subsets : list of int arrays
        View subsets.
    ray_min_mm : float
        Rays with A·1 <= this length (mm) are ignored.
    progress, cancel
        Passed through while precomputing.
    """

    def __init__(self, projector, subsets, *, ray_min_mm: float, cancel=None):
        grid = projector.grid
        self.projector = projector
        self.subsets = subsets
        ones = np.ones(grid.shape, dtype=np.float32)
        a1 = projector.forward(ones)
        del ones
        check_cancel(cancel)
        valid = a1 > np.float32(ray_min_mm)
        if not valid.any():
            raise ValueError(
                f"no ray crosses at least {ray_min_mm:g} mm of the grid: the grid does not lie in the beam"
            )
        # reuse a1's memory for the weights
        np.divide(np.float32(1.0), a1, out=a1, where=valid)
        a1[~valid] = 0.0
        self.ray_weight = a1
        self.ray_valid = valid
        nbytes = len(subsets) * grid.n_voxels * 4
        self._store = nbytes <= SENSITIVITY_MEMORY_BYTES
        self._inv_sens: list[np.ndarray | None] = [None] * len(subsets)
        if self._store:
            for s in range(len(subsets)):
                check_cancel(cancel)
                self._inv_sens[s] = self._compute(s)

    def _compute(self, s: int) -> np.ndarray:
        views = self.subsets[s]
        sens = self.projector.back(self.ray_valid[views].astype(np.float32), views=views)
        tiny = np.float32(1e-6) * np.float32(max(float(sens.max()), 1e-30))
        seen = sens > tiny
        np.divide(np.float32(1.0), sens, out=sens, where=seen)
        sens[~seen] = 0.0
        return sens

    def inv_sensitivity(self, s: int) -> np.ndarray:
        """1 / (Aₛᵀ·m) for subset ``s`` (0 where unseen)."""
        if self._store:
            return self._inv_sens[s]
        return self._compute(s)


# no fastmath: the bounds may be +-inf
@njit(cache=True, parallel=True)
def _additive_update(x, upd, inv_sens, lam, lo, hi):  # pragma: no cover - numba
    xf = x.reshape(-1)
    uf = upd.reshape(-1)
    sf = inv_sens.reshape(-1)
    n = xf.size
    block = 65536
    for b in prange((n + block - 1) // block):
        for i in range(b * block, min(n, (b + 1) * block)):
            v = xf[i] + lam * uf[i] * sf[i]
            xf[i] = min(max(v, lo), hi)


@njit(cache=True, parallel=True, fastmath=True)
def _multiplicative_update(x, upd, inv_sens):  # pragma: no cover - numba
    xf = x.reshape(-1)
    uf = upd.reshape(-1)
    sf = inv_sens.reshape(-1)
    n = xf.size
    block = 65536
    for b in prange((n + block - 1) // block):
        for i in range(b * block, min(n, (b + 1) * block)):
            xf[i] = xf[i] * uf[i] * sf[i]


def additive_update(x, upd, inv_sens, relaxation, lower, upper) -> None:
    """In place, in one pass: ``x = clamp(x + relaxation * upd * inv_sens, lower, upper)``."""
    lo = np.float32(-np.inf if lower is None else lower)
    hi = np.float32(np.inf if upper is None else upper)
    _additive_update(x, upd, inv_sens, np.float32(relaxation), lo, hi)


def multiplicative_update(x, upd, inv_sens) -> None:
    """In place, in one pass: ``x = x * upd * inv_sens``."""
    _multiplicative_update(x, upd, inv_sens)


def clamp(x: np.ndarray, lower: float | None, upper: float | None) -> None:
    """Clamp in place TO the bounds (values below ``lower`` become ``lower``, not 0)."""
    if lower is not None or upper is not None:
        np.clip(x, lower, upper, out=x)


def report(progress, done: int, total: int, message: str) -> None:
    if progress is not None:
        progress(done, total, message)
