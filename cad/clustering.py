"""Grouping individual calcifications into clusters (BI-RADS "grouped")."""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from cad.types import Finding

__all__ = ["cluster_calcifications"]


def cluster_calcifications(
    calcs: list[Finding],
    *,
    link_mm: float = 5.0,
    depth_scale: float = 1.0,
    min_members: int = 3,
    max_extent_mm: float = 20.0,
    evidence_scale: float = 2.5,
    model: str,
) -> list[Finding]:
    """Group calcifications into clusters by single linkage.

    Two calcifications are linked when their distance is at most ``link_mm``, with the
    depth difference multiplied by ``depth_scale``. A calcification is also found, weaker,
    in slices above and below its focus, so shrinking depth differences (0.5 was tried)
    chains those echoes of neighbouring calcifications and false candidates into one long
    group whose centre drifts off the true cluster: on 40 validation cases (seeds
    2000-2039) 0.5 localised 37 of 42 clusters, 1.0 localised 40 with fewer marks. A
    group of at least ``min_members`` calcifications spanning at most ``max_extent_mm``
    in-plane (BI-RADS: grouped calcifications lie within 1-2 cm) becomes a cluster.

    The cluster's score grows with its evidence, the sum of its members' squared
    probabilities (p_i = score / 100): ``100 * (1 - exp(-sum(p_i**2) / evidence_scale))``.
    Squaring keeps many doubtful members (a mass's rim seen by a speck filter) from
    outweighing a few certain ones. With the default 2.5, two certain calcifications score
    55, three 70, five 86, eight 96, so that small groups can be shown (``min_members`` 2)
    but rank below larger ones. The first rule, one minus the product of (1 - p_i) over the
    three strongest members, saturated at 100 for every cluster, so the FROC curve was flat
    and the case score could not triage.

    Parameters
    ----------
    calcs : list of Finding
        Individual ``calcification`` findings.
    model : str
        ``id@version`` recorded on the clusters.

    Returns
    -------
    list of Finding
        ``calcification_cluster`` findings with their members, strongest first.
    """
    calcs = [c for c in calcs if c.kind == "calcification"]
    if len(calcs) < min_members:
        return []
    xyz = np.array([c.center_mm for c in calcs], dtype=np.float64)
    scaled = xyz * np.array([1.0, 1.0, depth_scale])
    labels = fcluster(linkage(scaled, method="single"), t=link_mm, criterion="distance")
    clusters = []
    for lab in np.unique(labels):
        members = [calcs[i] for i in np.flatnonzero(labels == lab)]
        if len(members) < min_members:
            continue
        pts = np.array([m.center_mm for m in members])
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        if np.max(hi[:2] - lo[:2]) > max_extent_mm:
            continue
        idx = np.array([m.center_index for m in members])
        evidence = sum((m.score / 100.0) ** 2 for m in members)
        score = 100.0 * (1.0 - np.exp(-evidence / evidence_scale))
        # focal slice: where the strongest member is in focus; centre in-plane: the mean
        best = max(members, key=lambda m: m.score)
        center_idx = (best.center_index[0], float(idx[:, 1].mean()), float(idx[:, 2].mean()))
        center_mm = (float(pts[:, 0].mean()), float(pts[:, 1].mean()), best.center_mm[2])
        extent = tuple(float(v) for v in np.maximum(hi - lo, 1.0))
        clusters.append(
            Finding(
                "calcification_cluster",
                center_idx,
                center_mm,
                extent,
                min(score, 100.0),
                model,
                tuple(sorted(members, key=lambda m: -m.score)),
            )
        )
    return sorted(clusters, key=lambda f: -f.score)
