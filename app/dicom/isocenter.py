"""Projection geometry <-> the Breast X-Ray Isocenter Reference System (PS3.3 C.8.31.6).

The isocenter frame (O, X, Y, Z) is fixed to the equipment: X from gantry left to gantry
right, Y from gantry front to rear (the tube's axis of rotation, parallel to our x, chest wall
-> nipple), Z up. With the C-arm at 0 degrees (CC) our axes map to it as X = -y, Y = x, Z = z;
for other views the whole C-arm, breast support included, is turned about Y by the Breast
Support Isocenter Primary Angle. The isocenter O is the tube's pivot.

What we write per projection (all exact, doubles):

* X-Ray Source Isocenter Primary/Secondary Angle (As1, As2) and Distance Source to Isocenter:
  the source lies at ``DSI * (sin As1 cos As2, sin As2, cos As1 cos As2)``.
* Detector Isocenter Primary/Secondary Angle (Ad1, Ad2): the detector normal, same formula;
  the detector frame (Xd, Yd, Zd) is ``R_Y(Ad1) @ R_X(Ad2)``.
* Detector X/Y/Z Position to Isocenter: the Detector Reference Point Od, which we put at the
  origin of our detector frame (middle of the chest-wall edge of the nominal detector surface;
  the tilting detector of a Hologic-like system turns about a line through it).
* Detector Active Area TLHC Position and Orientation: centre of the first stored pixel and the
  row / column direction cosines, in the detector frame.
* Breast Support X/Y/Z Position to Isocenter: the point of the support surface above Od.

Reading inverts this: our origin is Od, our axes are the isocenter axes turned back by the
breast-support angle. Stored pixels are flipped back so that columns run toward +x and rows
toward +y.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ViewPose", "encode_view", "decode_view", "M_ISO_FROM_OURS"]

#: iso = M @ ours for the C-arm at 0 degrees.
M_ISO_FROM_OURS = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


def rot_y(deg: float) -> np.ndarray:
    """Rotation about Y taking +Z toward +X for positive angles."""
    a = np.deg2rad(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rot_x(deg: float) -> np.ndarray:
    """Rotation about X taking +Z toward +Y for positive angles."""
    a = np.deg2rad(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def direction_angles(d: np.ndarray) -> tuple[float, float]:
    """(primary, secondary) angles in degrees of a unit direction in the isocenter frame."""
    d = d / np.linalg.norm(d)
    return float(np.degrees(np.arctan2(d[0], d[2]))), float(np.degrees(np.arcsin(np.clip(d[1], -1.0, 1.0))))


def angles_direction(primary_deg: float, secondary_deg: float) -> np.ndarray:
    """Unit direction of (primary, secondary) angles; the inverse of :func:`direction_angles`."""
    return rot_y(primary_deg) @ rot_x(secondary_deg) @ np.array([0.0, 0.0, 1.0])


@dataclass(frozen=True)
class ViewPose:
    """The isocenter attributes of one projection (angles in degrees, distances in mm)."""

    source_primary_deg: float
    source_secondary_deg: float
    source_to_isocenter_mm: float
    detector_primary_deg: float
    detector_secondary_deg: float
    detector_position_mm: tuple[float, float, float]
    tlhc_mm: tuple[float, float, float]
    orientation: tuple[float, float, float, float, float, float]
    support_primary_deg: float
    support_position_mm: tuple[float, float, float]


def encode_view(
    geometry,
    view: int,
    *,
    flip_rows: bool,
    flip_cols: bool,
    gantry_deg: float = 0.0,
) -> ViewPose:
    """Isocenter attributes of view ``view`` of a :class:`recon.Geometry`.

    ``flip_rows``/``flip_cols`` say how the stored pixels are reversed relative to the
    geometry's pixel order; ``gantry_deg`` is the C-arm (breast support) rotation.
    """
    pivot = float(geometry.pivot_height_mm or 0.0)
    r = rot_y(gantry_deg) @ M_ISO_FROM_OURS
    iso_origin_ours = np.array([0.0, 0.0, pivot])

    def pos(p):
        return r @ (np.asarray(p, float) - iso_origin_ours)

    src = pos(geometry.source_mm[view])
    dsi = float(np.linalg.norm(src))
    as1, as2 = direction_angles(src)
    normal = r @ geometry.detector_normal[view]
    ad1, ad2 = direction_angles(normal)
    r_det = rot_y(ad1) @ rot_x(ad2)
    od = pos(np.zeros(3))
    nv, nu = geometry.detector_shape
    dv, du = geometry.pixel_mm
    u, v = geometry.detector_u_dir[view], geometry.detector_v_dir[view]
    r0 = nv - 1 if flip_rows else 0
    c0 = nu - 1 if flip_cols else 0
    c00 = geometry.detector_origin_mm[view] + (c0 + 0.5) * du * u + (r0 + 0.5) * dv * v
    row_dir = -u if flip_cols else u
    col_dir = -v if flip_rows else v
    tlhc = r_det.T @ (pos(c00) - od)
    orient = np.concatenate([r_det.T @ (r @ row_dir), r_det.T @ (r @ col_dir)])
    support = pos(np.array([0.0, 0.0, float(geometry.support_height_mm)]))
    return ViewPose(
        source_primary_deg=as1,
        source_secondary_deg=as2,
        source_to_isocenter_mm=dsi,
        detector_primary_deg=ad1,
        detector_secondary_deg=ad2,
        detector_position_mm=tuple(float(x) for x in od),
        tlhc_mm=tuple(float(x) for x in tlhc),
        orientation=tuple(float(x) for x in orient),
        support_primary_deg=float(gantry_deg),
        support_position_mm=tuple(float(x) for x in support),
    )


@dataclass(frozen=True)
class DecodedView:
    """One projection's pose in our detector frame, in the geometry's pixel order."""

    source_mm: np.ndarray
    origin_mm: np.ndarray
    u_dir: np.ndarray
    v_dir: np.ndarray
    flip_rows: bool
    flip_cols: bool
    pivot_height_mm: float
    support_height_mm: float


def decode_view(pose: ViewPose, *, rows: int, columns: int, pixel_mm: tuple[float, float]) -> DecodedView:
    """Our frame's source and detector pose of one projection from its isocenter attributes.

    ``pixel_mm`` is (row pitch, column pitch) of the stored image.
    """
    r = rot_y(pose.support_primary_deg) @ M_ISO_FROM_OURS
    od = np.asarray(pose.detector_position_mm, float)

    def ours(p_iso):
        return r.T @ (np.asarray(p_iso, float) - od)

    def ours_dir(d_iso):
        return r.T @ np.asarray(d_iso, float)

    src = ours(pose.source_to_isocenter_mm * angles_direction(pose.source_primary_deg, pose.source_secondary_deg))
    r_det = rot_y(pose.detector_primary_deg) @ rot_x(pose.detector_secondary_deg)
    c00 = ours(od + r_det @ np.asarray(pose.tlhc_mm, float))
    o = np.asarray(pose.orientation, float)
    row_dir = ours_dir(r_det @ o[:3])
    col_dir = ours_dir(r_det @ o[3:])
    row_dir /= np.linalg.norm(row_dir)
    col_dir /= np.linalg.norm(col_dir)
    flip_cols = bool(row_dir[0] < 0)
    flip_rows = bool(col_dir[1] < 0)
    dv, du = pixel_mm
    first = c00 + (columns - 1 if flip_cols else 0) * du * row_dir + (rows - 1 if flip_rows else 0) * dv * col_dir
    u = -row_dir if flip_cols else row_dir
    v = -col_dir if flip_rows else col_dir
    origin = first - 0.5 * du * u - 0.5 * dv * v
    pivot = float(ours(np.zeros(3))[2])
    support = float(ours(pose.support_position_mm)[2])
    return DecodedView(src, origin, u, v, flip_rows, flip_cols, pivot, support)
