"""Acquisition simulation: raw (For Processing) projections of a phantom, with noise and dose.

Forward model
-------------
Line integrals come from two independent models that share nothing with the
reconstruction projectors (no inverse crime): the voxel background is ray-marched
(:func:`recon.phantoms.raymarch_line_integrals`, one ray per pixel centre by default) and the
analytic objects (calcifications, beads) are integrated exactly over each pixel with
``subsamples`` x ``subsamples`` rays (:func:`recon.phantoms.ellipsoid_line_integrals`).
The beam is monoenergetic (20 keV); scatter, focal-spot and detector blur are not modelled.

Detector signal and noise
-------------------------
Raw signal of a pixel, linear in exposure (like a For Processing image)::

    S = gain * Poisson(N0 * exp(-L)) + Normal(0, sigma_e) + offset

* ``N0`` (photons per pixel per view, unattenuated) = ``dose_factor`` x
  :data:`REFERENCE_FLUENCE_PER_MM2` / views x pixel area. The reference, 1.0e7 photons/mm^2
  over the whole sweep at the detector, is of the order of the FDA VICTRE DBT simulation
  (1.02e10 x-rays per projection over a field of roughly 1.5-3e4 mm^2, 25 projections; their
  histories were matched to the air kerma of a real system). At about 5.8e6 photons/mm^2 per
  mGy (20-21 keV; VICTRE's W/Rh spectrum file gives 5.85e5 /mm^2 for 0.0978 mGy) that is
  about 1.7 mGy of air kerma at the detector without a breast, summed over the sweep.
  Examples at dose factor 1: GE (9 views, 0.1 mm) 11,100 photons per pixel per view;
  Siemens/VICTRE (25 views, 0.085 mm) 2,900; the 0.2 mm test detector with 9 views 44,400.
  The mean glandular dose is not computed here (it needs the spectrum and Dance factors).
* ``exposure_mas`` per view is nominal: :data:`REFERENCE_TOTAL_MAS` (60 mAs for the sweep)
  x ``dose_factor`` / views.
* Electronic noise: ``sigma_e`` = gain x 13 photon-equivalents for an 85 um pixel (VICTRE:
  5200 electrons per pixel at 50 eV per electron-hole pair, i.e. 400 electrons per 20 keV
  photon), scaled with the square root of the pixel area.
* ``gain`` = 0.5 ADU per photon and ``offset`` = 0 by default.

The returned :class:`recon.ProjectionSet` has ``is_line_integral=False`` and these
``metadata`` keys: ``simulated`` (True), ``for_processing`` (True), ``dose_factor``,
``photons_per_pixel`` (N0), ``i0_adu`` (mean signal of an unattenuated pixel, gain x N0 +
offset), ``dark_offset_adu``, ``gain_adu_per_photon``, ``electronic_noise_adu``,
``energy_kev``, ``noise`` (bool), ``noise_seed``, ``phantom`` (a short description) and,
for a breast phantom, ``thickness_mm``.

Reduced dose
------------
:func:`reduce_dose` turns a full-dose acquisition into one at ``factor`` times the dose:
``S' = offset + factor (S - offset) + n`` with ``n`` Gaussian of variance
``gain^2 factor (1 - factor) N_hat + sigma_e^2 (1 - factor^2)`` where
``N_hat = (S - offset) / gain``. Then ``E[S'] = offset + gain factor N`` and
``Var[S'] = gain^2 factor N + sigma_e^2``: the mean and variance of a true acquisition at
that dose, electronic noise included (the noise-injection method of e.g. Veldkamp et al.,
Med Phys 36:4536, 2009, with the variance written out for this detector model).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recon.errors import CancelFlag, ProgressCallback, check_cancel
from recon.geometry import Geometry
from recon.phantoms.analytic import Ellipsoid, ellipsoid_line_integrals
from recon.phantoms.materials import ENERGY_KEV
from recon.phantoms.raymarch import raymarch_line_integrals
from recon.types import ProjectionSet, Volume

__all__ = [
    "REFERENCE_FLUENCE_PER_MM2",
    "REFERENCE_TOTAL_MAS",
    "DEFAULT_GAIN_ADU_PER_PHOTON",
    "electronic_noise_photons",
    "phantom_line_integrals",
    "expose",
    "simulate_acquisition",
    "reduce_dose",
    "to_line_integrals",
]

REFERENCE_FLUENCE_PER_MM2 = 1.0e7
"""Unattenuated photons per mm^2 at the detector over the whole sweep at dose factor 1."""
REFERENCE_TOTAL_MAS = 60.0
"""Nominal tube current-time product of the whole sweep at dose factor 1, mAs."""
DEFAULT_GAIN_ADU_PER_PHOTON = 0.5
_ELECTRONIC_NOISE_PHOTONS_85UM = 13.0


def electronic_noise_photons(pixel_mm: tuple[float, float]) -> float:
    """Default electronic noise (standard deviation, photon-equivalents) of one pixel."""
    area = float(pixel_mm[0]) * float(pixel_mm[1])
    return _ELECTRONIC_NOISE_PHOTONS_85UM * np.sqrt(area / 0.085**2)


def _describe(phantom) -> dict:
    out = {"kind": type(phantom).__name__}
    for key in ("seed", "thickness_mm", "support_height_mm"):
        value = getattr(phantom, key, None)
        if isinstance(value, int | float | np.integer | np.floating):
            out[key] = int(value) if key == "seed" else float(value)
    return out


def _split(phantom) -> tuple[Volume | None, tuple[Ellipsoid, ...]]:
    if isinstance(phantom, Volume):
        return phantom, ()
    if isinstance(phantom, Ellipsoid):
        return None, (phantom,)
    if isinstance(phantom, Sequence) and all(isinstance(e, Ellipsoid) for e in phantom):
        return None, tuple(phantom)
    vol = getattr(phantom, "volume", None)
    ells = getattr(phantom, "ellipsoids", None)
    if (vol is None or isinstance(vol, Volume)) and ells is not None:
        return vol, tuple(ells)
    raise TypeError(
        "phantom must be a BreastPhantom (or anything with .volume and .ellipsoids), a recon.Volume, "
        f"or a sequence of Ellipsoid; got {type(phantom).__name__}"
    )


def phantom_line_integrals(
    phantom,
    geometry: Geometry,
    *,
    subsamples: int = 3,
    background_subsamples: int = 1,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
) -> np.ndarray:
    """Noise-free line integrals of a phantom for every view.

    Parameters
    ----------
    phantom : BreastPhantom, Volume, or sequence of Ellipsoid
        What to project: a voxel background (ray-marched) and/or analytic ellipsoids.
    geometry : Geometry
        Acquisition geometry.
    subsamples : int
        Rays per pixel along each axis for the analytic objects.
    background_subsamples : int
        Rays per pixel along each axis for the voxel background.
    progress, cancel : optional
        Progress callback ``(done, total, message)`` and cancellation flag.

    Returns
    -------
    float32 array (views, rows, columns)
    """
    if not isinstance(geometry, Geometry):
        raise TypeError(f"phantom_line_integrals: geometry must be a recon.Geometry, got {type(geometry).__name__}")
    volume, ellipsoids = _split(phantom)
    support = getattr(phantom, "support_height_mm", None)
    if support is not None and support < geometry.support_height_mm - 1e-6:
        raise ValueError(
            f"phantom_line_integrals: the phantom rests at z = {support} mm, below the breast support of "
            f"{geometry.name} at {geometry.support_height_mm} mm (build it with support_height_mm="
            f"{geometry.support_height_mm})"
        )
    if volume is not None:
        bottom = volume.grid.origin_mm[0] - volume.grid.voxel_mm[0] / 2
        if bottom < geometry.support_height_mm - 1e-6:
            raise ValueError(
                f"phantom_line_integrals: the volume starts at z = {bottom:.3f} mm, below the breast support "
                f"at {geometry.support_height_mm} mm"
            )
    total = geometry.n_views + 1

    def _progress(done, _total, message):
        if progress is not None:
            progress(done, total, message)

    out = np.zeros((geometry.n_views, *geometry.detector_shape), dtype=np.float32)
    if volume is not None:
        out += raymarch_line_integrals(
            volume, geometry, subsamples=background_subsamples, progress=_progress, cancel=cancel
        )
    check_cancel(cancel)
    if ellipsoids:
        out += ellipsoid_line_integrals(ellipsoids, geometry, subsamples=subsamples)
    if progress is not None:
        progress(total, total, "projected analytic objects")
    return out


def _check_factor(name: str, value: float, *, upper: float | None = None) -> float:
    v = float(value)
    if not np.isfinite(v) or v <= 0 or (upper is not None and v > upper):
        bound = f" and <= {upper}" if upper is not None else ""
        raise ValueError(f"{name} must be > 0{bound}, got {value}")
    return v


def expose(
    line_integrals: np.ndarray,
    geometry: Geometry,
    *,
    dose_factor: float = 1.0,
    seed: int | None,
    noise: bool = True,
    gain_adu_per_photon: float = DEFAULT_GAIN_ADU_PER_PHOTON,
    electronic_noise_adu: float | None = None,
    dark_offset_adu: float = 0.0,
    fluence_per_mm2: float = REFERENCE_FLUENCE_PER_MM2,
    phantom_description: dict | None = None,
) -> ProjectionSet:
    """Raw detector signal for given line integrals (see the module docstring).

    Parameters
    ----------
    line_integrals : float32 array (views, rows, columns)
        Dimensionless line integrals.
    geometry : Geometry
        The geometry they belong to.
    dose_factor : float
        Multiple of the reference exposure (1 = :data:`REFERENCE_FLUENCE_PER_MM2`).
    seed : int or None
        Seed of the noise; required when ``noise`` is True.
    noise : bool
        False gives the expected signal (no quantum or electronic noise).
    gain_adu_per_photon, electronic_noise_adu, dark_offset_adu : float
        Detector gain, electronic noise standard deviation (default from
        :func:`electronic_noise_photons`) and offset.
    fluence_per_mm2 : float
        Unattenuated photons per mm^2 over the sweep at dose factor 1.
    phantom_description : dict, optional
        Recorded in the metadata under ``phantom``.

    Returns
    -------
    ProjectionSet
        Raw signal, ``is_line_integral=False``, ``exposure_mas`` per view and the metadata
        listed in the module docstring.
    """
    if not isinstance(geometry, Geometry):
        raise TypeError(f"expose: geometry must be a recon.Geometry, got {type(geometry).__name__}")
    li = np.asarray(line_integrals)
    if li.shape != (geometry.n_views, *geometry.detector_shape):
        raise ValueError(
            f"expose: line integrals have shape {li.shape}, the geometry needs "
            f"{(geometry.n_views, *geometry.detector_shape)}"
        )
    if not np.all(np.isfinite(li)):
        raise ValueError("expose: line integrals contain non-finite values")
    dose = _check_factor("expose: dose_factor", dose_factor)
    gain = _check_factor("expose: gain_adu_per_photon", gain_adu_per_photon)
    fluence = _check_factor("expose: fluence_per_mm2", fluence_per_mm2)
    if noise and seed is None:
        raise ValueError("expose: a seed is needed for noisy projections (pass seed=..., or noise=False)")
    sigma_e = (
        gain * electronic_noise_photons(geometry.pixel_mm) if electronic_noise_adu is None else electronic_noise_adu
    )
    sigma_e = float(sigma_e)
    if not np.isfinite(sigma_e) or sigma_e < 0:
        raise ValueError(f"expose: electronic_noise_adu must be >= 0, got {electronic_noise_adu}")
    offset = float(dark_offset_adu)
    n_views = geometry.n_views
    n0 = dose * fluence / n_views * geometry.pixel_mm[0] * geometry.pixel_mm[1]
    out = np.empty(li.shape, dtype=np.float32)
    children = np.random.SeedSequence(seed).spawn(n_views) if noise else [None] * n_views
    for v in range(n_views):
        mean = n0 * np.exp(-li[v].astype(np.float64))
        if noise:
            rng = np.random.default_rng(children[v])
            counts = rng.poisson(mean).astype(np.float64)
            sig = gain * counts + offset
            if sigma_e > 0:
                sig += rng.normal(0.0, sigma_e, size=sig.shape)
        else:
            sig = gain * mean + offset
        out[v] = sig
    metadata = {
        "simulated": True,
        "for_processing": True,
        "dose_factor": dose,
        "photons_per_pixel": n0,
        "i0_adu": gain * n0 + offset,
        "dark_offset_adu": offset,
        "gain_adu_per_photon": gain,
        "electronic_noise_adu": sigma_e,
        "energy_kev": ENERGY_KEV,
        "fluence_per_mm2": fluence * dose,
        "noise": bool(noise),
        "noise_seed": None if seed is None else int(seed),
        "phantom": dict(phantom_description or {}),
    }
    if phantom_description and "thickness_mm" in phantom_description:
        metadata["thickness_mm"] = float(phantom_description["thickness_mm"])
    mas = np.full(n_views, REFERENCE_TOTAL_MAS * dose / n_views)
    return ProjectionSet(out, geometry, exposure_mas=mas, is_line_integral=False, metadata=metadata)


def simulate_acquisition(
    phantom,
    geometry: Geometry,
    *,
    dose_factor: float = 1.0,
    seed: int | None,
    noise: bool = True,
    subsamples: int = 3,
    background_subsamples: int = 1,
    gain_adu_per_photon: float = DEFAULT_GAIN_ADU_PER_PHOTON,
    electronic_noise_adu: float | None = None,
    dark_offset_adu: float = 0.0,
    fluence_per_mm2: float = REFERENCE_FLUENCE_PER_MM2,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
) -> ProjectionSet:
    """Raw For Processing projections of a phantom: line integrals, then the detector.

    Parameters
    ----------
    phantom : BreastPhantom, Volume, or sequence of Ellipsoid
        What to image (positions in the detector frame; a breast phantom must rest on or
        above ``geometry.support_height_mm``).
    geometry : Geometry
        Any geometry, tilted detectors included.
    dose_factor : float
        Multiple of the reference exposure.
    seed : int or None
        Noise seed (required when ``noise``); same seed, same projections.
    noise : bool
        Add quantum and electronic noise (default) or return the expected signal.
    subsamples, background_subsamples : int
        Rays per pixel along each axis for analytic objects and for the voxel background.
    gain_adu_per_photon, electronic_noise_adu, dark_offset_adu, fluence_per_mm2
        Detector and exposure settings; see :func:`expose`.
    progress, cancel : optional
        Progress callback and cancellation flag.

    Returns
    -------
    ProjectionSet
        ``is_line_integral=False``; see the module docstring for the metadata.
    """
    li = phantom_line_integrals(
        phantom,
        geometry,
        subsamples=subsamples,
        background_subsamples=background_subsamples,
        progress=progress,
        cancel=cancel,
    )
    return expose(
        li,
        geometry,
        dose_factor=dose_factor,
        seed=seed,
        noise=noise,
        gain_adu_per_photon=gain_adu_per_photon,
        electronic_noise_adu=electronic_noise_adu,
        dark_offset_adu=dark_offset_adu,
        fluence_per_mm2=fluence_per_mm2,
        phantom_description=_describe(phantom),
    )


def _meta(projections: ProjectionSet, key: str, override, caller: str) -> float:
    if override is not None:
        return float(override)
    if key not in projections.metadata:
        raise ValueError(f"{caller}: the projections carry no metadata {key!r}; pass {key}=... explicitly")
    return float(projections.metadata[key])


def reduce_dose(
    projections: ProjectionSet,
    factor: float,
    *,
    seed: int,
    gain_adu_per_photon: float | None = None,
    electronic_noise_adu: float | None = None,
    dark_offset_adu: float | None = None,
) -> ProjectionSet:
    """Simulate an acquisition at ``factor`` times the dose from raw projections.

    Parameters
    ----------
    projections : ProjectionSet
        Raw (not line-integral) projections, e.g. from :func:`simulate_acquisition`.
    factor : float
        Dose fraction in (0, 1].
    seed : int
        Seed of the injected noise.
    gain_adu_per_photon, electronic_noise_adu, dark_offset_adu : float, optional
        Detector model; default from ``projections.metadata``.

    Returns
    -------
    ProjectionSet
        Signal with the mean and variance of a true acquisition at the reduced dose;
        ``exposure_mas``, ``dose_factor``, ``photons_per_pixel`` and ``i0_adu`` scaled.
    """
    if not isinstance(projections, ProjectionSet):
        raise TypeError(f"reduce_dose: projections must be a recon.ProjectionSet, got {type(projections).__name__}")
    if projections.is_line_integral:
        raise ValueError("reduce_dose: needs raw detector signal, got line integrals (is_line_integral=True)")
    f = _check_factor("reduce_dose: factor", factor, upper=1.0)
    if seed is None:
        raise ValueError("reduce_dose: a seed is needed")
    gain = _meta(projections, "gain_adu_per_photon", gain_adu_per_photon, "reduce_dose")
    sigma_e = _meta(projections, "electronic_noise_adu", electronic_noise_adu, "reduce_dose")
    offset = _meta(projections, "dark_offset_adu", dark_offset_adu, "reduce_dose")
    data = projections.data
    out = np.empty_like(data)
    children = np.random.SeedSequence(seed).spawn(data.shape[0])
    for v in range(data.shape[0]):
        s = data[v].astype(np.float64) - offset
        var = gain * f * (1.0 - f) * np.maximum(s, 0.0) + sigma_e**2 * (1.0 - f * f)
        rng = np.random.default_rng(children[v])
        out[v] = offset + f * s + rng.standard_normal(s.shape) * np.sqrt(var)
    meta = dict(projections.metadata)
    meta["dose_factor"] = float(meta.get("dose_factor", 1.0)) * f
    if "photons_per_pixel" in meta:
        meta["photons_per_pixel"] = float(meta["photons_per_pixel"]) * f
    if "i0_adu" in meta:
        meta["i0_adu"] = offset + f * (float(meta["i0_adu"]) - offset)
    if "fluence_per_mm2" in meta:
        meta["fluence_per_mm2"] = float(meta["fluence_per_mm2"]) * f
    meta["reduced_from_dose_factor"] = float(projections.metadata.get("dose_factor", 1.0))
    meta["reduce_dose_seed"] = int(seed)
    mas = None if projections.exposure_mas is None else projections.exposure_mas * f
    return ProjectionSet(out, projections.geometry, exposure_mas=mas, is_line_integral=False, metadata=meta)


def to_line_integrals(projections: ProjectionSet, *, i0_adu: float | None = None) -> ProjectionSet:
    """``-log((S - offset) / (I0 - offset))`` with the simulation's I0 and offset.

    The simulation's exact I0 and offset (from ``metadata``, or ``i0_adu``) are handed to
    :func:`recon.preprocess.line_integrals`, which otherwise estimates I0 from the brightest
    pixels. Signal below half a photon above the offset is clipped there first (no
    warning); the number of clipped pixels is recorded in ``metadata["clipped_pixels"]``.
    """
    if not isinstance(projections, ProjectionSet):
        raise TypeError(
            f"to_line_integrals: projections must be a recon.ProjectionSet, got {type(projections).__name__}"
        )
    if projections.is_line_integral:
        return projections
    i0 = _meta(projections, "i0_adu", i0_adu, "to_line_integrals")
    offset = float(projections.metadata.get("dark_offset_adu", 0.0))
    gain = float(projections.metadata.get("gain_adu_per_photon", 1.0))
    if not i0 > offset:
        raise ValueError(f"to_line_integrals: I0 ({i0}) must exceed the dark offset ({offset})")
    from recon.preprocess import line_integrals

    s = projections.data.astype(np.float64) - offset
    floor = 0.5 * gain
    clipped = int(np.count_nonzero(s < floor))
    li = line_integrals(np.maximum(s, floor), i0=i0 - offset)
    meta = dict(projections.metadata)
    meta["clipped_pixels"] = clipped
    return ProjectionSet(
        li,
        projections.geometry,
        exposure_mas=projections.exposure_mas,
        is_line_integral=True,
        metadata=meta,
    )
