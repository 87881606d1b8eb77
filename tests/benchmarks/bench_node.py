"""Throughput of the reconstruction node (acquisitions per hour) with 1 and 2 Dask workers.

Run: ``.venv/bin/python tests/benchmarks/bench_node.py [--acquisitions 6] [--rows 640 --columns 480]``

A mid-size acquisition (GE Essential geometry, 9 views of 640 x 480 pixels at 0.25 mm, a
40 mm breast: a 40-slice volume) is sent ``--acquisitions`` times (distinct UIDs) by a
pynetdicom modality to an in-process node whose results go to a real Orthanc. The node runs
its Dask cluster as 1 or 2 worker *processes* with one thread each (numba and BLAS limited to
one thread per worker, so that the worker count is the parallelism); jobs run concurrently,
one per worker, and each FBP volume is split into as many slabs as there are workers. The
clock runs from the first C-STORE to the last job done, after a warm-up acquisition per worker.

Printed: acquisitions/hour for each worker count, the speed-up, the Amdahl serial fraction
``s = 2 / S2 - 1`` fitted to the 2-worker speed-up ``S2``, what it predicts for N workers
(``1 / (s + (1 - s) / N)``, at most ``1 / s``), and, as the reference measured in the same
process, the bare computation of one acquisition (read, line integrals, FBP, synthetic 2D,
CAD; no DICOM network, numba on all cores). The machine's load average is printed before
and after: on a shared machine the figures are lower bounds.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def _acquisitions(folder: Path, n: int, rows: int, columns: int, pixel_mm: float) -> list[Path]:
    from app.dicom import PatientStudy, write_projection_set
    from recon.phantoms import breast_phantom
    from recon.presets import preset_geometry
    from recon.simulate import simulate_acquisition

    geom = preset_geometry("ge-essential", detector_shape=(rows, columns), pixel_mm=pixel_mm)
    phantom = breast_phantom(
        size="small", seed=7, support_height_mm=geom.support_height_mm, thickness_mm=40, depth_mm=70, width_mm=120
    )
    projections = simulate_acquisition(phantom, geom, seed=7)
    folder.mkdir(parents=True, exist_ok=True)
    return [
        write_projection_set(projections, folder / f"acq{i:03d}.dcm", study=PatientStudy(patient_id=f"B{i}")).path
        for i in range(n)
    ]


def _reference_s(path: Path) -> float:
    """Seconds for the bare computation of one acquisition in this process."""
    from app.commands.recon import breast_extent_mm
    from app.dicom import read_projection_set
    from cad.detect import detect
    from recon import VolumeGrid, reconstruct
    from recon.preprocess import preprocess_projection_set
    from recon.synthetic2d import synthetic_2d

    best = float("inf")
    for _ in range(2):  # the first run loads numba caches and the models
        t = time.perf_counter()
        li = preprocess_projection_set(read_projection_set(path))
        ex, ey = breast_extent_mm(li.data, li.geometry)
        grid = VolumeGrid.for_geometry(li.geometry, li.metadata["thickness_mm"], extent_x_mm=ex, extent_y_mm=ey)
        volume = reconstruct(li.data, li.geometry, grid)
        synthetic_2d(volume)
        detect(volume, threads=1)
        best = min(best, time.perf_counter() - t)
    return best


class _StageTimes:
    """Collects the per-stage durations the node logs when a job is done."""

    def __init__(self):
        import logging

        self.jobs: list[dict[str, float]] = []
        handler = logging.Handler()
        handler.emit = self._emit
        logger = logging.getLogger("crescent.node")
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)

    def _emit(self, record) -> None:
        if record.msg.startswith("job %d done") and record.args:
            parts = [p.rsplit(" ", 2) for p in str(record.args[-1]).split(", ") if p]
            self.jobs.append({name: float(value) for name, value, _unit in parts})

    def mean(self, last: int) -> str:
        jobs = self.jobs[-last:]
        names = list(dict.fromkeys(k for j in jobs for k in j))
        return ", ".join(f"{n} {sum(j.get(n, 0.0) for j in jobs) / len(jobs):.2f}" for n in names)


def _throughput(workers: int, orthanc, files: list[Path], warmup: list[Path], tmp: Path) -> tuple[float, float]:
    """(acquisitions per hour, seconds) for the node with ``workers`` worker processes."""
    from app.config import Config
    from app.node.service import Node
    from app.node.settings import settings_from_config
    from tests.app.node.helpers import modality_send
    from tests.orthanc import free_port

    orthanc.clear()
    root = tmp / f"store{workers}"
    settings = settings_from_config(
        Config(),
        pacs=f"{orthanc.aet}@127.0.0.1:{orthanc.dicom_port}",
        allow=["MODALITY@127.0.0.1"],
        port=free_port(),
        workers=workers,
        worker_processes=True,
        timeout_s=60.0,
    )

    with Node(settings, store_root=root) as node:
        import threading

        def send(paths):
            for path in paths:
                assert modality_send(node.port, [path]) == [0]

        def run_until(n_done: int) -> None:  # the scheduler loop, in this thread (it owns the store connection)
            while node.queue.counts()["done"] < n_done:
                failed = node.queue.jobs(state="failed")
                if failed:
                    raise RuntimeError(f"job {failed[0].id} failed: {failed[0].reason}")
                node.tick()
                time.sleep(0.02)

        send(warmup)
        run_until(len(warmup))
        t = time.perf_counter()
        sender = threading.Thread(target=send, args=(files,))
        sender.start()
        run_until(len(warmup) + len(files))
        elapsed = time.perf_counter() - t
        sender.join()
    return len(files) / elapsed * 3600.0, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--acquisitions", type=int, default=6, help="timed acquisitions per worker count")
    parser.add_argument("--rows", type=int, default=640)
    parser.add_argument("--columns", type=int, default=480)
    parser.add_argument("--pixel-mm", type=float, default=0.25)
    args = parser.parse_args()
    import logging

    logging.getLogger("pynetdicom").setLevel(logging.WARNING)
    from tests.orthanc import running_orthanc

    print(f"machine: {os.cpu_count()} CPUs, load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = _acquisitions(tmp / "acq", args.acquisitions + 2, args.rows, args.columns, args.pixel_mm)
        ref = _reference_s(files[0])
        print(
            f"acquisition: 9 views of {args.rows} x {args.columns} at {args.pixel_mm} mm, 40 mm breast; "
            f"{args.acquisitions} timed per configuration"
        )
        print(f"reference (bare computation in this process, all cores): {ref:6.2f} s = {3600 / ref:7.0f} acq/h")
        results = {}
        stages = _StageTimes()
        with running_orthanc(tmp / "orthanc") as orthanc:
            for workers in (1, 2):
                rate, elapsed = _throughput(workers, orthanc, files[2:], files[:workers], tmp)
                results[workers] = rate
                print(
                    f"node, {workers} Dask worker process(es): {rate:7.0f} acq/h "
                    f"({elapsed:6.1f} s for {args.acquisitions}; {rate * ref / 3600:.2f}x the reference rate)"
                )
                print(f"  mean seconds per job stage (jobs overlap): {stages.mean(args.acquisitions)}")
    speedup = results[2] / results[1]
    serial = min(1.0, max(0.0, 2.0 / speedup - 1.0))
    print(f"speed-up 1 -> 2 workers: {speedup:.2f}x")
    print(f"Amdahl fit: serial fraction s = {serial:.2f}")
    for n in (4, 8, 16):
        predicted = 1.0 / (serial + (1.0 - serial) / n)
        print(f"  predicted {n:2d} workers: {predicted:5.2f}x  ({results[1] * predicted:7.0f} acq/h)")
    print(f"  limit: {1.0 / serial if serial > 0 else float('inf'):.1f}x")
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
