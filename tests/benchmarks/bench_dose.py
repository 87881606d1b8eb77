"""Dose study: image quality of FBP and the iterative methods at 1, 1/2, 1/5 and 1/10 of the dose.

Run: ``.venv/bin/python tests/benchmarks/bench_dose.py [--seeds N] [--methods fbp,sart,tv]
[--fluence-scale F] [--skip-timing]``. At the reference fluence of ``recon.simulate`` the mass
CNR is limited by the anatomical texture, not by quantum noise; ``--fluence-scale 0.1`` is the
quantum-limited case where dose really costs CNR and SDNR.

Two simulated acquisitions per dose (``recon.simulate``, exact analytic / ray-marched line
integrals, Poisson + electronic noise; no inverse crime), GE Senographe Essential geometry
(9 views, 25 degrees) on a 256 x 200 detector at 0.2 mm, reconstructed on 1 mm slices at
0.2 mm:

* a small textured breast phantom (``recon.phantoms.breast_phantom``, density b) with masses
  and calcifications: **mass CNR** = (mean in a disc of 0.35 x diameter - mean of a ring at
  0.8-1.2 x diameter) / std of the ring (anatomical + quantum noise), and **calcification
  SDNR** = (mean of the 5 voxels around the calcification - ring mean at 1-2 mm) / ring std,
  both in the lesion's in-focus slice, averaged over lesions and seeds;
* a resolution phantom (uniform 30 mm slab with a 1 mm bead, a thin wire along x and four
  0.2 mm beads at sub-voxel offsets): **ASF FWHM** (mm) of the 1 mm bead, **MTF50 along y**
  (tube motion) from the wire's LSF and **MTF50 along x** (chest wall to nipple) from the
  small beads' summed PSFs (a wire along y would not be localised in depth).

Noise is the same realisation for every method at one dose. The table prints one row per
(method, dose) (">2.50": the MTF is still above 0.5 at the voxel Nyquist frequency)
and, at the end, whether each method at 1/5 of the dose matches FBP at
full dose: CNR and SDNR at least as high, ASF FWHM at most as wide, MTF50 along y and x at
least as high (smoothing alone, which lowers MTF50 and widens nothing, does not count).
The last part times one iteration of each method on a mid-size case.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from recon import VolumeGrid, preset_geometry  # noqa: E402
from recon import metrics as M  # noqa: E402
from recon.iterative import METHODS  # noqa: E402
from recon.phantoms import Ellipsoid, breast_phantom, rotation_matrix, sphere  # noqa: E402
from recon.projectors import make_projector  # noqa: E402
from recon.simulate import simulate_acquisition, to_line_integrals  # noqa: E402

DOSES = (1.0, 0.5, 0.2, 0.1)
PIX = 0.2
SLAB_MU = 0.05
SLAB_MM = 30.0

# Methods compared (name, method key, options); FBP is recon.fbp.fbp with its defaults.
CONFIGS = {
    "fbp": ("fbp", {}),
    "os-sart": ("os-sart", {}),
    "tv": ("tv", {}),
}


def fbp(y, geom, grid, projector):
    from recon.fbp import fbp as _fbp

    return _fbp(y, geom, grid, projector=projector)


def run_method(name, y, geom, grid, projector):
    key, opts = CONFIGS[name]
    if key == "fbp":
        return fbp(y, geom, grid, projector)
    return METHODS[key](y, geom, grid, projector=projector, **opts)


# --------------------------------------------------------------------------------------
# phantoms
# --------------------------------------------------------------------------------------
def resolution_phantom(geom, grid):
    z = grid.z_mm
    zs = geom.support_height_mm
    slab = Ellipsoid(
        center_mm=(20.0, 0.0, zs + SLAB_MM / 2), semi_axes_mm=(4000.0, 4000.0, SLAB_MM / 2), mu_per_mm=SLAB_MU
    )
    k_wire = int(np.argmin(np.abs(z - (zs + 20.5))))
    k_bead = int(np.argmin(np.abs(z - (zs + 10.5))))
    wire = Ellipsoid(
        center_mm=(18.0, 8.0, z[k_wire]),
        semi_axes_mm=(6.0, 0.075, 0.075),
        mu_per_mm=10.0,
        rotation=rotation_matrix(yaw_rad=np.deg2rad(3.0)),
    )
    small = [sphere((28.0 + 0.05 * n, -9.0 + 3.0 * n, z[k_wire]), 0.2, 30.0) for n in range(4)]
    bead = sphere((12.0, -4.0, z[k_bead]), 1.0, 0.3)
    objs = SimpleNamespace(volume=None, ellipsoids=(slab, wire, bead, *small))
    return objs, {"wire": wire.center_mm, "small": [s.center_mm for s in small], "bead": bead.center_mm}


def breast(geom, seed):
    return breast_phantom(
        seed=seed,
        size="small",
        density="b",
        support_height_mm=geom.support_height_mm,
        thickness_mm=SLAB_MM,
        depth_mm=36.0,
        width_mm=44.0,
        n_masses=2,
        mass_shapes=("round", "oval"),
        n_clusters=1,
        n_calcifications=4,
    )


# --------------------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------------------
def _slice_of(grid, p):
    k, j, i = grid.mm_to_index(p)
    return int(np.clip(round(k), 0, grid.shape[0] - 1)), float(j), float(i)


def lesion_metrics(x, grid, phantom):
    px = grid.voxel_mm[1]
    cnrs, sdnrs = [], []
    for les in phantom.lesions:
        if les.kind == "mass":
            k, j, i = _slice_of(grid, les.center_mm)
            sl = x[k]
            d = les.size_mm / px
            f = M.disc_mask(sl.shape, (j, i), 0.35 * d)
            ring = M.disc_mask(sl.shape, (j, i), 1.2 * d) & ~M.disc_mask(sl.shape, (j, i), 0.8 * d)
            cnrs.append(M.cnr(sl, f, ring))
        calcs = []
        if les.kind == "calcification":
            calcs = [les.center_mm]
        elif les.kind == "calcification_cluster":
            calcs = [m["center_mm"] for m in les.details.get("members", [])]
        for c in calcs:
            k, j, i = _slice_of(grid, c)
            sl = x[k]
            f = M.disc_mask(sl.shape, (j, i), 1.0)
            ring = M.disc_mask(sl.shape, (j, i), 2.0 / px) & ~M.disc_mask(sl.shape, (j, i), 1.0 / px)
            sdnrs.append(M.sdnr(sl, f, ring))
    return cnrs, sdnrs


def resolution_metrics(x, grid, where):
    px = grid.voxel_mm[1]
    asf = M.artifact_spread(x, grid, where["bead"], roi_radius_mm=0.4, background_offset_mm=2.5).fwhm_mm
    k, j, i = _slice_of(grid, where["wire"])
    j, i = round(j), round(i)
    ry = x[k, j - 12 : j + 13, i - 20 : i + 21]
    mtf_y = M.line_mtf(ry, pixel_mm=px, axis="y", lsf_half_width_mm=1.0).mtf50
    curves = []
    for c in where["small"]:
        k, j, i = _slice_of(grid, c)
        j, i = round(j), round(i)
        r = M.bead_mtf(x[k, j - 6 : j + 7, i - 10 : i + 11], pixel_mm=px, axis="x", lsf_half_width_mm=1.0)
        curves.append(r)
    f = curves[0].freq_lp_mm
    mtf = np.mean([np.interp(f, r.freq_lp_mm, r.mtf) for r in curves], axis=0)
    top = int(np.argmax(mtf))
    mtf_x = M.mtf_at(f[top:], mtf[top:] / mtf[top], 0.5)
    # an MTF still above 0.5 at the voxel Nyquist frequency is reported as Nyquist (">")
    nyq = 0.5 / px
    return asf, (nyq if np.isnan(mtf_y) else mtf_y), (nyq if np.isnan(mtf_x) else mtf_x)


# --------------------------------------------------------------------------------------
def dose_study(seeds, methods, fluence_scale=1.0):
    geom = preset_geometry("ge-essential", detector_shape=(256, 200), pixel_mm=PIX)
    grid = VolumeGrid.for_geometry(geom, SLAB_MM, slice_mm=1.0, pixel_mm=PIX)
    proj = make_projector(geom, grid)
    res_obj, where = resolution_phantom(geom, grid)
    phantoms = [breast(geom, s) for s in range(seeds)]
    print(f"geometry: {geom.name}, {geom.n_views} views, detector {geom.detector_shape} @ {PIX} mm; grid {grid.shape}")
    print(f"phantoms: {seeds} textured breast(s) (density b, {SLAB_MM:g} mm) + a resolution phantom")
    print(f"full dose: {fluence_scale:g} x the reference fluence of recon.simulate")
    cols = ("massCNR", "calcSDNR", "ASF mm", "MTF50y", "MTF50x", "time s")
    hdr = f"{'method':8s} {'dose':>5s} " + " ".join(f"{c:>8s}" for c in cols)
    print(hdr)
    print("-" * len(hdr))
    table = {}
    for dose in DOSES:
        ys_breast = [
            to_line_integrals(simulate_acquisition(p, geom, dose_factor=dose * fluence_scale, seed=100 + n)).data
            for n, p in enumerate(phantoms)
        ]
        y_res = to_line_integrals(simulate_acquisition(res_obj, geom, dose_factor=dose * fluence_scale, seed=7)).data
        for name in methods:
            t0 = time.perf_counter()
            cnrs, sdnrs = [], []
            for y, p in zip(ys_breast, phantoms, strict=True):
                x = run_method(name, y, geom, grid, proj)
                c, s = lesion_metrics(x, grid, p)
                cnrs += c
                sdnrs += s
            x = run_method(name, y_res, geom, grid, proj)
            asf, my, mx = resolution_metrics(x, grid, where)
            dt = (time.perf_counter() - t0) / (len(phantoms) + 1)
            row = (float(np.mean(cnrs)), float(np.mean(sdnrs)), asf, my, mx)
            table[(name, dose)] = row
            nyq = 0.5 / PIX
            mys = f"{'>' if my >= nyq else ''}{my:.2f}"
            mxs = f"{'>' if mx >= nyq else ''}{mx:.2f}"
            cells = (f"{row[0]:.2f}", f"{row[1]:.2f}", f"{asf:.2f}", mys, mxs, f"{dt:.2f}")
            print(f"{name:8s} {dose:5.2f} " + " ".join(f"{c:>8s}" for c in cells), flush=True)
    ref = table[("fbp", 1.0)]
    print("\nAt 1/5 of the dose versus FBP at full dose (CNR, SDNR >=; ASF <=; MTF50 y, x >=):")
    for name in methods:
        r = table[(name, 0.2)]
        ok = [r[0] >= ref[0], r[1] >= ref[1], r[2] <= ref[2] + 1e-9, r[3] >= ref[3], r[4] >= ref[4]]
        verdict = "MATCHES" if all(ok) else "does not match"
        marks = " ".join(
            f"{lab}:{'ok' if o else 'NO'}" for lab, o in zip(("CNR", "SDNR", "ASF", "MTFy", "MTFx"), ok, strict=True)
        )
        print(f"  {name:8s} {verdict:15s} {marks}")
    return table


def timing():
    """Time one iteration of each method on a mid-size case, from its own progress reports.

    Each method runs 3 iterations; the progress callback timestamps the end of every
    iteration, and the table gives the fastest of the iteration times (setup, i.e. the
    normalisations, excluded) next to one plain forward + back projection of all views.
    """
    geom = preset_geometry("ge-essential", detector_shape=(1024, 768), pixel_mm=0.1)
    grid = VolumeGrid.for_geometry(geom, 40.0, slice_mm=1.0, pixel_mm=0.1)
    proj = make_projector(geom, grid)
    rng = np.random.default_rng(0)
    y = (1.5 + 0.05 * rng.standard_normal((geom.n_views, *geom.detector_shape))).astype(np.float32)
    vox = grid.n_voxels
    print(
        f"\nOne iteration on a mid-size case: {geom.n_views} views of {geom.detector_shape}"
        f" -> {grid.shape} ({vox / 1e6:.0f} Mvoxel)"
    )
    ones = np.ones(grid.shape, np.float32)
    proj.back(proj.forward(ones))  # JIT warm-up
    best = np.inf
    for _ in range(2):
        t0 = time.perf_counter()
        proj.back(proj.forward(ones))
        best = min(best, time.perf_counter() - t0)
    print(f"  one forward + back projection (all views): {best:6.2f} s")
    for name in METHODS:
        stamps = []

        def progress(done, total, message, stamps=stamps):
            if done % (total // 3) == 0:  # the last update of an iteration
                stamps.append(time.perf_counter())

        METHODS[name](y, geom, grid, projector=proj, iterations=1)  # JIT warm-up
        t0 = time.perf_counter()
        METHODS[name](y, geom, grid, projector=proj, iterations=3, progress=progress)
        its = np.diff([t0, *stamps])[1:]
        per = float(np.min(its))
        print(f"  {name:8s} one iteration {per:6.2f} s  ({per / best:4.2f} x FP+BP)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=2, help="breast phantoms per dose (default 2)")
    ap.add_argument("--methods", default=",".join(CONFIGS), help="comma-separated methods")
    ap.add_argument("--skip-timing", action="store_true")
    ap.add_argument(
        "--fluence-scale",
        type=float,
        default=1.0,
        help="full dose = this x recon.simulate.REFERENCE_FLUENCE_PER_MM2 (default 1)",
    )
    args = ap.parse_args(argv)
    methods = [m for m in args.methods.split(",") if m]
    for m in methods:
        if m not in CONFIGS and m in METHODS:
            CONFIGS[m] = (m, {})
        elif m not in CONFIGS:
            ap.error(f"unknown method {m!r}")
    dose_study(args.seeds, methods, args.fluence_scale)
    if not args.skip_timing:
        timing()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
