"""Grouping calcifications: a chain of detections in depth must not drag a cluster off its lesion."""

import numpy as np
import pytest

from cad.clustering import cluster_calcifications
from cad.froc import HitRule, TruthLesion
from cad.types import Finding


def _calc(x, y, z, score=90.0):
    return Finding("calcification", (z, y * 10, x * 10), (x, y, z), (0.3, 0.3, 1.0), score, "t@1")


def test_depth_chain_of_false_detections_stays_out_of_the_cluster():
    rng = np.random.default_rng(0)
    members = [_calc(10 + dx, dy, 30 + dz) for dx, dy, dz in rng.uniform(-1.5, 1.5, (6, 3))]
    # false detections (echoes, texture) strung out in depth beside the cluster
    chain = [_calc(12 + 1.0 * i, 2 + 1.0 * i, 36 + 4.0 * i, 60.0) for i in range(6)]
    lesion = TruthLesion("calcification_cluster", (10.0, 0.0, 30.0), 4.0)
    clusters = cluster_calcifications(members + chain, model="t@1")
    assert any(HitRule().hits(c, lesion) for c in clusters)
    best = max(clusters, key=lambda c: len(set(c.members) & set(members)))
    assert set(best.members) == set(members)
    # squeezing depth by half links the chain in and pulls the centre off the lesion
    squeezed = cluster_calcifications(members + chain, depth_scale=0.5, model="t@1")
    assert len(squeezed) == 1 and not HitRule().hits(squeezed[0], lesion)


def test_cluster_score_ranks_larger_and_surer_groups_higher():
    big = [_calc(10 + 0.8 * i, 0, 30, 95.0) for i in range(6)]
    pair = [_calc(-20 + 0.8 * i, 0, 30, 95.0) for i in range(2)]
    weak = [_calc(-40 + 0.8 * i, 20, 30, 55.0) for i in range(2)]
    clusters = cluster_calcifications(big + pair + weak, min_members=2, model="t@1")
    by_size = {len(c.members): c for c in clusters if c.members[0].score == 95.0}
    weak_c = next(c for c in clusters if c.members[0].score == 55.0)
    assert len(clusters) == 3
    # score = 100 (1 - exp(-sum p^2 / 2.5)): six at 0.95 -> 88.5, two at 0.95 -> 51.4, two at 0.55 -> 21.5
    assert by_size[6].score == pytest.approx(100 * (1 - np.exp(-6 * 0.95**2 / 2.5)), rel=1e-9)
    assert by_size[6].score > by_size[2].score > weak_c.score
    assert by_size[6].score < 100.0  # no saturation: the curve and the case score can rank
    # the default keeps the BI-RADS-like minimum of three
    assert len(cluster_calcifications(big + pair + weak, model="t@1")) == 1
    # many doubtful members do not outrank a few certain ones
    rim = [_calc(40 + 0.8 * i, -30, 30, 40.0) for i in range(12)]
    five = [_calc(60 + 0.8 * i, -30, 30, 100.0) for i in range(5)]
    ranked = cluster_calcifications(rim + five, model="t@1")
    assert len(ranked[0].members) == 5 and ranked[0].score > ranked[1].score
