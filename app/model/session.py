"""The reading session: the open study, the hanging protocol stage, and its viewports.

It owns the behaviour that spans viewports: linked scrolling of the views of one breast by
relative depth, click-to-slice from a synthetic 2D or a slab to the plane of focus, the
active viewport and the active tool. Viewports of a stage are rebuilt when the stage
changes (``events.layout``); what the reader set for an image (slice, slab, window, zoom)
is remembered and restored when the image is hung again.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.model.events import EventedModel
from app.model.focus import best_focus_slice
from app.model.hanging import HangingProtocol, Stage, load_protocols
from app.model.study import Study
from app.model.viewport import ViewportState

__all__ = ["ReadingSession", "image_key"]

_REMEMBERED = (
    "slice_index",
    "slab_mm",
    "slab_mode",
    "window_center",
    "window_width",
    "invert",
    "scale_mode",
    "zoom",
    "pan_mm",
)


def image_key(image) -> str:
    """A key that finds an image again in a later session: its SOP Instance UID, else its uid or label."""
    md = getattr(image, "metadata", None) or {}
    return str(md.get("sop_instance_uid") or image.uid or image.label)


def _json_value(value):
    return list(value) if isinstance(value, tuple) else value


@dataclass(eq=False)
class ReadingSession(EventedModel):
    """State of a reading session.

    Parameters
    ----------
    study : Study or None
    protocol_id : str
        Id of the hanging protocol in use (see :func:`app.model.hanging.load_protocols`).
    stage_index : int
        Current stage of the protocol.
    link_scrolling : bool
        Scroll the stacks of one breast together by relative depth.
    active_index : int
        The viewport keyboard commands go to.
    tool : str
        Name of the tool on the left mouse button (see :mod:`app.model.tools`).

    Events
    ------
    ``events.layout`` fires after the viewports were rebuilt for a new stage, protocol or study.
    """

    study: Study | None = None
    protocol_id: str = "4view"
    stage_index: int = 0
    link_scrolling: bool = True
    active_index: int = 0
    tool: str = "window"

    _extra_events = ("layout", "focus_jump")

    def __post_init__(self) -> None:
        self.protocols: dict[str, HangingProtocol] = load_protocols()
        self.viewports: list[ViewportState] = []
        self._memory: dict = {}
        self._linking = False
        super().__post_init__()
        self._apply_stage()

    # -- validation --------------------------------------------------------------------
    def _coerce_study(self, value):
        if value is not None and not isinstance(value, Study):
            raise TypeError(f"ReadingSession.study must be a Study, got {type(value).__name__}")
        return value

    def _coerce_protocol_id(self, value) -> str:
        protocols = self.__dict__.get("protocols")
        if protocols is not None and value not in protocols:
            raise ValueError(f"unknown hanging protocol {value!r}; known: {', '.join(protocols)}")
        return str(value)

    def _coerce_stage_index(self, value) -> int:
        protocols = self.__dict__.get("protocols")
        if protocols is None:
            return int(value)
        n = len(protocols[self.__dict__.get("protocol_id", "4view")].stages)
        return min(max(int(value), 0), n - 1)

    def _coerce_active_index(self, value) -> int:
        n = len(self.__dict__.get("viewports", []) or [None])
        return min(max(int(value), 0), n - 1)

    def _coerce_tool(self, value) -> str:
        from app.model.tools import TOOLS

        if value not in TOOLS.names():
            raise ValueError(f"unknown tool {value!r}; known: {', '.join(TOOLS.names())}")
        return value

    # -- protocol and stages -----------------------------------------------------------
    @property
    def protocol(self) -> HangingProtocol:
        return self.protocols[self.protocol_id]

    @property
    def stage(self) -> Stage:
        return self.protocol.stages[self.stage_index]

    def open(self, study: Study | None, *, protocol_id: str | None = None) -> None:
        """Open ``study`` in the first stage of ``protocol_id`` (default: the current protocol)."""
        self._memory.clear()
        with self.events.blocker_all():
            self.study = study
            if protocol_id is not None:
                self.protocol_id = protocol_id
            self.stage_index = 0
        self._apply_stage()

    def set_protocol(self, protocol_id: str) -> None:
        """Switch protocol, starting at its first stage."""
        with self.events.blocker_all():
            self.protocol_id = protocol_id
            self.stage_index = 0
        self._apply_stage()

    def next_stage(self) -> None:
        self.goto_stage(self.stage_index + 1)

    def previous_stage(self) -> None:
        self.goto_stage(self.stage_index - 1)

    def goto_stage(self, index: int) -> None:
        old = self.stage_index
        self.stage_index = index
        if self.stage_index != old:
            self._apply_stage()

    def _remember(self) -> None:
        for vp in self.viewports:
            if vp.image is not None:
                self._memory[vp.image] = {name: getattr(vp, name) for name in _REMEMBERED}
            vp.events.slice_index.disconnect(self._on_slice)

    def _apply_stage(self, *, restore: bool = False) -> None:
        if restore:  # keep the restored memory: the current viewports are not yet the reader's
            for vp in self.viewports:
                vp.events.slice_index.disconnect(self._on_slice)
        else:
            self._remember()
        stage = self.stage
        images = stage.resolve(self.study)
        viewports = []
        for i, (cell, image) in enumerate(zip(stage.cells, images, strict=True)):
            vp = ViewportState(name=cell.label)
            vp.show(image)
            if image is not None and image in self._memory:
                try:
                    vp.update(**self._memory[image])
                except (TypeError, ValueError):
                    self._memory.pop(image, None)
            vp.events.slice_index.connect(self._on_slice)
            vp.active = i == 0
            viewports.append(vp)
        self.viewports = viewports
        self.__dict__["active_index"] = 0
        self.events.layout(viewports=viewports, stage=stage)

    # -- active viewport ---------------------------------------------------------------
    @property
    def active_viewport(self) -> ViewportState | None:
        if not self.viewports:
            return None
        return self.viewports[self.active_index]

    def set_active(self, index: int) -> None:
        self.active_index = index
        for i, vp in enumerate(self.viewports):
            vp.active = i == self.active_index

    def next_viewport(self) -> None:
        if self.viewports:
            self.set_active((self.active_index + 1) % len(self.viewports))

    # -- linked scrolling --------------------------------------------------------------
    def _on_slice(self, event) -> None:
        if not self.link_scrolling or self._linking:
            return
        source: ViewportState = event.source
        if source.image is None or not source.image.is_stack:
            return
        fraction = source.image.depth_fraction(source.slice_index)
        self._linking = True
        try:
            for vp in self.linked_partners(source):
                vp.slice_index = vp.image.slice_at_fraction(fraction)
        finally:
            self._linking = False

    def linked_partners(self, source: ViewportState) -> list[ViewportState]:
        """Other viewports showing a stack of the same breast (the ones linked scrolling moves)."""
        if source.image is None:
            return []
        return [
            vp
            for vp in self.viewports
            if vp is not source
            and vp.image is not None
            and vp.image.is_stack
            and vp.image.laterality == source.image.laterality
        ]

    # -- click-to-slice ----------------------------------------------------------------
    def focus_at(self, index: int, row: float, col: float) -> list[tuple[int, int]]:
        """Jump stacks to the slice where the point (row, col) of viewport ``index`` is in focus.

        From a 2D image (synthetic 2D, mammogram) the DBT stacks of the same breast and view
        in this stage jump; from a slab the same viewport goes back to single slices at the
        slice of best focus within the slab. The point is carried between images through
        detector-frame millimetres. Returns ``[(viewport index, slice), ...]`` of the jumps.
        """
        source = self.viewports[index]
        image = source.image
        if image is None:
            return []
        jumps: list[tuple[int, int]] = []
        if image.is_stack:
            if source.slab_slices <= 1:
                return []
            k0, k1 = source.slab_range()
            k = best_focus_slice(image.data, row, col, pixel_mm=image.pixel_mm, slices=(k0, k1))
            source.slab_mm = 0.0
            source.slice_index = k
            jumps.append((index, k))
        else:
            y_mm, x_mm = image.index_to_mm(row, col)
            for i, vp in enumerate(self.viewports):
                target = vp.image
                if target is None or not target.is_stack:
                    continue
                if (target.laterality, target.view) != (image.laterality, image.view):
                    continue
                r, c = target.mm_to_index(y_mm, x_mm)
                if not (0 <= r < target.rows and 0 <= c < target.cols):
                    continue
                k = best_focus_slice(target.data, r, c, pixel_mm=target.pixel_mm)
                vp.slab_mm = 0.0
                vp.slice_index = k
                jumps.append((i, k))
        if jumps:
            self.events.focus_jump(jumps=jumps, from_index=index, point=(row, col))
        return jumps

    # -- persistence of what the reader set --------------------------------------------
    def viewer_state(self) -> dict:
        """What the reader set, as JSON-able data: protocol, stage, active viewport, and per image
        (by :func:`image_key`) slice, slab, window/level, inversion and zoom/pan."""
        images: dict[str, dict] = {}
        for image, values in self._memory.items():
            images[image_key(image)] = {k: _json_value(v) for k, v in values.items()}
        for vp in self.viewports:
            if vp.image is not None:
                images[image_key(vp.image)] = {name: _json_value(getattr(vp, name)) for name in _REMEMBERED}
        return {
            "protocol": self.protocol_id,
            "stage": self.stage_index,
            "active": self.active_index,
            "link_scrolling": self.link_scrolling,
            "images": images,
        }

    def restore_viewer_state(self, state) -> None:
        """Apply :meth:`viewer_state` data to the open study (unknown images and bad values are skipped)."""
        if not isinstance(state, dict) or self.study is None:
            return
        by_key = {image_key(im): im for im in self.study.images}
        for key, values in (state.get("images") or {}).items():
            image = by_key.get(key)
            if image is None or not isinstance(values, dict):
                continue
            self._memory[image] = {
                k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in _REMEMBERED
            }
        protocol = state.get("protocol")
        with self.events.blocker_all():
            if protocol in self.protocols:
                self.protocol_id = protocol
            if isinstance(state.get("stage"), int):
                self.stage_index = state["stage"]
        if isinstance(state.get("link_scrolling"), bool):
            self.link_scrolling = state["link_scrolling"]
        self._apply_stage(restore=True)
        if isinstance(state.get("active"), int) and self.viewports:
            self.set_active(state["active"])

    # -- convenience for commands that act on every viewport ---------------------------
    def all_viewports(self, fn) -> None:
        """Call ``fn(viewport)`` for every viewport showing an image."""
        for vp in self.viewports:
            if vp.image is not None:
                fn(vp)
