"""Iterative methods at clinical size: seconds per iteration and peak memory (a script; not collected by pytest).

Run ``python tests/benchmarks/bench_iterative.py [--methods sart,tv] [--scale 0.5]
[--iterations 2]``. The GE-size case: 9 views of 3062 x 2394 at 0.1 mm into
(nz, ny, nx) = (107, 1978, 1058) voxels at 0.5 / 0.1 / 0.1 mm (224 Mvoxel, 0.9 GB float32),
random positive line integrals (the values do not matter for timing). Targets on the 2-core
machine: one iteration <= 5 s, peak memory <= 3 GB.

Each method runs in a FRESH subprocess (``ru_maxrss`` is a process maximum, and tracemalloc
does not see Numba's allocations): JIT warm-up on a tiny case, the projector for the GE case,
the projections, then the method with ``--iterations`` iterations. The progress callback
timestamps (wall and CPU) the end of every iteration; the figure per iteration is the fastest
iteration after the first, or the first when only one ran (setup excluded: the
normalisations are timed from the start to the first iteration minus one iteration). Peak
resident memory is read right after the method returns, so it covers the inputs (0.26 GB of
projections), the result (0.9 GB) and everything the method used. Then the same process times
one plain forward + back projection of all views (best of two) and prints the ratio.

Each figure is printed with the 1-minute load average and the process CPU time divided by
the core count: the 2-core machine is shared, so on a busy machine CPU/2 is the better
estimate of the quiet wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

TARGET_S = 5.0
TARGET_GB = 3.0
CORES = os.cpu_count() or 1


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _maxrss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def ge_case(scale: float):
    """GE Senographe Essential geometry and the vendor grid, scaled in-plane by ``scale``."""
    from recon import VolumeGrid, preset_geometry

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


def _plan_of(method: str, geom, grid) -> str:
    """The memory plan the method makes for this case with its defaults (as it says it)."""
    try:
        from recon.iterative import _memory
        from recon.iterative._common import make_subsets
        from recon.iterative.sart import default_subsets
    except ImportError:  # a version without a memory plan
        return "no plan"
    n = geom.n_views
    subsets = {"sart": n, "tv": n, "sirt": 1, "mlem": 1}.get(method, default_subsets(n))
    return _memory.plan_memory(
        grid_shape=grid.shape,
        detector_shape=geom.detector_shape,
        n_views=n,
        subset_sizes=[len(v) for v in make_subsets(n, subsets)],
        tv_iterations=10 if method == "tv" else None,
    ).describe()


def one(method: str, scale: float, iterations: int) -> dict:
    """Measure one method in this (fresh) process; return the figures."""
    from recon.iterative import METHODS
    from recon.projectors import make_projector

    func = METHODS[method]
    # JIT warm-up (kernels come from the numba cache) on a tiny case
    g0, gr0 = ge_case(0.05)
    y0 = np.full((g0.n_views, *g0.detector_shape), 1.5, np.float32)
    p0 = make_projector(g0, gr0)
    func(y0, g0, gr0, projector=p0, iterations=1)
    p0.back(p0.forward(np.ones(gr0.shape, np.float32)))
    del p0, y0

    geom, grid = ge_case(scale)
    rss_start = _maxrss_gb()
    proj = make_projector(geom, grid)
    rng = np.random.default_rng(0)
    y = np.empty((geom.n_views, *geom.detector_shape), np.float32)
    for v in range(geom.n_views):
        y[v] = rng.uniform(1.0, 2.0, geom.detector_shape).astype(np.float32)
    stamps = []  # (wall, cpu, load) at the end of every iteration

    def progress(done, total, message):
        if done % (total // iterations) == 0:
            stamps.append((time.perf_counter(), _cpu(), os.getloadavg()[0]))

    plan = _plan_of(method, geom, grid)
    t0, c0 = time.perf_counter(), _cpu()
    x = func(y, geom, grid, projector=proj, iterations=iterations, progress=progress)
    t_total = time.perf_counter() - t0
    peak = _maxrss_gb()
    walls = np.diff([t0] + [s[0] for s in stamps])
    cpus = np.diff([c0] + [s[1] for s in stamps]) / CORES
    best = int(np.argmin(walls[1:]) + 1) if len(walls) > 1 else 0
    setup = walls[0] - walls[best] if len(walls) > 1 else float("nan")

    # one plain forward + back projection of all views, best of two
    x = np.ascontiguousarray(x)
    fb = []
    for _ in range(2):
        w, c = time.perf_counter(), _cpu()
        b = proj.back(proj.forward(x))
        fb.append((time.perf_counter() - w, (_cpu() - c) / CORES, os.getloadavg()[0]))
        del b
    fb_wall, fb_cpu, fb_load = min(fb)
    return {
        "method": method,
        "shape": list(grid.shape),
        "views": geom.n_views,
        "iterations": iterations,
        "wall": float(walls[best]),
        "cpu": float(cpus[best]),
        "load": float(stamps[best][2]),
        "setup": float(setup),
        "total": t_total,
        "peak_gb": peak,
        "rss_before_case_gb": rss_start,
        "fb_wall": fb_wall,
        "fb_cpu": fb_cpu,
        "fb_load": fb_load,
        "plan": plan,
    }


def main(argv=None) -> int:
    from recon.iterative import METHODS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", default=",".join(METHODS), help="comma-separated methods (default all)")
    ap.add_argument("--scale", type=float, default=1.0, help="in-plane scale of the GE case (default 1)")
    ap.add_argument("--iterations", type=int, default=2, help="iterations per method (default 2)")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one method, print JSON
    args = ap.parse_args(argv)
    if args.one:
        print("RESULT " + json.dumps(one(args.one, args.scale, args.iterations)), flush=True)
        return 0
    methods = [m for m in args.methods.split(",") if m]
    for m in methods:
        if m not in METHODS:
            ap.error(f"unknown method {m!r}; choose from {', '.join(METHODS)}")
    print(
        f"bench_iterative: GE case at scale {args.scale:g}, {args.iterations} iterations per method, "
        f"{CORES} cores, one fresh process per method",
        flush=True,
    )
    header = (
        f"{'method':8s} {'wall s/it':>9s} {'cpu/' + str(CORES):>7s} {'load':>5s} {'setup s':>8s} "
        f"{'peak GB':>8s} {'FP+BP s':>8s} {'cpu/' + str(CORES):>7s} {'load':>5s} {'it/FPBP':>8s} {'cpu it/FPBP':>11s}"
        "  targets"
    )
    printed = False
    failed = 0
    for m in methods:
        cmd = [sys.executable, __file__, "--one", m, "--scale", str(args.scale), "--iterations", str(args.iterations)]
        res = subprocess.run(cmd, capture_output=True, text=True)
        line = next((ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if res.returncode != 0 or line is None:
            failed += 1
            tail = (res.stderr or res.stdout).strip().splitlines()[-3:]
            print(f"{m:8s} FAILED (exit {res.returncode}): {' | '.join(tail)}", flush=True)
            continue
        r = json.loads(line[len("RESULT ") :])
        if not printed:
            print(f"case: {r['views']} views -> {tuple(r['shape'])} voxels", flush=True)
            print(header, flush=True)
            printed = True
        ok_t = "met" if r["wall"] <= TARGET_S else "NOT met"
        ok_m = "met" if r["peak_gb"] <= TARGET_GB else "NOT met"
        print(
            f"{m:8s} {r['wall']:9.2f} {r['cpu']:7.2f} {r['load']:5.2f} {r['setup']:8.2f} {r['peak_gb']:8.2f} "
            f"{r['fb_wall']:8.2f} {r['fb_cpu']:7.2f} {r['fb_load']:5.2f} {r['wall'] / r['fb_wall']:8.2f} "
            f"{r['cpu'] / r['fb_cpu']:11.2f}  time {ok_t}, memory {ok_m}   [{r['plan']}]",
            flush=True,
        )
    print(
        "wall s/it: seconds per iteration (fastest after the first); setup: normalisations; peak GB: "
        "ru_maxrss of the method's process (1 GB = 1e9 bytes); FP+BP: one plain forward + back "
        "projection of all views in the same process; it/FPBP: wall ratio, cpu it/FPBP: CPU-time ratio "
        f"(steadier on a busy machine); [plan]: the memory plan; targets: <= {TARGET_S:g} s per iteration, "
        f"<= {TARGET_GB:g} GB",
        flush=True,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
