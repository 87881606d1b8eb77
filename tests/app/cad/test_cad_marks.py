"""CAD marks in the reading session (pure model) and their glyphs (drawing functions, no window)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from app.model.cad_marks import CASE_SCORE_KIND, SOURCE, CadMarksController, finding_items
from app.model.demo import demo_study
from app.model.session import ReadingSession
from app.model.view_geometry import compute_view
from cad.types import CaseResult, Finding


@pytest.fixture(scope="module")
def study():
    return demo_study(shape=(12, 96, 128), pixel_mm=0.5, synthetic2d=False)


def _result(image) -> CaseResult:
    k, r, c = image.metadata["truth"]["mass"]
    members = tuple(
        Finding("calcification", (3, 30 + dr, 80 + dc), (0, 0, 0), (0.3, 0.3, 1), 50, "m@1")
        for dr, dc in ((0, 0), (5, 2), (-2, 6), (3, -5))
    )
    return CaseResult(
        (
            Finding("mass", (k, r, c), (0, 0, 0), (8, 6, 4), 87, "m@1"),
            Finding("calcification_cluster", (3, 31.5, 80.75), (0, 0, 0), (4, 4, 1), 66, "m@1", members),
        ),
        87,
        ("m@1",),
    )


def _cad_items(vp):
    return [it for it in vp.overlays if it.source == SOURCE]


def test_results_become_overlay_items_on_the_right_slices(study):
    session = ReadingSession(study=study)
    cad = CadMarksController(session, geometry_for=lambda i: compute_view(session.viewports[i], 640, 480))
    image = session.viewports[1].image  # L CC in the 4-view hanging
    cad.set_result(image.uid, _result(image))
    assert _cad_items(session.viewports[0]) == []
    items = _cad_items(session.viewports[1])
    kinds = [it.kind for it in items]
    assert kinds == ["cad_mass", "cad_cluster", CASE_SCORE_KIND]
    mass, cluster, score = items
    k, r, c = image.metadata["truth"]["mass"]
    assert mass.points[0] == (r, c) and mass.label == "87" and mass.shows_on(k)
    assert not mass.shows_on(k - 4) and not mass.shows_on(k + 4)  # 4 mm deep: focal slice +-2
    assert score.label == "CAD case score 87" and score.shows_on(0)
    assert len(cluster.points) > 4  # centre + hull around the 4 members
    assert study.case_score == 87
    # the marks follow the image into another stage (new viewports)
    session.set_protocol("cc")
    assert any(_cad_items(vp) for vp in session.viewports)
    cad.close()


def test_toggle_and_next_previous_tour(study):
    session = ReadingSession(study=study)
    cad = CadMarksController(session, geometry_for=lambda i: compute_view(session.viewports[i], 640, 480))
    image = session.viewports[1].image
    result = _result(image)
    cad.set_result(image.uid, result)
    cad.toggle()
    assert all(not it.visible for it in _cad_items(session.viewports[1]))
    cad.toggle()
    assert all(it.visible for it in _cad_items(session.viewports[1]))
    jumps = []
    cad.events.jumped.connect(lambda e: jumps.append((e.viewport, e.finding.kind)))
    vp = session.viewports[1]
    for expected in (result.findings[0], result.findings[1], result.findings[0]):  # wraps around
        index, f = cad.next()
        assert (index, f) == (1, expected)
        assert session.active_index == 1 and vp.slice_index == round(expected.center_index[0])
        g = compute_view(vp, 640, 480)
        dy, dx = image.pixel_mm
        x, y = g.world_to_display(expected.center_index[2] * dx, expected.center_index[1] * dy)
        assert math.hypot(x - 320, y - 240) < 1e-6  # the mark is in the centre
    assert cad.previous()[1] is result.findings[1]
    assert jumps == [(1, "mass"), (1, "calcification_cluster"), (1, "mass"), (1, "calcification_cluster")]
    cad.toggle()
    cad.next()  # jumping to a finding shows the marks again
    assert cad.visible and all(it.visible for it in _cad_items(vp))
    cad.clear()
    assert _cad_items(vp) == [] and cad.next() is None


def test_cad_marks_for_the_findings_panel(study):
    from app.model.findings import FindingsSession

    session = ReadingSession(study=study)
    cad = CadMarksController(session)
    image = study.images[0]
    cad.set_result(image.uid, _result(image))
    marks = cad.cad_marks()
    assert [(m.kind, m.slice_index, m.row, m.col, m.score) for m in marks] == [
        (f.kind, round(f.center_index[0]), f.center_index[1], f.center_index[2], f.score)
        for f in _result(image).findings
    ]
    assert marks[0].laterality == image.laterality and marks[0].view == image.view
    findings = FindingsSession(study.study_uid)
    findings.set_cad_marks(marks)
    accepted = findings.accept_cad(marks[0].id)
    assert accepted.kind == "mass" and accepted.marks[0].frame == marks[0].slice_index
    assert cad_again_ids(study) == [m.id for m in marks]  # ids are stable across runs


def cad_again_ids(study):
    session = ReadingSession(study=study)
    cad = CadMarksController(session)
    cad.set_result(study.images[0].uid, _result(study.images[0]))
    return [m.id for m in cad.cad_marks()]


def test_glyphs_are_drawn_around_the_mark():
    from app.model.viewport import ViewportState
    from app.render import cad_marks  # noqa: F401  (registers the glyphs)
    from app.render.overlay_items import item_drawing

    study = demo_study(shape=(8, 64, 96), pixel_mm=0.5, synthetic2d=False)
    image = study.images[0]
    vp = ViewportState()
    vp.show(image)
    g = compute_view(vp, 400, 300)
    dy, dx = image.pixel_mm
    for f in _result(image).findings:
        (item,) = finding_items(f, image)
        lines, labels = item_drawing(item, g, image)
        cx, cy = g.world_to_display(f.center_index[2] * dx, f.center_index[1] * dy)
        assert lines and labels[0][2] == f"{f.score:.0f}"
        glyph = lines[:1] if f.kind == "calcification_cluster" else lines[:6]  # triangle / 3-armed asterisk
        for line in glyph:
            for x, y in line:
                assert math.hypot(x - cx, y - cy) <= cad_marks.GLYPH_PX + 1e-6
        outline = lines[len(glyph)]  # then the contour, in image pixels
        assert max(math.hypot(x - cx, y - cy) for x, y in outline) > cad_marks.GLYPH_PX / 4
        bx, by, _ = labels[0]
        assert bx > cx  # the badge sits to the right: above for masses, below for calcifications
        assert (by > cy) if f.kind == "calcification_cluster" else (by < cy)
    with pytest.raises(ValueError, match="cyst"):
        finding_items(SimpleNamespace(kind="cyst"), image)


def test_operating_point_hides_low_scores_until_show_all(study):
    session = ReadingSession(study=study)
    cad = CadMarksController(session, min_score=70)  # between the cluster (66) and the mass (87)
    image = session.viewports[1].image
    result = _result(image)
    cad.set_result(image.uid, result)
    assert [it.kind for it in _cad_items(session.viewports[1])] == ["cad_mass", CASE_SCORE_KIND]
    assert [f.kind for _, f in cad.tour()] == ["mass"]
    shown = []
    cad.events.show_all.connect(lambda e: shown.append(e.value))
    cad.toggle_show_all()
    assert [it.kind for it in _cad_items(session.viewports[1])] == ["cad_mass", "cad_cluster", CASE_SCORE_KIND]
    assert [f.kind for _, f in cad.tour()] == ["mass", "calcification_cluster"]
    cad.toggle_show_all()
    assert [f.kind for _, f in cad.tour()] == ["mass"] and shown == [True, False]
    cad.close()
