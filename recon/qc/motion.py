"""Patient motion between projections, measured from the projections themselves.

Point features (calcifications) are tracked through the sweep (:mod:`recon.qc.features`) and
three explanations of their positions are fitted by robust least squares, jointly with each
feature's 3-D position:

* no motion: every detection is the projection of a fixed point;
* a step at projection k: the breast shifted by d (detector plane) from projection k on;
* one displaced projection k: only projection k is shifted by d (a jerk, or a projection whose
  stated angle is wrong).

The explanation with the largest significant drop of the residual wins; its shift, converted to
mm at the breast (divided by the magnification at the features' height), is compared with the
limits. The per-view mean residual of the no-motion fit is the motion trace the report plots.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize
from scipy.sparse import lil_matrix

from recon.geometry import Geometry
from recon.qc.features import TrackedFeatures, track_features
from recon.qc.limits import QCLimits
from recon.qc.results import CheckResult, NotAssessable
from recon.types import ProjectionSet

__all__ = ["fit_motion", "check_motion"]

_F_SCALE_PX = 0.7  # robust loss scale: localisation noise is a few tenths of a pixel


def _project_shifted(geometry: Geometry, X: np.ndarray, mask, shift_mm, moved_geometry: Geometry | None = None):
    """Projections (J, V, 2) of points X, translated by (sx, sy, 0) mm in the views where mask is set."""
    pred = geometry.project_points(X).transpose(1, 0, 2)
    if mask is not None and np.any(shift_mm):
        moved = np.flatnonzero(mask)
        sub = moved_geometry if moved_geometry is not None else geometry.subset(moved)
        Xs = X + np.array([shift_mm[0], shift_mm[1], 0.0])[None, :]
        pred[:, moved, :] = sub.project_points(Xs).transpose(1, 0, 2)
    return pred


def _fit(geometry: Geometry, tracked: TrackedFeatures, mask_views: np.ndarray | None, x0: np.ndarray):
    """Robust fit of the feature positions and, with ``mask_views``, of the breast's (x, y) shift in those views."""
    obs = tracked.observed  # (J, V, 2)
    ok = np.isfinite(obs[..., 0])
    J, V = obs.shape[:2]
    sub = geometry.subset(np.flatnonzero(mask_views)) if mask_views is not None else None
    n_par = 3 * J + (2 if mask_views is not None else 0)
    sparsity = None
    if n_par > 20:
        # each residual depends on its feature's 3 coordinates (and on the shift in moved views)
        rows_j = np.broadcast_to(np.arange(J)[:, None, None], (J, V, 2))[ok].ravel()
        rows_v = np.broadcast_to(np.arange(V)[None, :, None], (J, V, 2))[ok].ravel()
        sparsity = lil_matrix((rows_j.size, n_par), dtype=int)
        for a in range(3):
            sparsity[np.arange(rows_j.size), 3 * rows_j + a] = 1
        if mask_views is not None:
            moved_rows = np.flatnonzero(mask_views[rows_v])
            sparsity[moved_rows, 3 * J] = 1
            sparsity[moved_rows, 3 * J + 1] = 1

    def res(p):
        X = p[: 3 * J].reshape(J, 3)
        s = p[3 * J :] if mask_views is not None else np.zeros(2)
        return (_project_shifted(geometry, X, mask_views, s, sub) - obs)[ok].ravel()

    p0 = np.concatenate([x0.ravel(), np.zeros(2)]) if mask_views is not None else x0.ravel()
    sol = optimize.least_squares(
        res, p0, loss="soft_l1", f_scale=_F_SCALE_PX, method="trf", x_scale="jac", jac_sparsity=sparsity
    )
    s = sol.x[3 * J :] if mask_views is not None else np.zeros(2)
    return sol.x[: 3 * J].reshape(J, 3), s, 2.0 * sol.cost, res(sol.x)


def fit_motion(geometry: Geometry, tracked: TrackedFeatures, *, n_candidates: int = 3) -> dict:
    """Fit the no-motion, step and single-view models; return the best with its statistics.

    The step and single-view models are tried at the ``n_candidates`` projections where the
    no-motion fit's residual trace jumps or departs most.

    Returns
    -------
    dict with ``model`` ("none", "step" or "view"), ``view`` (first moved projection, or the
    displaced one), ``shift_px`` (row, column), ``significance`` (drop of the robust cost over the
    noise variance), ``trace_px`` (views, 2) mean residual of the no-motion fit, ``sigma_px``.
    """
    J, V = tracked.observed.shape[:2]
    X0, _, cost0, r0 = _fit(geometry, tracked, None, tracked.points_mm)
    n_obs = r0.size
    best = {"model": "none", "view": None, "shift_mm": np.zeros(2), "cost": cost0, "X": X0, "mask": None, "score": 0.0}
    # candidates from the no-motion residual trace: the largest steps and the largest single-view departures
    pred0 = geometry.project_points(X0).transpose(1, 0, 2)
    with np.errstate(invalid="ignore"):
        tr = np.nan_to_num(np.nanmedian(tracked.observed - pred0, axis=0))
    step_gain = [np.linalg.norm(tr[k:].mean(axis=0) - tr[:k].mean(axis=0)) for k in range(1, V)]
    view_gain = np.linalg.norm(tr - np.median(tr, axis=0), axis=1)
    candidates = {
        "step": [int(k) + 1 for k in np.argsort(step_gain)[::-1][:n_candidates]],
        "view": [int(k) for k in np.argsort(view_gain)[::-1][:n_candidates]],
    }
    # each candidate is fitted feature by feature: a rigid motion moves every feature alike, a
    # mis-tracked feature does not, so the shift is the median of the features' shifts and only
    # the features that agree with it count
    J0 = tracked.n_features
    per_cost0 = np.array([_fit(geometry, tracked.select([j]), None, X0[j : j + 1])[2] for j in range(J0)])
    for model in ("step", "view"):
        for k in candidates[model]:
            mask = (np.arange(V) >= k) if model == "step" else (np.arange(V) == k)
            seen_moved = np.isfinite(tracked.observed[:, mask, 0]).any(axis=1)
            seen_still = np.isfinite(tracked.observed[:, ~mask, 0]).sum(axis=1) >= 2
            usable = np.flatnonzero(seen_moved & seen_still)
            if usable.size < 2:
                continue
            shifts, gains = [], []
            for j in usable:
                _, sj, cj, _ = _fit(geometry, tracked.select([j]), mask, X0[j : j + 1])
                shifts.append(sj)
                gains.append(per_cost0[j] - cj)
            shifts, gains = np.array(shifts), np.array(gains)
            med = np.median(shifts, axis=0)
            agree = np.linalg.norm(shifts - med, axis=1) <= max(0.3, 0.3 * float(np.linalg.norm(med)))
            if agree.sum() < max(2, int(np.ceil(0.6 * usable.size))):
                continue
            score = float(np.sum(gains[agree]))
            if score > best.get("score", 0.0):
                best = {
                    "model": model,
                    "view": k,
                    "shift_mm": med,
                    "cost": cost0 - score,
                    "X": X0,
                    "mask": mask,
                    "score": score,
                    "support": usable[agree],
                }
    if best["mask"] is not None:
        # the joint fit uses the agreeing features only
        tracked = tracked.select(best["support"])
        X0 = X0[best["support"]]
        X, d, cost, _ = _fit(geometry, tracked, best["mask"], X0)
        best.update(X=X, shift_mm=d)
    if best["mask"] is not None and tracked.peaks:
        # detections in displaced views may have been matched to a neighbour: re-match them to the
        # motion model's prediction and refit both models on the corrected tracks
        pred = _project_shifted(geometry, best["X"], best["mask"], best["shift_mm"])
        tracked = tracked.rematched(pred, radius_px=2.0)
    # features that no model explains (two calcifications confused along their trajectories) are dropped
    pred = _project_shifted(geometry, best["X"], best["mask"], best["shift_mm"])
    with np.errstate(invalid="ignore"):
        rms = np.sqrt(np.nanmean(np.sum((pred - tracked.observed) ** 2, axis=2), axis=1))
    keep = rms <= max(3.0 * float(np.nanmedian(rms)), 0.5)
    if keep.sum() >= 2:
        tracked = tracked.select(keep)
        Xb = best["X"][keep]
        X0, _, cost0, r0 = _fit(geometry, tracked, None, Xb)
        n_obs, J = r0.size, tracked.n_features
        if best["mask"] is not None:
            X, d, cost, _ = _fit(geometry, tracked, best["mask"], Xb)
            best.update(shift_mm=d, cost=min(cost, cost0), X=X)
        else:
            best.update(cost=cost0, X=X0)
    # noise from the best model's residual (robust cost ~ RSS for small residuals)
    dof = max(n_obs - 3 * J - (2 if best["model"] != "none" else 0), 1)
    sigma2 = max(best["cost"] / dof, (0.05) ** 2)
    significance = (cost0 - best["cost"]) / sigma2
    # per-view trace from the no-motion fit
    pred = geometry.project_points(X0).transpose(1, 0, 2)
    resid = pred - tracked.observed
    with np.errstate(invalid="ignore"):
        trace = np.nanmedian(-resid, axis=0)  # observed - predicted, (V, 2)
    return {
        "model": best["model"],
        "view": best["view"],
        "shift_mm": np.asarray(best["shift_mm"], float),
        "significance": float(significance),
        "trace_px": trace,
        "sigma_px": float(np.sqrt(sigma2)),
        "points_mm": best["X"],
        "tracked": tracked,
        "mask": best["mask"],
    }


def check_motion(
    projections: ProjectionSet,
    *,
    limits: QCLimits | None = None,
    thickness_mm: float | None = None,
    significance: float = 25.0,
) -> CheckResult:
    """Detect patient motion from calcification-like features tracked through the sweep.

    Parameters
    ----------
    projections : ProjectionSet
        Raw signal or line integrals with the geometry the acquisition states.
    limits : QCLimits
        ``motion_warn_mm``, ``motion_fail_mm``, ``motion_min_features``.
    thickness_mm : float, optional
        Compressed thickness: features are searched from the support to the paddle (default: 80 mm).
    significance : float
        Least drop of the robust residual (in noise variances) for a motion model to be believed;
        guards the no-false-alarm requirement on clean acquisitions.

    Raises
    ------
    NotAssessable
        Fewer than ``limits.motion_min_features`` features could be followed.
    """
    if not isinstance(projections, ProjectionSet):
        raise TypeError("check_motion: projections must be a recon.ProjectionSet")
    limits = limits or QCLimits()
    g = projections.geometry
    if g.n_views < 4:
        raise NotAssessable(f"motion needs at least 4 projections, got {g.n_views}")
    top = g.support_height_mm + (thickness_mm if thickness_mm else 80.0)
    tracked = track_features(
        projections.data, g, raw=not projections.is_line_integral, z_range_mm=(g.support_height_mm, top)
    )
    if tracked.n_features < limits.motion_min_features:
        raise NotAssessable(
            f"only {tracked.n_features} high-contrast feature(s) could be followed through the sweep "
            f"(need {limits.motion_min_features}); review the projection cine for motion"
        )
    fit = fit_motion(g, tracked)
    z = float(np.median(fit["points_mm"][:, 2]))
    ref = tracked.reference_view
    trace_mm = np.array(
        [[fit["trace_px"][v, 0] * g.pixel_mm[0], fit["trace_px"][v, 1] * g.pixel_mm[1]] for v in range(g.n_views)]
    ) / g.magnification(z, ref)
    data = {
        "trace_mm": trace_mm,
        "features": tracked.n_features,
        "model": fit["model"],
        "significance": fit["significance"],
        "sigma_px": fit["sigma_px"],
    }
    believed = fit["model"] != "none" and fit["significance"] >= significance
    size = float(np.hypot(*fit["shift_mm"])) if believed else 0.0
    limit = {"warn_mm": limits.motion_warn_mm, "fail_mm": limits.motion_fail_mm}
    if not believed or size < limits.motion_warn_mm:
        return CheckResult(
            "motion",
            "pass",
            value=round(size, 3),
            limit=limit,
            detail=f"no motion above {limits.motion_warn_mm} mm found from {tracked.n_features} tracked features",
            data=data,
        )
    status = "fail" if size >= limits.motion_fail_mm else "warn"
    k = int(fit["view"])
    data["shift_mm_xy"] = [float(fit["shift_mm"][0]), float(fit["shift_mm"][1])]
    if fit["model"] == "step":
        views = list(range(k, g.n_views))
        detail = (
            f"the breast moved {size:.1f} mm between projections {k - 1} and {k} "
            f"(projections {k}-{g.n_views - 1} are displaced; {tracked.n_features} features tracked)"
        )
        data["step_between"] = [k - 1, k]
    else:
        views = [k]
        detail = (
            f"projection {k} is displaced by {size:.1f} mm from the trajectories the geometry predicts "
            f"(a jerk, or a wrong angle for this projection; {tracked.n_features} features tracked)"
        )
    data["first_moved_view"] = k
    return CheckResult("motion", status, value=round(size, 3), limit=limit, detail=detail, views=views, data=data)
