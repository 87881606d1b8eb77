"""Shared plumbing of the iterative methods: input checks, option validation, view subsets, and
the set-up of a run (projector, memory plan, slab back projection, normalisations)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from recon.errors import check_cancel
from recon.geometry import Geometry
from recon.iterative import _memory
from recon.iterative._normalise import Normalisation
from recon.iterative._slabs import SlabBack, can_split
from recon.types import VolumeGrid


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


def check_x0(method: str, x0, grid: VolumeGrid):
    """Check a starting volume (None allowed); return it unchanged."""
    if x0 is None:
        return None
    if not isinstance(x0, np.ndarray):
        raise TypeError(f"{method}: x0 must be a numpy array, got {type(x0).__name__}")
    if x0.shape != grid.shape:
        raise ValueError(f"{method}: x0 has shape {x0.shape}, the grid is {grid.shape}")
    if not np.all(np.isfinite(x0)):
        raise ValueError(f"{method}: x0 contains non-finite values")
    return x0


def memory_option(method: str, memory_bytes) -> int:
    """The memory budget in bytes (default :data:`recon.iterative._memory.MEMORY_BUDGET_BYTES`)."""
    if memory_bytes is None:
        return _memory.MEMORY_BUDGET_BYTES
    return int_option(method, "memory_bytes", memory_bytes)


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
# set-up of a run
# --------------------------------------------------------------------------------------
@dataclass
class Run:
    """What a method works with: the volume, the projector, the subsets, the plan, the normalisations."""

    x: np.ndarray
    projector: object
    subsets: list
    plan: _memory.MemoryPlan
    norm: Normalisation
    workspace: np.ndarray


def start_run(
    method: str,
    geometry: Geometry,
    grid: VolumeGrid,
    *,
    projector,
    subsets: int,
    ray_min_mm: float,
    x0,
    fill: float,
    memory_bytes: int,
    cancel,
    tv_iterations: int | None = None,
    tv_components: int = 3,
) -> Run:
    """Projector, view subsets, memory plan, slab back projection, normalisations and the start volume.

    ``x0`` (checked with :func:`check_x0`) is copied into the working volume, else it is filled
    with ``fill``. The working volume is first used to compute A·1 (no extra volume).
    """
    proj = get_projector(method, projector, geometry, grid)
    sets = make_subsets(geometry.n_views, subsets)
    plan = _memory.plan_memory(
        grid_shape=grid.shape,
        detector_shape=geometry.detector_shape,
        n_views=geometry.n_views,
        subset_sizes=[len(v) for v in sets],
        budget_bytes=memory_bytes,
        tv_iterations=tv_iterations,
        tv_components=tv_components,
        can_split=can_split(proj),
    )
    check_cancel(cancel)
    workspace = np.empty(plan.workspace_floats, np.float32)
    slabs = SlabBack(
        proj,
        geometry,
        grid,
        slices=plan.back_slices,
        buffers=2 if plan.sensitivity == "recompute" else 1,
        workspace=workspace,
    )
    x = np.empty(grid.shape, np.float32)
    norm = Normalisation(proj, slabs, sets, ray_min_mm=ray_min_mm, sensitivity=plan.sensitivity, work=x, cancel=cancel)
    if x0 is None:
        x.fill(fill)
    else:
        np.copyto(x, x0, casting="unsafe")
    return Run(x=x, projector=proj, subsets=sets, plan=plan, norm=norm, workspace=workspace)


def clamp(x: np.ndarray, lower: float | None, upper: float | None) -> None:
    """Clamp in place TO the bounds (values below ``lower`` become ``lower``, not 0)."""
    if lower is not None or upper is not None:
        np.clip(x, lower, upper, out=x)


def report(progress, done: int, total: int, message: str) -> None:
    if progress is not None:
        progress(done, total, message)
