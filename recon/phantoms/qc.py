"""A digital accreditation-style QC phantom: fibres, speck groups and masses of graded sizes, a
uniform region, a bead for depth resolution (ASF) and a slanted wire for the in-plane MTF.

Layout (detector frame, mm, multiplied by ``scale``; the block is centred in y):

* a uniform slab of breast-equivalent material (50 % glandular, 1/mm at 20 keV) from the
  chest wall (x = 0) to ``depth_mm``, ``width_mm`` wide, ``thickness_mm`` thick, resting on the
  breast support;
* at the insert height (mid-slab by default), rows of six objects along y, largest first:
  fibres at x = 8 (nylon-like cylinders, 6 mm long, at 45 degrees), speck groups at x = 16
  (six alumina-like specks on a 1.2 mm circle), masses at x = 24 (flat lens-shaped discs of
  graded thickness and low contrast);
* a uniform region (x 31-45, y < 0) with no object;
* a 1 mm high-contrast bead at (38, 10) for the artifact spread function;
* a 0.05 mm wire near x = 48 running along y, slanted by 3 degrees, for the MTF along x.

The object sizes follow the pattern of the ACR digital mammography phantom (fibre diameters
0.89-0.30 mm, speck diameters 0.33-0.14 mm, mass thicknesses 1.00-0.20 mm: the figures quoted
for that phantom, not re-checked against the ACR manual here). Contrasts are chosen so that
the scores span the range at clinical doses; this is a digital test object, not a replica.

The phantom works with :func:`recon.simulate.simulate_acquisition` (it has ``.volume`` and
``.ellipsoids``) and any geometry; :func:`recon.qc.phantom_scoring.score_phantom` reads its
``objects`` to score a reconstruction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from recon.phantoms import materials
from recon.phantoms.analytic import Ellipsoid, rotation_matrix, sphere
from recon.types import Volume, VolumeGrid

__all__ = ["QCObject", "QCPhantom", "qc_phantom", "FIBRE_DIAMETERS_MM", "SPECK_DIAMETERS_MM", "MASS_THICKNESS_MM"]

FIBRE_DIAMETERS_MM = (0.89, 0.75, 0.61, 0.54, 0.40, 0.30)
SPECK_DIAMETERS_MM = (0.33, 0.28, 0.23, 0.20, 0.17, 0.14)
MASS_THICKNESS_MM = (1.00, 0.75, 0.50, 0.38, 0.25, 0.20)
MU_BACKGROUND = 0.5 * (materials.MU_ADIPOSE + materials.MU_GLANDULAR)
MU_FIBRE = 0.03  # added to the background, 1/mm
MU_SPECK = 1.9  # alumina-like, added, 1/mm
MU_MASS = 0.03  # added, 1/mm
MU_BEAD = 1.0
MU_WIRE = 8.0  # tungsten-like wire, added, 1/mm (partial volume makes it a thin line)
WIRE_DIAMETER_MM = 0.05
FIBRE_LENGTH_MM = 6.0
MASS_DIAMETER_MM = 5.0
SPECK_CIRCLE_MM = 1.2


@dataclass(frozen=True)
class QCObject:
    """One scored object (or group) of the QC phantom.

    kind : "fibre", "speck_group", "mass", "bead", "wire", "uniform"
    index : 0 (largest) .. 5 (smallest) within its kind
    size_mm : fibre/speck diameter, mass thickness, bead diameter
    center_mm : (x, y, z)
    members_mm : (n, 3) speck positions of a group (empty otherwise)
    angle_rad : fibre or wire orientation in the x-y plane (from +y toward +x)
    length_mm : fibre length, mass diameter or wire length
    extent_mm : (x0, x1, y0, y1) of the uniform region
    """

    kind: str
    index: int
    size_mm: float
    center_mm: tuple
    members_mm: tuple = ()
    angle_rad: float = 0.0
    length_mm: float = 0.0
    extent_mm: tuple = ()

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "index": self.index,
            "size_mm": self.size_mm,
            "center_mm": list(self.center_mm),
            "members_mm": [list(m) for m in self.members_mm],
            "angle_rad": self.angle_rad,
            "length_mm": self.length_mm,
            "extent_mm": list(self.extent_mm),
        }


@dataclass(frozen=True, eq=False)
class QCPhantom:
    """The QC phantom: voxel background (uniform slab), analytic objects and their truth."""

    volume: Volume
    ellipsoids: tuple
    objects: tuple
    thickness_mm: float
    support_height_mm: float
    insert_height_mm: float
    scale: float
    mu_background: float
    options: dict = field(default_factory=dict)

    @property
    def z_range_mm(self) -> tuple[float, float]:
        return self.support_height_mm, self.support_height_mm + self.thickness_mm

    def of_kind(self, kind: str) -> list[QCObject]:
        return [o for o in self.objects if o.kind == kind]

    def truth(self) -> dict:
        return {
            "phantom": "qc",
            "thickness_mm": self.thickness_mm,
            "support_height_mm": self.support_height_mm,
            "insert_height_mm": self.insert_height_mm,
            "scale": self.scale,
            "depth_mm": self.options.get("depth_mm"),
            "width_mm": self.options.get("width_mm"),
            "mu_background_per_mm": self.mu_background,
            "frame": "detector frame: x chest wall to nipple, y along the chest wall, z up; mm",
            "objects": [o.to_dict() for o in self.objects],
        }


def qc_phantom(
    *,
    support_height_mm: float = 0.0,
    thickness_mm: float = 42.0,
    depth_mm: float = 70.0,
    width_mm: float = 80.0,
    scale: float = 1.0,
    insert_height_mm: float | None = None,
    voxel_mm: float = 2.0,
) -> QCPhantom:
    """Build the QC phantom.

    Parameters
    ----------
    support_height_mm : float
        Height of the breast support of the system it is imaged on (``geometry.support_height_mm``).
    thickness_mm : float
        Slab thickness (42 mm: the standard breast of the accreditation phantom).
    depth_mm, width_mm : float
        Slab extent from the chest wall and along it.
    scale : float
        Multiplies every object's size and spacing (> 1 for coarse test detectors).
    insert_height_mm : float, optional
        Height of the objects above the support; default mid-slab.
    voxel_mm : float
        Voxel size of the uniform background (it has no detail to lose).
    """
    for name, v in (
        ("thickness_mm", thickness_mm),
        ("depth_mm", depth_mm),
        ("width_mm", width_mm),
        ("scale", scale),
        ("voxel_mm", voxel_mm),
    ):
        if not (isinstance(v, (int, float)) and np.isfinite(v) and v > 0):
            raise ValueError(f"qc_phantom: {name} must be > 0, got {v!r}")
    if not support_height_mm >= 0:
        raise ValueError(f"qc_phantom: support_height_mm must be >= 0, got {support_height_mm}")
    s = float(scale)
    z_ins = support_height_mm + (thickness_mm / 2 if insert_height_mm is None else float(insert_height_mm))
    if not support_height_mm < z_ins < support_height_mm + thickness_mm:
        raise ValueError(f"qc_phantom: insert height {insert_height_mm} mm lies outside the slab")
    if 60 * s > depth_mm or 50 * s > width_mm:
        raise ValueError(f"qc_phantom: a {depth_mm} x {width_mm} mm slab cannot hold the objects at scale {s}")
    # background slab on a coarse grid whose voxel faces coincide with the slab faces
    nz = max(1, int(round(thickness_mm / voxel_mm)))
    ny = max(1, int(round(width_mm / voxel_mm)))
    nx = max(1, int(round(depth_mm / voxel_mm)))
    dz, dy, dx = thickness_mm / nz, width_mm / ny, depth_mm / nx
    grid = VolumeGrid((nz, ny, nx), (dz, dy, dx), (support_height_mm + dz / 2, -width_mm / 2 + dy / 2, dx / 2))
    volume = Volume(np.full(grid.shape, MU_BACKGROUND, np.float32), grid, metadata={"phantom": "qc background"})

    ells, objs = [], []
    ys = (np.arange(6) - 2.5) * 8.0 * s
    for k, (d, y) in enumerate(zip(FIBRE_DIAMETERS_MM, ys, strict=True)):
        ang = np.pi / 4 if k % 2 == 0 else -np.pi / 4
        c = (8.0 * s, float(y), z_ins)
        rot = rotation_matrix(yaw_rad=np.pi / 2 - ang)  # long axis from +y toward +x by ang
        ells.append(Ellipsoid(c, (FIBRE_LENGTH_MM * s / 2, d * s / 2, d * s / 2), MU_FIBRE, rotation=rot))
        objs.append(QCObject("fibre", k, d * s, c, angle_rad=float(ang), length_mm=FIBRE_LENGTH_MM * s))
    for k, (d, y) in enumerate(zip(SPECK_DIAMETERS_MM, ys, strict=True)):
        c = np.array([16.0 * s, float(y), z_ins])
        phi = np.arange(6) * np.pi / 3
        members = c[None, :] + SPECK_CIRCLE_MM * s * np.stack([np.cos(phi), np.sin(phi), np.zeros(6)], axis=1)
        for m in members:
            ells.append(sphere(tuple(m), d * s, MU_SPECK))
        objs.append(QCObject("speck_group", k, d * s, tuple(c), members_mm=tuple(tuple(m) for m in members)))
    for k, (t, y) in enumerate(zip(MASS_THICKNESS_MM, ys, strict=True)):
        c = (24.0 * s, float(y), z_ins)
        r = MASS_DIAMETER_MM * s / 2
        ells.append(Ellipsoid(c, (r, r, t * s / 2), MU_MASS))
        objs.append(QCObject("mass", k, t * s, c, length_mm=MASS_DIAMETER_MM * s))
    objs.append(QCObject("uniform", 0, 0.0, (38.0 * s, -14.0 * s, z_ins), extent_mm=(31 * s, 45 * s, -24 * s, -4 * s)))
    bead_c = (38.0 * s, 10.0 * s, z_ins)
    ells.append(sphere(bead_c, 1.0 * s, MU_BEAD))
    objs.append(QCObject("bead", 0, 1.0 * s, bead_c))
    # a thin slanted wire along y near x = 48: its profile across x is the line-spread function
    slant = np.deg2rad(3.0)
    wire_c = (48.0 * s, 0.0, z_ins)
    ells.append(
        Ellipsoid(
            wire_c,
            (WIRE_DIAMETER_MM / 2, 12.0 * s, WIRE_DIAMETER_MM / 2),
            MU_WIRE,
            rotation=rotation_matrix(yaw_rad=slant),
        )
    )
    objs.append(QCObject("wire", 0, WIRE_DIAMETER_MM, wire_c, angle_rad=float(slant), length_mm=24.0 * s))
    return QCPhantom(
        volume=volume,
        ellipsoids=tuple(ells),
        objects=tuple(objs),
        thickness_mm=float(thickness_mm),
        support_height_mm=float(support_height_mm),
        insert_height_mm=float(z_ins),
        scale=s,
        mu_background=float(MU_BACKGROUND),
        options={"depth_mm": depth_mm, "width_mm": width_mm, "voxel_mm": voxel_mm},
    )
