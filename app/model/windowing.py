"""Window/level: automatic windows from the histogram and named presets."""

from __future__ import annotations

import numpy as np

__all__ = ["auto_window", "preset_window", "PRESET_NAMES"]

PRESET_NAMES = ("default", "auto", "wide", "narrow")


def auto_window(
    data: np.ndarray, *, low_percentile: float = 0.5, high_percentile: float = 99.5, max_samples: int = 262_144
) -> tuple[float, float]:
    """(centre, width) spanning the ``low``–``high`` percentiles of the tissue values.

    Background (the value that fills more than 20 % of the samples, typically 0 air/padding)
    is left out so that the window covers the breast. Large arrays are subsampled with a
    fixed stride, so the result is deterministic.

    Parameters
    ----------
    data : numpy array
        Any shape; not modified.
    low_percentile, high_percentile : float
        Percentiles (0–100) of the window edges.
    max_samples : int
        At most this many values are examined.
    """
    arr = np.asarray(data)
    if arr.size == 0:
        raise ValueError("auto_window: empty image")
    if not 0 <= low_percentile < high_percentile <= 100:
        raise ValueError(
            f"auto_window: percentiles must satisfy 0 <= low < high <= 100, got {low_percentile}, {high_percentile}"
        )
    flat = arr.reshape(-1)
    stride = max(1, flat.size // int(max_samples))
    sample = flat[::stride].astype(np.float64)
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return 0.0, 1.0
    values, counts = np.unique(sample, return_counts=True)
    mode_idx = int(np.argmax(counts))
    if counts[mode_idx] > 0.2 * sample.size and values.size > 1:
        sample = sample[sample != values[mode_idx]]
    lo, hi = np.percentile(sample, [low_percentile, high_percentile])
    if not hi > lo:
        hi = lo + (abs(lo) * 1e-3 or 1.0)
    return float((lo + hi) / 2), float(hi - lo)


def preset_window(name: str, *, auto: tuple[float, float], default: tuple[float, float] | None) -> tuple[float, float]:
    """The (centre, width) of a named preset.

    ``default`` is the image's own window (DICOM VOI), falling back to ``auto``; ``wide``
    doubles the auto width (dense tissue, skin line); ``narrow`` halves it and raises the
    level by a quarter width (calcifications and spiculations stand out).
    """
    c, w = auto
    if name == "default":
        return default if default is not None else auto
    if name == "auto":
        return c, w
    if name == "wide":
        return c, 2.0 * w
    if name == "narrow":
        return c + 0.25 * w, 0.5 * w
    raise ValueError(f"unknown window preset {name!r}; known: {', '.join(PRESET_NAMES)}")
