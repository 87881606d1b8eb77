"""All adapters of one viewport in one VTK render window, updated before every render."""

from __future__ import annotations

from collections.abc import Callable

from vtkmodules.vtkRenderingCore import vtkRenderer

from app.model.view_geometry import ViewGeometry, compute_view
from app.render import vtk_setup
from app.render.annotations import AnnotationAdapter
from app.render.image_slice import ImageSliceAdapter
from app.render.loupe import LoupeAdapter
from app.render.overlay_items import OverlayItemsAdapter

__all__ = ["ViewportRenderer"]


class ViewportRenderer:
    """Draws a :class:`~app.model.viewport.ViewportState` into ``render_window``.

    Model events only mark the view dirty and call ``request_render`` (the Qt widget schedules
    a paint; without Qt, call :meth:`render`). Before every render of the window (whoever
    triggers it) the adapters bring their VTK objects up to date with the model.

    Parameters
    ----------
    state : ViewportState
    render_window : vtkRenderWindow
    request_render : callable, optional
        Called when the model changed and the view must be redrawn.
    dpi : float
        Screen dots per inch (life-size display).
    """

    def __init__(self, state, render_window, *, request_render: Callable[[], None] | None = None, dpi: float = 96.0):
        self.state = state
        self.render_window = render_window
        vtk_setup.configure_render_window(render_window)
        self.renderer = vtkRenderer()
        self.renderer.SetLayer(0)
        self.renderer.SetBackground(0.0, 0.0, 0.0)
        self.renderer.SetBackground2(0.10, 0.11, 0.16)
        render_window.AddRenderer(self.renderer)
        self.image = ImageSliceAdapter(state, self.renderer)
        self.items = OverlayItemsAdapter(state, self.renderer)
        self.annotations = AnnotationAdapter(state, self.renderer)
        self.loupe = LoupeAdapter(state, render_window)
        self.adapters = [self.image, self.items, self.annotations, self.loupe]
        self.request_render = request_render or (lambda: None)
        self.dpi = float(dpi)
        self._size = (1, 1)
        self.frames = 0
        self._observer = render_window.AddObserver("StartEvent", self._before_render)
        self._connect(state)
        self.highlight_active = True

    def _connect(self, state) -> None:
        state.events.changed.connect(self._on_change)
        state.overlays.events.inserted.connect(self._on_item_inserted)
        state.overlays.events.removed.connect(self._on_item_removed)
        for item in state.overlays:
            item.events.changed.connect(self._on_change)

    def _disconnect(self, state) -> None:
        state.events.changed.disconnect(self._on_change)
        state.overlays.events.inserted.disconnect(self._on_item_inserted)
        state.overlays.events.removed.disconnect(self._on_item_removed)
        for item in state.overlays:
            item.events.changed.disconnect(self._on_change)

    def set_state(self, state) -> None:
        """Draw another :class:`~app.model.viewport.ViewportState` in the same render window.

        A new stage or study reuses the viewports' render windows this way: creating an OpenGL
        context costs ~0.3 s in software OpenGL, rebinding costs nothing.
        """
        if state is self.state:
            return
        self._disconnect(self.state)
        self.state = state
        for adapter in self.adapters:
            if hasattr(adapter, "set_state"):
                adapter.set_state(state)
            else:
                adapter.state = state
        self._connect(state)
        self.request_render()

    # -- model events ------------------------------------------------------------------
    def _on_change(self, event=None) -> None:
        self.request_render()

    def _on_item_inserted(self, event) -> None:
        event.value.events.changed.connect(self._on_change)
        self.request_render()

    def _on_item_removed(self, event) -> None:
        event.value.events.changed.disconnect(self._on_change)
        self.request_render()

    # -- geometry ----------------------------------------------------------------------
    def set_size(self, width_px: int, height_px: int) -> None:
        """The viewport's size in device pixels (the render window's size)."""
        self._size = (max(1, int(width_px)), max(1, int(height_px)))

    @property
    def geometry(self) -> ViewGeometry:
        w, h = self._size
        return compute_view(self.state, w, h, dpi=self.dpi)

    def display_to_image(self, x: float, y: float) -> tuple[float, float]:
        """Display pixel (top-left origin) to fractional image (row, col)."""
        wx, wy = self.geometry.display_to_world(x, y)
        image = self.state.image
        dy, dx = image.pixel_mm if image is not None else (1.0, 1.0)
        return wy / dy, wx / dx

    def image_to_display(self, row: float, col: float) -> tuple[float, float]:
        """Image (row, col) to display pixel (top-left origin)."""
        image = self.state.image
        dy, dx = image.pixel_mm if image is not None else (1.0, 1.0)
        return self.geometry.world_to_display(col * dx, row * dy)

    # -- rendering ---------------------------------------------------------------------
    def _before_render(self, obj=None, event=None) -> None:
        size = self.render_window.GetSize()
        if size[0] > 0 and size[1] > 0:
            self._size = (size[0], size[1])
        g = self.geometry
        empty = self.state.image is None
        if bool(self.renderer.GetGradientBackground()) != empty:
            self.renderer.SetGradientBackground(empty)  # an empty viewport shows a dim gradient
        for adapter in self.adapters:
            adapter.update(g)
        self.frames += 1

    def render(self) -> None:
        """Bring the adapters up to date and render now."""
        self.render_window.Render()

    def close(self) -> None:
        """Disconnect from the model and remove every VTK object (call before discarding)."""
        self._disconnect(self.state)
        self.render_window.RemoveObserver(self._observer)
        for adapter in self.adapters:
            adapter.close()
        self.render_window.RemoveRenderer(self.renderer)
