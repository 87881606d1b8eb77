"""The image of a viewport: the visible region of the current slice or slab, as a VTK texture.

Per frame only what is seen is uploaded: the visible region (plus a margin so that small pans
need no upload), box-averaged by a power of two when the image is shown smaller than 1:1.
Window/level and invert are applied by the VTK image property (lookup on upload).
"""

from __future__ import annotations

import math

import numpy as np
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonCore import vtkLookupTable
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkRenderingCore import vtkImageSlice, vtkImageSliceMapper

from app.model.slab import slab_region
from app.model.view_geometry import ViewGeometry

__all__ = ["ImageSliceAdapter", "choose_step", "visible_pixels", "upload_region", "apply_camera"]

MAX_STEP = 8
MARGIN = 0.5  # fraction of the visible size added on each side of an uploaded region


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


def _inverted_lut() -> vtkLookupTable:
    lut = vtkLookupTable()
    lut.SetNumberOfTableValues(256)
    lut.SetHueRange(0, 0)
    lut.SetSaturationRange(0, 0)
    lut.SetValueRange(1, 0)
    lut.SetRampToLinear()
    lut.Build()
    return lut


class ImageSliceAdapter:
    """Draws ``state.image`` at ``state``'s slice/slab into ``renderer``.

    Call :meth:`update` with the current :class:`ViewGeometry` before each render; it uploads
    a new texture only when the slab, the level of detail or the needed region changed.
    """

    def __init__(self, state, renderer):
        self.state = state
        self.renderer = renderer
        self.data = vtkImageData()
        self.mapper = vtkImageSliceMapper()
        self.mapper.SetInputData(self.data)
        self.actor = vtkImageSlice()
        self.actor.SetMapper(self.mapper)
        self.property = self.actor.GetProperty()
        self.property.SetInterpolationTypeToLinear()
        self._lut = _inverted_lut()
        self.actor.VisibilityOff()
        renderer.AddViewProp(self.actor)
        self._key = None
        self._wanted = None
        self._array = None
        self.uploads = 0

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
            return
        self.actor.VisibilityOn()
        step = min(choose_step(g.world_per_px, image.pixel_mm[1]), image.rows, image.cols)
        slab_key = self._slab_key()
        if self._key != (slab_key, step) or not self._covers(g, image):
            wanted, region = upload_region(g, image, step)
            self._upload(image, slab_key, region, step)
            self._wanted = wanted
        self.property.SetColorWindow(s.window_width)
        self.property.SetColorLevel(s.window_center)
        if s.invert:
            if self.property.GetLookupTable() is None:
                self.property.SetLookupTable(self._lut)
                self.property.UseLookupTableScalarRangeOff()
        elif self.property.GetLookupTable() is not None:
            self.property.SetLookupTable(None)
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

    def _upload(self, image, slab_key, region, step) -> None:
        _, k0, k1, mode = slab_key
        r0, r1, c0, c1 = region
        arr = slab_region(image.data, k0, k1, mode=mode or "average", rows=(r0, r1), cols=(c0, c1), step=step)
        arr = np.ascontiguousarray(arr)
        h, w = arr.shape
        dy, dx = image.pixel_mm
        self.data.SetDimensions(w, h, 1)
        self.data.SetSpacing(dx * step, dy * step, 1.0)
        self.data.SetOrigin((c0 + (step - 1) / 2) * dx, (r0 + (step - 1) / 2) * dy, 0.0)
        scalars = numpy_support.numpy_to_vtk(arr.reshape(-1), deep=0)
        self.data.GetPointData().SetScalars(scalars)
        self.data.Modified()
        self._array = arr  # VTK shares this memory: keep it alive
        self.region = region
        self._key = (slab_key, step)
        self.uploads += 1

    def close(self) -> None:
        self.renderer.RemoveViewProp(self.actor)
        self._array = None
