"""Mouse tools and the registry others plug into.

A tool is a small class with handlers for pointer events on a viewport. The GUI turns Qt
mouse events into :class:`PointerEvent` (display pixels plus the image pixel under the
pointer) and hands them to :class:`~app.model.interaction.InteractionController`, which routes
the left button to the session's active tool (``session.tool``), the middle button to
panning and the right button to zooming. Tools change model state only (viewport fields,
overlay items); they never touch Qt or VTK, so they run in plain tests.

Adding a tool (e.g. BI-RADS annotation)::

    from app.model.tools import TOOLS, Tool

    class EllipseTool(Tool):
        name = "ellipse"
        title = "Outline a mass"
        shortcut = "E"
        cursor = "cross"

        def press(self, ctx, ev): ...
        def drag(self, ctx, ev): ...
        def release(self, ctx, ev): ...

    TOOLS.register(EllipseTool)
    session.tool = "ellipse"

The main window lists registered tools in its Tools menu and help panel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from app.model.overlays import ruler_item

if TYPE_CHECKING:  # pragma: no cover
    from app.model.session import ReadingSession
    from app.model.viewport import ViewportState

__all__ = [
    "PointerEvent",
    "ToolContext",
    "Tool",
    "ToolRegistry",
    "TOOLS",
    "WindowLevelTool",
    "PanTool",
    "ZoomTool",
    "RulerTool",
    "ProbeTool",
    "FocusTool",
]


@dataclass(frozen=True)
class PointerEvent:
    """A pointer event on a viewport.

    ``x, y``: display pixels (top-left origin, y down); ``row, col``: fractional image pixel
    under the pointer (None without an image); ``dx, dy``: movement since the previous event;
    ``total_dx, total_dy``: since the press; ``world_per_px``: image mm per screen pixel.
    """

    x: float
    y: float
    row: float | None = None
    col: float | None = None
    button: str | None = None
    modifiers: frozenset = field(default_factory=frozenset)
    dx: float = 0.0
    dy: float = 0.0
    total_dx: float = 0.0
    total_dy: float = 0.0
    world_per_px: float = 1.0

    @property
    def on_image(self) -> bool:
        return self.row is not None and self.col is not None


@dataclass
class ToolContext:
    """What a tool acts on: the viewport, its index and the session (None outside a session)."""

    viewport: ViewportState
    index: int = 0
    session: ReadingSession | None = None


class Tool:
    """Base class: override the handlers you need. One instance per session and tool name."""

    name: ClassVar[str] = "tool"
    title: ClassVar[str] = "Tool"
    shortcut: ClassVar[str | None] = None
    cursor: ClassVar[str] = "arrow"  # 'arrow', 'cross', 'hand', 'size', 'zoom'

    def press(self, ctx: ToolContext, ev: PointerEvent) -> None:
        """Button pressed."""

    def drag(self, ctx: ToolContext, ev: PointerEvent) -> None:
        """Pointer moved with the button held."""

    def release(self, ctx: ToolContext, ev: PointerEvent) -> None:
        """Button released (after press/drag)."""

    def click(self, ctx: ToolContext, ev: PointerEvent) -> None:
        """Press and release without moving (called after ``release``)."""

    def double_click(self, ctx: ToolContext, ev: PointerEvent) -> None:
        """Second press of a double click (default: an ordinary press; ``release`` follows)."""
        self.press(ctx, ev)

    def finish(self, ctx: ToolContext) -> None:
        """Enter pressed: finish what the tool is drawing (e.g. close a polygon)."""

    def hover(self, ctx: ToolContext, ev: PointerEvent) -> None:
        """Pointer moved with no button held."""


class ToolRegistry:
    """Tool classes by name."""

    def __init__(self):
        self._tools: dict[str, type[Tool]] = {}

    def register(self, tool_cls: type[Tool], *, replace: bool = False) -> type[Tool]:
        """Add a tool class (usable as a decorator). ``ValueError`` on a duplicate name."""
        if not (isinstance(tool_cls, type) and issubclass(tool_cls, Tool)):
            raise TypeError(f"ToolRegistry.register: {tool_cls!r} is not a Tool subclass")
        if tool_cls.name in self._tools and not replace and self._tools[tool_cls.name] is not tool_cls:
            raise ValueError(f"a tool named {tool_cls.name!r} is already registered")
        self._tools[tool_cls.name] = tool_cls
        return tool_cls

    def unregister(self, name: str) -> None:
        self._tools.pop(name, None)

    def names(self) -> list[str]:
        return list(self._tools)

    def classes(self) -> list[type[Tool]]:
        return list(self._tools.values())

    def create(self, name: str) -> Tool:
        try:
            return self._tools[name]()
        except KeyError:
            raise ValueError(f"unknown tool {name!r}; known: {', '.join(self._tools)}") from None


TOOLS = ToolRegistry()


@TOOLS.register
class WindowLevelTool(Tool):
    """Drag: right widens the window, down raises the level. Click on a 2D image or a slab:
    jump the stacks to the plane where that point is in focus."""

    name = "window"
    title = "Window/level (click: jump to focus)"
    shortcut = "W"
    cursor = "size"

    def drag(self, ctx, ev):
        ctx.viewport.drag_window(ev.dx, ev.dy)

    def click(self, ctx, ev):
        if ctx.session is not None and ev.on_image:
            ctx.session.focus_at(ctx.index, ev.row, ev.col)


@TOOLS.register
class FocusTool(Tool):
    """Click: jump the stacks to the plane where the clicked point is in focus."""

    name = "focus"
    title = "Jump to focus"
    shortcut = "J"
    cursor = "cross"

    def click(self, ctx, ev):
        if ctx.session is not None and ev.on_image:
            ctx.session.focus_at(ctx.index, ev.row, ev.col)


@TOOLS.register
class PanTool(Tool):
    """Drag the image."""

    name = "pan"
    title = "Pan"
    shortcut = "H"
    cursor = "hand"

    def drag(self, ctx, ev):
        ctx.viewport.pan_by(ev.dx * ev.world_per_px, ev.dy * ev.world_per_px)


@TOOLS.register
class ZoomTool(Tool):
    """Drag up to zoom in, down to zoom out."""

    name = "zoom"
    title = "Zoom"
    shortcut = "Q"
    cursor = "zoom"

    def drag(self, ctx, ev):
        ctx.viewport.zoom_by(math.exp(-ev.dy / 200.0))


@TOOLS.register
class RulerTool(Tool):
    """Drag a line; its length in mm is shown beside it."""

    name = "ruler"
    title = "Ruler (mm)"
    shortcut = "R"
    cursor = "cross"

    def __init__(self):
        self._item = None

    def press(self, ctx, ev):
        if not ev.on_image:
            return
        vp = ctx.viewport
        k = vp.slice_index if vp.image is not None and vp.image.is_stack else None
        self._item = ruler_item((ev.row, ev.col), (ev.row, ev.col), slice_index=k)
        vp.overlays.append(self._item)

    def drag(self, ctx, ev):
        if self._item is not None and ev.on_image:
            self._item.points = (self._item.points[0], (ev.row, ev.col))

    def release(self, ctx, ev):
        item, self._item = self._item, None
        if item is not None:
            (r0, c0), (r1, c1) = item.points
            if abs(r1 - r0) < 1e-9 and abs(c1 - c0) < 1e-9:
                ctx.viewport.overlays.remove(item)


@TOOLS.register
class ProbeTool(Tool):
    """Show the pixel value under the pointer (press and hold, or hover while active)."""

    name = "probe"
    title = "Pixel probe"
    shortcut = "V"
    cursor = "cross"

    def press(self, ctx, ev):
        ctx.viewport.probe_enabled = True
        ctx.viewport.cursor = (ev.row, ev.col) if ev.on_image else None

    def drag(self, ctx, ev):
        ctx.viewport.cursor = (ev.row, ev.col) if ev.on_image else None

    def hover(self, ctx, ev):
        ctx.viewport.probe_enabled = True
