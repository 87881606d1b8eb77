"""MLEM and OSEM: multiplicative expectation-maximisation updates on line integrals.

For a subset S of views (all views for MLEM), with m the mask of valid rays::

    x <- x * A_Sᵀ( m * y_S / (A_S x) ) / (A_Sᵀ m)

This is the emission-tomography EM update applied to the line integrals y = -log(I/I0) as if
they were Poisson counts: the usual "transmission approximation" of DBT toolboxes
(LAVI/pyDBT ``MLEM``; recon.md section 4.2). It keeps x >= 0 by construction and leaves a
voxel at 0 once it is 0. Negative line integrals (noise in nearly unattenuated rays) are
treated as 0. The start is a constant volume of ones; since the first update is
scale-invariant, any positive constant gives the same result.
"""

from __future__ import annotations

import numpy as np

from recon.errors import check_cancel
from recon.iterative import _common as C
from recon.iterative._normalise import em_ratio, update_subset

__all__ = ["mlem", "osem"]

_TINY = np.float32(1e-12)


def _em(
    method,
    projections,
    geometry,
    grid,
    *,
    projector,
    iterations,
    subsets,
    ray_min_mm,
    x0,
    progress,
    cancel,
    memory_bytes=None,
) -> np.ndarray:
    y = C.check_inputs(method, projections, geometry, grid)
    iterations = C.int_option(method, "iterations", iterations)
    subsets = C.int_option(method, "subsets", subsets)
    if subsets > geometry.n_views:
        raise ValueError(f"{method}: subsets must be <= the number of views ({geometry.n_views}), got {subsets}")
    ray_min = (
        C.default_ray_min_mm(grid)
        if ray_min_mm is None
        else C.float_option(method, "ray_min_mm", ray_min_mm, minimum=0.0, open_min=False)
    )
    progress = C.callable_option(method, "progress", progress)
    cancel = C.cancel_option(method, cancel)
    x0 = C.check_x0(method, x0, grid)
    if x0 is not None and np.any(x0 < 0):
        raise ValueError(f"{method}: x0 must be non-negative")
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
        fill=1.0,
        memory_bytes=budget,
        cancel=cancel,
    )
    x, proj, sets, norm = run.x, run.projector, run.subsets, run.norm
    total = iterations * len(sets)
    done = 0
    for it in range(iterations):
        for s, views in enumerate(sets):
            check_cancel(cancel)
            r = proj.forward(x, views=views)
            em_ratio(y, r, norm.ray_weight, views, _TINY)
            update_subset(x, r, s, norm)
            del r
            done += 1
            C.report(progress, done, total, f"{method}: iteration {it + 1}/{iterations}, subset {s + 1}/{len(sets)}")
    return x


def mlem(
    projections: np.ndarray,
    geometry,
    grid,
    *,
    projector=None,
    iterations: int = 20,
    ray_min_mm: float | None = None,
    progress=None,
    cancel=None,
    x0=None,
    memory_bytes: int | None = None,
) -> np.ndarray:
    """MLEM: the EM update with all views at once, from a volume of ones.

    Parameters
    ----------
    projections : float32 array (views, nv, nu)
        Line integrals.
    geometry : Geometry
    grid : VolumeGrid
    projector : Projector, optional
        A matched pair for (geometry, grid); default ``recon.projectors.make_projector``.
    iterations : int
        Number of updates (default 20).
    ray_min_mm : float, optional
        Rays crossing less than this length of the grid are ignored (default
        ``min(5 dz, thickness / 2)``).
    progress : callable(done, total, message), optional
        Called after every update.
    cancel : object with is_set(), optional
        Checked before every update; raises :class:`recon.errors.Cancelled`.
    x0 : array (nz, ny, nx), optional
        Non-negative start (default ones). Not modified.
    memory_bytes : int, optional
        Memory budget of the whole process (default 3 GB), as in :func:`recon.iterative.sart.sart`.

    Returns
    -------
    float32 array (nz, ny, nx), >= 0
    """
    return _em(
        "mlem",
        projections,
        geometry,
        grid,
        projector=projector,
        iterations=iterations,
        subsets=1,
        ray_min_mm=ray_min_mm,
        x0=x0,
        progress=progress,
        cancel=cancel,
        memory_bytes=memory_bytes,
    )


def osem(
    projections: np.ndarray,
    geometry,
    grid,
    *,
    projector=None,
    iterations: int = 5,
    subsets: int | None = None,
    ray_min_mm: float | None = None,
    progress=None,
    cancel=None,
    x0=None,
    memory_bytes: int | None = None,
) -> np.ndarray:
    """OSEM: the EM update over interleaved subsets of views (see :func:`mlem`).

    subsets : int, optional
        Number of subsets (default about three views per subset). Default 5 iterations.
    """
    from recon.iterative.sart import default_subsets

    n = subsets if subsets is not None else default_subsets(getattr(geometry, "n_views", 1))
    return _em(
        "osem",
        projections,
        geometry,
        grid,
        projector=projector,
        iterations=iterations,
        subsets=n,
        ray_min_mm=ray_min_mm,
        x0=x0,
        progress=progress,
        cancel=cancel,
        memory_bytes=memory_bytes,
    )
