"""Detection on a DBT volume: ONNX models (or the classical baseline) in, a CaseResult out."""

from __future__ import annotations

import importlib.resources
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cad.candidates import calcification_candidates
from cad.classical import detect_classical
from cad.clustering import cluster_calcifications
from cad.errors import ModelError
from cad.manifest import ModelManifest, load_manifest
from cad.onnx_model import OnnxModel
from cad.peaks import local_maxima, nms_3d
from cad.types import CaseResult, Finding
from cad.volume_prep import extract_patches, normalise, stack_channels, to_model_grid
from recon.errors import check_cancel
from recon.types import Volume

__all__ = ["detect", "shipped_manifests", "resolve_models"]


def shipped_manifests() -> list[Path]:
    """Manifests of the models shipped in ``resources/models`` (installed package data): the
    JSON files with a same-named ``.onnx`` beside them."""
    root = importlib.resources.files("crescent_resources") / "models"
    if not root.is_dir():
        return []
    names = {p.name for p in root.iterdir()}
    # a manifest is a JSON file with an ONNX model of the same name beside it
    return sorted(Path(str(root / n)) for n in names if n.endswith(".json") and n[: -len(".json")] + ".onnx" in names)


def resolve_models(models) -> list[ModelManifest] | str:
    """``"default"`` (the shipped models, or the classical detector if none are shipped),
    ``"classical"``, or a sequence of manifests / manifest paths."""
    if isinstance(models, str) and models == "classical":
        return "classical"
    if isinstance(models, str) and models == "default":
        paths = shipped_manifests()
        return [load_manifest(p) for p in paths] if paths else "classical"
    if isinstance(models, (str, Path, ModelManifest)):
        models = [models]
    out = []
    for m in models:
        out.append(m if isinstance(m, ModelManifest) else load_manifest(m))
    if not out:
        raise ModelError("no models given")
    return out


def _calcifications(volume: Volume, manifest: ModelManifest, model: OnnxModel) -> list[Finding]:
    d = manifest.detector
    slabs, mg = to_model_grid(volume, slab_mm=manifest.slab_mm, pixel_mm=manifest.pixel_mm)
    norm = normalise(
        slabs, pixel_mm=manifest.pixel_mm, method=manifest.normalisation, background_mm=manifest.background_mm
    )
    idx, _ = calcification_candidates(
        norm,
        pixel_mm=manifest.pixel_mm,
        threshold=float(d.get("candidate_threshold", 4.0)),
        max_candidates=int(d.get("max_candidates", 3000)),
    )
    if len(idx) == 0:
        return []
    patches = extract_patches(norm, idx, channels=manifest.channels, size=manifest.size)
    prob = model.run(patches)[:, 0]
    if manifest.output_kind == "heatmap":
        raise ModelError(f"{manifest.manifest_path}: a patch model must output probabilities")
    keep = prob >= float(d.get("min_probability", 0.05))
    idx, prob = idx[keep], prob[keep]
    vidx = mg.to_volume_index(idx.astype(float))
    mm = volume.grid.index_to_mm(vidx)
    order = nms_3d(mm, prob, radius_mm=(float(d.get("nms_inplane_mm", 0.4)), float(d.get("nms_depth_mm", 3.0))))
    ref = manifest.model_ref
    size = float(d.get("calc_size_mm", 0.3))
    return [
        Finding("calcification", tuple(vidx[i]), tuple(mm[i]), (size, size, manifest.slab_mm), 100.0 * prob[i], ref)
        for i in order
    ]


def _masses(volume: Volume, manifest: ModelManifest, model: OnnxModel) -> list[Finding]:
    d = manifest.detector
    slabs, mg = to_model_grid(volume, slab_mm=manifest.slab_mm, pixel_mm=manifest.pixel_mm)
    norm = normalise(
        slabs, pixel_mm=manifest.pixel_mm, method=manifest.normalisation, background_mm=manifest.background_mm
    )
    mult = int(d.get("size_multiple", 8))
    h, w = norm.shape[1:]
    ph, pw = (-h) % mult, (-w) % mult
    batch = np.stack([stack_channels(norm, k, manifest.channels) for k in range(norm.shape[0])])
    batch = np.pad(batch, ((0, 0), (0, 0), (0, ph), (0, pw)))
    heat = model.run(batch, max_batch=8)[:, 0, :h, :w]
    if manifest.output_kind != "heatmap":
        raise ModelError(f"{manifest.manifest_path}: an image model must output a heatmap")
    fk = max(3, int(round(float(d.get("peak_inplane_mm", 6.0)) / manifest.pixel_mm)) | 1)
    idx, val = local_maxima(heat, threshold=float(d.get("min_probability", 0.05)), footprint=(3, fk, fk), max_peaks=200)
    if len(idx) == 0:
        return []
    vidx = mg.to_volume_index(idx.astype(float))
    mm = volume.grid.index_to_mm(vidx)
    order = nms_3d(mm, val, radius_mm=(float(d.get("nms_inplane_mm", 8.0)), float(d.get("nms_depth_mm", 12.0))))
    order = order[: int(d.get("max_findings", 10))]
    size = float(d.get("mass_size_mm", 10.0))
    ref = manifest.model_ref
    return [Finding("mass", tuple(vidx[i]), tuple(mm[i]), (size, size, size), 100.0 * val[i], ref) for i in order]


def detect(
    volume: Volume,
    *,
    models: str | Sequence = "default",
    threads: int = 2,
    progress=None,
    cancel=None,
) -> CaseResult:
    """Detect calcification clusters and masses in a reconstructed DBT volume.

    Parameters
    ----------
    volume : recon.Volume
        The volume (1/mm, slice 0 nearest the breast support) with its grid.
    models : "default", "classical", or sequence of manifests / manifest paths
        "default" uses the models shipped in ``resources/models`` (the classical detector if
        none are shipped); a user's own model comes with its manifest.
    threads : int
        onnxruntime intra-op threads.
    progress : callable, optional
        ``progress(done, total, message)``.
    cancel : object with ``is_set()``, optional
        Cancellation flag; raises ``recon.errors.Cancelled``.

    Returns
    -------
    CaseResult
        Findings (individual calcifications grouped into clusters; masses) with scores 0-100
        and the case score (the highest finding score). Deterministic for a given input.
    """
    if not isinstance(volume, Volume):
        raise TypeError(f"detect: expected a recon.Volume, got {type(volume).__name__}")
    resolved = resolve_models(models)
    if resolved == "classical":
        if progress:
            progress(0, 1, "classical detector")
        result = detect_classical(volume)
        if progress:
            progress(1, 1, "done")
        return result
    findings: list[Finding] = []
    refs = []
    for i, manifest in enumerate(resolved):
        check_cancel(cancel)
        if progress:
            progress(i, len(resolved), f"{manifest.id} ({manifest.task})")
        model = OnnxModel(manifest, threads=threads)
        refs.append(manifest.model_ref)
        if manifest.task == "calcification":
            calcs = _calcifications(volume, manifest, model)
            d = manifest.detector
            findings += cluster_calcifications(
                calcs,
                link_mm=float(d.get("cluster_link_mm", 5.0)),
                depth_scale=float(d.get("cluster_depth_scale", 1.0)),
                min_members=int(d.get("cluster_min_members", 3)),
                evidence_scale=float(d.get("cluster_evidence_scale", 2.5)),
                model=manifest.model_ref,
            )
        else:
            findings += _masses(volume, manifest, model)
    if progress:
        progress(len(resolved), len(resolved), "done")
    case_score = max((f.score for f in findings), default=0.0)
    return CaseResult(tuple(findings), case_score, tuple(refs))
