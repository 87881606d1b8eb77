"""Image-quality metrics for reconstructed DBT volumes.

Definitions follow ../shared/reference/recon.md section 9 (Zhang et al. 2006; Hu, Zhao & Zhao
2008; AAPM TG-245):

- :func:`artifact_spread` -- ASF(z) of a small feature and its FWHM in mm (depth resolution).
- :func:`cnr` -- contrast-to-noise ratio / SDNR, ``(mean_feature - mean_background) / sigma``
  with ``sigma`` the standard deviation of the background ROI (or of a separate uniform noise
  ROI), or optionally the pooled ``sqrt((sigma_f^2 + sigma_b^2) / 2)``.
- :func:`edge_mtf` / :func:`line_mtf` -- in-plane MTF from an edge (ESF -> LSF -> |FFT|) or
  a thin wire (LSF -> |FFT|), slanted for oversampling, with MTF50 and MTF10 in lp/mm, along
  the tube-motion axis (``"y"``, rows) or the chest-wall-to-nipple axis (``"x"``, columns).
- :func:`noise_power_spectrum` -- 2D NPS from detrended uniform ROIs.
- :func:`compare_to_reference` -- SSIM / PSNR / RMSE / relative error against a ground truth
  with an explicit data range (scikit-image).

Arrays follow DESIGN.md: volumes ``(nz, ny, nx)``, slices ``(ny, nx)``; y is the tube-motion
axis (along the chest wall), x runs from the chest wall toward the nipple. Reductions are done
in float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recon.types import VolumeGrid

__all__ = [
    "AsfResult",
    "MtfResult",
    "NpsResult",
    "artifact_spread",
    "fwhm",
    "disc_mask",
    "cnr",
    "sdnr",
    "edge_mtf",
    "line_mtf",
    "bead_mtf",
    "mtf_at",
    "noise_power_spectrum",
    "compare_to_reference",
]


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def _array(name: str, a, ndim: int | tuple[int, ...]) -> np.ndarray:
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(a).__name__}")
    dims = (ndim,) if isinstance(ndim, int) else ndim
    if a.ndim not in dims:
        raise ValueError(f"{name} must have {' or '.join(map(str, dims))} dimensions, got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
        raise TypeError(f"{name} must be a real numeric array, got {a.dtype}")
    return a


def _positive(name: str, value) -> float:
    v = float(value)
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return v


def fwhm(profile, *, spacing: float = 1.0, peak: int | None = None) -> float:
    """Full width at half maximum of a 1D profile, by linear interpolation.

    Parameters
    ----------
    profile : 1D array
        Samples of a single-peaked response (baseline 0).
    spacing : float
        Distance between samples (the result is in these units).
    peak : int, optional
        Index of the peak; default the maximum.

    Returns
    -------
    float
        The width between the two half-maximum crossings nearest the peak; ``inf`` when the
        profile does not fall below half its peak on one side (the response is wider than
        the sampled range).
    """
    p = np.asarray(profile, dtype=np.float64).reshape(-1)
    if p.size < 1 or not np.all(np.isfinite(p)):
        raise ValueError("fwhm: profile must be a non-empty array of finite values")
    spacing = _positive("fwhm: spacing", spacing)
    k = int(np.argmax(p)) if peak is None else int(peak)
    if not 0 <= k < p.size:
        raise ValueError(f"fwhm: peak index {peak} outside the profile of {p.size} samples")
    half = p[k] / 2.0
    if not p[k] > 0:
        raise ValueError("fwhm: the profile has no positive peak")
    # left crossing
    i = k
    while i > 0 and p[i - 1] > half:
        i -= 1
    if i == 0:
        return float("inf")
    left = (i - 1) + (half - p[i - 1]) / (p[i] - p[i - 1])
    j = k
    while j < p.size - 1 and p[j + 1] > half:
        j += 1
    if j == p.size - 1:
        return float("inf")
    right = j + (p[j] - half) / (p[j] - p[j + 1])
    return float((right - left) * spacing)


def disc_mask(shape, center, radius) -> np.ndarray:
    """Boolean mask of a disc in a 2D array.

    Parameters
    ----------
    shape : (rows, columns)
        Shape of the slice.
    center : (row, column)
        Fractional pixel indices of the centre.
    radius : float
        Radius in pixels (a pixel is inside when its centre is).
    """
    if len(shape) != 2:
        raise ValueError(f"disc_mask: shape must be (rows, columns), got {shape}")
    radius = _positive("disc_mask: radius", radius)
    r, c = (float(v) for v in center)
    rr = np.arange(shape[0])[:, None] - r
    cc = np.arange(shape[1])[None, :] - c
    return rr * rr + cc * cc <= radius * radius


def _ellipse_mask(shape, center, radius_rows: float, radius_cols: float) -> np.ndarray:
    r, c = center
    rr = (np.arange(shape[0])[:, None] - r) / radius_rows
    cc = (np.arange(shape[1])[None, :] - c) / radius_cols
    return rr * rr + cc * cc <= 1.0


# --------------------------------------------------------------------------------------
# ASF
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AsfResult:
    """Artifact spread function of one feature.

    Attributes
    ----------
    z_mm : array (nz,)
        Slice heights, mm.
    asf : array (nz,)
        ASF(z) = (mu_feat(z) - mu_bg(z)) / (mu_feat(z0) - mu_bg(z0)).
    fwhm_mm : float
        FWHM of ASF(z) in mm (``inf`` when it does not fall to one half inside the volume).
    focus_slice : int
        z0, the in-focus slice.
    contrast : float
        mu_feat(z0) - mu_bg(z0), in the volume's units.
    """

    z_mm: np.ndarray
    asf: np.ndarray
    fwhm_mm: float
    focus_slice: int
    contrast: float


def artifact_spread(
    volume: np.ndarray,
    grid: VolumeGrid,
    point_mm,
    *,
    roi_radius_mm: float = 0.5,
    background_offset_mm: float = 3.0,
) -> AsfResult:
    """Artifact spread function ASF(z) of a small feature and its FWHM in mm.

    Parameters
    ----------
    volume : array (nz, ny, nx)
        Reconstructed volume.
    grid : VolumeGrid
        Its grid.
    point_mm : (x, y) or (x, y, z)
        Feature centre in the detector frame, mm. With z, the in-focus slice z0 is the slice
        nearest to it; without, it is the slice of maximum feature contrast.
    roi_radius_mm : float
        Radius of the circular feature ROI (and of each background ROI), mm.
    background_offset_mm : float
        Centre-to-centre distance of the two background ROIs from the feature, placed on either
        side along x (chest wall to nipple). Out-of-focus copies of a feature smear along y,
        the tube-motion axis, so background ROIs beside it along x stay clear of them.

    Returns
    -------
    AsfResult

    Notes
    -----
    mu_feat(z) is the mean in the feature ROI, mu_bg(z) the mean of the two background ROIs in
    the same slice (recon.md section 9). ROIs are ellipses when dx != dy so they are round in mm.
    """
    vol = _array("artifact_spread: volume", volume, 3)
    if not isinstance(grid, VolumeGrid):
        raise TypeError("artifact_spread: grid must be a recon.VolumeGrid")
    if tuple(vol.shape) != grid.shape:
        raise ValueError(f"artifact_spread: volume shape {vol.shape} differs from grid shape {grid.shape}")
    p = np.asarray(point_mm, dtype=np.float64).reshape(-1)
    if p.size not in (2, 3) or not np.all(np.isfinite(p)):
        raise ValueError(f"artifact_spread: point_mm must be (x, y) or (x, y, z), got {point_mm!r}")
    r_mm = _positive("artifact_spread: roi_radius_mm", roi_radius_mm)
    off = _positive("artifact_spread: background_offset_mm", background_offset_mm)
    if off < 2 * r_mm:
        raise ValueError(f"artifact_spread: background_offset_mm ({off}) must be at least twice roi_radius_mm ({r_mm})")
    dz, dy, dx = grid.voxel_mm
    _, j, i = grid.mm_to_index([p[0], p[1], grid.origin_mm[0]])
    shape2 = vol.shape[1:]
    ry, rx = max(r_mm / dy, 0.5), max(r_mm / dx, 0.5)
    feat = _ellipse_mask(shape2, (j, i), ry, rx)
    bg = _ellipse_mask(shape2, (j, i - off / dx), ry, rx) | _ellipse_mask(shape2, (j, i + off / dx), ry, rx)
    if not feat.any():
        raise ValueError(f"artifact_spread: the feature ROI at {tuple(p[:2])} mm lies outside the grid")
    if not bg.any():
        raise ValueError("artifact_spread: the background ROIs lie outside the grid")
    flat = vol.reshape(vol.shape[0], -1)
    mf = flat[:, feat.reshape(-1)].astype(np.float64).mean(axis=1)
    mb = flat[:, bg.reshape(-1)].astype(np.float64).mean(axis=1)
    diff = mf - mb
    if p.size == 3:
        k0 = int(np.clip(np.rint((p[2] - grid.origin_mm[0]) / dz), 0, vol.shape[0] - 1))
    else:
        k0 = int(np.argmax(diff))
    c0 = float(diff[k0])
    if not c0 > 0:
        raise ValueError(f"artifact_spread: the feature has no positive contrast in slice {k0} ({c0:.3g})")
    asf = diff / c0
    return AsfResult(
        z_mm=grid.z_mm.copy(),
        asf=asf,
        fwhm_mm=fwhm(asf, spacing=dz, peak=k0),
        focus_slice=k0,
        contrast=c0,
    )


# --------------------------------------------------------------------------------------
# CNR / SDNR
# --------------------------------------------------------------------------------------
def _mask(name: str, mask, shape) -> np.ndarray:
    m = np.asarray(mask)
    if m.dtype != bool:
        raise TypeError(f"{name} must be a boolean mask, got {m.dtype}")
    if m.shape != shape:
        raise ValueError(f"{name} has shape {m.shape}, the image {shape}")
    if m.sum() < 2:
        raise ValueError(f"{name} must select at least 2 pixels")
    return m


def cnr(image, feature_mask, background_mask, *, noise_mask=None, denominator: str = "background") -> float:
    """Contrast-to-noise ratio (a.k.a. SDNR) of a feature against its background.

    Parameters
    ----------
    image : array (any shape, usually one slice)
        Reconstructed values.
    feature_mask, background_mask : bool arrays like ``image``
        Feature ROI and adjacent background ROI (normally in the in-focus slice).
    noise_mask : bool array, optional
        A separate uniform ROI whose standard deviation is the noise; default the background ROI.
    denominator : {"background", "pooled"}
        ``"background"``: ``(mu_f - mu_b) / sigma_noise`` (the definition used throughout
        Crescent, recon.md section 9). ``"pooled"``: ``(mu_f - mu_b) / sqrt((sigma_f^2 + sigma_b^2) / 2)``
        (used by some papers; ``noise_mask`` is then not allowed).

    Returns
    -------
    float
        Signed CNR (negative for a feature darker than its background).
    """
    img = _array("cnr: image", image, tuple(range(1, 4)))
    f = _mask("cnr: feature_mask", feature_mask, img.shape)
    b = _mask("cnr: background_mask", background_mask, img.shape)
    if denominator not in ("background", "pooled"):
        raise ValueError(f"cnr: denominator must be 'background' or 'pooled', got {denominator!r}")
    vf = img[f].astype(np.float64)
    vb = img[b].astype(np.float64)
    contrast = vf.mean() - vb.mean()
    if denominator == "pooled":
        if noise_mask is not None:
            raise ValueError("cnr: noise_mask cannot be combined with denominator='pooled'")
        sigma = np.sqrt((vf.var(ddof=1) + vb.var(ddof=1)) / 2.0)
    else:
        vn = vb if noise_mask is None else img[_mask("cnr: noise_mask", noise_mask, img.shape)].astype(np.float64)
        sigma = vn.std(ddof=1)
    if not sigma > 0:
        raise ValueError("cnr: the noise standard deviation is zero")
    return float(contrast / sigma)


def sdnr(image, signal_mask, background_mask, *, noise_mask=None) -> float:
    """Signal-difference-to-noise ratio: :func:`cnr` with the background (or uniform-ROI) sigma.

    ``(mean(signal) - mean(background)) / std(noise ROI)``, the noise ROI being
    ``noise_mask`` (a uniform region) when given, else the background ROI.
    """
    return cnr(image, signal_mask, background_mask, noise_mask=noise_mask, denominator="background")


# --------------------------------------------------------------------------------------
# MTF
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MtfResult:
    """In-plane MTF from an edge.

    Attributes
    ----------
    freq_lp_mm : array
        Spatial frequencies, line pairs per mm (0 up to the oversampled Nyquist frequency).
    mtf : array
        MTF normalised to 1 at its peak (or at f = 0, see ``normalise``).
    mtf50, mtf10 : float
        Frequencies where the MTF first falls to 0.5 and 0.1, lp/mm (``nan`` when it does not
        fall that far within the frequency range).
    axis : str
        ``"y"`` (tube motion) or ``"x"`` (chest wall to nipple).
    esf_position_mm, esf : arrays
        The (binned) edge spread function used.
    """

    freq_lp_mm: np.ndarray
    mtf: np.ndarray
    mtf50: float
    mtf10: float
    axis: str
    esf_position_mm: np.ndarray
    esf: np.ndarray


def mtf_at(freq, mtf, level: float) -> float:
    """First frequency at which ``mtf`` falls to ``level`` (linear interpolation); nan if never."""
    f = np.asarray(freq, dtype=np.float64)
    m = np.asarray(mtf, dtype=np.float64)
    below = np.nonzero(m <= level)[0]
    if below.size == 0:
        return float("nan")
    k = int(below[0])
    if k == 0:
        return float(f[0])
    return float(f[k - 1] + (m[k - 1] - level) * (f[k] - f[k - 1]) / (m[k - 1] - m[k]))


def _oversampled_profile(fname: str, image, pixel_mm, axis: str, oversample: int, kind: str):
    """Bin a straight (possibly slanted) edge or line into an oversampled 1D profile.

    Returns (pos_px, profile, step_mm, oversample_used) with positions in pixels relative to
    the fitted edge / line.
    """
    img = _array(f"{fname}: image", image, 2).astype(np.float64)
    if axis not in ("y", "x"):
        raise ValueError(f"{fname}: axis must be 'y' (tube motion) or 'x' (chest wall to nipple), got {axis!r}")
    pix = np.broadcast_to(np.asarray(pixel_mm, dtype=np.float64), (2,))
    if not np.all(np.isfinite(pix) & (pix > 0)):
        raise ValueError(f"{fname}: pixel_mm must be positive, got {pixel_mm!r}")
    if isinstance(oversample, bool) or int(oversample) != oversample or oversample < 1:
        raise ValueError(f"{fname}: oversample must be an integer >= 1, got {oversample!r}")
    oversample = int(oversample)
    if not np.all(np.isfinite(img)):
        raise ValueError(f"{fname}: image contains non-finite values")
    a = img.T if axis == "y" else img  # the profile runs along the last axis
    step = float(pix[0] if axis == "y" else pix[1])
    n_lines, n = a.shape
    if n < 8 or n_lines < 2:
        raise ValueError(f"{fname}: the region {img.shape} is too small (need >= 8 along the axis, 2 across)")
    if kind == "edge":
        d = np.abs(np.diff(a, axis=1))
        at = np.arange(n - 1) + 0.5
    else:
        base = np.median(a, axis=1, keepdims=True)
        sign = 1.0 if np.abs(a.max() - np.median(a)) >= np.abs(a.min() - np.median(a)) else -1.0
        d = np.clip(sign * (a - base), 0, None)
        # only the neighbourhood of each line's maximum, so noise far away does not pull
        peak = np.argmax(d, axis=1)
        near = np.abs(np.arange(n)[None, :] - peak[:, None]) <= max(2, n // 8)
        d = d * near
        at = np.arange(n, dtype=np.float64)
    w = d.sum(axis=1)
    if np.any(w <= 0):
        raise ValueError(f"{fname}: some lines across the region are flat: no {kind} found")
    centres = (d * at[None, :]).sum(axis=1) / w
    lines = np.arange(n_lines, dtype=np.float64)
    slope, intercept = np.polyfit(lines, centres, 1)
    if abs(slope) > np.tan(np.deg2rad(30)):
        raise ValueError(f"{fname}: the {kind} is tilted by {np.rad2deg(np.arctan(slope)):.0f} degrees (max 30)")
    if abs(slope) * (n_lines - 1) < 1.0:
        # aligned with the grid: one position for every line, so each line bins identically
        oversample = 1
        pos_line = np.full(n_lines, float(np.mean(centres)))
    else:
        pos_line = intercept + slope * lines
    dist = (np.arange(n)[None, :] - pos_line[:, None]).reshape(-1)
    vals = a.reshape(-1)
    bins = np.floor(dist * oversample).astype(np.int64)
    lo = bins.min()
    counts = np.bincount(bins - lo)
    sums = np.bincount(bins - lo, weights=vals)
    # keep the central range covered by every line
    half_span = int(np.floor(min(pos_line.min(), n - 1 - pos_line.max()) * oversample))
    if half_span < 4:
        raise ValueError(f"{fname}: the {kind} lies too close to the region's border")
    sel = slice(-lo - half_span, -lo + half_span)
    c = counts[sel].astype(np.float64)
    s = sums[sel]
    pos = (np.arange(sel.start, sel.stop) + lo + 0.5) / oversample
    good = c > 0
    if good.sum() < 8:
        raise ValueError(f"{fname}: too few samples along the {kind}")
    return pos, np.interp(pos, pos[good], s[good] / c[good]), step, oversample


def _mtf_from_lsf(fname, lsf, *, bin_mm, half_width_mm, normalise, undo_difference):
    if normalise not in ("peak", "zero"):
        raise ValueError(f"{fname}: normalise must be 'peak' or 'zero', got {normalise!r}")
    k = int(np.argmax(lsf))
    hw_bins = (
        (len(lsf) // 2)
        if half_width_mm is None
        else max(2, int(round(_positive(f"{fname}: lsf_half_width_mm", half_width_mm) / bin_mm)))
    )
    # Tukey window about the peak: flat over the inner half, cosine taper over the outer half
    t = np.abs(np.arange(len(lsf)) - k) / (hw_bins + 1)
    win = np.where(t <= 0.5, 1.0, np.where(t < 1.0, 0.5 * (1 + np.cos(np.pi * (2 * t - 1))), 0.0))
    n_fft = max(256, int(2 ** np.ceil(np.log2(len(lsf) * 4))))
    spec = np.abs(np.fft.rfft(lsf * win, n_fft))
    freq = np.fft.rfftfreq(n_fft, d=bin_mm)
    if undo_difference:
        spec = spec / np.maximum(np.sinc(freq * bin_mm), 1e-6)
    keep = freq <= 0.5 / bin_mm
    freq, mtf = freq[keep], spec[keep]
    if not mtf.max() > 0:
        raise ValueError(f"{fname}: no contrast")
    if normalise == "zero":
        if not mtf[0] > 0:
            raise ValueError(f"{fname}: no net contrast at f = 0 (use normalise='peak')")
        top = 0
    else:
        top = int(np.argmax(mtf))
    mtf = mtf / mtf[top]
    return freq, mtf, mtf_at(freq[top:], mtf[top:], 0.5), mtf_at(freq[top:], mtf[top:], 0.1)


def edge_mtf(
    image,
    *,
    pixel_mm,
    axis: str,
    oversample: int = 4,
    lsf_half_width_mm: float | None = None,
    normalise: str = "peak",
) -> MtfResult:
    """In-plane MTF of a straight (optionally slanted) edge: ESF -> LSF -> |FFT|.

    Parameters
    ----------
    image : 2D array (ny, nx)
        A region of one slice holding a single straight edge crossing it, roughly
        perpendicular to ``axis`` (within 30 degrees), with flat regions on both sides.
    pixel_mm : float or (dy, dx)
        In-plane voxel size, mm.
    axis : {"y", "x"}
        Direction the MTF is measured along: ``"y"`` = rows, the tube-motion axis;
        ``"x"`` = columns, chest wall toward nipple. The edge line runs across this axis.
    oversample : int
        Profile bins per pixel for a slanted edge (ISO 12233 style presampled MTF). When the
        edge is aligned with the grid (its position moves by less than one pixel across the
        region) no oversampling is possible and 1 is used.
    lsf_half_width_mm : float, optional
        Half width of the window applied to the LSF around its peak, mm (flat over the inner
        half, cosine taper outside); default half the profile length. It tames noise in the
        tails without narrowing the LSF core.
    normalise : {"peak", "zero"}
        Divide the spectrum by its maximum (default) or by its value at f = 0. DBT
        filtered backprojection removes low frequencies along the tube-motion axis (its
        ramp filter), and large thin objects are not localised in depth at all, so an edge
        can show overshoots and a spectrum that rises before it falls; normalising at the peak
        keeps such MTFs comparable with iterative ones (whose peak is at f = 0, where both
        choices agree). MTF50/MTF10 are the first crossings after the peak.

    Returns
    -------
    MtfResult

    Notes
    -----
    The edge position on each line across it is the centroid of the absolute derivative; a
    straight line fitted to those positions gives the edge angle. Each pixel's signed distance
    to the edge, measured along ``axis``, bins the ESF; its finite difference is the LSF, whose
    |FFT| normalised (see ``normalise``) is the MTF. The finite difference's own transfer
    function (``sinc`` of one bin) is divided out. In DBT, prefer :func:`line_mtf` on a thin
    wire: a large flat object's interior spreads over all slices (limited angle), which
    distorts its ESF.
    """
    pos, esf, step, os_used = _oversampled_profile("edge_mtf", image, pixel_mm, axis, oversample, "edge")
    lsf = np.diff(esf if esf[-1] >= esf[0] else -esf)
    freq, mtf, m50, m10 = _mtf_from_lsf(
        "edge_mtf",
        lsf,
        bin_mm=step / os_used,
        half_width_mm=lsf_half_width_mm,
        normalise=normalise,
        undo_difference=True,
    )
    return MtfResult(freq, mtf, m50, m10, axis, pos * step, esf)


def line_mtf(
    image,
    *,
    pixel_mm,
    axis: str,
    oversample: int = 4,
    lsf_half_width_mm: float | None = None,
    normalise: str = "peak",
) -> MtfResult:
    """In-plane MTF from a thin straight wire (a line-spread function): LSF -> |FFT|.

    Parameters
    ----------
    image : 2D array (ny, nx)
        A region of the wire's in-focus slice: one thin straight wire crossing it roughly
        perpendicular to ``axis`` (within 30 degrees; slightly slanted for oversampling), on a
        flat background.
    pixel_mm, axis, oversample, lsf_half_width_mm, normalise
        As :func:`edge_mtf`; ``axis="y"`` needs a wire running along x and measures the MTF
        along the tube-motion axis.

    Returns
    -------
    MtfResult
        ``esf`` holds the binned LSF (background removed) and ``esf_position_mm`` its positions.

    Notes
    -----
    The wire position per line is the centroid of the background-subtracted profile near its
    maximum; the background is the median of each line. The wire should be thinner than a
    voxel (its own width is not divided out).
    """
    pos, lsf, step, os_used = _oversampled_profile("line_mtf", image, pixel_mm, axis, oversample, "line")
    lsf = lsf - np.median(lsf)
    if abs(lsf.min()) > abs(lsf.max()):
        lsf = -lsf
    freq, mtf, m50, m10 = _mtf_from_lsf(
        "line_mtf",
        lsf,
        bin_mm=step / os_used,
        half_width_mm=lsf_half_width_mm,
        normalise=normalise,
        undo_difference=False,
    )
    return MtfResult(freq, mtf, m50, m10, axis, pos * step, lsf)


def bead_mtf(
    image,
    *,
    pixel_mm,
    axis: str,
    lsf_half_width_mm: float | None = None,
    normalise: str = "peak",
) -> MtfResult:
    """In-plane MTF from a small bead (a point-spread function) in its in-focus slice.

    The PSF is summed across ``axis`` (after subtracting the region's median background) to
    give the LSF along ``axis``, whose |FFT| is the MTF, up to the voxel Nyquist frequency (no
    oversampling). Use it along x (chest wall to nipple), where a wire would have to run
    along the tube motion and so is not localised in depth at all.

    Parameters
    ----------
    image : 2D array (ny, nx)
        A region of the bead's in-focus slice centred roughly on the bead, on a flat
        background. The bead should be smaller than a voxel.
    pixel_mm, axis, lsf_half_width_mm, normalise
        As :func:`edge_mtf`.

    Returns
    -------
    MtfResult
        ``esf`` holds the LSF.
    """
    img = _array("bead_mtf: image", image, 2).astype(np.float64)
    if axis not in ("y", "x"):
        raise ValueError(f"bead_mtf: axis must be 'y' (tube motion) or 'x' (chest wall to nipple), got {axis!r}")
    pix = np.broadcast_to(np.asarray(pixel_mm, dtype=np.float64), (2,))
    if not np.all(np.isfinite(pix) & (pix > 0)):
        raise ValueError(f"bead_mtf: pixel_mm must be positive, got {pixel_mm!r}")
    if min(img.shape) < 8:
        raise ValueError(f"bead_mtf: the region {img.shape} is too small (need >= 8 x 8)")
    a = img - np.median(img)
    if abs(a.min()) > abs(a.max()):
        a = -a
    lsf = (a.sum(axis=0) if axis == "x" else a.sum(axis=1)).astype(np.float64)
    step = float(pix[0] if axis == "y" else pix[1])
    freq, mtf, m50, m10 = _mtf_from_lsf(
        "bead_mtf", lsf, bin_mm=step, half_width_mm=lsf_half_width_mm, normalise=normalise, undo_difference=False
    )
    return MtfResult(freq, mtf, m50, m10, axis, (np.arange(lsf.size) - np.argmax(lsf)) * step, lsf)


# --------------------------------------------------------------------------------------
# NPS
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NpsResult:
    """2D noise power spectrum.

    Attributes
    ----------
    freq_y, freq_x : arrays
        Frequencies (lp/mm, ``fftshift`` order, zero in the middle).
    nps : array (len(freq_y), len(freq_x))
        NPS in (units^2 * mm^2).
    variance : float
        Mean variance of the detrended ROIs (equals the integral of the NPS).
    """

    freq_y: np.ndarray
    freq_x: np.ndarray
    nps: np.ndarray
    variance: float


def noise_power_spectrum(rois, *, pixel_mm, detrend: str = "plane") -> NpsResult:
    """NPS from uniform ROIs: ``NPS(f) = dx dy / (Nx Ny) * < |FFT(ROI - trend)|^2 >``.

    Parameters
    ----------
    rois : array (n, ny, nx) or (ny, nx)
        Equally sized uniform regions (from one or several slices / realisations).
    pixel_mm : float or (dy, dx)
        In-plane voxel size, mm.
    detrend : {"plane", "mean"}
        Remove a fitted first-order plane (default) or only the mean from each ROI.

    Returns
    -------
    NpsResult
    """
    r = _array("noise_power_spectrum: rois", rois, (2, 3)).astype(np.float64)
    if r.ndim == 2:
        r = r[None]
    n, ny, nx = r.shape
    if ny < 4 or nx < 4:
        raise ValueError(f"noise_power_spectrum: ROIs of {ny} x {nx} are too small")
    pix = np.broadcast_to(np.asarray(pixel_mm, dtype=np.float64), (2,))
    if not np.all(np.isfinite(pix) & (pix > 0)):
        raise ValueError(f"noise_power_spectrum: pixel_mm must be positive, got {pixel_mm!r}")
    if detrend not in ("plane", "mean"):
        raise ValueError(f"noise_power_spectrum: detrend must be 'plane' or 'mean', got {detrend!r}")
    if detrend == "plane":
        yy, xx = np.meshgrid(np.arange(ny) - (ny - 1) / 2, np.arange(nx) - (nx - 1) / 2, indexing="ij")
        basis = np.stack([np.ones(ny * nx), yy.ravel(), xx.ravel()], axis=1)
        coef, *_ = np.linalg.lstsq(basis, r.reshape(n, -1).T, rcond=None)
        resid = r - (basis @ coef).T.reshape(n, ny, nx)
    else:
        resid = r - r.mean(axis=(1, 2), keepdims=True)
    power = np.mean(np.abs(np.fft.fft2(resid)) ** 2, axis=0)
    nps = np.fft.fftshift(power) * pix[0] * pix[1] / (nx * ny)
    return NpsResult(
        freq_y=np.fft.fftshift(np.fft.fftfreq(ny, d=pix[0])),
        freq_x=np.fft.fftshift(np.fft.fftfreq(nx, d=pix[1])),
        nps=nps,
        variance=float(np.mean(resid**2)),
    )


# --------------------------------------------------------------------------------------
# fidelity to a reference
# --------------------------------------------------------------------------------------
def compare_to_reference(volume, reference, *, data_range: float) -> dict:
    """SSIM, PSNR, RMSE and relative error of a volume against a ground truth.

    Parameters
    ----------
    volume, reference : arrays (nz, ny, nx) (or one slice (ny, nx)) of the same shape
        Reconstruction and phantom on the same grid, same units.
    data_range : float
        The value range used by SSIM and PSNR (e.g. ``reference.max() - reference.min()``);
        explicit so that results are comparable between cases.

    Returns
    -------
    dict
        ``ssim``, ``psnr_db``, ``rmse``, ``relative_error`` (volume values: SSIM is the mean of
        the per-slice 2D SSIMs, the others are over all voxels) and ``ssim_per_slice``,
        ``psnr_db_per_slice``, ``rmse_per_slice`` (arrays).
    """
    from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity

    x = _array("compare_to_reference: volume", volume, (2, 3))
    ref = _array("compare_to_reference: reference", reference, (2, 3))
    if x.shape != ref.shape:
        raise ValueError(f"compare_to_reference: shapes differ: {x.shape} vs {ref.shape}")
    rng = _positive("compare_to_reference: data_range", data_range)
    x3 = (x if x.ndim == 3 else x[None]).astype(np.float64)
    r3 = (ref if ref.ndim == 3 else ref[None]).astype(np.float64)
    if min(r3.shape[1:]) < 7:
        raise ValueError(f"compare_to_reference: slices of {r3.shape[1:]} are smaller than the 7x7 SSIM window")
    ssim_s = np.array([structural_similarity(r, v, data_range=rng) for r, v in zip(r3, x3, strict=True)])
    mse_s = np.array([mean_squared_error(r, v) for r, v in zip(r3, x3, strict=True)])
    with np.errstate(divide="ignore"):
        psnr_s = np.array(
            [
                peak_signal_noise_ratio(r, v, data_range=rng) if m > 0 else np.inf
                for r, v, m in zip(r3, x3, mse_s, strict=True)
            ]
        )
    mse = float(mse_s.mean())
    norm = float(np.linalg.norm(r3))
    return {
        "ssim": float(ssim_s.mean()),
        "psnr_db": float(10 * np.log10(rng**2 / mse)) if mse > 0 else float("inf"),
        "rmse": float(np.sqrt(mse)),
        "relative_error": float(np.linalg.norm(x3 - r3) / norm) if norm > 0 else float("nan"),
        "ssim_per_slice": ssim_s,
        "psnr_db_per_slice": psnr_s,
        "rmse_per_slice": np.sqrt(mse_s),
    }
