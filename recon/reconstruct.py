"""One entry point for every reconstruction method: :func:`reconstruct`."""

from __future__ import annotations

import inspect

import numpy as np

from recon.geometry import Geometry
from recon.types import ProjectionSet, Volume, VolumeGrid

__all__ = ["FBP_OPTIONS", "available_methods", "preview_grid", "reconstruct"]

FBP_OPTIONS = ("window", "cutoff", "slice_thickness_mm", "chunk_slices", "workers", "projector")


def available_methods() -> list[str]:
    """Method names accepted by :func:`reconstruct`: "fbp" and the iterative methods."""
    from recon.iterative import METHODS

    return ["fbp", *METHODS]


def preview_grid(grid: VolumeGrid, *, slice_mm: float = 2.0, factor: int = 2) -> VolumeGrid:
    """The grid of a quick preview: the same extent with ``factor`` x coarser pixels and ``slice_mm`` slices."""
    nz, ny, nx = grid.shape
    dz, dy, dx = grid.voxel_mm
    z_lo = grid.origin_mm[0] - dz / 2
    thick = nz * dz
    nzp = max(1, int(round(thick / slice_mm)))
    dzp = thick / nzp
    nyp, nxp = max(1, ny // factor), max(1, nx // factor)
    dyp, dxp = dy * factor, dx * factor
    y_lo, x_lo = grid.origin_mm[1] - dy / 2, grid.origin_mm[2] - dx / 2
    return VolumeGrid(
        shape=(nzp, nyp, nxp),
        voxel_mm=(dzp, dyp, dxp),
        origin_mm=(z_lo + dzp / 2, y_lo + dyp / 2, x_lo + dxp / 2),
    )


def _check_options(method: str, func, options: dict, allowed: tuple[str, ...] | None = None) -> None:
    if allowed is None:
        sig = inspect.signature(func)
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()):
            return
        allowed = tuple(
            n
            for n, p in sig.parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and n not in ("progress", "cancel")
        )
    bad = sorted(set(options) - set(allowed))
    if bad:
        raise ValueError(
            f"reconstruct: option {bad[0]!r} is not known to method {method!r}; "
            f"it accepts {', '.join(allowed) or 'none'}"
        )


def reconstruct(
    projections,
    geometry: Geometry | None = None,
    grid: VolumeGrid | None = None,
    *,
    method: str = "fbp",
    preview: bool = False,
    progress=None,
    cancel=None,
    **options,
) -> Volume:
    """Reconstruct a volume from line-integral projections.

    Parameters
    ----------
    projections : float32 array (views, nv, nu) or ProjectionSet
        Line integrals; a ProjectionSet of raw signal is converted with
        :func:`recon.preprocess.preprocess_projection_set` first.
    geometry : Geometry, optional
        Required for an array; default the ProjectionSet's.
    grid : VolumeGrid
        Output grid (see :meth:`recon.VolumeGrid.for_geometry`). Optional only when the
        ProjectionSet's metadata holds ``thickness_mm`` (then the default grid is used).
    method : str
        "fbp" or a name in ``recon.iterative.METHODS`` (sart, os-sart, sirt, mlem, osem, tv).
    preview : bool
        Quick look: 2x2-binned projections onto :func:`preview_grid` (2 mm slices, pixels twice
        as large); the returned volume carries that grid.
    progress : callable, optional
        ``progress(done, total, message)``.
    cancel : object with ``is_set()``, optional
        Cancellation flag; :class:`recon.errors.Cancelled` is raised when set.
    **options
        Method options: for "fbp" ``window``, ``cutoff``, ``slice_thickness_mm``,
        ``chunk_slices``, ``workers``, ``projector`` (see :func:`recon.fbp.fbp`); for the
        iterative methods see their functions (``iterations``, ``relaxation``, ...).

    Returns
    -------
    Volume
        float32 (nz, ny, nx) in 1/mm with its grid; ``metadata`` records the method and options.
    """
    exposure = None
    meta: dict = {}
    if isinstance(projections, ProjectionSet):
        from recon.preprocess import preprocess_projection_set

        pset = preprocess_projection_set(projections)
        data = pset.data
        geometry = geometry or pset.geometry
        exposure = pset.exposure_mas
        meta = dict(pset.metadata)
    elif isinstance(projections, np.ndarray):
        data = projections
    else:
        raise TypeError(
            f"reconstruct: projections must be a float32 array or a ProjectionSet, got {type(projections).__name__}"
        )
    if data.dtype != np.float32:
        raise TypeError(f"reconstruct: projections must be float32, got {data.dtype}")
    if not isinstance(geometry, Geometry):
        raise TypeError("reconstruct: a recon.Geometry is needed (none given and projections are a plain array)")
    if data.ndim != 3 or data.shape != (geometry.n_views, *geometry.detector_shape):
        raise ValueError(
            f"reconstruct: projections have shape {data.shape}, the geometry expects "
            f"{(geometry.n_views, *geometry.detector_shape)}"
        )
    if grid is None:
        thick = meta.get("thickness_mm")
        if thick is None:
            raise ValueError("reconstruct: give a VolumeGrid (or a ProjectionSet with metadata['thickness_mm'])")
        grid = VolumeGrid.for_geometry(geometry, float(thick))
    if not isinstance(grid, VolumeGrid):
        raise TypeError(f"reconstruct: grid must be a recon.VolumeGrid, got {type(grid).__name__}")
    if not isinstance(method, str):
        raise TypeError("reconstruct: method must be a string")
    method = method.lower()

    if preview:
        from recon.preprocess import bin_projections

        data = bin_projections(data, 2)
        geometry = geometry.binned(2)
        grid = preview_grid(grid)
        options.pop("projector", None)

    if method == "fbp":
        from recon.fbp import fbp

        _check_options(method, fbp, options, FBP_OPTIONS)
        vol = fbp(data, geometry, grid, progress=progress, cancel=cancel, **options)
    else:
        from recon.iterative import METHODS

        func = METHODS.get(method)
        if func is None:
            raise ValueError(f"reconstruct: unknown method {method!r}; choose one of {', '.join(available_methods())}")
        _check_options(method, func, options)
        if exposure is not None and "exposure_mas" in inspect.signature(func).parameters:
            options.setdefault("exposure_mas", exposure)
        vol = func(data, geometry, grid, progress=progress, cancel=cancel, **options)
    vol = np.asarray(vol)
    if vol.dtype != np.float32 or vol.shape != grid.shape:
        raise RuntimeError(
            f"reconstruct: method {method!r} returned {vol.dtype} {vol.shape}, expected float32 {grid.shape}"
        )
    recorded = {k: v for k, v in options.items() if k != "projector" and (np.isscalar(v) or v is None)}
    return Volume(
        data=vol,
        grid=grid,
        metadata={"method": method, "options": recorded, "preview": bool(preview), "source": meta},
    )
