"""Annotation marks: a point, ellipse or polygon drawn on one frame (slice) of one view, measured in mm.

Coordinates are stored-frame pixel coordinates ``(col, row)`` with 0-based pixel centres (see
:mod:`app.model.location`). An ellipse is kept as DICOM SR keeps it: the two end points of its major
axis followed by the two end points of its minor axis. A polygon is a closed outline of at least
three vertices (the closing edge is implied).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.model.location import view_family

MARK_KINDS = ("point", "ellipse", "polygon")


@dataclass(frozen=True)
class Mark:
    """One annotation on one frame of one image.

    Parameters
    ----------
    kind : {"point", "ellipse", "polygon"}
    points : sequence of (col, row)
        1 point, 4 ellipse axis end points, or >= 3 polygon vertices.
    view : str
        View code of the image (CC, MLO, ...).
    laterality : {"R", "L"}
    sop_instance_uid, sop_class_uid : str
        The image the mark was drawn on.
    frame : int
        0-based frame (slice) index; the DICOM frame number is ``frame + 1``.
    pixel_spacing_mm : (float, float)
        (row spacing, column spacing) of that frame.
    """

    kind: str
    points: tuple[tuple[float, float], ...]
    view: str
    laterality: str
    sop_instance_uid: str
    sop_class_uid: str
    frame: int
    pixel_spacing_mm: tuple[float, float]

    def __post_init__(self):
        if self.kind not in MARK_KINDS:
            raise ValueError(f"mark kind must be one of {MARK_KINDS}, got {self.kind!r}")
        pts = np.asarray(self.points, dtype=float)
        if pts.ndim != 2 or pts.shape[1] != 2 or not np.all(np.isfinite(pts)):
            raise ValueError(f"mark points must be (col, row) pairs of finite numbers, got {self.points!r}")
        n = len(pts)
        need = {"point": "1", "ellipse": "4", "polygon": ">= 3"}[self.kind]
        if (self.kind == "polygon" and n < 3) or (self.kind != "polygon" and n != int(need)):
            raise ValueError(f"a {self.kind} mark needs {need} points, got {n}")
        object.__setattr__(self, "points", tuple((float(c), float(r)) for c, r in pts))
        object.__setattr__(self, "view", str(self.view).upper())
        view_family(self.view)
        if self.laterality not in ("R", "L"):
            raise ValueError(f"laterality must be 'R' or 'L', got {self.laterality!r}")
        if not isinstance(self.frame, int | np.integer) or self.frame < 0:
            raise ValueError(f"frame must be a non-negative integer, got {self.frame!r}")
        object.__setattr__(self, "frame", int(self.frame))
        sp = tuple(float(s) for s in self.pixel_spacing_mm)
        if len(sp) != 2 or not all(math.isfinite(s) and s > 0 for s in sp):
            raise ValueError(f"pixel_spacing_mm must be two positive numbers, got {self.pixel_spacing_mm!r}")
        object.__setattr__(self, "pixel_spacing_mm", sp)
        for name in ("sop_instance_uid", "sop_class_uid"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name} must be a non-empty string")

    # ---- constructors --------------------------------------------------------------------

    @classmethod
    def ellipse_from_box(cls, center, radii_px, *, angle_deg: float = 0.0, **image) -> Mark:
        """An ellipse from its centre (col, row), radii (along its own axes, pixels) and rotation."""
        cx, cy = (float(x) for x in center)
        a, b = (float(r) for r in radii_px)
        if a <= 0 or b <= 0:
            raise ValueError(f"ellipse radii must be positive, got {radii_px!r}")
        if b > a:
            a, b = b, a
            angle_deg += 90.0
        t = math.radians(angle_deg)
        ux, uy = math.cos(t), math.sin(t)
        vx, vy = -uy, ux
        pts = (
            (cx - a * ux, cy - a * uy),
            (cx + a * ux, cy + a * uy),
            (cx - b * vx, cy - b * vy),
            (cx + b * vx, cy + b * vy),
        )
        return cls(kind="ellipse", points=pts, **image)

    # ---- geometry ------------------------------------------------------------------------

    @property
    def family(self) -> str:
        return view_family(self.view)

    def _mm(self) -> np.ndarray:
        p = np.asarray(self.points, dtype=float)
        return p * np.array([self.pixel_spacing_mm[1], self.pixel_spacing_mm[0]])

    @property
    def center(self) -> tuple[float, float]:
        """Centre (col, row): the point, the ellipse centre or the polygon's area centroid."""
        p = np.asarray(self.points, dtype=float)
        if self.kind == "point":
            return self.points[0]
        if self.kind == "ellipse":
            c = p[:2].mean(axis=0)
            return (float(c[0]), float(c[1]))
        x, y = p[:, 0], p[:, 1]
        xs, ys = np.roll(x, -1), np.roll(y, -1)
        cross = x * ys - xs * y
        area2 = cross.sum()
        if abs(area2) < 1e-12:
            c = p.mean(axis=0)
            return (float(c[0]), float(c[1]))
        return (float(((x + xs) * cross).sum() / (3 * area2)), float(((y + ys) * cross).sum() / (3 * area2)))

    @property
    def measurements_mm(self) -> dict[str, float]:
        """Sizes in mm (mm² for area): ellipse major/minor axis and area; polygon longest diameter, area, perimeter."""
        p = self._mm()
        if self.kind == "point":
            return {}
        if self.kind == "ellipse":
            major = float(np.hypot(*(p[1] - p[0])))
            minor = float(np.hypot(*(p[3] - p[2])))
            return {"major_axis_mm": major, "minor_axis_mm": minor, "area_mm2": math.pi * major * minor / 4.0}
        d = p[:, None, :] - p[None, :, :]
        longest = float(np.sqrt((d**2).sum(-1)).max())
        closed = np.vstack([p, p[:1]])
        perimeter = float(np.hypot(*np.diff(closed, axis=0).T).sum())
        x, y = p[:, 0], p[:, 1]
        area = float(abs((x * np.roll(y, -1) - np.roll(x, -1) * y).sum()) / 2.0)
        return {"longest_diameter_mm": longest, "area_mm2": area, "perimeter_mm": perimeter}

    @property
    def size_mm(self) -> float | None:
        """The largest dimension in mm (``None`` for a point)."""
        m = self.measurements_mm
        return m.get("major_axis_mm", m.get("longest_diameter_mm"))

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "points": [list(p) for p in self.points],
            "view": self.view,
            "laterality": self.laterality,
            "sop_instance_uid": self.sop_instance_uid,
            "sop_class_uid": self.sop_class_uid,
            "frame": self.frame,
            "pixel_spacing_mm": list(self.pixel_spacing_mm),
        }

    @classmethod
    def from_json(cls, d: dict) -> Mark:
        return cls(
            kind=d["kind"],
            points=tuple(tuple(p) for p in d["points"]),
            view=d["view"],
            laterality=d["laterality"],
            sop_instance_uid=d["sop_instance_uid"],
            sop_class_uid=d["sop_class_uid"],
            frame=int(d["frame"]),
            pixel_spacing_mm=tuple(d["pixel_spacing_mm"]),
        )
