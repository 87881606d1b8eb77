"""A synthetic screening study with known content, for tests, benchmarks and demos.

Four DBT stacks (R/L CC and MLO) and their synthetic 2D images. Each breast is a half
ellipse from the chest wall to the nipple with a smooth tissue texture that changes from
slice to slice. Known objects (in ``image.metadata['truth']`` as ``(slice, row, col)`` in
the stored array):

- ``nipple_marker``: a bright disc near the nipple;
- ``upper_marker``: a bright disc on the side that the standard display puts at the top
  (lateral on CC, axilla/head on MLO);
- ``mass``: a soft blob in focus on one slice, spreading along the tube direction (rows)
  on the others as tomosynthesis blurs out-of-plane objects;
- ``calcification`` (right CC only): a tiny bright speck in focus on one slice.

R CC and L MLO are in the project's array order (no Patient Orientation: columns from the
chest wall, rows toward the patient's left); L CC (``A\\R``) and R MLO (``P\\FL``) carry the
standard stored orientation, so every flip path of the display is exercised.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from app.model.image import DisplayImage
from app.model.orientation import default_volume_orientation, display_flips, standard_orientation
from app.model.study import Study

__all__ = ["demo_study", "demo_tomo"]

# laterality, view, stored Patient Orientation (None: the project's array order, see
# app.model.orientation.default_volume_orientation)
_VIEWS = (
    ("R", "CC", None),
    ("L", "CC", ("A", "R")),
    ("R", "MLO", ("P", "FL")),
    ("L", "MLO", None),
)


def _add_blob(vol, k0, r0, c0, *, amplitude, sigma_px, spread_px_per_slice):
    """Add an object in focus on slice k0 that blurs along rows on the other slices."""
    nz, ny, nx = vol.shape
    for k in range(nz):
        sy = sigma_px + spread_px_per_slice * abs(k - k0)
        sx = sigma_px
        amp = amplitude * sigma_px / sy
        hy, hx = int(np.ceil(4 * sy)) + 1, int(np.ceil(4 * sx)) + 1
        ra, rb = max(0, r0 - hy), min(ny, r0 + hy + 1)
        ca, cb = max(0, c0 - hx), min(nx, c0 + hx + 1)
        yy = (np.arange(ra, rb) - r0)[:, None]
        xx = (np.arange(ca, cb) - c0)[None, :]
        vol[k, ra:rb, ca:cb] += (amp * np.exp(-0.5 * ((yy / sy) ** 2 + (xx / sx) ** 2))).astype(np.float32)


def demo_tomo(
    laterality: str = "R",
    view: str = "CC",
    *,
    shape: tuple[int, int, int] = (24, 192, 256),
    pixel_mm: float = 0.5,
    slice_mm: float = 1.0,
    seed: int = 0,
    calcification: bool = False,
) -> tuple[np.ndarray, dict]:
    """One synthetic DBT stack, columns from the chest wall, upper side (lateral/axilla) at row 0.

    Returns the float32 array (nz, ny, nx) and the truth dict of ``(slice, row, col)``.
    """
    nz, ny, nx = (int(s) for s in shape)
    if nz < 4 or ny < 32 or nx < 32:
        raise ValueError(f"demo_tomo: shape must be at least (4, 32, 32), got {shape}")
    rng = np.random.default_rng(seed)
    yy = (np.arange(ny, dtype=np.float32) - (ny - 1) / 2)[:, None] / (0.45 * ny)
    xx = np.arange(nx, dtype=np.float32)[None, :] / (0.85 * nx)
    mask = (xx**2 + yy**2 <= 1.0).astype(np.float32)
    sigma = max(1.0, 2.0 / pixel_mm)
    t1 = ndimage.gaussian_filter(rng.standard_normal((ny, nx)).astype(np.float32), sigma)
    t2 = ndimage.gaussian_filter(rng.standard_normal((ny, nx)).astype(np.float32), sigma)
    t1 /= np.abs(t1).max() + 1e-12
    t2 /= np.abs(t2).max() + 1e-12
    vol = np.empty((nz, ny, nx), dtype=np.float32)
    for k in range(nz):
        phi = np.float32(2 * np.pi * k / nz)
        vol[k] = mask * (np.float32(0.045) + np.float32(0.012) * (np.cos(phi) * t1 + np.sin(phi) * t2))
    r_mid = ny // 2
    truth = {
        "nipple_marker": (nz // 3, r_mid, int(0.72 * nx)),
        "upper_marker": (nz // 2, int(0.2 * ny), int(0.25 * nx)),
        "mass": ((2 * nz) // 3, int(0.62 * ny), int(0.45 * nx)),
    }
    disc = max(2.0, 2.5 / pixel_mm)
    spread = max(0.5, 0.6 / pixel_mm)
    _add_blob(vol, *truth["nipple_marker"], amplitude=0.12, sigma_px=disc, spread_px_per_slice=spread)
    _add_blob(vol, *truth["upper_marker"], amplitude=0.12, sigma_px=disc, spread_px_per_slice=spread)
    _add_blob(vol, *truth["mass"], amplitude=0.03, sigma_px=max(2.0, 2.0 / pixel_mm), spread_px_per_slice=spread)
    if calcification:
        truth["calcification"] = (nz // 2 - 1, int(0.38 * ny), int(0.55 * nx))
        _add_blob(
            vol,
            *truth["calcification"],
            amplitude=0.6,
            sigma_px=max(0.6, 0.15 / pixel_mm),
            spread_px_per_slice=max(1.5, 1.0 / pixel_mm),
        )
    return vol, truth


def demo_study(
    *,
    shape: tuple[int, int, int] = (24, 192, 256),
    pixel_mm: float = 0.5,
    slice_mm: float = 1.0,
    seed: int = 0,
    synthetic2d: bool = True,
    patient_name: str = "DEMO^SCREENING",
    study_uid: str = "2.25.1000000000000000000000000000000000001",
) -> Study:
    """A 4-view DBT study (plus synthetic 2D images) with known content; see the module notes."""
    images = []
    for i, (lat, view, orientation) in enumerate(_VIEWS):
        vol, truth = demo_tomo(
            lat,
            view,
            shape=shape,
            pixel_mm=pixel_mm,
            slice_mm=slice_mm,
            seed=seed + i,
            calcification=(lat, view) == ("R", "CC"),
        )
        nz, ny, nx = vol.shape
        # demo_tomo draws in the standard display orientation with the nipple on the right
        # (A, standard column direction); flip into the orientation the image declares
        stored = orientation or default_volume_orientation(lat, view)
        canonical = ("A", standard_orientation(lat, view)[1])
        flip_r = display_flips(stored, lat, view)[1] != display_flips(canonical, lat, view)[1]
        flip_c = display_flips(stored, lat, view)[0] != display_flips(canonical, lat, view)[0]
        if flip_r:
            vol = np.ascontiguousarray(vol[:, ::-1, :])
            truth = {k: (s, ny - 1 - r, c) for k, (s, r, c) in truth.items()}
        if flip_c:
            vol = np.ascontiguousarray(vol[:, :, ::-1])
            truth = {k: (s, r, nx - 1 - c) for k, (s, r, c) in truth.items()}
        heights = 1.0 + slice_mm * (0.5 + np.arange(nz))
        common = dict(
            laterality=lat,
            view=view,
            pixel_mm=(pixel_mm, pixel_mm),
            origin_mm=(-(ny - 1) * pixel_mm / 2, 0.0),
            patient_orientation=orientation,
        )
        tomo = DisplayImage(
            vol, kind="tomo", slice_heights_mm=heights, uid=f"{study_uid}.{i + 1}", metadata={"truth": truth}, **common
        )
        images.append(tomo)
        if synthetic2d:
            s2d = (0.5 * vol.mean(axis=0) + 0.5 * vol.max(axis=0)).astype(np.float32)
            truth2d = {k: (0, r, c) for k, (_, r, c) in truth.items()}
            images.append(
                DisplayImage(
                    s2d, kind="synthetic2d", uid=f"{study_uid}.{i + 11}", metadata={"truth": truth2d}, **common
                )
            )
    return Study(
        images=images,
        patient_name=patient_name,
        patient_id="DEMO001",
        study_uid=study_uid,
        study_date="20240501",
        description="Synthetic DBT screening (demo)",
        source="demo",
    )
