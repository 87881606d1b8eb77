"""High-contrast point features (calcifications) in projections, matched across views.

Used by the motion check: a feature seen in the central projection is followed along its
geometric trajectory (``Geometry.project_points`` for every candidate height); the height that
best explains all views wins, the nearest detection in each view is its observed position, and a
least-squares triangulation gives its 3-D position.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, optimize
from skimage.feature import peak_local_max

from recon.geometry import Geometry

__all__ = ["TrackedFeatures", "feature_response", "detect_peaks", "track_features", "triangulate"]


def _as_attenuation(frame: np.ndarray, raw: bool) -> np.ndarray:
    f = np.asarray(frame, dtype=np.float32)
    if raw:
        return -np.log(np.maximum(f, np.float32(1.0)))
    return f


def feature_response(frame: np.ndarray, *, raw: bool, sigma_px: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Noise-normalised blob response (negative LoG of attenuation) and a mask of usable pixels.

    The mask excludes the open field and a rim along the skin line and the detector border,
    where the LoG answers to edges rather than to calcifications.
    """
    att = _as_attenuation(frame, raw)
    resp = -ndimage.gaussian_laplace(att, sigma=sigma_px)
    # breast: attenuation clearly above the open field
    lo, hi = np.percentile(att, [2, 98])
    breast = att > lo + 0.5 * (hi - lo) if hi - lo > 1e-6 else np.ones_like(att, bool)
    breast = ndimage.binary_opening(breast, iterations=1)
    rim = int(np.ceil(4 * sigma_px)) + 1
    mask = ndimage.binary_erosion(breast, iterations=rim)
    mask[:rim] = mask[-rim:] = False
    mask[:, :rim] = mask[:, -rim:] = False
    vals = resp[mask] if mask.any() else resp.ravel()
    med = np.median(vals)
    mad = np.median(np.abs(vals - med)) * 1.4826
    resp = (resp - med) / max(float(mad), 1e-12)
    return resp.astype(np.float32), mask


def detect_peaks(resp: np.ndarray, mask: np.ndarray, *, threshold: float = 6.0, min_distance: int = 2) -> np.ndarray:
    """Sub-pixel (row, column) of local maxima of ``resp`` above ``threshold`` inside ``mask``, strongest first."""
    coords = peak_local_max(np.where(mask, resp, -np.inf), min_distance=min_distance, threshold_abs=threshold)
    if coords.size == 0:
        return np.zeros((0, 3))
    out = []
    nv, nu = resp.shape
    for r, c in coords:
        dr = dc = 0.0
        if 0 < r < nv - 1:
            a, b, d = resp[r - 1, c], resp[r, c], resp[r + 1, c]
            den = a - 2 * b + d
            dr = 0.5 * (a - d) / den if den < 0 else 0.0
        if 0 < c < nu - 1:
            a, b, d = resp[r, c - 1], resp[r, c], resp[r, c + 1]
            den = a - 2 * b + d
            dc = 0.5 * (a - d) / den if den < 0 else 0.0
        out.append((r + np.clip(dr, -0.5, 0.5), c + np.clip(dc, -0.5, 0.5), resp[r, c]))
    out = np.array(out, dtype=np.float64)
    return out[np.argsort(-out[:, 2])]


def _backproject(geometry: Geometry, view: int, rc: np.ndarray, z_mm: np.ndarray) -> np.ndarray:
    """3-D points at heights z on the ray from the source through detector position (row, col) of a view."""
    dv, du = geometry.pixel_mm
    pos = (
        geometry.detector_origin_mm[view]
        + (rc[1] + 0.5) * du * geometry.detector_u_dir[view]
        + (rc[0] + 0.5) * dv * geometry.detector_v_dir[view]
    )
    src = geometry.source_mm[view]
    d = pos - src
    t = (np.asarray(z_mm, float) - src[2]) / d[2]
    return src[None, :] + t[:, None] * d[None, :]


def triangulate(geometry: Geometry, observed: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Least-squares 3-D point (x, y, z) whose projections best match ``observed`` (views, 2) px (NaN = unseen)."""
    ok = np.all(np.isfinite(observed), axis=1)
    if ok.sum() < 2:
        return np.asarray(start, float)
    sub = geometry.subset(np.flatnonzero(ok))
    obs = observed[ok]

    def res(p):
        return (sub.project_points(p[None, :])[:, 0, :] - obs).ravel()

    return optimize.least_squares(res, np.asarray(start, float), method="lm").x


@dataclass(frozen=True)
class TrackedFeatures:
    """Features followed through the sweep.

    observed : (features, views, 2) detected (row, column) px, NaN where not found.
    points_mm : (features, 3) triangulated (x, y, z) assuming no motion.
    strength : (features,) peak response in the reference view.
    reference_view : int
    peaks : tuple of (n, 3) arrays, the detections (row, column, response) of every view.
    """

    observed: np.ndarray
    points_mm: np.ndarray
    strength: np.ndarray
    reference_view: int
    peaks: tuple = ()

    def select(self, keep) -> TrackedFeatures:
        """Only the features where ``keep`` (bool array or indices) holds."""
        k = np.asarray(keep)
        return TrackedFeatures(self.observed[k], self.points_mm[k], self.strength[k], self.reference_view, self.peaks)

    def rematched(self, predicted: np.ndarray, radius_px: float) -> TrackedFeatures:
        """The same features with each view's detection re-chosen as the nearest to ``predicted`` (J, V, 2)."""
        obs = np.full_like(self.observed, np.nan)
        for v, pk in enumerate(self.peaks):
            if pk.shape[0] == 0:
                continue
            for j in range(obs.shape[0]):
                d = np.linalg.norm(pk[:, :2] - predicted[j, v], axis=1)
                i = int(np.argmin(d))
                if d[i] <= radius_px:
                    obs[j, v] = pk[i, :2]
        return TrackedFeatures(obs, self.points_mm, self.strength, self.reference_view, self.peaks)

    @property
    def n_features(self) -> int:
        return int(self.observed.shape[0])


def track_features(
    frames: np.ndarray,
    geometry: Geometry,
    *,
    raw: bool,
    z_range_mm: tuple[float, float],
    sigma_px: float = 1.0,
    threshold: float = 6.0,
    max_features: int = 30,
    search_mm: float = 5.0,
    min_views: float = 0.75,
) -> TrackedFeatures:
    """Detect point features in every view and follow those of the central view along their trajectories.

    Parameters
    ----------
    frames : array (views, rows, columns)
        Raw detector signal (``raw=True``) or line integrals.
    geometry : Geometry
        The geometry the projections claim.
    z_range_mm : (low, high)
        Heights searched for each feature (the breast between support and paddle), mm.
    search_mm : float
        Largest distance between a feature's predicted and detected position in a view
        (bounds the motion that can be measured).
    min_views : float
        Keep features found in at least this fraction of the views.
    """
    n = frames.shape[0]
    if n < 3:
        raise ValueError(f"track_features: need at least 3 views, got {n}")
    ref = int(np.argmin(np.abs(geometry.angles_rad)))
    responses, peaks = [], []
    for v in range(n):
        resp, mask = feature_response(frames[v], raw=raw, sigma_px=sigma_px)
        responses.append(resp)
        peaks.append(detect_peaks(resp, mask, threshold=threshold))
    ref_peaks = peaks[ref][:max_features]
    pitch = min(geometry.pixel_mm)
    search_px = search_mm / pitch
    z_grid = np.arange(z_range_mm[0], z_range_mm[1] + 0.5, 0.5)
    preds, strengths = [], []
    for rp in ref_peaks:
        cand = _backproject(geometry, ref, rp[:2], z_grid)
        proj = geometry.project_points(cand)  # (views, nz, 2)
        # score each height by the nearest detection in every view
        score = np.zeros(z_grid.size)
        for v in range(n):
            if v == ref or peaks[v].shape[0] == 0:
                continue
            d = np.linalg.norm(proj[v][:, None, :] - peaks[v][None, :, :2], axis=2).min(axis=1)
            score += np.exp(-0.5 * (d / 1.0) ** 2)
        best = int(np.argmax(score))
        pred = proj[:, best, :].copy()
        pred[ref] = rp[:2]
        preds.append((pred, cand[best]))
        strengths.append(rp[2])
    if not preds:
        return TrackedFeatures(np.zeros((0, n, 2)), np.zeros((0, 3)), np.zeros(0), ref, tuple(peaks))
    P = np.array([p for p, _ in preds])  # (J, V, 2)
    # a rigid motion displaces every feature of a view alike: the median offset of the nearest
    # detections is the view's offset, and features are matched again around prediction + offset
    offsets = np.zeros((n, 2))
    match_radius = 2.5
    for v in range(n):
        if v == ref or peaks[v].shape[0] == 0:
            continue
        det = peaks[v][:, :2]
        cand = (det[None, :, :] - P[:, v, None, :]).reshape(-1, 2)  # every detection-minus-prediction pair
        cand = cand[np.linalg.norm(cand, axis=1) <= search_px]
        if cand.shape[0] == 0:
            continue
        # vote: the offset that brings the most features onto a detection (ties: the smallest offset)
        shifted = P[:, v, None, :] + cand[None, :, :]  # (J, C, 2)
        dist = np.linalg.norm(shifted[:, :, None, :] - det[None, None, :, :], axis=3).min(axis=2)
        votes = (dist <= match_radius).sum(axis=0)
        top = np.flatnonzero(votes == votes.max())
        best_c = top[np.argmin(np.linalg.norm(cand[top], axis=1))]
        # refine: median residual of the features it matched
        hit = dist[:, best_c] <= match_radius
        near = np.argmin(np.linalg.norm((P[hit, v] + cand[best_c])[:, None, :] - det[None], axis=2), axis=1)
        offsets[v] = np.median(det[near] - P[hit, v], axis=0)
    obs = np.full(P.shape, np.nan)
    for v in range(n):
        if v == ref:
            obs[:, v] = P[:, v]
            continue
        if peaks[v].shape[0] == 0:
            continue
        target = P[:, v] + offsets[v]
        dist = np.linalg.norm(target[:, None, :] - peaks[v][None, :, :2], axis=2)
        i = np.argmin(dist, axis=1)
        dmin = dist[np.arange(P.shape[0]), i]
        for j in np.argsort(dmin):  # closest claims first; a detection serves one feature
            if dmin[j] <= match_radius and not np.any(np.all(obs[:, v] == peaks[v][i[j], :2], axis=1)):
                obs[j, v] = peaks[v][i[j], :2]
    found = np.all(np.isfinite(obs), axis=2).sum(axis=1)
    keep = found >= max(3, int(np.ceil(min_views * n)))
    if keep.any():
        pts = np.array([triangulate(geometry, obs[j], preds[j][1]) for j in np.flatnonzero(keep)])
        return TrackedFeatures(obs[keep], pts, np.array(strengths)[keep], ref, tuple(peaks))
    return TrackedFeatures(np.zeros((0, n, 2)), np.zeros((0, 3)), np.zeros(0), ref, tuple(peaks))
