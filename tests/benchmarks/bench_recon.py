"""Reconstruction speed benchmark (a script; not collected by pytest).

Run ``python tests/benchmarks/bench_recon.py`` (``--quick``: half size in each in-plane axis;
``--no-rtk``: skip the RTK comparison, which takes most of the time; ``--no-command``: skip
the DICOM files and the end-to-end ``crescent recon``). For the GE-size case (9 views of
3062 x 2394 at 0.1 mm into 107 x 1978 x 1058 voxels at 0.5 / 0.1 / 0.1 mm) it prints:

* FBP, raw detector signal -> volume in memory (line integrals + weighting + filtering +
  slab-integrated back projection), after JIT warm-up;
* the kernels: running sums, back projection, forward projection, one iteration (forward +
  back), in voxel-view updates per second, beside a point-sampled bilinear back projection
  (the simplest separable Numba back projector, no slab integration) and RTK's CPU
  voxel-based back projection (itk-rtk) of the same projections onto the same grid, with
  the ratios;
* the 2x2-binned preview FBP (2 mm slices) and the 25-view Siemens-size FBP;
* the DICOM side: writing a GE-size Breast Projection For Processing file, reading it back,
  writing the Breast Tomosynthesis Image of the volume, and the whole
  ``crescent recon FILE -o OUT.dcm --slice-mm 0.5`` in a subprocess (start-up, imports,
  JIT cache load, read, preprocessing, breast-extent grid, FBP, write), with its peak memory;
* peak resident memory.

Each figure is the best wall time of N runs with that run's process CPU time (all threads)
and the 1-minute load average beside it. The machine has few cores and may be shared: on a
loaded machine the wall time is inflated and the CPU time includes threads waiting at
barriers, so compare figures only between runs at a low load; the ratios to the reference
back projectors, measured in the same run, are the most stable figures.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from numba import njit, prange

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numba  # noqa: E402

from recon import ProjectionSet, Volume, VolumeGrid, preset_geometry  # noqa: E402
from recon.fbp import fbp  # noqa: E402
from recon.preprocess import bin_projections, line_integrals  # noqa: E402
from recon.projectors import make_projector  # noqa: E402
from recon.reconstruct import preview_grid  # noqa: E402

TARGETS_S = {"fbp": 3.0, "iteration": 5.0, "preview": 1.0, "fbp25": 8.0}
TARGET_MEMORY_GB = 3.0
THREADS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
I0 = 4000.0
ROWS: list[tuple] = []  # (label, wall, cpu, load, target) for the summary


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _maxrss_gb(who=resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024**2


def measure(fn, repeat: int = 1):
    """Best-of-``repeat`` wall time of ``fn()``: (wall s, cpu s of that run, load, result of the last run)."""
    best = None
    out = None
    for _ in range(repeat):
        out = None
        gc.collect()
        w, c = time.perf_counter(), _cpu()
        out = fn()
        w, c = time.perf_counter() - w, _cpu() - c
        if best is None or w < best[0]:
            best = (w, c, os.getloadavg()[0])
    return (*best, out)


def report(label: str, wall: float, cpu: float, load: float, *, target: float | None = None, extra: str = "") -> None:
    tgt = f"  target <= {target:.0f} s: {'met' if wall <= target else 'NOT met'}" if target else ""
    print(f"{label:<40} wall {wall:7.2f} s   cpu {cpu:7.2f} s   load {load:5.2f}{tgt}{extra}", flush=True)
    ROWS.append((label, wall, cpu, load, target))


def ge_case(scale: float):
    """GE Senographe Essential geometry and the vendor grid, scaled in-plane by ``scale``."""
    nv, nu = int(round(3062 * scale)), int(round(2394 * scale))
    geom = preset_geometry("ge-essential", detector_shape=(nv, nu), pixel_mm=0.1 / scale)
    ny, nx = int(round(1978 * scale)), int(round(1058 * scale))
    pix = 0.1 / scale
    grid = VolumeGrid(
        shape=(107, ny, nx),
        voxel_mm=(0.5, pix, pix),
        origin_mm=(geom.support_height_mm + 0.25, -ny * pix / 2 + pix / 2, pix / 2),
    )
    return geom, grid


def siemens_case(scale: float):
    nv, nu = int(round(3264 * scale)), int(round(1376 * scale))
    pix = 0.085 / scale
    geom = preset_geometry("siemens-mammomat", detector_shape=(nv, nu), pixel_mm=pix)
    ny, nx = int(round(3264 * scale)), int(round(1372 * scale))
    grid = VolumeGrid(
        shape=(49, ny, nx),
        voxel_mm=(1.0, pix, pix),
        origin_mm=(geom.support_height_mm + 0.5, -ny * pix / 2 + pix / 2, pix / 2),
    )
    return geom, grid


def raw_signal(geom, seed=0) -> np.ndarray:
    """Synthetic For Processing signal: an elliptical breast-like attenuation (about the
    GE grid's 106 x 198 mm) on a direct-exposure background, plus noise; always positive."""
    rng = np.random.default_rng(seed)
    n, (nv, nu) = geom.n_views, geom.detector_shape
    dv, du = geom.pixel_mm
    y = ((np.arange(nv) + 0.5) * dv - nv * dv / 2).astype(np.float32)[:, None]
    x = ((np.arange(nu) + 0.5) * du).astype(np.float32)[None, :]
    li = np.clip(3.0 * (1 - (x / 100.0) ** 2 - (y / 95.0) ** 2), 0, None).astype(np.float32)
    out = np.empty((n, nv, nu), np.float32)
    for p in range(n):
        out[p] = I0 * np.exp(-li) + rng.normal(0, 20, (nv, nu)).astype(np.float32)
    np.maximum(out, 1.0, out=out)
    return out


def fbp_from_raw(raw, geom, grid, projector):
    return fbp(line_integrals(raw, i0=I0), geom, grid, projector=projector)


# -- a simple reference: point-sampled separable bilinear back projection -------------------
@njit(parallel=True, fastmath=True, cache=True)
def _point_bp(q, vol, c0, cw, r0, rw):
    """vol[k, j, i] += sum_p bilinear(q[p]) at the voxel centre's shadow (scale + shift tables)."""
    P, nv, nu = q.shape
    nz, ny, nx = vol.shape
    for j in prange(ny):
        for k in range(nz):
            vrow = vol[k, j]
            for p in range(P):
                r = r0[p, k, j]
                if r < 0 or r >= nv - 1:
                    continue
                w = rw[p, k, j]
                qa = q[p, r]
                qb = q[p, r + 1]
                cc = c0[p, k]
                ww = cw[p, k]
                for i in range(nx):
                    c = cc[i]
                    f = ww[i]
                    a = qa[c] + f * (qa[c + 1] - qa[c])
                    b = qb[c] + f * (qb[c + 1] - qb[c])
                    vrow[i] += a + w * (b - a)
    return vol


def point_bp_tables(geom, grid):
    """Per (view, slice) column and per (view, slice, row) row indices/weights of voxel centres."""
    src = geom.source_mm
    dv, du = geom.pixel_mm
    u0, v0 = geom.detector_origin_mm[0, 0], geom.detector_origin_mm[0, 1]
    m = src[:, 2][:, None] / (src[:, 2][:, None] - grid.z_mm[None, :])  # (P, nz)
    col = (src[:, 0][:, None, None] * (1 - m[..., None]) + grid.x_mm * m[..., None] - u0) / du - 0.5
    row = (src[:, 1][:, None, None] * (1 - m[..., None]) + grid.y_mm * m[..., None] - v0) / dv - 0.5
    col = np.clip(col, 0, geom.detector_shape[1] - 1.001)
    c0 = np.floor(col).astype(np.int32)
    r0 = np.floor(row).astype(np.int32)
    return c0, (col - c0).astype(np.float32), r0, (row - r0).astype(np.float32)


def rtk_backprojection(proj: np.ndarray, geom, grid, threads: int):
    """RTK CPU voxel-based back projection of ``proj`` onto ``grid``: (seconds, cpu s, volume)."""
    import itk
    from itk import RTK as rtk

    itk.MultiThreaderBase.SetGlobalDefaultNumberOfThreads(threads)
    g = rtk.ThreeDCircularProjectionGeometry.New()
    for p in range(geom.n_views):
        g.AddProjection(
            itk.Point[itk.D, 3]([float(v) for v in geom.source_mm[p]]),
            itk.Point[itk.D, 3]([float(v) for v in geom.detector_origin_mm[p]]),
            itk.Vector[itk.D, 3]([float(v) for v in geom.detector_u_dir[p]]),
            itk.Vector[itk.D, 3]([float(v) for v in geom.detector_v_dir[p]]),
        )
    dv, du = geom.pixel_mm
    pimg = itk.image_view_from_array(proj)  # (views, nv, nu) -> itk (u, v, view)
    pimg.SetSpacing([du, dv, 1.0])
    pimg.SetOrigin([du / 2, dv / 2, 0.0])
    vol = np.zeros(grid.shape, np.float32)
    vimg = itk.image_view_from_array(vol)
    dz, dy, dx = grid.voxel_mm
    z0, y0, x0 = grid.origin_mm
    vimg.SetSpacing([dx, dy, dz])
    vimg.SetOrigin([x0, y0, z0])
    bp = rtk.BackProjectionImageFilter[type(vimg), type(pimg)].New()
    bp.SetInput(0, vimg)
    bp.SetInput(1, pimg)
    bp.SetGeometry(g)
    t, c = time.perf_counter(), _cpu()
    bp.Update()
    dt, dc = time.perf_counter() - t, _cpu() - c
    return dt, dc, itk.array_from_image(bp.GetOutput())


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    s = (slice(None, None, 4), slice(None, None, 8), slice(None, None, 8))
    return float(np.corrcoef(a[s].ravel(), b[s].ravel())[0, 1])


# `crescent ARGS` that prints its own peak resident memory (VmHWM of its address space:
# getrusage's maxrss of a child also counts the parent's pages at fork) on stderr at exit
_COMMAND = (
    "import sys\n"
    "from app.cli import main\n"
    "rc = main(sys.argv[1:])\n"
    "print(next(ln for ln in open('/proc/self/status') if ln.startswith('VmHWM')), file=sys.stderr)\n"
    "sys.exit(rc)\n"
)


def dicom_section(raw, geom, vol, grid, workdir: Path, repeat: int) -> None:
    """DICOM write/read of the projections, BTO write of the volume, the whole command."""
    from app.dicom import PatientStudy, read_projection_set, write_projection_set, write_tomosynthesis

    study = PatientStudy(laterality="L")
    thick = grid.shape[0] * grid.voxel_mm[0]
    src = workdir / "projections.dcm"
    pset = ProjectionSet(data=raw, geometry=geom, exposure_mas=np.full(geom.n_views, 5.0), is_line_integral=False)
    w, c, ld, _ = measure(lambda: write_projection_set(pset, src, study=study, body_part_thickness_mm=thick))
    report("DICOM write projections", w, c, ld, extra=f"   {src.stat().st_size / 1e6:.0f} MB")
    w, c, ld, _ = measure(lambda: read_projection_set(src), repeat)
    report("DICOM read projections", w, c, ld)
    out = workdir / "volume.dcm"
    volume = Volume(data=vol, grid=grid, metadata={"method": "fbp"})
    w, c, ld, _ = measure(lambda: write_tomosynthesis(volume, out, study=study, projections=pset))
    report("DICOM write volume (BTO)", w, c, ld, extra=f"   {out.stat().st_size / 1e6:.0f} MB")
    volume = None
    gc.collect()
    cmd = [sys.executable, "-c", _COMMAND, "recon", str(src), "-o", str(workdir / "cmd.dcm"), "--slice-mm", "0.5"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if res.returncode != 0:
        print(f"crescent recon failed ({res.returncode}): {res.stderr.strip()[-500:]}", flush=True)
        return
    said = res.stdout.strip().splitlines()[-1] if res.stdout.strip() else ""
    report("crescent recon (DICOM in, DICOM out)", wall, cpu, os.getloadavg()[0], extra=f"   [{said}]")
    hwm = [ln.split()[1] for ln in res.stderr.splitlines() if ln.startswith("VmHWM:")]
    peak = f"{int(hwm[-1]) / 1024**2:.2f} GB" if hwm else "not reported"
    print(f"{'  its peak resident memory':<40} {peak} (target <= {TARGET_MEMORY_GB:.0f} GB)", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="half-size in-plane case (a quarter of the pixels)")
    ap.add_argument("--no-rtk", action="store_true", help="skip the RTK comparison")
    ap.add_argument("--no-command", action="store_true", help="skip the DICOM files and the crescent recon run")
    ap.add_argument("--repeat", type=int, default=3, help="runs per kernel figure (best is printed; default 3)")
    args = ap.parse_args()
    scale = 0.5 if args.quick else 1.0
    full = not args.quick
    rep = max(1, args.repeat)
    print(
        f"bench_recon: {'quick (half-size in-plane)' if args.quick else 'full'} GE case; {THREADS} CPUs usable, "
        f"numba {numba.__version__} ({numba.config.THREADING_LAYER} layer, {numba.get_num_threads()} threads), "
        f"{platform.processor() or platform.machine()}; load {os.getloadavg()[0]:.2f}",
        flush=True,
    )

    # JIT warm-up on a tiny case (compiled kernels come from the numba cache)
    g0, gr0 = ge_case(0.1)
    p0 = make_projector(g0, gr0)
    fbp_from_raw(raw_signal(g0), g0, gr0, p0)
    p0.back(p0.forward(np.ones(gr0.shape, np.float32)))
    _point_bp(np.zeros((9, *g0.detector_shape), np.float32), np.zeros(gr0.shape, np.float32), *point_bp_tables(g0, gr0))

    geom, grid = ge_case(scale)
    vox_views = grid.n_voxels * geom.n_views
    print(
        f"GE: {geom.n_views} x {geom.detector_shape} projections -> {grid.shape} voxels "
        f"({grid.n_voxels / 1e6:.0f} Mvox, {vox_views / 1e9:.2f} G voxel-view updates per projection)",
        flush=True,
    )
    raw = raw_signal(geom)
    w, c, ld, proj = measure(lambda: make_projector(geom, grid))
    report("projector tables", w, c, ld)
    w, c, ld, q = measure(lambda: line_integrals(raw, i0=I0), rep)
    report("line integrals (raw -> -log)", w, c, ld)
    fbp_from_raw(raw, geom, grid, proj)  # first full-size run: fresh memory
    w, c, ld, vol = measure(lambda: fbp_from_raw(raw, geom, grid, proj), max(2, rep - 1))
    report("FBP (raw -> volume)", w, c, ld, target=TARGETS_S["fbp"] if full else None)
    print(f"{'  peak resident memory so far':<40} {_maxrss_gb():.2f} GB (target <= {TARGET_MEMORY_GB:.0f} GB)")

    views = np.arange(geom.n_views)
    w, c, ld, (qc, qmean) = measure(lambda: proj.cumsum_secant(q, views), rep)
    report("  running sums (back projector input)", w, c, ld)
    buf = np.zeros(grid.shape, np.float32)

    def bp():
        buf.fill(0.0)
        return proj.back_weighted(qc, qmean, views, out=buf)

    w_bp, c, ld, _ = measure(bp, rep)
    report("  back projection kernel", w_bp, c, ld, extra=f"   {vox_views / w_bp / 1e9:.2f} G voxel-view/s")
    ours = buf.copy()
    qc = qmean = None
    x = np.full(grid.shape, 0.01, np.float32)
    w_fp, c, ld, _ = measure(lambda: proj.forward(x), rep)
    report("  forward projection", w_fp, c, ld, extra=f"   {vox_views / w_fp / 1e9:.2f} G voxel-view/s")

    def iteration():
        proj.back(proj.forward(x), out=buf)

    w, c, ld, _ = measure(iteration, max(2, rep - 1))
    report("one iteration (forward + back)", w, c, ld, target=TARGETS_S["iteration"] if full else None)
    x = None
    tables = point_bp_tables(geom, grid)

    def point():
        buf.fill(0.0)
        return _point_bp(q, buf, *tables)

    w_pt, c, ld, _ = measure(point, rep)
    report(
        "  reference: point-sampled bilinear BP",
        w_pt,
        c,
        ld,
        extra=f"   {vox_views / w_pt / 1e9:.2f} G voxel-view/s; slab-integrated / point = {w_bp / w_pt:.2f}x",
    )
    tables = None
    gc.collect()

    if not args.no_rtk:
        try:
            dt, dc, rvol = rtk_backprojection(q, geom, grid, threads=THREADS)
        except Exception as exc:  # report, do not hide, a failed comparison
            print(f"RTK back projection failed: {type(exc).__name__}: {exc}")
            return 1
        report(
            "  RTK CPU back projection (itk-rtk)",
            dt,
            dc,
            os.getloadavg()[0],
            extra=f"   RTK / ours = {dt / w_bp:.1f}x (volume correlation {_correlation(ours, rvol):.3f})",
        )
        rvol = None
    ours = buf = q = None
    gc.collect()

    pgeom = geom.binned(2)
    pgrid = preview_grid(grid)
    pproj = make_projector(pgeom, pgrid)
    fbp_from_raw(bin_projections(raw, 2), pgeom, pgrid, pproj)
    w, c, ld, _ = measure(lambda: fbp_from_raw(bin_projections(raw, 2), pgeom, pgrid, pproj), rep)
    report(f"preview FBP {pgrid.shape}", w, c, ld, target=TARGETS_S["preview"] if full else None)
    pproj = None
    gc.collect()

    if not args.no_command:
        with tempfile.TemporaryDirectory(prefix="bench_recon_") as tmp:
            dicom_section(raw, geom, vol, grid, Path(tmp), max(1, rep - 1))
    vol = raw = None
    gc.collect()

    sgeom, sgrid = siemens_case(scale)
    sraw = raw_signal(sgeom, seed=1)
    sproj = make_projector(sgeom, sgrid)
    fbp_from_raw(sraw, sgeom, sgrid, sproj)
    w, c, ld, _ = measure(lambda: fbp_from_raw(sraw, sgeom, sgrid, sproj), max(2, rep - 1))
    report(
        f"Siemens FBP {sgeom.n_views} x {sgeom.detector_shape}", w, c, ld, target=TARGETS_S["fbp25"] if full else None
    )
    sraw = sproj = None
    gc.collect()
    print(
        f"{'peak resident memory':<40} {_maxrss_gb():.2f} GB (this process: every case, RTK and the in-process "
        "volume write included)",
        flush=True,
    )

    print("\nsummary (best wall s | target | cpu s | load)")
    for label, wall, cpu, load, target in ROWS:
        if target:
            met = "ok " if wall <= target else "NO "
            print(f"  {label.strip():<38} {wall:7.2f} | <= {target:4.1f} {met}| {cpu:7.2f} | {load:5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
