"""Synthetic 2D mammogram from a tomosynthesis volume.

Method
------
For every in-plane position the image blends the mean along z (which looks like a
conventional projection: overall density and masses) with a maximum-intensity value along z
(which keeps small bright objects, above all calcifications, as conspicuous as in their
in-focus slice)::

    S2D(y, x) = (1 - w) * mean_z V(z, y, x) + w * top_k_z V(z, y, x)

where ``top_k`` is the mean of the ``k`` largest values along z (``k = 1`` is the plain MIP;
a few slices make it less noisy) and ``w`` is ``mip_weight`` (default 0.5). Commercial
synthetic mammograms (e.g. Hologic C-View, GE V-Preview) use proprietary, feature-weighted
variants of this blend; this is the simple, documented form. Optionally only a slab of
slices (``slices=(first, stop)``) enters, e.g. to leave out the noisy outermost slices.
"""

from __future__ import annotations

import numpy as np

from recon.types import Volume

__all__ = ["synthetic_2d"]


def synthetic_2d(
    volume: Volume,
    *,
    mip_weight: float = 0.5,
    top_k: int = 1,
    slices: tuple[int, int] | None = None,
    chunk_rows: int = 256,
) -> np.ndarray:
    """Synthetic 2D mammogram of a volume.

    Parameters
    ----------
    volume : Volume
        Reconstructed (or phantom) volume, (nz, ny, nx).
    mip_weight : float
        Weight ``w`` in [0, 1] of the maximum-intensity term (0 = mean only, 1 = MIP only).
    top_k : int
        Number of brightest slices averaged for the maximum-intensity term.
    slices : (first, stop), optional
        Use slices ``first <= k < stop`` only (default all).
    chunk_rows : int
        Rows processed at a time (bounds the temporary memory).

    Returns
    -------
    float32 array (ny, nx)
        On the volume's in-plane grid, in the volume's units.
    """
    if not isinstance(volume, Volume):
        raise TypeError(f"synthetic_2d: volume must be a recon.Volume, got {type(volume).__name__}")
    w = float(mip_weight)
    if not 0.0 <= w <= 1.0:
        raise ValueError(f"synthetic_2d: mip_weight must be in [0, 1], got {mip_weight}")
    nz, ny, nx = volume.data.shape
    first, stop = (0, nz) if slices is None else (int(slices[0]), int(slices[1]))
    if not 0 <= first < stop <= nz:
        raise ValueError(f"synthetic_2d: slices must satisfy 0 <= first < stop <= {nz}, got {slices}")
    n = stop - first
    k = int(top_k)
    if k != top_k or not 1 <= k <= n:
        raise ValueError(f"synthetic_2d: top_k must be an integer in [1, {n}], got {top_k}")
    if int(chunk_rows) < 1:
        raise ValueError(f"synthetic_2d: chunk_rows must be >= 1, got {chunk_rows}")
    out = np.empty((ny, nx), dtype=np.float32)
    for r0 in range(0, ny, int(chunk_rows)):
        r1 = min(ny, r0 + int(chunk_rows))
        block = volume.data[first:stop, r0:r1].astype(np.float64)
        mean = block.mean(axis=0)
        if k == 1:
            top = block.max(axis=0)
        else:
            top = np.partition(block, n - k, axis=0)[n - k :].mean(axis=0)
        out[r0:r1] = (1.0 - w) * mean + w * top
    return out
