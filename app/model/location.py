"""Where a finding lies in the breast: laterality, quadrant, clock face, depth, distance from the nipple.

Coordinates
-----------
Marks are placed in *stored-frame pixel coordinates* ``(col, row)`` of the DICOM frame they were
drawn on (0-based pixel centres, the frame exactly as stored; the viewer undoes its own display
flips). A :class:`BreastGeometry` says, for one view, where the nipple is, which pixel direction points
toward the chest wall (posterior) and which points lateral (CC-type views) or superior (MLO/ML-type
views). :meth:`BreastGeometry.from_patient_orientation` reads the last two from Patient Orientation
(0020,0020), e.g. R CC ``P\\L``: columns increase toward the chest wall, rows toward the patient's
left, which is medial for a right breast.

Method
------
For each view the offset of the finding from the nipple is split, in mm, into a posterior component
(toward the chest wall) and a transverse component (lateral on CC, superior on MLO/ML).

* **Depth**: the posterior component as a fraction of the nipple-to-chest-wall distance
  (the image edge on the chest-wall side unless the reader gives the pectoral line):
  < 1/3 anterior, < 2/3 middle, otherwise posterior. With two views the fractions are averaged.
* **Distance from the nipple**: the in-plane distance nipple to finding centre, in cm (the mean over
  the views that show the finding).
* **Clock face and quadrant** need the finding on both views: the CC gives the medial/lateral offset
  ``u`` (lateral positive), the MLO gives the superior/inferior offset ``v`` (superior positive). The
  MLO is treated as a true lateral by default; with ``obliquity_deg`` (the angle between the MLO's
  "up" axis and the true vertical) the MLO offset ``s = v cos θ + u sin θ`` is solved for ``v``.
  The clock is read **as the viewer facing the patient**: 12 o'clock superior, the right breast's
  lateral side at 9 o'clock and the left breast's at 3 o'clock, so the two breasts are mirror images
  (upper outer quadrant = 9-12 o'clock on the right, 12-3 o'clock on the left). The angle
  ``atan2(x, v)`` with ``x = -u`` (right) or ``x = u`` (left), measured clockwise from 12, is rounded
  to the nearest hour. Quadrant: upper/lower from the sign of ``v``, outer/inner from the sign of ``u``.
* Findings within ``central_radius_mm`` of the nipple axis (in the coronal plane) get a region
  instead of a clock position: *retroareolar* at anterior depth, *central* otherwise.
* With one view only, the half (lateral/medial or superior/inferior) is given, quadrant and clock
  are left for the reader.

Every derived value can be corrected by the reader (:class:`LocationCorrection`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import numpy as np

CC_FAMILY = frozenset({"CC", "XCCL", "XCCM", "FB"})
ML_FAMILY = frozenset({"MLO", "ML", "LM", "LMO", "SIO", "ISO"})
QUADRANTS = ("UOQ", "UIQ", "LOQ", "LIQ")
REGIONS = ("retroareolar", "central", "axillary_tail")
DEPTHS = ("anterior", "middle", "posterior")


def view_family(view: str) -> str:
    """``"CC"`` for cranio-caudal-type views, ``"ML"`` for (medio)lateral/oblique views."""
    v = str(view).upper()
    if v in CC_FAMILY:
        return "CC"
    if v in ML_FAMILY:
        return "ML"
    raise ValueError(f"unknown mammographic view {view!r}; valid: {', '.join(sorted(CC_FAMILY | ML_FAMILY))}")


def _unit(v) -> tuple[float, float]:
    a = np.asarray(v, dtype=float)
    if a.shape != (2,) or not np.all(np.isfinite(a)):
        raise ValueError(f"direction must be two finite numbers, got {v!r}")
    n = float(np.hypot(*a))
    if n == 0:
        raise ValueError("direction must not be zero")
    return (float(a[0] / n), float(a[1] / n))


@dataclass(frozen=True)
class BreastGeometry:
    """Landmarks of one view, in stored-frame pixel coordinates ``(col, row)``.

    Parameters
    ----------
    laterality : {"R", "L"}
    view : str
        View code (CC, MLO, ML, LM, XCCL, ...).
    pixel_spacing_mm : (float, float)
        (row spacing, column spacing) in mm, as DICOM Pixel Spacing.
    nipple_px : (float, float)
        Nipple position (col, row).
    posterior_dir : (float, float)
        Direction (dcol, drow) from the nipple toward the chest wall.
    transverse_dir : (float, float)
        Direction (dcol, drow) toward lateral (CC family) or superior (ML family).
    chest_wall_distance_mm : float
        Nipple-to-chest-wall (or pectoral line) distance along ``posterior_dir``.
    obliquity_deg : float
        ML family only: angle between the image's superior axis and the true vertical (0 = true lateral).
    """

    laterality: str
    view: str
    pixel_spacing_mm: tuple[float, float]
    nipple_px: tuple[float, float]
    posterior_dir: tuple[float, float]
    transverse_dir: tuple[float, float]
    chest_wall_distance_mm: float
    obliquity_deg: float = 0.0

    def __post_init__(self):
        if self.laterality not in ("R", "L"):
            raise ValueError(f"laterality must be 'R' or 'L', got {self.laterality!r}")
        object.__setattr__(self, "view", str(self.view).upper())
        view_family(self.view)
        sp = tuple(float(s) for s in self.pixel_spacing_mm)
        if len(sp) != 2 or not all(math.isfinite(s) and s > 0 for s in sp):
            raise ValueError(f"pixel_spacing_mm must be two positive numbers, got {self.pixel_spacing_mm!r}")
        object.__setattr__(self, "pixel_spacing_mm", sp)
        nip = tuple(float(s) for s in self.nipple_px)
        if len(nip) != 2 or not all(math.isfinite(s) for s in nip):
            raise ValueError(f"nipple_px must be (col, row), got {self.nipple_px!r}")
        object.__setattr__(self, "nipple_px", nip)
        object.__setattr__(self, "posterior_dir", _unit(self.posterior_dir))
        object.__setattr__(self, "transverse_dir", _unit(self.transverse_dir))
        if abs(np.dot(self.posterior_dir, self.transverse_dir)) > 1e-6:
            raise ValueError("posterior_dir and transverse_dir must be perpendicular")
        if not (math.isfinite(self.chest_wall_distance_mm) and self.chest_wall_distance_mm > 0):
            raise ValueError(f"chest_wall_distance_mm must be positive, got {self.chest_wall_distance_mm!r}")
        if not (0 <= self.obliquity_deg < 90):
            raise ValueError(f"obliquity_deg must be in [0, 90), got {self.obliquity_deg!r}")

    @property
    def family(self) -> str:
        return view_family(self.view)

    def offsets_mm(self, point_px) -> tuple[float, float]:
        """(posterior, transverse) offsets in mm of ``point_px`` (col, row) from the nipple."""
        col, row = (float(x) for x in point_px)
        dc = (col - self.nipple_px[0]) * self.pixel_spacing_mm[1]
        dr = (row - self.nipple_px[1]) * self.pixel_spacing_mm[0]
        post = dc * self.posterior_dir[0] + dr * self.posterior_dir[1]
        trans = dc * self.transverse_dir[0] + dr * self.transverse_dir[1]
        return post, trans

    @classmethod
    def from_patient_orientation(
        cls,
        laterality: str,
        view: str,
        patient_orientation,
        *,
        rows: int,
        columns: int,
        pixel_spacing_mm,
        nipple_px,
        chest_wall_distance_mm: float | None = None,
        obliquity_deg: float = 0.0,
    ) -> BreastGeometry:
        """Build the geometry from Patient Orientation (0020,0020) of the stored frame.

        The chest wall defaults to the image edge on the posterior side.
        """
        po = patient_orientation
        if isinstance(po, str):
            po = po.split("\\")
        po = [str(p).upper() for p in po]
        if len(po) != 2:
            raise ValueError(f"Patient Orientation must have two values, got {patient_orientation!r}")
        col_dir, row_dir = po
        if "P" in col_dir or "A" in col_dir:
            posterior = (1.0 if "P" in col_dir else -1.0, 0.0)
            other, other_axis = row_dir, 1
        elif "P" in row_dir or "A" in row_dir:
            posterior = (0.0, 1.0 if "P" in row_dir else -1.0)
            other, other_axis = col_dir, 0
        else:
            raise ValueError(f"Patient Orientation {patient_orientation!r} has no anterior/posterior axis")
        fam = view_family(view)
        if fam == "CC":
            lateral_letter, medial_letter = ("R", "L") if laterality == "R" else ("L", "R")
            if lateral_letter in other:
                sign = 1.0
            elif medial_letter in other:
                sign = -1.0
            else:
                raise ValueError(f"Patient Orientation {patient_orientation!r} has no left/right axis for a CC view")
        else:
            if "H" in other:
                sign = 1.0
            elif "F" in other:
                sign = -1.0
            else:
                raise ValueError(f"Patient Orientation {patient_orientation!r} has no head/foot axis for an {view}")
        transverse = (sign, 0.0) if other_axis == 0 else (0.0, sign)
        if chest_wall_distance_mm is None:
            row_sp, col_sp = (float(s) for s in pixel_spacing_mm)
            nc, nr = (float(x) for x in nipple_px)
            if posterior[0] > 0:
                chest_wall_distance_mm = (columns - 0.5 - nc) * col_sp
            elif posterior[0] < 0:
                chest_wall_distance_mm = (nc + 0.5) * col_sp
            elif posterior[1] > 0:
                chest_wall_distance_mm = (rows - 0.5 - nr) * row_sp
            else:
                chest_wall_distance_mm = (nr + 0.5) * row_sp
        return cls(
            laterality=laterality,
            view=view,
            pixel_spacing_mm=tuple(pixel_spacing_mm),
            nipple_px=tuple(nipple_px),
            posterior_dir=posterior,
            transverse_dir=transverse,
            chest_wall_distance_mm=float(chest_wall_distance_mm),
            obliquity_deg=obliquity_deg,
        )


@dataclass(frozen=True)
class Location:
    """A finding's location. Every field may be ``None`` when it cannot be derived."""

    laterality: str | None = None
    quadrant: str | None = None
    clock: int | None = None
    region: str | None = None
    depth: str | None = None
    distance_from_nipple_cm: float | None = None
    lateral_medial: str | None = None  # "lateral" | "medial" (from a CC-type view)
    superior_inferior: str | None = None  # "superior" | "inferior" (from an ML-type view)

    def __post_init__(self):
        if self.laterality not in (None, "R", "L"):
            raise ValueError(f"laterality must be 'R' or 'L', got {self.laterality!r}")
        if self.quadrant not in (None, *QUADRANTS):
            raise ValueError(f"quadrant must be one of {QUADRANTS}, got {self.quadrant!r}")
        if self.clock is not None and (not isinstance(self.clock, int) or not 1 <= self.clock <= 12):
            raise ValueError(f"clock must be an hour 1-12, got {self.clock!r}")
        if self.region not in (None, *REGIONS):
            raise ValueError(f"region must be one of {REGIONS}, got {self.region!r}")
        if self.depth not in (None, *DEPTHS):
            raise ValueError(f"depth must be one of {DEPTHS}, got {self.depth!r}")
        d = self.distance_from_nipple_cm
        if d is not None and not (math.isfinite(d) and d >= 0):
            raise ValueError(f"distance_from_nipple_cm must be a non-negative number, got {d!r}")

    def to_json(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, d: dict | None) -> Location:
        return cls(**(d or {}))


@dataclass(frozen=True)
class LocationCorrection(Location):
    """The reader's corrections: every non-``None`` field overrides the derived value."""

    def apply_to(self, derived: Location) -> Location:
        changes = {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}
        return replace(derived, **changes)

    @property
    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))


def clock_hour(laterality: str, lateral_mm: float, superior_mm: float) -> int:
    """Clock position (1-12) seen by a viewer facing the patient.

    ``lateral_mm`` is positive toward the patient's side of this breast (away from the midline),
    ``superior_mm`` positive toward the head.
    """
    if laterality not in ("R", "L"):
        raise ValueError(f"laterality must be 'R' or 'L', got {laterality!r}")
    x = -lateral_mm if laterality == "R" else lateral_mm  # toward the viewer's right
    angle = math.degrees(math.atan2(x, superior_mm)) % 360.0
    hour = int(math.floor(angle / 30.0 + 0.5)) % 12
    return 12 if hour == 0 else hour


def quadrant_of(lateral_mm: float, superior_mm: float) -> str:
    """UOQ/UIQ/LOQ/LIQ from the lateral and superior offsets (same for both breasts)."""
    return ("U" if superior_mm >= 0 else "L") + ("O" if lateral_mm >= 0 else "I") + "Q"


def _depth_of(fraction: float) -> str:
    if fraction < 1.0 / 3.0:
        return "anterior"
    if fraction < 2.0 / 3.0:
        return "middle"
    return "posterior"


def derive_location(
    points: dict[str, tuple[float, float]],
    geometries: dict[str, BreastGeometry],
    *,
    central_radius_mm: float = 10.0,
) -> Location:
    """Derive a finding's location from its centre on one or two views.

    Parameters
    ----------
    points : dict
        View family (``"CC"``/``"ML"``) or view code -> finding centre (col, row) on that view.
    geometries : dict
        The same keys -> :class:`BreastGeometry` of that view.
    central_radius_mm : float
        Coronal distance from the nipple axis under which the finding is central/retroareolar.

    Returns
    -------
    Location
    """
    if not isinstance(points, dict) or not isinstance(geometries, dict):
        raise TypeError("points and geometries must be dicts keyed by view")
    if not points:
        return Location()
    lat = None
    lateral = superior = None
    fractions, distances = [], []
    ml_offsets = None
    for key, pt in points.items():
        if key not in geometries:
            raise ValueError(f"no view geometry for {key!r}")
        g = geometries[key]
        if lat is not None and g.laterality != lat:
            raise ValueError("a finding's views must be of the same breast")
        lat = g.laterality
        post, trans = g.offsets_mm(pt)
        fractions.append(max(0.0, post) / g.chest_wall_distance_mm)
        distances.append(math.hypot(post, trans))
        if g.family == "CC":
            lateral = trans
        else:
            ml_offsets = (trans, g.obliquity_deg)
    if ml_offsets is not None:
        s, theta = ml_offsets
        t = math.radians(theta)
        superior = (s - (lateral or 0.0) * math.sin(t)) / math.cos(t) if lateral is not None else s / math.cos(t)
    depth = _depth_of(float(np.mean(fractions)))
    loc = Location(
        laterality=lat,
        depth=depth,
        distance_from_nipple_cm=round(float(np.mean(distances)) / 10.0, 2),
        lateral_medial=None if lateral is None else ("lateral" if lateral >= 0 else "medial"),
        superior_inferior=None if superior is None else ("superior" if superior >= 0 else "inferior"),
    )
    if lateral is not None and superior is not None:
        if math.hypot(lateral, superior) < central_radius_mm:
            return replace(loc, region="retroareolar" if depth == "anterior" else "central")
        return replace(loc, clock=clock_hour(lat, lateral, superior), quadrant=quadrant_of(lateral, superior))
    return loc


def estimate_nipple_px(image: np.ndarray, posterior_dir, *, threshold: float | None = None) -> tuple[float, float]:
    """Estimate the nipple (col, row) as the breast point farthest from the chest wall.

    The breast is the set of pixels above ``threshold`` (Otsu's threshold by default); the nipple is
    the middle of the breast pixels whose anterior extent is within one pixel of the maximum.
    """
    a = np.asarray(image)
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"image must be a non-empty 2-D array, got shape {a.shape}")
    pdir = _unit(posterior_dir)
    if threshold is None:
        from skimage.filters import threshold_otsu

        threshold = float(threshold_otsu(a.astype(np.float32)))
    rows, cols = np.nonzero(a > threshold)
    if rows.size == 0:
        raise ValueError("no breast pixels above the threshold")
    anterior = -(cols * pdir[0] + rows * pdir[1])
    sel = anterior >= anterior.max() - 1.0
    return (float(np.median(cols[sel])), float(np.median(rows[sel])))
