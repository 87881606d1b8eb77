"""Image-quality metrics against analytic truth."""

import numpy as np
import pytest
from scipy.special import ndtr

from recon import VolumeGrid
from recon.metrics import (
    artifact_spread,
    bead_mtf,
    cnr,
    compare_to_reference,
    disc_mask,
    edge_mtf,
    fwhm,
    line_mtf,
    noise_power_spectrum,
    sdnr,
)


def _gaussian_mtf50(sigma_mm):
    return np.sqrt(np.log(2.0) / (2 * np.pi**2 * sigma_mm**2))


def _gaussian_mtf10(sigma_mm):
    return np.sqrt(np.log(10.0) / (2 * np.pi**2 * sigma_mm**2))


def _edge_image(shape, *, pixel, sigma, angle_deg, axis):
    """A unit step blurred by a Gaussian of ``sigma`` mm, the edge across ``axis``, slanted."""
    ny, nx = shape
    yy, xx = np.mgrid[0:ny, 0:nx].astype(float)
    if axis == "y":
        pos = yy - (ny / 2 + np.tan(np.deg2rad(angle_deg)) * (xx - nx / 2))
    else:
        pos = xx - (nx / 2 + np.tan(np.deg2rad(angle_deg)) * (yy - ny / 2))
    return 10.0 + 3.0 * ndtr(pos * pixel / sigma)


@pytest.mark.parametrize("axis", ["y", "x"])
@pytest.mark.parametrize(("sigma", "angle"), [(0.15, 3.0), (0.08, 5.0), (0.3, 4.0)])
def test_slanted_edge_mtf_matches_gaussian(axis, sigma, angle):
    pixel = 0.1
    img = _edge_image((64, 56), pixel=pixel, sigma=sigma, angle_deg=angle, axis=axis)
    r = edge_mtf(img, pixel_mm=pixel, axis=axis)
    assert r.axis == axis
    assert r.mtf50 == pytest.approx(_gaussian_mtf50(sigma), rel=0.02)
    assert r.mtf10 == pytest.approx(_gaussian_mtf10(sigma), rel=0.02)
    nyq = 0.5 / pixel
    sel = r.freq_lp_mm <= nyq
    analytic = np.exp(-2 * np.pi**2 * sigma**2 * r.freq_lp_mm[sel] ** 2)
    assert np.max(np.abs(r.mtf[sel] - analytic)) < 0.02


def test_aligned_edge_and_anisotropic_blur():
    pixel = 0.1
    # blur 0.12 mm along y, 0.25 mm along x: a square region with both edges
    ny, nx = 80, 80
    yy, xx = np.mgrid[0:ny, 0:nx].astype(float)
    edge_y = ndtr((yy - 40.3) * pixel / 0.12)
    edge_x = ndtr((xx - 40.3) * pixel / 0.25)
    ry = edge_mtf(edge_y, pixel_mm=pixel, axis="y")
    rx = edge_mtf(edge_x, pixel_mm=pixel, axis="x")
    assert ry.mtf50 == pytest.approx(_gaussian_mtf50(0.12), rel=0.02)
    assert rx.mtf50 == pytest.approx(_gaussian_mtf50(0.25), rel=0.02)
    assert ry.mtf50 > 1.8 * rx.mtf50
    # a falling edge gives the same MTF
    assert edge_mtf(1 - edge_x, pixel_mm=pixel, axis="x").mtf50 == pytest.approx(rx.mtf50, rel=1e-6)


@pytest.mark.parametrize("axis", ["y", "x"])
def test_slanted_wire_mtf_matches_gaussian(axis):
    pixel, sigma = 0.1, 0.12
    ny, nx = 48, 60
    yy, xx = np.mgrid[0:ny, 0:nx].astype(float)
    if axis == "y":
        d = yy - (ny / 2 + np.tan(np.deg2rad(4)) * (xx - nx / 2))
    else:
        d = xx - (nx / 2 + np.tan(np.deg2rad(4)) * (yy - ny / 2))
    img = 5.0 + 2.0 * np.exp(-0.5 * (d * pixel / sigma) ** 2)
    r = line_mtf(img, pixel_mm=pixel, axis=axis)
    assert r.mtf50 == pytest.approx(_gaussian_mtf50(sigma), rel=0.02)
    assert r.mtf10 == pytest.approx(_gaussian_mtf10(sigma), rel=0.03)
    # a dark wire gives the same
    assert line_mtf(-img, pixel_mm=pixel, axis=axis).mtf50 == pytest.approx(r.mtf50, rel=1e-6)


def test_bead_mtf_anisotropic_gaussian_psf():
    pixel = 0.1
    yy, xx = np.mgrid[0:33, 0:33].astype(float)
    sy, sx = 0.2, 0.12  # mm
    psf = np.exp(-0.5 * (((yy - 16.3) * pixel / sy) ** 2 + ((xx - 15.8) * pixel / sx) ** 2))
    ry = bead_mtf(psf + 1.0, pixel_mm=pixel, axis="y")
    rx = bead_mtf(psf + 1.0, pixel_mm=pixel, axis="x")
    assert ry.mtf50 == pytest.approx(_gaussian_mtf50(sy), rel=0.03)
    assert rx.mtf50 == pytest.approx(_gaussian_mtf50(sx), rel=0.03)


def test_peak_normalisation_handles_a_ramp_filtered_edge():
    """An FBP-like edge (low frequencies removed) has no MTF at f = 0; 'peak' still measures it."""
    pixel, sigma = 0.1, 0.15
    yy = np.arange(96)[:, None] * np.ones((1, 40))
    edge = ndtr((yy - 48.2) * pixel / sigma)
    # subtract a wide blur of the edge: a high-pass ESF with overshoots, like a ramp-filtered one
    wide = ndtr((yy - 48.2) * pixel / 2.0)
    img = edge - wide
    r = edge_mtf(img, pixel_mm=pixel, axis="y")
    assert r.mtf[0] < 0.2
    # above the removed band the MTF follows the Gaussian of the sharp edge
    assert r.mtf50 == pytest.approx(_gaussian_mtf50(sigma), rel=0.05)
    with pytest.raises(ValueError, match="normalise"):
        edge_mtf(img, pixel_mm=pixel, axis="y", normalise="dc")


def test_edge_mtf_validation():
    with pytest.raises(ValueError, match="axis"):
        edge_mtf(np.zeros((20, 20)), pixel_mm=0.1, axis="z")
    with pytest.raises(ValueError, match="flat"):
        edge_mtf(np.ones((20, 20)), pixel_mm=0.1, axis="x")
    with pytest.raises(ValueError, match="pixel_mm"):
        edge_mtf(np.zeros((20, 20)), pixel_mm=-1, axis="x")


def test_fwhm_of_gaussian_and_open_profiles():
    z = np.arange(41) * 0.5
    sigma = 2.0
    prof = np.exp(-0.5 * ((z - 10.2) / sigma) ** 2)
    assert fwhm(prof, spacing=0.5) == pytest.approx(2.3548 * sigma, rel=0.01)
    assert fwhm(np.ones(5)) == np.inf
    with pytest.raises(ValueError, match="positive peak"):
        fwhm(-np.ones(5))


def test_asf_fwhm_of_known_profile():
    grid = VolumeGrid(shape=(40, 60, 70), voxel_mm=(0.5, 0.1, 0.1), origin_mm=(20.25, -2.95, 0.05))
    rng = np.random.default_rng(0)
    vol = np.full(grid.shape, 0.05, np.float32) + rng.normal(0, 1e-5, grid.shape).astype(np.float32)
    # feature of radius 0.3 mm at (x, y) = (3.5, 0.0) whose contrast falls off in z as a Lorentzian
    x0, y0, kz = 3.5, 0.0, 17
    half_width_mm = 2.0  # FWHM = 4 mm
    prof = 1.0 / (1.0 + ((grid.z_mm - grid.z_mm[kz]) / half_width_mm) ** 2)
    feat = disc_mask(grid.shape[1:], grid.mm_to_index([x0, y0, 0])[1:], 3.0)
    vol[:, feat] += (0.02 * prof)[:, None].astype(np.float32)
    r = artifact_spread(vol, grid, (x0, y0), roi_radius_mm=0.25, background_offset_mm=2.0)
    assert r.focus_slice == kz
    assert r.asf[kz] == pytest.approx(1.0)
    assert r.fwhm_mm == pytest.approx(4.0, rel=0.02)
    assert r.contrast == pytest.approx(0.02, rel=0.01)
    # with an explicit z the same slice is chosen
    assert artifact_spread(vol, grid, (x0, y0, grid.z_mm[kz] + 0.1)).focus_slice == kz
    with pytest.raises(ValueError, match="background_offset_mm"):
        artifact_spread(vol, grid, (x0, y0), roi_radius_mm=1.0, background_offset_mm=1.0)


def test_cnr_and_sdnr_of_known_means_and_noise():
    rng = np.random.default_rng(3)
    img = rng.normal(10.0, 2.0, (400, 400))
    feat = disc_mask(img.shape, (100, 100), 60)
    img[feat] += 5.0
    bg = disc_mask(img.shape, (300, 300), 80)
    noise = np.zeros_like(feat)
    noise[:, 200:] = True
    noise &= ~feat
    assert cnr(img, feat, bg) == pytest.approx(2.5, rel=0.05)
    assert sdnr(img, feat, bg, noise_mask=noise) == pytest.approx(2.5, rel=0.05)
    # pooled denominator with a noisier feature: sqrt((4 + 16) / 2)
    img2 = img.copy()
    img2[feat] += rng.normal(0, np.sqrt(12.0), feat.sum())
    assert cnr(img2, feat, bg, denominator="pooled") == pytest.approx(5.0 / np.sqrt(10.0), rel=0.05)
    assert cnr(img, bg, feat) < 0
    with pytest.raises(ValueError, match="denominator"):
        cnr(img, feat, bg, denominator="other")
    with pytest.raises(TypeError, match="boolean"):
        cnr(img, feat.astype(int), bg)


def test_nps_of_white_and_correlated_noise():
    rng = np.random.default_rng(5)
    sigma, px = 3.0, 0.2
    rois = rng.normal(50.0, sigma, (40, 32, 32)) + np.linspace(0, 5, 32)[None, None, :]
    r = noise_power_spectrum(rois, pixel_mm=px)
    # white noise: flat at sigma^2 dx dy; its integral is the variance
    assert np.mean(r.nps) == pytest.approx(sigma**2 * px * px, rel=0.05)
    df = (r.freq_x[1] - r.freq_x[0]) * (r.freq_y[1] - r.freq_y[0])
    assert r.nps.sum() * df == pytest.approx(r.variance, rel=1e-6)
    # noise smoothed along x only loses power at high f_x, not along f_y
    sm = (rois[:, :, :-1] + rois[:, :, 1:])[:, :, :31] / 2
    r2 = noise_power_spectrum(sm[:, :, :30], pixel_mm=px, detrend="mean")
    cy = len(r2.freq_y) // 2
    cx = len(r2.freq_x) // 2
    assert r2.nps[cy, 0] < 0.1 * r2.nps[cy, cx + 1]  # f_x at Nyquist nearly cancelled
    assert r2.nps[0, cx] > 0.5 * r2.nps[cy + 1, cx]


def test_compare_to_reference():
    rng = np.random.default_rng(7)
    ref = np.zeros((3, 32, 32))
    ref[:, 8:24, 8:24] = 1.0
    noisy = ref + rng.normal(0, 0.1, ref.shape)
    out = compare_to_reference(noisy, ref, data_range=1.0)
    assert out["rmse"] == pytest.approx(0.1, rel=0.1)
    assert out["psnr_db"] == pytest.approx(20.0, abs=1.0)
    assert out["relative_error"] == pytest.approx(0.1 * np.sqrt(ref.size) / np.linalg.norm(ref), rel=0.1)
    assert out["ssim_per_slice"].shape == (3,)
    exact = compare_to_reference(ref, ref, data_range=1.0)
    assert exact["ssim"] == pytest.approx(1.0)
    assert exact["psnr_db"] == np.inf
    assert out["ssim"] < 0.9
    with pytest.raises(ValueError, match="data_range"):
        compare_to_reference(noisy, ref, data_range=0)
    with pytest.raises(ValueError, match="shapes differ"):
        compare_to_reference(noisy[:2], ref, data_range=1.0)
