import numpy as np
import pytest
from scipy import ndimage

from cad._filters import gaussian_2d, smooth_background, sparse_local_maxima
from cad.peaks import local_maxima


@pytest.mark.parametrize("sigma", [0.6, 1.0, 2.5, 4.0])
@pytest.mark.parametrize("mode", ["reflect", "nearest"])
def test_gaussian_matches_scipy(sigma, mode):
    img = np.random.default_rng(0).standard_normal((61, 47)).astype(np.float32)
    ref = ndimage.gaussian_filter(img, sigma, mode=mode)
    np.testing.assert_allclose(gaussian_2d(img, sigma, mode=mode), ref, atol=1e-6)


def test_wide_background_within_the_noise():
    rng = np.random.default_rng(1)
    ramp = np.linspace(0, 1, 420, dtype=np.float32)[None, :] ** 2
    img = (rng.standard_normal((500, 420)) * 0.01 + ramp).astype(np.float32)
    ref = ndimage.gaussian_filter(img, 20, mode="nearest")
    err = np.abs(smooth_background(img, 20) - ref)
    noise = float((img - ref).std())
    assert err[80:-80, 80:-80].max() < 0.01 * noise
    assert err.max() < 0.05 * noise


def test_sparse_local_maxima_equal_the_maximum_filter():
    vol = np.random.default_rng(2).standard_normal((9, 80, 70)).astype(np.float32)
    a_idx, a_val = local_maxima(vol, threshold=2.0, footprint=(3, 5, 5), max_peaks=10**6)
    b_idx, b_val = sparse_local_maxima(vol, threshold=2.0, footprint=(3, 5, 5), max_peaks=10**6)
    assert len(a_idx) > 20
    np.testing.assert_array_equal(a_idx, b_idx)
    np.testing.assert_array_equal(a_val, b_val)
