"""QC check results: one :class:`CheckResult` per check, gathered in a :class:`QCReport`.

The JSON shape (``QCReport.to_dict``) is the one ``crescent qc --json`` writes::

    {"status": "pass" | "warn" | "fail",
     "checks": [{"name", "status", "value", "limit", "detail", "views": [...], "data": {...}}],
     "not_run": [{"name", "reason"}]}

``views`` are 0-based projection indices; ``data`` holds the per-view series the report plots.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["STATUSES", "CheckResult", "NotAssessable", "QCReport", "worst_status"]

STATUSES = ("pass", "warn", "fail")
_RANK = {s: i for i, s in enumerate(STATUSES)}


class NotAssessable(Exception):
    """A check cannot run on this input (no features, no raw signal, no dose attributes); the message says why."""


def worst_status(statuses) -> str:
    """The most severe of the given statuses (``pass`` when there are none)."""
    worst = "pass"
    for s in statuses:
        if s not in _RANK:
            raise ValueError(f"unknown QC status {s!r}; expected one of {STATUSES}")
        if _RANK[s] > _RANK[worst]:
            worst = s
    return worst


def _plain(value):
    """numpy scalars/arrays and tuples to JSON-ready Python values (floats rounded to 6 significant digits)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if not np.isfinite(v):
            return None
        return float(f"{v:.6g}")
    return value


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one QC check.

    Parameters
    ----------
    name : str
        Stable identifier, e.g. ``"exposure"`` or ``"motion"``.
    status : {"pass", "warn", "fail"}
    value : float, int, str, list or None
        The measured quantity (units in ``detail`` or the check's documentation).
    limit : float, str, dict or None
        The threshold(s) the value was judged against.
    detail : str
        One or two sentences for the technologist: what was found and where.
    views : list of int
        0-based projections the finding concerns (empty when it concerns none or all).
    data : dict
        Series for plots (per-view values, predictions); JSON-ready after ``to_dict``.
    needs_confirmation : bool
        True when a person must confirm the automatic estimate (positioning).
    """

    name: str
    status: str
    value: object = None
    limit: object = None
    detail: str = ""
    views: tuple = ()
    data: dict = field(default_factory=dict)
    needs_confirmation: bool = False

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("CheckResult: name must be a non-empty string")
        if self.status not in _RANK:
            raise ValueError(f"CheckResult {self.name}: status must be one of {STATUSES}, got {self.status!r}")
        object.__setattr__(self, "views", tuple(int(v) for v in self.views))

    def to_dict(self) -> dict:
        out = {
            "name": self.name,
            "status": self.status,
            "value": _plain(self.value),
            "limit": _plain(self.limit),
            "detail": self.detail,
            "views": list(self.views),
        }
        if self.data:
            out["data"] = _plain(self.data)
        if self.needs_confirmation:
            out["needs_confirmation"] = True
        return out

    @classmethod
    def from_dict(cls, d: dict) -> CheckResult:
        return cls(
            name=d["name"],
            status=d["status"],
            value=d.get("value"),
            limit=d.get("limit"),
            detail=d.get("detail", ""),
            views=tuple(d.get("views", ())),
            data=dict(d.get("data", {})),
            needs_confirmation=bool(d.get("needs_confirmation", False)),
        )


@dataclass(frozen=True)
class QCReport:
    """All checks of one acquisition (or one phantom session) with the overall status."""

    checks: tuple = ()
    not_run: tuple = ()  # (name, reason) pairs
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        checks = tuple(self.checks)
        for c in checks:
            if not isinstance(c, CheckResult):
                raise TypeError("QCReport.checks must hold CheckResult objects")
        object.__setattr__(self, "checks", checks)
        object.__setattr__(self, "not_run", tuple((str(n), str(r)) for n, r in self.not_run))

    @property
    def status(self) -> str:
        """Worst status over the checks."""
        return worst_status(c.status for c in self.checks)

    def check(self, name: str) -> CheckResult:
        """The check with this name (KeyError when it did not run)."""
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def flagged_views(self) -> dict[int, list[str]]:
        """For each flagged projection, the names of the non-passing checks that name it."""
        out: dict[int, list[str]] = {}
        for c in self.checks:
            if c.status == "pass":
                continue
            for v in c.views:
                out.setdefault(v, []).append(c.name)
        return out

    def to_dict(self) -> dict:
        out = {
            "status": self.status,
            "checks": [c.to_dict() for c in self.checks],
            "not_run": [{"name": n, "reason": r} for n, r in self.not_run],
        }
        if self.metadata:
            out["metadata"] = _plain(self.metadata)
        return out

    @classmethod
    def from_dict(cls, d: dict) -> QCReport:
        return cls(
            checks=tuple(CheckResult.from_dict(c) for c in d.get("checks", [])),
            not_run=tuple((n["name"], n["reason"]) for n in d.get("not_run", [])),
            metadata=dict(d.get("metadata", {})),
        )
