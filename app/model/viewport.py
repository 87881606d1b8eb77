"""The state of one viewport: which image, which slice or slab, window/level, zoom/pan, cine."""

from __future__ import annotations

from dataclasses import dataclass

from app.model.events import EventedList, EventedModel
from app.model.image import DisplayImage
from app.model.slab import SLAB_MODES, slab_range
from app.model.view_geometry import SCALE_MODES
from app.model.windowing import preset_window

__all__ = ["ViewportState", "MAX_SLAB_MM", "MIN_ZOOM", "MAX_ZOOM", "MIN_FPS", "MAX_FPS"]

MAX_SLAB_MM = 10.0
MIN_ZOOM, MAX_ZOOM = 0.1, 32.0
MIN_FPS, MAX_FPS = 1.0, 60.0


@dataclass(eq=False)
class ViewportState(EventedModel):
    """Everything a reader changes in one viewport. Assigning a field emits ``events.<field>``.

    Parameters
    ----------
    image : DisplayImage or None
        What is shown; use :meth:`show` to hang an image (it also resets the display).
    slice_index : int
        Current slice (clamped to the stack).
    slab_mm : float
        Slab thickness, 0 (one slice) or up to 10 mm; rounded to whole slices when drawn.
    slab_mode : {'average', 'mip'}
    window_center, window_width : float
        Window/level in pixel units (width > 0).
    invert : bool
    scale_mode : {'fit', 'pixel', 'life'}
        See :mod:`app.model.view_geometry`.
    zoom : float
        Multiplies the scale mode's magnification.
    pan_mm : (x, y)
        How far the image is moved on screen, mm (x right, y down).
    flip_h, flip_v : bool
        Set from the image's orientation by :meth:`show` (standard mammography display).
    justify : bool
        Put the chest wall on the viewport edge that faces the centre line.
    cine_playing, cine_fps, cine_bounce
        Cine loop state (the GUI's timer calls :meth:`advance_cine`).
    loupe_enabled, loupe_zoom, loupe_window
        Magnifier under the pointer, with its own (centre, width) or None (same as the view).
    cursor : (row, col) or None
        Image pixel under the pointer (drives the loupe and the pixel probe).
    probe_enabled : bool
        Show the value under the pointer.
    overlays_visible : bool
        Text overlays (laterality, slice, W/L, markers, scale bar) on or off.
    active : bool
        The viewport that keyboard commands go to.
    """

    image: DisplayImage | None = None
    slice_index: int = 0
    slab_mm: float = 0.0
    slab_mode: str = "average"
    window_center: float = 0.5
    window_width: float = 1.0
    invert: bool = False
    scale_mode: str = "fit"
    zoom: float = 1.0
    pan_mm: tuple[float, float] = (0.0, 0.0)
    flip_h: bool = False
    flip_v: bool = False
    justify: bool = True
    cine_playing: bool = False
    cine_fps: float = 10.0
    cine_bounce: bool = True
    loupe_enabled: bool = False
    loupe_zoom: float = 2.0
    loupe_window: tuple[float, float] | None = None
    cursor: tuple[float, float] | None = None
    probe_enabled: bool = False
    overlays_visible: bool = True
    active: bool = False
    name: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._cine_direction = 1
        self.overlays = EventedList()
        if self.image is not None:
            image, self.__dict__["image"] = self.image, None
            self.show(image)

    # -- validation --------------------------------------------------------------------
    def _coerce_image(self, value):
        if value is not None and not isinstance(value, DisplayImage):
            raise TypeError(f"ViewportState.image must be a DisplayImage or None, got {type(value).__name__}")
        return value

    def _coerce_slice_index(self, value) -> int:
        n = self.image.n_slices if self.__dict__.get("image") is not None else 1
        return min(max(int(value), 0), n - 1)

    def _coerce_slab_mm(self, value) -> float:
        v = float(value)
        if v != v:
            raise ValueError("ViewportState.slab_mm must be a number")
        return min(max(v, 0.0), MAX_SLAB_MM)

    def _coerce_slab_mode(self, value) -> str:
        if value not in SLAB_MODES:
            raise ValueError(f"ViewportState.slab_mode must be one of {SLAB_MODES}, got {value!r}")
        return value

    def _coerce_window_width(self, value) -> float:
        v = float(value)
        if not v > 0:
            raise ValueError(f"ViewportState.window_width must be > 0, got {value}")
        return v

    def _coerce_window_center(self, value) -> float:
        return float(value)

    def _coerce_scale_mode(self, value) -> str:
        if value not in SCALE_MODES:
            raise ValueError(f"ViewportState.scale_mode must be one of {SCALE_MODES}, got {value!r}")
        return value

    def _coerce_zoom(self, value) -> float:
        return min(max(float(value), MIN_ZOOM), MAX_ZOOM)

    def _coerce_pan_mm(self, value) -> tuple[float, float]:
        x, y = value
        return float(x), float(y)

    def _coerce_cine_fps(self, value) -> float:
        return min(max(float(value), MIN_FPS), MAX_FPS)

    def _coerce_loupe_zoom(self, value) -> float:
        return min(max(float(value), 1.0), 8.0)

    def _coerce_loupe_window(self, value):
        if value is None:
            return None
        c, w = (float(v) for v in value)
        if not w > 0:
            raise ValueError(f"ViewportState.loupe_window width must be > 0, got {w}")
        return c, w

    # -- hanging -----------------------------------------------------------------------
    def show(self, image: DisplayImage | None, *, slice_index: int | None = None) -> None:
        """Hang ``image``: middle slice (or ``slice_index``), default window, fit, standard flips."""
        self.cine_playing = False
        self.overlays.clear()
        if image is None:
            self.image = None
            return
        flip_h, flip_v = image.display_flips()
        c, w = image.window or image.auto_window()
        with self.events.blocker_all():
            # set the dependent fields quietly, then announce the image once with everything ready
            self.__dict__["image"] = image
            self.slice_index = image.n_slices // 2 if slice_index is None else slice_index
            self.update(
                slab_mm=0.0,
                window_center=c,
                window_width=w,
                invert=False,
                scale_mode="fit",
                zoom=1.0,
                pan_mm=(0.0, 0.0),
                flip_h=flip_h,
                flip_v=flip_v,
                cursor=None,
                loupe_window=None,
            )
        self.events.image(value=image, old=None)
        self.events.changed(name="image", value=image, old=None)

    # -- slices and slabs --------------------------------------------------------------
    @property
    def n_slices(self) -> int:
        return self.image.n_slices if self.image is not None else 0

    def scroll(self, delta: int) -> None:
        """Move ``delta`` slices (positive: away from the breast support)."""
        if self.image is not None:
            self.slice_index = self.slice_index + int(delta)

    def page(self, direction: int) -> None:
        """Move a tenth of the stack (at least 5 slices) up (+1) or down (-1)."""
        if self.image is not None:
            step = max(5, self.n_slices // 10)
            self.scroll(step if direction > 0 else -step)

    @property
    def slab_slices(self) -> int:
        """Number of slices in the current slab (1 = a single slice)."""
        if self.image is None or self.slab_mm <= 0:
            return 1
        return min(self.image.slab_slices(self.slab_mm), self.image.n_slices)

    def slab_range(self) -> tuple[int, int]:
        """First and last slice (inclusive) shown now."""
        if self.image is None:
            return 0, 0
        return slab_range(self.slice_index, self.slab_slices, self.image.n_slices)

    def change_slab(self, delta_mm: float) -> None:
        """Thicken (positive) or thin the slab by ``delta_mm``; below one slice it switches off."""
        if self.image is None:
            return
        step = max(self.image.slice_mm, 1e-6)
        current = max(self.slab_mm, step) if self.slab_mm > 0 else step
        new = current + delta_mm
        self.slab_mm = 0.0 if new < 2 * step - 1e-6 else new

    def toggle_slab_mode(self) -> None:
        self.slab_mode = "mip" if self.slab_mode == "average" else "average"

    # -- window/level ------------------------------------------------------------------
    def apply_window_preset(self, name: str) -> None:
        """Apply a named preset (see :func:`app.model.windowing.preset_window`)."""
        if self.image is None:
            return
        c, w = preset_window(name, auto=self.image.auto_window(), default=self.image.window)
        self.update(window_center=c, window_width=w)

    def drag_window(self, dx_px: float, dy_px: float, *, sensitivity: float = 1.0 / 300.0) -> None:
        """Window/level by a mouse drag: right widens, down raises the level (brighter image)."""
        w = self.window_width
        self.update(
            window_width=max(w * (1.0 + dx_px * sensitivity * 2.0), 1e-9),
            window_center=self.window_center - dy_px * w * sensitivity,
        )

    # -- zoom / pan --------------------------------------------------------------------
    def zoom_by(self, factor: float) -> None:
        self.zoom = self.zoom * float(factor)

    def pan_by(self, dx_mm: float, dy_mm: float) -> None:
        x, y = self.pan_mm
        self.pan_mm = (x + dx_mm, y + dy_mm)

    def set_scale_mode(self, mode: str) -> None:
        """Fit, 1:1 pixel or life size, with zoom 1 and no pan."""
        self.update(scale_mode=mode, zoom=1.0, pan_mm=(0.0, 0.0))

    # -- cine --------------------------------------------------------------------------
    def advance_cine(self) -> None:
        """Next cine frame: bounce between the ends of the stack, or wrap around."""
        n = self.n_slices
        if n < 2:
            return
        k = self.slice_index + self._cine_direction
        if k >= n or k < 0:
            if self.cine_bounce:
                self._cine_direction = -self._cine_direction
                k = self.slice_index + self._cine_direction
            else:
                k = 0 if k >= n else n - 1
        self.slice_index = k

    # -- probe -------------------------------------------------------------------------
    def probe_value(self) -> float | None:
        """Value shown under the cursor (the slab's value when a slab is shown)."""
        if self.image is None or self.cursor is None:
            return None
        r, c = (int(round(v)) for v in self.cursor)
        if not (0 <= r < self.image.rows and 0 <= c < self.image.cols):
            return None
        k0, k1 = self.slab_range()
        col = self.image.data[k0 : k1 + 1, r, c]
        return float(col.max() if self.slab_mode == "mip" else col.mean())
