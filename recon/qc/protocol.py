"""Protocol conformance: number of projections, angles and their spacing, and the geometry's own consistency."""

from __future__ import annotations

import numpy as np

from recon.geometry import Geometry
from recon.presets import PRESETS, SystemPreset
from recon.qc.limits import QCLimits
from recon.qc.results import CheckResult

__all__ = ["expected_angles_deg", "check_projection_count", "check_angles", "check_geometry_consistency"]


def expected_angles_deg(expected) -> np.ndarray:
    """Nominal tube angles (degrees) of a system: a preset name, a :class:`SystemPreset` or a reference Geometry."""
    if isinstance(expected, str):
        if expected not in PRESETS:
            raise ValueError(f"unknown system {expected!r}; choose one of {', '.join(PRESETS)}")
        expected = PRESETS[expected]
    if isinstance(expected, Geometry):
        return np.rad2deg(expected.angles_rad)
    if isinstance(expected, SystemPreset):
        if expected.first_angle_deg is not None:
            return expected.first_angle_deg + expected.angle_step_deg * np.arange(expected.n_views)
        if expected.n_views == 1:
            return np.zeros(1)
        return np.linspace(-expected.arc_deg / 2, expected.arc_deg / 2, expected.n_views)
    raise TypeError(f"expected must be a preset name, SystemPreset or Geometry, got {type(expected).__name__}")


def _match(stated: np.ndarray, nominal: np.ndarray, tol: float) -> tuple[list[int], list[int]]:
    """Nominal angles with no stated angle within tol (missing), stated angles with no nominal (extra)."""
    missing = [i for i, a in enumerate(nominal) if np.min(np.abs(stated - a)) > tol] if stated.size else []
    extra = [i for i, a in enumerate(stated) if np.min(np.abs(nominal - a)) > tol]
    return missing, extra


def check_projection_count(geometry: Geometry, expected, *, limits: QCLimits | None = None) -> CheckResult:
    """Number of projections against the system's, and missing or duplicated projections in the sweep.

    A missing projection shows as a gap of about twice the step between two stated angles; a
    duplicate as two (nearly) equal angles. Views are the neighbours of a gap, or the duplicates.
    """
    limits = limits or QCLimits()
    stated = np.rad2deg(geometry.angles_rad)
    nominal = expected_angles_deg(expected)
    n, n0 = stated.size, nominal.size
    order = np.argsort(stated, kind="stable")
    steps = np.diff(stated[order])
    step0 = float(np.median(np.abs(np.diff(nominal)))) if n0 > 1 else 0.0
    problems, views = [], []
    if n > 1 and step0 > 0:
        dup = np.flatnonzero(steps < limits.duplicate_factor * step0)
        for i in dup:
            a, b = int(order[i]), int(order[i + 1])
            problems.append(f"projections {a} and {b} share the angle {stated[a]:+.2f} deg (duplicate)")
            views += [a, b]
        gaps = np.flatnonzero(steps > limits.gap_factor * step0)
        for i in gaps:
            a, b = int(order[i]), int(order[i + 1])
            k = int(round(steps[i] / step0)) - 1
            problems.append(
                f"{k} projection(s) missing between {a} ({stated[a]:+.2f} deg) and {b} ({stated[b]:+.2f} deg)"
            )
            views += [a, b]
    if n > 1 and np.any(np.diff(stated) * np.sign(stated[-1] - stated[0] or 1.0) <= 0) and not problems:
        problems.append("the angles are not in sweep order")
        views += list(range(n))
    if n != n0:
        missing, _ = _match(stated, nominal, step0 / 2 if step0 else 0.5)
        miss_txt = ", ".join(f"{nominal[i]:+.2f}" for i in missing[:5])
        problems.insert(
            0, f"{n} projections, the system takes {n0}" + (f" (no projection at {miss_txt} deg)" if missing else "")
        )
    status = "fail" if problems else "pass"
    detail = "; ".join(problems) if problems else f"{n} projections, evenly spaced, as the system takes"
    return CheckResult(
        "projection_count",
        status,
        value=n,
        limit=n0,
        detail=detail,
        views=sorted(set(views)),
        data={"angles_deg": stated, "nominal_deg": nominal},
    )


def check_angles(geometry: Geometry, expected, *, limits: QCLimits | None = None) -> CheckResult:
    """Stated angle of each projection against the system's nominal angle.

    When the counts differ, each stated angle is compared with the nearest nominal angle, so a
    missing projection does not make every later angle look wrong.
    """
    limits = limits or QCLimits()
    stated = np.rad2deg(geometry.angles_rad)
    nominal = expected_angles_deg(expected)
    if stated.size == nominal.size:
        dev = stated - nominal
    else:
        dev = np.array([a - nominal[np.argmin(np.abs(nominal - a))] for a in stated])
    worst = float(np.max(np.abs(dev))) if dev.size else 0.0
    fail = np.flatnonzero(np.abs(dev) > limits.angle_fail_deg)
    warn = np.flatnonzero(np.abs(dev) > limits.angle_warn_deg)
    span, span0 = float(np.ptp(stated)), float(np.ptp(nominal))
    if fail.size:
        status, bad = "fail", fail
    elif warn.size:
        status, bad = "warn", warn
    else:
        status, bad = "pass", np.zeros(0, int)
    if bad.size:
        listed = ", ".join(f"{v} ({stated[v]:+.2f} vs {stated[v] - dev[v]:+.2f})" for v in bad[:6])
        detail = f"angular range {span:.2f} deg (system {span0:.2f}); angle off the system's at projection(s) {listed}"
    else:
        detail = f"angular range {span:.2f} deg (system {span0:.2f}); every angle within {limits.angle_warn_deg} deg"
    return CheckResult(
        "angles",
        status,
        value=round(worst, 4),
        limit={"warn_deg": limits.angle_warn_deg, "fail_deg": limits.angle_fail_deg},
        detail=detail,
        views=bad.tolist(),
        data={"deviation_deg": dev},
    )


def _source_angles_deg(geometry: Geometry) -> np.ndarray:
    """Tube angle implied by each source position: about the pivot when known, else about the fitted arc centre."""
    y, z = geometry.source_mm[:, 1], geometry.source_mm[:, 2]
    if geometry.pivot_height_mm is not None:
        yc, zc = 0.0, geometry.pivot_height_mm
    elif geometry.n_views >= 3 and np.ptp(z) > 1e-6:
        # circle through the source positions (algebraic least squares)
        A = np.stack([y, z, np.ones_like(y)], axis=1)
        b = -(y**2 + z**2)
        (D, E, _F), *_ = np.linalg.lstsq(A, b, rcond=None)
        yc, zc = -D / 2, -E / 2
    else:
        yc, zc = 0.0, 0.0
    return np.rad2deg(np.arctan2(y - yc, z - zc))


def check_geometry_consistency(geometry: Geometry, *, limits: QCLimits | None = None) -> CheckResult:
    """The stated angles against the source positions that come with them, and a constant source distance.

    A set whose Positioner Primary Angle disagrees with its source/detector geometry (a
    vendor-conversion error) cannot be reconstructed correctly whichever one is right.
    """
    limits = limits or QCLimits()
    implied = _source_angles_deg(geometry)
    stated = np.rad2deg(geometry.angles_rad)
    dev = implied - stated
    if geometry.n_views > 1:
        dev = dev - np.median(dev)  # a constant offset is a convention (arc centre), not an inconsistency
    # source distance to the arc centre should not vary
    y, z = geometry.source_mm[:, 1], geometry.source_mm[:, 2]
    zc = geometry.pivot_height_mm if geometry.pivot_height_mm is not None else 0.0
    radius = np.hypot(y, z - zc)
    radius_dev = radius - np.median(radius)
    bad_angle = np.flatnonzero(np.abs(dev) > limits.geometry_consistency_deg)
    bad_radius = np.flatnonzero(np.abs(radius_dev) > 1.0) if geometry.pivot_height_mm is not None else []
    problems = []
    if bad_angle.size:
        listed = ", ".join(f"{v} ({dev[v]:+.2f} deg)" for v in bad_angle[:6])
        problems.append(f"stated angle disagrees with the source position at projection(s) {listed}")
    if len(bad_radius):
        problems.append(f"source distance to the pivot varies by up to {np.max(np.abs(radius_dev)):.1f} mm")
    views = sorted(set(bad_angle.tolist()) | set(np.asarray(bad_radius, int).tolist()))
    return CheckResult(
        "geometry_consistency",
        "fail" if problems else "pass",
        value=round(float(np.max(np.abs(dev))) if dev.size else 0.0, 4),
        limit={"angle_deg": limits.geometry_consistency_deg},
        detail="; ".join(problems) if problems else "stated angles agree with the source positions",
        views=views,
    )
