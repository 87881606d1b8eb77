"""The magnifier loupe: a small full-resolution view under the pointer with its own window/level."""

from __future__ import annotations

import numpy as np
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkRenderingCore import vtkImageSlice, vtkImageSliceMapper, vtkRenderer

from app.model.slab import slab_region
from app.model.view_geometry import ViewGeometry
from app.render.image_slice import apply_camera

__all__ = ["LoupeAdapter", "loupe_rect"]

LOUPE_FRACTION = 0.36  # loupe side as a fraction of the smaller viewport side


def loupe_rect(g: ViewGeometry, cursor_xy: tuple[float, float]) -> tuple[float, float, float, float]:
    """Normalized (xmin, ymin, xmax, ymax) VTK viewport of the loupe centred on the pointer
    (display px, top-left origin), kept inside the view."""
    side = LOUPE_FRACTION * min(g.width_px, g.height_px)
    x, y = cursor_xy
    x0 = min(max(x - side / 2, 0), g.width_px - side)
    y0 = min(max(y - side / 2, 0), g.height_px - side)
    ymin = g.height_px - (y0 + side)
    return x0 / g.width_px, ymin / g.height_px, (x0 + side) / g.width_px, (ymin + side) / g.height_px


class LoupeAdapter:
    """Shows, when ``state.loupe_enabled`` and the pointer is on the image, the region around
    the cursor at ``state.loupe_zoom`` times the view's scale, always at full resolution."""

    def __init__(self, state, render_window):
        self.state = state
        self.renderer = vtkRenderer()
        self.renderer.SetLayer(1)
        self.renderer.SetBackground(0.15, 0.15, 0.15)
        self.renderer.InteractiveOff()
        render_window.AddRenderer(self.renderer)
        self.render_window = render_window
        self.data = vtkImageData()
        mapper = vtkImageSliceMapper()
        mapper.SetInputData(self.data)
        self.actor = vtkImageSlice()
        self.actor.SetMapper(mapper)
        self.actor.GetProperty().SetInterpolationTypeToLinear()
        self.renderer.AddViewProp(self.actor)
        self.renderer.DrawOff()
        self._array = None
        self._key = None
        self.shown = False

    def set_state(self, state) -> None:
        """Follow another viewport state."""
        self.state = state
        self._key = None

    def update(self, g: ViewGeometry) -> None:
        s = self.state
        image = s.image
        if not (s.loupe_enabled and image is not None and s.cursor is not None):
            self.renderer.DrawOff()
            self.shown = False
            return
        r, c = s.cursor
        dy, dx = image.pixel_mm
        cursor_xy = g.world_to_display(c * dx, r * dy)
        xmin, ymin, xmax, ymax = loupe_rect(g, cursor_xy)
        self.renderer.SetViewport(xmin, ymin, xmax, ymax)
        side_px = (xmax - xmin) * g.width_px
        wpp = g.world_per_px / s.loupe_zoom
        half_r = int(np.ceil(side_px * wpp / dy / 2)) + 2
        half_c = int(np.ceil(side_px * wpp / dx / 2)) + 2
        ri, ci = int(round(r)), int(round(c))
        r0, r1 = max(0, ri - half_r), min(image.rows, ri + half_r + 1)
        c0, c1 = max(0, ci - half_c), min(image.cols, ci + half_c + 1)
        k0, k1 = s.slab_range()
        key = (image, k0, k1, s.slab_mode, r0, r1, c0, c1)
        if key != self._key and r1 > r0 and c1 > c0:
            arr = np.ascontiguousarray(slab_region(image.data, k0, k1, mode=s.slab_mode, rows=(r0, r1), cols=(c0, c1)))
            self.data.SetDimensions(arr.shape[1], arr.shape[0], 1)
            self.data.SetSpacing(dx, dy, 1.0)
            self.data.SetOrigin(c0 * dx, r0 * dy, 0.0)
            self.data.GetPointData().SetScalars(numpy_support.numpy_to_vtk(arr.reshape(-1), deep=0))
            self.data.Modified()
            self._array = arr
            self._key = key
        center, width = s.loupe_window or (s.window_center, s.window_width)
        prop = self.actor.GetProperty()
        prop.SetColorWindow(width)
        prop.SetColorLevel(center)
        lg = ViewGeometry(int(side_px), int(side_px), (c * dx, r * dy), wpp, g.flip_h, g.flip_v)
        apply_camera(self.renderer.GetActiveCamera(), lg)
        self.renderer.DrawOn()
        self.shown = True

    def local_window(self) -> tuple[float, float] | None:
        """Auto window of the pixels now in the loupe (for 'loupe: auto window')."""
        if self._array is None:
            return None
        from app.model.windowing import auto_window

        return auto_window(self._array)

    def close(self) -> None:
        self.render_window.RemoveRenderer(self.renderer)
        self._array = None
