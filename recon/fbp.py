"""Filtered back projection for stationary-detector DBT.

Steps, per view ``p`` (projections are line integrals):

1. **Cosine weighting**: divide each pixel by the secant of its ray (FDK weighting; LAVI's
   DSO / sqrt(DSD^2 + u^2 + v^2) up to a constant).
2. **Filtering along v** (detector rows, the tube-motion axis), for every detector column:
   the band-limited ramp built in the space domain (Hsieh, eq. 3.29: h[0] = 1/4,
   h[odd n] = -1/(pi n)^2) over an even FFT-friendly length of at least 2 nv (the rows padded
   with the edge values), times an apodisation window
   (default Hann with cutoff 0.75 of Nyquist) and, optionally, the slice-thickness filter of
   Mertelmeier et al. (2006): a Hann low-pass in the depth frequency ``f |sin(theta_p)|``
   that a view's frequency ``f`` along v carries, with cutoff 1 / (2 T) for a slice
   thickness ``T``. It leaves the central view alone and tames the oblique views, which
   sets the effective slice thickness and lowers noise.
3. **Back projection** with the slab-integrated separable back projector, slice chunk by
   slice chunk, each view weighted by ``sec^2(gamma_v)`` (the Jacobian of the stationary
   detector) and by the angular step ``d_gamma`` seen from the slice centre.

Scaling: with ``M`` the magnification of a slice, the result is
``sum_p d_gamma_p * M_p / dv * (h * q_p)(v)``, the discretised inverse of the
limited-angle Radon transform, so values are in 1/mm: structures whose spectrum lies in
the acquired wedge (in-plane detail, objects long in z) reconstruct to their attenuation,
while the in-plane mean and broad low-frequency structure are lost (the ramp removes DC and
the limited arc cannot resolve depth), so a uniform slab does not reconstruct to its mu.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.fft
from numba import njit, prange

from recon.errors import check_cancel
from recon.geometry import Geometry
from recon.projectors import GeneralProjector, Projector, SeparableProjector, make_projector
from recon.projectors.general import rebin_to_virtual
from recon.types import VolumeGrid

__all__ = ["WINDOWS", "fbp", "filter_response", "padded_length"]

WINDOWS = ("hann", "hamming", "cosine", "shepp-logan", "ram-lak")
_BATCH = 32  # detector columns per filtering task (about 1.5 MB of padded rows, cache-resident)


def padded_length(n_rows: int) -> int:
    """Length of the padded rows filtered by FFT: the smallest even 2-3-5-smooth length >= 2 nv (>= 64).

    At least 2 nv, so that the circular convolution never wraps one end of the detector onto
    the other; 2-3-5-smooth rather than a power of two (3072 x 2 = 6144, not 8192, for the GE
    detector's 3062 rows) because pocketfft is as fast per point on such lengths.
    """
    n = max(64, 2 * int(n_rows))
    while True:
        n = scipy.fft.next_fast_len(n, real=True)
        if n % 2 == 0:
            return n
        n += 1


def filter_response(
    n_rows: int,
    pixel_mm: float,
    *,
    window: str = "hann",
    cutoff: float = 0.75,
    slice_thickness_mm: float | None = None,
    sin_theta: float = 0.0,
) -> np.ndarray:
    """Frequency response (rfft bins of the padded length) of the FBP filter for one view.

    Parameters
    ----------
    n_rows : int
        Detector rows nv; the filter length is :func:`padded_length` (an even FFT-friendly
        length of at least 2 nv).
    pixel_mm : float
        Row pitch dv, mm (used by the slice-thickness filter).
    window : {"hann", "hamming", "cosine", "shepp-logan", "ram-lak"}
        Apodisation of the ramp; "ram-lak" is the bare band-limited ramp.
    cutoff : float
        Window cutoff as a fraction of the Nyquist frequency, in (0, 1].
    slice_thickness_mm : float, optional
        Slice-thickness filter (Mertelmeier et al. 2006): Hann low-pass in the depth
        frequency ``f |sin_theta|`` with cutoff 1 / (2 T).
    sin_theta : float
        Sine of the view's ray angle from the vertical (for the slice-thickness filter).

    Returns
    -------
    float64 array (npad // 2 + 1,)
        Response of the unit-spacing ramp (h[0] = 1/4) times the windows.
    """
    if window not in WINDOWS:
        raise ValueError(f"unknown FBP window {window!r}; choose one of {', '.join(WINDOWS)}")
    if not 0 < cutoff <= 1:
        raise ValueError(f"FBP cutoff must lie in (0, 1], got {cutoff}")
    npad = padded_length(n_rows)
    n = np.arange(-(npad // 2), npad // 2)
    h = np.zeros(npad)
    h[npad // 2] = 0.25
    odd = n % 2 == 1
    h[odd] = -1.0 / (np.pi * n[odd]) ** 2
    H = np.abs(np.fft.rfft(np.fft.ifftshift(h)))
    f = np.arange(H.size) / npad  # cycles per pixel, Nyquist 0.5
    fn = f / 0.5  # fraction of Nyquist
    x = np.clip(fn / cutoff, 0.0, 1.0)
    if window == "hann":
        w = 0.5 * (1 + np.cos(np.pi * x))
    elif window == "hamming":
        w = 0.54 + 0.46 * np.cos(np.pi * x)
    elif window == "cosine":
        w = np.cos(np.pi * x / 2)
    elif window == "shepp-logan":
        w = np.sinc(x / 2)
    else:
        w = np.ones_like(x)
    w = np.where(fn <= cutoff, w, 0.0) if window != "ram-lak" else w
    H = H * w
    if slice_thickness_mm is not None:
        if not slice_thickness_mm > 0:
            raise ValueError(f"slice_thickness_mm must be > 0, got {slice_thickness_mm}")
        fz = (f / pixel_mm) * abs(sin_theta)  # cycles/mm in depth
        fzc = 1.0 / (2.0 * slice_thickness_mm)
        xz = np.clip(fz / fzc, 0.0, 1.0)
        H = H * 0.5 * (1 + np.cos(np.pi * xz))
    return H


@njit(nogil=True, fastmath=True, cache=True)
def _prep_columns(q, p, c0, c1, src, u0, v0, du, dv, top, buf):
    """buf[c - c0, top:top + nv] = q[p, :, c] / sec(ray), edge rows repeated into the padding.

    Columns c0..c1-1 of view p, transposed so that each filtered line is contiguous: the
    weighting runs along each row (vectorised), the transposition in tiles of 8 rows.
    """
    nv = q.shape[1]
    npad = buf.shape[1]
    ncol = c1 - c0
    zs = src[p, 2]
    inv2 = np.float32(1.0 / (zs * zs))
    x0 = np.float32(u0 + 0.5 * du - src[p, 0])
    dux = np.float32(du)
    dx2 = np.empty(ncol, dtype=np.float32)
    for cc in range(ncol):
        dx = x0 + dux * np.float32(c0 + cc)
        dx2[cc] = dx * dx * inv2
    tile = np.empty((8, ncol), dtype=np.float32)
    for r0 in range(0, nv, 8):
        nr = min(8, nv - r0)
        for rr in range(nr):
            r = r0 + rr
            dyr = v0 + (r + 0.5) * dv - src[p, 1]
            base = np.float32(1.0 + dyr * dyr / (zs * zs))
            row = q[p, r, c0:c1]
            t = tile[rr]
            for cc in range(ncol):
                t[cc] = row[cc] / math.sqrt(base + dx2[cc])
        for cc in range(ncol):
            line = buf[cc, top + r0 : top + r0 + nr]
            for rr in range(nr):
                line[rr] = tile[rr, cc]
    for cc in range(ncol):
        line = buf[cc]
        first = line[top]
        last = line[top + nv - 1]
        for r in range(top):
            line[r] = first
        for r in range(top + nv, npad):
            line[r] = last


@njit(nogil=True, fastmath=True, cache=True)
def _post_columns(f, p, c0, top, roww, qc):
    """qc[p, r, 1 + c] = f[c - c0, top + r] * roww[p, r]: filtered lines back to detector rows.

    Transposed in tiles of 8 rows (8 contiguous reads per line, then contiguous row writes).
    """
    ncol = f.shape[0]
    nv = qc.shape[1]
    tile = np.empty((8, ncol), dtype=np.float32)
    for r0 in range(0, nv, 8):
        nr = min(8, nv - r0)
        for cc in range(ncol):
            line = f[cc, top + r0 : top + r0 + nr]
            for rr in range(nr):
                tile[rr, cc] = line[rr]
        for rr in range(nr):
            w = roww[p, r0 + rr]
            out = qc[p, r0 + rr, 1 + c0 : 1 + c0 + ncol]
            t = tile[rr]
            for cc in range(ncol):
                out[cc] = t[cc] * w


@njit(parallel=True, fastmath=True, cache=True)
def _centre_and_cumsum(qc, qmean, p):
    """In place per row of view p: values in qc[p, r, 1:] become the running sum of (value - mean)."""
    nv = qc.shape[1]
    nu = qc.shape[2] - 1
    for r in prange(nv):
        row = qc[p, r]
        tot = 0.0
        for c in range(1, nu + 1):
            tot += row[c]
        m = np.float32(tot / nu)
        qmean[p, r] = m
        mm = np.float64(m)
        acc = 0.0
        row[0] = np.float32(0.0)
        for c in range(1, nu + 1):
            acc += row[c] - mm
            row[c] = np.float32(acc)


def _threads() -> int:
    """CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _angular_weights(geometry: Geometry, grid: VolumeGrid, views: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Angular step d_gamma (views, nz) seen from each slice centre, and sin of each view's ray angle."""
    src = geometry.source_mm[views]
    yc = float(np.mean(grid.y_mm))
    z = grid.z_mm
    gam = np.arctan2(src[:, 1][:, None] - yc, src[:, 2][:, None] - z[None, :])  # (P, nz)
    P = views.size
    if P == 1:
        return np.ones((1, z.size)), np.sin(gam[:, z.size // 2])
    order = np.argsort(gam[:, 0])
    g = gam[order]
    d = np.empty_like(g)
    d[1:-1] = (g[2:] - g[:-2]) / 2
    d[0] = g[1] - g[0]
    d[-1] = g[-1] - g[-2]
    dg = np.empty_like(d)
    dg[order] = np.abs(d)
    return dg, np.sin(gam[:, z.size // 2])


def fbp(
    projections: np.ndarray,
    geometry: Geometry,
    grid: VolumeGrid,
    *,
    window: str = "hann",
    cutoff: float = 0.75,
    slice_thickness_mm: float | None = None,
    projector: Projector | None = None,
    chunk_slices: int = 16,
    workers: int | None = None,
    progress=None,
    cancel=None,
) -> np.ndarray:
    """Filtered back projection of line-integral projections.

    Parameters
    ----------
    projections : float32 array (views, nv, nu)
        Line integrals (see :func:`recon.preprocess.line_integrals`).
    geometry : Geometry
        Acquisition geometry (tilted detectors are rebinned onto a virtual flat plane).
    grid : VolumeGrid
        Output grid.
    window : str
        Ramp apodisation: "hann" (default), "hamming", "cosine", "shepp-logan", "ram-lak".
    cutoff : float
        Window cutoff as a fraction of Nyquist (default 0.75, as LAVI/pyDBT, VICTRE, ReconDBT).
    slice_thickness_mm : float, optional
        Enable the Mertelmeier slice-thickness filter for this effective thickness, mm.
    projector : Projector, optional
        A projector made for (geometry, grid), reused to save its tables.
    chunk_slices : int
        Slices back-projected per chunk (progress and cancellation granularity).
    workers : int, optional
        Threads that weight and filter batches of detector columns (default: the CPUs this
        process may use).
    progress : callable, optional
        ``progress(done, total, message)``.
    cancel : object with ``is_set()``, optional
        Raises :class:`recon.errors.Cancelled` when set.

    Returns
    -------
    float32 array (nz, ny, nx)
        Attenuation-like values in 1/mm (see the module notes for what the scale means).
    """
    if not isinstance(projections, np.ndarray) or projections.dtype != np.float32:
        raise TypeError("fbp: projections must be a float32 numpy array")
    if not isinstance(geometry, Geometry) or not isinstance(grid, VolumeGrid):
        raise TypeError("fbp: geometry must be a recon.Geometry and grid a recon.VolumeGrid")
    want = (geometry.n_views, *geometry.detector_shape)
    if projections.shape != want:
        raise ValueError(f"fbp: projections have shape {projections.shape}, expected {want}")
    if int(chunk_slices) < 1:
        raise ValueError(f"fbp: chunk_slices must be >= 1, got {chunk_slices}")
    if workers is not None and int(workers) < 1:
        raise ValueError(f"fbp: workers must be >= 1, got {workers}")
    filter_response(8, 1.0, window=window, cutoff=cutoff, slice_thickness_mm=slice_thickness_mm)  # validate
    if projector is None:
        projector = make_projector(geometry, grid)
    elif projector.geometry is not geometry or projector.grid != grid:
        raise ValueError("fbp: the projector was made for another geometry or grid")
    views = np.arange(geometry.n_views, dtype=np.int64)
    q = np.ascontiguousarray(projections)
    if isinstance(projector, GeneralProjector):
        flat = projector.flat
        q = rebin_to_virtual(projector, q, views)
    elif isinstance(projector, SeparableProjector):
        flat = projector
    else:
        raise TypeError(f"fbp: unsupported projector {type(projector).__name__}")
    fgeom = flat.geometry
    workers = _threads() if workers is None else int(workers)
    P, nv, nu = q.shape
    dv, du = fgeom.pixel_mm
    nz = grid.shape[0]
    dz, dy, dx = grid.voxel_mm
    n_steps = P + (nz + chunk_slices - 1) // chunk_slices
    done = 0

    def report(msg):
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, n_steps, msg)

    # per view: 1. cosine weighting, 2. filtering along v, 3. row weights sec^2(gamma_v); in
    # batches of columns (transposed so each line is contiguous, cache-resident) run by
    # `workers` threads; then 4. mean-removed running sums along u, the back projector's input
    src = np.ascontiguousarray(fgeom.source_mm)
    u0 = float(fgeom.detector_origin_mm[0, 0])
    v0 = float(fgeom.detector_origin_mm[0, 1])
    dgam, sin_t = _angular_weights(fgeom, grid, views)
    npad = padded_length(nv)
    top = (npad - nv) // 2
    rows_v = v0 + (np.arange(nv) + 0.5) * dv
    roww = (1.0 + ((rows_v[None, :] - src[:, 1][:, None]) / src[:, 2][:, None]) ** 2).astype(np.float32)
    qc = np.empty((P, nv, nu + 1), dtype=np.float32)
    qmean = np.empty((P, nv), dtype=np.float32)
    responses = [
        filter_response(
            nv, dv, window=window, cutoff=cutoff, slice_thickness_mm=slice_thickness_mm, sin_theta=s
        ).astype(np.float32)[None, :]
        for s in sin_t
    ]
    local = threading.local()

    def filter_batch(p: int, c0: int) -> None:
        c1 = min(nu, c0 + _BATCH)
        buf = getattr(local, "buf", None)
        if buf is None:
            buf = local.buf = np.empty((_BATCH, npad), dtype=np.float32)
        _prep_columns(q, p, c0, c1, src, u0, v0, du, dv, top, buf)
        spec = scipy.fft.rfft(buf[: c1 - c0], axis=1, workers=1)
        spec *= responses[p]
        filtered = scipy.fft.irfft(spec, n=npad, axis=1, workers=1)
        _post_columns(filtered, p, c0, top, roww, qc)

    starts = range(0, nu, _BATCH)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = [[pool.submit(filter_batch, p, c0) for c0 in starts] for p in range(P)]
        try:
            for p in range(P):
                for fut in pending[p]:
                    fut.result()
                _centre_and_cumsum(qc, qmean, p)
                report(f"filtering view {p + 1}/{P}")
                check_cancel(cancel)
        finally:
            for futs in pending:
                for fut in futs:
                    fut.cancel()
    mag = flat.magnification[views]  # (P, nz)
    gscale = np.zeros((flat.n_views, nz), dtype=np.float32)
    gscale[views] = (dgam * du / (mag * dx * dy)).astype(np.float32)
    vol = np.zeros(grid.shape, dtype=np.float32)
    for k0 in range(0, nz, chunk_slices):
        check_cancel(cancel)
        k1 = min(nz, k0 + chunk_slices)
        flat.back_weighted(qc, qmean, views, gscale=gscale, k_range=(k0, k1), out=vol)
        report(f"back projection slices {k0 + 1}-{k1}/{nz}")
    return vol
