"""Preprocessing: detector signal to line integrals, against known line integrals."""

import numpy as np
import pytest

from recon import ProjectionSet, preset_geometry
from recon.preprocess import bin_projections, estimate_i0, line_integrals, preprocess_projection_set


def _signal(seed=0, i0=(1000.0, 2000.0, 1500.0)):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.0, 3.0, (3, 40, 30)).astype(np.float32)
    p[:, :, -6:] = 0.0  # direct-exposure region beside the breast
    i0 = np.asarray(i0)[:, None, None]
    return p, (i0 * np.exp(-p)).astype(np.float32)


def test_line_integrals_with_estimated_per_view_i0():
    p, sig = _signal()
    np.testing.assert_allclose(estimate_i0(sig), [1000, 2000, 1500], rtol=1e-5)
    out = line_integrals(sig)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, p, atol=2e-5)


def test_dark_gain_and_given_i0_and_integer_input():
    p, sig = _signal(i0=(1000.0, 1000.0, 1000.0))
    gain = np.random.default_rng(1).uniform(0.8, 1.2, sig.shape[1:])
    raw = np.round(sig / gain + 100.0).astype(np.uint16)  # offset 100, per-pixel gain
    before = raw.copy()
    out = line_integrals(raw, dark=100.0, gain=gain, i0=1000.0)
    np.testing.assert_allclose(out, p, atol=2e-2)  # integer rounding of the signal
    np.testing.assert_array_equal(raw, before)
    out2 = line_integrals(raw, dark=np.full(3, 100.0), gain=gain, i0=np.full(3, 1000.0))
    np.testing.assert_array_equal(out, out2)


def test_non_positive_signal_is_clipped_with_a_warning():
    p, sig = _signal()
    sig[1, 5, 5] = 0.0
    sig[2, 7, 7] = -3.0
    with pytest.warns(RuntimeWarning, match=r"2 pixel\(s\) in view\(s\) \[1, 2\]"):
        out = line_integrals(sig, min_signal=1e-4)
    assert out[1, 5, 5] == pytest.approx(-np.log(1e-4), rel=1e-5)
    assert np.all(np.isfinite(out))


def test_bad_inputs_raise():
    p, sig = _signal()
    with pytest.raises(ValueError, match="shape"):
        line_integrals(sig[0])
    with pytest.raises(ValueError, match="views"):
        line_integrals(sig, i0=[1.0, 2.0])
    with pytest.raises(ValueError, match="positive"):
        line_integrals(sig, i0=0.0)
    with pytest.raises(ValueError, match="positive"):
        line_integrals(sig, gain=-1.0)
    with pytest.raises(TypeError):
        line_integrals(sig.tolist())
    with pytest.raises(ValueError, match="I0"):
        line_integrals(np.zeros((2, 4, 4), np.float32))


def test_projection_set_keeps_exposure_and_binning_matches_geometry():
    geom = preset_geometry("ge-essential", detector_shape=(40, 30), pixel_mm=0.5, n_views=3)
    p, sig = _signal()
    raw = ProjectionSet(data=sig, geometry=geom, exposure_mas=[10.0, 20.0, 15.0], is_line_integral=False)
    li = preprocess_projection_set(raw)
    assert li.is_line_integral and li.geometry is geom
    np.testing.assert_array_equal(li.exposure_mas, [10.0, 20.0, 15.0])
    np.testing.assert_allclose(li.data, p, atol=2e-5)
    assert preprocess_projection_set(li) is li
    b = bin_projections(p, 2)
    assert b.shape == (3, *geom.binned(2).detector_shape)
    assert b[0, 0, 0] == pytest.approx(p[0, :2, :2].mean(), rel=1e-6)


def test_projection_set_uses_the_simulation_i0_and_offset_from_metadata():
    geom = preset_geometry("ge-essential", detector_shape=(40, 30), pixel_mm=0.5, n_views=3)
    p, _ = _signal()
    p[:, :, -6:] = 0.4  # no direct-exposure region: an estimated I0 would be wrong
    offset, i0_adu = 50.0, 4050.0  # i0_adu includes the offset, as recon.simulate records it
    raw = ((i0_adu - offset) * np.exp(-p) + offset).astype(np.float32)
    meta = {"i0_adu": i0_adu, "dark_offset_adu": offset}
    li = preprocess_projection_set(ProjectionSet(data=raw, geometry=geom, is_line_integral=False, metadata=meta))
    np.testing.assert_allclose(li.data, p, atol=1e-4)
    assert li.metadata == meta
    guessed = preprocess_projection_set(ProjectionSet(data=raw, geometry=geom, is_line_integral=False))
    assert np.abs(guessed.data - p).mean() > 0.01  # without them I0 is estimated, and wrongly here
    with pytest.raises(ValueError, match="i0_adu"):
        preprocess_projection_set(
            ProjectionSet(
                data=raw, geometry=geom, is_line_integral=False, metadata={"i0_adu": 10.0, "dark_offset_adu": 50.0}
            )
        )


def test_per_view_fast_path_matches_the_image_path():
    # scalars / per-view values take one parallel pass; a per-pixel image takes the NumPy path
    p, sig = _signal(i0=(1000.0, 1000.0, 1000.0))
    raw = np.round(sig + 100.0).astype(np.uint16)
    fast = line_integrals(raw, dark=np.full(3, 100.0), i0=np.array([1000.0, 1000.0, 1000.0]))
    image = line_integrals(raw, dark=np.full(raw.shape[1:], 100.0), i0=1000.0)
    np.testing.assert_allclose(fast, image, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(fast, p, atol=2e-2)
