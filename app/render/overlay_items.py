"""Overlay items (rulers, CAD marks, annotations) drawn over the image.

Each :class:`~app.model.overlays.OverlayItem` kind has a drawing function that turns the item
into polylines and labels in display pixels (top-left origin); register new kinds with
:func:`register_item_renderer`. Items follow zoom, pan and flips because their points are
mapped through the current :class:`~app.model.view_geometry.ViewGeometry` every frame.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkRenderingCore import vtkActor2D, vtkPolyDataMapper2D, vtkTextActor

from app.model.overlays import OverlayItem, ruler_length_mm
from app.model.view_geometry import ViewGeometry

__all__ = ["ItemDrawing", "register_item_renderer", "item_drawing", "OverlayItemsAdapter"]

# polylines: list of [(x, y), ...] in display px (top-left origin); labels: [(x, y, text)]
ItemDrawing = tuple[list[list[tuple[float, float]]], list[tuple[float, float, str]]]
_RENDERERS: dict[str, Callable[[OverlayItem, ViewGeometry, object], ItemDrawing]] = {}


def register_item_renderer(kind: str, fn: Callable[[OverlayItem, ViewGeometry, object], ItemDrawing]) -> None:
    """Draw items of ``kind`` with ``fn(item, geometry, image) -> (polylines, labels)``."""
    if not callable(fn):
        raise TypeError("register_item_renderer: fn must be callable")
    _RENDERERS[kind] = fn


def _to_display(item: OverlayItem, g: ViewGeometry, image) -> list[tuple[float, float]]:
    dy, dx = image.pixel_mm
    return [g.world_to_display(c * dx, r * dy) for r, c in item.points]


def _draw_point(item, g, image):
    out, labels = [], []
    for x, y in _to_display(item, g, image):
        s = 8.0
        out += [[(x - s, y), (x - 3, y)], [(x + 3, y), (x + s, y)], [(x, y - s), (x, y - 3)], [(x, y + 3), (x, y + s)]]
        if item.label:
            labels.append((x + 10, y - 10, item.label))
    return out, labels


def _draw_lines(closed: bool):
    def draw(item, g, image):
        pts = _to_display(item, g, image)
        if closed and len(pts) > 2:
            pts = pts + [pts[0]]
        labels = [(pts[0][0] + 8, pts[0][1] - 8, item.label)] if item.label and pts else []
        return ([pts] if len(pts) > 1 else []), labels

    return draw


def _draw_rect(item, g, image):
    (x0, y0), (x1, y1) = _to_display(item, g, image)[:2]
    pts = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    return [pts], ([(min(x0, x1), min(y0, y1) - 8, item.label)] if item.label else [])


def _draw_ellipse(item, g, image):
    (x0, y0), (x1, y1) = _to_display(item, g, image)[:2]
    cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, abs(x1 - x0) / 2, abs(y1 - y0) / 2
    pts = [(cx + rx * math.cos(t), cy + ry * math.sin(t)) for t in (2 * math.pi * i / 48 for i in range(49))]
    return [pts], ([(cx + rx + 6, cy - ry, item.label)] if item.label else [])


def _draw_ruler(item, g, image):
    pts = _to_display(item, g, image)
    if len(pts) < 2:
        return [], []
    (x0, y0), (x1, y1) = pts[0], pts[-1]
    length = math.hypot(x1 - x0, y1 - y0) or 1.0
    nx, ny = -(y1 - y0) / length * 5, (x1 - x0) / length * 5
    lines = [[(x0, y0), (x1, y1)], [(x0 - nx, y0 - ny), (x0 + nx, y0 + ny)], [(x1 - nx, y1 - ny), (x1 + nx, y1 + ny)]]
    text = item.label or f"{ruler_length_mm(item, image.pixel_mm):.1f} mm"
    return lines, [(x1 + 8, y1 - 8, text)]


def _draw_text(item, g, image):
    pts = _to_display(item, g, image)
    return [], ([(pts[0][0], pts[0][1], item.label)] if pts else [])


register_item_renderer("point", _draw_point)
register_item_renderer("line", _draw_lines(False))
register_item_renderer("polyline", _draw_lines(False))
register_item_renderer("polygon", _draw_lines(True))
register_item_renderer("rect", _draw_rect)
register_item_renderer("ellipse", _draw_ellipse)
register_item_renderer("ruler", _draw_ruler)
register_item_renderer("text", _draw_text)


def item_drawing(item: OverlayItem, g: ViewGeometry, image) -> ItemDrawing:
    """Polylines and labels of one item (nothing for an unknown kind)."""
    fn = _RENDERERS.get(item.kind)
    return fn(item, g, image) if fn is not None else ([], [])


class _ItemActors:
    def __init__(self, renderer):
        self.points = vtkPoints()
        self.lines = vtkCellArray()
        self.poly = vtkPolyData()
        self.poly.SetPoints(self.points)
        self.poly.SetLines(self.lines)
        mapper = vtkPolyDataMapper2D()
        mapper.SetInputData(self.poly)
        self.actor = vtkActor2D()
        self.actor.SetMapper(mapper)
        self.actor.GetProperty().SetLineWidth(2)
        self.texts: list[vtkTextActor] = []
        self.renderer = renderer
        renderer.AddViewProp(self.actor)

    def set(self, item: OverlayItem, drawing: ItemDrawing, height: int) -> None:
        polylines, labels = drawing
        self.points.Reset()
        self.lines.Reset()
        for line in polylines:
            start = self.points.GetNumberOfPoints()
            for x, y in line:
                self.points.InsertNextPoint(x, height - y, 0.0)
            self.lines.InsertNextCell(len(line))
            for i in range(len(line)):
                self.lines.InsertCellPoint(start + i)
        self.points.Modified()
        self.poly.Modified()
        self.actor.GetProperty().SetColor(*item.color)
        self.actor.VisibilityOn()
        while len(self.texts) < len(labels):
            t = vtkTextActor()
            t.GetTextProperty().SetFontSize(14)
            t.GetTextProperty().ShadowOn()
            self.renderer.AddViewProp(t)
            self.texts.append(t)
        for t, (x, y, text) in zip(self.texts, labels, strict=False):
            t.SetInput(text)
            t.SetPosition(x, height - y)
            t.GetTextProperty().SetColor(*item.color)
            t.VisibilityOn()
        for t in self.texts[len(labels) :]:
            t.VisibilityOff()

    def hide(self) -> None:
        self.actor.VisibilityOff()
        for t in self.texts:
            t.VisibilityOff()

    def close(self) -> None:
        self.renderer.RemoveViewProp(self.actor)
        for t in self.texts:
            self.renderer.RemoveViewProp(t)


class OverlayItemsAdapter:
    """Draws ``state.overlays`` that show on the current slice/slab."""

    def __init__(self, state, renderer):
        self.state = state
        self.renderer = renderer
        self._actors: list[_ItemActors] = []

    def update(self, g: ViewGeometry) -> None:
        s = self.state
        shown = []
        if s.image is not None:
            k0, k1 = s.slab_range()
            shown = [it for it in s.overlays if it.shows_on(s.slice_index, (k0, k1))]
        while len(self._actors) < len(shown):
            self._actors.append(_ItemActors(self.renderer))
        for actors, item in zip(self._actors, shown, strict=False):
            actors.set(item, item_drawing(item, g, s.image), g.height_px)
        for actors in self._actors[len(shown) :]:
            actors.hide()

    @property
    def n_drawn(self) -> int:
        return sum(a.actor.GetVisibility() for a in self._actors)

    def close(self) -> None:
        for a in self._actors:
            a.close()
        self._actors.clear()
