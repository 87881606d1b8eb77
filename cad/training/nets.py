"""The two small networks: a calcification patch classifier and a mass heatmap network."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["CalcPatchNet", "MassHeatNet"]


class CalcPatchNet(nn.Module):
    """(N, C, P, P) patches centred on candidates -> (N, 1) probability of a calcification."""

    def __init__(self, channels: int = 3, width: int = 24):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(channels, w, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(w, w, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(2 * w, 2 * w, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
        )
        self.head = nn.Linear(2 * w, 1)

    def forward(self, x, *, logits: bool = False):
        z = self.head(torch.flatten(self.features(x), 1))
        return z if logits else torch.sigmoid(z)


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class MassHeatNet(nn.Module):
    """A small U-Net: (N, C, H, W) slab stacks -> (N, 1, H, W) mass-centre heatmap (H, W multiples of 8)."""

    def __init__(self, channels: int = 3, width: int = 16):
        super().__init__()
        w = width
        self.e1, self.e2, self.e3 = _block(channels, w), _block(w, 2 * w), _block(2 * w, 4 * w)
        self.bottom = _block(4 * w, 4 * w)
        self.pool = nn.MaxPool2d(2)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.d3, self.d2, self.d1 = _block(8 * w, 2 * w), _block(4 * w, w), _block(2 * w, w)
        self.out = nn.Conv2d(w, 1, 1)

    def forward(self, x, *, logits: bool = False):
        e1 = self.e1(x)
        e2 = self.e2(self.pool(e1))
        e3 = self.e3(self.pool(e2))
        b = self.bottom(self.pool(e3))
        d3 = self.d3(torch.cat([self.up(b), e3], 1))
        d2 = self.d2(torch.cat([self.up(d3), e2], 1))
        d1 = self.d1(torch.cat([self.up(d2), e1], 1))
        z = self.out(d1)
        return z if logits else torch.sigmoid(z)
