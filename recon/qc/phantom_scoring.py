"""Automatic scoring of the QC phantom in a reconstructed volume, and its image-quality figures.

Visibility of each object is judged like an ideal observer who knows where to look: a
zero-mean template matched to the object (a point for a speck, a line segment for a fibre, a
disc for a mass) is correlated with the in-focus slice, and the response at the object is
compared with the spread of responses over the uniform region of the same slice:

    d' = (response at the object - mean response in the uniform region) / their standard deviation

An object is seen (score 1) when d' >= 5, the Rose criterion for reliable detection, and
half-seen (0.5) when d' >= 3. A speck group scores 1 when at least 4 of its 6 specks are seen
and 0.5 for 2 or 3; a fibre scores 1 when all three thirds of its length are seen and 0.5 for
two thirds (the ACR half-point rules for specks and fibres; counts unverified). Totals count
from the largest object down to the first object not seen. Pass: at least 2 fibres, 3 speck
groups and 2 masses (ACR DM phantom, clinical.md section 7, unverified).

Also measured: SDNR of the largest mass (uniform-region noise), uniformity of the uniform
region, ASF FWHM of the bead and MTF50 along x from the slanted wire (:mod:`recon.metrics`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from recon import metrics
from recon.phantoms.qc import QCPhantom
from recon.qc.limits import QCLimits
from recon.qc.results import CheckResult, QCReport
from recon.types import Volume

__all__ = ["ScoreRules", "score_phantom", "phantom_report"]


@dataclass(frozen=True)
class ScoreRules:
    """Visibility thresholds (d') and pass levels of the phantom scoring."""

    seen: float = 5.0
    half_seen: float = 3.0
    specks_for_full: int = 4
    specks_for_half: int = 2
    pass_fibres: float = 2.0
    pass_specks: float = 3.0
    pass_masses: float = 2.0


def _gauss_kernel(sigma_px: tuple[float, float], half: int) -> np.ndarray:
    y, x = np.mgrid[-half : half + 1, -half : half + 1].astype(float)
    return np.exp(-0.5 * ((y / sigma_px[0]) ** 2 + (x / sigma_px[1]) ** 2))


def _zero_mean(t: np.ndarray) -> np.ndarray:
    t = t - t.mean()
    return t / np.sqrt(np.sum(t * t))


def _point_template(diam_mm: float, pix: tuple[float, float]) -> np.ndarray:
    s = [max(diam_mm / 2.355, 0.6 * p) / p for p in pix]
    half = int(np.ceil(3 * 2 * max(s)))
    return _zero_mean(_gauss_kernel(tuple(s), half) - 0.25 * _gauss_kernel(tuple(2 * x for x in s), half))


def _disc_template(radius_mm: float, pix: tuple[float, float]) -> np.ndarray:
    ry, rx = radius_mm / pix[0], radius_mm / pix[1]
    half_y, half_x = int(np.ceil(1.8 * ry)) + 1, int(np.ceil(1.8 * rx)) + 1
    y, x = np.mgrid[-half_y : half_y + 1, -half_x : half_x + 1].astype(float)
    r = np.hypot(y / ry, x / rx)
    t = np.where(r <= 1.0, 1.0, 0.0) - np.where((r > 1.2) & (r <= 1.8), 1.0, 0.0) * (1.0 / (1.8**2 - 1.2**2))
    return _zero_mean(t)


def _line_template(length_mm: float, width_mm: float, angle: float, pix: tuple[float, float]) -> np.ndarray:
    """A segment (along the direction ``angle`` from +y toward +x) minus two parallel side bands."""
    half = int(np.ceil(0.6 * length_mm / min(pix))) + 2
    y, x = np.mgrid[-half : half + 1, -half : half + 1].astype(float)
    ym, xm = y * pix[0], x * pix[1]
    along = ym * np.cos(angle) + xm * np.sin(angle)
    across = -ym * np.sin(angle) + xm * np.cos(angle)
    w = max(width_mm, 1.2 * max(pix))
    inside = np.abs(along) <= length_mm / 2
    core = inside & (np.abs(across) <= w / 2)
    side = inside & (np.abs(across) > w) & (np.abs(across) <= 2 * w)
    t = core.astype(float) - side.astype(float) * core.sum() / max(side.sum(), 1)
    return _zero_mean(t)


class _Slice:
    def __init__(self, volume: Volume, z_mm: float, uniform_extent: tuple):
        g = volume.grid
        self.k = int(np.clip(np.rint((z_mm - g.origin_mm[0]) / g.voxel_mm[0]), 0, g.shape[0] - 1))
        self.img = volume.data[self.k].astype(np.float64)
        self.grid = g
        self.pix = (g.voxel_mm[1], g.voxel_mm[2])
        x0, x1, y0, y1 = uniform_extent
        yy, xx = np.meshgrid(g.y_mm, g.x_mm, indexing="ij")
        self.uniform = (xx >= x0) & (xx <= x1) & (yy >= y0) & (yy <= y1)
        if self.uniform.sum() < 16:
            raise ValueError("score_phantom: the uniform region lies outside the reconstruction grid")

    def rc(self, point_mm) -> tuple[float, float]:
        _, j, i = self.grid.mm_to_index([point_mm[0], point_mm[1], self.grid.origin_mm[0]])
        return float(j), float(i)

    def dprime(self, template: np.ndarray, points_mm, *, search_px: int = 1) -> np.ndarray:
        """d' of the template response at each point (max within +-search_px), against the uniform region."""
        resp = ndimage.correlate(self.img, template, mode="nearest")
        # keep the template inside the uniform region for the null distribution
        er = ndimage.binary_erosion(self.uniform, structure=np.ones(tuple(max(1, s // 2) for s in template.shape)))
        null = resp[er] if er.sum() >= 16 else resp[self.uniform]
        mu, sd = float(null.mean()), float(null.std())
        sd = max(sd, 1e-12)
        out = []
        ny, nx = resp.shape
        for p in points_mm:
            j, i = self.rc(p)
            j0, i0 = int(round(j)), int(round(i))
            if not (0 <= j0 < ny and 0 <= i0 < nx):
                out.append(np.nan)
                continue
            win = resp[max(j0 - search_px, 0) : j0 + search_px + 1, max(i0 - search_px, 0) : i0 + search_px + 1]
            out.append((float(win.max()) - mu) / sd)
        return np.array(out)


def _grade(d: float, rules: ScoreRules) -> float:
    if not np.isfinite(d):
        return 0.0
    return 1.0 if d >= rules.seen else (0.5 if d >= rules.half_seen else 0.0)


def _total(scores) -> float:
    t = 0.0
    for s in scores:
        if s <= 0:
            break
        t += s
    return t


def score_phantom(volume: Volume, phantom: QCPhantom, *, rules: ScoreRules | None = None) -> dict:
    """Score fibres, speck groups and masses of the QC phantom in a reconstruction.

    Parameters
    ----------
    volume : Volume
        Reconstruction on any grid covering the objects' plane (attenuation or line-integral units).
    phantom : QCPhantom
        The phantom that was imaged (object positions and sizes).
    rules : ScoreRules

    Returns
    -------
    dict with ``fibres``, ``specks``, ``masses`` (each {"scores": [6], "dprime": [...], "total"}),
    ``focus_slice`` and ``pass`` (bool per group).
    """
    if not isinstance(volume, Volume):
        raise TypeError("score_phantom: volume must be a recon.Volume")
    if not isinstance(phantom, QCPhantom):
        raise TypeError("score_phantom: phantom must be a recon.phantoms.qc.QCPhantom")
    rules = rules or ScoreRules()
    uni = phantom.of_kind("uniform")[0]
    sl = _Slice(volume, phantom.insert_height_mm, uni.extent_mm)
    out = {"focus_slice": sl.k}
    # fibres: three thirds along the length
    f_scores, f_d = [], []
    for o in phantom.of_kind("fibre"):
        third = o.length_mm / 3
        tmpl = _line_template(third, o.size_mm, o.angle_rad, sl.pix)
        direction = np.array([np.sin(o.angle_rad), np.cos(o.angle_rad), 0.0])
        pts = [np.array(o.center_mm) + t * third * direction for t in (-1, 0, 1)]
        d = sl.dprime(tmpl, pts)
        seen = int(np.sum(d >= rules.seen))
        half = int(np.sum(d >= rules.half_seen))
        f_scores.append(1.0 if seen == 3 else (0.5 if max(seen, half) >= 2 else 0.0))
        f_d.append(d.tolist())
    # speck groups
    s_scores, s_d = [], []
    for o in phantom.of_kind("speck_group"):
        tmpl = _point_template(o.size_mm, sl.pix)
        d = sl.dprime(tmpl, o.members_mm)
        seen = int(np.sum(d >= rules.seen))
        s_scores.append(1.0 if seen >= rules.specks_for_full else (0.5 if seen >= rules.specks_for_half else 0.0))
        s_d.append(d.tolist())
    # masses
    m_scores, m_d = [], []
    for o in phantom.of_kind("mass"):
        tmpl = _disc_template(0.5 * o.length_mm, sl.pix)
        d = float(sl.dprime(tmpl, [o.center_mm], search_px=0)[0])
        m_scores.append(_grade(d, rules))
        m_d.append(d)
    out["fibres"] = {"scores": f_scores, "dprime": f_d, "total": _total(f_scores)}
    out["specks"] = {"scores": s_scores, "dprime": s_d, "total": _total(s_scores)}
    out["masses"] = {"scores": m_scores, "dprime": m_d, "total": _total(m_scores)}
    out["pass"] = {
        "fibres": out["fibres"]["total"] >= rules.pass_fibres,
        "specks": out["specks"]["total"] >= rules.pass_specks,
        "masses": out["masses"]["total"] >= rules.pass_masses,
    }
    # image-quality figures
    big = phantom.of_kind("mass")[0]
    j, i = sl.rc(big.center_mm)
    r_px = 0.35 * big.length_mm / sl.pix[1]
    sig = metrics.disc_mask(sl.img.shape, (j, i), r_px)
    ring = metrics.disc_mask(sl.img.shape, (j, i), 0.9 * big.length_mm / sl.pix[1]) & ~metrics.disc_mask(
        sl.img.shape, (j, i), 0.65 * big.length_mm / sl.pix[1]
    )
    out["sdnr"] = float(metrics.sdnr(sl.img, sig, ring, noise_mask=sl.uniform))
    # uniformity of the uniform region: 2 x 3 ROIs, largest deviation relative to the region mean
    ys, xs = np.nonzero(sl.uniform)
    blocks = []
    for yb in np.array_split(np.unique(ys), 2):
        for xb in np.array_split(np.unique(xs), 3):
            blocks.append(sl.img[np.ix_(yb, xb)].mean())
    blocks = np.array(blocks)
    ref = float(sl.img[sl.uniform].mean())
    out["uniformity"] = float(np.max(np.abs(blocks - ref)) / abs(ref)) if ref != 0 else float("nan")
    out["noise"] = float(sl.img[sl.uniform].std())
    bead = phantom.of_kind("bead")[0]
    try:
        asf = metrics.artifact_spread(
            volume.data,
            volume.grid,
            bead.center_mm,
            roi_radius_mm=max(0.4 * bead.size_mm, 0.5 * max(sl.pix)),
            background_offset_mm=3.0 * bead.size_mm,
        )
        out["asf_fwhm_mm"] = float(asf.fwhm_mm)
    except ValueError:
        out["asf_fwhm_mm"] = float("nan")
    wire = phantom.of_kind("wire")[0]
    j, i = sl.rc(wire.center_mm)
    hw_y, hw_x = int(round(5.0 / sl.pix[0])), int(round(5.0 / sl.pix[1]))
    roi = sl.img[max(int(j) - hw_y, 0) : int(j) + hw_y, max(int(i) - hw_x, 0) : int(i) + hw_x]
    try:
        mtf = metrics.line_mtf(roi, pixel_mm=sl.pix, axis="x")
        out["mtf50_x_lp_mm"] = float(mtf.mtf50)
    except ValueError:
        out["mtf50_x_lp_mm"] = float("nan")
    return out


def phantom_report(
    scores: dict, *, baseline: dict | None = None, limits: QCLimits | None = None, sdnr_tolerance: float = 0.2
) -> QCReport:
    """Checks from :func:`score_phantom`: object scores against the pass levels; SDNR and MTF against a baseline.

    ``baseline`` holds a reference session's ``sdnr`` and ``mtf50_x_lp_mm`` (the device's first
    accepted session); a fall by more than ``sdnr_tolerance`` (20 %, engineering choice pending
    the site's protocol) warns.
    """
    limits = limits or QCLimits()
    rules = ScoreRules()
    checks = []
    for key, label, need in (
        ("fibres", "fibres", rules.pass_fibres),
        ("specks", "speck groups", rules.pass_specks),
        ("masses", "masses", rules.pass_masses),
    ):
        tot = scores[key]["total"]
        checks.append(
            CheckResult(
                f"phantom_{key}",
                "pass" if tot >= need else "fail",
                value=tot,
                limit=need,
                detail=f"{tot:g} of 6 {label} seen (scores {', '.join(f'{s:g}' for s in scores[key]['scores'])})",
                data={"scores": scores[key]["scores"], "dprime": scores[key]["dprime"]},
            )
        )
    u = scores.get("uniformity", float("nan"))
    u_status = (
        "pass"
        if not np.isfinite(u) or u <= limits.uniformity_warn
        else ("warn" if u <= limits.uniformity_fail else "fail")
    )
    checks.append(
        CheckResult(
            "phantom_uniformity",
            u_status,
            value=u,
            limit={"warn": limits.uniformity_warn, "fail": limits.uniformity_fail},
            detail=f"largest ROI deviation in the uniform region {u * 100:.1f} %",
        )
    )
    for key, label in (("sdnr", "SDNR of the largest mass"), ("mtf50_x_lp_mm", "MTF50 along x (lp/mm)")):
        v = scores.get(key, float("nan"))
        status, limit, detail = "pass", None, f"{label} {v:.3g}"
        if baseline and key in baseline and np.isfinite(v) and baseline[key]:
            limit = {"baseline": baseline[key], "tolerance": sdnr_tolerance}
            rel = (v - baseline[key]) / baseline[key]
            detail += f" ({rel * 100:+.0f} % from the baseline {baseline[key]:.3g})"
            if rel < -sdnr_tolerance:
                status = "warn"
        checks.append(CheckResult(f"phantom_{key}", status, value=v, limit=limit, detail=detail))
    a = scores.get("asf_fwhm_mm", float("nan"))
    checks.append(CheckResult("phantom_asf_fwhm", "pass", value=a, detail=f"ASF FWHM of the bead {a:.3g} mm"))
    return QCReport(checks=tuple(checks), metadata={"focus_slice": scores.get("focus_slice")})
