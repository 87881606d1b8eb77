"""DICOM write/read speed and memory at clinical size (a script; not collected by pytest).

Run ``python tests/benchmarks/bench_dicom.py`` (``--quick``: half size in each in-plane axis;
``--repeat N``: runs per figure, best wall time printed). For the GE-size case it measures:

* writing the Breast Tomosynthesis Image of a 107 x 1978 x 1058 float32 volume (0.9 GB) with
  :func:`app.dicom.write_tomosynthesis`, and reading it back with :func:`app.dicom.read_volume`;
* writing the Breast Projection X-Ray For Processing file of 9 x 3062 x 2394 float32 raw signal
  with :func:`app.dicom.write_projection_set`, and reading it with
  :func:`app.dicom.read_projection_set`.

Each operation runs in a fresh Python process (so one case's memory does not hide another's):
the process builds its input, resets its peak resident memory (``/proc/self/clear_refs``), then
times the operation and reads ``VmHWM``. Printed per operation: best wall time, the CPU time of
that run (all threads), the 1-minute load average, the peak resident memory above what the
process held before the operation (for a read this includes the float32 result it returns),
and the floor measured in the same process: ``numpy.ndarray.tofile`` of the same number of
pixel bytes (writes) or ``numpy.fromfile`` of the written file (reads), both through the page
cache like the operation itself. The ratio operation / floor is the most stable figure on a
shared machine.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

OPS = ("write-volume", "read-volume", "write-projections", "read-projections")


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def ge_volume(scale: float):
    """A GE-size reconstruction-like volume (1/mm): smooth breast-shaped slab plus texture noise."""
    from recon.types import Volume, VolumeGrid

    nz, ny, nx = 107, int(round(1978 * scale)), int(round(1058 * scale))
    pix = 0.1 / scale
    grid = VolumeGrid(shape=(nz, ny, nx), voxel_mm=(0.5, pix, pix), origin_mm=(22.25, -ny * pix / 2 + pix / 2, pix / 2))
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((ny, nx), dtype=np.float32) * np.float32(0.004)
    y = np.linspace(-1, 1, ny, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, nx, dtype=np.float32)[None, :]
    inside = ((x**2 + y**2) < 1).astype(np.float32) * np.float32(0.045)
    data = np.empty(grid.shape, np.float32)
    for k in range(nz):
        np.add(inside, np.roll(noise, 37 * k, axis=1), out=data[k])
    data[50:53, ny // 2 - 3 : ny // 2 + 3, nx // 3 : nx // 3 + 6] = 0.25  # calcification-like extremes
    data[0, :4, :4] = -0.08
    return Volume(data=data, grid=grid, metadata={"method": "fbp"})


def ge_projections(scale: float):
    """GE-size For Processing raw signal (9 x 3062 x 2394), always positive."""
    from recon import ProjectionSet, preset_geometry

    nv, nu = int(round(3062 * scale)), int(round(2394 * scale))
    geom = preset_geometry("ge-essential", detector_shape=(nv, nu), pixel_mm=0.1 / scale)
    rng = np.random.default_rng(1)
    y = ((np.arange(nv) + 0.5) / nv - 0.5).astype(np.float32)[:, None]
    x = ((np.arange(nu) + 0.5) / nu).astype(np.float32)[None, :]
    li = np.clip(3.0 * (1 - x**2 - (2 * y) ** 2), 0, None).astype(np.float32)
    base = np.float32(4000.0) * np.exp(-li)
    noise = rng.normal(0, 20, (nv, nu)).astype(np.float32)
    data = np.empty((geom.n_views, nv, nu), np.float32)
    for p in range(geom.n_views):
        np.add(base, np.roll(noise, 101 * p, axis=0), out=data[p])
    np.maximum(data, 1.0, out=data)
    return ProjectionSet(
        data=data,
        geometry=geom,
        exposure_mas=np.full(geom.n_views, 5.0),
        is_line_integral=False,
        metadata={"thickness_mm": 53.5},
    )


def child(op: str, folder: Path, scale: float, repeat: int) -> dict:
    """Run one operation ``repeat`` times in this process; return its figures."""
    from app.dicom import PatientStudy, read_projection_set, read_volume, write_projection_set, write_tomosynthesis

    study = PatientStudy(laterality="L", view="CC")
    vol_path, proj_path = folder / "volume.dcm", folder / "projections.dcm"
    obj = None
    if op == "write-volume":
        obj = ge_volume(scale)
        target = vol_path
        nbytes = obj.data.size * 2

        def run():
            write_tomosynthesis(obj, target, study=study)

    elif op == "write-projections":
        obj = ge_projections(scale)
        target = proj_path
        nbytes = obj.data.size * 2

        def run():
            write_projection_set(obj, target, study=study)

    elif op == "read-volume":
        target = vol_path
        nbytes = target.stat().st_size

        def run():
            return read_volume(target)

    else:
        target = proj_path
        nbytes = target.stat().st_size

        def run():
            return read_projection_set(target)

    # warm-up: imports, numba caches, pydicom dictionaries (on a small object, not the measured one)
    gc.collect()
    _reset_peak()
    before_kb = _status_kb("VmRSS")
    best = None
    for _ in range(repeat):
        gc.collect()
        if op.startswith("write"):  # a new file each time, as the floor writes one
            target.unlink(missing_ok=True)
        w, c = time.perf_counter(), _cpu()
        run()  # a read's result is dropped here, before the next run
        w, c = time.perf_counter() - w, _cpu() - c
        if best is None or w < best[0]:
            best = (w, c, os.getloadavg()[0])
    peak_kb = _status_kb("VmHWM")
    # the floor, same process, same page cache
    floor = None
    scratch = folder / "floor.bin"
    for _ in range(repeat):
        if op.startswith("write"):
            raw = np.ones(nbytes // 2, np.uint16)
            scratch.unlink(missing_ok=True)
            t = time.perf_counter()
            raw.tofile(scratch)
            dt = time.perf_counter() - t
            raw = None
        else:
            t = time.perf_counter()
            raw = np.fromfile(target, np.uint8)
            dt = time.perf_counter() - t
            raw = None
        floor = dt if floor is None else min(floor, dt)
    scratch.unlink(missing_ok=True)
    return {
        "op": op,
        "wall": best[0],
        "cpu": best[1],
        "load": best[2],
        "peak_gb": (peak_kb - before_kb) / 1024**2,
        "input_gb": (obj.data.nbytes / 1e9) if obj is not None else 0.0,
        "file_mb": target.stat().st_size / 1e6,
        "floor": floor,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="half-size in-plane case")
    ap.add_argument("--repeat", type=int, default=2, help="runs per figure (best wall printed; default 2)")
    ap.add_argument("--only", choices=OPS, action="append", help="run only these operations (reads need the files)")
    ap.add_argument("--child", choices=OPS, help=argparse.SUPPRESS)
    ap.add_argument("--dir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    scale = 0.5 if args.quick else 1.0
    if args.child:
        print(json.dumps(child(args.child, Path(args.dir), scale, max(1, args.repeat))))
        return 0

    print(
        f"bench_dicom: {'quick (half-size in-plane)' if args.quick else 'full'} GE case; "
        f"{len(os.sched_getaffinity(0))} CPUs usable; load {os.getloadavg()[0]:.2f}; peak memory reset "
        f"{'works' if _reset_peak() else 'UNAVAILABLE (peaks include set-up)'}",
        flush=True,
    )
    ops = args.only or OPS
    with tempfile.TemporaryDirectory(prefix="bench_dicom_") as tmp:
        for op in OPS:
            if op not in ops and not (op.startswith("write") and op.replace("write", "read") in ops):
                continue
            cmd = [sys.executable, __file__, "--child", op, "--dir", tmp, "--repeat", str(args.repeat)]
            if args.quick:
                cmd.append("--quick")
            res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            if res.returncode != 0:
                print(f"{op}: failed ({res.returncode}): {res.stderr.strip()[-800:]}", flush=True)
                return 1
            r = json.loads(res.stdout.strip().splitlines()[-1])
            what = "input" if op.startswith("write") else "file"
            size = f"{r['input_gb']:.2f} GB float32 input, " if op.startswith("write") else ""
            print(
                f"{op:<18} wall {r['wall']:6.2f} s  cpu {r['cpu']:6.2f} s  load {r['load']:5.2f}  "
                f"peak +{r['peak_gb']:.2f} GB ({size}{r['file_mb']:.0f} MB file)  "
                f"floor {r['floor']:.2f} s ({'tofile' if op.startswith('write') else 'fromfile'} of the {what} "
                f"bytes) -> {r['wall'] / max(r['floor'], 1e-9):.1f}x floor",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
