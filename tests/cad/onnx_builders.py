"""Tiny hand-built ONNX models for tests (no torch): a DoG-like speck scorer and a blob heatmap."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _gauss(size, sigma):
    r = np.arange(size) - (size - 1) / 2
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma**2))
    return g / g.sum()


def speck_patch_model(path: Path, *, channels=3, size=16, classes=("calcification",), opset=17, meta_opset=None):
    """(N, C, size, size) -> (N, len(classes)) probability that the centre holds a bright speck."""
    k = np.zeros((len(classes), channels, size, size), dtype=np.float32)
    k[:, channels // 2] = _gauss(size, 0.8) - _gauss(size, 3.0)
    # centre of the kernel lies at (size-1)/2; patches are centred at size//2: shift by one for even sizes
    if size % 2 == 0:
        k = np.roll(k, (1, 1), axis=(2, 3))
    w = numpy_helper.from_array(k * 1.0, "w")
    b = numpy_helper.from_array(np.full(len(classes), -3.0, np.float32), "b")
    nodes = [
        helper.make_node("Conv", ["input", "w", "b"], ["conv"]),
        helper.make_node("Flatten", ["conv"], ["flat"]),
        helper.make_node("Sigmoid", ["flat"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes,
        "speck",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", channels, size, size])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", len(classes)])],
        initializer=[w, b],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    helper.set_model_props(model, {"opset": str(meta_opset or opset), "classes": ",".join(classes)})
    onnx.save(model, path)
    return path


def write_manifest(onnx_path: Path, **overrides) -> Path:
    manifest = {
        "id": "test-speck",
        "version": "0.1",
        "task": "calcification",
        "file": onnx_path.name,
        "sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
        "opset": 17,
        "input": {
            "name": "input",
            "kind": "patch",
            "channels": 3,
            "slab_mm": 1.0,
            "pixel_mm": 0.1,
            "size": 16,
            "normalisation": "highpass_zscore",
        },
        "output": {"name": "output", "kind": "probability", "classes": ["calcification"]},
        "detector": {"candidate_threshold": 4.0, "min_probability": 0.3},
    }
    for key, value in overrides.items():
        if isinstance(value, dict):
            manifest[key] = {**manifest[key], **value}
        else:
            manifest[key] = value
    path = onnx_path.with_suffix(".json")
    path.write_text(json.dumps(manifest))
    return path
