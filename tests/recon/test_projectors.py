"""The matched projector pair: adjoint identity, line integrals, bead positions, input checks."""

import numpy as np
import pytest

from recon import VolumeGrid, preset_geometry, preset_names
from recon.projectors import GeneralProjector, SeparableProjector, make_projector


def _small(name, *, slice_mm=2.0, pixel_mm=0.6):
    geom = preset_geometry(name, detector_shape=(96, 64), pixel_mm=0.5)
    grid = VolumeGrid.for_geometry(geom, 20.0, slice_mm=slice_mm, pixel_mm=pixel_mm, extent_x_mm=28, extent_y_mm=40)
    return geom, grid


def _adjoint_error(proj, views=None):
    rng = np.random.default_rng(7)
    n = proj.n_views if views is None else len(views)
    x = rng.random(proj.grid.shape, dtype=np.float32)
    y = rng.random((n, *proj.geometry.detector_shape), dtype=np.float32)
    ax = proj.forward(x, views=views)
    aty = proj.back(y, views=views)
    lhs = float(np.dot(ax.ravel().astype(np.float64), y.ravel().astype(np.float64)))
    rhs = float(np.dot(x.ravel().astype(np.float64), aty.ravel().astype(np.float64)))
    assert lhs > 0
    return abs(lhs - rhs) / abs(lhs)


@pytest.mark.parametrize("name", preset_names())
def test_adjoint_identity_every_preset(name):
    geom, grid = _small(name)
    proj = make_projector(geom, grid)
    assert proj.backend == ("separable" if geom.is_stationary_flat else "general")
    assert _adjoint_error(proj) < 1e-4
    assert _adjoint_error(proj, views=[3, 0, 5]) < 1e-4


@pytest.mark.parametrize("pixel_mm", [0.25, 1.3])
def test_adjoint_identity_super_resolution_and_coarse_voxels(pixel_mm):
    geom, grid = _small("ge-essential", slice_mm=1.0, pixel_mm=pixel_mm)
    assert _adjoint_error(make_projector(geom, grid)) < 1e-4


def test_general_path_on_a_flat_detector_matches_the_fast_path():
    geom, grid = _small("siemens-mammomat")
    x = np.random.default_rng(1).random(grid.shape, dtype=np.float32)
    fast = SeparableProjector(geom, grid).forward(x)
    general = GeneralProjector(geom, grid).forward(x)
    inner = (slice(None), slice(4, -4), slice(4, -4))
    np.testing.assert_allclose(general[inner], fast[inner], rtol=2e-2, atol=2e-2 * fast.max())


@pytest.mark.parametrize("name", preset_names())
def test_uniform_slab_gives_attenuation_times_path_length(name):
    geom, grid = _small(name, slice_mm=1.0, pixel_mm=0.5)
    mu = 0.02
    q = make_projector(geom, grid).forward(np.full(grid.shape, mu, np.float32))
    # a pixel well inside the volume's shadow in every view
    r, c = 48, 30
    thick = grid.shape[0] * grid.voxel_mm[0]
    for v in range(geom.n_views):
        pc = geom.pixel_centers_mm(v)[r, c]
        d = geom.source_mm[v] - pc
        # path length through the slab between the support and its top, along the pixel's ray
        path = thick * np.linalg.norm(d) / d[2]
        assert q[v, r, c] == pytest.approx(mu * path, rel=2e-3)


@pytest.mark.parametrize("name", preset_names())
def test_bead_lands_at_its_analytic_detector_position(name):
    geom, grid = _small(name, slice_mm=1.0, pixel_mm=0.5)
    proj = make_projector(geom, grid)
    rr, cc = np.mgrid[0 : geom.detector_shape[0], 0 : geom.detector_shape[1]]
    for k, j, i in [(2, 30, 10), (17, 50, 40)]:
        x = np.zeros(grid.shape, np.float32)
        x[k, j, i] = 1.0
        q = proj.forward(x)
        expected = geom.project_points(grid.index_to_mm([k, j, i]))[:, 0]
        for v in range(geom.n_views):
            w = q[v].astype(np.float64)
            tot = w.sum()
            # total weight = voxel volume seen by a pixel: about the voxel's shadow in pixels x dz x sec
            assert tot > 0
            row = (w * rr).sum() / tot
            col = (w * cc).sum() / tot
            assert abs(row - expected[v, 0]) < 0.05, (v, row, expected[v])
            assert abs(col - expected[v, 1]) < 0.05, (v, col, expected[v])


def test_inputs_are_validated_and_not_mutated():
    geom, grid = _small("ge-essential")
    proj = make_projector(geom, grid)
    x = np.ones(grid.shape, np.float32)
    with pytest.raises(TypeError, match="float32"):
        proj.forward(x.astype(np.float64))
    with pytest.raises(ValueError, match="shape"):
        proj.forward(x[:-1])
    y = np.ones((2, *geom.detector_shape), np.float32)
    with pytest.raises(ValueError, match="shape"):
        proj.back(y)  # 2 frames for 9 views
    with pytest.raises(ValueError, match="views"):
        proj.back(y, views=[0, 9])
    with pytest.raises(TypeError):
        proj.back(list(y), views=[0, 1])
    with pytest.raises(ValueError, match="backend"):
        make_projector(geom, grid, backend="gpu")
    with pytest.raises(ValueError, match="stationary"):
        SeparableProjector(preset_geometry("hologic-dimensions", detector_shape=(96, 64), pixel_mm=0.5), grid)
    y_copy = y.copy()
    out = proj.back(y, views=[0, 1])
    assert out.dtype == np.float32 and out.shape == grid.shape
    np.testing.assert_array_equal(y, y_copy)
    buf = np.full(grid.shape, 7.0, np.float32)
    assert proj.back(y, views=[0, 1], out=buf) is buf
    np.testing.assert_array_equal(buf, out)
    with pytest.raises(ValueError, match="out"):
        proj.back(y, views=[0, 1], out=np.zeros(grid.shape, np.float64))
    q = proj.forward(x, views=[4])
    assert q.dtype == np.float32 and q.shape == (1, *geom.detector_shape)
    np.testing.assert_array_equal(x, 1.0)


def test_forward_in_parallel_row_ranges_matches_one_range():
    # a tall detector and a thin slab: the forward projector splits the voxel rows into
    # ranges projected in parallel (two phases); the result must equal a single serial range
    from recon.projectors import _kernels as K

    geom = preset_geometry("ge-essential", detector_shape=(480, 40), pixel_mm=0.25)
    grid = VolumeGrid.for_geometry(geom, 8.0, slice_mm=1.0, pixel_mm=0.25, extent_x_mm=9, extent_y_mm=115)
    proj = make_projector(geom, grid)
    views = np.arange(geom.n_views)
    phases = proj._row_blocks(views)
    assert len(phases) == 2 and sum(len(p) for p in phases) >= 4
    for ph in phases:  # ranges of one phase reach disjoint detector rows
        assert np.all(ph[1:, 0] > ph[:-1, 1])
    x = np.random.default_rng(3).random(grid.shape, dtype=np.float32)
    fast = proj.forward(x)
    fne, ffe, ov, pcr = proj._forward_tables()
    serial = np.zeros_like(fast)
    K.forward_kernel(
        x, serial, views, 0, grid.shape[0], proj._vco, proj._dz_table, proj._S, proj._y_edge0, proj._dy,
        fne, ffe, ov, pcr, np.array([[0, grid.shape[1]]]), 16,
    )  # fmt: skip
    K.apply_secant(serial, views, proj._src, proj._u0, proj._v0, proj._du, proj._dv)
    np.testing.assert_allclose(fast, serial, rtol=1e-5, atol=1e-6 * float(serial.max()))
    assert _adjoint_error(proj) < 1e-4


def test_back_projection_keeps_precision_under_a_large_constant_offset():
    # rows of 1200 pixels that carry a constant 1000 plus small detail: float32 running sums
    # along the rows would reach 1.2e6 and lose the detail; the projector removes each row's
    # mean before summing, so A^T (1000 + e) - A^T 1000 equals A^T e to float32 precision
    geom = preset_geometry("ge-essential", detector_shape=(24, 1200), pixel_mm=0.1)
    grid = VolumeGrid.for_geometry(geom, 6.0, slice_mm=2.0, pixel_mm=0.1, extent_x_mm=110, extent_y_mm=1.2)
    proj = make_projector(geom, grid)
    e = np.random.default_rng(5).random((geom.n_views, *geom.detector_shape), dtype=np.float32)
    big = np.full_like(e, 1000.0)
    detail = proj.back(e)
    diff = proj.back(big + e).astype(np.float64) - proj.back(big).astype(np.float64)
    inner = detail > 0.5 * detail.max()
    err = np.abs(diff - detail)[inner].max() / detail[inner].mean()
    assert err < 2e-2, err
