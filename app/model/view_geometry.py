"""Where an image sits on screen: scale modes, chest-wall justification, flips, pan and zoom.

World coordinates are image millimetres: pixel (row, col) has its centre at
``(x, y) = (col * dx, row * dy)``. Display coordinates are screen pixels with the origin at
the top-left corner of the viewport and y down (Qt's convention). Without flips, rows go down
and columns go right; the flips come from the image's orientation (see
:mod:`app.model.orientation`).

Scale modes
-----------
``fit``
    the whole image fits the viewport;
``pixel``
    one image pixel per screen pixel (1:1);
``life``
    true size: an object of S mm appears S mm tall on the screen, from the screen's dots per
    inch and the image's magnification factor (``world_per_px = magnification * 25.4 / dpi``);
``zoom``
    multiplies the mode's scale (2 = twice as large).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.model.orientation import screen_directions

__all__ = ["SCALE_MODES", "ViewGeometry", "compute_view", "chest_wall_side"]

SCALE_MODES = ("fit", "pixel", "life")


@dataclass(frozen=True)
class ViewGeometry:
    """The mapping between a viewport's pixels and image millimetres."""

    width_px: int
    height_px: int
    focal_mm: tuple[float, float]  # world (x, y) at the viewport centre
    world_per_px: float
    flip_h: bool
    flip_v: bool

    @property
    def sign_x(self) -> int:
        return -1 if self.flip_h else 1

    @property
    def sign_y(self) -> int:
        return -1 if self.flip_v else 1

    @property
    def parallel_scale(self) -> float:
        """Half the viewport height in world mm (VTK's parallel scale)."""
        return self.world_per_px * self.height_px / 2.0

    def display_to_world(self, x: float, y: float) -> tuple[float, float]:
        """Display pixel (top-left origin, y down) to world (x, y) mm."""
        wx = self.focal_mm[0] + (x - self.width_px / 2.0) * self.world_per_px * self.sign_x
        wy = self.focal_mm[1] + (y - self.height_px / 2.0) * self.world_per_px * self.sign_y
        return wx, wy

    def world_to_display(self, wx: float, wy: float) -> tuple[float, float]:
        """World (x, y) mm to display pixel (top-left origin, y down)."""
        x = self.width_px / 2.0 + (wx - self.focal_mm[0]) / (self.world_per_px * self.sign_x)
        y = self.height_px / 2.0 + (wy - self.focal_mm[1]) / (self.world_per_px * self.sign_y)
        return x, y

    def visible_world_rect(self) -> tuple[float, float, float, float]:
        """(x_min, x_max, y_min, y_max) of the world shown in the viewport."""
        xs = [self.display_to_world(x, 0)[0] for x in (0, self.width_px)]
        ys = [self.display_to_world(0, y)[1] for y in (0, self.height_px)]
        return min(xs), max(xs), min(ys), max(ys)


def chest_wall_side(orientation: tuple[str, str], *, flip_h: bool, flip_v: bool) -> str | None:
    """'left' or 'right': the screen edge the chest wall (posterior) faces, or None."""
    dirs = screen_directions(orientation, flip_h=flip_h, flip_v=flip_v)
    if "P" in dirs["right"]:
        return "right"
    if "P" in dirs["left"]:
        return "left"
    return None


def compute_view(state, width_px: int, height_px: int, *, dpi: float = 96.0) -> ViewGeometry:
    """The view of ``state`` (a :class:`~app.model.viewport.ViewportState`) in a viewport.

    Parameters
    ----------
    state : ViewportState
        Image, scale mode, zoom, pan, flips and justification.
    width_px, height_px : int
        Viewport size in screen pixels.
    dpi : float
        Screen dots per inch (for life size).
    """
    w = max(int(width_px), 1)
    h = max(int(height_px), 1)
    if not dpi > 0:
        raise ValueError(f"compute_view: dpi must be > 0, got {dpi}")
    image = state.image
    if image is None:
        return ViewGeometry(w, h, (0.0, 0.0), 1.0, state.flip_h, state.flip_v)
    dy, dx = image.pixel_mm
    height_mm, width_mm = image.extent_mm
    if state.scale_mode == "fit":
        wpp = max(width_mm / w, height_mm / h)
    elif state.scale_mode == "pixel":
        wpp = dx
    else:  # life
        wpp = image.magnification * 25.4 / float(dpi)
    wpp /= state.zoom
    sign_x = -1 if state.flip_h else 1
    sign_y = -1 if state.flip_v else 1
    fx = (image.cols - 1) * dx / 2.0
    fy = (image.rows - 1) * dy / 2.0
    if state.justify:
        side = chest_wall_side(image.orientation, flip_h=state.flip_h, flip_v=state.flip_v)
        row_dir = image.orientation[0]
        x_cw = -dx / 2.0 if "A" in row_dir else (image.cols - 0.5) * dx
        if side == "right":
            fx = x_cw - (w / 2.0) * wpp * sign_x
        elif side == "left":
            fx = x_cw + (w / 2.0) * wpp * sign_x
    pan_x, pan_y = state.pan_mm
    fx -= pan_x * sign_x
    fy -= pan_y * sign_y
    return ViewGeometry(w, h, (fx, fy), wpp, state.flip_h, state.flip_v)
