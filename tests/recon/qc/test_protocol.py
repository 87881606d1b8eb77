import numpy as np
import pytest

from recon import Geometry, preset_geometry
from recon.qc.protocol import (
    check_angles,
    check_geometry_consistency,
    check_projection_count,
    expected_angles_deg,
)


def test_expected_angles_of_presets():
    assert expected_angles_deg("victre")[:2] == pytest.approx([-25.0, -25 + 50 / 24])
    assert expected_angles_deg("ge-essential") == pytest.approx(np.linspace(-12.5, 12.5, 9))
    with pytest.raises(ValueError, match="unknown system"):
        expected_angles_deg("nope")


def test_conforming_sweep_passes():
    g = preset_geometry("siemens-mammomat", detector_shape=(16, 12), pixel_mm=1.0)
    for check in (check_projection_count, check_angles):
        assert check(g, "siemens-mammomat").status == "pass"
    assert check_geometry_consistency(g).status == "pass"


def test_duplicate_projection():
    g = preset_geometry("ge-essential", detector_shape=(16, 12), pixel_mm=1.0)
    dup = g.subset([0, 1, 2, 3, 4, 4, 5, 6, 7])
    c = check_projection_count(dup, "ge-essential")
    assert c.status == "fail" and c.views == (4, 5) and "duplicate" in c.detail


def test_angle_off_by_a_quarter_step_warns():
    g = preset_geometry("ge-essential", detector_shape=(16, 12), pixel_mm=1.0)
    from recon.geometry import arc_geometry

    ang = np.deg2rad(np.linspace(-12.5, 12.5, 9))
    ang[2] += np.deg2rad(0.3)
    g2 = arc_geometry(
        angles_rad=ang, source_to_detector_mm=660, pivot_height_mm=40, detector_shape=(16, 12), pixel_mm=1.0
    )
    c = check_angles(g2, "ge-essential")
    assert c.status == "warn" and c.views == (2,)
    assert check_angles(g, "ge-essential").status == "pass"


def test_angles_that_disagree_with_the_source_positions():
    g = preset_geometry("ge-essential", detector_shape=(16, 12), pixel_mm=1.0)
    ang = g.angles_rad.copy()
    ang[6] += np.deg2rad(1.0)
    bad = Geometry(
        g.source_mm,
        g.detector_origin_mm,
        g.detector_u_dir,
        g.detector_v_dir,
        g.pixel_mm,
        g.detector_shape,
        ang,
        pivot_height_mm=g.pivot_height_mm,
    )
    c = check_geometry_consistency(bad)
    assert c.status == "fail" and c.views == (6,)
