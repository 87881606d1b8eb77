"""Geometry presets of commercial DBT systems and of the FDA VICTRE simulation.

Figures from ../shared/reference/recon.md section 2 (LAVI-USP parameter files, pyDBT and
VICTRE constants). Distances in mm. Detector shapes are (rows along y, columns along x).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recon.geometry import Geometry, arc_geometry

__all__ = ["SystemPreset", "PRESETS", "preset_geometry", "preset_names"]


@dataclass(frozen=True)
class SystemPreset:
    """Nominal acquisition parameters of one DBT system."""

    name: str
    description: str
    manufacturer: str
    n_views: int
    arc_deg: float
    source_to_detector_mm: float
    pivot_height_mm: float
    support_height_mm: float
    detector_shape: tuple[int, int]
    pixel_mm: float
    detector_tilt_deg: float = 0.0
    first_angle_deg: float | None = None
    angle_step_deg: float | None = None
    # the vendor's reconstruction grid (nz, ny, nx) at (dz, dy, dx): reference only
    recon_shape: tuple[int, int, int] | None = None
    recon_voxel_mm: tuple[float, float, float] | None = None


PRESETS: dict[str, SystemPreset] = {
    p.name: p
    for p in (
        SystemPreset(
            name="ge-essential",
            description="GE Senographe Essential: 9 views over 25 degrees, stationary detector",
            manufacturer="GE Healthcare",
            n_views=9,
            arc_deg=25.0,
            source_to_detector_mm=660.0,
            pivot_height_mm=40.0,
            support_height_mm=22.0,
            detector_shape=(3062, 2394),
            pixel_mm=0.1,
            recon_shape=(107, 1978, 1058),
            recon_voxel_mm=(0.5, 0.1, 0.1),
        ),
        SystemPreset(
            name="hologic-dimensions",
            description="Hologic Selenia Dimensions: 15 views over 15 degrees, detector tilts +-2.1 degrees",
            manufacturer="HOLOGIC, Inc.",
            n_views=15,
            arc_deg=15.0,
            source_to_detector_mm=700.0,
            pivot_height_mm=0.0,
            support_height_mm=25.0,
            detector_shape=(2048, 1664),
            pixel_mm=0.14,
            detector_tilt_deg=4.2,
            recon_shape=(78, 2457, 1996),
            recon_voxel_mm=(1.0, 0.112, 0.112),
        ),
        SystemPreset(
            name="siemens-mammomat",
            description="Siemens Mammomat Inspiration: 25 views over 50 degrees, stationary detector",
            manufacturer="Siemens Healthineers",
            n_views=25,
            arc_deg=50.0,
            source_to_detector_mm=650.0,
            pivot_height_mm=47.0,
            support_height_mm=17.0,
            detector_shape=(3264, 1376),
            pixel_mm=0.085,
            recon_shape=(49, 3264, 1372),
            recon_voxel_mm=(1.0, 0.085, 0.085),
        ),
        SystemPreset(
            name="victre",
            description="FDA VICTRE simulation: 25 views from -25 degrees in steps of 2.0833 degrees",
            manufacturer="FDA VICTRE (simulated)",
            n_views=25,
            arc_deg=50.0,
            source_to_detector_mm=650.0,
            pivot_height_mm=50.0,
            # VICTRE gives no air gap; the breast lies on the support just above the detector
            support_height_mm=20.0,
            detector_shape=(3000, 1500),
            pixel_mm=0.085,
            first_angle_deg=-25.0,
            angle_step_deg=50.0 / 24.0,
        ),
    )
}


def preset_names() -> list[str]:
    """Names of the geometry presets, for command-line choices."""
    return list(PRESETS)


def preset_geometry(
    name: str,
    *,
    detector_shape: tuple[int, int] | None = None,
    pixel_mm: float | None = None,
    binning: int = 1,
    n_views: int | None = None,
    arc_deg: float | None = None,
) -> Geometry:
    """Geometry of a named system, optionally with a smaller detector or other pixel pitch.

    Parameters
    ----------
    name : str
        One of :func:`preset_names` (``ge-essential``, ``hologic-dimensions``,
        ``siemens-mammomat``, ``victre``).
    detector_shape : (rows, columns), optional
        A detector of another size (for tests: a small crop, chest-wall edge kept at x = 0
        and centred in y).
    pixel_mm : float, optional
        Another pixel pitch (for tests and previews).
    binning : int
        Bin the detector by this factor in both directions.
    n_views, arc_deg : optional
        Override the number of views or the angular range (evenly spaced).

    Returns
    -------
    Geometry
    """
    try:
        p = PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown system {name!r}; choose one of {', '.join(PRESETS)}") from None
    views = int(n_views or p.n_views)
    arc = float(arc_deg if arc_deg is not None else p.arc_deg)
    if p.first_angle_deg is not None and n_views is None and arc_deg is None:
        angles = np.deg2rad(p.first_angle_deg + p.angle_step_deg * np.arange(p.n_views))
    else:
        half = np.deg2rad(arc) / 2
        angles = np.linspace(-half, half, views) if views > 1 else np.zeros(1)
    geom = arc_geometry(
        angles_rad=angles,
        source_to_detector_mm=p.source_to_detector_mm,
        pivot_height_mm=p.pivot_height_mm,
        detector_shape=detector_shape or p.detector_shape,
        pixel_mm=pixel_mm or p.pixel_mm,
        detector_tilt_deg=p.detector_tilt_deg,
        support_height_mm=p.support_height_mm,
        name=p.name,
    )
    return geom.binned(binning) if binning != 1 else geom
