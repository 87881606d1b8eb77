"""Back projection in slabs of slices, into reused buffers.

The projectors of :mod:`recon.projectors` are exact per slice (a voxel's footprint depends only
on its own slice), so the back projection onto the slices ``k0:k1`` of a grid equals the back
projection onto a grid made of those slices alone. :class:`SlabBack` keeps one projector per
slab and one or two slab-size buffers, so a method needs a slab of back projection at a time
instead of a whole volume, and no volume is allocated per update.
"""

from __future__ import annotations

import numpy as np

from recon.types import VolumeGrid

__all__ = ["SlabBack", "can_split", "slab_grid"]


def can_split(projector) -> bool:
    """Whether ``projector`` is one of ours, so that slab projectors can be made like it."""
    from recon.projectors import BACKENDS
    from recon.projectors.base import Projector

    return isinstance(projector, Projector) and getattr(projector, "backend", None) in BACKENDS


def slab_grid(grid: VolumeGrid, k0: int, k1: int) -> VolumeGrid:
    """The grid of slices ``k0:k1`` of ``grid``."""
    dz = grid.voxel_mm[0]
    return VolumeGrid(
        shape=(k1 - k0, grid.shape[1], grid.shape[2]),
        voxel_mm=grid.voxel_mm,
        origin_mm=(grid.origin_mm[0] + k0 * dz, grid.origin_mm[1], grid.origin_mm[2]),
    )


class SlabBack:
    """Back projections of a projector in slabs of ``slices`` slices.

    Parameters
    ----------
    projector
        The projector of the whole grid (used as is when ``slices >= nz``).
    geometry, grid
        Its geometry and grid.
    slices : int
        Slices per slab.
    buffers : int
        Slab-size float32 buffers kept (1, or 2 when sensitivities are recomputed).
    workspace : float32 1-D array, optional
        Memory to carve the buffers from (shared with other steps); allocated when missing
        or too small.
    """

    def __init__(self, projector, geometry, grid: VolumeGrid, *, slices: int, buffers: int = 1, workspace=None):
        nz, ny, nx = grid.shape
        slices = max(1, min(int(slices), nz))
        if slices >= nz:
            self.pieces = [(0, nz, projector)]
        else:
            from recon.projectors import make_projector

            self.pieces = []
            for k0 in range(0, nz, slices):
                k1 = min(nz, k0 + slices)
                sub = make_projector(geometry, slab_grid(grid, k0, k1), backend=projector.backend)
                self.pieces.append((k0, k1, sub))
        self.slices = slices
        n = slices * ny * nx
        if workspace is None or workspace.size < buffers * n:
            workspace = np.empty(buffers * n, np.float32)
        self._bufs = [workspace[i * n : (i + 1) * n].reshape(slices, ny, nx) for i in range(buffers)]

    def back(self, piece: int, data: np.ndarray, views, *, buffer: int = 0, out: np.ndarray | None = None):
        """Back projection of ``data`` (one frame per view of ``views``) onto slab ``piece``.

        Written into ``out`` (C-contiguous float32, the slab's shape) when given, else into
        buffer ``buffer``; returns that array (a buffer is valid until its next use).
        """
        k0, k1, proj = self.pieces[piece]
        if out is None:
            out = self._bufs[buffer][: k1 - k0]
        return proj.back(data, views=views, out=out)

    def release(self) -> None:
        """Drop the buffers and the slab projectors."""
        self._bufs = []
        self.pieces = []
