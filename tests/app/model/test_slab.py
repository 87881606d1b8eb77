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
