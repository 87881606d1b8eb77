"""Generate the data set and train both networks.

The mass network learns from random crops, a third of them centred near a mass, and their
flips/rotations (:class:`cad.training.samples.MassCropSampler`): whole-slab batches, where
mass pixels are a thousandth of the image, taught the first model a near-constant map. Its
loss is the penalty-reduced focal loss of CenterNet (Zhou et al., "Objects as Points", 2019)
against Gaussian centre heatmaps.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cad.peaks import local_maxima
from cad.training.data import MASS_RECIPE, RECIPE, SPLITS, make_case
from cad.training.nets import CalcPatchNet, MassHeatNet
from cad.training.samples import (
    CALC_INPUT,
    MASS_INPUT,
    MassCase,
    MassCropSampler,
    calc_samples,
    mass_case,
)
from cad.volume_prep import stack_channels

__all__ = ["build_samples", "load_mass_cases", "train_calc", "train_mass", "focal_loss", "mass_heatmap", "false_peaks"]


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _fresh(path: Path, calc: bool) -> bool:
    """Whether a cached sample file has what is asked for, made with today's mass input spec."""
    if not path.exists():
        return False
    with np.load(path) as d:
        if calc and "calc_x" not in d.files:
            return False
        return "mass_spec" in d.files and json.loads(str(d["mass_spec"])) == MASS_INPUT


def build_samples(split: str, n: int, cache: Path, *, calc: bool = True) -> list[Path]:
    """Make (or reuse from ``cache``) the sample files of the first ``n`` cases of a split.

    Each file holds the mass network's slabs and mass positions (:func:`mass_case`) and, when
    ``calc``, the calcification candidate patches and labels. The ``mass_train`` split is drawn
    from :data:`MASS_RECIPE`, the others from :data:`RECIPE`.
    """
    cache.mkdir(parents=True, exist_ok=True)
    recipe = MASS_RECIPE if split == "mass_train" else RECIPE
    out = []
    for seed in list(SPLITS[split])[:n]:
        path = cache / f"{split}_{seed}.npz"
        if not _fresh(path, calc):
            t0 = time.perf_counter()
            case = make_case(seed, recipe=recipe)
            mc = mass_case(case.volume, case.truth)
            arrays = {"mass_slabs": mc.slabs, "mass_masses": mc.masses, "mass_spec": json.dumps(MASS_INPUT)}
            if calc:
                arrays["calc_x"], arrays["calc_y"] = calc_samples(case.volume, case.truth)
            tmp = path.with_suffix(".tmp.npz")
            np.savez_compressed(tmp, params=json.dumps(case.params), **arrays)
            tmp.rename(path)
            _log(
                f"{split} case {seed}: {case.params['system']} {case.volume.data.shape}, "
                f"{len(mc.masses)} masses, {time.perf_counter() - t0:.1f} s"
            )
        out.append(path)
    return out


def load_mass_cases(files: list[Path]) -> list[MassCase]:
    """The :class:`MassCase` of each sample file."""
    out = []
    for f in files:
        with np.load(f) as d:
            out.append(MassCase(d["mass_slabs"], d["mass_masses"]))
    return out


def _dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    if k >= 4:
        x = torch.flip(x, dims=(-1,))
    return torch.rot90(x, k % 4, dims=(-2, -1))


def train_calc(files: list[Path], val_files: list[Path], *, epochs: int = 8, seed: int = 0) -> CalcPatchNet:
    """Train the calcification patch classifier (BCE, balanced batches, dihedral augmentation)."""
    torch.manual_seed(seed)
    xs, ys = [], []
    for f in files:
        d = np.load(f)
        xs.append(d["calc_x"])
        ys.append(d["calc_y"])
    x = torch.from_numpy(np.concatenate(xs))
    y = torch.from_numpy(np.concatenate(ys))
    pos = torch.nonzero(y > 0.5).flatten()
    neg = torch.nonzero(y < 0.5).flatten()
    _log(f"calc: {len(pos)} positive, {len(neg)} negative candidate patches")
    net = CalcPatchNet(CALC_INPUT["channels"])
    opt = torch.optim.Adam(net.parameters(), lr=2e-3, weight_decay=1e-4)
    loss_fn = nn.BCEWithLogitsLoss()
    g = torch.Generator().manual_seed(seed)
    steps = min(400, max(50, len(neg) // 128))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * steps)
    for ep in range(epochs):
        net.train()
        total = 0.0
        for _ in range(steps):
            bi = torch.cat(
                [pos[torch.randint(len(pos), (64,), generator=g)], neg[torch.randint(len(neg), (64,), generator=g)]]
            )
            xb, yb = x[bi], y[bi]
            xb = _dihedral(xb, int(torch.randint(8, (1,), generator=g)))
            loss = loss_fn(net(xb, logits=True)[:, 0], yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss)
        _log(f"calc epoch {ep + 1}/{epochs}: loss {total / steps:.4f} {_calc_val(net, val_files)}")
    return net.eval()


def _calc_val(net, files) -> str:
    if not files:
        return ""
    xs, ys = zip(*[(np.load(f)["calc_x"], np.load(f)["calc_y"]) for f in files], strict=True)
    x, y = torch.from_numpy(np.concatenate(xs)), np.concatenate(ys)
    with torch.no_grad():
        p = net.eval()(x)[:, 0].numpy()
    tp = np.mean(p[y > 0.5] > 0.5) if np.any(y > 0.5) else float("nan")
    fp = np.mean(p[y < 0.5] > 0.5)
    return f"| val: sensitivity {tp:.3f} at candidate FP rate {fp:.4f}"


def focal_loss(logits: torch.Tensor, target: torch.Tensor, *, peak: float = 0.9) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss; pixels with target >= ``peak`` are positives."""
    pos = (target >= peak).float()
    logp = nn.functional.logsigmoid(logits)
    log1mp = nn.functional.logsigmoid(-logits)
    p = torch.exp(logp)
    pos_loss = -((1 - p) ** 2 * logp * pos).sum()
    neg_loss = -((1 - target) ** 4 * p**2 * log1mp * (1 - pos)).sum()
    return (pos_loss + neg_loss) / pos.sum().clamp(min=1.0)


def mass_heatmap(net: MassHeatNet, case: MassCase, channels: int, *, max_batch: int = 8) -> np.ndarray:
    """The network's heatmap (S, H, W) over every slab of a case, padded as the detector pads."""
    ns, h, w = case.slabs.shape
    ph, pw = (-h) % 8, (-w) % 8
    out = np.empty((ns, h, w), np.float32)
    with torch.no_grad():
        for k0 in range(0, ns, max_batch):
            x = np.stack([stack_channels(case.slabs, k, channels) for k in range(k0, min(ns, k0 + max_batch))])
            x = np.pad(x, ((0, 0), (0, 0), (0, ph), (0, pw)))
            out[k0 : k0 + len(x)] = net(torch.from_numpy(x))[:, 0, :h, :w].numpy()
    return out


def false_peaks(
    net: MassHeatNet, cases: list[MassCase], *, spec: dict = MASS_INPUT, threshold: float = 0.1, per_case: int = 20
) -> list[tuple[int, np.ndarray]]:
    """Heatmap peaks away from every mass (more than max(size, 6 mm) in-plane or 3 slabs in depth)."""
    was_training = net.training
    net.eval()
    fk = int(round(6.0 / spec["pixel_mm"])) | 1
    spots = []
    for i, case in enumerate(cases):
        heat = mass_heatmap(net, case, spec["channels"])
        idx, _ = local_maxima(heat, threshold=threshold, footprint=(3, fk, fk), max_peaks=4 * per_case)
        keep = []
        for k, r, c in idx:
            near = [
                abs(k - mk) <= 3 and np.hypot(r - mr, c - mc) <= max(size, 6.0) / spec["pixel_mm"]
                for mk, mr, mc, size in case.masses
            ]
            if not any(near):
                keep.append((i, np.array((k, r, c), dtype=float)))
        spots += keep[:per_case]
    net.train(was_training)
    return spots


def train_mass(
    cases: list[MassCase],
    *,
    spec: dict = MASS_INPUT,
    steps: int = 3000,
    batch: int = 24,
    crop: int = 80,
    positive_fraction: float = 1 / 3,
    lr: float = 2e-3,
    width: int = 24,
    seed: int = 0,
    log_every: int = 200,
    mine_at: float | None = None,
    hard_fraction: float = 1 / 3,
) -> MassHeatNet:
    """Train the mass heatmap network on random crops of ``cases`` (Adam, one-cycle schedule).

    With ``mine_at`` (a fraction of ``steps``), the network's false peaks on the training
    cases at that point become hard negatives, ``hard_fraction`` of every later batch.
    """
    torch.manual_seed(seed)
    sampler = MassCropSampler(cases, spec=spec, size=crop, rng=seed)
    net = MassHeatNet(spec["channels"], width=width)
    with torch.no_grad():
        net.out.bias.fill_(-2.19)  # start at p = 0.1 (CenterNet's prior)
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    net.train()
    total, t0 = 0.0, time.perf_counter()
    for step in range(1, steps + 1):
        if mine_at is not None and step == int(mine_at * steps):
            sampler.set_hard_negatives(false_peaks(net, cases, spec=spec))
            _log(f"mass step {step}: {len(sampler.hard)} hard negatives ({time.perf_counter() - t0:.0f} s)")
        x, t = (torch.from_numpy(a) for a in sampler.batch(batch, positive_fraction, hard_fraction))
        loss = focal_loss(net(x, logits=True), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        total += loss.item()
        if step % log_every == 0:
            _log(f"mass step {step}/{steps}: loss {total / log_every:.4f} ({time.perf_counter() - t0:.0f} s)")
            total = 0.0
    return net.eval()
