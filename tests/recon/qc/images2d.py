"""Synthetic 2D CC/MLO images with known nipple and pectoral muscle, for the positioning tests."""

from __future__ import annotations

import numpy as np


def breast_image(
    *,
    view: str,
    shape=(320, 220),
    pixel_mm: float = 0.3,
    depth_mm: float = 50.0,
    half_height_mm: float = 40.0,
    nipple: bool = True,
    pectoral_cw_mm: float = 70.0,
    pectoral_top_mm: float = 30.0,
    seed: int = 0,
):
    """A breast (semi-ellipse from the chest wall), a nipple bump at its apex and, for MLO, a pectoral wedge.

    The pectoral wedge runs from (row 0, column pectoral_top) to (row pectoral_cw, column 0).
    Returns (image, truth) with truth = {"nipple_rc", "pnl_mm"}.
    """
    rng = np.random.default_rng(seed)
    nv, nu = shape
    rr, cc = np.mgrid[0:nv, 0:nu].astype(float)
    rc = nv / 2 if view == "CC" else nv * 0.55
    a, b = depth_mm / pixel_mm, half_height_mm / pixel_mm
    breast = ((cc / a) ** 2 + ((rr - rc) / b) ** 2) <= 1.0
    nip_r = 2.5 / pixel_mm
    if nipple:
        breast |= ((cc - a) ** 2 + (rr - rc) ** 2 <= nip_r**2) & (cc >= a - 1)
        tip = (rc, a + nip_r)
    else:
        tip = (rc, a)
    img = np.where(breast, 1.0, 0.05)
    img = img + 0.15 * breast * np.exp(-((cc - 0.4 * a) ** 2 + (rr - rc) ** 2) / (2 * (0.3 * a) ** 2))
    pnl_mm = tip[1] * pixel_mm
    if view == "MLO":
        r1, c0 = pectoral_cw_mm / pixel_mm, pectoral_top_mm / pixel_mm
        wedge = (rr / r1 + cc / c0) <= 1.0
        img = np.where(wedge & (breast | (rr < rc)), 1.6, img)
        img = np.where(wedge, 1.6, img)
        # PNL: distance from the nipple tip to the line through (0, c0) and (r1, 0)
        p0, p1 = np.array([0.0, c0]), np.array([r1, 0.0])
        d = p1 - p0
        t = np.dot(np.array(tip) - p0, d) / np.dot(d, d)
        foot = p0 + t * d
        pnl_mm = float(np.linalg.norm(np.array(tip) - foot) * pixel_mm)
        truth_reaches = 0 <= t <= 1
    else:
        truth_reaches = None
    img = img + rng.normal(0, 0.03, img.shape)
    return img.astype(np.float32), {"nipple_rc": tip, "pnl_mm": pnl_mm, "reaches": truth_reaches}
