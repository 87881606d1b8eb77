"""Matched forward/back projector pairs (Numba, float32).

Use :func:`make_projector`; every backend has the interface of :class:`Projector`::

    proj = make_projector(geometry, grid)
    sino = proj.forward(volume)              # (views, nv, nu) line integrals
    vol = proj.back(sino)                    # (nz, ny, nx), the exact adjoint
    part = proj.forward(volume, views=[0, 4])
"""

from __future__ import annotations

from recon.geometry import Geometry
from recon.projectors.base import Projector
from recon.projectors.general import GeneralProjector
from recon.projectors.separable import SeparableProjector
from recon.types import VolumeGrid

__all__ = ["BACKENDS", "GeneralProjector", "Projector", "SeparableProjector", "make_projector"]

BACKENDS = ("auto", "separable", "general")


def make_projector(geometry: Geometry, grid: VolumeGrid, *, backend: str = "auto") -> Projector:
    """The matched projector pair for a geometry and a voxel grid.

    Parameters
    ----------
    geometry : Geometry
        Acquisition geometry.
    grid : VolumeGrid
        Voxel grid.
    backend : {"auto", "separable", "general"}
        "separable": the fast path for a stationary flat detector (slab-integrated,
        separable); "general": any detector pose (tilted detector, Hologic), through a
        virtual flat plane; "auto" picks "separable" when ``geometry.is_stationary_flat``.

    Returns
    -------
    Projector
    """
    if not isinstance(geometry, Geometry):
        raise TypeError(f"geometry must be a recon.Geometry, got {type(geometry).__name__}")
    if not isinstance(grid, VolumeGrid):
        raise TypeError(f"grid must be a recon.VolumeGrid, got {type(grid).__name__}")
    if backend not in BACKENDS:
        raise ValueError(f"unknown projector backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "auto":
        backend = "separable" if geometry.is_stationary_flat else "general"
    if backend == "separable":
        return SeparableProjector(geometry, grid)
    return GeneralProjector(geometry, grid)
