"""CAD marks in the reading session: which result is shown where, marks on/off, next/previous finding.

Pure Python (no Qt, no VTK). A :class:`CadMarksController` keeps one ``cad.CaseResult`` per
displayed image (keyed by ``DisplayImage.uid``) and puts its findings into the overlays of
every viewport that shows that image, as :class:`~app.model.overlays.OverlayItem` objects of
source ``"cad"``:

=========================  ========================  ==========================================
finding kind               overlay kind              glyph (``app.render.cad_marks``)
=========================  ========================  ==========================================
calcification cluster      ``cad_cluster``           triangle, outline around the members
individual calcification   ``cad_calc``              small triangle
mass                       ``cad_mass``              asterisk, elliptical contour
architectural distortion   ``cad_distortion``        asterisk, elliptical contour (magenta)
case score                 ``cad_case_score``        "CAD case score N" at the top of the view
=========================  ========================  ==========================================

Only findings scoring at least ``min_score`` (the reading operating point, preference
``cad_mark_min_score``) are marked and toured; ``show_all`` marks every finding. Each mark
shows on its focal slice and the neighbouring slices its depth extent covers, with its
score (0-100) as a badge. Next/previous finding tours the marks of the hanging stage
(viewport by viewport, highest score first): it activates the viewport, moves it to the
finding's focal slice and pans so that the mark is in the centre.
"""

from __future__ import annotations

import math

from app.model.events import EmitterGroup
from app.model.overlays import OverlayItem

__all__ = [
    "SOURCE",
    "MARK_KINDS",
    "MARK_COLORS",
    "CASE_SCORE_KIND",
    "finding_items",
    "case_score_item",
    "centre_pan",
    "cad_marks_for_findings",
    "CadMarksController",
]

SOURCE = "cad"
MARK_KINDS = {
    "calcification_cluster": "cad_cluster",
    "calcification": "cad_calc",
    "mass": "cad_mass",
    "architectural_distortion": "cad_distortion",
}
MARK_COLORS = {
    "calcification_cluster": (0.25, 0.9, 1.0),
    "calcification": (0.25, 0.9, 1.0),
    "mass": (1.0, 0.45, 0.15),
    "architectural_distortion": (1.0, 0.35, 0.9),
}
CASE_SCORE_KIND = "cad_case_score"
CASE_SCORE_COLOR = (1.0, 0.85, 0.1)
MAX_HALF_SLICES = 5


def _slice_range(finding, image) -> tuple[int, int]:
    k = int(round(finding.center_index[0]))
    dz = max(float(image.slice_mm), 1e-6)
    half = min(MAX_HALF_SLICES, max(1, int(round(finding.extent_mm[2] / 2.0 / dz))))
    n = image.n_slices
    k = min(max(k, 0), n - 1)
    return max(0, k - half), min(n - 1, k + half)


def _outline(finding, image) -> tuple:
    """(row, col) outline points: the members' hull for a cluster, an ellipse for the others."""
    r0, c0 = finding.center_index[1], finding.center_index[2]
    dy, dx = image.pixel_mm
    if finding.kind == "calcification_cluster" and len(finding.members) >= 3:
        pts = [(m.center_index[1], m.center_index[2]) for m in finding.members]
        hull = _convex_hull(pts)
        if len(hull) >= 3:
            pad = 0.6 / max(dx, 1e-6)  # grow the hull half a millimetre past the members
            out = []
            for r, c in hull:
                d = math.hypot(r - r0, c - c0) or 1.0
                out.append((r + (r - r0) / d * pad, c + (c - c0) / d * pad))
            return tuple(out)
    if finding.kind == "calcification":
        return ()
    ry = max(finding.extent_mm[1] / 2.0 / dy, 1.0)
    rx = max(finding.extent_mm[0] / 2.0 / dx, 1.0)
    return tuple((r0 + ry * math.sin(t), c0 + rx * math.cos(t)) for t in (2 * math.pi * i / 36 for i in range(36)))


def _convex_hull(points) -> list[tuple[float, float]]:
    """Monotone-chain convex hull of (row, col) points (counter-clockwise, no repeats)."""
    pts = sorted(set((float(r), float(c)) for r, c in points))
    if len(pts) < 3:
        return pts

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower, upper = [], []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def finding_items(finding, image, *, index: int = 0, visible: bool = True) -> list[OverlayItem]:
    """Overlay items of one CAD finding on ``image`` (a DisplayImage): its mark with score badge.

    ``points[0]`` is the centre (row, col); the rest is the outline. ``data`` holds ``kind``,
    ``score``, ``model``, ``index`` (rank in its result) and ``focal_slice``.
    """
    kind = MARK_KINDS.get(finding.kind)
    if kind is None:
        raise ValueError(f"finding_items: unknown finding kind {finding.kind!r}")
    centre = (float(finding.center_index[1]), float(finding.center_index[2]))
    focal = min(max(int(round(finding.center_index[0])), 0), image.n_slices - 1)
    item = OverlayItem(
        kind=kind,
        points=(centre, *_outline(finding, image)),
        slices=_slice_range(finding, image),
        color=MARK_COLORS[finding.kind],
        label=f"{finding.score:.0f}",
        source=SOURCE,
        visible=visible,
        data={
            "kind": finding.kind,
            "score": float(finding.score),
            "model": finding.model,
            "index": int(index),
            "focal_slice": focal,
            "members": [(float(m.center_index[1]), float(m.center_index[2])) for m in finding.members],
        },
    )
    return [item]


def case_score_item(score: float, *, visible: bool = True) -> OverlayItem:
    """The case score shown on every slice of a viewport ("CAD case score N")."""
    return OverlayItem(
        kind=CASE_SCORE_KIND,
        points=((0.0, 0.0),),
        slices=None,
        color=CASE_SCORE_COLOR,
        label=f"CAD case score {score:.0f}",
        source=SOURCE,
        visible=visible,
        data={"score": float(score)},
    )


def centre_pan(state, geometry, row: float, col: float) -> tuple[float, float]:
    """The ``pan_mm`` that puts image pixel (row, col) at the centre of the view ``geometry``.

    ``geometry`` is the current :class:`~app.model.view_geometry.ViewGeometry` of ``state``
    (focal point = base - pan * sign, so the new pan moves the focal point onto the pixel).
    """
    dy, dx = state.image.pixel_mm
    wx, wy = col * dx, row * dy
    px, py = state.pan_mm
    return (px + (geometry.focal_mm[0] - wx) * geometry.sign_x, py + (geometry.focal_mm[1] - wy) * geometry.sign_y)


def cad_marks_for_findings(image, result) -> list:
    """The findings of ``result`` as ``app.model.findings.CadMark`` (accept/dismiss in the findings panel).

    Positions are the viewer's (array) slice, row and column of ``image``; the id (e.g.
    ``RCC-mass-s11-r99c100``) is stable for the same finding (view, kind, focal slice, position).
    """
    from app.model.findings import CadMark

    md = image.metadata or {}
    sop = str(md.get("sop_instance_uid") or image.uid)
    sop_class = str(md.get("sop_class_uid") or "1.2.840.10008.5.1.4.1.1.13.1.3")
    out = []
    for f in result.findings:
        if f.kind not in MARK_KINDS:
            continue
        k, r, c = int(round(f.center_index[0])), float(f.center_index[1]), float(f.center_index[2])
        x, y, z = f.center_mm
        out.append(
            CadMark(
                id=f"{image.laterality}{image.view}-{f.kind}-s{k + 1}-r{r:.0f}c{c:.0f}",
                kind=f.kind,
                laterality=image.laterality,
                view=image.view,
                sop_instance_uid=sop,
                sop_class_uid=sop_class,
                slice_index=k,
                row=r,
                col=c,
                centre_mm=(float(z), float(y), float(x)),
                score=float(f.score),
                model_id=f.model,
                pixel_spacing_mm=tuple(image.pixel_mm),
            )
        )
    return out


class CadMarksController:
    """CAD results of the displayed images and their marks in a reading session's viewports.

    Parameters
    ----------
    session : ReadingSession
    geometry_for : callable, optional
        ``geometry_for(viewport_index) -> ViewGeometry`` of the viewport on screen (the GUI
        passes its renderers'); without it, next/previous finding does not pan.
    min_score : float
        Findings scoring below this are not marked (until :meth:`set_show_all`).

    Events
    ------
    ``events.results(uid=...)`` when a result was set or removed; ``events.visible(value=...)``;
    ``events.show_all(value=...)``;
    ``events.jumped(viewport=i, finding=f)`` after next/previous moved a viewport.
    """

    def __init__(self, session, *, geometry_for=None, min_score: float = 0.0):
        self.session = session
        self.geometry_for = geometry_for
        self.results: dict[str, object] = {}
        self.visible = True
        self.min_score = float(min_score)
        self.show_all = False
        self.position = -1  # index into tour()
        self.events = EmitterGroup(self, ["results", "visible", "show_all", "jumped"])
        session.events.layout.connect(self._on_layout)
        self._on_layout()

    # -- results -----------------------------------------------------------------------
    def set_result(self, uid: str, result) -> None:
        """Show ``result`` (a ``cad.CaseResult``) on the image whose ``uid`` it was computed for."""
        from cad.types import CaseResult

        if not isinstance(result, CaseResult):
            raise TypeError(f"set_result: result must be a cad.CaseResult, got {type(result).__name__}")
        if not uid:
            raise ValueError("set_result: the image has no uid to attach the result to")
        self.results[str(uid)] = result
        self.position = -1
        self._refresh()
        self._update_case_score()
        self.events.results(uid=str(uid))

    def clear(self, uid: str | None = None) -> None:
        """Forget the result of one image (or all)."""
        if uid is None:
            self.results.clear()
        else:
            self.results.pop(str(uid), None)
        self.position = -1
        self._refresh()
        self._update_case_score()
        self.events.results(uid=uid)

    def cad_marks(self, study=None) -> list:
        """``CadMark`` objects of every result on the images of ``study`` (default: the session's)."""
        study = study if study is not None else self.session.study
        if study is None:
            return []
        out = []
        for im in study.images:
            if im.uid in self.results:
                out += cad_marks_for_findings(im, self.results[im.uid])
        return out

    def result_for(self, image):
        return self.results.get(image.uid) if image is not None else None

    def study_case_score(self, study=None) -> float | None:
        """Highest case score over the images of ``study`` (the session's study by default)."""
        study = study if study is not None else self.session.study
        if study is None:
            return None
        scores = [self.results[im.uid].case_score for im in study.images if im.uid in self.results]
        return max(scores) if scores else None

    def _update_case_score(self) -> None:
        study = self.session.study
        score = self.study_case_score(study)
        if study is not None and score is not None:
            study.case_score = float(score)

    # -- overlays ----------------------------------------------------------------------
    def _on_layout(self, event=None) -> None:
        self.position = -1
        self._refresh()

    def _refresh(self) -> None:
        for vp in self.session.viewports:
            for item in [it for it in vp.overlays if it.source == SOURCE]:
                vp.overlays.remove(item)
            result = self.result_for(vp.image)
            if result is None or not vp.image.is_stack:
                continue
            for i, f in enumerate(result.findings):
                if self._marked(f):
                    vp.overlays.extend(finding_items(f, vp.image, index=i, visible=self.visible))
            vp.overlays.append(case_score_item(result.case_score, visible=self.visible))

    def set_visible(self, visible: bool) -> None:
        """Show or hide every CAD mark (and the case score)."""
        self.visible = bool(visible)
        for vp in self.session.viewports:
            for item in vp.overlays:
                if item.source == SOURCE:
                    item.visible = self.visible
        self.events.visible(value=self.visible)

    def toggle(self) -> None:
        self.set_visible(not self.visible)

    def _marked(self, finding) -> bool:
        return finding.kind in MARK_KINDS and (self.show_all or finding.score >= self.min_score)

    def set_show_all(self, show_all: bool) -> None:
        """Mark every finding (True) or only those at or above ``min_score`` (False)."""
        self.show_all = bool(show_all)
        self.position = -1
        self._refresh()
        self.events.show_all(value=self.show_all)

    def toggle_show_all(self) -> None:
        self.set_show_all(not self.show_all)

    # -- navigation --------------------------------------------------------------------
    def tour(self) -> list[tuple[int, object]]:
        """(viewport index, finding) of every mark in the current stage, in visiting order."""
        out = []
        for i, vp in enumerate(self.session.viewports):
            result = self.result_for(vp.image)
            if result is not None and vp.image.is_stack:
                out += [(i, f) for f in result.findings if self._marked(f)]
        return out

    def next(self) -> tuple[int, object] | None:
        """Go to the next finding (wrapping around); returns (viewport index, finding) or None."""
        return self._step(+1)

    def previous(self) -> tuple[int, object] | None:
        return self._step(-1)

    def _step(self, direction: int):
        tour = self.tour()
        if not tour:
            return None
        if self.position < 0:
            self.position = 0 if direction > 0 else len(tour) - 1
        else:
            self.position = (self.position + direction) % len(tour)
        return self.goto(self.position)

    def goto(self, position: int):
        """Jump to finding ``position`` of :meth:`tour`: active viewport, focal slice, mark centred."""
        tour = self.tour()
        index, finding = tour[position]
        self.position = position
        vp = self.session.viewports[index]
        self.session.set_active(index)
        if not self.visible:
            self.set_visible(True)
        vp.slab_mm = 0.0
        vp.slice_index = int(round(finding.center_index[0]))
        geometry = self.geometry_for(index) if self.geometry_for is not None else None
        if geometry is not None:
            vp.pan_mm = centre_pan(vp, geometry, finding.center_index[1], finding.center_index[2])
        self.events.jumped(viewport=index, finding=finding)
        return index, finding

    @property
    def current(self):
        """(viewport index, finding) last jumped to, or None."""
        tour = self.tour()
        return tour[self.position] if 0 <= self.position < len(tour) else None

    def close(self) -> None:
        self.session.events.layout.disconnect(self._on_layout)
