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
