"""Simulated acquisitions for the QC tests (H3's breast phantom and acquisition simulation), with faults.

Faults: per-view exposure factors, patient motion (the phantom translated from a given view on,
or in chosen views), dead detector columns, a dropped projection, a wrong angle list.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np

from recon import ProjectionSet, Volume, VolumeGrid, preset_geometry
from recon.phantoms import Ellipsoid, breast_phantom, sphere
from recon.simulate import simulate_acquisition

SHAPE = (128, 96)
THICKNESS_MM = 20.0
PIXEL_MM = 0.25


def geometry(system: str = "hologic-dimensions", **kw):
    return preset_geometry(system, detector_shape=SHAPE, pixel_mm=PIXEL_MM, **kw)


@lru_cache(maxsize=8)
def phantom(seed: int = 0, support_height_mm: float = 25.0, extra_calcifications: int = 6):
    """The small test breast plus ``extra_calcifications`` 0.4-0.6 mm calcifications (features to track)."""
    ph = breast_phantom(
        seed=seed,
        size="small",
        support_height_mm=support_height_mm,
        thickness_mm=THICKNESS_MM,
        depth_mm=24.0,
        width_mm=28.0,
        voxel_mm=(1.0, 0.25, 0.25),
        n_masses=1,
        n_clusters=1,
        n_calcifications=8,
        density="b",
    )
    rng = np.random.default_rng(1000 + seed)
    extra = tuple(
        sphere(
            (rng.uniform(4, 18), rng.uniform(-10, 10), support_height_mm + rng.uniform(4, THICKNESS_MM - 4)),
            rng.uniform(0.4, 0.6),
            1.5,
        )
        for _ in range(extra_calcifications)
    )
    return dataclasses.replace(ph, ellipsoids=ph.ellipsoids + extra)


def shifted(ph, dx_mm: float, dy_mm: float):
    """The same phantom translated by (dx, dy) mm: the patient moved."""
    g = ph.volume.grid
    grid = VolumeGrid(g.shape, g.voxel_mm, (g.origin_mm[0], g.origin_mm[1] + dy_mm, g.origin_mm[2] + dx_mm))
    vol = Volume(ph.volume.data, grid, metadata=ph.volume.metadata)
    ells = tuple(
        Ellipsoid(
            (e.center_mm[0] + dx_mm, e.center_mm[1] + dy_mm, e.center_mm[2]), e.semi_axes_mm, e.mu_per_mm, e.rotation
        )
        for e in ph.ellipsoids
    )
    return dataclasses.replace(ph, volume=vol, ellipsoids=ells)


def acquire(
    *,
    system: str = "hologic-dimensions",
    seed: int = 0,
    phantom_seed: int = 0,
    exposure_factors=None,
    motion_from_view: int | None = None,
    motion_views=None,
    motion_mm=(0.0, 0.0),
    dead_columns=(),
    drop_view: int | None = None,
    stated_angles_deg=None,
    extra_calcifications: int = 6,
) -> ProjectionSet:
    """A raw acquisition of the test breast with the requested faults."""
    g = geometry(system)
    ph = phantom(phantom_seed, g.support_height_mm, extra_calcifications)
    proj = simulate_acquisition(ph, g, seed=seed)
    data = proj.data.copy()
    n = g.n_views
    moved = set()
    if motion_from_view is not None:
        moved |= set(range(motion_from_view, n))
    if motion_views is not None:
        moved |= set(motion_views)
    if moved:
        other = simulate_acquisition(shifted(ph, *motion_mm), g, seed=seed)
        for v in moved:
            data[v] = other.data[v]
    if exposure_factors is not None:
        f = np.asarray(exposure_factors, float)
        data = (data * f[:, None, None]).astype(np.float32)
    for c in dead_columns:
        data[:, :, c] = 0.0
    geom = g
    if stated_angles_deg is not None:
        geom = geometry(system) if stated_angles_deg is None else _with_angles(system, stated_angles_deg)
    mas = proj.exposure_mas
    if drop_view is not None:
        keep = [v for v in range(n) if v != drop_view]
        data, geom, mas = data[keep], geom.subset(keep), mas[keep]
    return ProjectionSet(data, geom, exposure_mas=mas, is_line_integral=False, metadata=dict(proj.metadata))


def _with_angles(system: str, angles_deg):
    from recon.geometry import arc_geometry
    from recon.presets import PRESETS

    p = PRESETS[system]
    return arc_geometry(
        angles_rad=np.deg2rad(np.asarray(angles_deg, float)),
        source_to_detector_mm=p.source_to_detector_mm,
        pivot_height_mm=p.pivot_height_mm,
        detector_shape=SHAPE,
        pixel_mm=PIXEL_MM,
        detector_tilt_deg=p.detector_tilt_deg,
        support_height_mm=p.support_height_mm,
        name=p.name,
    )
