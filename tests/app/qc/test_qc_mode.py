"""The QC mode in a real window (Xvfb): flags beside projections, cine, checklist, reject with a reason, trends."""

import pytest

from app.model.qc_session import QCSessionModel
from recon.qc.acquisition import run_acquisition_qc
from tests.recon.qc.acquisitions import THICKNESS_MM, acquire


@pytest.fixture(scope="module")
def moved():
    p = acquire(seed=3, phantom_seed=1, motion_from_view=9, motion_mm=(0.0, 3.0))
    return p, run_acquisition_qc(p, system="hologic-dimensions", thickness_mm=THICKNESS_MM)


def test_model_without_qt(moved):
    p, report = moved
    decisions = []
    m = QCSessionModel(p, report, on_decision=decisions.append)
    assert m.flags(9) == ["motion"] and m.flags(8) == []
    seen = []
    m.subscribe("view", seen.append)
    m.set_view(14)
    m.next_view()
    assert seen == [14, 0]
    with pytest.raises(Exception, match="reason"):
        m.reject(reason="because", by="Doe^Jane")
    d = m.reject(reason="motion", text="step at 9", by="Doe^Jane")
    assert decisions == [d] and d.decision == "rejected"


@pytest.mark.gui
def test_qc_mode_window(moved, qtbot, tmp_path):
    from app.qt.application import save_screenshot
    from app.qt.qc_mode import QCModeWidget

    p, report = moved
    decisions = []
    model = QCSessionModel(
        p,
        report,
        on_decision=decisions.append,
        trends={"phantom_sdnr": [("05-01", 5.1), ("05-08", 5.0), ("05-15", 4.2)]},
    )
    w = QCModeWidget(model, technologist="Doe^Jane")
    qtbot.addWidget(w)
    w.resize(1400, 700)
    w.show()
    qtbot.waitExposed(w)
    assert w.flags.item(9).text().endswith("motion") and w.flags.item(3).text().endswith("ok")
    w.flags.setCurrentRow(11)
    assert model.view == 11 and w.cine.slider.value() == 11 and "motion" in w.cine.caption.text()
    w.cine.slider.setValue(2)
    assert model.view == 2 and w.flags.currentRow() == 2
    statuses = {
        w.checklist.topLevelItem(i).text(0): w.checklist.topLevelItem(i).text(1)
        for i in range(w.checklist.topLevelItemCount())
    }
    assert statuses["motion"] == "FAIL" and statuses["exposure"] == "PASS"
    w.reason.setCurrentText("motion")
    w.reason_text.setText("step between 8 and 9")
    w.reject_button.click()
    assert decisions and decisions[0].reason == "motion" and decisions[0].by == "Doe^Jane"
    assert "rejected by Doe^Jane (motion)" in w.status.text()
    assert not w.trend_image.pixmap().isNull()
    shot = save_screenshot(w, tmp_path / "qc_mode.png")
    assert shot
