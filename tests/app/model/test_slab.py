import numpy as np
import pytest

from app.model.slab import slab_range, slab_region


@pytest.fixture(scope="module")
def stack():
    return np.random.default_rng(1).random((7, 12, 10), dtype=np.float32)


@pytest.mark.parametrize(
    ("k", "n", "expected"), [(3, 1, (3, 3)), (3, 3, (2, 4)), (0, 4, (0, 3)), (6, 4, (3, 6)), (2, 20, (0, 6))]
)
def test_slab_range_keeps_thickness_at_the_ends(k, n, expected):
    assert slab_range(k, n, 7) == expected


@pytest.mark.parametrize("step", [1, 2, 3])
@pytest.mark.parametrize("mode", ["average", "mip"])
def test_slab_region_matches_numpy(stack, step, mode):
    rows, cols = (1, 11), (2, 10)
    got = slab_region(stack, 2, 5, mode=mode, rows=rows, cols=cols, step=step)
    sub = stack[2:6, 1:11, 2:10].astype(np.float64)
    h, w = (10 // step) * step, (8 // step) * step
    blocks = sub[:, :h, :w].reshape(4, h // step, step, w // step, step).mean(axis=(2, 4))
    want = blocks.max(axis=0) if mode == "mip" else blocks.mean(axis=0)
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_single_slice_is_a_view_and_input_untouched(stack):
    before = stack.copy()
    out = slab_region(stack, 3, 3)
    assert np.shares_memory(out, stack)
    slab_region(stack, 0, 6, mode="mip", step=2)
    np.testing.assert_array_equal(stack, before)


def test_slab_region_validates(stack):
    with pytest.raises(ValueError, match="mode"):
        slab_region(stack, 0, 1, mode="sum")
    with pytest.raises(ValueError, match="outside"):
        slab_region(stack, 0, 9)
    with pytest.raises(TypeError, match="float32"):
        slab_region(stack.astype(np.float64), 0, 1)


def test_window_to_uint8_matches_the_vtk_window_level_formula(stack):
    from app.model.slab import window_to_uint8

    values = stack[0] * 3 - 1  # spans below and above the window
    values[0, 0] = np.nan
    center, width = 0.25, 1.5
    got = window_to_uint8(values, center, width)
    lo = center - width / 2
    want = np.clip((values.astype(np.float64) - lo) * 255 / width, 0, 255)
    want = np.floor(np.nan_to_num(want, nan=0.0) + 0.5)
    assert got.dtype == np.uint8 and got.shape == values.shape
    assert np.abs(got.astype(int) - want).max() <= 1
    assert got[0, 0] == 0 and got.min() == 0 and got.max() == 255
    inv = window_to_uint8(values, center, width, invert=True, out=np.empty_like(got))
    np.testing.assert_array_equal(inv.astype(int), 255 - got.astype(int))
    strided = window_to_uint8(stack[1, ::2, 1::3], 0.5, 1.0)  # a non-contiguous view
    np.testing.assert_array_equal(strided, window_to_uint8(np.ascontiguousarray(stack[1, ::2, 1::3]), 0.5, 1.0))


def test_window_to_uint8_validates(stack):
    from app.model.slab import window_to_uint8

    with pytest.raises(ValueError, match="width"):
        window_to_uint8(stack[0], 0.5, 0.0)
    with pytest.raises(TypeError, match="float32"):
        window_to_uint8(stack[0].astype(np.float64), 0.5, 1.0)
    with pytest.raises(ValueError, match="out"):
        window_to_uint8(stack[0], 0.5, 1.0, out=np.empty((3, 3), np.uint8))


@pytest.mark.parametrize("step", [1, 3])
@pytest.mark.parametrize("mode", ["average", "mip"])
def test_reduced_slices_give_the_same_slabs_while_scrolling(stack, step, mode):
    from app.model.slab import ReducedSlices

    rows, cols = (0, 12), (1, 10)
    cache = ReducedSlices(stack, rows=rows, cols=cols, step=step, max_bytes=1, min_slices=3)
    assert cache.n_slots == 3  # the byte budget is tiny: only the slab itself is kept
    for k0 in (0, 1, 2, 3, 4, 2, 0):
        got = cache.slab(k0, k0 + 2, mode=mode)
        want = slab_region(stack, k0, k0 + 2, mode=mode, rows=rows, cols=(1, 1 + (9 // step) * step), step=step)
        np.testing.assert_allclose(got, want, rtol=1e-5)


def test_reduced_slices_reduce_each_slice_once_when_scrolling_by_one(stack):
    from app.model.slab import ReducedSlices

    cache = ReducedSlices(stack, rows=(0, 12), cols=(0, 9), step=3, min_slices=3)
    before = stack.copy()
    for k0 in range(5):
        cache.slab(k0, k0 + 2, mode="mip")
    assert cache.computed == 7  # slices 0..6, each reduced once
    np.testing.assert_array_equal(stack, before)
    with pytest.raises(ValueError, match="room"):
        ReducedSlices(stack, rows=(0, 12), cols=(0, 9), step=3, max_bytes=1, min_slices=2).slab(0, 4)
