"""What the mass network learns from: model-grid slabs, centre heatmaps and crops (numpy only)."""

import numpy as np
import pytest

from cad.training.samples import MASS_INPUT, MassCropSampler, mass_case, mass_targets
from recon.types import Volume, VolumeGrid

BALL_MM = (23.7, -6.2, 31.5)  # (x, y, z): off every grid line on purpose
BALL_RADIUS_MM = 4.0


def _volume_with_ball(voxel=(1.0, 0.14, 0.14)):
    """A noisy slab volume with one dense ball of radius 4 mm at BALL_MM."""
    grid = VolumeGrid(shape=(40, 360, 330), voxel_mm=voxel, origin_mm=(15.5, -25.0, 0.07))
    rng = np.random.default_rng(3)
    data = (0.05 + 0.002 * rng.standard_normal(grid.shape)).astype(np.float32)
    z, y, x = np.meshgrid(grid.z_mm, grid.y_mm, grid.x_mm, indexing="ij")
    inside = (x - BALL_MM[0]) ** 2 + (y - BALL_MM[1]) ** 2 + (z - BALL_MM[2]) ** 2 < BALL_RADIUS_MM**2
    data[inside] += 0.04
    truth = {"lesions": [{"kind": "mass", "center_mm": list(BALL_MM), "size_mm": 2 * BALL_RADIUS_MM}]}
    return Volume(data, grid), truth


@pytest.mark.parametrize("voxel", [(1.0, 0.14, 0.14), (0.5, 0.1, 0.1)])
def test_mass_position_lands_on_the_mass_in_the_network_input(voxel):
    vol, truth = _volume_with_ball(voxel)
    case = mass_case(vol, truth)
    assert case.slabs.dtype == np.float32 and case.masses.shape == (1, 4)
    k, r, c, size = case.masses[0]
    assert size == 2 * BALL_RADIUS_MM
    # the ball's centre of brightness in the normalised slabs is where the truth says
    s = case.slabs
    w = np.clip(s - 3.0, 0, None)  # the ball stands out by > 3 noise units; the background does not
    kk, rr, cc = np.indices(s.shape)
    centroid = np.array([np.sum(a * w) / np.sum(w) for a in (kk, rr, cc)])
    assert np.allclose(centroid, (k, r, c), atol=(0.6, 0.7, 0.7)), (centroid, (k, r, c))


def test_mass_targets_peak_at_the_mass_and_fall_with_distance():
    vol, truth = _volume_with_ball()
    case = mass_case(vol, truth)
    t = mass_targets(case)
    assert t.shape == case.slabs.shape
    k, r, c, size = case.masses[0]
    peak = np.unravel_index(np.argmax(t), t.shape)
    assert np.allclose(peak, (k, r, c), atol=0.5 + 1e-9)
    assert t.max() > 0.9
    sig = max(size / 4, 1.5) / MASS_INPUT["pixel_mm"]
    ki, ri, ci = (int(round(v)) for v in (k, r, c))
    expected = np.exp(-((ri + 5 - r) ** 2 + (ci - c) ** 2) / (2 * sig**2)) * np.exp(
        -((ki - k) ** 2) / (2 * (max(size / 2, 2) / MASS_INPUT["slab_mm"]) ** 2)
    )
    assert t[ki, ri + 5, ci] == pytest.approx(expected, rel=1e-5)
    assert t[ki, 0, 0] < 1e-6


def test_crops_keep_image_and_target_together_through_flips():
    vol, truth = _volume_with_ball()
    case = mass_case(vol, truth)
    sampler = MassCropSampler([case], size=32, rng=5)
    centre = MASS_INPUT["channels"] // 2
    for _ in range(12):  # covers the 8 flips/rotations with high probability
        x, t = sampler.batch(4, positive_fraction=1.0)
        assert x.shape == (4, MASS_INPUT["channels"], 32, 32) and t.shape == (4, 1, 32, 32)
        for xi, ti in zip(x, t, strict=True):
            assert ti.max() > 0.55  # the mass's slab or one either side
            peak = np.unravel_index(np.argmax(ti[0]), ti[0].shape)
            bright = np.argwhere(xi[centre] > 3.0)
            dist = np.hypot(*(bright - np.asarray(peak)).T)
            assert dist.min() < 1.5 and np.median(dist) < 6.0  # the ball surrounds the target peak


def test_background_crops_without_masses():
    vol, _ = _volume_with_ball()
    case = mass_case(vol, {"lesions": []})
    sampler = MassCropSampler([case], size=32, rng=0)
    x, t = sampler.batch(6, positive_fraction=0.5)  # no mass: every crop is a background crop
    assert x.shape == (6, MASS_INPUT["channels"], 32, 32)
    assert not t.any()


def test_hard_negative_crops_hold_the_false_spot_with_an_empty_target():
    vol, truth = _volume_with_ball()
    k, r, c, _ = mass_case(vol, truth).masses[0]  # where the ball lies on the model grid
    unlabelled = mass_case(vol, {"lesions": []})  # the same ball, now a "false" blob
    sampler = MassCropSampler([unlabelled], size=32, rng=1)
    sampler.set_hard_negatives([(0, np.array((k, r, c)))])
    x, t = sampler.batch(4, positive_fraction=0.0, hard_fraction=1.0)
    centre = MASS_INPUT["channels"] // 2
    assert all((xi[centre] > 3.0).sum() > 20 for xi in x)  # each crop shows the ball
    assert not t.any()
