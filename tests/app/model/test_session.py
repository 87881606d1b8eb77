import numpy as np
import pytest

from app.model.demo import demo_study
from app.model.focus import best_focus_slice
from app.model.hanging import HangingProtocol, load_protocols
from app.model.interaction import InteractionController
from app.model.session import ReadingSession
from app.model.tools import TOOLS, PointerEvent, Tool
from app.model.worklist import WorklistModel


@pytest.fixture(scope="module")
def study():
    return demo_study(shape=(16, 96, 128), pixel_mm=0.5)


def test_shipped_protocols_load_and_screening_is_mirrored(study):
    protos = load_protocols()
    assert list(protos)[:5] == ["4view", "cc", "mlo", "single", "s2d-tomo"]
    cells = protos["4view"].stages[0].cells
    assert [(c.laterality, c.view) for c in cells] == [("R", "CC"), ("L", "CC"), ("R", "MLO"), ("L", "MLO")]
    with pytest.raises(ValueError, match="laterality"):
        HangingProtocol.from_dict(
            {"id": "x", "stages": [{"rows": 1, "cols": 1, "cells": [{"laterality": "X", "view": "CC"}]}]}
        )


def test_stages_step_and_remember_reader_state(study):
    s = ReadingSession()
    layouts = []
    s.events.layout.connect(lambda e: layouts.append(e.stage.name))
    s.open(study)
    assert [vp.image.label for vp in s.viewports] == ["R CC", "L CC", "R MLO", "L MLO"]
    s.viewports[0].window_width = 0.5
    s.next_stage()
    assert all(vp.image.kind == "synthetic2d" for vp in s.viewports)
    s.previous_stage()
    assert s.viewports[0].window_width == 0.5
    s.set_protocol("single")
    assert len(s.viewports) == 1 and s.viewports[0].image.label == "R CC"
    assert layouts[0] == "DBT 4-view" and len(layouts) == 4


def test_linked_scrolling_moves_same_breast_only_and_can_be_switched_off(study):
    s = ReadingSession()
    s.open(study)
    rcc, lcc, rmlo, lmlo = s.viewports
    rcc.slice_index = 0
    assert rmlo.slice_index == 0 and lcc.slice_index == 8 and lmlo.slice_index == 8
    rcc.slice_index = 15
    assert rmlo.slice_index == 15
    s.link_scrolling = False
    rcc.slice_index = 3
    assert rmlo.slice_index == 15


def test_click_on_synthetic_2d_jumps_tomo_to_the_slice_of_the_object(study):
    s = ReadingSession()
    s.open(study, protocol_id="s2d-tomo")
    s2d, tomo = s.viewports
    assert s2d.image.kind == "synthetic2d" and tomo.image.kind == "tomo"
    k_mass, r, c = tomo.image.metadata["truth"]["mass"]
    k_calc, rc, cc = tomo.image.metadata["truth"]["calcification"]
    tomo.slice_index = 0
    ctl = InteractionController(s)
    ev = PointerEvent(10, 10, row=float(r), col=float(c), button="left")
    ctl.press(0, ev)
    ctl.release(0, ev)  # a click with the window tool
    assert tomo.slice_index == k_mass
    jumps = s.focus_at(0, rc, cc)
    assert jumps == [(1, k_calc)]


def test_click_on_slab_goes_to_single_slice_of_best_focus(study):
    s = ReadingSession()
    s.open(study)
    rcc = s.viewports[0]
    k, r, c = rcc.image.metadata["truth"]["calcification"]
    rcc.slice_index = k + 2
    rcc.slab_mm = 8
    assert s.focus_at(0, r, c) == [(0, k)]
    assert rcc.slab_slices == 1 and rcc.slice_index == k


def test_best_focus_finds_blob_slices(study):
    im = study.find("L", "MLO")
    for key in ("nipple_marker", "upper_marker", "mass"):
        k, r, c = im.metadata["truth"][key]
        assert best_focus_slice(im.data, r, c, pixel_mm=im.pixel_mm) == k


def test_tools_pan_zoom_ruler_and_plugged_tool(study):
    s = ReadingSession()
    s.open(study)
    ctl = InteractionController(s)
    vp = s.viewports[1]
    ctl.press(1, PointerEvent(0, 0, button="middle", world_per_px=0.5))
    ctl.move(1, PointerEvent(10, 0, button="middle", dx=10, total_dx=10, world_per_px=0.5))
    ctl.release(1, PointerEvent(10, 0, total_dx=10))
    assert vp.pan_mm == (5.0, 0.0) and s.active_index == 1
    s.tool = "ruler"
    ctl.press(1, PointerEvent(0, 0, row=10, col=10, button="left"))
    ctl.move(1, PointerEvent(0, 0, row=10, col=30, button="left", total_dx=20))
    ctl.release(1, PointerEvent(0, 0, row=10, col=30, total_dx=20))
    (item,) = vp.overlays
    assert item.kind == "ruler" and item.points[1] == (10.0, 30.0)

    class Stamp(Tool):
        name = "test-stamp"

        def click(self, ctx, ev):
            ctx.viewport.overlays.append(
                __import__("app.model.overlays", fromlist=["x"]).OverlayItem(points=((ev.row, ev.col),), source="test")
            )

    TOOLS.register(Stamp)
    try:
        s.tool = "test-stamp"
        ctl.press(1, PointerEvent(0, 0, row=5, col=6, button="left"))
        ctl.release(1, PointerEvent(0, 0, row=5, col=6))
        assert vp.overlays[-1].points == ((5.0, 6.0),)
    finally:
        TOOLS.unregister("test-stamp")
    with pytest.raises(ValueError, match="unknown tool"):
        s.tool = "test-stamp"


def test_wheel_scrolls_and_ctrl_wheel_zooms(study):
    s = ReadingSession()
    s.open(study)
    ctl = InteractionController(s)
    vp = s.viewports[0]
    k = vp.slice_index
    ctl.wheel(0, 2)
    assert vp.slice_index == k + 2
    ctl.wheel(0, 1, modifiers=frozenset({"ctrl"}))
    assert vp.zoom == pytest.approx(1.15)


def test_worklist_sorting(study):
    wl = WorklistModel.from_studies([study])
    assert wl.entries[0].views == ("RCC", "LCC", "RMLO", "LMLO")
    from app.model.worklist import WorklistEntry

    wl.entries = [
        WorklistEntry("1", patient="B", date="20240101", score=10),
        WorklistEntry("2", patient="A", date="20230101", score=80),
    ]
    assert [e.study_uid for e in wl.sorted_entries()] == ["1", "2"]  # date, newest first
    wl.sort_by("patient")
    assert [e.patient for e in wl.sorted_entries()] == ["A", "B"]
    wl.sort_by("score")
    assert [e.score for e in wl.sorted_entries()] == [80, 10]
    assert np.isfinite(study.nbytes)
