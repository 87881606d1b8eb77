"""The functions Dask workers run: reconstruction of a slab of slices, preview, synthetic 2D, CAD.

They take and return arrays and ``recon``/``cad`` types only (no files, no store, no DICOM),
so a worker on another machine needs Crescent installed but no access to the node's store.

Slab reconstruction
-------------------
Filtered back projection reconstructs every slice from the projections alone: slices
``k0 <= k < k1`` of a grid are exactly the slices of the sub-grid that starts at slice
``k0`` (:func:`slab_grid`). A volume is therefore split into slabs across workers and the
slabs stacked back (``tests/app/node`` checks the stitched volume equals the whole one). The
per-view filtering is repeated per slab (a few percent of the work). With the FBP
slice-thickness filter the filter's ray angle is taken at the sub-grid's middle slice, so
that option is not used on slabs; iterative methods need the whole volume at once and run
as one task.
"""

from __future__ import annotations

import numpy as np

__all__ = ["detect_findings", "reconstruct_preview", "reconstruct_slab", "slab_grid", "slabs", "synthetic_image"]


def slabs(n_slices: int, chunks: int) -> list[tuple[int, int]]:
    """``chunks`` (at most ``n_slices``) contiguous slice ranges ``(k0, k1)`` of near-equal size."""
    if n_slices < 1 or chunks < 1:
        raise ValueError(f"slabs: n_slices and chunks must be >= 1, got {n_slices}, {chunks}")
    chunks = min(chunks, n_slices)
    edges = np.linspace(0, n_slices, chunks + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def slab_grid(grid, k0: int, k1: int):
    """The :class:`recon.VolumeGrid` of slices ``k0 <= k < k1`` of ``grid``."""
    from recon.types import VolumeGrid

    nz = grid.shape[0]
    if not 0 <= k0 < k1 <= nz:
        raise ValueError(f"slab_grid: slices {k0}:{k1} are not within 0:{nz}")
    dz = grid.voxel_mm[0]
    return VolumeGrid(
        shape=(k1 - k0, grid.shape[1], grid.shape[2]),
        voxel_mm=grid.voxel_mm,
        origin_mm=(grid.origin_mm[0] + k0 * dz, grid.origin_mm[1], grid.origin_mm[2]),
    )


def reconstruct_slab(projections: np.ndarray, geometry, grid, k0: int, k1: int, *, method: str, options: dict):
    """Slices ``k0:k1`` of the reconstruction of line integrals ``projections`` on ``grid`` (float32 array)."""
    from recon.reconstruct import reconstruct

    sub = grid if (k0, k1) == (0, grid.shape[0]) else slab_grid(grid, k0, k1)
    return reconstruct(projections, geometry, sub, method=method, **dict(options or {})).data


def reconstruct_preview(projections: np.ndarray, geometry, grid):
    """The fast preview volume (FBP of 2x2-binned projections on 2 mm slices; see ``recon.reconstruct``)."""
    from recon.reconstruct import reconstruct

    return reconstruct(projections, geometry, grid, method="fbp", preview=True)


def synthetic_image(volume) -> np.ndarray:
    """The synthetic 2D mammogram of a volume (``recon.synthetic2d.synthetic_2d`` defaults)."""
    from recon.synthetic2d import synthetic_2d

    return synthetic_2d(volume)


def detect_findings(volume, models: str):
    """CAD findings of a volume (``cad.detect.detect``): a ``cad.CaseResult``."""
    from cad.detect import detect

    return detect(volume, models=models, threads=1)
