"""Beads come into focus at their true (x, y, z) and do not drift in-plane from slice to slice.

The beads are projected with the analytic ray-ellipsoid model (:mod:`recon.phantoms.analytic`),
which shares nothing with the reconstruction projectors, and reconstructed with FBP for
every geometry preset, the tilted Hologic detector included (reference recon.md section 10,
gate 3).

What "no drift" means here: out of focus, a bead's blur lies along the rays that went
through it, so with the half-cone beam (source above the chest wall) its centre moves in x
by ``x * dz / (z_source - z)`` per slice (0.2 voxel per slice at x = 26 mm): that is
geometry, not an error. The test therefore compares the blur's in-plane centroid in the
neighbouring slices with where the rays through the bead cross each slice (within 0.25
voxel), and in the slices next to the focus with the bead's true (x, y) (within 0.5 voxel).
A wrong pivot height, source offset or detector tilt (the classic slice-dependent shift of
existing toolboxes) breaks both.
"""

from __future__ import annotations

import numpy as np
import pytest

from recon import ProjectionSet, VolumeGrid, preset_geometry, preset_names
from recon.phantoms import ellipsoid_line_integrals, sphere
from recon.reconstruct import reconstruct

THICKNESS_MM = 30.0
SLICE_MM = 1.0
BEAD_DIAMETER_MM = 0.5
BEAD_MU = 2.0
# (x, height above the support, y): distinct x so that the beads' blur (spread along y) stays apart
BEADS = ((6.0, 3.3, -2.0), (11.0, 9.6, 3.0), (16.0, 15.5, -4.0), (21.0, 21.2, 1.0), (26.0, 26.7, 2.5))
NEIGHBOURS = 3


def _centroid(vol, grid, k, centre_mm):
    """In-plane centroid (x, y mm) of the positive blur around ``centre_mm`` in slice ``k``."""
    _, j0, i0 = np.round(grid.mm_to_index(centre_mm)).astype(int)
    win = vol[k, j0 - 12 : j0 + 13, i0 - 5 : i0 + 6].astype(np.float64)
    background = np.median(vol[k, j0 - 30 : j0 + 31, i0 - 15 : i0 + 16])
    w = np.clip(win - background, 0.0, None)
    assert w.sum() > 0
    jj, ii = np.indices(w.shape)
    j = (w * jj).sum() / w.sum() + j0 - 12
    i = (w * ii).sum() / w.sum() + i0 - 5
    pos = grid.index_to_mm([k, j, i])
    return pos[0], pos[1]


def _ray_centroid(geometry, bead, z):
    """Mean (x, y) where the rays from every source through the bead cross height z."""
    s = geometry.source_mm
    t = (z - s[:, 2]) / (bead[2] - s[:, 2])
    p = s + t[:, None] * (np.asarray(bead) - s)
    return p[:, 0].mean(), p[:, 1].mean()


@pytest.mark.parametrize("name", preset_names())
def test_beads_focus_at_their_true_position_without_drift(name):
    geom = preset_geometry(name, detector_shape=(256, 192), pixel_mm=0.2)
    h0 = geom.support_height_mm
    beads = [(x, y, h0 + h) for x, h, y in BEADS]
    shadows = geom.project_points(beads)
    assert shadows[..., 0].min() > 5 and shadows[..., 0].max() < geom.detector_shape[0] - 5
    li = ellipsoid_line_integrals([sphere(b, BEAD_DIAMETER_MM, BEAD_MU) for b in beads], geom, subsamples=3)
    grid = VolumeGrid.for_geometry(geom, THICKNESS_MM, slice_mm=SLICE_MM)
    result = reconstruct(ProjectionSet(li, geom), geom, grid, method="fbp")
    vol = result.data
    assert vol.shape == grid.shape and np.all(np.isfinite(vol))
    voxel = grid.voxel_mm[2]
    for bead in beads:
        k_true, j_true, i_true = grid.mm_to_index(bead)
        _, j0, i0 = np.round([k_true, j_true, i_true]).astype(int)
        # the peak: right slice within one slice, in-plane within one voxel
        box = vol[:, j0 - 10 : j0 + 11, i0 - 10 : i0 + 11]
        k, j, i = np.unravel_index(int(np.argmax(box)), box.shape)
        j, i = j + j0 - 10, i + i0 - 10
        assert abs(k - k_true) <= 1.0 + 1e-6, f"{name}: bead {bead} peaks in slice {k}, truth {k_true:.2f}"
        assert abs(j - j_true) <= 1.0 and abs(i - i_true) <= 1.0, f"{name}: bead {bead} peaks at ({j}, {i})"
        # in and out of focus: the blur follows the rays through the bead
        k_focus = int(round(k_true))
        for kk in range(max(k_focus - NEIGHBOURS, 0), min(k_focus + NEIGHBOURS + 1, grid.shape[0])):
            x, y = _centroid(vol, grid, kk, bead)
            ex, ey = _ray_centroid(geom, bead, grid.z_mm[kk])
            assert abs(x - ex) <= 0.25 * voxel and abs(y - ey) <= 0.25 * voxel, (
                f"{name}: bead {bead} slice {kk}: blur centre ({x:.3f}, {y:.3f}) mm, "
                f"rays cross at ({ex:.3f}, {ey:.3f}) mm"
            )
            if abs(kk - k_focus) <= 1:
                assert abs(x - bead[0]) <= 0.5 * voxel and abs(y - bead[1]) <= 0.5 * voxel
