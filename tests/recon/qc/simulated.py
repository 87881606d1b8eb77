"""A small, independent acquisition simulator for the QC tests.

Analytic line integrals (a compressed-breast slab with a semi-elliptical outline, plus spherical
calcifications), Poisson quanta, and the faults the QC checks must find: per-view exposure factors,
patient motion (a rigid shift of the breast from a given view on), dead detector columns.
"""

from __future__ import annotations

import numpy as np

from recon import ProjectionSet, preset_geometry

MU_TISSUE = 0.08  # 1/mm, 50 % glandular breast near 20 keV
MU_CALC = 1.8  # 1/mm, hydroxyapatite near 20 keV


def default_calcs(rng: np.random.Generator | None = None, n: int = 8, support_mm: float = 25.0, thickness_mm=40.0):
    """Calcifications spread over the breast: (x, y, z, radius) in mm."""
    rng = rng or np.random.default_rng(1234)
    x = rng.uniform(8, 32, n)
    y = rng.uniform(-18, 18, n)
    z = support_mm + rng.uniform(8, thickness_mm - 8, n)
    r = rng.uniform(0.35, 0.5, n)
    return np.stack([x, y, z, r], axis=1)


def line_integrals(geometry, view, *, calcs, thickness_mm, support_mm, shift_mm=(0.0, 0.0), breast_xy=(42.0, 28.0)):
    """Line integrals of one view: slab (semi-ellipse x<=a, |y|<=b) and spheres, shifted by shift_mm (dx, dy)."""
    pix = geometry.pixel_centers_mm(view)  # (nv, nu, 3)
    src = geometry.source_mm[view]
    d = pix - src
    length = np.linalg.norm(d, axis=2)
    u = d / length[..., None]
    # slab: path T / cos(gamma) where the ray crosses the mid-plane inside the outline
    zmid = support_mm + thickness_mm / 2
    t = (zmid - src[2]) / u[..., 2]
    px = src[0] + t * u[..., 0] - shift_mm[0]
    py = src[1] + t * u[..., 1] - shift_mm[1]
    a, b = breast_xy
    inside = (px >= 0) & ((px / a) ** 2 + (py / b) ** 2 <= 1.0)
    L = np.where(inside, MU_TISSUE * thickness_mm / np.abs(u[..., 2]), 0.0)
    for cx, cy, cz, r in calcs:
        c = np.array([cx + shift_mm[0], cy + shift_mm[1], cz])
        w = c - src
        proj = np.einsum("ijk,k->ij", u, w)
        dist2 = np.sum(w * w) - proj**2
        chord = 2.0 * np.sqrt(np.clip(r * r - dist2, 0.0, None))
        L += (MU_CALC - MU_TISSUE) * chord
    return L


def simulate(
    geometry=None,
    *,
    seed: int = 0,
    i0: float = 3000.0,
    calcs=None,
    thickness_mm: float = 40.0,
    exposure_factors=None,
    motion_from_view: int | None = None,
    motion_mm=(0.0, 0.0),
    motion_views=None,
    dead_columns=(),
    true_geometry=None,
    mas: float = 50.0,
) -> ProjectionSet:
    """Raw detector signal (quanta per pixel) of a simulated acquisition.

    ``true_geometry`` (default ``geometry``) is where the views were really taken; ``geometry``
    is what the set says (a wrong angle list). Motion shifts the breast by ``motion_mm`` (dx, dy)
    for views >= ``motion_from_view``, or for the views listed in ``motion_views``.
    """
    if geometry is None:
        geometry = preset_geometry("hologic-dimensions", detector_shape=(128, 96), pixel_mm=0.5)
    true_geometry = true_geometry or geometry
    support = geometry.support_height_mm
    if calcs is None:
        calcs = default_calcs(support_mm=support, thickness_mm=thickness_mm)
    n = geometry.n_views
    factors = np.ones(n) if exposure_factors is None else np.asarray(exposure_factors, float)
    rng = np.random.default_rng(seed)
    out = np.empty((n,) + geometry.detector_shape, np.float32)
    for v in range(n):
        moved = (motion_from_view is not None and v >= motion_from_view) or (
            motion_views is not None and v in motion_views
        )
        shift = motion_mm if moved else (0.0, 0.0)
        L = line_integrals(true_geometry, v, calcs=calcs, thickness_mm=thickness_mm, support_mm=support, shift_mm=shift)
        # primary fluence falls with obliquity and distance
        pix = true_geometry.pixel_centers_mm(v)
        d = pix - true_geometry.source_mm[v]
        r = np.linalg.norm(d, axis=2)
        cosa = np.abs(np.sum(d * true_geometry.detector_normal[v], axis=2)) / r
        sdd = true_geometry.source_to_detector_mm or 650.0
        mean = i0 * factors[v] * cosa * (sdd / r) ** 2 * np.exp(-L)
        out[v] = rng.poisson(mean).astype(np.float32)
    for c in dead_columns:
        out[:, :, c] = 0.0
    return ProjectionSet(
        data=out, geometry=geometry, exposure_mas=np.full(n, mas / n), is_line_integral=False, metadata={}
    )
