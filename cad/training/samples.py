"""Training samples from a case: calcification candidate patches and mass heatmap targets."""

from __future__ import annotations

import numpy as np

from cad.candidates import calcification_candidates
from cad.volume_prep import extract_patches, normalise, stack_channels, to_model_grid
from recon.types import Volume

__all__ = ["CALC_INPUT", "MASS_INPUT", "true_calcifications", "calc_samples", "mass_samples"]

CALC_INPUT = {"channels": 3, "slab_mm": 1.0, "pixel_mm": 0.1, "size": 16, "candidate_threshold": 4.0}
MASS_INPUT = {"channels": 3, "slab_mm": 2.0, "pixel_mm": 0.8}


def true_calcifications(truth: dict) -> np.ndarray:
    """Centres (N, 3) mm of every calcification: singles and cluster members."""
    pts = []
    for les in truth.get("lesions", []):
        if les["kind"] == "calcification":
            pts.append(les["center_mm"])
        elif les["kind"] == "calcification_cluster":
            pts.extend(m["center_mm"] for m in les.get("members", []))
    return np.asarray(pts, dtype=np.float64).reshape(-1, 3)


def calc_samples(volume: Volume, truth: dict, *, max_candidates: int = 3000, inplane_mm=0.4, depth_mm=2.0):
    """Candidate patches with labels (1 = within ``inplane_mm``/``depth_mm`` of a true calcification)."""
    slabs, mg = to_model_grid(volume, slab_mm=CALC_INPUT["slab_mm"], pixel_mm=CALC_INPUT["pixel_mm"])
    norm = normalise(slabs, pixel_mm=CALC_INPUT["pixel_mm"])
    idx, _ = calcification_candidates(
        norm,
        pixel_mm=CALC_INPUT["pixel_mm"],
        threshold=CALC_INPUT["candidate_threshold"],
        max_candidates=max_candidates,
    )
    if len(idx) == 0:
        return np.zeros((0, 3, 16, 16), np.float32), np.zeros(0, np.float32)
    mm = volume.grid.index_to_mm(mg.to_volume_index(idx.astype(float)))
    calcs = true_calcifications(truth)
    labels = np.zeros(len(idx), np.float32)
    if len(calcs):
        d_in = np.hypot(mm[:, None, 0] - calcs[None, :, 0], mm[:, None, 1] - calcs[None, :, 1])
        d_z = np.abs(mm[:, None, 2] - calcs[None, :, 2])
        labels = np.any((d_in <= inplane_mm) & (d_z <= depth_mm), axis=1).astype(np.float32)
    patches = extract_patches(norm, idx, channels=CALC_INPUT["channels"], size=CALC_INPUT["size"])
    return patches, labels


def mass_samples(volume: Volume, truth: dict):
    """Slab stacks (S, C, H, W) and target heatmaps (S, 1, H, W) for the mass network.

    The target of a mass is a Gaussian about its centre, sigma = a quarter of its size
    in-plane, weighted in depth by a Gaussian of sigma max(size / 2, 2 mm); overlapping
    masses take the maximum.
    """
    slabs, mg = to_model_grid(volume, slab_mm=MASS_INPUT["slab_mm"], pixel_mm=MASS_INPUT["pixel_mm"])
    norm = normalise(slabs, pixel_mm=MASS_INPUT["pixel_mm"])
    ns, h, w = norm.shape
    x = np.stack([stack_channels(norm, k, MASS_INPUT["channels"]) for k in range(ns)])
    target = np.zeros((ns, 1, h, w), np.float32)
    rows, cols = np.arange(h), np.arange(w)
    for les in truth.get("lesions", []):
        if les["kind"] not in ("mass", "architectural_distortion"):
            continue
        vi = volume.grid.mm_to_index(np.asarray(les["center_mm"], float))
        k, r, c = mg.to_model_index(vi)
        size = float(les["size_mm"])
        sig = max(size / 4.0, 1.5) / MASS_INPUT["pixel_mm"]
        sig_z = max(size / 2.0, 2.0) / MASS_INPUT["slab_mm"]
        g2 = np.exp(-((rows[:, None] - r) ** 2 + (cols[None, :] - c) ** 2) / (2 * sig**2))
        for s in range(ns):
            wz = np.exp(-((s - k) ** 2) / (2 * sig_z**2))
            np.maximum(target[s, 0], (wz * g2).astype(np.float32), out=target[s, 0])
    return x, target
