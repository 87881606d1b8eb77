"""SART, OS-SART and SIRT: additive algebraic reconstruction with per-ray and per-voxel normalisation.

For a subset S of views, with y the measured line integrals, A the forward projector,
m the mask of valid rays (intersection length with the grid > ``ray_min_mm``)::

    x <- clamp( x + relaxation * A_Sᵀ( m (y_S - A_S x) / (A_S 1) ) / (A_Sᵀ m) , lower, upper )

SART takes one view per subset, SIRT all views in one subset, OS-SART a few interleaved
subsets (recon.md section 4.2). ``A·1`` (per ray) is computed once per call, ``A_Sᵀ m`` (per
voxel and subset) once or with every update, and the back projection is applied in slabs of
slices, as the memory plan says (:mod:`recon.iterative._memory`). The per-voxel normalisation
is what keeps deep and shallow slices at the same gain (the depth darkening of TIGRE #160
comes from normalising by a global constant instead). Clamping sets out-of-range values TO
the bound.
"""

from __future__ import annotations

import numpy as np

from recon.errors import check_cancel
from recon.iterative import _common as C
from recon.iterative._normalise import residual, update_subset

__all__ = ["sart", "os_sart", "sirt", "os_sart_engine"]


def os_sart_engine(
    method: str,
    projections: np.ndarray,
    geometry,
    grid,
    *,
    projector,
    iterations: int,
    subsets: int,
    relaxation: float,
    lower: float | None,
    upper: float | None,
    ray_min_mm: float | None,
    x0,
    progress,
    cancel,
    memory_bytes: int | None = None,
    after_iteration=None,
    tv_iterations: int | None = None,
    tv_components: int = 3,
) -> np.ndarray:
    """The shared loop of SART / OS-SART / SIRT (and the data step of the TV method).

    ``after_iteration(x, iteration, run)`` (optional) is called after each full pass over the
    subsets, with the volume to modify in place and the :class:`recon.iterative._common.Run`
    (memory plan, work space); its returned string (or None) is appended to the progress
    message. ``tv_iterations`` and ``tv_components`` tell the
    memory plan about the TV step.
    """
    y = C.check_inputs(method, projections, geometry, grid)
    iterations = C.int_option(method, "iterations", iterations)
    subsets = C.int_option(method, "subsets", subsets)
    if subsets > geometry.n_views:
        raise ValueError(f"{method}: subsets must be <= the number of views ({geometry.n_views}), got {subsets}")
    relaxation = C.float_option(method, "relaxation", relaxation, maximum=2.0)
    if relaxation >= 2.0:
        raise ValueError(f"{method}: relaxation must be < 2 for convergence, got {relaxation}")
    lower, upper = C.bounds_option(method, lower, upper)
    ray_min = (
        C.default_ray_min_mm(grid)
        if ray_min_mm is None
        else C.float_option(method, "ray_min_mm", ray_min_mm, minimum=0.0, open_min=False)
    )
    progress = C.callable_option(method, "progress", progress)
    cancel = C.cancel_option(method, cancel)
    x0 = C.check_x0(method, x0, grid)
    budget = C.memory_option(method, memory_bytes)
    check_cancel(cancel)
    run = C.start_run(
        method,
        geometry,
        grid,
        projector=projector,
        subsets=subsets,
        ray_min_mm=ray_min,
        x0=x0,
        fill=0.0,
        memory_bytes=budget,
        cancel=cancel,
        tv_iterations=tv_iterations,
        tv_components=tv_components,
    )
    x, proj, sets, norm = run.x, run.projector, run.subsets, run.norm
    C.clamp(x, lower, upper)
    total = iterations * len(sets)
    done = 0
    for it in range(iterations):
        for s, views in enumerate(sets):
            check_cancel(cancel)
            r = proj.forward(x, views=views)
            residual(y, r, norm.ray_weight, views)
            update_subset(x, r, s, norm, relaxation=relaxation, lower=lower, upper=upper)
            del r
            done += 1
            if s < len(sets) - 1:
                C.report(
                    progress, done, total, f"{method}: iteration {it + 1}/{iterations}, subset {s + 1}/{len(sets)}"
                )
        extra = None
        if after_iteration is not None:
            check_cancel(cancel)
            extra = after_iteration(x, it, run)
        msg = f"{method}: iteration {it + 1}/{iterations}" + (f" ({extra})" if extra else "")
        C.report(progress, done, total, msg)
    return x


def sart(
    projections: np.ndarray,
    geometry,
    grid,
    *,
    projector=None,
    iterations: int = 4,
    relaxation: float = 0.5,
    lower: float | None = 0.0,
    upper: float | None = None,
    ray_min_mm: float | None = None,
    progress=None,
    cancel=None,
    x0=None,
    memory_bytes: int | None = None,
) -> np.ndarray:
    """SART: one view at a time, views visited in an order that spreads the angles.

    Parameters
    ----------
    projections : float32 array (views, nv, nu)
        Line integrals.
    geometry : Geometry
    grid : VolumeGrid
    projector : Projector, optional
        A matched pair for (geometry, grid); default ``recon.projectors.make_projector``.
    iterations : int
        Full passes over all views (default 4).
    relaxation : float
        Step factor in (0, 2) (default 0.5: per-view updates over-fit noise at 1).
    lower, upper : float or None
        Bounds applied after every update (default non-negativity: ``lower=0``); values are set
        TO the bound.
    ray_min_mm : float, optional
        Rays crossing less than this length of the grid are ignored (default
        ``min(5 dz, thickness / 2)``, as ReconDBT).
    progress : callable(done, total, message), optional
        Called after every view.
    cancel : object with is_set(), optional
        Checked before every view; raises :class:`recon.errors.Cancelled`.
    x0 : array (nz, ny, nx), optional
        Starting volume (default zeros). Not modified.
    memory_bytes : int, optional
        Memory budget of the whole process (default 3 GB,
        :data:`recon.iterative._memory.MEMORY_BUDGET_BYTES`): the memory plan
        (:func:`recon.iterative._memory.plan_memory`) splits the back projection into slabs and
        stores or recomputes the sensitivities so that the estimate fits.

    Returns
    -------
    float32 array (nz, ny, nx)
        Linear attenuation, 1/mm.
    """
    return os_sart_engine(
        "sart",
        projections,
        geometry,
        grid,
        projector=projector,
        iterations=iterations,
        subsets=geometry.n_views if hasattr(geometry, "n_views") else 1,
        relaxation=relaxation,
        lower=lower,
        upper=upper,
        ray_min_mm=ray_min_mm,
        x0=x0,
        progress=progress,
        cancel=cancel,
        memory_bytes=memory_bytes,
    )


def default_subsets(n_views: int) -> int:
    """Default OS-SART subset count: about three views per subset."""
    return max(1, min(n_views, round(n_views / 3)))


def os_sart(
    projections: np.ndarray,
    geometry,
    grid,
    *,
    projector=None,
    iterations: int = 5,
    subsets: int | None = None,
    relaxation: float = 0.8,
    lower: float | None = 0.0,
    upper: float | None = None,
    ray_min_mm: float | None = None,
    progress=None,
    cancel=None,
    x0=None,
    memory_bytes: int | None = None,
) -> np.ndarray:
    """OS-SART: the SART update over interleaved subsets of views.

    Parameters are those of :func:`sart`, plus

    subsets : int, optional
        Number of subsets (default about three views per subset: 3 for 9 views, 8 for 25).
        Subset ``s`` holds views ``s, s + n, ...``.

    Defaults: 5 iterations, relaxation 0.8.
    """
    n = subsets if subsets is not None else default_subsets(getattr(geometry, "n_views", 1))
    return os_sart_engine(
        "os-sart",
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
        memory_bytes=memory_bytes,
    )


def sirt(
    projections: np.ndarray,
    geometry,
    grid,
    *,
    projector=None,
    iterations: int = 20,
    relaxation: float = 1.0,
    lower: float | None = 0.0,
    upper: float | None = None,
    ray_min_mm: float | None = None,
    progress=None,
    cancel=None,
    x0=None,
    memory_bytes: int | None = None,
) -> np.ndarray:
    """SIRT: the SART update with all views at once (one subset).

    Converges (for 0 < relaxation < 2) to a weighted least-squares solution within the bounds,
    but slowly: default 20 iterations, relaxation 1. Other parameters as :func:`sart`.
    """
    return os_sart_engine(
        "sirt",
        projections,
        geometry,
        grid,
        projector=projector,
        iterations=iterations,
        subsets=1,
        relaxation=relaxation,
        lower=lower,
        upper=upper,
        ray_min_mm=ray_min_mm,
        x0=x0,
        progress=progress,
        cancel=cancel,
        memory_bytes=memory_bytes,
    )
