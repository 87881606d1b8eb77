"""Exposure of each projection: detector signal against what its angle predicts; saturation and clipping.

In a DBT sweep every projection sees the same breast through a path that lengthens as 1/cos of
the tube angle, with the same (or a recorded) mAs. The log of each projection's mean signal per
mAs is therefore a smooth function of the angle; a robust fit of
``log S = a + b (1/cos(theta) - 1) + c theta`` over the projections, with the worst departures
trimmed, predicts each projection's signal from the others, and the relative departure of each
projection from its prediction is judged against the limits. A projection far below its
prediction is reported as dropped (blank); one above as over-exposed.
"""

from __future__ import annotations

import numpy as np

from recon.qc.limits import QCLimits
from recon.qc.results import CheckResult, NotAssessable
from recon.types import ProjectionSet

__all__ = ["projection_signal", "predict_signal", "check_exposure", "check_saturation"]


def projection_signal(data: np.ndarray) -> np.ndarray:
    """Typical raw signal under the breast in each projection, float64 (views,).

    The median of the pixels clearly darker than the open field (below half of the frame's 98th
    percentile), so that the share of open field in the frame, which changes with the angle,
    does not enter; the whole frame's median when there is no open field.
    """
    out = np.empty(data.shape[0])
    for v, frame in enumerate(data):
        f = frame.astype(np.float64, copy=False)
        top = np.percentile(f, 98)
        under = f[f < 0.5 * top]
        out[v] = np.median(under) if under.size >= 0.05 * f.size else np.median(f)
    return out


def predict_signal(angles_rad: np.ndarray, signal: np.ndarray, *, max_trim: int | None = None) -> np.ndarray:
    """Robust prediction of each projection's signal from the angle dependence of the others.

    A least-squares fit of ``log signal`` on ``[1, 1/cos - 1, theta]`` is repeated with the worst
    projection left out while it departs by more than 3 robust standard deviations (at most a
    third of the projections are left out).
    """
    th = np.asarray(angles_rad, float)
    s = np.asarray(signal, float)
    if th.shape != s.shape or th.ndim != 1:
        raise ValueError("predict_signal: angles and signal must be 1-D of the same length")
    n = s.size
    pos = s > 0
    y = np.log(np.where(pos, s, 1.0))
    A = np.stack([np.ones(n), 1.0 / np.cos(th) - 1.0, th], axis=1)
    if n < 4:
        A = A[:, :1]
    keep = pos.copy()
    max_trim = n // 3 if max_trim is None else max_trim
    for _ in range(max_trim + 1):
        if keep.sum() <= A.shape[1]:
            A = A[:, :1]
        coef, *_ = np.linalg.lstsq(A[keep], y[keep], rcond=None)
        r = y - A @ coef
        rk = r[keep]
        scale = max(1.4826 * np.median(np.abs(rk - np.median(rk))), 0.005)
        worst = np.argmax(np.where(keep, np.abs(r), -1.0))
        if np.abs(r[worst]) <= 3 * scale or (~keep).sum() >= max_trim:
            break
        keep[worst] = False
    return np.exp(A @ coef)


def check_exposure(projections: ProjectionSet, *, limits: QCLimits | None = None) -> CheckResult:
    """Per-projection detector signal against the prediction from its angle (and recorded mAs).

    Raises
    ------
    NotAssessable
        The projections are line integrals (the detector signal is gone), or fewer than 3.
    """
    if not isinstance(projections, ProjectionSet):
        raise TypeError("check_exposure: projections must be a recon.ProjectionSet")
    limits = limits or QCLimits()
    if projections.is_line_integral:
        raise NotAssessable("exposure needs the raw detector signal (For Processing projections), not line integrals")
    n = projections.data.shape[0]
    if n < 3:
        raise NotAssessable(f"exposure needs at least 3 projections, got {n}")
    signal = projection_signal(projections.data)
    mas = projections.exposure_mas
    per_mas = signal / mas if mas is not None and np.all(mas > 0) else signal
    pred = predict_signal(projections.geometry.angles_rad, per_mas)
    ratio = per_mas / pred
    dev = ratio - 1.0
    dropped = np.flatnonzero(ratio < limits.dropped_fraction)
    fail = np.flatnonzero(np.abs(dev) > limits.exposure_fail)
    warn = np.flatnonzero(np.abs(dev) > limits.exposure_warn)
    worst = int(np.argmax(np.abs(dev)))
    parts = []
    if dropped.size:
        parts.append("dropped (blank) projection(s) " + ", ".join(str(v) for v in dropped))
    rest = [v for v in (fail if fail.size else warn) if v not in set(dropped.tolist())]
    if rest:
        parts.append(
            ", ".join(
                f"projection {v} {'under' if dev[v] < 0 else 'over'}-exposed by {abs(dev[v]) * 100:.0f} %" for v in rest
            )
        )
    status = "fail" if fail.size or dropped.size else ("warn" if warn.size else "pass")
    views = sorted(set(dropped.tolist()) | set((fail if fail.size else warn).tolist()))
    detail = (
        "; ".join(parts)
        if parts
        else (
            f"every projection within {limits.exposure_warn * 100:.0f} % of the signal its angle predicts "
            f"(largest {abs(dev[worst]) * 100:.1f} % at projection {worst})"
        )
    )
    if mas is not None and mas.size and np.ptp(mas) > 0.05 * np.median(mas):
        detail += f"; recorded mAs varies from {mas.min():.3g} to {mas.max():.3g}"
    return CheckResult(
        "exposure",
        status,
        value=round(float(dev[worst]), 4),
        limit={"warn": limits.exposure_warn, "fail": limits.exposure_fail, "dropped_below": limits.dropped_fraction},
        detail=detail,
        views=views,
        data={
            "signal": signal,
            "predicted": pred * (mas if mas is not None and np.all(mas > 0) else 1.0),
            "relative_deviation": dev,
        },
    )


def check_saturation(
    projections: ProjectionSet, *, saturation_level: float, limits: QCLimits | None = None
) -> CheckResult:
    """Pixels at the detector's maximum (saturation) or at zero (clipping) in each projection.

    Parameters
    ----------
    saturation_level : float
        The detector's largest value (e.g. 2**BitsStored - 1); pixels at or above it are saturated.
    """
    if not isinstance(projections, ProjectionSet):
        raise TypeError("check_saturation: projections must be a recon.ProjectionSet")
    if projections.is_line_integral:
        raise NotAssessable("saturation needs the raw detector signal, not line integrals")
    if not saturation_level > 0:
        raise ValueError(f"check_saturation: saturation_level must be > 0, got {saturation_level}")
    limits = limits or QCLimits()
    d = projections.data
    sat = (d >= saturation_level).mean(axis=(1, 2))
    clip = (d <= 0).mean(axis=(1, 2))
    frac = np.maximum(sat, clip)
    fail = np.flatnonzero(frac > limits.saturation_fail)
    warn = np.flatnonzero(frac > limits.saturation_warn)
    bad = fail if fail.size else warn
    status = "fail" if fail.size else ("warn" if warn.size else "pass")
    worst = int(np.argmax(frac))
    if bad.size:
        detail = ", ".join(
            f"projection {v}: {sat[v] * 100:.2f} % saturated, {clip[v] * 100:.2f} % clipped at 0" for v in bad[:6]
        )
    else:
        detail = f"at most {frac[worst] * 100:.3f} % of pixels saturated or clipped (projection {worst})"
    return CheckResult(
        "saturation",
        status,
        value=round(float(frac[worst]), 6),
        limit={"warn": limits.saturation_warn, "fail": limits.saturation_fail, "level": float(saturation_level)},
        detail=detail,
        views=bad.tolist(),
        data={"saturated_fraction": sat, "clipped_fraction": clip},
    )
