"""Synthetic training and test cases: phantom -> simulated acquisition -> FBP volume + truth.

Every case is determined by its seed. The recipe varies the system geometry, breast density,
thickness, size, dose and view; lesions are drawn by the phantom (masses of four shapes,
calcification clusters, single calcifications). Training, validation and test sets use
disjoint seed ranges (``SPLITS``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recon.phantoms.breast import breast_phantom
from recon.presets import preset_geometry
from recon.reconstruct import reconstruct
from recon.simulate import simulate_acquisition, to_line_integrals
from recon.types import Volume, VolumeGrid

__all__ = ["SPLITS", "RECIPE", "MASS_RECIPE", "Case", "make_case"]

SPLITS = {
    "train": range(1000, 1999),
    "val": range(2000, 2999),
    "mass_train": range(3000, 3999),
    "test": range(9000, 9999),
}

RECIPE = {
    "systems": ("ge-essential", "hologic-dimensions", "siemens-mammomat", "victre"),
    "system_weights": (0.4, 0.3, 0.15, 0.15),
    "densities": ("a", "b", "c", "d"),
    "thickness_mm": (25.0, 50.0),
    "depth_mm": (40.0, 55.0),
    "width_mm": (55.0, 75.0),
    "dose_factor": (0.3, 1.0),
    "views": ("RCC", "LCC", "RMLO", "LMLO"),
    "n_masses": (0, 2),
    "n_clusters": (0, 2),
    "n_calcifications": (0, 4),
    "mass_diameter_mm": (5.0, 14.0),
    "cluster_radius_mm": (2.0, 5.0),
    "slice_mm": 1.0,
}

MASS_RECIPE = {**RECIPE, "n_masses": (1, 3)}
"""The recipe of the extra cases that train the mass network (``mass_train`` split): one to
three masses per case, so that the rarer lesion gets more examples; everything else as
:data:`RECIPE`."""


@dataclass(frozen=True)
class Case:
    """One synthetic case: the FBP volume, its truth dict and the recipe draw."""

    seed: int
    volume: Volume
    truth: dict
    params: dict


def _detector_for(system: str, depth: float, width: float, top: float):
    g0 = preset_geometry(system)
    pitch = g0.pixel_mm[1]
    half_arc = np.max(np.abs(g0.angles_rad))
    mag = 1.2
    rows = int(np.ceil((width * mag + 2 * top * np.tan(half_arc) + 10.0) / pitch))
    cols = int(np.ceil((depth * mag + 6.0) / pitch))
    return preset_geometry(system, detector_shape=(rows, cols))


def make_case(seed: int, *, recipe: dict | None = None, progress=None) -> Case:
    """Draw a case from ``recipe`` (default :data:`RECIPE`) with ``seed`` and reconstruct it with FBP."""
    rng = np.random.default_rng(seed)
    r = RECIPE if recipe is None else recipe
    system = str(rng.choice(r["systems"], p=r["system_weights"]))
    params = {
        "system": system,
        "density": str(rng.choice(r["densities"])),
        "thickness_mm": float(np.round(rng.uniform(*r["thickness_mm"]))),
        "depth_mm": float(rng.uniform(*r["depth_mm"])),
        "width_mm": float(rng.uniform(*r["width_mm"])),
        "dose_factor": float(rng.uniform(*r["dose_factor"])),
        "view": str(rng.choice(r["views"])),
        "n_masses": int(rng.integers(r["n_masses"][0], r["n_masses"][1] + 1)),
        "n_clusters": int(rng.integers(r["n_clusters"][0], r["n_clusters"][1] + 1)),
        "n_calcifications": int(rng.integers(r["n_calcifications"][0], r["n_calcifications"][1] + 1)),
    }
    geom0 = preset_geometry(system)
    phantom = breast_phantom(
        seed=seed,
        size="small",
        density=params["density"],
        view=params["view"],
        support_height_mm=geom0.support_height_mm,
        thickness_mm=params["thickness_mm"],
        depth_mm=params["depth_mm"],
        width_mm=params["width_mm"],
        n_masses=params["n_masses"],
        n_clusters=params["n_clusters"],
        n_calcifications=params["n_calcifications"],
        mass_diameter_mm=r["mass_diameter_mm"],
        cluster_radius_mm=r["cluster_radius_mm"],
    )
    geom = _detector_for(system, params["depth_mm"], params["width_mm"], phantom.z_range_mm[1])
    raw = simulate_acquisition(phantom, geom, dose_factor=params["dose_factor"], seed=seed + 7)
    li = to_line_integrals(raw)
    pitch = geom.pixel_mm[1]
    grid = VolumeGrid.for_geometry(
        geom,
        params["thickness_mm"],
        slice_mm=r["slice_mm"],
        pixel_mm=pitch,
        extent_x_mm=params["depth_mm"] + 4.0,
        extent_y_mm=params["width_mm"] + 4.0,
    )
    volume = reconstruct(li, geom, grid, method="fbp", progress=progress)
    return Case(seed, volume, phantom.truth(), params)
