import numpy as np
import pytest

from recon import Geometry, VolumeGrid, arc_geometry, preset_geometry, preset_names


@pytest.mark.parametrize("name", preset_names())
def test_point_projects_to_analytic_position(name):
    geom = preset_geometry(name)
    rng = np.random.default_rng(1)
    pts = np.column_stack([rng.uniform(5, 100, 20), rng.uniform(-80, 80, 20), rng.uniform(25, 70, 20)])
    proj = geom.project_points(pts)
    for v in range(geom.n_views):
        s = geom.source_mm[v]
        n = geom.detector_normal[v]
        o = geom.detector_origin_mm[v]
        for p, (r, c) in zip(pts, proj[v], strict=True):
            # the hit point lies on the detector plane and on the source-point line
            hit = (
                o
                + (c + 0.5) * geom.pixel_mm[1] * geom.detector_u_dir[v]
                + (r + 0.5) * geom.pixel_mm[0] * geom.detector_v_dir[v]
            )
            assert abs(np.dot(hit - o, n)) < 1e-9
            d1, d2 = p - s, hit - s
            assert np.linalg.norm(np.cross(d1, d2)) / (np.linalg.norm(d1) * np.linalg.norm(d2)) < 1e-12


def test_untilted_projection_matches_closed_form():
    geom = preset_geometry("ge-essential")
    p = np.array([40.0, 10.0, 30.0])
    proj = geom.project_points(p)[:, 0]
    for v, theta in enumerate(geom.angles_rad):
        dsr = 660.0 - 40.0
        ys, zs = dsr * np.sin(theta), 40.0 + dsr * np.cos(theta)
        m = zs / (zs - p[2])
        u = 0 + (p[0] - 0) * m
        y = ys + (p[1] - ys) * m
        assert proj[v, 1] == pytest.approx(u / 0.1 - 0.5, abs=1e-9)
        assert proj[v, 0] == pytest.approx((y + 3062 * 0.1 / 2) / 0.1 - 0.5, abs=1e-9)


def test_source_moves_toward_positive_y_for_positive_angle():
    geom = preset_geometry("siemens-mammomat")
    assert geom.angles_rad[-1] > 0 and geom.source_mm[-1, 1] > 0
    assert geom.source_mm[0, 1] < 0
    assert np.allclose(geom.source_mm[:, 0], 0.0)  # half cone: above the chest-wall edge


def test_hologic_detector_tilts_and_others_do_not():
    assert not preset_geometry("hologic-dimensions").is_stationary_flat
    for name in ("ge-essential", "siemens-mammomat", "victre"):
        assert preset_geometry(name).is_stationary_flat
    tilt = np.rad2deg(np.arccos(preset_geometry("hologic-dimensions").detector_normal[:, 2]))
    assert tilt.max() == pytest.approx(2.1, abs=1e-6)


def test_victre_angles():
    geom = preset_geometry("victre")
    assert np.rad2deg(geom.angles_rad[0]) == pytest.approx(-25.0)
    assert np.rad2deg(np.diff(geom.angles_rad)) == pytest.approx(np.full(24, 2.0833), abs=1e-3)


def test_validation_messages():
    with pytest.raises(ValueError, match="source_to_detector_mm > pivot_height_mm"):
        arc_geometry(
            n_views=9, arc_deg=25, source_to_detector_mm=30, pivot_height_mm=40, detector_shape=(10, 10), pixel_mm=0.1
        )
    with pytest.raises(ValueError, match="pixel_mm"):
        arc_geometry(
            n_views=9, arc_deg=25, source_to_detector_mm=660, pivot_height_mm=40, detector_shape=(10, 10), pixel_mm=-1
        )
    with pytest.raises(ValueError, match="unknown system"):
        preset_geometry("nope")
    g = preset_geometry("ge-essential")
    with pytest.raises(ValueError, match="above the detector"):
        Geometry(
            source_mm=g.source_mm * np.array([1, 1, -1]),
            detector_origin_mm=g.detector_origin_mm,
            detector_u_dir=g.detector_u_dir,
            detector_v_dir=g.detector_v_dir,
            pixel_mm=g.pixel_mm,
            detector_shape=g.detector_shape,
            angles_rad=g.angles_rad,
        )


def test_default_grid_spans_support_to_thickness():
    g = preset_geometry("ge-essential", detector_shape=(192, 256), pixel_mm=0.2)
    grid = VolumeGrid.for_geometry(g, 40.0)
    assert grid.shape == (40, 192, 256)
    assert grid.z_mm[0] - 0.5 == pytest.approx(22.0)
    assert grid.z_mm[-1] + 0.5 == pytest.approx(62.0)
    assert grid.x_mm[0] == pytest.approx(0.1)
    idx = grid.mm_to_index(grid.index_to_mm([3, 4, 5]))
    assert idx == pytest.approx([3, 4, 5])


def test_binned_geometry_keeps_extent():
    g = preset_geometry("ge-essential")
    b = g.binned(2)
    assert b.detector_shape == (1531, 1197)
    assert b.pixel_mm == (0.2, 0.2)
