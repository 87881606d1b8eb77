"""The projector interface shared by every backend, with its input checks."""

from __future__ import annotations

import numpy as np

from recon.geometry import Geometry
from recon.types import VolumeGrid

__all__ = ["Projector"]


class Projector:
    """A matched pair: forward projection ``A`` and its exact adjoint ``A^T``.

    Attributes
    ----------
    geometry : Geometry
        The acquisition geometry.
    grid : VolumeGrid
        The voxel grid.
    n_views : int
        Number of views of the geometry.
    backend : str
        Name of the implementation ("separable" or "general").

    Notes
    -----
    ``forward`` returns line integrals: the sum over voxels of attenuation [1/mm] times the
    path length [mm] of the ray through each detector pixel centre. ``back`` is the exact
    transpose of ``forward`` (``<A x, y> = <x, A^T y>`` up to float32 rounding).
    """

    backend = "abstract"

    def __init__(self, geometry: Geometry, grid: VolumeGrid):
        if not isinstance(geometry, Geometry):
            raise TypeError(f"geometry must be a recon.Geometry, got {type(geometry).__name__}")
        if not isinstance(grid, VolumeGrid):
            raise TypeError(f"grid must be a recon.VolumeGrid, got {type(grid).__name__}")
        self.geometry = geometry
        self.grid = grid
        self.n_views = geometry.n_views

    # -- validation ---------------------------------------------------------------------
    def _views(self, views) -> np.ndarray:
        if views is None:
            return np.arange(self.n_views, dtype=np.int64)
        idx = np.asarray(views)
        if idx.ndim == 0:
            idx = idx.reshape(1)
        if idx.ndim != 1 or idx.size == 0:
            raise ValueError(f"views must be a non-empty sequence of view indices, got {views!r}")
        if not np.issubdtype(idx.dtype, np.integer):
            raise TypeError(f"views must be integers, got dtype {idx.dtype}")
        if idx.min() < 0 or idx.max() >= self.n_views:
            raise ValueError(f"views must lie in 0..{self.n_views - 1}, got {idx.min()}..{idx.max()}")
        return idx.astype(np.int64)

    def _check_volume(self, volume) -> np.ndarray:
        if not isinstance(volume, np.ndarray):
            raise TypeError(f"volume must be a numpy array, got {type(volume).__name__}")
        if volume.dtype != np.float32:
            raise TypeError(f"volume must be float32, got {volume.dtype}")
        if volume.shape != self.grid.shape:
            raise ValueError(f"volume has shape {volume.shape}, the grid is {self.grid.shape}")
        return np.ascontiguousarray(volume)

    def _check_projections(self, projections, n: int) -> np.ndarray:
        if not isinstance(projections, np.ndarray):
            raise TypeError(f"projections must be a numpy array, got {type(projections).__name__}")
        if projections.dtype != np.float32:
            raise TypeError(f"projections must be float32, got {projections.dtype}")
        want = (n, *self.geometry.detector_shape)
        if projections.shape != want:
            raise ValueError(f"projections have shape {projections.shape}, expected {want}")
        return np.ascontiguousarray(projections)

    # -- interface ----------------------------------------------------------------------
    def forward(self, volume: np.ndarray, *, views=None) -> np.ndarray:
        """Forward-project a volume.

        Parameters
        ----------
        volume : float32 array (nz, ny, nx)
            Attenuation in 1/mm on ``grid``.
        views : sequence of int, optional
            View indices (an ordered subset); default all views.

        Returns
        -------
        float32 array (len(views), nv, nu)
            Line integrals (dimensionless).
        """
        raise NotImplementedError

    def back(self, projections: np.ndarray, *, views=None, out: np.ndarray | None = None) -> np.ndarray:
        """Back-project projections with the exact adjoint of :meth:`forward`.

        Parameters
        ----------
        projections : float32 array (len(views), nv, nu)
            One frame per requested view, in the order of ``views``.
        views : sequence of int, optional
            View indices; default all views.
        out : float32 array (nz, ny, nx), optional
            Overwritten with the result and returned (saves allocating a volume per call).

        Returns
        -------
        float32 array (nz, ny, nx)
        """
        raise NotImplementedError

    def _out_volume(self, out) -> np.ndarray:
        if out is None:
            return np.zeros(self.grid.shape, dtype=np.float32)
        if not isinstance(out, np.ndarray) or out.dtype != np.float32 or out.shape != self.grid.shape:
            raise ValueError(f"out must be a float32 array of shape {self.grid.shape}")
        if not out.flags.c_contiguous or not out.flags.writeable:
            raise ValueError("out must be C-contiguous and writeable")
        out.fill(0.0)
        return out

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(backend={self.backend!r}, views={self.n_views}, "
            f"detector={self.geometry.detector_shape}, grid={self.grid.shape})"
        )
