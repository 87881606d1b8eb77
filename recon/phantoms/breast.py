"""A digital compressed breast: outline, skin, adipose and fibroglandular tissue, lesions.

Model (all in the detector frame of DESIGN.md, mm)
---------------------------------------------------
* Outline: in the x-y plane a half ellipse from the chest wall (x = 0, where the breast is
  cut by the image edge) to the nipple at x = ``depth_mm``, ``width_mm`` wide along y. The
  compressed breast lies between the breast support (z = ``support_height_mm``) and the
  paddle (``thickness_mm`` higher); its free edge is rounded with a radius of half the
  thickness, so the outline shrinks towards the support and the paddle.
* Skin: the outer ``skin_mm`` (1.5 mm) of every surface except the chest-wall cut.
* Fibroglandular tissue: a 1/f^beta Gaussian random field (beta = 3) plus a smooth bias
  that concentrates glandular tissue centrally, thresholded so that the target fraction of
  the breast (skin excluded) is glandular; a layer of subcutaneous fat under the skin is
  kept free of glands. Breast density categories a-d map to glandular fractions
  (:data:`DENSITY_GLANDULAR_FRACTION`).
* MLO views add the pectoral muscle: a triangle along the chest wall at the superior
  (axillary) end, which is -y for right and +y for left breasts in the detector frame
  (the patient mapping of ``app.dicom.views.detector_to_patient``).
* Masses (round, oval, irregular, spiculated) and architectural distortion are drawn into
  the voxels with partial-volume fractions; calcifications (0.1-0.5 mm, single or in
  grouped clusters) stay analytic ellipsoids (:mod:`recon.phantoms.analytic`), projected
  exactly by :func:`recon.simulate.simulate_acquisition`.

Attenuation values: :mod:`recon.phantoms.materials` (20 keV, with sources).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from recon.phantoms import materials
from recon.phantoms.analytic import Ellipsoid, voxelize_ellipsoids
from recon.phantoms.lesions import (
    MASS_SHAPES,
    Lesion,
    draw_mass,
    make_architectural_distortion,
    make_calcification,
    make_calcification_cluster,
    make_mass,
)
from recon.phantoms.texture import power_law_noise, resample_trilinear
from recon.types import Volume, VolumeGrid

__all__ = [
    "BREAST_SIZES",
    "DENSITY_GLANDULAR_FRACTION",
    "VIEWS",
    "BreastPhantom",
    "breast_phantom",
    "parse_view",
]

DENSITY_GLANDULAR_FRACTION = {"a": 0.08, "b": 0.20, "c": 0.40, "d": 0.60}
"""Glandular volume fraction (skin excluded) used for each BI-RADS composition category.

Chosen for the visual appearance of the categories (a: almost entirely fatty ...
d: extremely dense); volumetric measures of real breasts (Yaffe et al., Med Phys 36:5437,
2009: mean 19 %, 95 % below 45 %) are lower for the same category."""

VIEWS = ("RCC", "LCC", "RMLO", "LMLO")

BREAST_SIZES = {
    "full": {
        "thickness_mm": 50.0,
        "depth_mm": 100.0,
        "width_mm": 170.0,
        "voxel_mm": (0.5, 0.2, 0.2),
        "n_masses": 2,
        "n_clusters": 2,
        "n_calcifications": 6,
        "n_distortions": 0,
        "mass_diameter_mm": (5.0, 15.0),
        "cluster_radius_mm": (2.0, 5.0),
    },
    "small": {
        "thickness_mm": 20.0,
        "depth_mm": 30.0,
        "width_mm": 28.0,
        "voxel_mm": (0.5, 0.2, 0.2),
        "n_masses": 1,
        "n_clusters": 1,
        "n_calcifications": 3,
        "n_distortions": 0,
        "mass_diameter_mm": (4.0, 7.0),
        "cluster_radius_mm": (1.5, 3.0),
    },
}
"""Defaults of :func:`breast_phantom` for ``size="full"`` (a 5 cm compressed breast for a
clinical detector) and ``size="small"`` (fits the 256 x 192 x 0.2 mm test detector of the
GE, Hologic and VICTRE presets in every view)."""

SKIN_MM = 1.5
SUBCUTANEOUS_FAT_MM = 2.0
TEXTURE_BETA = 3.0
CALCIFICATION_DIAMETER_MM = (0.1, 0.5)


def parse_view(view: str) -> tuple[str, str]:
    """'RCC' -> ('R', 'CC'); raises ValueError for anything but RCC, LCC, RMLO, LMLO."""
    v = str(view).upper()
    if v not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}, got {view!r}")
    return v[0], v[1:]


@dataclass(frozen=True, eq=False)
class BreastPhantom:
    """A compressed breast phantom with its ground truth.

    Attributes
    ----------
    volume : Volume
        Voxel background in 1/mm: air 0, adipose, glandular, skin, muscle, masses.
    ellipsoids : tuple of Ellipsoid
        Analytic objects (calcifications), each with the attenuation it adds to the
        background.
    lesions : tuple of Lesion
        Ground truth of every lesion.
    thickness_mm, support_height_mm : float
        Compressed thickness and height of the breast support above the detector.
    depth_mm, width_mm, skin_mm : float
        Outline: chest wall to nipple, width along the chest wall, skin thickness.
    laterality, view : str
        'R' or 'L'; 'CC' or 'MLO'.
    density : str
        BI-RADS composition category a-d used to build the texture.
    glandular_fraction : float
        Glandular fraction achieved (voxels, skin excluded).
    seed : int
        Seed the phantom was built from (same seed and options = same phantom).
    """

    volume: Volume
    ellipsoids: tuple[Ellipsoid, ...]
    lesions: tuple[Lesion, ...]
    thickness_mm: float
    support_height_mm: float
    depth_mm: float
    width_mm: float
    skin_mm: float
    laterality: str
    view: str
    density: str
    glandular_fraction: float
    seed: int
    options: dict = field(default_factory=dict)

    @property
    def view_name(self) -> str:
        """'RCC', 'LMLO', ..."""
        return self.laterality + self.view

    @property
    def z_range_mm(self) -> tuple[float, float]:
        """(bottom, top) of the compressed breast above the detector, mm."""
        return self.support_height_mm, self.support_height_mm + self.thickness_mm

    def truth(self) -> dict:
        """JSON-able description: outline, thickness, materials and every lesion."""
        g = self.volume.grid
        return {
            "phantom": "breast",
            "seed": int(self.seed),
            "laterality": self.laterality,
            "view": self.view,
            "view_name": self.view_name,
            "density": self.density,
            "glandular_fraction": float(self.glandular_fraction),
            "thickness_mm": float(self.thickness_mm),
            "support_height_mm": float(self.support_height_mm),
            "outline": {
                "shape": "half-ellipse from the chest wall (x = 0), rounded free edge of radius thickness/2",
                "depth_mm": float(self.depth_mm),
                "width_mm": float(self.width_mm),
                "skin_mm": float(self.skin_mm),
            },
            "voxel_grid": {
                "shape": list(g.shape),
                "voxel_mm": list(g.voxel_mm),
                "origin_mm": list(g.origin_mm),
                "axes": "(z, y, x)",
            },
            "energy_kev": materials.ENERGY_KEV,
            "attenuation_per_mm": dict(materials.ATTENUATION_PER_MM),
            "frame": "detector frame: x chest wall to nipple, y along the chest wall (tube motion), z up; mm",
            "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.options.items()},
            "lesions": [dict(les.to_dict(), id=i) for i, les in enumerate(self.lesions)],
        }

    def render(self, grid: VolumeGrid | None = None, *, supersample: int = 2) -> Volume:
        """The phantom on a voxel grid, calcifications included (partial volume).

        Parameters
        ----------
        grid : VolumeGrid, optional
            Target grid (for example a reconstruction grid, to compare against); default the
            phantom's own grid.
        supersample : int
            Points per target voxel along each axis used to average the background and the
            ellipsoids.

        Returns
        -------
        Volume
            Linear attenuation in 1/mm; zero outside the phantom.
        """
        if int(supersample) != supersample or supersample < 1:
            raise ValueError(f"render: supersample must be a positive integer, got {supersample}")
        ss = int(supersample)
        if grid is None:
            data = self.volume.data + voxelize_ellipsoids(self.ellipsoids, self.volume.grid, supersample=ss + 1)
            return Volume(data.astype(np.float32), self.volume.grid, {"source": "phantom"})
        if not isinstance(grid, VolumeGrid):
            raise TypeError(f"render: grid must be a recon.VolumeGrid, got {type(grid).__name__}")
        nz, ny, nx = grid.shape
        dz, dy, dx = grid.voxel_mm
        fine_vox = (dz / ss, dy / ss, dx / ss)
        fine_org = tuple(o - v / 2 + f / 2 for o, v, f in zip(grid.origin_mm, grid.voxel_mm, fine_vox, strict=True))
        src = self.volume
        out = np.zeros(grid.shape, dtype=np.float64)
        sg = src.grid
        lo = np.array([self.support_height_mm, sg.origin_mm[1] - sg.voxel_mm[1] / 2, 0.0])
        hi = np.array(
            [
                self.support_height_mm + self.thickness_mm,
                sg.origin_mm[1] + (sg.shape[1] - 0.5) * sg.voxel_mm[1],
                sg.origin_mm[2] + (sg.shape[2] - 0.5) * sg.voxel_mm[2],
            ]
        )
        # slab by slab of target slices to bound memory
        for k in range(nz):
            org = (fine_org[0] + k * dz, fine_org[1], fine_org[2])
            fine = resample_trilinear(src.data, sg.origin_mm, sg.voxel_mm, (ss, ny * ss, nx * ss), org, fine_vox)
            zc = org[0] + fine_vox[0] * np.arange(ss)
            yc = org[1] + fine_vox[1] * np.arange(ny * ss)
            xc = org[2] + fine_vox[2] * np.arange(nx * ss)
            inside = (
                ((zc >= lo[0]) & (zc <= hi[0]))[:, None, None]
                & ((yc >= lo[1]) & (yc <= hi[1]))[None, :, None]
                & ((xc >= lo[2]) & (xc <= hi[2]))[None, None, :]
            )
            fine = np.where(inside, fine, 0.0)
            out[k] = fine.reshape(ss, ny, ss, nx, ss).mean(axis=(0, 2, 4))
        out += voxelize_ellipsoids(self.ellipsoids, grid, supersample=max(ss, 3))
        return Volume(out.astype(np.float32), grid, {"source": "phantom"})


class _Shape:
    """Signed distance to the breast surface (positive inside), from a 2D outline distance."""

    def __init__(self, depth, width, thickness, support, grid: VolumeGrid):
        self.depth, self.width, self.thickness, self.support = depth, width, thickness, support
        self.radius = thickness / 2.0
        self.z_mid = support + thickness / 2.0
        _, dy, dx = grid.voxel_mm
        y = grid.y_mm
        pad = int(np.ceil((self.radius + 2.0) / dx)) + 2
        x = grid.x_mm[0] + dx * np.arange(-pad, grid.shape[2])
        rho2 = (x[None, :] / depth) ** 2 + (y[:, None] / (width / 2.0)) ** 2
        inside = rho2 <= 1.0
        d_in = ndimage.distance_transform_edt(inside, sampling=(dy, dx))
        d_out = ndimage.distance_transform_edt(~inside, sampling=(dy, dx))
        half = 0.5 * min(dy, dx)
        d2 = np.where(inside, d_in - half, -(d_out - half))
        self.d2 = d2[:, pad:].astype(np.float32)  # (ny, nx) on the grid
        self.rho2 = rho2[:, pad:].astype(np.float32)
        self.grid = grid

    def slice_distance(self, z: float) -> np.ndarray:
        """3D distance to the surface for every (y, x) at height z (negative outside)."""
        dz = z - self.z_mid
        r = self.radius
        return (r - np.sqrt(np.square(np.maximum(r - self.d2, 0.0)) + dz * dz)).astype(np.float32)

    def distance(self, points_mm) -> np.ndarray:
        """3D distance to the surface at points (N, 3) (x, y, z)."""
        p = np.atleast_2d(np.asarray(points_mm, dtype=np.float64))
        idx = self.grid.mm_to_index(p)
        d2 = ndimage.map_coordinates(self.d2, [idx[:, 1], idx[:, 2]], order=1, mode="nearest")
        out = self.radius - np.sqrt(np.square(np.maximum(self.radius - d2, 0.0)) + np.square(p[:, 2] - self.z_mid))
        # beyond the chest wall or the box: outside
        out[p[:, 0] < 0] = -1.0
        return out


def _check_range(name, value, lo=0.0):
    v = float(value)
    if not np.isfinite(v) or v <= lo:
        raise ValueError(f"breast_phantom: {name} must be > {lo}, got {value}")
    return v


def _place(rng, shape: _Shape, reach: float, taken: list, *, tries: int = 4000) -> np.ndarray | None:
    """A random centre at least ``reach`` inside the breast and clear of earlier lesions."""
    lo = np.array([reach + 1.0, -shape.width / 2 + reach, shape.support + reach])
    hi = np.array([shape.depth - reach, shape.width / 2 - reach, shape.support + shape.thickness - reach])
    if np.any(hi <= lo):
        return None
    for _ in range(tries):
        p = rng.uniform(lo, hi)
        if shape.distance(p)[0] < reach + SKIN_MM + 0.5:
            continue
        if any(np.linalg.norm(p - c) < reach + r + 1.0 for c, r in taken):
            continue
        return p
    return None


def breast_phantom(
    *,
    seed: int = 0,
    size: str = "full",
    density: str = "b",
    view: str = "RCC",
    support_height_mm: float = 0.0,
    thickness_mm: float | None = None,
    depth_mm: float | None = None,
    width_mm: float | None = None,
    voxel_mm: tuple[float, float, float] | None = None,
    n_masses: int | None = None,
    mass_shapes: tuple[str, ...] | None = None,
    n_clusters: int | None = None,
    n_calcifications: int | None = None,
    n_distortions: int | None = None,
    mass_diameter_mm: tuple[float, float] | None = None,
    cluster_radius_mm: tuple[float, float] | None = None,
    glandular_fraction: float | None = None,
) -> BreastPhantom:
    """Build a compressed breast phantom; the same arguments always give the same phantom.

    Parameters
    ----------
    seed : int
        Seed for every random choice (``numpy.random.default_rng``).
    size : {'full', 'small'}
        Defaults for the remaining options (:data:`BREAST_SIZES`).
    density : {'a', 'b', 'c', 'd'}
        BI-RADS composition category (:data:`DENSITY_GLANDULAR_FRACTION`).
    view : {'RCC', 'LCC', 'RMLO', 'LMLO'}
        Laterality and view; MLO adds the pectoral muscle.
    support_height_mm : float
        Height of the breast support above the detector (``Geometry.support_height_mm``).
    thickness_mm, depth_mm, width_mm : float, optional
        Compressed thickness, chest wall to nipple, width along the chest wall.
    voxel_mm : (dz, dy, dx), optional
        Voxel size of the background; ``thickness_mm`` is rounded to whole slices.
    n_masses, n_clusters, n_calcifications, n_distortions : int, optional
        Number of masses, grouped calcification clusters, single calcifications and
        architectural distortions.
    mass_shapes : sequence of str, optional
        Shapes of the masses in order (cycled); default a random choice from
        round, oval, irregular, spiculated.
    mass_diameter_mm, cluster_radius_mm : (low, high), optional
        Ranges the sizes are drawn from.
    glandular_fraction : float, optional
        Override the fraction that ``density`` implies.

    Returns
    -------
    BreastPhantom
    """
    if size not in BREAST_SIZES:
        raise ValueError(f"breast_phantom: size must be one of {', '.join(BREAST_SIZES)}, got {size!r}")
    if density not in DENSITY_GLANDULAR_FRACTION:
        raise ValueError(f"breast_phantom: density must be one of a, b, c, d, got {density!r}")
    laterality, view_code = parse_view(view)
    d = dict(BREAST_SIZES[size])
    for key, val in (
        ("thickness_mm", thickness_mm),
        ("depth_mm", depth_mm),
        ("width_mm", width_mm),
        ("voxel_mm", voxel_mm),
        ("n_masses", n_masses),
        ("n_clusters", n_clusters),
        ("n_calcifications", n_calcifications),
        ("n_distortions", n_distortions),
        ("mass_diameter_mm", mass_diameter_mm),
        ("cluster_radius_mm", cluster_radius_mm),
    ):
        if val is not None:
            d[key] = val
    thick = _check_range("thickness_mm", d["thickness_mm"])
    depth = _check_range("depth_mm", d["depth_mm"])
    width = _check_range("width_mm", d["width_mm"])
    if thick > min(2 * depth, width):
        raise ValueError(f"breast_phantom: thickness_mm {thick} is too large for a {depth} x {width} mm outline")
    vox = tuple(_check_range("voxel_mm", v) for v in np.broadcast_to(np.asarray(d["voxel_mm"], float), (3,)))
    support = float(support_height_mm)
    if not np.isfinite(support) or support < 0:
        raise ValueError(f"breast_phantom: support_height_mm must be >= 0, got {support_height_mm}")
    counts = {}
    for key in ("n_masses", "n_clusters", "n_calcifications", "n_distortions"):
        n = d[key]
        if int(n) != n or n < 0:
            raise ValueError(f"breast_phantom: {key} must be a non-negative integer, got {n}")
        counts[key] = int(n)
    shapes = tuple(mass_shapes) if mass_shapes is not None else None
    if shapes is not None:
        if not shapes:
            raise ValueError("breast_phantom: mass_shapes must not be empty")
        for s in shapes:
            if s not in MASS_SHAPES:
                raise ValueError(f"breast_phantom: mass shape must be one of {MASS_SHAPES}, got {s!r}")
    gf = DENSITY_GLANDULAR_FRACTION[density] if glandular_fraction is None else float(glandular_fraction)
    if not 0.0 <= gf < 1.0:
        raise ValueError(f"breast_phantom: glandular_fraction must be in [0, 1), got {glandular_fraction}")

    rng = np.random.default_rng(seed)
    # -- grid -------------------------------------------------------------------------
    nz = max(1, int(round(thick / vox[0])))
    dz = thick / nz
    dy, dx = vox[1], vox[2]
    ny = int(np.ceil(width / dy)) + 3
    nx = int(np.ceil(depth / dx)) + 2
    grid = VolumeGrid(
        shape=(nz, ny, nx), voxel_mm=(dz, dy, dx), origin_mm=(support + dz / 2, -(ny - 1) * dy / 2, dx / 2)
    )
    shape = _Shape(depth, width, thick, support, grid)

    # -- fibroglandular texture: coarse power-law field, upsampled ----------------------
    coarse = max(0.6, 2 * dx)
    cshape = (
        int(np.ceil(thick / coarse)) + 2,
        int(np.ceil(ny * dy / coarse)) + 2,
        int(np.ceil(nx * dx / coarse)) + 2,
    )
    noise = power_law_noise(cshape, (coarse, coarse, coarse), beta=TEXTURE_BETA, rng=rng)
    corg = (support - coarse / 2, grid.origin_mm[1] - coarse / 2, grid.origin_mm[2] - coarse / 2)
    field_ = resample_trilinear(noise, corg, (coarse,) * 3, grid.shape, grid.origin_mm, grid.voxel_mm)
    bias_xy = 1.2 * (1.0 - np.minimum(shape.rho2, 1.0))
    zc = grid.z_mm
    gland_margin = SKIN_MM + min(SUBCUTANEOUS_FAT_MM, 0.06 * thick)
    dists = np.empty(grid.shape, dtype=np.float32)
    for k in range(nz):
        dists[k] = shape.slice_distance(zc[k])
        field_[k] += bias_xy - 0.5 * ((zc[k] - shape.z_mid) / shape.radius) ** 2
    interior = dists >= gland_margin
    nonskin = dists >= SKIN_MM
    n_interior = int(np.count_nonzero(interior))
    target = min(gf * np.count_nonzero(nonskin) / max(n_interior, 1), 0.98)
    if gf > 0 and n_interior:
        thr = float(np.quantile(field_[interior][::7], 1.0 - target))
        gland = interior & (field_ > thr)
    else:
        gland = np.zeros(grid.shape, dtype=bool)
    del field_
    achieved = float(np.count_nonzero(gland) / max(np.count_nonzero(nonskin), 1))

    # -- compose the background ---------------------------------------------------------
    body = np.clip(dists / dx + 0.5, 0.0, 1.0).astype(np.float32)
    tissue = np.where(gland, materials.MU_GLANDULAR, materials.MU_ADIPOSE).astype(np.float32)
    tissue = np.where(dists < SKIN_MM, np.float32(materials.MU_SKIN), tissue)
    if view_code == "MLO":
        # superior (axilla) side: -y for right, +y for left MLO (app.dicom.views.detector_to_patient)
        sgn = -1.0 if laterality == "R" else 1.0
        span = 0.7 * width
        s = (sgn * grid.y_mm - (width / 2 - span)) / span  # 0 at the muscle's lower tip, 1 at the top
        reach = 0.3 * depth * np.clip(s, 0.0, None)
        muscle2d = grid.x_mm[None, :] < reach[:, None]
        tissue = np.where(muscle2d[None] & (dists >= SKIN_MM), np.float32(materials.MU_MUSCLE), tissue)
    data = (body * tissue).astype(np.float32)
    del tissue

    # -- lesions --------------------------------------------------------------------------
    lesions: list[Lesion] = []
    ellipsoids: list[Ellipsoid] = []
    taken: list[tuple[np.ndarray, float]] = []
    for m in range(counts["n_masses"]):
        kind = shapes[m % len(shapes)] if shapes else str(rng.choice(MASS_SHAPES))
        diam = rng.uniform(*d["mass_diameter_mm"])
        reach = diam / 2 * (2.0 if kind == "spiculated" else 1.2)
        c = _place(rng, shape, min(reach, diam / 2 + 1.0), taken)
        if c is None:
            raise ValueError(f"breast_phantom: no room for a {diam:.1f} mm mass in this breast")
        model, les = make_mass(kind, c, diam, materials.MU_CARCINOMA, rng)
        draw_mass(data, grid, model, body=body)
        lesions.append(les)
        taken.append((c, reach))
    for _ in range(counts["n_distortions"]):
        diam = rng.uniform(*d["mass_diameter_mm"]) * 1.5
        c = _place(rng, shape, diam / 4, taken)
        if c is None:
            raise ValueError("breast_phantom: no room for an architectural distortion in this breast")
        model, les = make_architectural_distortion(c, diam, materials.MU_GLANDULAR, rng)
        draw_mass(data, grid, model, body=body)
        lesions.append(les)
        taken.append((c, diam / 2))
    for _ in range(counts["n_clusters"]):
        radius = rng.uniform(*d["cluster_radius_mm"])
        c = _place(rng, shape, radius + 0.5, taken)
        if c is None:
            raise ValueError(f"breast_phantom: no room for a {radius:.1f} mm calcification cluster")
        n_members = int(rng.integers(5, 13))
        ells, les = make_calcification_cluster(
            c,
            radius,
            n_members,
            CALCIFICATION_DIAMETER_MM,
            materials.CALCIFICATION_MU_RANGE,
            materials.MU_GLANDULAR,
            rng,
        )
        ellipsoids.extend(ells)
        lesions.append(les)
        taken.append((np.asarray(les.center_mm), les.size_mm / 2 + 0.5))
    for _ in range(counts["n_calcifications"]):
        diam = rng.uniform(*CALCIFICATION_DIAMETER_MM)
        c = _place(rng, shape, 1.0, taken)
        if c is None:
            raise ValueError("breast_phantom: no room for a single calcification")
        ell, info = make_calcification(
            c, diam, rng.uniform(*materials.CALCIFICATION_MU_RANGE), materials.MU_GLANDULAR, rng
        )
        ellipsoids.append(ell)
        extent = 2.0 * np.abs(ell.rotation) @ np.asarray(ell.semi_axes_mm)
        lesions.append(
            Lesion(
                "calcification",
                ell.center_mm,
                diam,
                extent,
                {k: v for k, v in info.items() if k not in ("center_mm", "size_mm")},
            )
        )
        taken.append((c, 1.0))

    options = {
        "size": size,
        "depth_mm": depth,
        "width_mm": width,
        "voxel_mm": tuple(float(v) for v in grid.voxel_mm),
        **counts,
        "mass_shapes": list(shapes) if shapes else None,
        "target_glandular_fraction": gf,
        "texture_beta": TEXTURE_BETA,
    }
    return BreastPhantom(
        volume=Volume(data, grid, {"source": "breast_phantom", "seed": int(seed)}),
        ellipsoids=tuple(ellipsoids),
        lesions=tuple(lesions),
        thickness_mm=thick,
        support_height_mm=support,
        depth_mm=depth,
        width_mm=width,
        skin_mm=SKIN_MM,
        laterality=laterality,
        view=view_code,
        density=density,
        glandular_fraction=achieved,
        seed=int(seed),
        options=options,
    )
