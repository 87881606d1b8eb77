"""Detector artifacts: dead or hot pixels and lines, and gain non-uniformity of flat fields.

The breast moves across the detector during a sweep; a detector defect does not. A pixel, row or
column that departs from its neighbours by many robust standard deviations at the same detector
position in (nearly) every projection is therefore a defect, not anatomy.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from recon.qc.limits import QCLimits
from recon.qc.results import CheckResult
from recon.types import ProjectionSet

__all__ = ["find_defects", "check_detector_defects", "check_flat_field", "LINE_MIN_RELATIVE"]

LINE_MIN_RELATIVE = 0.10
"""A row or column must also depart from its neighbours by 10 % of the signal: anatomy at the
chest-wall border departs by a few per cent; dead, hot or gain-broken lines by far more."""


def _robust_sigma(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    if x.size == 0:
        return 1.0
    return max(float(1.4826 * np.median(np.abs(x - np.median(x)))), 1e-12)


def _line_scores(frame: np.ndarray, axis: int) -> np.ndarray:
    """Per column (axis=1) or row (axis=0): median departure from the two neighbours on each side, over robust sigma."""
    f = frame if axis == 1 else frame.T
    n = f.shape[1]
    ref = np.empty_like(f)
    for c in range(n):
        if n >= 5 and c in (0, n - 1):
            # a border line has neighbours on one side only: extrapolate them linearly
            a, b = (1, 2) if c == 0 else (n - 2, n - 3)
            ref[:, c] = 2.0 * f[:, a] - f[:, b]
            continue
        nb = [k for k in (c - 2, c - 1, c + 1, c + 2) if 0 <= k < n]
        ref[:, c] = np.median(f[:, nb], axis=1)
    dep = np.median(f - ref, axis=0)
    level = np.median(np.abs(ref), axis=0)
    score = dep / _robust_sigma(dep)
    # a defective line departs by a sizeable fraction of the signal, not just by many (tiny) sigmas
    return np.where(np.abs(dep) >= LINE_MIN_RELATIVE * np.maximum(level, 1e-12), score, 0.0)


def find_defects(data: np.ndarray, *, sigma: float = 8.0, view_fraction: float = 0.8) -> dict:
    """Defective columns, rows and pixels common to most projections.

    Parameters
    ----------
    data : array (views, rows, columns)
        Raw signal or line integrals.
    sigma : float
        Departure from the neighbours, in robust standard deviations, that marks a candidate.
    view_fraction : float
        Fraction of projections in which a candidate must recur at the same position.

    Returns
    -------
    dict with ``columns``, ``rows`` (sorted lists), ``pixels`` ((n, 2) array of row, column not on a
    defective line) and ``kind`` mapping each to "dead" (below its neighbours) or "hot" (above).
    """
    d = np.asarray(data, dtype=np.float32)
    if d.ndim != 3:
        raise ValueError(f"find_defects: data must be (views, rows, columns), got shape {d.shape}")
    n = d.shape[0]
    need = int(np.ceil(view_fraction * n))
    col_hits = np.zeros((n, d.shape[2]), int)
    row_hits = np.zeros((n, d.shape[1]), int)
    pix_hits = np.zeros(d.shape[1:], int)
    pix_sign = np.zeros(d.shape[1:], float)
    col_sign = np.zeros(d.shape[2])
    row_sign = np.zeros(d.shape[1])
    for v in range(n):
        f = d[v]
        cs = _line_scores(f, 1)
        rs = _line_scores(f, 0)
        col_hits[v] = np.abs(cs) > sigma
        row_hits[v] = np.abs(rs) > sigma
        col_sign += np.sign(cs) * col_hits[v]
        row_sign += np.sign(rs) * row_hits[v]
        r = f - ndimage.median_filter(f, size=3, mode="nearest")
        z = r / _robust_sigma(r)
        hit = np.abs(z) > sigma
        pix_hits += hit
        pix_sign += np.sign(z) * hit
    columns = np.flatnonzero(col_hits.sum(axis=0) >= need)
    rows = np.flatnonzero(row_hits.sum(axis=0) >= need)
    pm = pix_hits >= need
    pm[:, columns] = False
    pm[rows, :] = False
    # pixels next to a defective line answer to it through the median filter
    for c in columns:
        pm[:, max(c - 1, 0) : c + 2] = False
    for r in rows:
        pm[max(r - 1, 0) : r + 2, :] = False
    pixels = np.argwhere(pm)
    kind = {
        "columns": {int(c): ("dead" if col_sign[c] < 0 else "hot") for c in columns},
        "rows": {int(r): ("dead" if row_sign[r] < 0 else "hot") for r in rows},
        "pixels": ["dead" if pix_sign[r, c] < 0 else "hot" for r, c in pixels],
    }
    return {"columns": columns.tolist(), "rows": rows.tolist(), "pixels": pixels, "kind": kind}


def check_detector_defects(projections: ProjectionSet, *, limits: QCLimits | None = None) -> CheckResult:
    """Dead or hot pixels, rows and columns recurring at the same detector position through the sweep."""
    if not isinstance(projections, ProjectionSet):
        raise TypeError("check_detector_defects: projections must be a recon.ProjectionSet")
    limits = limits or QCLimits()
    found = find_defects(projections.data, sigma=limits.defect_sigma, view_fraction=limits.defect_view_fraction)
    cols, rows, pix = found["columns"], found["rows"], found["pixels"]
    parts = []
    if cols:
        parts.append("column(s) " + ", ".join(f"{c} ({found['kind']['columns'][c]})" for c in cols[:8]))
    if rows:
        parts.append("row(s) " + ", ".join(f"{r} ({found['kind']['rows'][r]})" for r in rows[:8]))
    if len(pix):
        listed = ", ".join(f"({r}, {c})" for r, c in pix[:8])
        parts.append(f"{len(pix)} pixel(s) {listed}" + (" ..." if len(pix) > 8 else ""))
    if cols or rows:
        status = "fail"
    elif len(pix) > limits.defect_warn_pixels:
        status = "warn"
    else:
        status = "pass"
    if parts:
        detail = "defective detector " + "; ".join(parts) + " in every projection"
    else:
        detail = "no dead or hot pixels or lines"
    return CheckResult(
        "detector_defects",
        status,
        value={"columns": len(cols), "rows": len(rows), "pixels": int(len(pix))},
        limit={"sigma": limits.defect_sigma, "view_fraction": limits.defect_view_fraction},
        detail=detail,
        views=list(range(projections.data.shape[0])) if parts else [],
        data={"columns": cols, "rows": rows, "pixels": pix.tolist()},
    )


def check_flat_field(
    image: np.ndarray, *, roi_grid: tuple[int, int] = (5, 5), limits: QCLimits | None = None
) -> CheckResult:
    """Gain uniformity of a flat-field (uniform phantom or open-field) image.

    The image is divided into a grid of ROIs; the value is the largest relative deviation of an
    ROI mean from the mean of all ROIs (global uniformity).
    """
    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2:
        raise ValueError(f"check_flat_field: image must be 2-D, got shape {img.shape}")
    gr, gc = (int(x) for x in roi_grid)
    if gr < 1 or gc < 1 or img.shape[0] < gr or img.shape[1] < gc:
        raise ValueError(f"check_flat_field: roi_grid {roi_grid} does not fit an image of {img.shape}")
    limits = limits or QCLimits()
    re = np.linspace(0, img.shape[0], gr + 1).astype(int)
    ce = np.linspace(0, img.shape[1], gc + 1).astype(int)
    means = np.array([[img[re[i] : re[i + 1], ce[j] : ce[j + 1]].mean() for j in range(gc)] for i in range(gr)])
    ref = means.mean()
    if ref == 0:
        raise ValueError("check_flat_field: the image mean is zero")
    dev = (means - ref) / ref
    worst = np.unravel_index(np.argmax(np.abs(dev)), dev.shape)
    w = float(abs(dev[worst]))
    status = "fail" if w > limits.uniformity_fail else ("warn" if w > limits.uniformity_warn else "pass")
    return CheckResult(
        "flat_field_uniformity",
        status,
        value=round(w, 4),
        limit={"warn": limits.uniformity_warn, "fail": limits.uniformity_fail},
        detail=f"largest ROI deviation {w * 100:.1f} % at grid cell {tuple(int(i) for i in worst)} of {gr} x {gc}",
        data={"roi_deviation": dev},
    )
