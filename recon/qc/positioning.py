"""Positioning on a 2D or synthetic 2D image, measured automatically and flagged for confirmation.

Image convention: rows along y (along the chest wall), columns along x from the chest wall
(column 0) toward the nipple; brighter = more attenuating. For MLO the pectoral muscle is the
bright wedge at the chest wall at one end of y.

Criteria (clinical.md section 7, ACR/EQUIP and EU guidelines):
* nipple in profile (CC and MLO);
* MLO: the pectoral muscle reaches the posterior nipple line (PNL): the perpendicular from the
  nipple to the pectoral edge meets the edge where the muscle is visible;
* CC PNL length within 10 mm of the MLO PNL length;
* inframammary fold open and visible (MLO): not measured here, left to the technologist.

Every result is an estimate for the technologist to confirm (``needs_confirmation``); problems
are "warn", never "fail".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.feature import canny
from skimage.filters import threshold_otsu
from skimage.transform import hough_line, hough_line_peaks

from recon.qc.results import CheckResult

__all__ = ["PositioningMeasures", "measure_positioning", "check_positioning", "check_pnl_cc_mlo"]


@dataclass(frozen=True)
class PositioningMeasures:
    """Automatic positioning measurements of one view (positions in (row, column) px, lengths in mm)."""

    view: str
    nipple_rc: tuple
    nipple_in_profile: bool
    nipple_protrusion_mm: float
    pectoral_line: tuple | None  # ((r0, c0), (r1, c1)) from the image edge to the chest wall
    pnl_mm: float
    pectoral_reaches_pnl: bool | None
    pnl_foot_rc: tuple | None


def _breast_mask(img: np.ndarray) -> np.ndarray:
    t = threshold_otsu(img)
    m = img > t
    lab, n = ndimage.label(m)
    if n == 0:
        raise ValueError("positioning: no breast found in the image")
    touching = set(np.unique(lab[:, 0])) - {0}
    sizes = ndimage.sum(m, lab, index=np.arange(1, n + 1))
    cands = [i for i in range(1, n + 1) if i in touching] or list(range(1, n + 1))
    best = max(cands, key=lambda i: sizes[i - 1])
    return ndimage.binary_fill_holes(lab == best)


def _nipple(mask: np.ndarray, pixel_mm: float) -> tuple[tuple[float, float], float]:
    """Most anterior point of the outline and how far it stands out of the smooth outline (mm)."""
    rows = np.flatnonzero(mask.any(axis=1))
    extent = np.array([np.flatnonzero(mask[r])[-1] for r in rows], float)
    apex = int(np.argmax(extent))
    top = np.flatnonzero(extent >= extent[apex] - 0.5)
    r_nip = float(rows[top].mean())
    c_nip = float(extent[apex])
    # smooth outline: quadratic through the outline 3-12 mm either side of the apex
    win_in, win_out = int(round(3 / pixel_mm)), int(round(12 / pixel_mm))
    ia = int(round(np.mean(top)))
    idx = np.r_[max(ia - win_out, 0) : max(ia - win_in, 0), min(ia + win_in, rows.size) : min(ia + win_out, rows.size)]
    if idx.size < 5:
        return (r_nip, c_nip), 0.0
    coef = np.polyfit(rows[idx].astype(float), extent[idx], 2)
    protrusion = (c_nip - np.polyval(coef, r_nip)) * pixel_mm
    return (r_nip, c_nip), float(protrusion)


def _pectoral(img: np.ndarray, mask: np.ndarray, pixel_mm: float):
    """Pectoral edge as a segment from the top/bottom image edge to the chest wall, or None."""
    nv, nu = img.shape
    width = np.flatnonzero(mask.any(axis=0)).max() + 1
    sm = ndimage.gaussian_filter(img.astype(np.float64), 2.0)
    edges = canny(sm, sigma=1.0) & ndimage.binary_erosion(mask, iterations=3)
    edges[:, int(0.6 * width) :] = False
    if edges.sum() < 10:
        return None
    angles = np.deg2rad(np.r_[np.linspace(-75, -15, 61), np.linspace(15, 75, 61)])
    h, th, d = hough_line(edges, theta=angles)
    for _, ang, dist in zip(*hough_line_peaks(h, th, d, num_peaks=5), strict=False):
        # line: x cos(ang) + y sin(ang) = dist, x = column, y = row
        c, s = np.cos(ang), np.sin(ang)
        if abs(c) < 1e-6 or abs(s) < 1e-6:
            continue
        row_cw = dist / s  # where it meets the chest wall (column 0)
        for row_edge in (0.0, nv - 1.0):
            col_edge = (dist - row_edge * s) / c
            if 0 < col_edge < width and 0 <= row_cw <= nv - 1:
                # muscle side (the corner) must be brighter than the other side
                rr, cc = np.mgrid[0:nv, 0:nu]
                side = (cc * c + rr * s - dist) * np.sign(0 * c + row_edge * s - dist)
                near = mask & (np.abs(cc * c + rr * s - dist) < 8 / pixel_mm)
                corner = near & (side > 0)
                other = near & (side < 0)
                if corner.sum() > 20 and other.sum() > 20 and img[corner].mean() > img[other].mean():
                    return (row_edge, col_edge), (row_cw, 0.0)
    return None


def measure_positioning(image: np.ndarray, *, view: str, pixel_mm: float) -> PositioningMeasures:
    """Nipple, pectoral edge and posterior nipple line of a CC or MLO image.

    Parameters
    ----------
    image : 2-D array
        2D or synthetic 2D image, brighter = denser, chest wall at column 0.
    view : {"CC", "MLO"}
    pixel_mm : float
        Pixel size, mm.
    """
    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2:
        raise ValueError(f"measure_positioning: image must be 2-D, got shape {img.shape}")
    view = str(view).upper()
    if view not in ("CC", "MLO"):
        raise ValueError(f"measure_positioning: view must be CC or MLO, got {view!r}")
    if not pixel_mm > 0:
        raise ValueError(f"measure_positioning: pixel_mm must be > 0, got {pixel_mm}")
    mask = _breast_mask(img)
    nip, protrusion = _nipple(mask, pixel_mm)
    in_profile = protrusion >= 1.0
    if view == "CC":
        return PositioningMeasures("CC", nip, in_profile, protrusion, None, nip[1] * pixel_mm, None, None)
    seg = _pectoral(img, mask, pixel_mm)
    if seg is None:
        return PositioningMeasures("MLO", nip, in_profile, protrusion, None, float("nan"), None, None)
    (r0, c0), (r1, c1) = seg
    p0, p1 = np.array([r0, c0]), np.array([r1, c1])
    dvec = p1 - p0
    t = float(np.dot(np.array(nip) - p0, dvec) / np.dot(dvec, dvec))
    foot = p0 + t * dvec
    pnl = float(np.linalg.norm(np.array(nip) - foot) * pixel_mm)
    reaches = bool(0.0 <= t <= 1.0)
    return PositioningMeasures("MLO", nip, in_profile, protrusion, seg, pnl, reaches, (float(foot[0]), float(foot[1])))


def check_positioning(m: PositioningMeasures) -> list[CheckResult]:
    """Nipple-in-profile and (MLO) pectoral-to-PNL checks of one view, for the technologist to confirm."""
    out = [
        CheckResult(
            f"nipple_in_profile_{m.view.lower()}",
            "pass" if m.nipple_in_profile else "warn",
            value=round(m.nipple_protrusion_mm, 2),
            limit={"protrusion_mm": 1.0},
            detail=(
                f"nipple seen in profile at row {m.nipple_rc[0]:.0f}, column {m.nipple_rc[1]:.0f}"
                if m.nipple_in_profile
                else "no nipple found standing out of the skin outline: it may not be in profile"
            ),
            data={"nipple_rc": m.nipple_rc},
            needs_confirmation=True,
        )
    ]
    if m.view == "MLO":
        if m.pectoral_line is None:
            out.append(
                CheckResult(
                    "pectoral_to_pnl",
                    "warn",
                    detail="pectoral muscle edge not found: confirm that the muscle is shown to the PNL",
                    needs_confirmation=True,
                )
            )
        else:
            out.append(
                CheckResult(
                    "pectoral_to_pnl",
                    "pass" if m.pectoral_reaches_pnl else "warn",
                    value=round(m.pnl_mm, 1),
                    detail=(
                        f"pectoral muscle reaches the posterior nipple line (PNL {m.pnl_mm:.0f} mm)"
                        if m.pectoral_reaches_pnl
                        else f"pectoral muscle ends above the posterior nipple line (PNL {m.pnl_mm:.0f} mm)"
                    ),
                    data={"pectoral_line": m.pectoral_line, "pnl_foot_rc": m.pnl_foot_rc, "nipple_rc": m.nipple_rc},
                    needs_confirmation=True,
                )
            )
    return out


def check_pnl_cc_mlo(cc: PositioningMeasures, mlo: PositioningMeasures, *, tolerance_mm: float = 10.0) -> CheckResult:
    """Posterior nipple line length on CC within ``tolerance_mm`` of the MLO's (1 cm: ACR/EQUIP practice)."""
    if not (np.isfinite(cc.pnl_mm) and np.isfinite(mlo.pnl_mm)):
        return CheckResult(
            "pnl_cc_vs_mlo",
            "warn",
            limit=tolerance_mm,
            detail="PNL length not measurable on both views: compare CC and MLO by eye",
            needs_confirmation=True,
        )
    diff = cc.pnl_mm - mlo.pnl_mm
    ok = abs(diff) <= tolerance_mm
    return CheckResult(
        "pnl_cc_vs_mlo",
        "pass" if ok else "warn",
        value=round(diff, 1),
        limit=tolerance_mm,
        detail=f"PNL CC {cc.pnl_mm:.0f} mm, MLO {mlo.pnl_mm:.0f} mm ({diff:+.0f} mm)"
        + ("" if ok else f": more than {tolerance_mm:.0f} mm apart, posterior tissue may be missing on the CC"),
        needs_confirmation=True,
    )
