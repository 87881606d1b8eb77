"""crescent qc end to end: phantom folders and DICOM in, JSON / HTML / PDF / KOS out; bad input."""

import json
import subprocess
import sys

import pytest

from app.cli import main
from app.dicom.kos_reject import read_reject_kos
from tests.app.qc.phantom_folder import write_qc_phantom_folder
from tests.dicom_validate import assert_dciodvfy_clean


@pytest.fixture(scope="module")
def breast_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("breast")
    assert main(["phantom", "--small", "--system", "hologic-dimensions", "-o", str(out)]) == 0
    return out


def test_acquisition_qc_json_html_pdf(breast_folder, tmp_path, capsys):
    js = tmp_path / "qc.json"
    rc = main(
        [
            "qc",
            str(breast_folder),
            "--report",
            str(tmp_path / "qc.html"),
            "--json",
            str(js),
            "--kerma-mgy",
            "3.0",
            "--hvl",
            "0.5",
            "--target-filter",
            "W/Rh",
        ]
    )
    assert rc == 0
    d = json.loads(js.read_text())
    assert d["status"] == "pass", [c for c in d["checks"] if c["status"] != "pass"]
    names = [c["name"] for c in d["checks"]]
    assert names[:3] == ["projection_count", "angles", "geometry_consistency"]
    assert {"exposure", "motion", "detector_defects", "dose", "saturation"} <= set(names)
    for c in d["checks"]:
        assert set(c) >= {"name", "status", "value", "limit", "detail", "views"}
    dose = next(c for c in d["checks"] if c["name"] == "dose")
    assert dose["value"] == pytest.approx(3.0 * 0.543 * 1.042, rel=1e-3)  # 20 mm breast, HVL 0.5, W/Rh, t = 1
    html = (tmp_path / "qc.html").read_text()
    assert html.count("data:image/png;base64,") == 3  # exposure, motion, dose
    assert "qc: PASS" in capsys.readouterr().out
    assert main(["qc", str(breast_folder), "--report", str(tmp_path / "qc.pdf")]) == 0
    assert (tmp_path / "qc.pdf").read_bytes()[:5] == b"%PDF-"


def test_reject_writes_a_valid_kos(breast_folder, tmp_path):
    kos = tmp_path / "reject.dcm"
    rc = main(
        [
            "qc",
            str(breast_folder),
            "--report",
            str(tmp_path / "qc.html"),
            "--reject",
            "motion",
            "--reject-text",
            "projections 5-14",
            "--observer",
            "Doe^Jane",
            "--kos",
            str(kos),
        ]
    )
    assert rc == 0
    assert_dciodvfy_clean(kos)
    rec = read_reject_kos(kos)
    truth = json.loads((breast_folder / "truth.json").read_text())
    assert rec.reason == "motion" and rec.text == "projections 5-14" and rec.observer == "Doe^Jane"
    assert rec.referenced_sop_instance_uids == (truth["projections"]["sop_instance_uid"],)
    assert rec.study_instance_uid == truth["projections"]["study_instance_uid"]


def test_qc_phantom_session(tmp_path):
    ph = write_qc_phantom_folder(tmp_path / "ph")
    js = tmp_path / "p.json"
    assert main(["qc", str(ph), "--report", str(tmp_path / "p.html"), "--json", str(js)]) == 0
    d = json.loads(js.read_text())
    names = {c["name"] for c in d["checks"]}
    assert {
        "phantom_fibres",
        "phantom_specks",
        "phantom_masses",
        "phantom_uniformity",
        "phantom_sdnr",
        "phantom_mtf50_x_lp_mm",
        "phantom_asf_fwhm",
    } <= names
    specks = next(c for c in d["checks"] if c["name"] == "phantom_specks")
    assert specks["status"] == "pass" and 3 <= specks["value"] <= 6


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--report", "x.txt"], "--report x.txt: the extension must be .html or .pdf"),
        (["--report", "x.html", "--reject", "motion"], "--reject needs --kos"),
        (["--report", "x.html", "--limits", "nolimits.json"], "--limits nolimits.json: cannot read"),
        (["--report", "x.html", "--system", "nope"], "--system nope: unknown"),
    ],
)
def test_bad_input_is_one_line(breast_folder, tmp_path, extra, message, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = subprocess.run(
        [sys.executable, "-m", "app", "qc", str(breast_folder), *extra], capture_output=True, text=True
    )
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and message in res.stderr and "Traceback" not in res.stderr


def test_missing_input(tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "app", "qc", str(tmp_path / "none"), "--report", "x.html"],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2 and "no such file or folder" in res.stderr


def test_bad_limit_file(breast_folder, tmp_path):
    lim = tmp_path / "lim.json"
    lim.write_text('{"motion_fial_mm": 2}')
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "qc",
            str(breast_folder),
            "--report",
            str(tmp_path / "x.html"),
            "--limits",
            str(lim),
        ],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2 and "unknown limit(s) motion_fial_mm" in res.stderr
