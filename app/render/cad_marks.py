"""Glyphs of CAD marks, registered with the overlay-item renderer registry.

Importing this module registers drawing functions for the overlay kinds of
:mod:`app.model.cad_marks` with :func:`app.render.overlay_items.register_item_renderer`; the
viewport's :class:`~app.render.overlay_items.OverlayItemsAdapter` then draws them like any
other overlay item (they follow zoom, pan and flips).

Conventions (clinical reference, "Mark display conventions"): calcification cluster = triangle
plus an outline around its members; mass = asterisk plus its contour; architectural distortion =
an eight-armed asterisk plus contour; the score (0-100) in a boxed badge beside each mark. Glyphs
have a fixed size on screen (they stay legible at any zoom), outlines follow the image.
"""

from __future__ import annotations

import math

from app.model.cad_marks import CASE_SCORE_KIND, MARK_KINDS
from app.render.overlay_items import register_item_renderer

__all__ = ["GLYPH_PX", "badge", "register"]

GLYPH_PX = 13.0  # glyph radius on screen
_CHAR_PX = 8.5  # width of a character of the 14-point label font
_TEXT_PX = 14.0


def _display(item, g, image, points):
    dy, dx = image.pixel_mm
    return [g.world_to_display(c * dx, r * dy) for r, c in points]


def badge(x: float, y: float, text: str) -> tuple[list[list[tuple[float, float]]], tuple[float, float, str]]:
    """A box around ``text`` whose lower-left corner is near display (x, y); (polylines, label)."""
    w = _CHAR_PX * max(len(text), 1)
    x0, x1 = x - 3.0, x + w + 3.0
    y0, y1 = y - _TEXT_PX - 3.0, y + 4.0
    box = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    return [box], (x, y, text)


def _triangle(x, y, r):
    pts = [(x + r * math.cos(a), y - r * math.sin(a)) for a in (math.pi / 2, math.pi * 7 / 6, math.pi * 11 / 6)]
    return [pts + pts[:1]]


def _asterisk(x, y, r, arms):
    inner = r * 0.3
    out = []
    for i in range(arms):
        a = math.pi * i / arms
        c, s = math.cos(a), math.sin(a)
        out.append([(x + inner * c, y - inner * s), (x + r * c, y - r * s)])
        out.append([(x - inner * c, y + inner * s), (x - r * c, y + r * s)])
    return out


def _with_badge(lines, item, x, y, r, *, below: bool = False):
    """Add the score badge to the upper right of the glyph (lower right for calcifications,
    so that a calcification mark and a mass mark at the same place keep readable badges)."""
    labels = []
    if item.label:
        box, label = badge(x + r + 4.0, (y + r + _TEXT_PX) if below else (y - r + 2.0), item.label)
        lines = lines + box
        labels.append(label)
    return lines, labels


def _outline(item, g, image):
    pts = _display(item, g, image, item.points[1:])
    return [pts + pts[:1]] if len(pts) > 2 else []


def _draw_cluster(item, g, image):
    (x, y) = _display(item, g, image, item.points[:1])[0]
    lines = _triangle(x, y, GLYPH_PX) + _outline(item, g, image)
    return _with_badge(lines, item, x, y, GLYPH_PX, below=True)


def _draw_calc(item, g, image):
    (x, y) = _display(item, g, image, item.points[:1])[0]
    return _with_badge(_triangle(x, y, GLYPH_PX * 0.5), item, x, y, GLYPH_PX * 0.5, below=True)


def _draw_mass(item, g, image):
    (x, y) = _display(item, g, image, item.points[:1])[0]
    lines = _asterisk(x, y, GLYPH_PX, 3) + _outline(item, g, image)
    return _with_badge(lines, item, x, y, GLYPH_PX)


def _draw_distortion(item, g, image):
    (x, y) = _display(item, g, image, item.points[:1])[0]
    lines = _asterisk(x, y, GLYPH_PX, 4) + _outline(item, g, image)
    return _with_badge(lines, item, x, y, GLYPH_PX)


def _draw_case_score(item, g, image):
    text = item.label
    x = g.width_px / 2.0 - _CHAR_PX * len(text) / 2.0
    return [], [(x, 46.0, text)]


def register() -> None:
    """(Re-)register the CAD glyphs (done on import)."""
    register_item_renderer(MARK_KINDS["calcification_cluster"], _draw_cluster)
    register_item_renderer(MARK_KINDS["calcification"], _draw_calc)
    register_item_renderer(MARK_KINDS["mass"], _draw_mass)
    register_item_renderer(MARK_KINDS["architectural_distortion"], _draw_distortion)
    register_item_renderer(CASE_SCORE_KIND, _draw_case_score)


register()
