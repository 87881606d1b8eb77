"""Shift-and-add planes: the quickest tomosynthesis reconstruction, for QC previews and tests.

Each plane at height z is the average over views of the line integrals sampled where the
plane's points project (bilinear interpolation). Objects in the plane add up in register;
everything else is smeared along the tube motion. No filtering: contrast is low-pass but
unbiased, which is what object scoring against noise needs.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from recon.geometry import Geometry
from recon.types import Volume, VolumeGrid

__all__ = ["shift_and_add"]


def shift_and_add(line_integrals: np.ndarray, geometry: Geometry, grid: VolumeGrid) -> Volume:
    """Shift-and-add reconstruction of the planes of ``grid``.

    Parameters
    ----------
    line_integrals : float32 array (views, rows, columns)
    geometry : Geometry
    grid : VolumeGrid
        Planes (slices) and in-plane sampling of the result.

    Returns
    -------
    Volume
        Mean line integral per view through each point, divided by the slab's nominal path
        (the slice spacing) is not applied: units are line integrals (dimensionless).
    """
    li = np.asarray(line_integrals)
    if li.ndim != 3 or li.shape[0] != geometry.n_views or li.shape[1:] != geometry.detector_shape:
        raise ValueError(f"shift_and_add: projections of shape {li.shape} do not match the geometry")
    if not isinstance(grid, VolumeGrid):
        raise TypeError("shift_and_add: grid must be a recon.VolumeGrid")
    nz, ny, nx = grid.shape
    yy, xx = np.meshgrid(grid.y_mm, grid.x_mm, indexing="ij")
    out = np.zeros(grid.shape, np.float64)
    for k, z in enumerate(grid.z_mm):
        pts = np.stack([xx.ravel(), yy.ravel(), np.full(xx.size, z)], axis=1)
        rc = geometry.project_points(pts)  # (views, N, 2)
        acc = np.zeros(xx.size)
        for v in range(geometry.n_views):
            acc += ndimage.map_coordinates(li[v], rc[v].T, order=1, mode="nearest")
        out[k] = (acc / geometry.n_views).reshape(ny, nx)
    return Volume(out.astype(np.float32), grid, metadata={"reconstruction": "shift-and-add"})
