import numpy as np
import pytest

from recon.qc import dance_data
from recon.qc.dose import (
    DEFAULT_TABLES,
    DoseTables,
    check_dose,
    glandular_dose,
    incident_air_kerma_mgy,
    organ_dose_dgy_to_mgy,
    typical_glandularity,
)
from recon.qc.limits import QCLimits


def test_g_at_table_points_and_between():
    assert DEFAULT_TABLES.g(5.0, 0.50) == pytest.approx(0.258)
    assert DEFAULT_TABLES.g(4.5, 0.40) == pytest.approx(0.232)
    # bilinear between (5 cm, 0.50) 0.258, (5, 0.55) 0.287, (6, 0.50) 0.214, (6, 0.55) 0.236
    assert DEFAULT_TABLES.g(5.5, 0.525) == pytest.approx((0.258 + 0.287 + 0.214 + 0.236) / 4)
    # g falls with thickness and rises with HVL everywhere in the table
    grid = np.array([dance_data.G_FACTOR[h] for h in dance_data.HVL_MM_AL])
    assert np.all(np.diff(grid, axis=1) < 0) and np.all(np.diff(grid, axis=0) > 0)


def test_out_of_table_is_an_error_naming_the_value():
    with pytest.raises(ValueError, match="120 mm"):
        DEFAULT_TABLES.g(12.0, 0.4)
    with pytest.raises(ValueError, match="HVL 0.700"):
        DEFAULT_TABLES.g(5.0, 0.7)
    with pytest.raises(ValueError, match="W/Al"):
        DEFAULT_TABLES.s("W/Al")
    assert DEFAULT_TABLES.s("tungsten/silver") == 1.042


def test_typical_glandularity_agrees_with_the_pmma_equivalent_breast():
    # European-guidelines standard breast: 45 mm PMMA ~ 53 mm breast of ~29 % glandularity
    assert typical_glandularity(53.0) == pytest.approx(0.29, abs=0.01)
    assert typical_glandularity(40.0, age_group="40-49") == pytest.approx(0.65)
    with pytest.raises(ValueError):
        typical_glandularity(130.0)


def test_dance_2d_and_dbt():
    d2 = glandular_dose(
        incident_air_kerma_mgy=10.0, hvl_mm_al=0.5, thickness_mm=50, target_filter="W/Rh", glandularity=0.5
    )
    assert d2.total_mgy == pytest.approx(10.0 * 0.258 * 1.0 * 1.042)
    assert d2.assumptions == ()
    ang = np.deg2rad(np.linspace(-7.5, 7.5, 15))
    d3 = glandular_dose(
        incident_air_kerma_mgy=np.full(15, 10.0 / 15),
        hvl_mm_al=0.5,
        thickness_mm=50,
        target_filter="W/Rh",
        glandularity=0.5,
        angles_rad=ang,
    )
    assert d3.per_view_mgy.shape == (15,)
    assert d3.total_mgy == pytest.approx(d2.total_mgy)  # t = 1 assumed, and said so
    assert any(a.startswith("t = 1") for a in d3.assumptions)


def test_site_tables_for_c_and_t_are_used():
    tables = DoseTables(
        g_factor=dance_data.G_FACTOR,
        thickness_cm=dance_data.THICKNESS_CM,
        hvl_mm_al=dance_data.HVL_MM_AL,
        s_factor=dance_data.S_FACTOR,
        c_factor=lambda t, h, g: 1.1,
        t_factor=lambda a, t: np.cos(a),
    )
    ang = np.deg2rad([-10.0, 0.0, 10.0])
    d = glandular_dose(
        incident_air_kerma_mgy=[1.0, 1.0, 1.0],
        hvl_mm_al=0.4,
        thickness_mm=40,
        target_filter="Mo/Rh",
        glandularity=0.3,
        angles_rad=ang,
        tables=tables,
    )
    assert d.assumptions == ()
    assert d.per_view_mgy == pytest.approx(0.261 * 1.1 * 1.017 * np.cos(ang))


def test_missing_c_factor_is_stated():
    d = glandular_dose(incident_air_kerma_mgy=5.0, hvl_mm_al=0.45, thickness_mm=60, target_filter="W/Ag")
    assert d.glandularity == pytest.approx(0.21)
    assert d.c == 1.0 and any(a.startswith("c = 1") for a in d.assumptions)


def test_inputs_are_validated():
    with pytest.raises(ValueError, match="kerma"):
        glandular_dose(incident_air_kerma_mgy=-1, hvl_mm_al=0.4, thickness_mm=40, target_filter="W/Rh")
    with pytest.raises(ValueError, match="angles"):
        glandular_dose(incident_air_kerma_mgy=[1, 2], hvl_mm_al=0.4, thickness_mm=40, target_filter="W/Rh")
    with pytest.raises(ValueError, match="3 kerma values for 2 angles"):
        glandular_dose(
            incident_air_kerma_mgy=[1, 2, 3], hvl_mm_al=0.4, thickness_mm=40, target_filter="W/Rh", angles_rad=[0, 0.1]
        )


def test_kerma_from_output_and_organ_dose_units():
    k = incident_air_kerma_mgy([10.0, 20.0], output_mgy_per_mas_at_1m=0.05, focus_to_surface_mm=500.0)
    assert k == pytest.approx([10 * 0.05 * 4, 20 * 0.05 * 4])
    assert organ_dose_dgy_to_mgy(0.0125) == pytest.approx(1.25)


def test_check_dose_levels_and_header_comparison():
    def est(k):
        return glandular_dose(
            incident_air_kerma_mgy=k, hvl_mm_al=0.5, thickness_mm=50, target_filter="W/Rh", glandularity=0.5
        )

    lim = QCLimits()
    assert check_dose(est(5.0)).status == "pass"  # 1.34 mGy
    assert check_dose(est(10.0)).status == "warn"  # 2.69 mGy > 2.5
    c = check_dose(est(12.0))  # 3.23 mGy > 3.0
    assert c.status == "fail" and c.value > lim.dose_fail_mgy
    ok = check_dose(est(5.0), header_dose_mgy=1.3)
    assert ok.status == "pass" and ok.data["header_relative_difference"] == pytest.approx(1.3443 / 1.3 - 1, abs=1e-3)
    off = check_dose(est(5.0), header_dose_mgy=0.9)
    assert off.status == "warn" and "differs from the header" in off.detail


def test_no_c_assumption_where_the_typical_breast_is_50_percent_glandular_but_t_is_still_stated():
    # [D2000]: the typical 40 mm breast of women aged 50-64 is 50 % glandular, where c = 1 by definition
    ang = np.deg2rad(np.linspace(-7.5, 7.5, 15))
    d = glandular_dose(
        incident_air_kerma_mgy=np.full(15, 0.2), hvl_mm_al=0.5, thickness_mm=40, target_filter="W/Rh", angles_rad=ang
    )
    assert d.glandularity == pytest.approx(0.5) and d.c == 1.0
    assert not any(a.startswith("c = 1") for a in d.assumptions)
    assert d.total_mgy == pytest.approx(15 * 0.2 * 0.318 * 1.042)
    c = check_dose(d)
    assert "assumed:" in c.detail and "t = 1" in c.detail
    assert set(dance_data.MISSING) == {"c_factor", "t_factor", "s_factor W/AL"}
