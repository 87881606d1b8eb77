"""Pointer and wheel routing from viewports to tools (no Qt: the widgets feed it events)."""

from __future__ import annotations

from app.model.tools import TOOLS, PointerEvent, Tool, ToolContext

__all__ = ["InteractionController", "CLICK_SLOP_PX"]

CLICK_SLOP_PX = 3.0


class InteractionController:
    """Turns pointer events on viewport ``index`` of a session into tool calls.

    Left button: the session's active tool. Middle: pan. Right: zoom. A press and release
    that moves less than :data:`CLICK_SLOP_PX` is also a click. Wheel: slices (with Ctrl:
    zoom). Every move updates the viewport's cursor (loupe, probe).
    """

    def __init__(self, session):
        self.session = session
        self._instances: dict[str, Tool] = {}
        self._pressed: tuple[int, Tool, str] | None = None

    def tool(self, name: str) -> Tool:
        """The session's instance of a tool (created on first use)."""
        if name not in self._instances:
            self._instances[name] = TOOLS.create(name)
        return self._instances[name]

    def _ctx(self, index: int) -> ToolContext:
        return ToolContext(self.session.viewports[index], index, self.session)

    def _tool_for(self, button: str | None) -> Tool:
        if button == "middle":
            return self.tool("pan")
        if button == "right":
            return self.tool("zoom")
        return self.tool(self.session.tool)

    def press(self, index: int, ev: PointerEvent) -> None:
        if not 0 <= index < len(self.session.viewports):
            return
        if self.session.active_index != index:
            self.session.set_active(index)
        tool = self._tool_for(ev.button)
        self._pressed = (index, tool, ev.button)
        tool.press(self._ctx(index), ev)

    def double_click(self, index: int, ev: PointerEvent) -> None:
        """The second press of a double click (the tool's ``double_click``; a release follows)."""
        if not 0 <= index < len(self.session.viewports):
            return
        if self.session.active_index != index:
            self.session.set_active(index)
        tool = self._tool_for(ev.button)
        self._pressed = (index, tool, ev.button)
        tool.double_click(self._ctx(index), ev)

    def finish(self) -> None:
        """Enter: let the active tool finish its drawing in the active viewport."""
        index = self.session.active_index
        if 0 <= index < len(self.session.viewports):
            self.tool(self.session.tool).finish(self._ctx(index))

    def move(self, index: int, ev: PointerEvent) -> None:
        if not 0 <= index < len(self.session.viewports):
            return
        vp = self.session.viewports[index]
        vp.cursor = (ev.row, ev.col) if ev.on_image else None
        if self._pressed is not None and self._pressed[0] == index:
            self._pressed[1].drag(self._ctx(index), ev)
        else:
            self.tool(self.session.tool).hover(self._ctx(index), ev)

    def release(self, index: int, ev: PointerEvent) -> None:
        if self._pressed is None:
            return
        pindex, tool, _ = self._pressed
        self._pressed = None
        ctx = self._ctx(pindex)
        tool.release(ctx, ev)
        if abs(ev.total_dx) < CLICK_SLOP_PX and abs(ev.total_dy) < CLICK_SLOP_PX:
            tool.click(ctx, ev)

    def leave(self, index: int) -> None:
        if 0 <= index < len(self.session.viewports):
            self.session.viewports[index].cursor = None

    def wheel(self, index: int, steps: int, *, modifiers: frozenset = frozenset()) -> None:
        """``steps`` wheel notches (positive: away from the user = next slice / zoom in)."""
        if not 0 <= index < len(self.session.viewports):
            return
        vp = self.session.viewports[index]
        if "ctrl" in modifiers:
            vp.zoom_by(1.15**steps)
        elif "shift" in modifiers:
            vp.scroll(5 * steps)
        else:
            vp.scroll(steps)
