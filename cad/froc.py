"""FROC evaluation: lesion localisation against false positives per volume.

Hit rule (stated once, used everywhere): a mark localises a true lesion when

* the kinds are compatible: a ``calcification_cluster`` (or ``calcification``) mark with a
  calcification-cluster lesion, a ``mass`` or ``architectural_distortion`` mark with a mass or
  architectural-distortion lesion (soft-tissue lesions are one family, as in DBTex);
* the in-plane distance between the centres (x, y) is at most
  ``max(inplane_mm, lesion size / 2)``; and
* the depth distance |dz| is at most ``max(depth_mm, lesion size / 2)``.

Defaults: ``inplane_mm = 3``, ``depth_mm = 5`` (DBT depth resolution is coarse: a lesion is
in focus over several slices). A lesion counts as found at threshold t when any mark with
score >= t localises it; marks that localise no lesion are false positives; further marks on
an already localised lesion are neither (standard lesion-level FROC).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from cad.types import Finding

__all__ = ["TruthLesion", "HitRule", "FrocCurve", "froc", "truth_from_json"]

_FAMILY = {
    "calcification": "calcification",
    "calcification_cluster": "calcification",
    "mass": "soft_tissue",
    "architectural_distortion": "soft_tissue",
}


@dataclass(frozen=True)
class TruthLesion:
    """A true lesion: kind, centre (x, y, z) mm in the detector frame, size mm (largest extent)."""

    kind: str
    center_mm: tuple[float, float, float]
    size_mm: float

    @property
    def family(self) -> str:
        return _FAMILY.get(self.kind, self.kind)


def truth_from_json(
    truth: dict, *, kinds: Sequence[str] = ("calcification_cluster", "mass", "architectural_distortion")
):
    """The lesions of a ``truth.json`` dict that FROC scores (single calcifications are
    members of clusters, not lesions of their own).
    """
    out = []
    for les in truth.get("lesions", []):
        if les.get("kind") not in kinds:
            continue
        size = les.get("size_mm", 0.0)
        size = float(np.max(size)) if np.ndim(size) else float(size)
        out.append(TruthLesion(les["kind"], tuple(float(v) for v in les["center_mm"]), size))
    return out


@dataclass(frozen=True)
class HitRule:
    """Acceptance region around a lesion centre; see the module docstring."""

    inplane_mm: float = 3.0
    depth_mm: float = 5.0

    def hits(self, mark: Finding, lesion: TruthLesion) -> bool:
        if _FAMILY.get(mark.kind) != lesion.family:
            return False
        dx = mark.center_mm[0] - lesion.center_mm[0]
        dy = mark.center_mm[1] - lesion.center_mm[1]
        dz = mark.center_mm[2] - lesion.center_mm[2]
        half = lesion.size_mm / 2.0
        return bool(np.hypot(dx, dy) <= max(self.inplane_mm, half) and abs(dz) <= max(self.depth_mm, half))

    def describe(self) -> str:
        return (
            f"centre within max({self.inplane_mm:g} mm, size/2) in-plane and "
            f"max({self.depth_mm:g} mm, size/2) in depth, same lesion family"
        )


@dataclass(frozen=True)
class FrocCurve:
    """Operating points of a FROC curve, thresholds descending."""

    thresholds: np.ndarray
    sensitivity: np.ndarray
    fp_per_volume: np.ndarray
    n_lesions: int
    n_volumes: int
    rule: HitRule = field(default_factory=HitRule)

    def sensitivity_at(self, fp: float) -> float:
        """Highest sensitivity reached with at most ``fp`` false positives per volume."""
        ok = self.fp_per_volume <= fp + 1e-12
        return float(self.sensitivity[ok].max()) if np.any(ok) else 0.0

    def summary(self, fps: Sequence[float] = (0.5, 1, 2, 4)) -> dict:
        return {
            "n_lesions": self.n_lesions,
            "n_volumes": self.n_volumes,
            "hit_rule": self.rule.describe(),
            "sensitivity": {f"{fp:g}": round(self.sensitivity_at(fp), 4) for fp in fps},
        }


def froc(
    cases: Sequence[tuple[Sequence[Finding], Sequence[TruthLesion]]],
    *,
    families: Sequence[str] | None = None,
    rule: HitRule | None = None,
) -> FrocCurve:
    """Lesion-level FROC over volumes.

    Parameters
    ----------
    cases : sequence of (marks, lesions)
        One entry per volume: the CAD marks and the true lesions of that volume.
    families : sequence of str, optional
        Score only these lesion families (``"calcification"``, ``"soft_tissue"``); marks of
        other families are ignored. Default: all.
    rule : HitRule, optional
        Acceptance rule (default ``HitRule()``).

    Returns
    -------
    FrocCurve
    """
    rule = rule or HitRule()
    if len(cases) == 0:
        raise ValueError("froc: no cases")
    lesion_ratings: list[float] = []
    fp_scores: list[float] = []
    for marks, lesions in cases:
        marks = [m for m in marks if families is None or _FAMILY.get(m.kind) in families]
        lesions = [t for t in lesions if families is None or t.family in families]
        ratings = np.full(len(lesions), -np.inf)
        for m in marks:
            hit_any = False
            for i, les in enumerate(lesions):
                if rule.hits(m, les):
                    hit_any = True
                    ratings[i] = max(ratings[i], m.score)
            if not hit_any:
                fp_scores.append(m.score)
        lesion_ratings.extend(ratings.tolist())
    ratings = np.asarray(lesion_ratings, dtype=float)
    fps = np.asarray(fp_scores, dtype=float)
    scores = np.unique(np.concatenate([ratings[np.isfinite(ratings)], fps]))[::-1]
    thresholds = np.concatenate([[np.inf], scores])
    n_les = max(len(ratings), 1)
    sens = np.array([(ratings >= t).sum() / n_les for t in thresholds])
    fpv = np.array([(fps >= t).sum() / len(cases) for t in thresholds])
    if len(ratings) == 0:
        sens[:] = np.nan
    return FrocCurve(thresholds, sens, fpv, len(ratings), len(cases), rule)
