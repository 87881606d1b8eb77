"""What detection returns: findings with kind, place, extent and score, and a case result."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["FINDING_KINDS", "Finding", "CaseResult"]

FINDING_KINDS = ("calcification", "calcification_cluster", "mass", "architectural_distortion")


@dataclass(frozen=True)
class Finding:
    """One CAD detection.

    Parameters
    ----------
    kind : str
        One of ``FINDING_KINDS``.
    center_index : (slice, row, column)
        Centre in 0-based (fractional) voxel indices of the analysed volume; the slice is
        the focal slice, where the finding is sharpest.
    center_mm : (x, y, z)
        Centre in the detector frame, mm.
    extent_mm : (x, y, z)
        Full size of the finding's box, mm.
    score : float
        Certainty of finding, 0-100.
    model : str
        ``"id@version"`` of the model (or detector) that produced it.
    members : tuple of Finding
        For a calcification cluster, its individual calcifications.
    """

    kind: str
    center_index: tuple[float, float, float]
    center_mm: tuple[float, float, float]
    extent_mm: tuple[float, float, float]
    score: float
    model: str
    members: tuple[Finding, ...] = field(default=())

    def __post_init__(self):
        if self.kind not in FINDING_KINDS:
            raise ValueError(f"Finding: kind must be one of {FINDING_KINDS}, got {self.kind!r}")
        if not 0.0 <= float(self.score) <= 100.0:
            raise ValueError(f"Finding: score must lie in 0-100, got {self.score}")
        for name in ("center_index", "center_mm", "extent_mm"):
            value = tuple(float(v) for v in getattr(self, name))
            if len(value) != 3 or not all(np.isfinite(value)):
                raise ValueError(f"Finding: {name} must be three finite numbers, got {getattr(self, name)}")
            object.__setattr__(self, name, value)
        object.__setattr__(self, "score", float(self.score))

    @property
    def frame(self) -> int:
        """1-based frame number of the focal slice (DICOM convention)."""
        return int(round(self.center_index[0])) + 1

    def to_json(self) -> dict:
        """The finding in the JSON shape of ``crescent cad --json``."""
        out = {
            "kind": self.kind,
            "frame": self.frame,
            "row": round(self.center_index[1], 2),
            "column": round(self.center_index[2], 2),
            "center_mm": [round(v, 3) for v in self.center_mm],
            "extent_mm": [round(v, 3) for v in self.extent_mm],
            "score": round(self.score, 2),
            "model": self.model,
        }
        if self.members:
            out["members"] = [m.to_json() for m in self.members]
        return out

    @classmethod
    def from_json(cls, obj: dict) -> Finding:
        """Inverse of :meth:`to_json`."""
        return cls(
            kind=obj["kind"],
            center_index=(obj["frame"] - 1, obj["row"], obj["column"]),
            center_mm=tuple(obj["center_mm"]),
            extent_mm=tuple(obj["extent_mm"]),
            score=obj["score"],
            model=obj["model"],
            members=tuple(cls.from_json(m) for m in obj.get("members", [])),
        )


@dataclass(frozen=True)
class CaseResult:
    """All findings on one volume and the case score (0-100, the suspicion of the whole case)."""

    findings: tuple[Finding, ...]
    case_score: float
    models: tuple[str, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "findings", tuple(sorted(self.findings, key=lambda f: -f.score)))
        if not 0.0 <= float(self.case_score) <= 100.0:
            raise ValueError(f"CaseResult: case_score must lie in 0-100, got {self.case_score}")

    def of_kind(self, *kinds: str) -> list[Finding]:
        """Findings of the given kinds, highest score first."""
        return [f for f in self.findings if f.kind in kinds]

    def to_json(self) -> dict:
        """``{"case_score": .., "findings": [...], "models": [...]}``."""
        return {
            "case_score": round(float(self.case_score), 2),
            "findings": [f.to_json() for f in self.findings],
            "models": list(self.models),
        }

    @classmethod
    def from_json(cls, obj: dict) -> CaseResult:
        return cls(
            findings=tuple(Finding.from_json(f) for f in obj.get("findings", [])),
            case_score=float(obj["case_score"]),
            models=tuple(obj.get("models", ())),
        )
