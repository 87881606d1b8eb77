"""Text and graphics that describe the view: laterality/view, slice, slab, W/L, orientation
markers, scale bar and the pixel probe. Drawn in display coordinates, so they stay put when
the image is zoomed, panned or flipped.

The corner and edge texts are eight text mappers with a font size set from the viewport size
(:func:`corner_font_size`), laid out like ``vtkCornerAnnotation``. That class is not used: it
searches a font size from scratch (up to ~80 sizes x 8 text layouts) every time any of its
texts changes, which cost ~16 ms of CPU per slice change in software OpenGL.
"""

from __future__ import annotations

import math

from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkRenderingCore import vtkActor2D, vtkPolyDataMapper2D, vtkTextActor, vtkTextMapper

from app.model.orientation import screen_directions
from app.model.view_geometry import ViewGeometry, chest_wall_side

__all__ = ["AnnotationAdapter", "CornerText", "corner_texts", "corner_font_size", "scale_bar_mm", "format_value"]

# positions, numbered as vtkCornerAnnotation numbers them
LL, LR, UL, UR, LOWER_EDGE, RIGHT_EDGE, LEFT_EDGE, UPPER_EDGE = range(8)
MIN_FONT, MAX_FONT = 11, 18
_KIND_NAMES = {"tomo": "DBT", "synthetic2d": "Synthetic 2D", "mammo": "2D", "projection": "Projection"}


def format_value(v: float) -> str:
    """Compact number for W/L and probe values (units of the image)."""
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.4f}"


def scale_bar_mm(world_per_px: float, width_px: int) -> float:
    """A round bar length (1, 2, 5 x 10^n mm) about a fifth of the viewport wide."""
    target = max(world_per_px * width_px / 5.0, 1e-6)
    exp = math.floor(math.log10(target))
    for m in (5, 2, 1):
        if m * 10**exp <= target:
            return float(m * 10**exp)
    return float(10**exp)


def corner_texts(state, g: ViewGeometry) -> dict[str, str]:
    """The texts of the four corners, keyed 'outer_top', 'outer_bottom', 'inner_top', 'inner_bottom'
    (outer = away from the chest wall)."""
    image = state.image
    if image is None:
        return {"outer_top": state.name or "", "outer_bottom": "", "inner_top": "", "inner_bottom": "no image"}
    outer_top = f"{image.laterality} {image.view}\n{_KIND_NAMES.get(image.kind, image.kind)}"
    lines = []
    if image.is_stack:
        k = state.slice_index
        lines.append(f"Slice {k + 1}/{image.n_slices}  z {image.height_mm(k):.1f} mm")
        n = state.slab_slices
        if n > 1:
            k0, k1 = state.slab_range()
            thick = image.height_mm(k1) - image.height_mm(k0) + image.slice_mm
            mode = "MIP" if state.slab_mode == "mip" else "Avg"
            lines.append(f"Slab {thick:.0f} mm {mode} ({n} slices)")
    if state.cine_playing:
        lines.append(f"Cine {state.cine_fps:.0f} fps")
    inner_bottom = f"W {format_value(state.window_width)}  L {format_value(state.window_center)}"
    if state.invert:
        inner_bottom += "  INV"
    mode = {"fit": "Fit", "pixel": "1:1", "life": "Life size"}[state.scale_mode]
    inner_bottom += f"\n{mode}" + (f" x{state.zoom:.2f}" if abs(state.zoom - 1) > 1e-6 else "")
    inner_top = ""
    if state.probe_enabled and state.cursor is not None:
        v = state.probe_value()
        if v is not None:
            r, c = state.cursor
            y_mm, x_mm = image.index_to_mm(r, c)
            inner_top = f"({int(round(r))}, {int(round(c))})  x {x_mm:.1f} y {y_mm:.1f} mm\nvalue {format_value(v)}"
    return {
        "outer_top": outer_top,
        "outer_bottom": "\n".join(lines),
        "inner_top": inner_top,
        "inner_bottom": inner_bottom,
    }


def corner_font_size(width_px: int, height_px: int) -> int:
    """Font size of the corner texts: 18 points, smaller in small viewports (at least 11)."""
    return int(max(MIN_FONT, min(MAX_FONT, width_px / 20.0, height_px / 13.0)))


class CornerText:
    """Texts in the four corners and at the middle of the four edges of a renderer.

    ``set_text(position, text)`` re-lays out only that text; :meth:`layout` moves the texts
    and sets the font size when the viewport size changed.
    """

    _JUSTIFY = {  # position: (horizontal, vertical)
        LL: ("Left", "Bottom"),
        LR: ("Right", "Bottom"),
        UL: ("Left", "Top"),
        UR: ("Right", "Top"),
        LOWER_EDGE: ("Centered", "Bottom"),
        UPPER_EDGE: ("Centered", "Top"),
        LEFT_EDGE: ("Left", "Centered"),
        RIGHT_EDGE: ("Right", "Centered"),
    }

    def __init__(self, renderer, *, color=(0.95, 0.85, 0.35)):
        self.renderer = renderer
        self.mappers: list[vtkTextMapper] = []
        self.actors: list[vtkActor2D] = []
        for pos in range(8):
            mapper = vtkTextMapper()
            tp = mapper.GetTextProperty()
            tp.SetColor(*color)
            tp.SetFontFamilyToArial()
            tp.ShadowOn()
            tp.SetFontSize(MAX_FONT)
            h, v = self._JUSTIFY[pos]
            getattr(tp, f"SetJustificationTo{h}")()
            getattr(tp, f"SetVerticalJustificationTo{v}")()
            actor = vtkActor2D()
            actor.SetMapper(mapper)
            renderer.AddViewProp(actor)
            self.mappers.append(mapper)
            self.actors.append(actor)
        self._texts = [""] * 8
        self._size = None
        self.font_size = MAX_FONT

    def set_text(self, pos: int, text: str) -> None:
        if self._texts[pos] != text:
            self.mappers[pos].SetInput(text)
            self._texts[pos] = text

    def get_text(self, pos: int) -> str:
        return self._texts[pos]

    def layout(self, width_px: int, height_px: int) -> None:
        if self._size == (width_px, height_px):
            return
        self._size = (width_px, height_px)
        size = corner_font_size(width_px, height_px)
        if size != self.font_size:
            for mapper in self.mappers:
                mapper.GetTextProperty().SetFontSize(size)
            self.font_size = size
        w, h = width_px, height_px
        where = {
            LL: (5, 5),
            LR: (w - 5, 5),
            UL: (5, h - 5),
            UR: (w - 5, h - 5),
            LOWER_EDGE: (w // 2, 5),
            UPPER_EDGE: (w // 2, h - 5),
            LEFT_EDGE: (5, h // 2),
            RIGHT_EDGE: (w - 5, h // 2),
        }
        for pos, (x, y) in where.items():
            self.actors[pos].SetPosition(x, y)

    def set_visibility(self, visible: bool) -> None:
        for actor in self.actors:
            actor.SetVisibility(visible)

    def close(self) -> None:
        for actor in self.actors:
            self.renderer.RemoveViewProp(actor)


class AnnotationAdapter:
    """Corner texts, orientation letters at the edges and a scale bar."""

    def __init__(self, state, renderer):
        self.state = state
        self.renderer = renderer
        self.corners = CornerText(renderer)
        # scale bar
        self._bar_points = vtkPoints()
        self._bar = vtkPolyData()
        self._bar.SetPoints(self._bar_points)
        self._bar_lines = vtkCellArray()
        self._bar.SetLines(self._bar_lines)
        mapper = vtkPolyDataMapper2D()
        mapper.SetInputData(self._bar)
        self.bar_actor = vtkActor2D()
        self.bar_actor.SetMapper(mapper)
        self.bar_actor.GetProperty().SetColor(0.95, 0.85, 0.35)
        self.bar_actor.GetProperty().SetLineWidth(2)
        renderer.AddViewProp(self.bar_actor)
        self.bar_label = vtkTextActor()
        btp = self.bar_label.GetTextProperty()
        btp.SetFontSize(13)
        btp.SetColor(0.95, 0.85, 0.35)
        btp.SetJustificationToCentered()
        btp.ShadowOn()
        renderer.AddViewProp(self.bar_label)
        self.bar_length_mm = 0.0

    def _set(self, pos: int, text: str) -> None:
        self.corners.set_text(pos, text)

    def update(self, g: ViewGeometry) -> None:
        s = self.state
        visible = s.overlays_visible
        self.corners.set_visibility(visible)
        self.bar_actor.SetVisibility(visible and s.image is not None)
        self.bar_label.SetVisibility(visible and s.image is not None)
        if not visible:
            return
        self.corners.layout(g.width_px, g.height_px)
        texts = corner_texts(s, g)
        image = s.image
        side = None
        if image is not None:
            side = chest_wall_side(image.orientation, flip_h=s.flip_h, flip_v=s.flip_v)
        # the chest wall side is "inner"; without one, outer = left
        outer_is_left = side != "left"
        self._set(UL if outer_is_left else UR, texts["outer_top"])
        self._set(LL if outer_is_left else LR, texts["outer_bottom"])
        self._set(UR if outer_is_left else UL, texts["inner_top"])
        self._set(LR if outer_is_left else LL, texts["inner_bottom"])
        if image is not None:
            d = screen_directions(image.orientation, flip_h=s.flip_h, flip_v=s.flip_v)
            self._set(LEFT_EDGE, d["left"])
            self._set(RIGHT_EDGE, d["right"])
            self._set(UPPER_EDGE, d["top"])
            self._set(LOWER_EDGE, d["bottom"])
            self._update_bar(g)
        else:
            for pos in (LEFT_EDGE, RIGHT_EDGE, UPPER_EDGE, LOWER_EDGE):
                self._set(pos, "")

    def _update_bar(self, g: ViewGeometry) -> None:
        length = scale_bar_mm(g.world_per_px, g.width_px)
        self.bar_length_mm = length
        px = length / g.world_per_px
        x0 = (g.width_px - px) / 2.0
        y = 30.0  # VTK display y is up from the bottom
        pts = [(x0, y + 6), (x0, y), (x0 + px, y), (x0 + px, y + 6)]
        self._bar_points.Reset()
        for x, yy in pts:
            self._bar_points.InsertNextPoint(x, yy, 0)
        self._bar_lines.Reset()
        self._bar_lines.InsertNextCell(4)
        for i in range(4):
            self._bar_lines.InsertCellPoint(i)
        self._bar_points.Modified()
        self._bar.Modified()
        label = f"{length:g} mm"
        if self.bar_label.GetInput() != label:
            self.bar_label.SetInput(label)
        self.bar_label.SetPosition(g.width_px / 2.0, y + 6)

    def close(self) -> None:
        self.corners.close()
        for prop in (self.bar_actor, self.bar_label):
            self.renderer.RemoveViewProp(prop)
