import json

import numpy as np
import pytest

from recon.qc.limits import QCLimits
from recon.qc.results import CheckResult, QCReport, worst_status


def test_worst_status_and_json_shape():
    assert worst_status([]) == "pass"
    assert worst_status(["pass", "warn", "pass"]) == "warn"
    assert worst_status(["warn", "fail"]) == "fail"
    with pytest.raises(ValueError):
        worst_status(["ok"])
    r = QCReport(
        checks=(
            CheckResult(
                "exposure",
                "fail",
                value=np.float64(-0.3),
                limit={"warn": 0.1},
                detail="x",
                views=[4],
                data={"signal": np.arange(3.0)},
            ),
            CheckResult("motion", "pass", value=0.0),
        ),
        not_run=(("dose", "no kerma"),),
    )
    d = json.loads(json.dumps(r.to_dict()))
    assert d["status"] == "fail"
    assert d["checks"][0] == {
        "name": "exposure",
        "status": "fail",
        "value": -0.3,
        "limit": {"warn": 0.1},
        "detail": "x",
        "views": [4],
        "data": {"signal": [0.0, 1.0, 2.0]},
    }
    assert d["not_run"] == [{"name": "dose", "reason": "no kerma"}]
    assert QCReport.from_dict(d).to_dict() == d
    assert r.flagged_views() == {4: ["exposure"]}


def test_limits_validation():
    with pytest.raises(ValueError, match="motion_warn_mm"):
        QCLimits(motion_warn_mm=2.0, motion_fail_mm=1.0)
    with pytest.raises(ValueError, match="unknown limit"):
        QCLimits.from_dict({"motion_fial_mm": 1})
    assert QCLimits.from_dict({"motion_fail_mm": 2.0}).motion_fail_mm == 2.0


def test_check_result_validation():
    with pytest.raises(ValueError):
        CheckResult("x", "bad")
