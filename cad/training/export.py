"""Export a trained network to ONNX with its manifest (sha256, opset, classes) and model card."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import torch

from cad.manifest import sha256_of

__all__ = ["export_model", "OPSET"]

OPSET = 17


class _Probabilities(torch.nn.Module):
    """The network with a plain ``forward(x)`` returning probabilities (what ONNX exports)."""

    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x, logits=False)


def export_model(
    net: torch.nn.Module,
    out_dir: Path,
    *,
    name: str,
    manifest: dict,
    example: torch.Tensor,
    card_text: str,
) -> Path:
    """Write ``name.onnx``, ``name.json`` (the manifest) and ``name.md`` (the model card).

    ``manifest`` holds everything but file, sha256, opset and card, which are filled here. The
    ONNX file carries ``opset`` and ``classes`` as metadata so that a manifest mismatch shows.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / f"{name}.onnx"
    net = _Probabilities(net.eval()).eval()
    inp, outp = manifest["input"]["name"], manifest["output"]["name"]
    dyn = {inp: {0: "N"}, outp: {0: "N"}}
    if manifest["input"]["kind"] == "image":
        dyn = {inp: {0: "N", 2: "H", 3: "W"}, outp: {0: "N", 2: "H", 3: "W"}}
    torch.onnx.export(
        net,
        (example,),
        str(onnx_path),
        input_names=[inp],
        output_names=[outp],
        dynamic_axes=dyn,
        opset_version=OPSET,
        dynamo=False,
    )
    model = onnx.load(str(onnx_path))
    classes = ",".join(manifest["output"]["classes"])
    for key, value in (
        ("opset", str(OPSET)),
        ("classes", classes),
        ("id", manifest["id"]),
        ("version", manifest["version"]),
    ):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(onnx_path))
    full = {**manifest, "file": onnx_path.name, "sha256": sha256_of(onnx_path), "opset": OPSET, "card": f"{name}.md"}
    (out_dir / f"{name}.json").write_text(json.dumps(full, indent=2) + "\n")
    (out_dir / f"{name}.md").write_text(card_text)
    return out_dir / f"{name}.json"
