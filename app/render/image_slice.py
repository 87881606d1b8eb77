"""The image of a viewport: the visible region of the current slice or slab, as a VTK texture.

Per frame only what is seen is uploaded: the visible region (plus a margin so that small pans
need no upload), box-averaged by a whole number of pixels when the image is shown smaller
than 1:1. Window/level and invert are applied here (numba, one pass) into an 8-bit grey
texture that VTK passes to OpenGL as is (window 255, level 127.5, no lookup table): a quarter
of the bytes of a float texture, and no colour mapping in VTK. The float values of the region
are kept, so a window/level drag only re-windows them; slabs at a reduced level of detail
come from a cache of reduced slices (:class:`~app.model.slab.ReducedSlices`).
"""

from __future__ import annotations

import math
import threading

import numpy as np
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkRenderingCore import vtkImageSlice, vtkImageSliceMapper

from app.model.slab import ReducedSlices, slab_region, window_to_uint8
from app.model.view_geometry import ViewGeometry

__all__ = ["ImageSliceAdapter", "choose_step", "visible_pixels", "upload_region", "apply_camera", "start_warm_up"]

MAX_STEP = 8
MARGIN = 0.5  # fraction of the visible size added on each side of an uploaded region
SLAB_CACHE_BYTES = 32 * 2**20  # reduced slices kept per viewport for slabs (24 at a 4-view fit)


_warm_up_started = threading.Event()


def _warm_up() -> None:
    data = np.zeros((3, 8, 8), np.float32)
    for step in (1, 2):
        for mode in ("average", "mip"):
            slab_region(data, 0, 2, mode=mode, step=step)
            ReducedSlices(data, rows=(0, 8), cols=(0, 8), step=step, min_slices=3).slab(0, 2, mode=mode)
    window_to_uint8(data[0], 0.5, 1.0)


def start_warm_up() -> None:
    """Load the numba kernels of the texture path in a background thread, once per process.

    Loading them from numba's cache takes ~1 s of CPU the first time (numba's own start-up),
    which would otherwise delay the first image of the first study. The first viewport starts
    it, so it runs while the reader looks at the worklist; a render that needs a kernel
    before it is ready simply waits for it.
    """
    if not _warm_up_started.is_set():
        _warm_up_started.set()
        threading.Thread(target=_warm_up, name="crescent-numba-warm-up", daemon=True).start()


def choose_step(world_per_px: float, pixel_mm: float) -> int:
    """Box size (whole image pixels per screen pixel, at most MAX_STEP) for display at this scale.

    Each uploaded texel is the mean of a ``step x step`` block, so the texture is never finer
    than the screen: nothing is lost (a calcification still adds to its block) and a fit view
    of a 2000 x 1500 slice in a quarter screen uploads a ninth of the pixels.
    """
    ratio = world_per_px / pixel_mm
    return int(max(1, min(MAX_STEP, math.floor(ratio + 1e-9))))


def _span(a0: int, a1: int, n: int, step: int) -> tuple[int, int]:
    a0 -= a0 % step
    count = min(max(1, (a1 - a0) // step), (n - a0) // step)
    if count < 1:
        a0, count = max(0, n - step), 1
    return a0, a0 + count * step


def visible_pixels(g: ViewGeometry, image, margin: float = 0.0) -> tuple[int, int, int, int] | None:
    """(r0, r1, c0, c1) half-open pixel bounds seen in ``g`` (grown by ``margin`` of the view
    size on each side), clipped to the image; None when no pixel is visible."""
    dy, dx = image.pixel_mm
    x0, x1, y0, y1 = g.visible_world_rect()
    mx, my = (x1 - x0) * margin, (y1 - y0) * margin
    c0 = max(0, int(math.floor((x0 - mx) / dx + 0.5)))
    c1 = min(image.cols, int(math.ceil((x1 + mx) / dx + 0.5)))
    r0 = max(0, int(math.floor((y0 - my) / dy + 0.5)))
    r1 = min(image.rows, int(math.ceil((y1 + my) / dy + 0.5)))
    if c1 <= c0 or r1 <= r0:
        return None
    return r0, r1, c0, c1


def upload_region(g: ViewGeometry, image, step: int) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]]:
    """The pixels to upload: (wanted, region). ``wanted`` is the visible region plus a margin,
    clipped to the image; ``region`` is it aligned to whole ``step`` blocks (r0, r1, c0, c1)."""
    wanted = visible_pixels(g, image, MARGIN) or (0, min(step, image.rows), 0, min(step, image.cols))
    r0, r1, c0, c1 = wanted
    r0, r1 = _span(r0, r1, image.rows, step)
    c0, c1 = _span(c0, c1, image.cols, step)
    return wanted, (r0, r1, c0, c1)


def apply_camera(camera, g: ViewGeometry) -> None:
    """Point a parallel VTK camera so that world mm map to display pixels as ``g`` says.

    Without flips rows go down and columns right: camera below the image (-z), view-up -y.
    """
    fx, fy = g.focal_mm
    z = -1000.0 if g.flip_h == g.flip_v else 1000.0
    up = 1.0 if g.flip_v else -1.0
    camera.ParallelProjectionOn()
    camera.SetFocalPoint(fx, fy, 0.0)
    camera.SetPosition(fx, fy, z)
    camera.SetViewUp(0.0, up, 0.0)
    camera.SetParallelScale(g.parallel_scale)
    camera.SetClippingRange(1.0, 2000.0)


class ImageSliceAdapter:
    """Draws ``state.image`` at ``state``'s slice/slab into ``renderer``.

    Call :meth:`update` with the current :class:`ViewGeometry` before each render; it
    computes new values only when the slab, the level of detail or the needed region
    changed, and re-windows them into the 8-bit texture only when the values or the
    window/level/invert changed.

    Attributes
    ----------
    uploads : int
        How many times new values were computed (slice, slab, level of detail or region).
    texture_uploads : int
        How many times the 8-bit texture was rewritten (the above, plus window/level/invert).
    """

    def __init__(self, state, renderer):
        start_warm_up()
        self.state = state
        self.renderer = renderer
        self.data = vtkImageData()
        self.mapper = vtkImageSliceMapper()
        self.mapper.SetInputData(self.data)
        self.actor = vtkImageSlice()
        self.actor.SetMapper(self.mapper)
        self.property = self.actor.GetProperty()
        self.property.SetInterpolationTypeToLinear()
        # the texture is already windowed grey: VTK's pass-through (no lookup, no mapping)
        self.property.SetColorWindow(255.0)
        self.property.SetColorLevel(127.5)
        self.actor.VisibilityOff()
        renderer.AddViewProp(self.actor)
        self._key = None
        self._wanted = None
        self._array = None  # float32 values of the uploaded region (slab, box-reduced)
        self.texture = None  # uint8 texture, shared with VTK: keep it alive
        self._texture_key = None
        self._reduced: ReducedSlices | None = None
        self._owned = False
        self.region = None
        self.uploads = 0
        self.texture_uploads = 0

    def set_state(self, state) -> None:
        """Show another viewport state (its values are computed afresh)."""
        self.state = state
        self._key = self._wanted = self._texture_key = None
        self._reduced = None

    def _slab_key(self):
        s = self.state
        k0, k1 = s.slab_range()
        return (s.image, k0, k1, s.slab_mode if k1 > k0 else "")

    def update(self, g: ViewGeometry) -> None:
        s = self.state
        image = s.image
        if image is None:
            self.actor.VisibilityOff()
            self._key = None
            self._reduced = None
            return
        self.actor.VisibilityOn()
        step = min(choose_step(g.world_per_px, image.pixel_mm[1]), image.rows, image.cols)
        slab_key = self._slab_key()
        if self._key != (slab_key, step) or not self._covers(g, image):
            wanted, region = upload_region(g, image, step)
            self._compute(image, slab_key, region, step)
            self._wanted = wanted
        texture_key = (self.uploads, s.window_center, s.window_width, bool(s.invert))
        if texture_key != self._texture_key:
            self._upload_texture(image, step)
            self._texture_key = texture_key
        apply_camera(self.renderer.GetActiveCamera(), g)

    def _covers(self, g: ViewGeometry, image) -> bool:
        """Whether the last upload holds every pixel now visible."""
        if self._wanted is None:
            return False
        seen = visible_pixels(g, image)
        if seen is None:
            return True
        r0, r1, c0, c1 = self._wanted
        return seen[0] >= r0 and seen[1] <= r1 and seen[2] >= c0 and seen[3] <= c1

    def _compute(self, image, slab_key, region, step) -> None:
        """The float values of ``region`` for the slab, reduced by ``step``."""
        _, k0, k1, mode = slab_key
        r0, r1, c0, c1 = region
        if k1 > k0 and step > 1:
            n = k1 - k0 + 1
            cache = self._reduced
            if (
                cache is None
                or cache.data is not image.data
                or (cache.rows, cache.cols, cache.step) != ((r0, r1), (c0, c1), step)
                or cache.n_slots < n
            ):
                cache = self._reduced = ReducedSlices(
                    image.data, rows=(r0, r1), cols=(c0, c1), step=step, max_bytes=SLAB_CACHE_BYTES, min_slices=n
                )
            reuse = self._owned and self._array is not None and self._array.shape == cache.shape
            self._array = cache.slab(k0, k1, mode=mode, out=self._array if reuse else None)
            self._owned = True
        else:
            # single slices (a view of the stack at full resolution) and full-resolution slabs
            self._array = slab_region(
                image.data, k0, k1, mode=mode or "average", rows=(r0, r1), cols=(c0, c1), step=step
            )
            self._owned = False  # may be a view of the stack: never written into
        self.region = region
        self._key = (slab_key, step)
        self.uploads += 1

    def _upload_texture(self, image, step) -> None:
        """Window the values into the 8-bit texture (reused while its shape holds) and tell VTK."""
        values = self._array
        s = self.state
        h, w = values.shape
        tex = self.texture
        new_buffer = tex is None or tex.shape != (h, w)
        if new_buffer:
            tex = np.empty((h, w), dtype=np.uint8)
        window_to_uint8(values, s.window_center, s.window_width, invert=s.invert, out=tex)
        r0, _, c0, _ = self.region
        dy, dx = image.pixel_mm
        self.data.SetDimensions(w, h, 1)
        self.data.SetSpacing(dx * step, dy * step, 1.0)
        self.data.SetOrigin((c0 + (step - 1) / 2) * dx, (r0 + (step - 1) / 2) * dy, 0.0)
        if new_buffer:
            self.data.GetPointData().SetScalars(numpy_support.numpy_to_vtk(tex.reshape(-1), deep=0))
            self.texture = tex  # VTK shares this memory: keep it alive
        else:
            self.data.GetPointData().GetScalars().Modified()
        self.data.Modified()
        self.texture_uploads += 1

    def close(self) -> None:
        self.renderer.RemoveViewProp(self.actor)
        self._array = None
        self._reduced = None
