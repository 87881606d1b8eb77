"""``crescent cad``: SR + JSON from a BTO, one-line errors with exit status 2."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from app.dicom.cad_sr import read_cad_sr
from tests.app.cad.conftest import make_bto
from tests.dicom_validate import assert_dciodvfy_clean

KEYS = {"kind", "frame", "row", "column", "center_mm", "extent_mm", "score", "model"}


@pytest.fixture(scope="module")
def mass_bto(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mass")
    path = folder / "l_cc.dcm"
    # a soft blob (sigma 3 mm) in focus on slice 3 of a 24 x 32 mm image at 0.5 mm
    return path, make_bto(
        path, laterality="L", view="CC", bright=None, blob=(3, 24, 30, 6.0, 0.02), voxel_mm=(1.0, 0.5, 0.5)
    )


def test_cad_writes_sr_and_json_in_the_issue_shape(mass_bto, tmp_path, capsys):
    bto, volume = mass_bto
    sr, js = tmp_path / "cad.dcm", tmp_path / "cad.json"
    assert main(["cad", str(bto.parent), "-o", str(sr), "--json", str(js), "--classical", "--threads", "1"]) == 0
    assert "case score" in capsys.readouterr().out
    assert_dciodvfy_clean(sr)
    obj = json.loads(js.read_text())
    assert set(obj) >= {"case_score", "findings"}
    assert 0 <= obj["case_score"] <= 100
    assert obj["findings"], "the classical detector should find the blob"
    for f in obj["findings"]:
        assert KEYS <= set(f)
        assert f["kind"] in ("calcification_cluster", "calcification", "mass", "architectural_distortion")
        assert 1 <= f["frame"] <= volume.data.shape[0]
        assert len(f["center_mm"]) == 3 and len(f["extent_mm"]) == 3
        assert 0 <= f["score"] <= 100 and f["model"] == "classical-dog-log@1.0"
    best = max(obj["findings"], key=lambda f: f["score"])
    assert best["kind"] == "mass"
    assert abs(best["row"] - 24) <= 3 and abs(best["column"] - 30) <= 3 and best["frame"] == 4
    back = read_cad_sr(sr, volume_metadata=volume.metadata, grid=volume.grid)
    assert [f.kind for f in back.findings] == [f["kind"] for f in obj["findings"]]
    for f, g in zip(back.findings, obj["findings"], strict=True):
        assert f.frame == g["frame"]
        assert abs(f.center_index[1] - g["row"]) < 0.01 and abs(f.center_index[2] - g["column"]) < 0.01
        assert abs(f.score - g["score"]) < 0.01
    assert obj["case_score"] == pytest.approx(back.case_score, abs=0.01)


def test_cad_bad_inputs_exit_2_with_one_line(mass_bto, tmp_path, capsys):
    bto, _ = mass_bto
    out = str(tmp_path / "o.dcm")
    assert main(["cad", str(tmp_path / "missing.dcm"), "-o", out]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.dcm" in err[0]
    assert main(["cad", str(bto), "-o", out, "--model", str(tmp_path / "nope.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "nope.json" in err[-1] and "manifest not found" in err[-1]
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(b"not really onnx")
    manifest = tmp_path / "m.json"
    manifest.write_text(
        json.dumps(
            {
                "id": "m",
                "version": "1",
                "task": "mass",
                "file": "m.onnx",
                "sha256": "0" * 64,
                "opset": 17,
                "input": {
                    "name": "x",
                    "kind": "image",
                    "channels": 1,
                    "slab_mm": 1.0,
                    "pixel_mm": 0.2,
                    "normalisation": "highpass_zscore",
                },
                "output": {"name": "y", "kind": "heatmap", "classes": ["mass"]},
            }
        )
    )
    assert main(["cad", str(bto), "-o", out, "--model", str(manifest)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "sha256" in err[-1] and err[-1].startswith("crescent cad: error:")
    text = tmp_path / "notdicom.dcm"
    text.write_text("x")
    assert main(["cad", str(text), "-o", out]) == 2
    assert main(["cad", str(bto), "-o", out, "--threads", "0"]) == 2
    assert not (tmp_path / "o.dcm").exists()
