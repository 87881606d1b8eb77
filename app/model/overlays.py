"""Things drawn over an image: rulers, marks, outlines, labels.

An :class:`OverlayItem` is pure data in image pixel coordinates (row, col), visible on a
range of slices. Any part of the program adds items to a viewport's ``overlays`` list (an
:class:`~app.model.events.EventedList`): the ruler tool, CAD marks, BI-RADS annotations.
The VTK overlay adapter draws every visible item; a new ``kind`` only needs a drawing
function registered with :func:`app.render.overlay_items.register_item_renderer`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from app.model.events import EventedModel

__all__ = ["ITEM_KINDS", "OverlayItem", "ruler_item", "ruler_length_mm"]

ITEM_KINDS = ("point", "line", "polyline", "polygon", "rect", "ellipse", "text", "ruler")


@dataclass(eq=False)
class OverlayItem(EventedModel):
    """One overlay item.

    Parameters
    ----------
    kind : str
        One of :data:`ITEM_KINDS` or a kind registered by a plug-in.
    points : tuple of (row, col)
        Image pixel coordinates (fractional allowed). ``rect``/``ellipse``: two opposite corners.
    slices : (first, last) or None
        Inclusive slice range on which the item shows; None: on every slice.
    color : (r, g, b)
        0–1.
    label : str
        Text shown beside the item (a ruler shows its length when empty).
    source : str
        Who made it ('ruler', 'cad', 'birads', ...), so that a source's items can be toggled.
    visible : bool
    data : dict
        Free payload for the owner (finding id, score, ...).
    """

    kind: str = "point"
    points: tuple = ()
    slices: tuple[int, int] | None = None
    color: tuple[float, float, float] = (1.0, 0.85, 0.1)
    label: str = ""
    source: str = ""
    visible: bool = True
    data: dict = field(default_factory=dict)

    def _coerce_points(self, value) -> tuple:
        pts = tuple((float(p[0]), float(p[1])) for p in value)
        return pts

    def _coerce_slices(self, value):
        if value is None:
            return None
        a, b = (int(v) for v in value)
        if b < a:
            raise ValueError(f"OverlayItem: slice range {a}..{b} is empty")
        return a, b

    def shows_on(self, slice_index: int, slab: tuple[int, int] | None = None) -> bool:
        """Whether the item is drawn when ``slice_index`` (or the slab k0..k1) is shown."""
        if not self.visible:
            return False
        if self.slices is None:
            return True
        k0, k1 = slab if slab is not None else (slice_index, slice_index)
        return self.slices[0] <= k1 and k0 <= self.slices[1]


def ruler_length_mm(item: OverlayItem, pixel_mm: tuple[float, float]) -> float:
    """Length of a two-point item in mm, from the pixel spacing (dy, dx)."""
    if len(item.points) < 2:
        return 0.0
    (r0, c0), (r1, c1) = item.points[0], item.points[-1]
    return math.hypot((r1 - r0) * pixel_mm[0], (c1 - c0) * pixel_mm[1])


def ruler_item(start: tuple[float, float], end: tuple[float, float], *, slice_index: int | None = None) -> OverlayItem:
    """A ruler from ``start`` to ``end`` (row, col), shown on one slice or on all."""
    slices = None if slice_index is None else (slice_index, slice_index)
    return OverlayItem(kind="ruler", points=(start, end), slices=slices, color=(0.2, 1.0, 0.4), source="ruler")
