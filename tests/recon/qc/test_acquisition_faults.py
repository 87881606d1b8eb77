"""Acquisition checks on simulated acquisitions (H3's breast phantom + simulate_acquisition) with injected faults."""

import numpy as np
import pytest

from recon.qc.acquisition import run_acquisition_qc
from recon.qc.exposure import check_exposure
from recon.qc.motion import check_motion
from recon.qc.results import NotAssessable
from tests.recon.qc.acquisitions import THICKNESS_MM, acquire

SATURATION = 2.0**16 - 1


def _qc(p, system="hologic-dimensions"):
    return run_acquisition_qc(p, system=system, thickness_mm=THICKNESS_MM, saturation_level=SATURATION)


@pytest.mark.parametrize("seed", range(20))
def test_clean_acquisitions_raise_no_alarm(seed):
    system = "hologic-dimensions" if seed % 3 else "ge-essential"
    p = acquire(system=system, seed=100 + seed, phantom_seed=seed % 4)
    report = _qc(p, system)
    bad = [(c.name, c.detail) for c in report.checks if c.status != "pass"]
    assert report.status == "pass", bad
    ran = {c.name for c in report.checks}
    assert {
        "projection_count",
        "angles",
        "geometry_consistency",
        "exposure",
        "saturation",
        "motion",
        "detector_defects",
    } <= ran


def test_dropped_projection_is_detected_and_located():
    p = acquire(seed=1, drop_view=6)  # 14 of 15 projections: the one at -1.07 degrees is missing
    report = _qc(p)
    c = report.check("projection_count")
    assert c.status == "fail"
    assert c.value == 14 and c.limit == 15
    assert c.views == (5, 6)  # the neighbours of the gap in the set as received
    assert "missing between 5" in c.detail and "no projection at -1.07 deg" in c.detail


def test_blank_projection_is_reported_as_dropped():
    f = np.ones(15)
    f[11] = 0.0
    c = check_exposure(acquire(seed=2, exposure_factors=f))
    assert c.status == "fail" and c.views == (11,) and "dropped" in c.detail


@pytest.mark.parametrize(
    ("size_mm", "direction", "first_view"),
    [(1.0, (0.0, 1.0), 9), (3.0, (0.0, 1.0), 5), (1.0, (1.0, 0.0), 4), (3.0, (0.6, 0.8), 11)],
)
def test_patient_motion_is_detected_sized_and_located(size_mm, direction, first_view):
    shift = (size_mm * direction[0], size_mm * direction[1])
    p = acquire(seed=3, phantom_seed=1, motion_from_view=first_view, motion_mm=shift)
    c = check_motion(p, thickness_mm=THICKNESS_MM)
    assert c.status != "pass"
    if size_mm >= 3:
        assert c.status == "fail"
    assert c.value == pytest.approx(size_mm, abs=0.15)
    assert c.data["first_moved_view"] == first_view
    assert c.views[0] == first_view
    assert c.data["shift_mm_xy"] == pytest.approx(list(shift), abs=0.15)


def test_motion_on_a_nine_view_sweep():
    p = acquire(system="ge-essential", seed=4, phantom_seed=2, motion_from_view=3, motion_mm=(0.0, 1.0))
    c = check_motion(p, thickness_mm=THICKNESS_MM)
    assert c.status != "pass" and c.data["first_moved_view"] == 3
    assert c.value == pytest.approx(1.0, abs=0.15)


def test_thirty_percent_underexposure_of_one_projection():
    f = np.ones(15)
    f[4] = 0.7
    report = _qc(acquire(seed=5, exposure_factors=f))
    c = report.check("exposure")
    assert c.status == "fail" and c.views == (4,)
    assert c.value == pytest.approx(-0.3, abs=0.02)
    assert "under-exposed by 30 %" in c.detail


def test_dead_detector_column():
    report = _qc(acquire(seed=6, dead_columns=(40,)))
    c = report.check("detector_defects")
    assert c.status == "fail"
    assert c.data["columns"] == [40] and c.data["rows"] == [] and c.data["pixels"] == []
    assert "40 (dead)" in c.detail


def test_wrong_angle_list_is_detected_against_the_system_and_in_the_images():
    stated = np.linspace(-7.5, 7.5, 15)
    stated[10] += 2.0  # the header claims +4.5 degrees for a projection taken at +2.5
    p = acquire(seed=7, phantom_seed=1, stated_angles_deg=stated)
    report = _qc(p)
    a = report.check("angles")
    assert a.status == "fail" and a.views == (10,)
    assert a.value == pytest.approx(2.0, abs=1e-6)
    # the projections themselves disagree with the stated trajectory at that view
    m = report.check("motion")
    assert m.status != "pass" and m.views == (10,) and m.data["model"] == "view"


def test_wrong_sweep_range():
    # a 15-degree system whose header says 25 degrees
    p = acquire(seed=8, stated_angles_deg=np.linspace(-12.5, 12.5, 15))
    report = _qc(p)
    a = report.check("angles")
    assert a.status == "fail" and a.views == tuple(v for v in range(15) if v != 7)
    assert "25.00 deg (system 15.00)" in a.detail


def test_line_integrals_skip_exposure_and_motion_needs_features():
    from recon import ProjectionSet

    p = acquire(seed=9, extra_calcifications=0, phantom_seed=3)
    li = ProjectionSet(-np.log(np.maximum(p.data, 1.0) / p.data.max()).astype(np.float32), p.geometry)
    with pytest.raises(NotAssessable, match="raw detector signal"):
        check_exposure(li)
    report = _qc(li)
    assert "exposure" in dict(report.not_run)
    d = report.to_dict()
    assert {n["name"] for n in d["not_run"]} >= {"exposure", "saturation"}
