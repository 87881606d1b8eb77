"""BI-RADS annotation tools: place a finding on a slice as a point, ellipse or polygon, and show it.

Pure Python. :class:`AnnotationController` turns image-pixel gestures into findings on a
:class:`~app.model.findings.FindingsSession`; it links a new mark to the *current* finding when
that finding has no mark on this view family yet (draw on CC, then on MLO: one linked finding).
The tools ``birads_point``, ``birads_ellipse`` and ``birads_polygon`` plug the controller into the
viewer's tool registry (:mod:`app.model.tools`); :func:`bind` tells them which controller serves a
reading session. :class:`FindingsOverlay` keeps every finding drawn (as overlay items, source
``"birads"``) on the viewports that show its image.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

from app.model.findings import Finding, FindingsEvent, FindingsSession
from app.model.marks import Mark
from app.model.tools import TOOLS, Tool

BTO = "1.2.840.10008.5.1.4.1.1.13.1.3"
MODES = ("point", "ellipse", "polygon")
MIN_ELLIPSE_PX = 1.0
PREVIEW_SOURCE = "birads_preview"


def mark_to_image(points) -> tuple[tuple[float, float], ...]:
    """Mark points ``(col, row)`` -> viewer/overlay points ``(row, col)``.

    :class:`~app.model.marks.Mark` stores (col, row) like DICOM SR; the viewer's
    :class:`~app.model.overlays.OverlayItem` and pointer events use (row, col). Every
    conversion from marks to the screen goes through here (the other way is
    :meth:`AnnotationController.press`, which takes the viewer's (row, col)).
    """
    return tuple((float(r), float(c)) for c, r in points)


@dataclass(frozen=True)
class ImageInfo:
    """The image a gesture happens on."""

    sop_instance_uid: str
    laterality: str
    view: str
    pixel_spacing_mm: tuple[float, float]
    sop_class_uid: str = BTO

    @classmethod
    def from_display_image(cls, image) -> ImageInfo:
        """From the viewer's ``DisplayImage`` (UIDs from its reader metadata)."""
        md = getattr(image, "metadata", {}) or {}
        uid = md.get("sop_instance_uid") or getattr(image, "uid", "") or getattr(image, "label", "")
        return cls(
            sop_instance_uid=str(uid),
            laterality=image.laterality,
            view=image.view,
            pixel_spacing_mm=tuple(image.pixel_mm),
            sop_class_uid=md.get("sop_class_uid") or BTO,
        )


class AnnotationController:
    """Gestures in image pixels -> findings.

    Parameters
    ----------
    findings : FindingsSession
    default_kind : str
        Finding type of a new finding (the form changes it afterwards).
    """

    def __init__(self, findings: FindingsSession, *, default_kind: str = "mass", reader: str | None = None):
        if not isinstance(findings, FindingsSession):
            raise TypeError("findings must be a FindingsSession")
        findings.lexicon.finding_type(default_kind)
        self.findings = findings
        self.default_kind = default_kind
        self.reader = reader
        self.mode = "ellipse"
        self.current_id: str | None = None
        self._start: tuple[float, float] | None = None
        self._vertices: list[tuple[float, float]] = []
        self._image: tuple[ImageInfo, int] | None = None
        self.preview: tuple[str, tuple] | None = None  # (kind, points as (col, row)) while drawing

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"annotation mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self.cancel()

    def select(self, finding_id: str | None) -> None:
        """Make ``finding_id`` current: the next mark on the other view links to it."""
        if finding_id is not None:
            self.findings.finding(finding_id)
        self.current_id = finding_id

    def cancel(self) -> None:
        self._start, self._vertices, self._image, self.preview = None, [], None, None

    # ---- gestures -------------------------------------------------------------------------

    def press(self, image: ImageInfo, frame: int, row: float, col: float) -> Finding | None:
        if self.mode == "point":
            return self._place(image, frame, "point", ((col, row),))
        if self.mode == "ellipse":
            self._start, self._image = (col, row), (image, frame)
            self.preview = ("ellipse", ((col, row), (col, row)))
            return None
        if self._image is not None and (self._image[0] != image or self._image[1] != frame):
            self.cancel()
        self._image = (image, frame)
        self._vertices.append((col, row))
        self.preview = ("polygon", tuple(self._vertices))
        return None

    def drag(self, row: float, col: float) -> None:
        if self.mode == "ellipse" and self._start is not None:
            self.preview = ("ellipse", (self._start, (col, row)))

    def release(self, row: float, col: float) -> Finding | None:
        if self.mode != "ellipse" or self._start is None:
            return None
        (c0, r0), (image, frame) = self._start, self._image
        self.cancel()
        rx, ry = abs(col - c0) / 2.0, abs(row - r0) / 2.0
        if max(rx, ry) < MIN_ELLIPSE_PX:
            return None
        rx, ry = max(rx, 0.5), max(ry, 0.5)
        centre = ((c0 + col) / 2.0, (r0 + row) / 2.0)
        a, b, angle = (rx, ry, 0.0) if rx >= ry else (ry, rx, 90.0)
        t = math.radians(angle)
        u, v = (math.cos(t), math.sin(t)), (-math.sin(t), math.cos(t))
        pts = (
            (centre[0] - a * u[0], centre[1] - a * u[1]),
            (centre[0] + a * u[0], centre[1] + a * u[1]),
            (centre[0] - b * v[0], centre[1] - b * v[1]),
            (centre[0] + b * v[0], centre[1] + b * v[1]),
        )
        return self._place(image, frame, "ellipse", pts)

    def close_polygon(self) -> Finding | None:
        """Finish the polygon being drawn (needs three vertices)."""
        if self.mode != "polygon" or len(self._vertices) < 3 or self._image is None:
            return None
        pts, (image, frame) = tuple(self._vertices), self._image
        self.cancel()
        return self._place(image, frame, "polygon", pts)

    def _place(self, image: ImageInfo, frame: int, kind: str, points) -> Finding:
        mark = Mark(
            kind=kind,
            points=points,
            view=image.view,
            laterality=image.laterality,
            sop_instance_uid=image.sop_instance_uid,
            sop_class_uid=image.sop_class_uid,
            frame=int(frame),
            pixel_spacing_mm=image.pixel_spacing_mm,
        )
        cur = None
        if self.current_id is not None:
            try:
                cur = self.findings.finding(self.current_id)
            except KeyError:
                cur = None
        if cur is not None and cur.laterality == mark.laterality:
            f = self.findings.set_mark(cur.id, mark, reader=self.reader)
        else:
            f = self.findings.add_finding(self.default_kind, mark.laterality, mark=mark, reader=self.reader)
        self.current_id = f.id
        return f


# ---- the viewer's tool registry --------------------------------------------------------------

_BINDINGS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def bind(reading_session, controller: AnnotationController) -> None:
    """Let the BI-RADS tools of ``reading_session`` act through ``controller``."""
    _BINDINGS[reading_session] = controller


def controller_for(reading_session) -> AnnotationController | None:
    if reading_session is None:
        return None
    return _BINDINGS.get(reading_session)


class _BiradsTool(Tool):
    mode = "point"
    cursor = "cross"

    def __init__(self):
        self._preview = None  # (viewport, OverlayItem) of the outline being drawn

    def _ctl(self, ctx):
        ctl = controller_for(ctx.session)
        if ctl is None or ctx.viewport.image is None:
            return None
        if ctl.mode != self.mode:
            ctl.set_mode(self.mode)
        return ctl

    def _show_preview(self, ctx, ctl) -> None:
        """Draw the controller's outline in progress on the viewport (or remove it when done)."""
        from app.model.overlays import OverlayItem

        vp = ctx.viewport
        if self._preview is not None and (ctl.preview is None or self._preview[0] is not vp):
            old_vp, item = self._preview
            if item in old_vp.overlays:
                old_vp.overlays.remove(item)
            self._preview = None
        if ctl.preview is None:
            return
        kind, pts = ctl.preview
        points = mark_to_image(pts)
        if self._preview is None:
            k = vp.slice_index
            item = OverlayItem(
                kind="ellipse" if kind == "ellipse" else "polyline",
                points=points,
                slices=(k, k),
                color=(1.0, 0.6, 0.1),
                source=PREVIEW_SOURCE,
            )
            vp.overlays.append(item)
            self._preview = (vp, item)
        else:
            self._preview[1].points = points

    def press(self, ctx, ev):
        ctl = self._ctl(ctx)
        if ctl is not None and ev.on_image:
            ctl.press(ImageInfo.from_display_image(ctx.viewport.image), ctx.viewport.slice_index, ev.row, ev.col)
            self._show_preview(ctx, ctl)

    def drag(self, ctx, ev):
        ctl = self._ctl(ctx)
        if ctl is not None and ev.on_image:
            ctl.drag(ev.row, ev.col)
            self._show_preview(ctx, ctl)

    def release(self, ctx, ev):
        ctl = self._ctl(ctx)
        if ctl is not None and ev.on_image:
            ctl.release(ev.row, ev.col)
            self._show_preview(ctx, ctl)


@TOOLS.register
class BiradsPointTool(_BiradsTool):
    """Click: place a finding (or the current finding on this view) as a point."""

    name = "birads_point"
    title = "BI-RADS finding: point"
    mode = "point"


@TOOLS.register
class BiradsEllipseTool(_BiradsTool):
    """Drag a box: place a finding outlined by the ellipse in it, measured in mm."""

    name = "birads_ellipse"
    title = "BI-RADS finding: ellipse"
    mode = "ellipse"


@TOOLS.register
class BiradsPolygonTool(_BiradsTool):
    """Click vertices; double-click (or Enter) closes the outline."""

    name = "birads_polygon"
    title = "BI-RADS finding: polygon"
    mode = "polygon"

    def double_click(self, ctx, ev):
        self.finish(ctx)

    def finish(self, ctx):
        ctl = self._ctl(ctx)
        if ctl is not None:
            ctl.close_polygon()
            self._show_preview(ctx, ctl)


# ---- overlays -------------------------------------------------------------------------------


def mark_overlay_points(mark: Mark) -> tuple[str, tuple]:
    """(overlay kind, points as (row, col)) that draw ``mark``."""
    if mark.kind == "point":
        return "point", mark_to_image(mark.points[:1])
    if mark.kind == "polygon":
        return "polygon", mark_to_image(mark.points)
    (c0, r0), (c1, r1), (c2, r2), (c3, r3) = mark.points
    cx, cy = (c0 + c1) / 2, (r0 + r1) / 2
    a, b = ((c1 - c0) / 2, (r1 - r0) / 2), ((c3 - c2) / 2, (r3 - r2) / 2)
    pts = []
    for k in range(48):
        t = 2 * math.pi * k / 48
        pts.append((cy + math.cos(t) * a[1] + math.sin(t) * b[1], cx + math.cos(t) * a[0] + math.sin(t) * b[0]))
    return "polygon", tuple(pts)


class FindingsOverlay:
    """Draws the findings on the viewports that show their images (overlay items, source ``"birads"``).

    Parameters
    ----------
    findings : FindingsSession
    viewports : callable
        Returns the current viewport states (e.g. ``lambda: reading_session.viewports``).
    """

    SOURCE = "birads"

    def __init__(self, findings: FindingsSession, viewports):
        self.findings = findings
        self._viewports = viewports
        self._unsubscribe = findings.subscribe(self._on_event)
        self.refresh()

    def _on_event(self, event: FindingsEvent) -> None:
        if event.kind in ("finding_added", "finding_changed", "finding_removed", "reloaded"):
            self.refresh()

    def refresh(self) -> None:
        """Redraw every viewport's BI-RADS items from the findings."""
        from app.model.overlays import OverlayItem

        for vp in self._viewports():
            for item in [it for it in vp.overlays if getattr(it, "source", "") == self.SOURCE]:
                vp.overlays.remove(item)
            image = getattr(vp, "image", None)
            if image is None:
                continue
            uid = ImageInfo.from_display_image(image).sop_instance_uid
            for f in self.findings.findings:
                for m in f.marks:
                    if m.sop_instance_uid != uid:
                        continue
                    kind, pts = mark_overlay_points(m)
                    vp.overlays.append(
                        OverlayItem(
                            kind=kind,
                            points=pts,
                            slices=(m.frame, m.frame),
                            color=(1.0, 0.82, 0.1),
                            label=f"#{f.number}",
                            source=self.SOURCE,
                            data={"finding_id": f.id},
                        )
                    )

    def close(self) -> None:
        self._unsubscribe()
