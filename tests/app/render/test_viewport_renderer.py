import numpy as np
import pytest

pytestmark = pytest.mark.gui


@pytest.fixture
def rendered():
    from vtkmodules.vtkRenderingCore import vtkRenderWindow

    from app.model.image import DisplayImage
    from app.model.viewport import ViewportState
    from app.render.viewport_renderer import ViewportRenderer

    data = np.zeros((6, 400, 600), np.float32)
    data[:, 100:300, :450] = 0.05
    data[2, 200, 300] = 1.0  # one bright pixel on slice 2
    state = ViewportState(image=DisplayImage(data, laterality="L", pixel_mm=(0.1, 0.1)))
    rw = vtkRenderWindow()
    rw.SetSize(200, 150)
    view = ViewportRenderer(state, rw)
    view.render()
    yield state, view
    view.close()
    rw.Finalize()


def test_fit_view_uploads_a_box_averaged_texture_that_keeps_a_bright_pixel(rendered):
    state, view = rendered
    assert view.image.uploads == 1
    step = view.image._key[1]
    assert step == 3  # 600 x 400 px into 200 x 150: three image pixels per screen pixel
    assert view.image._array.shape == (400 // 3, 600 // 3)
    state.slice_index = 2
    view.render()
    # the bright pixel survives as its block's mean (1 + 8 x 0.05) / 9
    assert view.image._array.max() == pytest.approx((1.0 + 8 * 0.05) / 9, rel=1e-5)


def test_pan_within_the_margin_needs_no_upload_but_a_slice_change_does(rendered):
    state, view = rendered
    state.update(scale_mode="pixel")
    view.render()
    n = view.image.uploads
    state.pan_by(1.0, 0.0)  # 1 mm: well inside the uploaded margin
    view.render()
    assert view.image.uploads == n
    state.scroll(1)
    view.render()
    assert view.image.uploads == n + 1


def test_overlay_items_follow_the_slice_range(rendered):
    from app.model.overlays import OverlayItem, ruler_item

    state, view = rendered
    state.overlays.append(ruler_item((10, 10), (10, 50), slice_index=state.slice_index))
    state.overlays.append(OverlayItem(kind="ellipse", points=((50, 50), (80, 90)), slices=(0, 0), label="CAD 87"))
    view.render()
    assert view.items.n_drawn == 1
    state.slice_index = 0
    view.render()
    assert view.items.n_drawn == 1  # the ellipse now, not the ruler
    assert view.annotations.bar_length_mm > 0


def _screen(view) -> np.ndarray:
    """The rendered frame as an (rows, cols, 3) uint8 array, row 0 at the top."""
    from vtkmodules.util import numpy_support
    from vtkmodules.vtkRenderingCore import vtkWindowToImageFilter

    grab = vtkWindowToImageFilter()
    grab.SetInput(view.render_window)
    grab.ReadFrontBufferOff()
    grab.Update()
    out = grab.GetOutput()
    w, h, _ = out.GetDimensions()
    arr = numpy_support.vtk_to_numpy(out.GetPointData().GetScalars()).reshape(h, w, -1)[:, :, :3]
    return arr[::-1]


def _grey_at(view, row: float, col: float) -> int:
    x, y = view.image_to_display(row, col)
    return int(_screen(view)[int(round(y)), int(round(x))].mean())


def test_texture_is_the_box_averaged_window_of_the_slice_within_one_grey_level(rendered):
    state, view = rendered
    state.update(slice_index=2, window_center=0.1, window_width=0.2)
    view.render()
    tex = view.image.texture
    assert tex.dtype == np.uint8 and tex.shape == (400 // 3, 600 // 3)
    blocks = state.image.data[2, :399, :600].astype(np.float64).reshape(133, 3, 200, 3).mean(axis=(1, 3))
    want = np.floor(np.clip((blocks - 0.0) / 0.2 * 255, 0, 255) + 0.5)
    assert np.abs(tex.astype(int) - want).max() <= 1
    # VTK shows it as is: the grey on screen at the tissue is the texture's grey
    assert abs(_grey_at(view, 150, 100) - int(want[50, 33])) <= 2


def test_window_level_and_invert_rewindow_without_recomputing_the_slab(rendered):
    state, view = rendered
    state.update(slab_mm=3, slab_mode="average", window_center=0.05, window_width=0.1)
    view.render()
    uploads, grey = view.image.uploads, view.image.texture.copy()
    state.invert = True
    view.render()
    assert view.image.uploads == uploads
    np.testing.assert_array_equal(view.image.texture.astype(int), 255 - grey.astype(int))
    state.update(invert=False, window_width=0.2)
    view.render()
    assert view.image.uploads == uploads and view.image.texture_uploads >= 3
    assert view.image.texture.max() < grey.max()  # a wider window: tissue is darker


def test_mip_slab_at_a_calcification_is_brighter_than_a_single_slice_on_screen(rendered):
    state, view = rendered
    state.update(slice_index=1, window_center=0.1, window_width=0.2, overlays_visible=False)
    view.render()
    # the speck (200, 300) is in the 3 x 3 block of rows 198-200, cols 300-302
    single = _grey_at(view, 199, 301)  # slice 1: tissue only (the speck is on slice 2)
    state.update(slab_mm=5, slab_mode="mip")  # slices 0..4
    view.render()
    mip = _grey_at(view, 199, 301)
    state.slab_mode = "average"
    view.render()
    average = _grey_at(view, 199, 301)
    # block means: tissue 0.05 -> grey 64; speck block (1 + 8 x 0.05) / 9 = 0.156 -> 198,
    # less what linear interpolation between texels takes away
    assert abs(single - 64) <= 8
    assert mip > single + 60
    assert single + 5 < average < mip


def test_slice_text_changes_with_the_slice(rendered):
    from app.render.annotations import LL

    state, view = rendered
    state.slice_index = 4
    view.render()
    texts = [view.annotations.corners.get_text(pos) for pos in range(8)]
    assert any("Slice 5/6" in t for t in texts)
    corner = _screen(view)[-40:, :90].astype(int)
    yellow = (corner[..., 0] > 150) & (corner[..., 2] < 120)
    assert yellow.sum() > 20  # text drawn
    state.overlays_visible = False
    view.render()
    corner = _screen(view)[-40:, :90].astype(int)
    assert ((corner[..., 0] > 150) & (corner[..., 2] < 120)).sum() == 0
    assert LL == 0
