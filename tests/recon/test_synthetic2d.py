"""Synthetic 2D mammogram: calcifications stay conspicuous, the blend is what it says."""

from __future__ import annotations

import numpy as np
import pytest

from recon import Volume, VolumeGrid
from recon.phantoms import breast_phantom
from recon.synthetic2d import synthetic_2d


@pytest.fixture(scope="module")
def rendered():
    phantom = breast_phantom(seed=11, size="small", n_masses=1, n_clusters=0, n_calcifications=3, density="c")
    # a reconstruction-like grid: 1 mm slices, 0.2 mm in-plane
    grid = VolumeGrid(shape=(20, 150, 160), voxel_mm=(1.0, 0.2, 0.2), origin_mm=(0.5, -14.9, 0.1))
    return phantom, phantom.render(grid)


def test_calcification_brighter_than_its_surroundings(rendered):
    phantom, vol = rendered
    s2d = synthetic_2d(vol)
    mean_only = synthetic_2d(vol, mip_weight=0.0)
    assert s2d.shape == vol.data.shape[1:] and s2d.dtype == np.float32
    calcs = [les for les in phantom.lesions if les.kind == "calcification" and les.size_mm >= 0.2]
    assert calcs
    for les in calcs:
        _, j, i = np.round(vol.grid.mm_to_index(les.center_mm)).astype(int)
        patch = s2d[j - 12 : j + 13, i - 12 : i + 13]  # 5 mm around it
        peak = s2d[j - 1 : j + 2, i - 1 : i + 2].max()
        assert peak >= np.percentile(patch, 99)
        assert peak > np.median(patch) * 1.2
        # the MIP term makes it more conspicuous than the plain average along z
        base = mean_only[j - 12 : j + 13, i - 12 : i + 13]
        contrast = (peak - np.median(patch)) / np.median(patch)
        contrast_mean = (mean_only[j - 1 : j + 2, i - 1 : i + 2].max() - np.median(base)) / np.median(base)
        assert contrast > 2 * contrast_mean


def test_blend_definition():
    rng = np.random.default_rng(0)
    data = rng.uniform(0, 1, (7, 9, 11)).astype(np.float32)
    vol = Volume(data, VolumeGrid(shape=data.shape, voxel_mm=(1, 0.1, 0.1), origin_mm=(0.5, 0, 0)))
    assert np.allclose(synthetic_2d(vol, mip_weight=0.0), data.mean(axis=0), atol=1e-6)
    assert np.allclose(synthetic_2d(vol, mip_weight=1.0), data.max(axis=0), atol=1e-6)
    top3 = np.sort(data, axis=0)[-3:].mean(axis=0)
    expected = 0.3 * data.mean(axis=0) + 0.7 * top3
    assert np.allclose(synthetic_2d(vol, mip_weight=0.7, top_k=3, chunk_rows=4), expected, atol=1e-6)
    assert np.allclose(synthetic_2d(vol, slices=(2, 5), mip_weight=0.0), data[2:5].mean(axis=0), atol=1e-6)
    with pytest.raises(ValueError, match="mip_weight"):
        synthetic_2d(vol, mip_weight=1.5)
    with pytest.raises(ValueError, match="top_k"):
        synthetic_2d(vol, top_k=8)
    with pytest.raises(ValueError, match="slices"):
        synthetic_2d(vol, slices=(5, 5))
    with pytest.raises(TypeError, match="Volume"):
        synthetic_2d(data)


def test_calcifications_conspicuous_in_synthetic_2d_of_a_reconstruction():
    from recon import preset_geometry
    from recon.reconstruct import reconstruct
    from recon.simulate import simulate_acquisition, to_line_integrals

    geom = preset_geometry("ge-essential", detector_shape=(256, 192), pixel_mm=0.2)
    phantom = breast_phantom(
        seed=11, size="small", support_height_mm=geom.support_height_mm, n_clusters=1, n_calcifications=0
    )
    projections = to_line_integrals(simulate_acquisition(phantom, geom, seed=1))
    grid = VolumeGrid.for_geometry(geom, phantom.thickness_mm, slice_mm=1.0)
    vol = reconstruct(projections, geom, grid, method="fbp")
    s2d = synthetic_2d(vol)
    mean_only = synthetic_2d(vol, mip_weight=0.0)
    # background: everything except the calcifications' own 5 x 5 pixels
    mask = np.ones(s2d.shape, dtype=bool)
    for ell in phantom.ellipsoids:
        _, j, i = np.round(grid.mm_to_index(ell.center_mm)).astype(int)
        mask[j - 2 : j + 3, i - 2 : i + 3] = False
    # the three strongest calcifications of the cluster (mu x volume)
    strongest = sorted(phantom.ellipsoids, key=lambda e: e.mu_per_mm * e.volume_mm3)[-3:]
    for ell in strongest:
        _, j, i = np.round(grid.mm_to_index(ell.center_mm)).astype(int)
        win = (slice(j - 12, j + 13), slice(i - 12, i + 13))
        patch, base = s2d[win][mask[win]], mean_only[win][mask[win]]
        peak = s2d[j - 1 : j + 2, i - 1 : i + 2].max()
        assert peak > np.percentile(patch, 99.5)
        # more conspicuous than in the plain average (contrast over the local spread)
        z = (peak - np.median(patch)) / patch.std()
        z_mean = (mean_only[j - 1 : j + 2, i - 1 : i + 2].max() - np.median(base)) / base.std()
        assert z > z_mean
