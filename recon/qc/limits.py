"""Thresholds of the acquisition checks, in one place, with the reason for each.

Every figure here is a default a site may change (``crescent qc --limits FILE.json`` in the app).
Where a figure comes from a published protocol the docstring says so; the others are engineering
choices, explained, and marked as such.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

__all__ = ["QCLimits"]


@dataclass(frozen=True)
class QCLimits:
    """Warn/fail thresholds of the acquisition checks.

    Protocol conformance
        ``angle_warn_deg`` / ``angle_fail_deg``: largest difference between a projection's stated
        angle and the system preset's (0.25 / 0.5 degrees). Engineering choice: the finest
        angular step of the presets is 1 degree (Hologic, 15 views over 15 degrees), so half a
        step is a certain mismatch and a quarter step a likely one.
        ``geometry_consistency_deg``: largest difference between a stated angle and the angle of
        the source position it comes with (0.1 degree): both describe the same tube position.
        ``gap_factor``: a step between consecutive angles larger than this multiple of the median
        step means a missing projection (1.5: a missing view doubles the step).
        ``duplicate_factor``: a step smaller than this fraction of the median step is a duplicate.
    Exposure
        ``exposure_warn`` / ``exposure_fail``: relative deviation of a projection's detector signal
        from the signal predicted from its angle (and mAs), 10 % / 20 %. Engineering choice: the
        per-projection signal of a constant-output sweep follows its obliquity within a few per
        cent, and a 20 % step is well beyond tube-output reproducibility; a 30 % under-exposure fails.
        ``dropped_fraction``: a projection whose signal is below this fraction of the prediction
        (0.2) is reported as dropped (blank frame) rather than under-exposed.
        ``saturation_warn`` / ``saturation_fail``: fraction of breast pixels at the detector's
        maximum (0.1 % / 1 %), and the same fractions for pixels clipped at zero.
    Motion
        ``motion_warn_mm`` / ``motion_fail_mm``: displacement of the breast between projections,
        in mm at the breast (0.5 / 1.0 mm). Engineering choice tied to the objects that matter:
        the smallest calcification specks of the accreditation phantoms are 0.14-0.5 mm, so a
        shift of 0.5 mm doubles or smears them, and 1 mm blurs a whole cluster.
        ``motion_min_features``: fewest tracked features for a motion estimate (3).
    Detector
        ``defect_sigma``: a pixel or line is defective when it departs from its neighbours by this
        many robust standard deviations (8) ...
        ``defect_view_fraction``: ... at the same detector position in at least this fraction of the
        projections (0.8): the breast moves across the detector during the sweep, a defect does not.
        ``defect_warn_pixels``: isolated defective pixels tolerated before a warning (0: any
        defective line fails, any defective pixel warns).
        ``uniformity_warn`` / ``uniformity_fail``: largest relative deviation of a flat-field ROI
        mean from the image mean (5 % / 10 %); engineering choice pending the site physicist's
        protocol (EUREF/EFOMP figures unverified here).
    Dose
        ``dose_warn_mgy`` / ``dose_fail_mgy``: average glandular dose of one DBT view (the whole
        sweep). 3.0 mGy is the MQSA limit for the standard breast that the ACR 2018 manual applies
        to DBT too (clinical.md section 7); 2.5 mGy is the EUREF 2D "acceptable" level for a 53 mm
        breast, used as the warning level. Both are defined for standard breasts, not patients.
        ``dose_header_tolerance``: relative difference between our estimate and the header's
        Organ Dose that warns (0.25): the methods differ (Osteras et al. 2018) but not by more.
    """

    angle_warn_deg: float = 0.25
    angle_fail_deg: float = 0.5
    geometry_consistency_deg: float = 0.1
    gap_factor: float = 1.5
    duplicate_factor: float = 0.25
    exposure_warn: float = 0.10
    exposure_fail: float = 0.20
    dropped_fraction: float = 0.2
    saturation_warn: float = 0.001
    saturation_fail: float = 0.01
    motion_warn_mm: float = 0.5
    motion_fail_mm: float = 1.0
    motion_min_features: int = 3
    defect_sigma: float = 8.0
    defect_view_fraction: float = 0.8
    defect_warn_pixels: int = 0
    uniformity_warn: float = 0.05
    uniformity_fail: float = 0.10
    dose_warn_mgy: float = 2.5
    dose_fail_mgy: float = 3.0
    dose_header_tolerance: float = 0.25

    def __post_init__(self):
        for f in fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, (int, float)) or v != v or v < 0:
                raise ValueError(f"QCLimits: {f.name} must be a non-negative number, got {v!r}")
        pairs = [
            ("angle_warn_deg", "angle_fail_deg"),
            ("exposure_warn", "exposure_fail"),
            ("saturation_warn", "saturation_fail"),
            ("motion_warn_mm", "motion_fail_mm"),
            ("uniformity_warn", "uniformity_fail"),
            ("dose_warn_mgy", "dose_fail_mgy"),
        ]
        for w, f in pairs:
            if getattr(self, w) > getattr(self, f):
                raise ValueError(f"QCLimits: {w} ({getattr(self, w)}) must not exceed {f} ({getattr(self, f)})")
        if not 0 < self.defect_view_fraction <= 1:
            raise ValueError(f"QCLimits: defect_view_fraction must lie in (0, 1], got {self.defect_view_fraction}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> QCLimits:
        """Defaults overridden by the keys of ``d``; unknown keys are an error (a typo must not pass)."""
        if not isinstance(d, dict):
            raise TypeError("QCLimits.from_dict: expected a dict")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"QCLimits: unknown limit(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**d)
