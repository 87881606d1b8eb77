"""Grouping calcifications: a chain of detections in depth must not drag a cluster off its lesion."""

import numpy as np

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
