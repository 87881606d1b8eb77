"""Breast phantom: truth consistent with the voxels, determinism, validation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from recon import VolumeGrid
from recon.phantoms import (
    BREAST_SIZES,
    DENSITY_GLANDULAR_FRACTION,
    Ellipsoid,
    breast_phantom,
    parse_view,
    voxelize_ellipsoids,
)
from recon.phantoms import materials as mat

SUPPORT = 22.0


@pytest.fixture(scope="module")
def phantom():
    return breast_phantom(
        seed=7,
        size="small",
        support_height_mm=SUPPORT,
        n_masses=2,
        mass_shapes=("spiculated", "oval"),
        n_clusters=1,
        n_calcifications=3,
    )


def _value_at(phantom, point_mm):
    idx = np.round(phantom.volume.grid.mm_to_index(point_mm)).astype(int)
    return float(phantom.volume.data[idx[0], idx[1], idx[2]])


def test_same_seed_same_phantom_other_seed_differs(phantom):
    again = breast_phantom(
        seed=7,
        size="small",
        support_height_mm=SUPPORT,
        n_masses=2,
        mass_shapes=("spiculated", "oval"),
        n_clusters=1,
        n_calcifications=3,
    )
    assert np.array_equal(again.volume.data, phantom.volume.data)
    assert json.dumps(again.truth(), sort_keys=True) == json.dumps(phantom.truth(), sort_keys=True)
    other = breast_phantom(seed=8, size="small", support_height_mm=SUPPORT)
    assert not np.array_equal(other.volume.data, phantom.volume.data)
    assert other.truth()["lesions"] != phantom.truth()["lesions"]


def test_truth_is_json_and_complete(phantom):
    truth = json.loads(json.dumps(phantom.truth()))
    assert truth["thickness_mm"] == pytest.approx(BREAST_SIZES["small"]["thickness_mm"])
    assert truth["support_height_mm"] == SUPPORT
    kinds = [les["kind"] for les in truth["lesions"]]
    assert kinds.count("mass") == 2 and kinds.count("calcification_cluster") == 1 and kinds.count("calcification") == 3
    for les in truth["lesions"]:
        assert len(les["center_mm"]) == 3 and les["size_mm"] > 0 and len(les["extent_mm"]) == 3
    shapes = [les["shape"] for les in truth["lesions"] if les["kind"] == "mass"]
    assert shapes == ["spiculated", "oval"]
    cluster = next(les for les in truth["lesions"] if les["kind"] == "calcification_cluster")
    assert cluster["n_members"] == len(cluster["members"]) >= 5
    assert len(phantom.ellipsoids) == cluster["n_members"] + 3


def test_lesions_lie_inside_the_breast_with_sizes_in_range(phantom):
    z_lo, z_hi = phantom.z_range_mm
    for les in phantom.lesions:
        x, y, z = les.center_mm
        assert z_lo < z < z_hi
        assert 0 < x < phantom.depth_mm and abs(y) < phantom.width_mm / 2
        # inside the outline, under the skin: the voxel there is tissue, not air or skin
        assert _value_at(phantom, les.center_mm) > 0.04
        assert (x / phantom.depth_mm) ** 2 + (y / (phantom.width_mm / 2)) ** 2 < 1
        if les.kind == "calcification":
            assert 0.1 <= les.size_mm <= 0.5
        elif les.kind == "calcification_cluster":
            # grouped: at least 5 within 1 cm
            assert les.size_mm <= 10.0
            centers = np.array([m["center_mm"] for m in les.details["members"]])
            assert np.allclose(centers.mean(axis=0), les.center_mm)
            assert all(0.1 <= m["size_mm"] <= 0.5 for m in les.details["members"])
        elif les.kind == "mass":
            lo, hi = BREAST_SIZES["small"]["mass_diameter_mm"]
            assert 0.6 * lo <= les.size_mm <= 1.5 * hi


def test_mass_and_calcification_values(phantom):
    for les in phantom.lesions:
        if les.kind == "mass":
            assert _value_at(phantom, les.center_mm) == pytest.approx(mat.MU_CARCINOMA, abs=1e-6)
    # calcifications are analytic: each ellipsoid adds mu - glandular at its centre when rendered
    rendered = phantom.render()
    added = rendered.data.astype(np.float64) - phantom.volume.data
    expected = sum(ell.mu_per_mm * ell.volume_mm3 for ell in phantom.ellipsoids)
    assert added.sum() * np.prod(phantom.volume.grid.voxel_mm) == pytest.approx(expected, rel=0.1)
    for ell in phantom.ellipsoids:
        idx = np.round(phantom.volume.grid.mm_to_index(ell.center_mm)).astype(int)
        near = added[idx[0] - 1 : idx[0] + 2, idx[1] - 2 : idx[1] + 3, idx[2] - 2 : idx[2] + 3]
        assert near.sum() > 0.5 * ell.mu_per_mm * ell.volume_mm3 / np.prod(phantom.volume.grid.voxel_mm)
        assert mat.CALCIFICATION_MU_RANGE[0] - mat.MU_GLANDULAR <= ell.mu_per_mm <= mat.CALCIFICATION_MU_RANGE[1]


def test_tissue_classes_and_skin(phantom):
    data = phantom.volume.data
    grid = phantom.volume.grid
    # outside the outline: air
    assert data[:, 0, :].max() == 0.0 and data[:, :, -1].max() == 0.0
    # along the nipple axis at mid-height: skin just inside the nipple, then tissue
    k = grid.shape[0] // 2
    j = int(np.argmin(np.abs(grid.y_mm)))
    row = data[k, j]
    inside = np.nonzero(row > 0)[0]
    last = inside[-1]
    skin_vox = int(round(phantom.skin_mm / grid.voxel_mm[2]))
    assert np.allclose(row[last - skin_vox + 2 : last], mat.MU_SKIN, atol=1e-6)
    # interior voxels are adipose or glandular (or a mass)
    core = data[2:-2, grid.shape[1] // 2 - 5 : grid.shape[1] // 2 + 5, 40:60]
    allowed = [mat.MU_ADIPOSE, mat.MU_GLANDULAR, mat.MU_CARCINOMA]
    near = np.min([np.abs(core - a) for a in allowed], axis=0)
    assert np.mean(near < 1e-6) > 0.9


@pytest.mark.parametrize("density", ["a", "d"])
def test_density_category_sets_glandular_fraction(density):
    p = breast_phantom(seed=3, size="small", density=density, n_masses=0, n_clusters=0, n_calcifications=0)
    assert p.glandular_fraction == pytest.approx(DENSITY_GLANDULAR_FRACTION[density], abs=0.02)
    n_gland = np.count_nonzero(np.abs(p.volume.data - mat.MU_GLANDULAR) < 1e-6)
    n_fat = np.count_nonzero(np.abs(p.volume.data - mat.MU_ADIPOSE) < 1e-6)
    assert n_gland / (n_gland + n_fat) == pytest.approx(DENSITY_GLANDULAR_FRACTION[density], abs=0.03)


def test_mlo_has_pectoral_muscle_on_the_laterality_side():
    kw = dict(seed=2, size="small", n_masses=0, n_clusters=0, n_calcifications=0)
    cc = breast_phantom(view="RCC", **kw)
    rmlo = breast_phantom(view="RMLO", **kw)
    lmlo = breast_phantom(view="LMLO", **kw)
    muscle = lambda p: np.abs(p.volume.data - mat.MU_MUSCLE) < 1e-6  # noqa: E731
    assert not muscle(cc).any()
    y = rmlo.volume.grid.y_mm
    r_rows = np.nonzero(muscle(rmlo).any(axis=(0, 2)))[0]
    l_rows = np.nonzero(muscle(lmlo).any(axis=(0, 2)))[0]
    # superior end: -y for the right breast, +y for the left (app.dicom.views)
    assert y[r_rows].mean() < 0 < y[l_rows].mean()
    # muscle hugs the chest wall
    x = rmlo.volume.grid.x_mm
    assert x[np.nonzero(muscle(rmlo).any(axis=(0, 1)))[0]].max() < 0.35 * rmlo.depth_mm
    assert (rmlo.laterality, rmlo.view, lmlo.view_name) == ("R", "MLO", "LMLO")


def test_render_on_a_coarser_grid_keeps_the_attenuation_integral(phantom):
    own = phantom.render()
    g = phantom.volume.grid
    coarse = VolumeGrid(
        shape=(int(phantom.thickness_mm), 40, 40),
        voxel_mm=(1.0, 0.8, 0.8),
        origin_mm=(SUPPORT + 0.5, -15.6, 0.4),
    )
    out = phantom.render(coarse)
    total_own = own.data.astype(np.float64).sum() * np.prod(g.voxel_mm)
    total_coarse = out.data.astype(np.float64).sum() * np.prod(coarse.voxel_mm)
    assert total_coarse == pytest.approx(total_own, rel=0.02)
    # nothing below the support or above the paddle
    below = VolumeGrid(shape=(2, 4, 4), voxel_mm=(1.0, 1.0, 1.0), origin_mm=(SUPPORT - 2.0, 0.0, 10.0))
    assert phantom.render(below).data.max() == 0.0


def test_voxelize_ellipsoids_volume():
    grid = VolumeGrid(shape=(20, 20, 20), voxel_mm=(0.25, 0.25, 0.25), origin_mm=(10.0, -2.5, 0.0))
    ell = Ellipsoid((2.4, 0.1, 12.4), (1.2, 0.8, 0.6), 2.0)
    vox = voxelize_ellipsoids(ell, grid, supersample=4)
    assert vox.sum() * 0.25**3 == pytest.approx(2.0 * ell.volume_mm3, rel=1e-6)
    # the shape, not only the amount: full voxels inside, empty outside, half-full ~ volume
    k, j, i = np.round(grid.mm_to_index(ell.center_mm)).astype(int)
    assert vox[k, j, i] == pytest.approx(2.0, rel=0.02)
    pts = grid.index_to_mm(np.stack(np.indices(grid.shape), axis=-1).reshape(-1, 3)).reshape(-1, 3)
    far = ~Ellipsoid(ell.center_mm, (1.6, 1.2, 1.0), 1.0).contains(pts).reshape(grid.shape)
    assert vox[far].max() == 0
    assert np.count_nonzero(vox >= 1.0) * 0.25**3 == pytest.approx(ell.volume_mm3, rel=0.1)
    # a calcification far smaller than the voxel still deposits mu x volume
    tiny = Ellipsoid((2.4, 0.1, 12.4), (0.06, 0.03, 0.03), 1.5)
    coarse = VolumeGrid(shape=(5, 5, 5), voxel_mm=(1.0, 1.0, 1.0), origin_mm=(10.5, -2.0, 0.0))
    assert voxelize_ellipsoids(tiny, coarse).sum() == pytest.approx(1.5 * tiny.volume_mm3, rel=1e-6)


def test_bad_options_raise_clear_errors():
    with pytest.raises(ValueError, match="density"):
        breast_phantom(density="e", size="small")
    with pytest.raises(ValueError, match="view"):
        breast_phantom(view="RML", size="small")
    with pytest.raises(ValueError, match="thickness_mm"):
        breast_phantom(size="small", thickness_mm=-5)
    with pytest.raises(ValueError, match="mass shape"):
        breast_phantom(size="small", mass_shapes=("square",))
    with pytest.raises(ValueError, match="no room"):
        breast_phantom(size="small", n_masses=1, mass_diameter_mm=(40.0, 41.0))
    with pytest.raises(ValueError, match="semi_axes_mm"):
        Ellipsoid((0, 0, 30), (1, 0, 1), 1.0)
    assert parse_view("lmlo") == ("L", "MLO")
