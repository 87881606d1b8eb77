"""Training samples from a case: calcification candidate patches; mass slabs, heatmaps and crops.

Numpy only (no torch), so that what the networks learn from can be tested without the
``train`` extra.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cad.candidates import calcification_candidates
from cad.volume_prep import extract_patches, normalise, stack_channels, to_model_grid
from recon.types import Volume

__all__ = [
    "CALC_INPUT",
    "MASS_INPUT",
    "true_calcifications",
    "calc_samples",
    "MassCase",
    "mass_case",
    "mass_targets",
    "MassCropSampler",
]

CALC_INPUT = {"channels": 3, "slab_mm": 1.0, "pixel_mm": 0.1, "size": 16, "candidate_threshold": 4.0}
MASS_INPUT = {"channels": 5, "slab_mm": 2.0, "pixel_mm": 0.6, "background_mm": 8.0}
"""The mass network's input: 5 slabs of 2 mm (10 mm of depth), 0.6 mm pixels (0.8 mm lost a
tenth of the validation masses at 1 FP per volume), a background of
sigma 8 mm removed (a mass is 5-14 mm across: the 2 mm background of the calcification model
leaves only its rim)."""


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


@dataclass(frozen=True)
class MassCase:
    """One case on the mass model's grid.

    Attributes
    ----------
    slabs : float32 (S, H, W)
        Normalised slabs.
    masses : float64 (M, 4)
        Per mass: slab, row, column (model-grid indices, fractional) and size in mm.
    """

    slabs: np.ndarray
    masses: np.ndarray


def mass_case(volume: Volume, truth: dict, spec: dict = MASS_INPUT) -> MassCase:
    """The model-grid slabs of ``volume`` and the positions of its masses (and distortions)."""
    slabs, mg = to_model_grid(volume, slab_mm=spec["slab_mm"], pixel_mm=spec["pixel_mm"])
    norm = normalise(slabs, pixel_mm=spec["pixel_mm"], background_mm=spec["background_mm"])
    rows = []
    for les in truth.get("lesions", []):
        if les["kind"] in ("mass", "architectural_distortion"):
            k, r, c = mg.to_model_index(volume.grid.mm_to_index(np.asarray(les["center_mm"], float)))
            rows.append((k, r, c, float(les["size_mm"])))
    return MassCase(norm, np.asarray(rows, dtype=np.float64).reshape(-1, 4))


def mass_targets(case: MassCase, spec: dict = MASS_INPUT) -> np.ndarray:
    """Centre heatmap (S, H, W): per mass a Gaussian of in-plane sigma max(size / 4, 1.5 mm)
    and depth sigma max(size / 2, 2 mm), peak 1; overlapping masses take the maximum."""
    ns, h, w = case.slabs.shape
    t = np.zeros((ns, h, w), np.float32)
    rr, cc, ss = np.arange(h)[:, None], np.arange(w)[None, :], np.arange(ns)
    for k, r, c, size in case.masses:
        sig = max(size / 4.0, 1.5) / spec["pixel_mm"]
        sig_z = max(size / 2.0, 2.0) / spec["slab_mm"]
        g2 = np.exp(-((rr - r) ** 2 + (cc - c) ** 2) / (2 * sig**2))
        wz = np.exp(-((ss - k) ** 2) / (2 * sig_z**2))
        np.maximum(t, (wz[:, None, None] * g2[None]).astype(np.float32), out=t)
    return t


class MassCropSampler:
    """Random (channels, size, size) crops of the cases' slabs with their target heatmaps.

    ``batch(n, positive_fraction, hard_fraction)`` draws ``positive_fraction`` of the crops
    about a mass (in its slab or one either side, the mass anywhere in the middle two thirds
    of the crop), ``hard_fraction`` about the hard negatives set by ``set_hard_negatives``
    (false peaks of a network in training), and the rest anywhere, then turns the whole batch
    by one of the 8 flips/rotations. Slabs are zero-padded by half a crop, as the detector
    pads images.
    """

    def __init__(self, cases: list[MassCase], *, spec: dict = MASS_INPUT, size: int = 64, rng=None):
        rng = np.random.default_rng(rng)
        self.spec, self.size, self.rng, self.pad = spec, size, rng, size // 2
        p = self.pad
        self.x = [np.pad(c.slabs, ((0, 0), (p, p), (p, p))) for c in cases]
        self.t = [np.pad(mass_targets(c, spec), ((0, 0), (p, p), (p, p))) for c in cases]
        self.masses = [(i, m) for i, c in enumerate(cases) for m in c.masses]
        self.hard: list[tuple[int, np.ndarray]] = []

    def set_hard_negatives(self, spots: list[tuple[int, np.ndarray]]) -> None:
        """Set the hard negatives: (case index, (slab, row, column)) on the unpadded grid."""
        self.hard = list(spots)

    def crop(self, i: int, k: int, r0: int, c0: int):
        s = self.size
        x = stack_channels(self.x[i], k, self.spec["channels"])[:, r0 : r0 + s, c0 : c0 + s]
        return x, self.t[i][k, r0 : r0 + s, c0 : c0 + s]

    def positive(self):
        i, (k, r, c, _) = self.masses[self.rng.integers(len(self.masses))]
        return self._about(i, k, r, c)

    def hard_negative(self):
        i, (k, r, c) = self.hard[self.rng.integers(len(self.hard))]
        return self._about(i, k, r, c)

    def _about(self, i: int, k: float, r: float, c: float):
        ns = self.x[i].shape[0]
        k = int(np.clip(round(k) + self.rng.integers(-1, 2), 0, ns - 1))
        h, w = self.x[i].shape[1:]
        shift = self.rng.integers(-self.size // 3, self.size // 3 + 1, 2)
        r0 = int(np.clip(round(r) + self.pad - self.size // 2 + shift[0], 0, h - self.size))
        c0 = int(np.clip(round(c) + self.pad - self.size // 2 + shift[1], 0, w - self.size))
        return self.crop(i, k, r0, c0)

    def anywhere(self):
        i = int(self.rng.integers(len(self.x)))
        ns, h, w = self.x[i].shape
        k, r0, c0 = (int(self.rng.integers(m)) for m in (ns, h - self.size + 1, w - self.size + 1))
        return self.crop(i, k, r0, c0)

    def batch(self, n: int, positive_fraction: float, hard_fraction: float = 0.0):
        npos = int(round(n * positive_fraction)) if self.masses else 0
        nhard = min(int(round(n * hard_fraction)), n - npos) if self.hard else 0
        items = [self.positive() for _ in range(npos)] + [self.hard_negative() for _ in range(nhard)]
        items += [self.anywhere() for _ in range(n - npos - nhard)]
        x = np.stack([a for a, _ in items])
        t = np.stack([b for _, b in items])[:, None]
        k = int(self.rng.integers(8))
        x, t = np.rot90(x, k % 4, axes=(-2, -1)), np.rot90(t, k % 4, axes=(-2, -1))
        if k >= 4:
            x, t = x[..., ::-1], t[..., ::-1]
        return np.ascontiguousarray(x, dtype=np.float32), np.ascontiguousarray(t, dtype=np.float32)
