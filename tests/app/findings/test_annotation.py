"""Annotation tools in the viewer's tool registry: place, measure and link findings; overlays follow."""

from __future__ import annotations

import pytest

from app.model.annotation import AnnotationController, FindingsOverlay, ImageInfo, bind
from app.model.demo import demo_study
from app.model.findings import FindingsSession
from app.model.interaction import InteractionController
from app.model.session import ReadingSession
from app.model.tools import TOOLS, PointerEvent


@pytest.fixture(scope="module")
def study():
    return demo_study(shape=(8, 96, 128), pixel_mm=0.5, synthetic2d=False)


def ev(row, col, button="left"):
    return PointerEvent(x=col, y=row, row=row, col=col, button=button)


def test_tools_registered():
    assert {"birads_point", "birads_ellipse", "birads_polygon"} <= set(TOOLS.names())


def test_draw_ellipse_on_cc_then_point_on_mlo_links(study):
    rs = ReadingSession()
    rs.open(study)
    findings = FindingsSession(study.study_uid, reader="Dr A")
    ctl = AnnotationController(findings)
    bind(rs, ctl)
    overlay = FindingsOverlay(findings, lambda: rs.viewports)
    inter = InteractionController(rs)
    labels = [vp.image.label if vp.image else None for vp in rs.viewports]
    cc = labels.index("R CC")
    mlo = labels.index("R MLO")
    rs.tool = "birads_ellipse"
    rs.viewports[cc].slice_index = 3
    inter.press(cc, ev(40, 50))
    inter.move(cc, ev(50, 70))
    inter.release(cc, ev(50, 70))
    (f,) = findings.findings
    m = f.marks[0]
    assert (m.view, m.laterality, m.frame, m.kind) == ("CC", "R", 3, "ellipse")
    assert m.measurements_mm["major_axis_mm"] == pytest.approx(20 * 0.5)  # 20 px wide box at 0.5 mm
    assert m.measurements_mm["minor_axis_mm"] == pytest.approx(10 * 0.5)
    items = [it for it in rs.viewports[cc].overlays if it.source == "birads"]
    assert len(items) == 1 and items[0].slices == (3, 3) and items[0].label == "#1"
    rs.tool = "birads_point"
    inter.press(mlo, ev(30, 40))
    inter.release(mlo, ev(30, 40))
    assert len(findings.findings) == 1 and findings.findings[0].linked  # same finding, now on both views
    assert any(it.source == "birads" for it in rs.viewports[mlo].overlays)
    findings.remove_finding(f.id)
    assert not [it for it in rs.viewports[cc].overlays if it.source == "birads"]
    overlay.close()


def test_polygon_and_new_finding_per_breast():
    findings = FindingsSession("1.2.3")
    ctl = AnnotationController(findings, default_kind="calcifications")
    ctl.set_mode("polygon")
    img = ImageInfo("1.2.3.4", "L", "CC", (0.1, 0.1))
    for r, c in ((10, 10), (10, 30), (30, 30)):
        ctl.press(img, 2, r, c)
    assert ctl.preview[0] == "polygon" and findings.findings == []
    f = ctl.close_polygon()
    assert f.kind == "calcifications" and f.marks[0].measurements_mm["area_mm2"] == pytest.approx(2.0)
    # a mark on the other breast starts a new finding even though one is current
    ctl.set_mode("point")
    g = ctl.press(ImageInfo("1.2.3.5", "R", "MLO", (0.1, 0.1)), 0, 5, 5)
    assert g.id != f.id and len(findings.findings) == 2
    ctl.set_mode("ellipse")
    ctl.press(img, 2, 10, 10)
    assert ctl.release(10.2, 10.3) is None  # a click is not an ellipse
