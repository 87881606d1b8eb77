import json

import numpy as np
import pytest

from cad.detect import detect
from cad.errors import ModelError
from cad.froc import HitRule, TruthLesion
from cad.manifest import load_manifest
from cad.onnx_model import OnnxModel

from .onnx_builders import speck_patch_model, write_manifest
from .test_classical import _volume_with_lesions


@pytest.fixture
def speck(tmp_path):
    return write_manifest(speck_patch_model(tmp_path / "speck.onnx"))


def test_patch_model_detects_the_cluster(speck):
    vol = _volume_with_lesions()
    res = detect(vol, models=[speck])
    clusters = res.of_kind("calcification_cluster")
    assert clusters, res
    assert HitRule().hits(clusters[0], TruthLesion("calcification_cluster", (10.6, -4.8, 30.0), 3.0))
    assert clusters[0].model == "test-speck@0.1"
    assert len(clusters[0].members) >= 4
    # deterministic
    again = detect(vol, models=[speck])
    assert again == res


def test_manifest_errors_name_file_and_problem(tmp_path, speck):
    onnx_path = tmp_path / "speck.onnx"
    # hash mismatch
    bad = json.loads(speck.read_text())
    bad["sha256"] = "0" * 64
    p = tmp_path / "badhash.json"
    p.write_text(json.dumps(bad))
    with pytest.raises(ModelError, match=r"badhash.json: sha256"):
        load_manifest(p)
    # missing file
    bad["file"] = "nothere.onnx"
    p.write_text(json.dumps(bad))
    with pytest.raises(ModelError, match="nothere.onnx is missing"):
        load_manifest(p)
    # unknown class for the task
    p2 = write_manifest(onnx_path, output={"classes": ["mass"]})
    with pytest.raises(ModelError, match="do not fit task"):
        load_manifest(p2)
    with pytest.raises(ModelError, match="not found"):
        load_manifest(tmp_path / "none.json")


def test_model_manifest_mismatches(tmp_path):
    # the model takes 3 channels; the manifest claims 5
    onnx_path = speck_patch_model(tmp_path / "m.onnx")
    with pytest.raises(ModelError, match="3 channels, manifest says 5"):
        OnnxModel(load_manifest(write_manifest(onnx_path, input={"channels": 5})))
    with pytest.raises(ModelError, match="patch size"):
        OnnxModel(load_manifest(write_manifest(onnx_path, input={"size": 32})))
    with pytest.raises(ModelError, match="no input 'slab'"):
        OnnxModel(load_manifest(write_manifest(onnx_path, input={"name": "slab"})))
    two = speck_patch_model(tmp_path / "two.onnx", classes=("calcification", "calcification"))
    with pytest.raises(ModelError, match="2 classes"):
        OnnxModel(load_manifest(write_manifest(two)))
    old = speck_patch_model(tmp_path / "old.onnx", meta_opset=13)
    with pytest.raises(ModelError, match="opset 13 differs"):
        OnnxModel(load_manifest(write_manifest(old)))
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="cannot load"):
        OnnxModel(load_manifest(write_manifest(junk)))


def test_onnx_model_scores_a_speck_higher_than_flat(speck):
    model = OnnxModel(load_manifest(speck))
    flat = np.zeros((1, 3, 16, 16), np.float32)
    spot = flat.copy()
    spot[0, 1, 7:10, 7:10] = 20.0
    out = model.run(np.concatenate([flat, spot]))
    assert out.shape == (2, 1)
    assert out[1, 0] > 0.9 > 0.1 > out[0, 0]


def test_manifest_background_defaults_to_2mm_and_must_be_positive(tmp_path):
    onnx_path = speck_patch_model(tmp_path / "m.onnx")
    assert load_manifest(write_manifest(onnx_path)).background_mm == 2.0
    assert load_manifest(write_manifest(onnx_path, input={"background_mm": 8})).background_mm == 8.0
    with pytest.raises(ModelError, match="background_mm must be > 0"):
        load_manifest(write_manifest(onnx_path, input={"background_mm": 0.0}))
    with pytest.raises(ModelError, match="'background_mm' must be float"):
        load_manifest(write_manifest(onnx_path, input={"background_mm": "wide"}))
