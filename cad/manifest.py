"""Model manifests: the JSON beside each ONNX model that says what it expects and returns.

A manifest (``<name>.json``) holds::

    {
      "id": "crescent-calc", "version": "1.0.0",
      "task": "calcification" | "mass",
      "file": "calc.onnx", "sha256": "<hex digest of the .onnx file>", "opset": 17,
      "input":  {"name": "input", "kind": "patch" | "image", "channels": 3,
                 "slab_mm": 1.0, "pixel_mm": 0.1, "size": 32,
                 "normalisation": "highpass_zscore", "background_mm": 2.0},
      "output": {"name": "output", "kind": "probability" | "heatmap",
                 "classes": ["calcification"]},
      "detector": {...},               # task-specific post-processing settings
      "card": "calc.md"                # the model card
    }

``input.kind`` "patch": the model scores (N, channels, size, size) patches centred on
candidates; "image": a fully convolutional model maps (N, channels, H, W) to a heatmap of the
same size. ``channels`` neighbouring slabs of ``slab_mm`` each are stacked, the centre one
being the slab scored; images are resampled to ``pixel_mm`` first. ``background_mm``
(optional, default 2) is the sigma of the background that the normalisation removes
(:func:`cad.volume_prep.normalise`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from cad.errors import ModelError

__all__ = ["ModelManifest", "load_manifest", "sha256_of", "NORMALISATIONS", "TASKS"]

TASKS = {"calcification": ("calcification",), "mass": ("mass", "architectural_distortion")}
NORMALISATIONS = ("highpass_zscore",)


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class ModelManifest:
    """A validated model manifest; ``onnx_path`` is resolved beside the manifest."""

    id: str
    version: str
    task: str
    onnx_path: Path
    sha256: str
    opset: int
    input_name: str
    input_kind: str
    channels: int
    slab_mm: float
    pixel_mm: float
    size: int
    normalisation: str
    output_name: str
    output_kind: str
    classes: tuple[str, ...]
    detector: dict = field(default_factory=dict)
    card: Path | None = None
    manifest_path: Path | None = None
    background_mm: float = 2.0

    @property
    def model_ref(self) -> str:
        """``id@version``, as recorded on every finding."""
        return f"{self.id}@{self.version}"


def _get(obj: dict, key: str, kind, where: Path, *, default=None):
    if key not in obj:
        if default is not None:
            return default
        raise ModelError(f"{where}: manifest lacks {key!r}")
    value = obj[key]
    if kind is float and isinstance(value, int):
        value = float(value)
    if not isinstance(value, kind):
        raise ModelError(f"{where}: manifest {key!r} must be {kind.__name__}, got {value!r}")
    return value


def load_manifest(path, *, check_hash: bool = True) -> ModelManifest:
    """Read and validate a model manifest.

    Parameters
    ----------
    path : str or Path
        The manifest JSON file (its ``file`` is resolved relative to it).
    check_hash : bool
        Verify the ONNX file's SHA-256 against the manifest.

    Raises
    ------
    cad.errors.ModelError
        With a message naming the file and the problem (missing file, bad JSON, missing or
        wrong key, unknown task/normalisation, hash mismatch).
    """
    path = Path(path)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: model manifest not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: not a readable JSON manifest ({exc})") from None
    if not isinstance(obj, dict):
        raise ModelError(f"{path}: manifest must be a JSON object")
    task = _get(obj, "task", str, path)
    if task not in TASKS:
        raise ModelError(f"{path}: task {task!r} is not one of {', '.join(TASKS)}")
    inp = _get(obj, "input", dict, path)
    out = _get(obj, "output", dict, path)
    onnx_path = (path.parent / _get(obj, "file", str, path)).resolve()
    if not onnx_path.is_file():
        raise ModelError(f"{path}: model file {onnx_path.name} is missing")
    digest = _get(obj, "sha256", str, path)
    if check_hash and sha256_of(onnx_path) != digest.lower():
        raise ModelError(f"{path}: sha256 of {onnx_path.name} does not match the manifest (damaged or replaced model)")
    norm = _get(inp, "normalisation", str, path)
    if norm not in NORMALISATIONS:
        raise ModelError(f"{path}: input normalisation {norm!r} is not one of {', '.join(NORMALISATIONS)}")
    input_kind = _get(inp, "kind", str, path)
    if input_kind not in ("patch", "image"):
        raise ModelError(f"{path}: input kind {input_kind!r} must be 'patch' or 'image'")
    output_kind = _get(out, "kind", str, path)
    if output_kind not in ("probability", "heatmap"):
        raise ModelError(f"{path}: output kind {output_kind!r} must be 'probability' or 'heatmap'")
    classes = tuple(_get(out, "classes", list, path))
    unknown = [c for c in classes if c not in TASKS[task]]
    if not classes or unknown:
        raise ModelError(f"{path}: output classes {list(classes)} do not fit task {task!r} ({', '.join(TASKS[task])})")
    card = obj.get("card")
    manifest = ModelManifest(
        id=_get(obj, "id", str, path),
        version=_get(obj, "version", str, path),
        task=task,
        onnx_path=onnx_path,
        sha256=digest.lower(),
        opset=_get(obj, "opset", int, path),
        input_name=_get(inp, "name", str, path),
        input_kind=input_kind,
        channels=_get(inp, "channels", int, path),
        slab_mm=_get(inp, "slab_mm", float, path),
        pixel_mm=_get(inp, "pixel_mm", float, path),
        size=_get(inp, "size", int, path, default=0),
        normalisation=norm,
        output_name=_get(out, "name", str, path),
        output_kind=output_kind,
        classes=classes,
        detector=obj.get("detector", {}) or {},
        card=(path.parent / card) if card else None,
        manifest_path=path,
        background_mm=_get(inp, "background_mm", float, path, default=2.0),
    )
    if manifest.channels < 1 or manifest.channels % 2 == 0:
        raise ModelError(f"{path}: input channels must be odd and >= 1, got {manifest.channels}")
    if manifest.slab_mm <= 0 or manifest.pixel_mm <= 0:
        raise ModelError(f"{path}: input slab_mm and pixel_mm must be > 0")
    if manifest.background_mm <= 0:
        raise ModelError(f"{path}: input background_mm must be > 0, got {manifest.background_mm}")
    if input_kind == "patch" and manifest.size < 4:
        raise ModelError(f"{path}: a patch model needs input size >= 4, got {manifest.size}")
    return manifest
