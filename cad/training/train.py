"""Generate the data set, train both networks, export them, and evaluate on held-out cases."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cad.training.data import SPLITS, make_case
from cad.training.nets import CalcPatchNet, MassHeatNet
from cad.training.samples import CALC_INPUT, MASS_INPUT, calc_samples, mass_samples

__all__ = ["build_samples", "train_calc", "train_mass"]


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def build_samples(split: str, n: int, cache: Path) -> list[Path]:
    """Make (or reuse from ``cache``) the sample files of the first ``n`` cases of a split."""
    cache.mkdir(parents=True, exist_ok=True)
    out = []
    for seed in list(SPLITS[split])[:n]:
        path = cache / f"{split}_{seed}.npz"
        if not path.exists():
            t0 = time.perf_counter()
            case = make_case(seed)
            cp, cl = calc_samples(case.volume, case.truth)
            mx, mt = mass_samples(case.volume, case.truth)
            tmp = path.with_suffix(".tmp.npz")
            np.savez_compressed(tmp, calc_x=cp, calc_y=cl, mass_x=mx, mass_t=mt, params=json.dumps(case.params))
            tmp.rename(path)
            _log(
                f"{split} case {seed}: {case.params['system']} {case.volume.data.shape} "
                f"{int(cl.sum())}/{len(cl)} calc candidates positive, {time.perf_counter() - t0:.1f} s"
            )
        out.append(path)
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


def train_mass(files: list[Path], val_files: list[Path], *, epochs: int = 30, seed: int = 0) -> MassHeatNet:
    """Train the mass heatmap network (focal-weighted BCE against Gaussian targets)."""
    torch.manual_seed(seed)
    data = [(torch.from_numpy(np.load(f)["mass_x"]), torch.from_numpy(np.load(f)["mass_t"])) for f in files]
    net = MassHeatNet(MASS_INPUT["channels"])
    opt = torch.optim.Adam(net.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * len(data))
    g = torch.Generator().manual_seed(seed)
    for ep in range(epochs):
        net.train()
        total = 0.0
        for i in torch.randperm(len(data), generator=g).tolist():
            x, t = data[i]
            h, w = x.shape[-2:]
            ph, pw = (-h) % 8, (-w) % 8
            x = nn.functional.pad(x, (0, pw, 0, ph))
            t = nn.functional.pad(t, (0, pw, 0, ph))
            k = int(torch.randint(8, (1,), generator=g))
            if k % 2 == 1 and h != w:  # rot90 changes the shape: use flips only then
                k -= 1
            x, t = _dihedral(x, k), _dihedral(t, k)
            z = net(x, logits=True)
            p = torch.sigmoid(z)
            bce = nn.functional.binary_cross_entropy_with_logits(z, t, reduction="none")
            weight = (1 + 20 * t) * (torch.abs(t - p) ** 2 + 0.05)
            loss = (weight * bce).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss)
        _log(f"mass epoch {ep + 1}/{epochs}: loss {total / len(data):.5f}")
    return net.eval()
