"""Defensive attribute access for readers: every failure becomes a one-line InputError.

Real archives hold malformed values; a reader must name the file and the attribute instead of
raising whatever pydicom or numpy happened to raise.
"""

from __future__ import annotations

import math
from pathlib import Path

from pydicom.dataset import Dataset

from app.errors import InputError

__all__ = [
    "get_value",
    "get_text",
    "get_float",
    "get_int",
    "get_floats",
    "require_float",
    "require_int",
    "require_floats",
    "functional_group",
    "first_item",
]

_MISSING = object()


def _raw(ds: Dataset, keyword: str):
    try:
        if keyword not in ds:
            return _MISSING
        value = ds[keyword].value
    except Exception:  # malformed element: treat as unreadable
        return _MISSING
    if value is None or value == "" or (hasattr(value, "__len__") and len(value) == 0 and not isinstance(value, str)):
        return _MISSING
    return value


def get_value(ds: Dataset | None, keyword: str, default=None):
    """The value of ``keyword`` or ``default`` when absent, empty or undecodable."""
    if ds is None:
        return default
    value = _raw(ds, keyword)
    return default if value is _MISSING else value


def get_text(ds: Dataset | None, keyword: str, default: str = "") -> str:
    """A string value (first value of a multi-valued one), stripped."""
    value = get_value(ds, keyword, None)
    if value is None:
        return default
    try:
        if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
            value = value[0] if len(value) else default
        return str(value).strip()
    except Exception:
        return default


def get_floats(ds: Dataset | None, keyword: str) -> list[float] | None:
    """All values as finite floats, or None when absent or not numeric."""
    value = get_value(ds, keyword, None)
    if value is None:
        return None
    try:
        values = list(value) if (isinstance(value, list | tuple) or type(value).__name__ == "MultiValue") else [value]
        out = [float(v) for v in values]
    except Exception:
        return None
    if not out or not all(math.isfinite(v) for v in out):
        return None
    return out


def get_float(ds: Dataset | None, keyword: str, default: float | None = None) -> float | None:
    values = get_floats(ds, keyword)
    return values[0] if values else default


def get_int(ds: Dataset | None, keyword: str, default: int | None = None) -> int | None:
    value = get_float(ds, keyword, None)
    if value is None or value != int(value):
        return default
    return int(value)


def _where(path, frame: int | None) -> str:
    where = str(path) if path is not None else "<dataset>"
    return f"{where} (frame {frame + 1})" if frame is not None else where


def require_float(ds, keyword: str, path: Path | str | None, *, frame: int | None = None, positive=False) -> float:
    """A float value or an InputError naming the file, frame and attribute."""
    value = get_float(ds, keyword, None)
    if value is None:
        raw = get_value(ds, keyword, None)
        what = "missing" if raw is None else f"invalid value {str(raw)[:40]!r}"
        raise InputError(f"{_where(path, frame)}: {keyword} is {what}")
    if positive and not value > 0:
        raise InputError(f"{_where(path, frame)}: {keyword} must be positive, got {value}")
    return value


def require_int(ds, keyword: str, path, *, frame: int | None = None, minimum: int | None = None) -> int:
    value = require_float(ds, keyword, path, frame=frame)
    if value != int(value) or (minimum is not None and value < minimum):
        raise InputError(f"{_where(path, frame)}: {keyword} has invalid value {value}")
    return int(value)


def require_floats(ds, keyword: str, path, n: int, *, frame: int | None = None) -> list[float]:
    values = get_floats(ds, keyword)
    if values is None or len(values) != n:
        raw = get_value(ds, keyword, None)
        what = "missing" if raw is None else f"invalid value {str(raw)[:60]!r} (need {n} numbers)"
        raise InputError(f"{_where(path, frame)}: {keyword} is {what}")
    return values


def first_item(ds: Dataset | None, keyword: str) -> Dataset | None:
    """The first item of a sequence, or None."""
    seq = get_value(ds, keyword, None)
    try:
        if seq is None or len(seq) == 0:
            return None
        item = seq[0]
    except Exception:
        return None
    return item if isinstance(item, Dataset) else None


def functional_group(ds: Dataset, frame: int, keyword: str) -> Dataset | None:
    """The item of functional-group sequence ``keyword`` that applies to ``frame`` (0-based).

    Per-frame groups override shared ones (PS3.3 C.7.6.16). None when neither has it.
    """
    per_frame = get_value(ds, "PerFrameFunctionalGroupsSequence", None)
    try:
        if per_frame is not None and frame < len(per_frame):
            item = first_item(per_frame[frame], keyword)
            if item is not None:
                return item
    except Exception:
        pass
    shared = first_item(ds, "SharedFunctionalGroupsSequence")
    return first_item(shared, keyword)
