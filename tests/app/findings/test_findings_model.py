"""The findings model: placing, describing, measuring, linking, CAD decisions, assessment and the audit trail."""

from __future__ import annotations

import pytest

from app.model.findings import FindingsSession
from app.model.marks import Mark

from .helpers import BTO, STUDY, UIDS, FakeClock, at, cad_mark, known_session, mark, session_with_geometry


def test_ellipse_and_polygon_measured_in_mm():
    e = Mark.ellipse_from_box(
        (50, 50),
        (10, 4),
        angle_deg=30,
        view="CC",
        laterality="R",
        sop_instance_uid="1.2.3",
        sop_class_uid=BTO,
        frame=0,
        pixel_spacing_mm=(0.5, 0.25),
    )
    assert e.center == pytest.approx((50, 50))
    m = e.measurements_mm
    # anisotropic pixels: the axes are measured in mm, not pixels
    assert m["major_axis_mm"] == pytest.approx(2 * 10 * ((0.866 * 0.25) ** 2 + (0.5 * 0.5) ** 2) ** 0.5, rel=1e-3)
    sq = Mark(
        kind="polygon",
        points=((0, 0), (40, 0), (40, 20), (0, 20)),
        view="MLO",
        laterality="L",
        sop_instance_uid="1.2.3",
        sop_class_uid=BTO,
        frame=3,
        pixel_spacing_mm=(0.5, 0.5),
    )
    pm = sq.measurements_mm
    assert pm["area_mm2"] == pytest.approx(20 * 10)
    assert pm["perimeter_mm"] == pytest.approx(60)
    assert pm["longest_diameter_mm"] == pytest.approx((20**2 + 10**2) ** 0.5)
    assert sq.center == pytest.approx((20, 10))
    with pytest.raises(ValueError):
        Mark(
            kind="polygon",
            points=((0, 0), (1, 1)),
            view="CC",
            laterality="L",
            sop_instance_uid="1",
            sop_class_uid=BTO,
            frame=0,
            pixel_spacing_mm=(1, 1),
        )


def test_place_describe_link_locate():
    clock = FakeClock()
    s = session_with_geometry(clock)
    events = []
    s.subscribe(events.append)
    f = s.add_finding("mass", "R", mark=mark("R", "CC", points=(at("R", "CC", 30, 17.3),)))
    assert not f.linked and s.location(f.id).clock is None
    assert s.missing_descriptors(f.id) == ("shape", "margin")
    s.set_mark(f.id, mark("R", "MLO", points=(at("R", "MLO", 30, 17.3),)))
    assert s.finding(f.id).linked
    loc = s.location(f.id)
    assert (loc.laterality, loc.quadrant, loc.clock) == ("R", "UOQ", 10)
    s.update_descriptors(f.id, {"shape": "oval", "margin": "circumscribed"})
    assert s.missing_descriptors(f.id) == ()
    with pytest.raises(ValueError, match="not a valid"):
        s.update_descriptors(f.id, {"margin": "grouped"})
    with pytest.raises(ValueError, match="does not apply"):
        s.update_descriptors(f.id, {"calcification_distribution": "grouped"})
    assert s.finding(f.id).descriptors == {"shape": "oval", "margin": "circumscribed"}
    s.correct_location(f.id, clock=11)
    assert s.location(f.id).clock == 11 and s.derived_location(f.id).clock == 10
    assert [e.kind for e in events] == ["finding_added"] + ["finding_changed"] * 3


def test_link_two_single_view_findings():
    s = session_with_geometry()
    a = s.add_finding(
        "asymmetry", "L", mark=mark("L", "CC", points=(at("L", "CC", 20, 12),)), descriptors={"asymmetry_type": "focal"}
    )
    b = s.add_finding("asymmetry", "L", mark=mark("L", "MLO", points=(at("L", "MLO", 20, 12),)))
    merged = s.link(a.id, b.id)
    assert merged.linked and [f.id for f in s.findings] == [a.id]
    assert s.location(a.id).quadrant == "UOQ" and s.location(a.id).clock == 2
    with pytest.raises(ValueError):
        s.set_mark(a.id, mark("R", "CC"))  # wrong breast


def test_change_kind_keeps_valid_descriptors():
    s = session_with_geometry()
    f = s.add_finding("mass", "R", descriptors={"shape": "round", "associated_features": ["calcifications"]})
    f = s.change_kind(f.id, "architectural_distortion")
    assert f.descriptors == {"associated_features": ("calcifications",)}


def test_history_records_reader_and_time():
    clock = FakeClock(1000.0)
    s = FindingsSession(STUDY, reader="Dr A", clock=clock)
    f = s.add_finding("mass", "L")
    clock.advance(5)
    s.update_descriptors(f.id, {"shape": "round"}, reader="Dr B")
    clock.advance(5)
    s.set_breast_assessment("L", category="3")
    h = s.history
    assert [(e.seq, e.at, e.reader, e.action) for e in h] == [
        (1, 1000.0, "Dr A", "add_finding"),
        (2, 1005.0, "Dr B", "describe"),
        (3, 1010.0, "Dr A", "set_assessment"),
    ]
    assert h[1].detail["before"]["descriptors"] == {} and h[1].detail["after"]["descriptors"] == {"shape": "round"}


def test_cad_accept_and_dismiss():
    s = session_with_geometry()
    s.set_cad_marks([cad_mark("a"), cad_mark("b", kind="calcification_cluster")])
    f = s.accept_cad("a")
    assert f.kind == "mass" and f.cad_id == "a" and f.marks[0].frame == 7
    assert s.cad_decisions["a"].decision == "accepted" and s.cad_decisions["a"].finding_id == f.id
    s.dismiss_cad("b", reason="benign vascular")
    assert s.cad_decisions["b"].decision == "dismissed"
    s.dismiss_cad("a")  # changing one's mind removes the finding made from it
    assert s.findings == [] and s.cad_decisions["a"].decision == "dismissed"
    with pytest.raises(KeyError):
        s.accept_cad("nope")


def test_assessment_defaults_and_warnings():
    s = session_with_geometry()
    r = s.evaluate()
    assert (r.right.category, r.left.category, r.overall_category) == ("1", "1", "1")
    assert r.management == "Routine mammography screening" and r.follow_up == "normal_interval"
    f = s.add_finding("calcifications", "L", category="3")
    r = s.evaluate()
    assert r.left.category == "3" and r.left.category_derived and r.overall_category == "3"
    assert any("screening exams take only" in w for w in r.warnings)
    s.set_exam_assessment(exam_type="diagnostic")
    s.set_breast_assessment("L", category="4A")
    s.set_finding_category(f.id, "4B")
    r = s.evaluate()
    assert any("less worrisome than one of its findings" in w for w in r.warnings)
    assert r.management == "Tissue diagnosis" and r.follow_up_interval_months is None
    s.set_breast_assessment("L", category="3", management="Biopsy")
    s.set_finding_category(f.id, "3")
    r = s.evaluate()
    assert r.left.management == "Biopsy" and r.left.management_edited
    assert any("non-concordant" in w for w in r.warnings)
    assert r.follow_up_interval_months == 6
    with pytest.raises(ValueError):
        s.set_breast_assessment("L", category="7")
    with pytest.raises(ValueError):
        s.set_breast_assessment("L", composition="e")


def test_snapshot_round_trip():
    s, ids = known_session()
    s.set_viewer_state({"layout": "4view", "slice": {"RCC": 10}})
    snap = s.snapshot()
    t = FindingsSession.from_snapshot(snap)
    assert t.snapshot() == snap
    assert t.location(ids[0]).clock == s.location(ids[0]).clock == 10
    assert t.finding(ids[0]).size_mm == pytest.approx(12.0)  # 2 x 12 px at 0.5 mm
    assert t.viewer_state == {"layout": "4view", "slice": {"RCC": 10}}
    assert UIDS[("R", "CC")] in t.geometries
