"""Viewer benchmark: slice change -> rendered frame, opening a 4-view study, memory per study.

Run under Xvfb (``make bench`` does)::

    xvfb-run -a -s "-screen 0 1920x1200x24" .venv/bin/python tests/benchmarks/bench_viewer.py

Slices are 2000 x 1500 pixels (0.1 mm), 40 per view. Targets (issue #5): p95 of slice change
to rendered frame <= 16 ms; 4-view study open to first image <= 1.5 s.

Each line gives the wall-clock time from the wheel event to the end of the frame (p50, p95),
the CPU time of this process per frame (main thread + llvmpipe + numba threads: what a frame
costs on an idle machine, apart from the X server's share) and the 1-minute load average
while it was measured: on a shared machine the wall times follow the load. Two references
are measured in the same process and window:

- the floor: a repaint of the same frame with nothing changed (no upload; the software
  OpenGL render of the window with its texture and texts), which a slice change cannot beat;
- the naive path: the whole full-resolution slice uploaded every frame (level of detail and
  region cropping off).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def load1() -> float:
    return os.getloadavg()[0]


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


def clock(qvp) -> FrameClock:
    """The frame clock of a viewport's render window (attached once: windows are reused)."""
    view = qvp.vtk
    if getattr(view, "_bench_clock", None) is None:
        view._bench_clock = FrameClock(view.GetRenderWindow())
    return view._bench_clock


def wait_frame(app, c: FrameClock, before: int, timeout_s: float = 5.0) -> float:
    t_limit = time.perf_counter() + timeout_s
    while c.count == before:
        app.processEvents()
        if time.perf_counter() > t_limit:
            raise RuntimeError("no frame rendered")
    return c.t_end


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


class Timing:
    """Wall ms per event, CPU ms per frame, load average, frames drawn by other viewports."""

    def __init__(self, ms, cpu_ms, load, others):
        self.ms, self.cpu_ms, self.load, self.others = np.asarray(ms), cpu_ms, load, others

    @property
    def p95(self) -> float:
        return float(np.percentile(self.ms, 95))

    def line(self, label: str, ref: Timing | None = None) -> str:
        p50 = np.percentile(self.ms, 50)
        out = (
            f"{label:<44s} p50 {p50:6.1f}  p95 {self.p95:6.1f} ms  cpu {self.cpu_ms:5.1f} ms/frame  "
            f"load {self.load:4.1f}  n={self.ms.size}"
        )
        if self.others:
            out += f"  (+{self.others} frames in other viewports)"
        if ref is not None:
            out += f"  p95/ref {self.p95 / ref.p95:.2f}"
        return out


def time_events(app, window, index: int, n: int, act, *, wait_for=None) -> Timing:
    """Call ``act(qvp, i)`` n times on viewport ``index``; ms from the call to the last frame needed."""
    qvp = window.viewports[index]
    targets = wait_for if wait_for is not None else [index]
    clocks = [clock(window.viewports[i]) for i in targets]
    all_clocks = [clock(q) for q in window.viewports]
    total0 = sum(c.count for c in all_clocks)
    times = []
    loads = [load1()]
    c0 = time.process_time()
    waited = 0
    for i in range(n):
        befores = [c.count for c in clocks]
        slices = [window.viewports[t].state.slice_index for t in targets]
        t0 = time.perf_counter()
        act(qvp, i)
        # the acted-on view always redraws; a linked partner only when its slice moved
        pending = [
            (c, b)
            for k, (c, b, t, sl) in enumerate(zip(clocks, befores, targets, slices, strict=True))
            if k == 0 or window.viewports[t].state.slice_index != sl
        ]
        t_end = max(wait_frame(app, c, b) for c, b in pending)
        waited += len(pending)
        times.append((t_end - t0) * 1000)
    cpu = (time.process_time() - c0) * 1000 / n
    loads.append(load1())
    others = sum(c.count for c in all_clocks) - total0 - waited
    return Timing(times, cpu, float(np.mean(loads)), others)


def scroll(qvp, i) -> None:
    state = qvp.state
    direction = getattr(qvp, "_bench_direction", 1)
    if not 0 <= state.slice_index + direction < state.n_slices:
        direction = -direction
    qvp._bench_direction = direction
    wheel(qvp.vtk, direction)


def repaint(qvp, i) -> None:
    qvp.vtk.update()


def drag_window(qvp, i) -> None:
    qvp.state.drag_window(3.0 if i % 2 else -3.0, 2.0 if i % 2 else -2.0)


def time_scrolling(app, window, index: int, n: int, *, wait_for=None) -> Timing:
    return time_events(app, window, index, n, scroll, wait_for=wait_for)


def open_study(app, window, study, protocol="4view") -> float:
    """Seconds from open to every viewport of the stage having rendered its image."""
    befores = {id(q.vtk): clock(q).count for q in window.viewports}
    t0 = time.perf_counter()
    window.open_study(study, protocol_id=protocol)
    clocks = [(clock(q), befores.get(id(q.vtk), 0)) for q in window.viewports]
    t_limit = t0 + 30
    while any(c.count == b for c, b in clocks):
        app.processEvents()
        if time.perf_counter() > t_limit:
            raise RuntimeError("viewports never rendered")
    return max(c.t_end for c, _ in clocks) - t0


def _median_ms(fn, n: int) -> tuple[float, float]:
    """(median wall ms, median CPU ms) of ``fn(i)`` over ``n`` calls."""
    wall, cpu = [], []
    for i in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        fn(i)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - t0)
    return float(np.median(wall)) * 1000, float(np.median(cpu)) * 1000


def stage_costs(image, width: int, height: int, n: int = 30) -> list[str]:
    """What each stage of a slice change costs, measured alone: the floor analysis."""
    import vtkmodules.vtkRenderingOpenGL2  # noqa: F401
    from vtkmodules.util import numpy_support
    from vtkmodules.vtkCommonDataModel import vtkImageData
    from vtkmodules.vtkRenderingCore import vtkImageSlice, vtkImageSliceMapper, vtkRenderer, vtkRenderWindow

    from app.model.slab import ReducedSlices, slab_region, window_to_uint8
    from app.render.image_slice import choose_step

    data = image.data
    nz, ny, nx = data.shape
    wpp = max(ny * image.pixel_mm[0] / height, nx * image.pixel_mm[1] / width)
    step = choose_step(wpp, image.pixel_mm[1])
    h, w = ny // step, nx // step
    out = [f"stages of one slice change, {width} x {height} px viewport, fit: box {step} -> {w} x {h} texels"]

    def line(label, cost):
        out.append(f"  {label:<58s} {cost[0]:6.2f} ms wall  {cost[1]:6.2f} ms CPU")

    out.append(
        f"  bytes per frame: uint8 texture {h * w / 2**20:.2f} MiB; float32 texture {4 * h * w / 2**20:.2f} MiB; "
        f"full-resolution float32 slice {4 * ny * nx / 2**20:.1f} MiB (+ VTK's RGBA copy {4 * ny * nx / 2**20:.1f} MiB)"
    )
    vals = slab_region(data, 0, 0, step=step)
    line(
        f"box-reduce one slice ({ny} x {nx} -> {h} x {w}, numba)",
        _median_ms(lambda i: slab_region(data, i % nz, i % nz, step=step), n),
    )
    tex = np.empty_like(vals, dtype=np.uint8)
    line("window/level into uint8 (numba)", _median_ms(lambda i: window_to_uint8(vals, 0.5, 1.0, out=tex), n))
    k = min(10, nz)
    line(
        f"{k}-slice average slab, full recompute (slab_region)",
        _median_ms(lambda i: slab_region(data, 0, k - 1, step=step), max(5, n // 3)),
    )
    if step > 1:  # at full resolution the viewer reads slabs straight from the stack
        cache = ReducedSlices(data, rows=(0, h * step), cols=(0, w * step), step=step, min_slices=k)
        cache.slab(0, k - 1)
        line(
            f"{k}-slice average slab, scrolling by one (reduced-slice cache)",
            _median_ms(lambda i: cache.slab(i % (nz - k + 1), i % (nz - k + 1) + k - 1), n),
        )
        line(
            f"{k}-slice MIP slab, scrolling by one (reduced-slice cache)",
            _median_ms(lambda i: cache.slab(i % (nz - k + 1), i % (nz - k + 1) + k - 1, mode="mip"), n),
        )

    rw = vtkRenderWindow()
    rw.SetSize(width, height)
    rw.SetMultiSamples(0)
    ren = vtkRenderer()
    rw.AddRenderer(ren)
    rw.Render()
    line("software OpenGL: empty frame of the window (clear + swap)", _median_ms(lambda i: rw.Render(), n))
    img = vtkImageData()
    mapper = vtkImageSliceMapper()
    mapper.SetInputData(img)
    actor = vtkImageSlice()
    actor.SetMapper(mapper)
    actor.GetProperty().SetInterpolationTypeToLinear()
    ren.AddViewProp(actor)

    def show(arr, window, level):
        img.SetDimensions(arr.shape[1], arr.shape[0], 1)
        img.SetSpacing(wpp, wpp, 1.0)
        img.GetPointData().SetScalars(numpy_support.numpy_to_vtk(arr.reshape(-1), deep=0))
        img.Modified()
        actor.GetProperty().SetColorWindow(window)
        actor.GetProperty().SetColorLevel(level)

    vals = np.ascontiguousarray(vals)
    show(tex, 255.0, 127.5)
    ren.ResetCamera()
    rw.Render()
    line("  + the image quad, nothing uploaded", _median_ms(lambda i: rw.Render(), n))
    line("  + upload of the uint8 texture (VTK pass-through)", _median_ms(lambda i: (img.Modified(), rw.Render()), n))
    show(vals, 1.0, 0.5)
    rw.Render()
    line(
        "  + upload of a float32 texture (VTK maps W/L to RGBA)", _median_ms(lambda i: (img.Modified(), rw.Render()), n)
    )
    full = np.ascontiguousarray(data[0])
    show(full, 1.0, 0.5)
    rw.Render()
    line("  + upload of the full-resolution float32 slice", _median_ms(lambda i: (img.Modified(), rw.Render()), n))
    rw.Finalize()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slices", type=int, default=40)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--cols", type=int, default=1500)
    ap.add_argument("-n", type=int, default=60, help="slice changes per measurement")
    ap.add_argument("--repeat", type=int, default=3, help="repetitions of the main 4-view measurement")
    args = ap.parse_args(argv)

    store = tempfile.mkdtemp(prefix="crescent-bench-")  # never the user's store (viewer state is saved)
    os.environ["CRESCENT_HOME"] = store
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} cores")

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

    window = QtMainWindow(store_dir=store)
    window.resize(1800, 1100)
    window.worklist_dock.hide()
    window.show()
    for _ in range(20):
        app.processEvents()
    m2 = rss_mb()

    # first open of the process: the empty viewports' windows exist, the kernels may still be loading
    opens = [open_study(app, window, study)]
    m3 = rss_mb()
    for _ in range(3):
        opens.append(open_study(app, window, study))
    size = window.viewports[0].vtk.size()
    size4 = (size.width(), size.height())
    print(
        f"open 4-view study to first image (target <= 1.5 s): first {opens[0]:.3f} s, "
        f"again {' '.join(f'{t:.3f}' for t in opens[1:])} s; viewport {size.width()} x {size.height()} px; "
        f"load {load1():.1f}"
    )

    results = []
    window.session.link_scrolling = False
    for _ in range(5):  # warm-up
        time_scrolling(app, window, 0, 3)
    floor = time_events(app, window, 0, args.n, repaint)
    runs = [time_scrolling(app, window, 0, args.n) for _ in range(max(1, args.repeat))]
    # reference: whole full-resolution slice uploaded every frame
    saved_step, saved_margin = image_slice.MAX_STEP, image_slice.MARGIN
    image_slice.MAX_STEP = 1
    image_slice.MARGIN = 10.0
    window.session.viewports[0].zoom = 1.0001  # force a re-upload at the new settings
    time_scrolling(app, window, 0, 3)
    ref = time_scrolling(app, window, 0, args.n)
    image_slice.MAX_STEP, image_slice.MARGIN = saved_step, saved_margin
    window.session.viewports[0].zoom = 1.0
    time_scrolling(app, window, 0, 3)
    results.append(floor.line("floor: repaint, nothing changed"))
    for k, run in enumerate(runs):
        results.append(run.line(f"4-view, fit, one slice, run {k + 1} (target p95<=16)", floor))
    results.append(ref.line("  reference: full-resolution upload per frame", floor))

    window.session.link_scrolling = True
    results.append(time_scrolling(app, window, 0, args.n, wait_for=[0, 2]).line("4-view, linked R CC + R MLO (both)"))
    window.session.link_scrolling = False
    results.append(time_events(app, window, 0, args.n, drag_window).line("4-view, window/level drag"))

    vp = window.session.viewports[0]
    vp.update(slab_mm=10, slab_mode="average")
    time_scrolling(app, window, 0, 3)
    results.append(time_scrolling(app, window, 0, args.n).line("4-view, fit, 10 mm average slab"))
    vp.slab_mode = "mip"
    time_scrolling(app, window, 0, 3)
    results.append(time_scrolling(app, window, 0, args.n).line("4-view, fit, 10 mm MIP slab"))
    m4 = rss_mb()
    vp.slab_mm = 0

    t_open1 = open_study(app, window, study, protocol="single")
    vp = window.session.viewports[0]
    size = window.viewports[0].vtk.size()
    floor1 = time_events(app, window, 0, args.n // 2, repaint)
    time_scrolling(app, window, 0, 3)
    results.append(floor1.line(f"1-up {size.width()}x{size.height()}: floor (repaint)"))
    results.append(time_scrolling(app, window, 0, args.n).line(f"1-up {size.width()}x{size.height()}, fit", floor1))
    vp.set_scale_mode("pixel")
    time_scrolling(app, window, 0, 3)
    results.append(time_scrolling(app, window, 0, args.n).line(f"1-up {size.width()}x{size.height()}, 1:1", floor1))
    print(f"open single view (new layout: a new render window): {t_open1:.3f} s")

    print(
        f"memory: study pixels {study.nbytes / 2**20:.0f} MiB; process RSS +{m1 - m0:.0f} MiB building, "
        f"+{m3 - m2:.0f} MiB opening in the viewer, +{m4 - m2:.0f} MiB after slabs (reduced-slice caches)"
    )
    for line in results:
        print(line)
    window.close()
    for line in stage_costs(study.images[0], *size4) + stage_costs(study.images[0], size.width(), size.height()):
        print(line)
    print(f"load average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
