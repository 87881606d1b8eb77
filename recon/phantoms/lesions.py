"""Lesions of the breast phantom: masses (voxelised) and calcifications (analytic).

Masses are a core ellipsoid whose radius is modulated by smooth bumps on the unit sphere
(irregular shapes), plus spicules: thin cones that taper from the core surface outwards
(spiculated masses and architectural distortion). They are drawn into the voxel
background with partial-volume fractions. Calcifications are analytic ellipsoids
(:mod:`recon.phantoms.analytic`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from numba import njit, prange

from recon.phantoms.analytic import Ellipsoid, rotation_matrix
from recon.types import VolumeGrid

__all__ = [
    "LESION_KINDS",
    "MASS_SHAPES",
    "Lesion",
    "MassModel",
    "make_mass",
    "make_architectural_distortion",
    "make_calcification",
    "make_calcification_cluster",
    "draw_mass",
]

LESION_KINDS = ("mass", "calcification", "calcification_cluster", "architectural_distortion")
MASS_SHAPES = ("round", "oval", "irregular", "spiculated")


def _freeze(value):
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value):
    if isinstance(value, MappingProxyType | dict):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_thaw(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass(frozen=True)
class Lesion:
    """Ground truth of one lesion.

    Parameters
    ----------
    kind : str
        One of :data:`LESION_KINDS`.
    center_mm : (x, y, z)
        Centre in the detector frame, mm (for a cluster: the centroid of its members).
    size_mm : float
        Mass: largest diameter of the core (spicules excluded); calcification: its largest
        diameter; cluster: diameter of the smallest sphere about the centre that holds
        every member; architectural distortion: diameter of the radiating pattern.
    extent_mm : (dx, dy, dz)
        Size of the axis-aligned bounding box of everything that belongs to it, mm.
    details : mapping
        Per-kind fields: ``shape`` and ``margin`` for masses, ``mu_per_mm``,
        ``members`` (a list of calcification dicts) for clusters, ...
    """

    kind: str
    center_mm: tuple[float, float, float]
    size_mm: float
    extent_mm: tuple[float, float, float]
    details: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self):
        if self.kind not in LESION_KINDS:
            raise ValueError(f"Lesion: kind must be one of {LESION_KINDS}, got {self.kind!r}")
        object.__setattr__(self, "center_mm", tuple(float(v) for v in self.center_mm))
        object.__setattr__(self, "extent_mm", tuple(float(v) for v in self.extent_mm))
        object.__setattr__(self, "size_mm", float(self.size_mm))
        object.__setattr__(self, "details", _freeze(dict(self.details)))

    def to_dict(self) -> dict:
        """JSON-able ground truth: kind, center_mm, size_mm, extent_mm and the details."""
        out = {
            "kind": self.kind,
            "center_mm": list(self.center_mm),
            "size_mm": self.size_mm,
            "extent_mm": list(self.extent_mm),
        }
        out.update(_thaw(self.details))
        return out


@dataclass(frozen=True, eq=False)
class MassModel:
    """Geometry of a mass or distortion, in mm (detector frame); see :func:`draw_mass`."""

    center_mm: np.ndarray  # (3,)
    semi_axes_mm: np.ndarray  # (3,); zeros for no core
    rotation: np.ndarray  # (3, 3)
    bump_dirs: np.ndarray  # (B, 3) unit vectors in the core frame
    bump_amps: np.ndarray  # (B,) relative radius change
    bump_width: float  # angular width parameter
    seg_a: np.ndarray  # (S, 3) spicule roots
    seg_b: np.ndarray  # (S, 3) spicule tips
    seg_r: np.ndarray  # (S,) root radius
    mu_per_mm: float

    def bounding_box_mm(self) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) corners (x, y, z) of a box that holds the whole object."""
        reach = float(np.max(self.semi_axes_mm)) * (1.0 + max(0.0, float(np.sum(np.clip(self.bump_amps, 0, None)))))
        lo = self.center_mm - reach
        hi = self.center_mm + reach
        if len(self.seg_a):
            pts = np.vstack([self.seg_a - self.seg_r[:, None], self.seg_b + self.seg_r[:, None]])
            pts2 = np.vstack([self.seg_a + self.seg_r[:, None], self.seg_b - self.seg_r[:, None]])
            lo = np.minimum(lo, np.minimum(pts.min(axis=0), pts2.min(axis=0)))
            hi = np.maximum(hi, np.maximum(pts.max(axis=0), pts2.max(axis=0)))
        return lo, hi


def _random_unit(rng: np.random.Generator, n: int, z_scale: float = 1.0) -> np.ndarray:
    v = rng.standard_normal((n, 3))
    v[:, 2] *= z_scale
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _core_radius(model: MassModel, dirs_core: np.ndarray) -> np.ndarray:
    """Relative radius factor of the core in the given unit directions (core frame)."""
    if len(model.bump_dirs) == 0:
        return np.ones(len(dirs_core))
    dots = dirs_core @ model.bump_dirs.T
    return 1.0 + np.sum(model.bump_amps * np.exp((dots - 1.0) / model.bump_width**2), axis=1)


def make_mass(
    shape: str, center_mm, diameter_mm: float, mu_per_mm: float, rng: np.random.Generator
) -> tuple[MassModel, Lesion]:
    """A mass of the given BI-RADS shape ('round', 'oval', 'irregular', 'spiculated').

    ``diameter_mm`` is the core's nominal largest diameter. The compressed breast flattens
    masses a little: the axis closest to z is shortened to 70-90 %.
    """
    if shape not in MASS_SHAPES:
        raise ValueError(f"make_mass: shape must be one of {MASS_SHAPES}, got {shape!r}")
    if not diameter_mm > 0:
        raise ValueError(f"make_mass: diameter_mm must be > 0, got {diameter_mm}")
    c = np.asarray(center_mm, dtype=np.float64)
    r = diameter_mm / 2.0
    flat = rng.uniform(0.7, 0.9)
    yaw = rng.uniform(0, np.pi)
    rot = rotation_matrix(yaw, rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2))
    bump_dirs = np.zeros((0, 3))
    bump_amps = np.zeros(0)
    bump_width = 0.5
    seg_a = np.zeros((0, 3))
    seg_b = np.zeros((0, 3))
    seg_r = np.zeros(0)
    margin = "circumscribed"
    if shape == "round":
        axes = np.array([r, r, r * flat])
    elif shape == "oval":
        ratio = rng.uniform(1.3, 1.8)
        axes = np.array([r, r / ratio, r * flat / ratio])
    else:
        axes = np.array([r, r * rng.uniform(0.8, 1.0), r * flat])
        n_b = int(rng.integers(6, 11)) if shape == "irregular" else int(rng.integers(3, 6))
        bump_dirs = _random_unit(rng, n_b)
        amp = 0.35 if shape == "irregular" else 0.15
        bump_amps = rng.uniform(-amp, amp, n_b)
        bump_width = 0.45
        margin = "indistinct" if shape == "irregular" else "spiculated"
    model = MassModel(c, axes, rot, bump_dirs, bump_amps, bump_width, seg_a, seg_b, seg_r, float(mu_per_mm))
    if shape == "spiculated":
        n_s = int(rng.integers(10, 20))
        dirs = _random_unit(rng, n_s, z_scale=0.5)
        dirs_core = dirs @ rot  # world -> core frame: R^T d for each row
        scaled = dirs_core / axes
        base = _core_radius(model, dirs_core / np.linalg.norm(dirs_core, axis=1, keepdims=True))
        root_dist = 0.8 * base / np.linalg.norm(scaled, axis=1)  # a little inside the surface
        length = r * rng.uniform(1.0, 2.2, n_s)
        seg_a = c + dirs * root_dist[:, None]
        seg_b = c + dirs * (root_dist + length)[:, None]
        seg_r = rng.uniform(0.25, 0.45, n_s)
        model = MassModel(c, axes, rot, bump_dirs, bump_amps, bump_width, seg_a, seg_b, seg_r, float(mu_per_mm))
    # size from a dense sample of core surface directions
    dirs = _random_unit(np.random.default_rng(0), 2000)  # fixed directions: no draw from rng
    rad = _core_radius(model, dirs) / np.linalg.norm(dirs / axes, axis=1)
    surface = c + (dirs * rad[:, None]) @ rot.T
    size = 2.0 * float(np.max(rad))
    lo, hi = surface.min(axis=0), surface.max(axis=0)
    if len(seg_a):
        lo = np.minimum(lo, seg_b.min(axis=0))
        hi = np.maximum(hi, seg_b.max(axis=0))
    details = {"shape": shape, "margin": margin, "mu_per_mm": float(mu_per_mm)}
    if len(seg_a):
        details["n_spicules"] = len(seg_a)
        details["spicule_length_mm"] = float(np.max(np.linalg.norm(seg_b - seg_a, axis=1)))
    lesion = Lesion("mass", c, size, hi - lo, details)
    return model, lesion


def make_architectural_distortion(
    center_mm, diameter_mm: float, mu_per_mm: float, rng: np.random.Generator
) -> tuple[MassModel, Lesion]:
    """Architectural distortion: thin lines radiating from a point, without a central mass."""
    c = np.asarray(center_mm, dtype=np.float64)
    n_s = int(rng.integers(12, 22))
    dirs = _random_unit(rng, n_s, z_scale=0.4)
    r = diameter_mm / 2.0
    seg_a = c + dirs * rng.uniform(0.3, 1.0, n_s)[:, None]
    seg_b = c + dirs * (r * rng.uniform(0.6, 1.0, n_s))[:, None]
    seg_r = rng.uniform(0.2, 0.35, n_s)
    model = MassModel(
        c, np.zeros(3), np.eye(3), np.zeros((0, 3)), np.zeros(0), 0.5, seg_a, seg_b, seg_r, float(mu_per_mm)
    )
    pts = np.vstack([seg_a, seg_b])
    lesion = Lesion(
        "architectural_distortion",
        c,
        2.0 * float(np.max(np.linalg.norm(seg_b - c, axis=1))),
        pts.max(axis=0) - pts.min(axis=0),
        {"n_spicules": n_s, "mu_per_mm": float(mu_per_mm)},
    )
    return model, lesion


@njit(cache=True)
def _inside_mass(px, py, pz, c, axes, rot, bdirs, bamps, bw, sa, sb, sr):
    dx, dy, dz = px - c[0], py - c[1], pz - c[2]
    if axes[0] > 0.0:
        # core frame coordinates q = R^T (p - c), normalised by the semi-axes
        qx = (rot[0, 0] * dx + rot[1, 0] * dy + rot[2, 0] * dz) / axes[0]
        qy = (rot[0, 1] * dx + rot[1, 1] * dy + rot[2, 1] * dz) / axes[1]
        qz = (rot[0, 2] * dx + rot[1, 2] * dy + rot[2, 2] * dz) / axes[2]
        qn = np.sqrt(qx * qx + qy * qy + qz * qz)
        limit = 1.0
        if bdirs.shape[0] > 0 and qn > 0.0:
            # bumps are defined on directions in the (unnormalised) core frame
            ux = qx * axes[0]
            uy = qy * axes[1]
            uz = qz * axes[2]
            un = np.sqrt(ux * ux + uy * uy + uz * uz)
            ux, uy, uz = ux / un, uy / un, uz / un
            for b in range(bdirs.shape[0]):
                dot = ux * bdirs[b, 0] + uy * bdirs[b, 1] + uz * bdirs[b, 2]
                limit += bamps[b] * np.exp((dot - 1.0) / (bw * bw))
        if qn <= limit:
            return True
    for s in range(sa.shape[0]):
        ax, ay, az = sb[s, 0] - sa[s, 0], sb[s, 1] - sa[s, 1], sb[s, 2] - sa[s, 2]
        wx, wy, wz = px - sa[s, 0], py - sa[s, 1], pz - sa[s, 2]
        ll = ax * ax + ay * ay + az * az
        t = (wx * ax + wy * ay + wz * az) / ll
        if t < 0.0 or t > 1.0:
            continue
        ex, ey, ez = wx - t * ax, wy - t * ay, wz - t * az
        rad = sr[s] * (1.0 - t)
        if ex * ex + ey * ey + ez * ez <= rad * rad:
            return True
    return False


@njit(cache=True, parallel=True)
def _draw_mass_kernel(
    vol, z0, y0, x0, dz, dy, dx, k0, k1, j0, j1, i0, i1, c, axes, rot, bdirs, bamps, bw, sa, sb, sr, mu, nsub, body
):
    inv = 1.0 / (nsub * nsub * nsub)
    for k in prange(k0, k1):
        for j in range(j0, j1):
            for i in range(i0, i1):
                if body[k, j, i] <= 0.0:
                    continue
                hits = 0
                for a in range(nsub):
                    pz = z0 + (k - 0.5 + (a + 0.5) / nsub) * dz
                    for b in range(nsub):
                        py = y0 + (j - 0.5 + (b + 0.5) / nsub) * dy
                        for e in range(nsub):
                            px = x0 + (i - 0.5 + (e + 0.5) / nsub) * dx
                            if _inside_mass(px, py, pz, c, axes, rot, bdirs, bamps, bw, sa, sb, sr):
                                hits += 1
                if hits:
                    f = hits * inv * body[k, j, i]
                    vol[k, j, i] = np.float32((1.0 - f) * vol[k, j, i] + f * mu)


def draw_mass(volume_data: np.ndarray, grid: VolumeGrid, model: MassModel, *, body: np.ndarray, supersample: int = 2):
    """Draw a mass into ``volume_data`` in place (this module's private buffers only).

    Each voxel becomes ``(1 - f) * tissue + f * mu`` where ``f`` is the fraction of the voxel
    inside the mass (times the voxel's body fraction ``body``), from ``supersample**3`` points.
    """
    lo, hi = model.bounding_box_mm()
    z0, y0, x0 = grid.origin_mm
    dz, dy, dx = grid.voxel_mm
    nz, ny, nx = grid.shape
    k0, k1 = max(int(np.floor((lo[2] - z0) / dz)), 0), min(int(np.ceil((hi[2] - z0) / dz)) + 1, nz)
    j0, j1 = max(int(np.floor((lo[1] - y0) / dy)), 0), min(int(np.ceil((hi[1] - y0) / dy)) + 1, ny)
    i0, i1 = max(int(np.floor((lo[0] - x0) / dx)), 0), min(int(np.ceil((hi[0] - x0) / dx)) + 1, nx)
    if k0 >= k1 or j0 >= j1 or i0 >= i1:
        return
    _draw_mass_kernel(
        volume_data,
        z0,
        y0,
        x0,
        dz,
        dy,
        dx,
        k0,
        k1,
        j0,
        j1,
        i0,
        i1,
        np.ascontiguousarray(model.center_mm, dtype=np.float64),
        np.ascontiguousarray(model.semi_axes_mm, dtype=np.float64),
        np.ascontiguousarray(model.rotation, dtype=np.float64),
        np.ascontiguousarray(model.bump_dirs, dtype=np.float64).reshape(-1, 3),
        np.ascontiguousarray(model.bump_amps, dtype=np.float64),
        float(model.bump_width),
        np.ascontiguousarray(model.seg_a, dtype=np.float64).reshape(-1, 3),
        np.ascontiguousarray(model.seg_b, dtype=np.float64).reshape(-1, 3),
        np.ascontiguousarray(model.seg_r, dtype=np.float64),
        float(model.mu_per_mm),
        int(supersample),
        body,
    )


def make_calcification(
    center_mm, diameter_mm: float, mu_per_mm: float, background_mu_per_mm: float, rng: np.random.Generator
) -> tuple[Ellipsoid, dict]:
    """One calcification: an ellipsoid of largest diameter ``diameter_mm``.

    Round (punctate) ones are spheres; others are elongated up to 2.5:1 with a random
    orientation (fine linear forms). The ellipsoid carries the attenuation added to the
    tissue it replaces, ``mu - background_mu``. Returns the ellipsoid and its truth dict.
    """
    r = diameter_mm / 2.0
    if rng.uniform() < 0.5:
        axes = (r, r, r)
        form = "punctate"
        rot = np.eye(3)
    else:
        e = rng.uniform(1.3, 2.5)
        axes = (r, r / e, r / e)
        form = "elongated"
        rot = rotation_matrix(rng.uniform(0, 2 * np.pi), rng.uniform(-0.6, 0.6), rng.uniform(0, np.pi))
    ell = Ellipsoid(center_mm, axes, mu_per_mm - background_mu_per_mm, rot)
    return ell, {
        "center_mm": [float(v) for v in ell.center_mm],
        "size_mm": float(diameter_mm),
        "semi_axes_mm": [float(v) for v in axes],
        "form": form,
        "mu_per_mm": float(mu_per_mm),
    }


def make_calcification_cluster(
    center_mm,
    radius_mm: float,
    n_members: int,
    diameter_range_mm: tuple[float, float],
    mu_range: tuple[float, float],
    background_mu_per_mm: float,
    rng: np.random.Generator,
) -> tuple[list[Ellipsoid], Lesion]:
    """A grouped cluster (BI-RADS: at least 5 calcifications within 1 cm) of calcifications.

    Members lie uniformly in an ellipsoid of radii (r, r, 0.6 r) about ``center_mm``, at
    least 0.2 mm apart (surface to surface).
    """
    if n_members < 1:
        raise ValueError(f"make_calcification_cluster: n_members must be >= 1, got {n_members}")
    c = np.asarray(center_mm, dtype=np.float64)
    spread = np.array([radius_mm, radius_mm, 0.6 * radius_mm])
    members: list[tuple[Ellipsoid, dict]] = []
    tries = 0
    while len(members) < n_members and tries < 200 * n_members:
        tries += 1
        p = rng.uniform(-1, 1, 3)
        if np.sum(p * p) > 1:
            continue
        pos = c + p * spread
        d = rng.uniform(*diameter_range_mm)
        if any(np.linalg.norm(pos - np.asarray(m[0].center_mm)) < (d + m[1]["size_mm"]) / 2 + 0.2 for m in members):
            continue
        members.append(make_calcification(pos, d, rng.uniform(*mu_range), background_mu_per_mm, rng))
    centers = np.array([m[0].center_mm for m in members])
    centroid = centers.mean(axis=0)
    reach = [np.linalg.norm(np.asarray(e.center_mm) - centroid) + e.bounding_radius_mm for e, _ in members]
    lo = np.min([np.asarray(e.center_mm) - e.bounding_radius_mm for e, _ in members], axis=0)
    hi = np.max([np.asarray(e.center_mm) + e.bounding_radius_mm for e, _ in members], axis=0)
    lesion = Lesion(
        "calcification_cluster",
        centroid,
        2.0 * float(max(reach)),
        hi - lo,
        {"distribution": "grouped", "n_members": len(members), "members": [m[1] for m in members]},
    )
    return [m[0] for m in members], lesion
