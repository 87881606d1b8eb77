"""Analytic line integrals, the ray-marching projector, detector noise and dose reduction."""

from __future__ import annotations

import numpy as np
import pytest

from recon import Volume, VolumeGrid, preset_geometry, preset_names
from recon.phantoms import (
    Ellipsoid,
    breast_phantom,
    ellipsoid_line_integrals,
    raymarch_line_integrals,
    rotation_matrix,
    sphere,
)
from recon.simulate import (
    electronic_noise_photons,
    expose,
    phantom_line_integrals,
    reduce_dose,
    simulate_acquisition,
    to_line_integrals,
)

SMALL = dict(detector_shape=(256, 192), pixel_mm=0.2)


def _small(name, **kw):
    return preset_geometry(name, **{**SMALL, **kw})


@pytest.mark.parametrize("name", preset_names())
def test_sphere_through_its_centre_integrates_to_diameter_times_mu(name):
    geom = _small(name)
    for view in (0, geom.n_views // 2, geom.n_views - 1):
        pix = geom.pixel_centers_mm(view)[120, 60]
        src = geom.source_mm[view]
        centre = src + 0.93 * (pix - src)  # on the ray through that pixel centre
        li = ellipsoid_line_integrals(sphere(centre, 0.4, 1.7), geom, subsamples=1, views=[view])
        assert li[0, 120, 60] == pytest.approx(0.4 * 1.7, rel=1e-6)
        # a rotated ellipsoid whose long axis lies along the ray: chord = 2a exactly
        d = (pix - src) / np.linalg.norm(pix - src)
        e1 = d
        e2 = np.cross(d, [1.0, 0.0, 0.0])
        e2 /= np.linalg.norm(e2)
        rot = np.column_stack([e1, e2, np.cross(e1, e2)])
        ell = Ellipsoid(centre, (0.35, 0.1, 0.05), 2.0, rot)
        li = ellipsoid_line_integrals(ell, geom, subsamples=1, views=[view])
        assert li[0, 120, 60] == pytest.approx(0.7 * 2.0, rel=1e-6)


@pytest.mark.parametrize("name", ["ge-essential", "hologic-dimensions"])
def test_projection_centroid_lands_on_the_projected_centre(name):
    geom = _small(name)
    centre = np.array([14.3, 3.7, geom.support_height_mm + 17.2])
    li = ellipsoid_line_integrals(sphere(centre, 1.0, 1.5), geom, subsamples=4)
    expected = geom.project_points(centre)[:, 0]
    rows, cols = np.indices(geom.detector_shape)
    for v in range(geom.n_views):
        w = li[v].astype(np.float64)
        assert w.sum() > 0
        assert (w * rows).sum() / w.sum() == pytest.approx(expected[v, 0], abs=0.02)
        assert (w * cols).sum() / w.sum() == pytest.approx(expected[v, 1], abs=0.02)
        # integral over the detector = mu x volume x magnification^2 (per pixel area)
        d_src = np.linalg.norm(geom.source_mm[v] - centre)
        hit = geom.detector_origin_mm[v] + (expected[v, 1] + 0.5) * 0.2 * geom.detector_u_dir[v]
        hit = hit + (expected[v, 0] + 0.5) * 0.2 * geom.detector_v_dir[v]
        d_hit = np.linalg.norm(hit - geom.source_mm[v])
        cos = abs(np.dot((hit - geom.source_mm[v]) / d_hit, geom.detector_normal[v]))
        mag2 = (d_hit / d_src) ** 2 / cos
        assert w.sum() * 0.04 == pytest.approx(1.5 * np.pi / 6 * mag2, rel=0.01)


@pytest.mark.parametrize("name", ["ge-essential", "hologic-dimensions"])
def test_raymarch_uniform_slab_matches_path_length(name):
    geom = _small(name)
    mu, h0, nz = 0.05, geom.support_height_mm, 20
    grid = VolumeGrid(shape=(nz, 200, 200), voxel_mm=(1.0, 0.5, 0.5), origin_mm=(h0 + 0.5, -49.75, -30.0))
    vol = Volume(np.full(grid.shape, mu, dtype=np.float32), grid)
    li = raymarch_line_integrals(vol, geom)
    for v in (0, geom.n_views - 1):
        pix = geom.pixel_centers_mm(v)
        for r, c in ((128, 20), (10, 150), (250, 100)):
            d = pix[r, c] - geom.source_mm[v]
            path = nz * np.linalg.norm(d) / abs(d[2])
            assert li[v, r, c] == pytest.approx(mu * path, rel=1e-5)


def test_raymarch_and_analytic_models_agree_on_a_voxelised_sphere():
    geom = _small("ge-essential", n_views=3)
    centre = (12.0, 1.0, geom.support_height_mm + 10.0)
    ell = sphere(centre, 6.0, 0.08)
    grid = VolumeGrid(shape=(50, 80, 80), voxel_mm=(0.2, 0.1, 0.1), origin_mm=(centre[2] - 4.9, -2.95, 8.05))
    from recon.phantoms import voxelize_ellipsoids

    vol = Volume(voxelize_ellipsoids(ell, grid, supersample=3), grid)
    a = ellipsoid_line_integrals(ell, geom, subsamples=3)
    b = raymarch_line_integrals(vol, geom, subsamples=3)
    assert b.sum() == pytest.approx(a.sum(), rel=0.01)
    assert np.abs(a - b).max() < 0.05 * a.max()


@pytest.fixture(scope="module")
def ge_small():
    return _small("ge-essential")


@pytest.mark.parametrize("dose", [1.0, 0.25])
def test_poisson_variance_equals_mean_and_scales_with_dose(ge_small, dose):
    li = np.full((ge_small.n_views, *ge_small.detector_shape), 1.2, dtype=np.float32)
    kw = dict(dose_factor=dose, gain_adu_per_photon=1.0, electronic_noise_adu=0.0)
    a = expose(li, ge_small, seed=1, **kw).data.astype(np.float64)
    b = expose(li, ge_small, seed=2, **kw).data.astype(np.float64)
    n0 = dose * 1.0e7 / 9 * 0.04
    mean = n0 * np.exp(-1.2)
    assert a.mean() == pytest.approx(mean, rel=2e-3)
    assert np.var(a - b) / 2 == pytest.approx(mean, rel=0.02)
    # with electronic noise and gain: var = g^2 N + sigma_e^2
    g, se = 0.5, 9.0
    c = expose(li, ge_small, seed=3, dose_factor=dose, gain_adu_per_photon=g, electronic_noise_adu=se).data
    d = expose(li, ge_small, seed=4, dose_factor=dose, gain_adu_per_photon=g, electronic_noise_adu=se).data
    diff = c.astype(np.float64) - d
    assert np.var(diff) / 2 == pytest.approx(g * g * mean + se * se, rel=0.02)


def test_expose_noise_free_and_seeded(ge_small):
    rng = np.random.default_rng(0)
    li = rng.uniform(0, 3, (ge_small.n_views, *ge_small.detector_shape)).astype(np.float32)
    clean = expose(li, ge_small, seed=None, noise=False, dose_factor=2.0)
    n0 = clean.metadata["photons_per_pixel"]
    assert n0 == pytest.approx(2.0 * 1.0e7 / 9 * 0.04)
    assert np.allclose(clean.data, 0.5 * n0 * np.exp(-li), rtol=1e-5)
    assert clean.exposure_mas == pytest.approx(np.full(9, 2.0 * 60.0 / 9))
    back = to_line_integrals(clean)
    assert back.is_line_integral and np.allclose(back.data, li, atol=1e-4)
    one = expose(li, ge_small, seed=5)
    assert np.array_equal(one.data, expose(li, ge_small, seed=5).data)
    assert not np.array_equal(one.data, expose(li, ge_small, seed=6).data)
    assert not one.is_line_integral and one.metadata["noise_seed"] == 5
    assert one.metadata["electronic_noise_adu"] == pytest.approx(0.5 * electronic_noise_photons((0.2, 0.2)))
    with pytest.raises(ValueError, match="seed"):
        expose(li, ge_small, seed=None)
    with pytest.raises(ValueError, match="dose_factor"):
        expose(li, ge_small, seed=1, dose_factor=0)


def test_reduced_dose_matches_a_true_low_dose_acquisition(ge_small):
    rng = np.random.default_rng(3)
    li = rng.uniform(0.5, 3.5, (ge_small.n_views, *ge_small.detector_shape)).astype(np.float32)
    f = 0.2
    full = [expose(li, ge_small, seed=s) for s in (11, 12)]
    red = [reduce_dose(p, f, seed=s) for p, s in zip(full, (21, 22), strict=True)]
    low = [expose(li, ge_small, seed=s, dose_factor=f) for s in (31, 32)]
    r = [p.data.astype(np.float64) for p in red]
    lo = [p.data.astype(np.float64) for p in low]
    assert r[0].mean() == pytest.approx(lo[0].mean(), rel=2e-3)
    # per-pixel variance (diff of two realisations) as a function of the signal level
    var_red = (r[0] - r[1]) ** 2 / 2
    var_low = (lo[0] - lo[1]) ** 2 / 2
    for lo_li, hi_li in ((0.5, 1.5), (1.5, 2.5), (2.5, 3.5)):
        sel = (li >= lo_li) & (li < hi_li)
        assert var_red[sel].mean() == pytest.approx(var_low[sel].mean(), rel=0.03)
    # electronic noise is not counted twice: the variance at the lowest signals still matches
    meta = red[0].metadata
    assert meta["dose_factor"] == pytest.approx(f)
    assert meta["i0_adu"] == pytest.approx(low[0].metadata["i0_adu"])
    assert red[0].exposure_mas == pytest.approx(low[0].exposure_mas)
    with pytest.raises(ValueError, match="factor"):
        reduce_dose(full[0], 1.5, seed=1)
    with pytest.raises(ValueError, match="line integrals"):
        reduce_dose(to_line_integrals(full[0]), 0.5, seed=1)


def test_reduced_dose_with_dominant_electronic_noise(ge_small):
    li = np.full((ge_small.n_views, *ge_small.detector_shape), 6.0, dtype=np.float32)
    kw = dict(electronic_noise_adu=20.0)
    full = [expose(li, ge_small, seed=s, **kw) for s in (1, 2)]
    red = [reduce_dose(p, 0.5, seed=s).data.astype(np.float64) for p, s in zip(full, (3, 4), strict=True)]
    low = [expose(li, ge_small, seed=s, dose_factor=0.5, **kw).data.astype(np.float64) for s in (5, 6)]
    assert np.var(red[0] - red[1]) == pytest.approx(np.var(low[0] - low[1]), rel=0.03)


def test_simulated_phantom_acquisition(ge_small):
    phantom = breast_phantom(seed=4, size="small", support_height_mm=ge_small.support_height_mm)
    clean = phantom_line_integrals(phantom, ge_small)
    assert clean.shape == (9, 256, 192) and clean.dtype == np.float32
    # about 2 cm of tissue under the centre of the breast in the central view
    centre = ge_small.project_points([10.0, 0.0, ge_small.support_height_mm + 10])[4, 0]
    assert 0.8 < clean[4, int(centre[0]), int(centre[1])] < 2.0
    # the breast projects inside the test detector in every view: edge rows see air
    assert clean[:, :2].max() == 0 and clean[:, -2:].max() == 0
    done = []
    ps = simulate_acquisition(phantom, ge_small, seed=9, progress=lambda d, t, m: done.append((d, t)))
    assert done[-1][0] == done[-1][1]
    assert ps.metadata["phantom"] == {
        "kind": "BreastPhantom",
        "seed": 4,
        "thickness_mm": 20.0,
        "support_height_mm": ge_small.support_height_mm,
    }
    assert ps.metadata["thickness_mm"] == 20.0
    measured = to_line_integrals(ps).data
    assert np.abs(measured - clean).mean() < 0.02
    with pytest.raises(ValueError, match="below the breast support"):
        phantom_line_integrals(breast_phantom(seed=4, size="small", support_height_mm=5.0), ge_small)


def test_calcifications_show_in_projections(ge_small):
    phantom = breast_phantom(
        seed=5, size="small", support_height_mm=ge_small.support_height_mm, n_masses=0, n_clusters=0
    )
    with_calc = phantom_line_integrals(phantom, ge_small)
    background = phantom_line_integrals(phantom.volume, ge_small)
    diff = with_calc - background
    assert len(phantom.ellipsoids) == 3
    for ell in phantom.ellipsoids:
        r, c = np.round(ge_small.project_points(ell.center_mm)[4, 0]).astype(int)
        near = diff[4, r - 3 : r + 4, c - 3 : c + 4].astype(np.float64)
        assert near.max() > 0.01
        # integral of the shadow: mu x volume x magnification^2 (within the sampling error)
        mag = ge_small.magnification(ell.center_mm[2], 4)
        assert near.sum() * 0.04 == pytest.approx(ell.mu_per_mm * ell.volume_mm3 * mag**2, rel=0.5)


def test_rotation_matrix_is_orthonormal():
    r = rotation_matrix(0.3, -0.7, 1.1)
    assert np.allclose(r.T @ r, np.eye(3))
    assert np.linalg.det(r) == pytest.approx(1.0)
