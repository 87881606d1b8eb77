"""Viewer benchmark: slice change -> rendered frame, opening a 4-view study, memory per study.

Run under Xvfb (``make bench`` does)::

    xvfb-run -a -s "-screen 0 1920x1200x24" .venv/bin/python tests/benchmarks/bench_viewer.py

Slices are 2000 x 1500 pixels (0.1 mm), 40 per view. Targets (issue #5): p95 of slice change
to rendered frame <= 16 ms; 4-view study open to first image <= 1.5 s. The reference, measured
in the same process, is the naive path that uploads the whole full-resolution slice every
frame (level of detail and region cropping off).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def build_study(nz: int, ny: int, nx: int):
    from app.model.demo import demo_study

    return demo_study(shape=(nz, ny, nx), pixel_mm=0.1, synthetic2d=False)


class FrameClock:
    """Time at which each render of a window finished."""

    def __init__(self, render_window):
        self.count = 0
        self.t_end = 0.0
        render_window.AddObserver("EndEvent", self._end)

    def _end(self, obj, ev):
        self.count += 1
        self.t_end = time.perf_counter()


def wait_frame(app, clock: FrameClock, before: int, timeout_s: float = 5.0) -> float:
    t_limit = time.perf_counter() + timeout_s
    while clock.count == before:
        app.processEvents()
        if time.perf_counter() > t_limit:
            raise RuntimeError("no frame rendered")
    return clock.t_end


def wheel(widget, steps: int) -> None:
    from PySide6 import QtCore, QtGui, QtWidgets

    pos = QtCore.QPointF(widget.width() / 2, widget.height() / 2)
    ev = QtGui.QWheelEvent(
        pos,
        widget.mapToGlobal(pos),
        QtCore.QPoint(0, 0),
        QtCore.QPoint(0, 120 * steps),
        QtCore.Qt.MouseButton.NoButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
        QtCore.Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QtWidgets.QApplication.sendEvent(widget, ev)


def time_scrolling(app, window, index: int, n: int, *, wait_for=None) -> np.ndarray:
    """Wheel one notch at a time on viewport ``index``; ms from the event to the last frame needed."""
    qvp = window.viewports[index]
    targets = wait_for if wait_for is not None else [index]
    clocks = [window.viewports[i].vtk._bench_clock for i in targets]
    times = []
    direction = 1
    for _ in range(n):
        state = qvp.state
        if state.slice_index + direction >= state.n_slices or state.slice_index + direction < 0:
            direction = -direction
        befores = [c.count for c in clocks]
        t0 = time.perf_counter()
        wheel(qvp.vtk, direction)
        t_end = max(wait_frame(app, c, b) for c, b in zip(clocks, befores, strict=True))
        times.append((t_end - t0) * 1000)
    return np.asarray(times)


def attach_clocks(window) -> None:
    for qvp in window.viewports:
        qvp.vtk._bench_clock = FrameClock(qvp.vtk.GetRenderWindow())


def open_study(app, window, study, protocol="4view") -> float:
    """Seconds from open to every viewport of the stage having rendered its image."""
    t0 = time.perf_counter()
    window.open_study(study, protocol_id=protocol)
    attach_clocks(window)
    clocks = [q.vtk._bench_clock for q in window.viewports]
    t_limit = t0 + 30
    while any(c.count == 0 for c in clocks):
        app.processEvents()
        if time.perf_counter() > t_limit:
            raise RuntimeError("viewports never rendered")
    return max(c.t_end for c in clocks) - t0


def stats(label: str, ms: np.ndarray, ref: np.ndarray | None = None) -> str:
    p50, p95 = np.percentile(ms, 50), np.percentile(ms, 95)
    line = f"{label:<48s} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  (n={ms.size})"
    if ref is not None:
        line += f"  p95 ratio to reference {p95 / np.percentile(ref, 95):.2f}"
    return line


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slices", type=int, default=40)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--cols", type=int, default=1500)
    ap.add_argument("-n", type=int, default=60, help="slice changes per measurement")
    args = ap.parse_args(argv)

    from app.qt.application import ensure_application
    from app.qt.main_window import QtMainWindow
    from app.render import image_slice

    app = ensure_application()
    m0 = rss_mb()
    t = time.perf_counter()
    study = build_study(args.slices, args.rows, args.cols)
    t_build = time.perf_counter() - t
    m1 = rss_mb()
    print(
        f"study: 4 views x {args.slices} slices x {args.rows} x {args.cols} float32 = "
        f"{study.nbytes / 2**20:.0f} MiB of pixels (built in {t_build:.1f} s)"
    )

    window = QtMainWindow()
    window.resize(1800, 1100)
    window.worklist_dock.hide()
    window.show()
    for _ in range(20):
        app.processEvents()
    m2 = rss_mb()
    # compile the slab kernels before timing (numba cache makes this quick after the first run)
    from app.model.slab import slab_region

    slab_region(study.images[0].data, 0, 1, mode="mip", step=2)
    slab_region(study.images[0].data, 0, 1, mode="average", step=2)

    t_open = open_study(app, window, study)
    m3 = rss_mb()
    size = window.viewports[0].vtk.size()
    print(
        f"open 4-view study to first image: {t_open:.3f} s (target <= 1.5 s); "
        f"viewport {size.width()} x {size.height()} px"
    )
    print(
        f"memory: study pixels {study.nbytes / 2**20:.0f} MiB; process RSS +{m1 - m0:.0f} MiB building, "
        f"+{m3 - m2:.0f} MiB opening in the viewer (textures, caches)"
    )

    results = []
    window.session.link_scrolling = False
    for _ in range(5):  # warm-up
        time_scrolling(app, window, 0, 3)
    ours = time_scrolling(app, window, 0, args.n)
    # reference: whole full-resolution slice uploaded every frame
    saved_step, saved_margin = image_slice.MAX_STEP, image_slice.MARGIN
    image_slice.MAX_STEP = 1
    image_slice.MARGIN = 10.0
    window.session.viewports[0].zoom = 1.0001  # force a re-upload at the new settings
    time_scrolling(app, window, 0, 3)
    ref = time_scrolling(app, window, 0, args.n)
    image_slice.MAX_STEP, image_slice.MARGIN = saved_step, saved_margin
    window.session.viewports[0].zoom = 1.0
    results.append(stats("4-view, fit, one slice (target p95 <= 16 ms)", ours, ref))
    results.append(stats("  reference: full-resolution upload per frame", ref))

    window.session.link_scrolling = True
    results.append(
        stats("4-view, linked R CC + R MLO (both frames)", time_scrolling(app, window, 0, args.n, wait_for=[0, 2]))
    )
    window.session.link_scrolling = False

    vp = window.session.viewports[0]
    vp.update(slab_mm=10, slab_mode="average")
    time_scrolling(app, window, 0, 3)
    results.append(stats("4-view, fit, 10 mm average slab", time_scrolling(app, window, 0, args.n)))
    vp.slab_mode = "mip"
    time_scrolling(app, window, 0, 3)
    results.append(stats("4-view, fit, 10 mm MIP slab", time_scrolling(app, window, 0, args.n)))
    vp.slab_mm = 0

    t_open1 = open_study(app, window, study, protocol="single")
    vp = window.session.viewports[0]
    size = window.viewports[0].vtk.size()
    time_scrolling(app, window, 0, 3)
    results.append(stats(f"1-up {size.width()}x{size.height()}, fit", time_scrolling(app, window, 0, args.n)))
    vp.set_scale_mode("pixel")
    time_scrolling(app, window, 0, 3)
    results.append(stats(f"1-up {size.width()}x{size.height()}, 1:1 pixels", time_scrolling(app, window, 0, args.n)))
    print(f"open single view: {t_open1:.3f} s")
    for line in results:
        print(line)
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
