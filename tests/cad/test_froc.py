import numpy as np
import pytest

from cad.froc import HitRule, TruthLesion, froc, truth_from_json
from cad.types import CaseResult, Finding


def mark(kind, xyz, score):
    return Finding(kind, (0, 0, 0), xyz, (5, 5, 5), score, "test@1")


MASS = TruthLesion("mass", (30.0, 0.0, 40.0), 10.0)
CLUSTER = TruthLesion("calcification_cluster", (50.0, 10.0, 30.0), 6.0)


def test_hit_rule_kind_distance_and_depth():
    rule = HitRule(inplane_mm=3, depth_mm=5)
    assert rule.hits(mark("mass", (33.0, 3.0, 44.0), 50), MASS)  # 4.2 mm in-plane <= size/2
    assert rule.hits(mark("architectural_distortion", (30, 0, 40), 50), MASS)  # same family
    assert not rule.hits(mark("calcification_cluster", (30, 0, 40), 50), MASS)
    assert not rule.hits(mark("mass", (36.0, 0.0, 40.0), 50), MASS)  # 6 mm > 5 mm
    assert not rule.hits(mark("mass", (30.0, 0.0, 46.0), 50), MASS)  # 6 mm deep > 5 mm
    assert rule.hits(mark("calcification_cluster", (52.9, 10, 34.9), 50), CLUSTER)


def test_froc_counts_known_operating_points():
    cases = [
        ([mark("mass", (30, 0, 40), 90), mark("mass", (80, 20, 40), 70)], [MASS]),  # TP 90, FP 70
        ([mark("mass", (10, -30, 30), 80)], []),  # FP 80, normal volume
        ([mark("mass", (31, 1, 41), 60), mark("mass", (30, 0, 40), 50)], [MASS]),  # TP 60; second mark ignored
    ]
    curve = froc(cases)
    assert curve.n_lesions == 2 and curve.n_volumes == 3
    assert curve.sensitivity_at(0.0) == pytest.approx(0.5)  # threshold 90: one lesion, no FP
    # threshold 60: both lesions, FPs at 80 and 70 -> 2/3 FP per volume
    assert curve.sensitivity_at(0.5) == pytest.approx(0.5)
    assert curve.sensitivity_at(1.0) == pytest.approx(1.0)
    assert np.all(np.diff(curve.fp_per_volume) >= 0) and np.all(np.diff(curve.sensitivity) >= 0)


def test_froc_families_and_truth_json():
    truth = {
        "lesions": [
            {"kind": "mass", "center_mm": [30, 0, 40], "size_mm": 10},
            {"kind": "calcification_cluster", "center_mm": [50, 10, 30], "size_mm": [6, 5, 4]},
            {"kind": "calcification", "center_mm": [50, 10, 30], "size_mm": 0.3},
        ]
    }
    lesions = truth_from_json(truth)
    assert [t.kind for t in lesions] == ["mass", "calcification_cluster"]
    assert lesions[1].size_mm == 6
    marks = [mark("calcification_cluster", (50, 10, 30), 40), mark("mass", (0, 0, 0), 99)]
    calc = froc([(marks, lesions)], families=["calcification"])
    assert calc.n_lesions == 1 and calc.sensitivity_at(0) == 1.0
    soft = froc([(marks, lesions)], families=["soft_tissue"])
    assert soft.sensitivity_at(0.5) == 0.0 and soft.sensitivity_at(1) == 0.0


def test_case_result_json_round_trip():
    member = Finding("calcification", (4, 10, 12), (1.2, 2.0, 24.0), (0.3, 0.3, 0.3), 55, "m@1")
    f = Finding("calcification_cluster", (4, 10.5, 12.25), (1.25, 2.1, 24.0), (4, 3, 2), 72.5, "m@1", (member,))
    res = CaseResult((mark("mass", (1, 2, 3), 10), f), case_score=72.5, models=("m@1",))
    assert res.findings[0] is f  # sorted by score
    back = CaseResult.from_json(res.to_json())
    assert back == res
    assert res.to_json()["findings"][0]["frame"] == 5
    with pytest.raises(ValueError, match="kind"):
        Finding("lump", (0, 0, 0), (0, 0, 0), (1, 1, 1), 5, "x")
    with pytest.raises(ValueError, match="score"):
        Finding("mass", (0, 0, 0), (0, 0, 0), (1, 1, 1), 101, "x")
