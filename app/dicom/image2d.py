"""A 2D mammogram as the readers return it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Mammogram"]


@dataclass(frozen=True, eq=False)
class Mammogram:
    """One 2D mammogram (FFDM or synthetic 2D).

    Parameters
    ----------
    data : float32 array (rows, columns)
        In our order: rows along y (along the chest wall), columns from the chest wall toward
        the nipple; values after the Modality LUT / rescale.
    pixel_mm : (float, float)
        (row pitch, column pitch), mm (Imager Pixel Spacing, or Pixel Spacing).
    metadata : dict
        ``study``, ``laterality``, ``view``, ``patient_orientation``, ``window`` (centre,
        width in data units), ``presentation_intent``, ``synthetic`` (bool), UIDs.
    """

    data: np.ndarray
    pixel_mm: tuple[float, float]
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.data, np.ndarray) or self.data.dtype != np.float32 or self.data.ndim != 2:
            raise TypeError("Mammogram.data must be a 2D float32 numpy array")
        pitch = tuple(float(p) for p in self.pixel_mm)
        if len(pitch) != 2 or not all(np.isfinite(p) and p > 0 for p in pitch):
            raise ValueError(f"Mammogram.pixel_mm must be two positive sizes, got {self.pixel_mm}")
        object.__setattr__(self, "pixel_mm", pitch)
