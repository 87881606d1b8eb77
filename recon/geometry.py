"""Acquisition geometry of a DBT system: where the source and the detector are, per view.

All positions are in mm in the detector frame of DESIGN.md: origin at the middle of the
detector's chest-wall edge on its surface, x from the chest wall toward the nipple, y along
the chest wall (the direction the tube moves), z up toward the source.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Geometry", "arc_geometry"]


def _as_vectors(name: str, value, n_views: int) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape == (3,):
        arr = np.broadcast_to(arr, (n_views, 3))
    if arr.shape != (n_views, 3):
        raise ValueError(f"Geometry: {name} must have shape ({n_views}, 3), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"Geometry: {name} contains non-finite values")
    out = np.array(arr, dtype=np.float64)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class Geometry:
    """Per-view source position and detector pose of a tomosynthesis acquisition.

    Parameters
    ----------
    source_mm : array (views, 3)
        Focal spot position (x, y, z) for each view, mm.
    detector_origin_mm : array (views, 3)
        Outer corner of detector pixel (row 0, column 0) for each view, mm.
    detector_u_dir : array (views, 3) or (3,)
        Unit vector along increasing column index (x, chest wall toward nipple).
    detector_v_dir : array (views, 3) or (3,)
        Unit vector along increasing row index (y, the tube-motion direction).
    pixel_mm : (float, float)
        Pixel pitch (row pitch along v, column pitch along u), mm.
    detector_shape : (int, int)
        Detector size (rows nv, columns nu).
    angles_rad : array (views,)
        Nominal tube angle of each view, radians; positive = source toward +y.
    name : str
        System or preset name, for display and provenance.
    support_height_mm : float
        Height of the breast support (top of the cover) above the detector surface: the
        air gap. Slices start here by default.
    pivot_height_mm, source_to_detector_mm : float or None
        Arc parameters when the geometry was built from an arc (None otherwise).

    Notes
    -----
    The centre of pixel (r, c) lies at
    ``origin + (c + 0.5) * pixel_mm[1] * u_dir + (r + 0.5) * pixel_mm[0] * v_dir``.
    The geometry is validated once, here; it is immutable afterwards.
    """

    source_mm: np.ndarray
    detector_origin_mm: np.ndarray
    detector_u_dir: np.ndarray
    detector_v_dir: np.ndarray
    pixel_mm: tuple[float, float]
    detector_shape: tuple[int, int]
    angles_rad: np.ndarray
    name: str = "custom"
    support_height_mm: float = 0.0
    pivot_height_mm: float | None = None
    source_to_detector_mm: float | None = None
    _normal: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        angles = np.asarray(self.angles_rad, dtype=np.float64).reshape(-1)
        n = angles.size
        if n < 1:
            raise ValueError("Geometry: at least one view is needed")
        if not np.all(np.isfinite(angles)):
            raise ValueError("Geometry: angles_rad contains non-finite values")
        angles = angles.copy()
        angles.setflags(write=False)
        object.__setattr__(self, "angles_rad", angles)
        for name in ("source_mm", "detector_origin_mm", "detector_u_dir", "detector_v_dir"):
            object.__setattr__(self, name, _as_vectors(name, getattr(self, name), n))
        u, v = self.detector_u_dir, self.detector_v_dir
        for name, vec in (("detector_u_dir", u), ("detector_v_dir", v)):
            if not np.allclose(np.linalg.norm(vec, axis=1), 1.0, atol=1e-6):
                raise ValueError(f"Geometry: {name} must be unit vectors")
        if np.max(np.abs(np.sum(u * v, axis=1))) > 1e-6:
            raise ValueError("Geometry: detector_u_dir and detector_v_dir must be orthogonal")
        pitch = tuple(float(p) for p in np.broadcast_to(np.asarray(self.pixel_mm, float), (2,)))
        if not all(np.isfinite(p) and p > 0 for p in pitch):
            raise ValueError(f"Geometry: pixel_mm must be positive, got {self.pixel_mm}")
        object.__setattr__(self, "pixel_mm", pitch)
        shape = tuple(int(s) for s in self.detector_shape)
        if len(shape) != 2 or min(shape) < 1:
            raise ValueError(f"Geometry: detector_shape must be (rows, columns) >= 1, got {self.detector_shape}")
        object.__setattr__(self, "detector_shape", shape)
        normal = np.cross(u, v)
        normal.setflags(write=False)
        object.__setattr__(self, "_normal", normal)
        # the source must be on the positive side of the detector, well above it
        height = np.sum((self.source_mm - self.detector_origin_mm) * normal, axis=1)
        if np.any(height <= 10.0):
            bad = int(np.argmin(height))
            raise ValueError(
                f"Geometry: source of view {bad} is {height[bad]:.1f} mm from the detector plane; "
                "it must lie above the detector (z toward the source)"
            )
        if not np.isfinite(self.support_height_mm) or self.support_height_mm < 0:
            raise ValueError(f"Geometry: support_height_mm must be >= 0, got {self.support_height_mm}")
        if np.any(height <= self.support_height_mm):
            raise ValueError("Geometry: the breast support lies above the source")

    # -- derived quantities -------------------------------------------------------------
    @property
    def n_views(self) -> int:
        """Number of projections."""
        return int(self.angles_rad.size)

    @property
    def detector_normal(self) -> np.ndarray:
        """Unit normal of the detector for each view, pointing toward the source, (views, 3)."""
        return self._normal

    @property
    def is_stationary_flat(self) -> bool:
        """True when every view's detector is the plane z = 0 with u = +x and v = +y.

        This is the case the separable projector fast path handles; a tilted or moving
        detector takes the general path.
        """
        return bool(
            np.allclose(self.detector_u_dir, [1.0, 0.0, 0.0], atol=1e-9)
            and np.allclose(self.detector_v_dir, [0.0, 1.0, 0.0], atol=1e-9)
            and np.allclose(self.detector_origin_mm, self.detector_origin_mm[0], atol=1e-9)
            and abs(self.detector_origin_mm[0, 2]) < 1e-9
        )

    @property
    def detector_size_mm(self) -> tuple[float, float]:
        """Detector extent (along v, along u), mm."""
        return (self.detector_shape[0] * self.pixel_mm[0], self.detector_shape[1] * self.pixel_mm[1])

    def pixel_centers_mm(self, view: int) -> np.ndarray:
        """Positions of all pixel centres of one view, array (rows, columns, 3), mm."""
        nv, nu = self.detector_shape
        dv, du = self.pixel_mm
        r = (np.arange(nv) + 0.5) * dv
        c = (np.arange(nu) + 0.5) * du
        return (
            self.detector_origin_mm[view][None, None, :]
            + r[:, None, None] * self.detector_v_dir[view][None, None, :]
            + c[None, :, None] * self.detector_u_dir[view][None, None, :]
        )

    def project_points(self, points_mm) -> np.ndarray:
        """Detector position of points in every view (analytic ray-plane intersection).

        Parameters
        ----------
        points_mm : array (N, 3) or (3,)
            Points (x, y, z) in the detector frame, mm.

        Returns
        -------
        array (views, N, 2)
            Fractional (row, column) pixel index of each point's shadow; integers are pixel
            centres, so pixel (r, c) covers [r - 0.5, r + 0.5) x [c - 0.5, c + 0.5).
        """
        p = np.atleast_2d(np.asarray(points_mm, dtype=np.float64))
        if p.ndim != 2 or p.shape[1] != 3:
            raise ValueError(f"project_points: points must have shape (N, 3), got {np.shape(points_mm)}")
        s = self.source_mm[:, None, :]
        d = p[None, :, :] - s
        n = self._normal[:, None, :]
        o = self.detector_origin_mm[:, None, :]
        denom = np.sum(d * n, axis=2)
        if np.any(np.abs(denom) < 1e-12):
            raise ValueError("project_points: a ray runs parallel to the detector")
        t = np.sum((o - s) * n, axis=2) / denom
        hit = s + t[..., None] * d - o
        col = np.sum(hit * self.detector_u_dir[:, None, :], axis=2) / self.pixel_mm[1] - 0.5
        row = np.sum(hit * self.detector_v_dir[:, None, :], axis=2) / self.pixel_mm[0] - 0.5
        return np.stack([row, col], axis=2)

    def magnification(self, z_mm: float, view: int = 0) -> float:
        """Magnification of a plane at height z for the given view (source height / gap)."""
        zs = float(self.source_mm[view, 2])
        return zs / (zs - float(z_mm))

    def subset(self, views) -> Geometry:
        """The same geometry restricted to the given view indices."""
        idx = np.asarray(views, dtype=int).reshape(-1)
        return Geometry(
            source_mm=self.source_mm[idx],
            detector_origin_mm=self.detector_origin_mm[idx],
            detector_u_dir=self.detector_u_dir[idx],
            detector_v_dir=self.detector_v_dir[idx],
            pixel_mm=self.pixel_mm,
            detector_shape=self.detector_shape,
            angles_rad=self.angles_rad[idx],
            name=self.name,
            support_height_mm=self.support_height_mm,
            pivot_height_mm=self.pivot_height_mm,
            source_to_detector_mm=self.source_to_detector_mm,
        )

    def binned(self, factor: int) -> Geometry:
        """The geometry of projections binned by ``factor`` x ``factor`` (trailing pixels dropped)."""
        f = int(factor)
        if f < 1:
            raise ValueError(f"binned: factor must be >= 1, got {factor}")
        nv, nu = self.detector_shape
        return Geometry(
            source_mm=self.source_mm,
            detector_origin_mm=self.detector_origin_mm,
            detector_u_dir=self.detector_u_dir,
            detector_v_dir=self.detector_v_dir,
            pixel_mm=(self.pixel_mm[0] * f, self.pixel_mm[1] * f),
            detector_shape=(nv // f, nu // f),
            angles_rad=self.angles_rad,
            name=self.name,
            support_height_mm=self.support_height_mm,
            pivot_height_mm=self.pivot_height_mm,
            source_to_detector_mm=self.source_to_detector_mm,
        )


def _rotation_about_x(phi: float) -> np.ndarray:
    """Rotation that takes +z to (0, sin phi, cos phi): tilts toward +y for phi > 0."""
    c, s = np.cos(phi), np.sin(phi)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, s], [0.0, -s, c]])


def arc_geometry(
    *,
    angles_rad=None,
    n_views: int | None = None,
    arc_deg: float | None = None,
    source_to_detector_mm: float,
    pivot_height_mm: float,
    detector_shape: tuple[int, int],
    pixel_mm: float | tuple[float, float],
    detector_tilt_deg: float = 0.0,
    detector_offset_mm: tuple[float, float] = (0.0, 0.0),
    source_x_mm: float = 0.0,
    support_height_mm: float = 0.0,
    name: str = "custom",
) -> Geometry:
    """Geometry of a source moving on an arc about a pivot above a flat detector.

    Parameters
    ----------
    angles_rad : array, optional
        Tube angle of each view (radians, positive toward +y). Give either this or
        ``n_views`` with ``arc_deg`` (evenly spaced over [-arc/2, +arc/2]).
    source_to_detector_mm : float
        DSD: source to detector surface at 0 degrees, mm.
    pivot_height_mm : float
        DDR: height of the rotation axis (parallel to x) above the detector surface, mm.
        The source lies at y = (DSD - DDR) sin(theta), z = DDR + (DSD - DDR) cos(theta).
    detector_shape : (rows, columns)
        Detector size in pixels: rows along y (tube motion), columns along x.
    pixel_mm : float or (row pitch, column pitch)
        Detector pitch, mm.
    detector_tilt_deg : float
        Total range of the detector's rotation about the same pivot (Hologic: 4.2, i.e.
        +-2.1 degrees), evenly spaced over the views and turning with the tube; 0 = stationary.
    detector_offset_mm : (dx, dy)
        Shift of the detector from its nominal place (chest-wall edge at x = 0, centred in y).
    source_x_mm : float
        Source position along x; 0 = above the chest-wall edge (half cone).
    support_height_mm : float
        Breast support height above the detector surface (air gap), mm.
    name : str
        Name recorded in the geometry.

    Returns
    -------
    Geometry
    """
    if angles_rad is None:
        if n_views is None or arc_deg is None:
            raise ValueError("arc_geometry: give angles_rad, or n_views and arc_deg")
        if n_views < 1:
            raise ValueError(f"arc_geometry: n_views must be >= 1, got {n_views}")
        half = np.deg2rad(arc_deg) / 2.0
        angles = np.linspace(-half, half, int(n_views)) if n_views > 1 else np.zeros(1)
    else:
        angles = np.asarray(angles_rad, dtype=np.float64).reshape(-1)
    if not source_to_detector_mm > pivot_height_mm >= 0:
        raise ValueError(
            f"arc_geometry: need source_to_detector_mm > pivot_height_mm >= 0, got "
            f"{source_to_detector_mm} and {pivot_height_mm}"
        )
    if np.any(np.abs(angles) >= np.pi / 3):
        raise ValueError("arc_geometry: tube angles must lie within +-60 degrees")
    pitch = np.broadcast_to(np.asarray(pixel_mm, dtype=np.float64), (2,))
    nv, nu = (int(s) for s in detector_shape)
    dsr = source_to_detector_mm - pivot_height_mm
    src = np.stack(
        [np.full_like(angles, source_x_mm), dsr * np.sin(angles), pivot_height_mm + dsr * np.cos(angles)], axis=1
    )
    corner = np.array([detector_offset_mm[0], -nv * pitch[0] / 2.0 + detector_offset_mm[1], 0.0])
    if detector_tilt_deg:
        n = angles.size
        phis = np.deg2rad(detector_tilt_deg) / 2.0 * (np.linspace(-1, 1, n) if n > 1 else np.zeros(1))
        pivot = np.array([0.0, 0.0, pivot_height_mm])
        origins, us, vs = [], [], []
        for phi in phis:
            rot = _rotation_about_x(phi)
            origins.append(pivot + rot @ (corner - pivot))
            us.append(rot @ np.array([1.0, 0.0, 0.0]))
            vs.append(rot @ np.array([0.0, 1.0, 0.0]))
        origin, u_dir, v_dir = np.array(origins), np.array(us), np.array(vs)
    else:
        origin = np.broadcast_to(corner, (angles.size, 3))
        u_dir, v_dir = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    return Geometry(
        source_mm=src,
        detector_origin_mm=origin,
        detector_u_dir=u_dir,
        detector_v_dir=v_dir,
        pixel_mm=(float(pitch[0]), float(pitch[1])),
        detector_shape=(nv, nu),
        angles_rad=angles,
        name=name,
        support_height_mm=float(support_height_mm),
        pivot_height_mm=float(pivot_height_mm),
        source_to_detector_mm=float(source_to_detector_mm),
    )
