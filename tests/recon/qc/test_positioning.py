import pytest

from recon.qc.positioning import check_pnl_cc_mlo, check_positioning, measure_positioning
from tests.recon.qc.images2d import breast_image


def test_cc_nipple_and_pnl():
    img, truth = breast_image(view="CC")
    m = measure_positioning(img, view="CC", pixel_mm=0.3)
    assert m.nipple_in_profile
    assert m.pnl_mm == pytest.approx(truth["pnl_mm"], abs=1.0)
    assert [c.status for c in check_positioning(m)] == ["pass"]


def test_nipple_not_in_profile_warns():
    img, _ = breast_image(view="CC", nipple=False)
    (c,) = check_positioning(measure_positioning(img, view="CC", pixel_mm=0.3))
    assert c.status == "warn" and c.needs_confirmation


@pytest.mark.parametrize(("cw", "top", "reaches"), [(70, 30, True), (95, 40, True), (30, 8, False)])
def test_mlo_pectoral_to_pnl(cw, top, reaches):
    img, truth = breast_image(view="MLO", pectoral_cw_mm=cw, pectoral_top_mm=top)
    assert truth["reaches"] == reaches
    m = measure_positioning(img, view="MLO", pixel_mm=0.3)
    assert m.pectoral_line is not None
    assert m.pnl_mm == pytest.approx(truth["pnl_mm"], abs=2.0)
    assert m.pectoral_reaches_pnl == reaches
    c = check_positioning(m)[1]
    assert c.name == "pectoral_to_pnl" and c.status == ("pass" if reaches else "warn")


def test_pnl_cc_vs_mlo_within_1cm():
    cc = measure_positioning(breast_image(view="CC")[0], view="CC", pixel_mm=0.3)
    mlo = measure_positioning(breast_image(view="MLO")[0], view="MLO", pixel_mm=0.3)
    c = check_pnl_cc_mlo(cc, mlo)
    assert c.status == "warn" and c.value == pytest.approx(52.5 - 41.5, abs=2.0)
    img, truth = breast_image(view="MLO", pectoral_cw_mm=95, pectoral_top_mm=10)
    assert abs(52.5 - truth["pnl_mm"]) < 8
    mlo2 = measure_positioning(img, view="MLO", pixel_mm=0.3)
    assert check_pnl_cc_mlo(cc, mlo2).status == "pass"


def test_bad_input():
    with pytest.raises(ValueError, match="view"):
        measure_positioning(breast_image(view="CC")[0], view="ML", pixel_mm=0.3)
