"""QC persistence in a real SQLite store: sessions, decisions, trends, device limits, reject analysis."""

import itertools

import pytest

from app.errors import InputError
from app.store import qc as qcstore
from app.store.store import Store
from recon.qc.limits import QCLimits
from recon.qc.results import CheckResult, QCReport


def _clock(start=1_700_000_000.0, step=86400.0):
    c = itertools.count()
    return lambda: start + step * next(c)


def _phantom_report(sdnr, specks):
    return QCReport(
        checks=(
            CheckResult("phantom_sdnr", "pass", value=sdnr),
            CheckResult("phantom_specks", "pass" if specks >= 3 else "fail", value=specks, limit=3),
        )
    )


def test_sessions_trends_and_settings(tmp_path):
    clock = _clock()
    with Store.open(tmp_path / "store") as st:
        conn = st.connection
        ids = [
            qcstore.record_session(
                conn, _phantom_report(s, k), device="HOLOGIC Dimensions SN1", kind="phantom", clock=clock
            )
            for s, k in ((5.0, 4.0), (4.8, 4.0), (3.1, 2.5))
        ]
        qcstore.record_session(conn, _phantom_report(9.0, 5.0), device="other", kind="phantom", clock=clock)
        tr = qcstore.trend(conn, "HOLOGIC Dimensions SN1", "phantom_sdnr")
        assert [v for _, v, _ in tr] == [5.0, 4.8, 3.1]
        assert [s for _, _, s in qcstore.trend(conn, "HOLOGIC Dimensions SN1", "phantom_specks")] == [
            "pass",
            "pass",
            "fail",
        ]
        assert tr[0][0] < tr[1][0] < tr[2][0]
        s = qcstore.session(conn, ids[2])
        assert s.status == "fail" and s.report.check("phantom_specks").value == 2.5
        qcstore.set_device(
            conn, "HOLOGIC Dimensions SN1", limits=QCLimits(motion_fail_mm=1.5), baseline={"sdnr": 5.0}, clock=clock
        )
        lim, base = qcstore.device_settings(conn, "HOLOGIC Dimensions SN1")
        assert lim.motion_fail_mm == 1.5 and base == {"sdnr": 5.0}
        assert qcstore.device_settings(conn, "new")[0] == QCLimits()
    # persisted across reopen
    with Store.open(tmp_path / "store") as st:
        assert len(qcstore.sessions(st.connection, device="HOLOGIC Dimensions SN1", kind="phantom")) == 3


def test_decisions_and_reject_analysis(tmp_path):
    clock = _clock()
    rep = QCReport(checks=(CheckResult("motion", "fail", value=3.0, views=[5]),))
    with Store.open(tmp_path / "s") as st:
        conn = st.connection
        ids = [
            qcstore.record_session(
                conn, rep, device="d", study_uid="1.2.3", sop_instance_uid=f"1.2.3.{i}", view="RCC", clock=clock
            )
            for i in range(4)
        ]
        qcstore.decide(
            conn,
            ids[0],
            decision="rejected",
            reason="motion",
            text="proj 5",
            by="Doe^Jane",
            kos_sop_instance_uid="1.2.9",
            clock=clock,
        )
        qcstore.decide(conn, ids[1], decision="repeated", reason="positioning", by="Doe^Jane", clock=clock)
        qcstore.decide(conn, ids[2], decision="accepted", by="Doe^Jane", clock=clock)
        s = qcstore.session(conn, ids[0])
        assert (s.decision, s.decision_reason, s.kos_sop_instance_uid) == ("rejected", "motion", "1.2.9")
        a = qcstore.reject_analysis(conn, device="d")
        assert a == {
            "acquisitions": 4,
            "rejected": 1,
            "repeated": 1,
            "reasons": {"motion": 1, "positioning": 1},
            "reject_rate": 0.5,
        }
        with pytest.raises(InputError, match="needs a reason"):
            qcstore.decide(conn, ids[3], decision="rejected", by="x")
        with pytest.raises(InputError, match="no QC session 99"):
            qcstore.decide(conn, 99, decision="accepted", by="x")
        with pytest.raises(InputError, match="must be one of"):
            qcstore.decide(conn, ids[3], decision="maybe", by="x")
