import numpy as np
import pytest

from app.model.image import DisplayImage
from app.model.view_geometry import compute_view
from app.model.viewport import ViewportState


def _image(nz=20, ny=40, nx=60, **kw):
    data = np.zeros((nz, ny, nx), np.float32)
    data[:, 10:30, :45] = np.linspace(0.02, 0.06, nz, dtype=np.float32)[:, None, None]
    return DisplayImage(data, pixel_mm=(0.1, 0.1), slice_heights_mm=1.5 + np.arange(nz), **kw)


def test_show_resets_display_and_emits_image_once():
    vp = ViewportState()
    seen = []
    vp.events.changed.connect(lambda e: seen.append(e.name))
    vp.show(_image(laterality="R"))
    assert seen == ["image"]
    assert vp.slice_index == 10 and vp.flip_h and not vp.flip_v
    assert 0.02 <= vp.window_center <= 0.06


def test_scroll_clamps_and_page_moves_a_tenth_or_five():
    vp = ViewportState(image=_image())
    vp.scroll(-100)
    assert vp.slice_index == 0
    vp.page(+1)
    assert vp.slice_index == 5
    vp.scroll(1000)
    assert vp.slice_index == 19


def test_slab_thickness_in_mm_rounds_to_slices():
    vp = ViewportState(image=_image())
    assert vp.slab_slices == 1
    vp.change_slab(+1.0)  # from one 1 mm slice to 2 mm
    assert vp.slab_mm == pytest.approx(2.0) and vp.slab_slices == 2
    vp.slab_mm = 25
    assert vp.slab_mm == 10 and vp.slab_slices == 10
    vp.slice_index = 19
    assert vp.slab_range() == (10, 19)
    vp.change_slab(-9.0)
    assert vp.slab_mm == 0


def test_cine_bounces_between_the_ends():
    vp = ViewportState(image=_image(nz=3))
    vp.slice_index = 1
    frames = []
    for _ in range(5):
        vp.advance_cine()
        frames.append(vp.slice_index)
    assert frames == [2, 1, 0, 1, 2]


def test_window_presets_and_drag():
    vp = ViewportState(image=_image())
    vp.apply_window_preset("auto")
    c, w = vp.window_center, vp.window_width
    vp.apply_window_preset("wide")
    assert vp.window_width == pytest.approx(2 * w)
    vp.drag_window(30, 0)
    assert vp.window_width > 2 * w
    vp.drag_window(0, 30)  # drag down: lower centre value -> brighter image
    assert vp.window_center < c
    with pytest.raises(ValueError):
        vp.apply_window_preset("bogus")


def test_probe_reads_slab_value():
    vp = ViewportState(image=_image())
    vp.cursor = (20, 5)
    single = vp.probe_value()
    vp.slab_mm = 5
    vp.slab_mode = "mip"
    assert vp.probe_value() > single


def test_fit_view_justifies_chest_wall_to_the_centre_line():
    # right breast in the Volume convention: column 0 is the chest wall, displayed on the right edge
    vp = ViewportState(image=_image(laterality="R"))
    g = compute_view(vp, 300, 300)
    x_cw, _ = g.world_to_display(-0.05, 0)  # left edge of column 0 in world mm
    assert x_cw == pytest.approx(300)
    # left breast: chest wall on the left edge
    vp.show(_image(laterality="L"))
    g = compute_view(vp, 300, 300)
    assert g.world_to_display(-0.05, 0)[0] == pytest.approx(0)
    # and the image fits: its far edge is inside the viewport
    assert 0 <= g.world_to_display(5.95, 0)[0] <= 300


def test_scale_modes_pixel_and_life_size():
    vp = ViewportState(image=_image(magnification=1.1))
    vp.set_scale_mode("pixel")
    assert compute_view(vp, 400, 300).world_per_px == pytest.approx(0.1)
    vp.set_scale_mode("life")
    g = compute_view(vp, 400, 300, dpi=254.0)  # 0.1 mm screen pixels
    # an object of 1 mm projects to 1.1 mm on the detector and must be drawn 1 mm (10 px) tall
    assert 1.1 / g.world_per_px == pytest.approx(10.0)
    vp.zoom = 2
    assert compute_view(vp, 400, 300, dpi=254.0).world_per_px == pytest.approx(0.055)


def test_display_world_round_trip_with_flips_and_pan():
    vp = ViewportState(image=_image(laterality="R"))
    vp.pan_mm = (1.0, -2.0)
    g = compute_view(vp, 320, 200)
    for x, y in [(0, 0), (160, 100), (319, 17)]:
        assert g.world_to_display(*g.display_to_world(x, y)) == pytest.approx((x, y))
    g0 = compute_view(ViewportState(image=vp.image), 320, 200)
    # panning moves the image right on screen by 1 mm
    assert g.world_to_display(1.0, 1.0)[0] - g0.world_to_display(1.0, 1.0)[0] == pytest.approx(1.0 / g.world_per_px)
