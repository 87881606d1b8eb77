"""The digital QC phantom acquired at falling doses: scores fall monotonically; flat-field uniformity."""

import numpy as np
import pytest

from recon import VolumeGrid, preset_geometry
from recon.phantoms.qc import qc_phantom
from recon.qc.detector import check_flat_field
from recon.qc.phantom_scoring import phantom_report, score_phantom
from recon.qc.quick_recon import shift_and_add
from recon.simulate import reduce_dose, simulate_acquisition, to_line_integrals

DOSES = (1.0, 0.3, 0.1, 0.03)


@pytest.fixture(scope="module")
def session():
    g = preset_geometry("hologic-dimensions", detector_shape=(128, 128), pixel_mm=0.5)
    ph = qc_phantom(support_height_mm=g.support_height_mm)
    full = simulate_acquisition(ph, g, seed=11)
    z = ph.insert_height_mm
    grid = VolumeGrid((17, 128, 128), (1.0, 0.5, 0.5), (z - 8, -31.75, 0.25))
    scores = []
    for f in DOSES:
        p = full if f == 1.0 else reduce_dose(full, f, seed=12)
        scores.append(score_phantom(shift_and_add(to_line_integrals(p).data, g, grid), ph))
    return ph, scores


def test_phantom_layout():
    ph = qc_phantom(support_height_mm=25.0)
    kinds = [o.kind for o in ph.objects]
    assert kinds.count("fibre") == kinds.count("speck_group") == kinds.count("mass") == 6
    assert all(len(o.members_mm) == 6 for o in ph.of_kind("speck_group"))
    assert [o.size_mm for o in ph.of_kind("fibre")] == sorted([o.size_mm for o in ph.of_kind("fibre")], reverse=True)
    assert ph.z_range_mm == (25.0, 67.0) and ph.insert_height_mm == 46.0
    assert len(ph.truth()["objects"]) == len(ph.objects)
    with pytest.raises(ValueError, match="scale"):
        qc_phantom(scale=0)


def test_scores_fall_monotonically_with_dose(session):
    _, scores = session
    for key in ("fibres", "specks", "masses"):
        totals = [s[key]["total"] for s in scores]
        assert all(a >= b for a, b in zip(totals, totals[1:], strict=False)), (key, totals)
        assert totals[0] > totals[-1], (key, totals)
    sdnr = [s["sdnr"] for s in scores]
    assert all(a > b for a, b in zip(sdnr, sdnr[1:], strict=False)), sdnr
    # full dose passes the accreditation-style levels, the lowest dose fails them
    assert all(scores[0]["pass"].values())
    assert not any(scores[-1]["pass"].values())


def test_image_quality_figures(session):
    _, scores = session
    s = scores[0]
    assert s["uniformity"] < 0.01
    assert 0.3 < s["mtf50_x_lp_mm"] < 1.0  # Nyquist of the 0.5 mm test detector is 1 lp/mm
    assert np.isfinite(s["asf_fwhm_mm"]) and s["asf_fwhm_mm"] > 1.0


def test_phantom_report_and_baseline(session):
    _, scores = session
    ok = phantom_report(scores[0])
    assert ok.status == "pass"
    low = phantom_report(scores[-1], baseline={"sdnr": scores[0]["sdnr"]})
    assert low.status == "fail"
    assert low.check("phantom_sdnr").status == "warn"
    assert {c.name for c in low.checks} >= {"phantom_fibres", "phantom_specks", "phantom_masses", "phantom_uniformity"}


def test_flat_field_uniformity():
    rng = np.random.default_rng(0)
    flat = 1000 + rng.normal(0, 5, (100, 120))
    assert check_flat_field(flat).status == "pass"
    # 5 ROIs across a +-12 % gain ramp: the outer ROI means sit about 9.6 % off (warn)
    c = check_flat_field(flat * np.linspace(0.88, 1.12, 120)[None, :])
    assert c.status == "warn" and c.value == pytest.approx(0.096, abs=0.005)
    c = check_flat_field(flat * np.linspace(0.8, 1.2, 120)[None, :])
    assert c.status == "fail" and c.value > 0.1
