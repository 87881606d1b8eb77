"""The glue between viewer and findings without windows: coordinate order, polygon closing,
viewer state round trip, view geometry of real images."""

from __future__ import annotations

import json

import pytest

from app.model.tools import PointerEvent


@pytest.fixture(scope="module")
def study(demo_exam):
    from app.model.loading import load_store_study

    return load_store_study(demo_exam.study_uid, store_dir=demo_exam.store).study


def _ev(row, col, *, total=(0.0, 0.0)):
    return PointerEvent(x=col, y=row, row=row, col=col, button="left", total_dx=total[0], total_dy=total[1])


def _reading(study):
    from app.model.annotation import AnnotationController, FindingsOverlay, bind
    from app.model.findings import FindingsSession
    from app.model.interaction import InteractionController
    from app.model.session import ReadingSession

    rs = ReadingSession()
    rs.open(study)
    findings = FindingsSession(study.study_uid, reader="Doe^Jane")
    bind(rs, AnnotationController(findings))
    overlay = FindingsOverlay(findings, lambda: rs.viewports)
    return rs, findings, InteractionController(rs), overlay


def test_marks_are_col_row_and_overlays_row_col(study):
    rs, findings, ctl, _ = _reading(study)
    rs.tool = "birads_ellipse"
    vp = rs.viewports[1]  # L CC
    vp.slice_index = 7
    ctl.press(1, _ev(20.0, 10.0))
    ctl.move(1, _ev(30.0, 40.0, total=(30, 10)))
    preview = [it for it in vp.overlays if it.source == "birads_preview"]
    assert len(preview) == 1 and preview[0].points == ((20.0, 10.0), (30.0, 40.0))  # (row, col) while drawing
    ctl.release(1, _ev(30.0, 40.0, total=(30, 10)))
    assert not [it for it in vp.overlays if it.source == "birads_preview"]
    (f,) = findings.findings
    (m,) = f.marks
    assert (m.laterality, m.view, m.frame) == ("L", "CC", 7)
    assert m.sop_instance_uid == vp.image.metadata["sop_instance_uid"]
    # the mark: (col, row); a 30 x 10 pixel box -> major axis along the columns
    assert m.center == pytest.approx((25.0, 25.0))
    assert m.points[0] == pytest.approx((10.0, 25.0)) and m.points[1] == pytest.approx((40.0, 25.0))
    dy, dx = vp.image.pixel_mm
    assert m.measurements_mm["major_axis_mm"] == pytest.approx(30 * dx)
    assert m.measurements_mm["minor_axis_mm"] == pytest.approx(10 * dy)
    # the overlay: (row, col), drawn on that slice only, on the viewport of that image only
    (item,) = [it for it in vp.overlays if it.source == "birads"]
    rows = [p[0] for p in item.points]
    cols = [p[1] for p in item.points]
    assert min(rows) == pytest.approx(20.0, abs=0.05) and max(rows) == pytest.approx(30.0, abs=0.05)
    assert min(cols) == pytest.approx(10.0, abs=0.05) and max(cols) == pytest.approx(40.0, abs=0.05)
    assert item.slices == (7, 7)
    assert not [it for v in rs.viewports if v is not vp for it in v.overlays if it.source == "birads"]


def test_polygon_closes_on_double_click_and_on_enter(study):
    rs, findings, ctl, _ = _reading(study)
    rs.tool = "birads_polygon"
    for r, c in ((10, 10), (10, 30), (30, 30)):
        ctl.press(0, _ev(r, c))
        ctl.release(0, _ev(r, c))
    assert findings.findings == []
    ctl.double_click(0, _ev(30, 30))  # the second press of a double click on the last vertex
    ctl.release(0, _ev(30, 30))
    (f,) = findings.findings
    assert f.marks[0].kind == "polygon" and f.marks[0].points == ((10.0, 10.0), (30.0, 10.0), (30.0, 30.0))
    assert not [it for it in rs.viewports[0].overlays if it.source == "birads_preview"]
    # Enter (finish) closes the next one; a new finding because the panel asked for one
    from app.model.annotation import controller_for

    controller_for(rs).select(None)
    for r, c in ((40, 40), (40, 60), (60, 50), (60, 40)):
        ctl.press(2, _ev(r, c))
        ctl.release(2, _ev(r, c))
    ctl.finish()  # the active viewport is 2 (the last press)
    assert len(findings.findings) == 2 and len(findings.findings[1].marks[0].points) == 4
    # other tools: a double click is an ordinary press (the ruler starts a line)
    rs.tool = "ruler"
    ctl.double_click(0, _ev(5, 5))
    ctl.move(0, _ev(5, 25, total=(20, 0)))
    ctl.release(0, _ev(5, 25, total=(20, 0)))
    assert [it.kind for it in rs.viewports[0].overlays if it.source == "ruler"] == ["ruler"]


def test_viewer_state_round_trip_through_json(study):
    from app.model.session import ReadingSession

    rs = ReadingSession()
    rs.open(study)
    rs.viewports[0].slice_index = 3
    rs.viewports[0].update(window_center=0.01, window_width=0.02, invert=True)
    rs.next_stage()  # 2D 4-view: the DBT settings are remembered
    rs.viewports[1].zoom_by(2.0)
    rs.set_active(1)
    state = json.loads(json.dumps(rs.viewer_state()))

    again = ReadingSession()
    again.open(study)
    again.restore_viewer_state(state)
    assert (again.protocol_id, again.stage_index, again.active_index) == ("4view", 1, 1)
    assert again.viewports[1].image.kind == "synthetic2d" and again.viewports[1].zoom == pytest.approx(2.0)
    again.previous_stage()
    vp = again.viewports[0]
    assert (vp.image.label, vp.slice_index, vp.window_center, vp.window_width, vp.invert) == (
        "R CC",
        3,
        0.01,
        0.02,
        True,
    )
    # nonsense is skipped, not fatal
    again.restore_viewer_state({"protocol": "nope", "stage": "x", "images": {"unknown": {"slice_index": 2}}})
    assert again.protocol_id == "4view"


def test_view_geometry_finds_the_nipple_of_real_images(study, demo_exam):
    from app.model.study_findings import view_geometry

    for im in study.images:
        g = view_geometry(im)
        truth = demo_exam.truth(f"{im.laterality}{im.view}")
        nipple_x_mm = im.origin_mm[1] + g.nipple_px[0] * im.pixel_mm[1]
        # the phantom's nipple lies at the breast depth from the chest wall (x = 0)
        assert nipple_x_mm == pytest.approx(truth["outline"]["depth_mm"], abs=2.5), im.label
        assert g.posterior_dir == (-1.0, 0.0)  # columns run from the chest wall to the nipple
