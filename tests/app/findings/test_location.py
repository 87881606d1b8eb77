"""Location from known geometry: clock face, quadrant, depth and distance in both breasts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.model.location import (
    BreastGeometry,
    LocationCorrection,
    derive_location,
    estimate_nipple_px,
)

SP = 0.5  # mm per pixel
ROWS, COLS = 240, 120
NIPPLE_ROW = 120.0

# stored-frame Patient Orientation of the standard views (dicom.md 3.1)
PO = {("R", "CC"): "P\\L", ("R", "MLO"): "P\\FL", ("L", "CC"): "A\\R", ("L", "MLO"): "A\\FR"}


def geometry(lat, view, obliquity=0.0):
    # nipple at the anterior edge: column 4 when columns run toward the chest wall (P), else COLS-5
    nipple_col = 4.0 if PO[(lat, view)].startswith("P") else COLS - 5.0
    return BreastGeometry.from_patient_orientation(
        lat,
        view,
        PO[(lat, view)],
        rows=ROWS,
        columns=COLS,
        pixel_spacing_mm=(SP, SP),
        nipple_px=(nipple_col, NIPPLE_ROW),
        obliquity_deg=obliquity,
    )


def place(lat, lateral_mm, superior_mm, posterior_mm=30.0, obliquity=0.0):
    """Pixel positions on CC and MLO of a finding at a known anatomical position."""
    g_cc, g_mlo = geometry(lat, "CC"), geometry(lat, "MLO", obliquity)
    pts = {}
    for fam, g, trans in (
        ("CC", g_cc, lateral_mm),
        ("ML", g_mlo, superior_mm * math.cos(math.radians(obliquity)) + lateral_mm * math.sin(math.radians(obliquity))),
    ):
        # invert offsets_mm for axis-aligned directions
        col = g.nipple_px[0] + (posterior_mm * g.posterior_dir[0] + trans * g.transverse_dir[0]) / SP
        row = g.nipple_px[1] + (posterior_mm * g.posterior_dir[1] + trans * g.transverse_dir[1]) / SP
        pts[fam] = (col, row)
    return pts, {"CC": g_cc, "ML": g_mlo}


def test_standard_orientations_parsed():
    g = geometry("R", "CC")
    assert g.posterior_dir == (1.0, 0.0)  # columns run toward the chest wall
    assert g.transverse_dir == (0.0, -1.0)  # rows run toward the patient's left = medial: lateral is up
    g = geometry("L", "CC")
    assert g.posterior_dir == (-1.0, 0.0) and g.transverse_dir == (0.0, -1.0)  # rows toward R = medial
    g = geometry("R", "MLO")
    assert g.transverse_dir == (0.0, -1.0)  # rows run toward the feet: superior is up
    assert g.chest_wall_distance_mm == pytest.approx((COLS - 0.5 - 4.0) * SP)


@pytest.mark.parametrize(
    ("lateral", "superior", "right", "left", "quadrant"),
    [
        (30.0, 0.1, 9, 3, "UOQ"),  # lateral, at the nipple level
        (-30.0, 0.1, 3, 9, "UIQ"),  # medial
        (0.0, 30.0, 12, 12, "UOQ"),  # straight up
        (0.1, -30.0, 6, 6, "LOQ"),  # straight down
        (30.0, 17.3, 10, 2, "UOQ"),  # upper outer: 10 o'clock right, 2 o'clock left
        (15.0, 26.0, 11, 1, "UOQ"),  # upper outer: 11 right, 1 left
        (-30.0, -17.3, 4, 8, "LIQ"),  # lower inner
        (30.0, -17.3, 8, 4, "LOQ"),  # lower outer: 8 right, 4 left
        (-15.0, 26.0, 1, 11, "UIQ"),
    ],
)
def test_clock_face_both_breasts_mirror(lateral, superior, right, left, quadrant):
    for lat, expected in (("R", right), ("L", left)):
        pts, geos = place(lat, lateral, superior)
        loc = derive_location(pts, geos)
        assert loc.clock == expected, (lat, loc)
        assert loc.quadrant == quadrant
        assert loc.laterality == lat


@pytest.mark.parametrize("hour", range(1, 13))
@pytest.mark.parametrize("lat", ["R", "L"])
def test_every_hour_round_trips(lat, hour):
    a = math.radians(30 * hour)
    x, v = 40 * math.sin(a), 40 * math.cos(a)  # x toward the viewer's right
    u = -x if lat == "R" else x
    pts, geos = place(lat, u, v)
    assert derive_location(pts, geos).clock == hour


def test_mlo_obliquity_correction():
    # a 45-degree MLO shows a lateral finding higher than it is; the correction removes it
    pts, geos = place("R", 30.0, -10.0, obliquity=45.0)
    corrected = derive_location(pts, geos)
    assert corrected.quadrant == "LOQ" and corrected.clock == 8
    naive = {"CC": geos["CC"], "ML": geometry("R", "MLO")}
    assert derive_location(pts, naive).quadrant == "UOQ"  # treated as a true lateral it looks upper


@pytest.mark.parametrize(("posterior", "depth"), [(5.0, "anterior"), (25.0, "middle"), (45.0, "posterior")])
def test_depth_thirds_and_distance(posterior, depth):
    pts, geos = place("L", 30.0, 20.0, posterior_mm=posterior)
    loc = derive_location(pts, geos)
    assert loc.depth == depth
    # the distance from the nipple is measured in each view's plane and averaged
    d_cc, d_mlo = math.hypot(posterior, 30.0), math.hypot(posterior, 20.0)
    assert loc.distance_from_nipple_cm == pytest.approx((d_cc + d_mlo) / 20.0, abs=0.01)


def test_near_nipple_is_retroareolar_or_central():
    pts, geos = place("R", 3.0, -2.0, posterior_mm=8.0)
    loc = derive_location(pts, geos)
    assert loc.region == "retroareolar" and loc.clock is None and loc.quadrant is None
    pts, geos = place("R", 3.0, -2.0, posterior_mm=30.0)
    assert derive_location(pts, geos).region == "central"


def test_single_view_gives_half_only():
    pts, geos = place("R", 30.0, 20.0)
    loc = derive_location({"CC": pts["CC"]}, {"CC": geos["CC"]})
    assert loc.clock is None and loc.quadrant is None and loc.lateral_medial == "lateral"
    loc = derive_location({"ML": pts["ML"]}, {"ML": geos["ML"]})
    assert loc.superior_inferior == "superior" and loc.clock is None


def test_reader_correction_overrides():
    pts, geos = place("R", 30.0, 17.3)
    loc = derive_location(pts, geos)
    corrected = LocationCorrection(clock=11, depth="anterior").apply_to(loc)
    assert (corrected.clock, corrected.depth, corrected.quadrant) == (11, "anterior", "UOQ")
    with pytest.raises(ValueError):
        LocationCorrection(clock=13)


def test_bad_geometry_rejected():
    with pytest.raises(ValueError, match="anterior/posterior"):
        BreastGeometry.from_patient_orientation(
            "R", "CC", "L\\F", rows=10, columns=10, pixel_spacing_mm=(1, 1), nipple_px=(0, 5)
        )
    with pytest.raises(ValueError, match="left/right"):
        BreastGeometry.from_patient_orientation(
            "R", "CC", "P\\F", rows=10, columns=10, pixel_spacing_mm=(1, 1), nipple_px=(0, 5)
        )
    with pytest.raises(ValueError, match="view"):
        geometry("R", "CC").__class__(
            laterality="R",
            view="AP",
            pixel_spacing_mm=(1, 1),
            nipple_px=(0, 0),
            posterior_dir=(1, 0),
            transverse_dir=(0, 1),
            chest_wall_distance_mm=10,
        )


def test_estimate_nipple_on_a_half_disc():
    img = np.zeros((ROWS, COLS), np.float32)
    rr, cc = np.mgrid[:ROWS, :COLS]
    img[(rr - 100) ** 2 + (cc - (COLS - 1)) ** 2 < 90**2] = 1.0  # chest wall on the right, nipple toward col 0
    col, row = estimate_nipple_px(img, (1.0, 0.0))
    assert row == pytest.approx(100, abs=1) and col == pytest.approx(COLS - 90, abs=1)
