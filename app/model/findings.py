"""BI-RADS findings of one study: the reader's findings, CAD marks accepted or dismissed, the assessment.

Pure Python (no Qt): :class:`FindingsSession` is the evented model the widgets, the autosaver and
the report builder share. Every change goes through a method that validates it against the
lexicon, records who did it and when (the audit history), and notifies subscribers.

Typical use::

    s = FindingsSession("1.2.3", reader="Dr A")
    f = s.add_finding("mass", "R", mark=cc_mark)
    s.set_mark(f.id, mlo_mark)                     # links CC and MLO
    s.update_descriptors(f.id, {"shape": "irregular", "margin": "spiculated"})
    s.set_breast_assessment("R", composition="c", category="4C")
    s.location(f.id)                               # laterality, quadrant, clock, depth, distance
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from app.model.assessment import AssessmentResult, BreastAssessment, ExamAssessment, evaluate
from app.model.lexicon import Lexicon, load_lexicon
from app.model.location import BreastGeometry, Location, LocationCorrection, derive_location
from app.model.marks import Mark

# CAD finding kinds (the CAD issue's names) -> lexicon finding types
CAD_KIND_TO_FINDING = {
    "calcification_cluster": "calcifications",
    "calcification": "calcifications",
    "mass": "mass",
    "architectural_distortion": "architectural_distortion",
    "asymmetry": "asymmetry",
}


@dataclass(frozen=True)
class Finding:
    """One finding. ``marks`` holds at most one mark per view family (CC-type, ML-type)."""

    id: str
    number: int
    kind: str
    laterality: str
    descriptors: Mapping[str, object] = field(default_factory=dict)
    marks: tuple[Mark, ...] = ()
    correction: LocationCorrection = field(default_factory=LocationCorrection)
    category: str | None = None
    note: str = ""
    cad_id: str | None = None

    @property
    def linked(self) -> bool:
        """Placed on both a CC-type and an ML-type view."""
        return {m.family for m in self.marks} == {"CC", "ML"}

    def mark(self, family: str) -> Mark | None:
        for m in self.marks:
            if m.family == family:
                return m
        return None

    @property
    def size_mm(self) -> float | None:
        """Largest dimension over the views (``None`` when only points are placed)."""
        sizes = [m.size_mm for m in self.marks if m.size_mm is not None]
        return max(sizes) if sizes else None

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "number": self.number,
            "kind": self.kind,
            "laterality": self.laterality,
            "descriptors": {k: list(v) if isinstance(v, tuple) else v for k, v in self.descriptors.items()},
            "marks": [m.to_json() for m in self.marks],
            "correction": self.correction.to_json(),
            "category": self.category,
            "note": self.note,
            "cad_id": self.cad_id,
        }

    @classmethod
    def from_json(cls, d: dict) -> Finding:
        return cls(
            id=d["id"],
            number=int(d["number"]),
            kind=d["kind"],
            laterality=d["laterality"],
            descriptors={k: tuple(v) if isinstance(v, list) else v for k, v in d.get("descriptors", {}).items()},
            marks=tuple(Mark.from_json(m) for m in d.get("marks", [])),
            correction=LocationCorrection.from_json(d.get("correction")),
            category=d.get("category"),
            note=d.get("note", ""),
            cad_id=d.get("cad_id"),
        )


@dataclass(frozen=True)
class CadMark:
    """A CAD finding as the findings model needs it (the CAD issue's ``cad.Finding`` maps onto this).

    ``centre_mm`` is (z, y, x) in the volume frame; ``slice_index``/``row``/``col`` locate it on the
    stored frame of ``sop_instance_uid``.
    """

    id: str
    kind: str
    laterality: str
    view: str
    sop_instance_uid: str
    sop_class_uid: str
    slice_index: int
    row: float
    col: float
    centre_mm: tuple[float, float, float]
    score: float
    model_id: str
    pixel_spacing_mm: tuple[float, float] = (0.1, 0.1)

    def __post_init__(self):
        if not 0 <= float(self.score) <= 100:
            raise ValueError(f"CAD score must be within 0-100, got {self.score!r}")
        if self.laterality not in ("R", "L"):
            raise ValueError(f"laterality must be 'R' or 'L', got {self.laterality!r}")

    def to_json(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["centre_mm"] = list(self.centre_mm)
        d["pixel_spacing_mm"] = list(self.pixel_spacing_mm)
        return d

    @classmethod
    def from_json(cls, d: dict) -> CadMark:
        d = dict(d)
        d["centre_mm"] = tuple(d["centre_mm"])
        d["pixel_spacing_mm"] = tuple(d["pixel_spacing_mm"])
        return cls(**d)

    def as_mark(self) -> Mark:
        return Mark(
            kind="point",
            points=((self.col, self.row),),
            view=self.view,
            laterality=self.laterality,
            sop_instance_uid=self.sop_instance_uid,
            sop_class_uid=self.sop_class_uid,
            frame=self.slice_index,
            pixel_spacing_mm=self.pixel_spacing_mm,
        )


@dataclass(frozen=True)
class CadDecision:
    """The reader's decision on a CAD mark."""

    cad_id: str
    decision: str  # "accepted" | "dismissed"
    finding_id: str | None
    reader: str
    at: float
    reason: str = ""

    def to_json(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, d: dict) -> CadDecision:
        return cls(**d)


@dataclass(frozen=True)
class HistoryEntry:
    """One audited change: sequence number, time (epoch seconds), reader, action, target, details."""

    seq: int
    at: float
    reader: str
    action: str
    target: str
    detail: Mapping

    def to_json(self) -> dict:
        return {
            "seq": self.seq,
            "at": self.at,
            "reader": self.reader,
            "action": self.action,
            "target": self.target,
            "detail": dict(self.detail),
        }

    @classmethod
    def from_json(cls, d: dict) -> HistoryEntry:
        return cls(**d)


@dataclass(frozen=True)
class FindingsEvent:
    """What changed: ``kind`` is one of finding_added, finding_changed, finding_removed,
    assessment_changed, cad_changed, geometry_changed, viewer_state_changed, reloaded."""

    kind: str
    target: str = ""


class FindingsSession:
    """The findings, CAD decisions, assessment and viewer state of one study.

    Parameters
    ----------
    study_uid : str
    reader : str
        Default reader name for the audit history (each method also takes ``reader=``).
    clock : callable
        Returns the current time in epoch seconds (injectable for tests).
    lexicon : Lexicon, optional
    """

    def __init__(self, study_uid: str, *, reader: str = "", clock: Callable[[], float] = time.time, lexicon=None):
        if not isinstance(study_uid, str) or not study_uid:
            raise ValueError("study_uid must be a non-empty string")
        self.study_uid = study_uid
        self.reader = reader
        self.clock = clock
        self.lexicon: Lexicon = lexicon or load_lexicon()
        self._findings: dict[str, Finding] = {}
        self._assessment = ExamAssessment()
        self._geometries: dict[str, BreastGeometry] = {}
        self._cad: dict[str, CadMark] = {}
        self._decisions: dict[str, CadDecision] = {}
        self._viewer_state: dict = {}
        self._history: list[HistoryEntry] = []
        self._subscribers: list[Callable[[FindingsEvent], None]] = []
        self.revision = 0

    # ---- events --------------------------------------------------------------------------

    def subscribe(self, callback: Callable[[FindingsEvent], None]) -> Callable[[], None]:
        """Call ``callback(event)`` after every change; returns a function that unsubscribes."""
        self._subscribers.append(callback)

        def unsubscribe():
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def _changed(self, kind: str, target: str = "", *, action: str | None = None, reader=None, detail=None):
        self.revision += 1
        if action is not None:
            who = reader if reader is not None else self.reader
            self._history.append(
                HistoryEntry(
                    seq=len(self._history) + 1,
                    at=float(self.clock()),
                    reader=who or "",
                    action=action,
                    target=target,
                    detail=copy.deepcopy(detail or {}),
                )
            )
        ev = FindingsEvent(kind, target)
        for cb in list(self._subscribers):
            cb(ev)

    # ---- read access ---------------------------------------------------------------------

    @property
    def findings(self) -> list[Finding]:
        """The findings, by number."""
        return sorted(self._findings.values(), key=lambda f: f.number)

    def finding(self, finding_id: str) -> Finding:
        try:
            return self._findings[finding_id]
        except KeyError:
            raise KeyError(f"no finding {finding_id!r} in study {self.study_uid}") from None

    @property
    def assessment(self) -> ExamAssessment:
        return self._assessment

    @property
    def history(self) -> list[HistoryEntry]:
        return list(self._history)

    @property
    def geometries(self) -> dict[str, BreastGeometry]:
        return dict(self._geometries)

    @property
    def cad_marks(self) -> list[CadMark]:
        return list(self._cad.values())

    @property
    def cad_decisions(self) -> dict[str, CadDecision]:
        return dict(self._decisions)

    @property
    def viewer_state(self) -> dict:
        return copy.deepcopy(self._viewer_state)

    def derived_location(self, finding_id: str) -> Location:
        """The location derived from the marks and view geometries, before the reader's corrections."""
        f = self.finding(finding_id)
        points, geos = {}, {}
        for m in f.marks:
            g = self._geometries.get(m.sop_instance_uid)
            if g is None:
                continue
            points[m.family] = m.center
            geos[m.family] = g
        loc = derive_location(points, geos)
        return replace(loc, laterality=f.laterality)

    def location(self, finding_id: str) -> Location:
        """The finding's location: derived, then corrected by the reader."""
        f = self.finding(finding_id)
        return f.correction.apply_to(self.derived_location(finding_id))

    def missing_descriptors(self, finding_id: str) -> tuple[str, ...]:
        f = self.finding(finding_id)
        return self.lexicon.missing_descriptors(f.kind, f.descriptors)

    def evaluate(self) -> AssessmentResult:
        """The effective assessment (recorded values, derived defaults, warnings)."""
        cats: dict[str, list] = {"R": [], "L": []}
        for f in self._findings.values():
            cats[f.laterality].append(f.category)
        return evaluate(self._assessment, cats, lexicon=self.lexicon)

    # ---- findings ------------------------------------------------------------------------

    def add_finding(
        self,
        kind: str,
        laterality: str,
        *,
        descriptors: Mapping | None = None,
        mark: Mark | None = None,
        category: str | None = None,
        note: str = "",
        reader: str | None = None,
        finding_id: str | None = None,
        _cad_id: str | None = None,
    ) -> Finding:
        """Create a finding of lexicon type ``kind`` in breast ``laterality`` ("R"/"L")."""
        self.lexicon.finding_type(kind)
        if laterality not in ("R", "L"):
            raise ValueError(f"laterality must be 'R' or 'L', got {laterality!r}")
        desc = self.lexicon.validate_descriptors(kind, descriptors or {})
        if category is not None:
            category = self.lexicon.category(category).id
        if mark is not None:
            self._check_mark(mark, laterality)
        fid = finding_id or uuid.uuid4().hex
        if fid in self._findings:
            raise ValueError(f"finding {fid!r} exists already")
        number = max((f.number for f in self._findings.values()), default=0) + 1
        f = Finding(
            id=fid,
            number=number,
            kind=kind,
            laterality=laterality,
            descriptors=desc,
            marks=(mark,) if mark is not None else (),
            category=category,
            note=note,
            cad_id=_cad_id,
        )
        self._findings[fid] = f
        self._changed("finding_added", fid, action="add_finding", reader=reader, detail={"after": f.to_json()})
        return f

    def _check_mark(self, mark: Mark, laterality: str) -> None:
        if not isinstance(mark, Mark):
            raise TypeError(f"mark must be a Mark, not {type(mark).__name__}")
        if mark.laterality != laterality:
            raise ValueError(
                f"a mark on a {mark.laterality} image cannot belong to a finding of the {laterality} breast"
            )

    def _replace(self, fid: str, new: Finding, action: str, reader, extra=None) -> Finding:
        old = self.finding(fid)
        if new == old:
            return old
        self._findings[fid] = new
        detail = {"before": old.to_json(), "after": new.to_json()}
        detail.update(extra or {})
        self._changed("finding_changed", fid, action=action, reader=reader, detail=detail)
        return new

    def set_mark(self, finding_id: str, mark: Mark, *, reader: str | None = None) -> Finding:
        """Place or replace the finding's mark on the mark's view family (CC-type or ML-type).

        A finding with marks on both families is linked across CC and MLO.
        """
        f = self.finding(finding_id)
        self._check_mark(mark, f.laterality)
        marks = tuple(m for m in f.marks if m.family != mark.family) + (mark,)
        marks = tuple(sorted(marks, key=lambda m: m.family))
        return self._replace(finding_id, replace(f, marks=marks), "set_mark", reader)

    def remove_mark(self, finding_id: str, family: str, *, reader: str | None = None) -> Finding:
        f = self.finding(finding_id)
        return self._replace(
            finding_id, replace(f, marks=tuple(m for m in f.marks if m.family != family)), "remove_mark", reader
        )

    def link(self, finding_id: str, other_id: str, *, reader: str | None = None) -> Finding:
        """Merge ``other_id`` (the same lesion drawn on the other view) into ``finding_id``.

        The merged finding keeps ``finding_id``'s descriptors, adds the other's mark, and the
        other finding is removed.
        """
        a, b = self.finding(finding_id), self.finding(other_id)
        if a.id == b.id:
            raise ValueError("cannot link a finding to itself")
        if a.laterality != b.laterality:
            raise ValueError("findings of different breasts cannot be linked")
        fam_a = {m.family for m in a.marks}
        extra = [m for m in b.marks if m.family not in fam_a]
        if not extra:
            raise ValueError("the other finding has no mark on a view this finding lacks")
        merged = replace(
            a,
            marks=tuple(sorted(a.marks + tuple(extra), key=lambda m: m.family)),
            cad_id=a.cad_id or b.cad_id,
        )
        self._findings.pop(b.id)
        for cad_id, d in list(self._decisions.items()):  # a CAD mark accepted into b now points at a
            if d.finding_id == b.id:
                self._decisions[cad_id] = replace(d, finding_id=a.id)
        self._changed(
            "finding_removed", b.id, action="merge_into", reader=reader, detail={"before": b.to_json(), "into": a.id}
        )
        return self._replace(finding_id, merged, "link", reader, {"linked_from": b.id})

    def update_descriptors(self, finding_id: str, changes: Mapping, *, reader: str | None = None) -> Finding:
        """Set (or, with ``None``, clear) descriptors; only those valid for the finding type are accepted."""
        f = self.finding(finding_id)
        merged = dict(f.descriptors)
        for k, v in dict(changes).items():
            merged[k] = v
        desc = self.lexicon.validate_descriptors(f.kind, merged)
        return self._replace(finding_id, replace(f, descriptors=desc), "describe", reader)

    def change_kind(self, finding_id: str, kind: str, *, reader: str | None = None) -> Finding:
        """Change the finding type, keeping the descriptors that remain valid."""
        f = self.finding(finding_id)
        ft = self.lexicon.finding_type(kind)
        kept = {}
        for k, v in f.descriptors.items():
            if k in ft.descriptors:
                try:
                    kept.update(self.lexicon.validate_descriptors(kind, {k: v}))
                except ValueError:
                    pass
        return self._replace(finding_id, replace(f, kind=kind, descriptors=kept), "change_kind", reader)

    def correct_location(self, finding_id: str, *, reader: str | None = None, **fields) -> Finding:
        """Override derived location fields (quadrant, clock, region, depth, distance_from_nipple_cm, ...).

        Passing ``None`` for a field removes that correction.
        """
        f = self.finding(finding_id)
        cur = f.correction.to_json()
        unknown = set(fields) - set(cur)
        if unknown:
            raise ValueError(f"unknown location field(s): {', '.join(sorted(unknown))}")
        if "laterality" in fields and fields["laterality"] is not None:
            raise ValueError("laterality is the finding's breast; it cannot be corrected here")
        cur.update(fields)
        corr = LocationCorrection(**cur)
        return self._replace(finding_id, replace(f, correction=corr), "correct_location", reader)

    def set_finding_category(self, finding_id: str, category: str | None, *, reader: str | None = None) -> Finding:
        f = self.finding(finding_id)
        if category is not None:
            category = self.lexicon.category(category).id
        return self._replace(finding_id, replace(f, category=category), "set_finding_category", reader)

    def set_note(self, finding_id: str, note: str, *, reader: str | None = None) -> Finding:
        if not isinstance(note, str):
            raise TypeError("note must be text")
        f = self.finding(finding_id)
        return self._replace(finding_id, replace(f, note=note), "set_note", reader)

    def remove_finding(self, finding_id: str, *, reader: str | None = None) -> None:
        f = self.finding(finding_id)
        del self._findings[finding_id]
        if f.cad_id and f.cad_id in self._decisions:
            del self._decisions[f.cad_id]
        self._changed(
            "finding_removed", finding_id, action="remove_finding", reader=reader, detail={"before": f.to_json()}
        )

    # ---- assessment ----------------------------------------------------------------------

    def set_breast_assessment(self, side: str, *, reader: str | None = None, **changes) -> ExamAssessment:
        """Set composition / category / management / follow_up / follow_up_interval_months of one breast."""
        cur = self._assessment.breast(side)
        unknown = set(changes) - set(cur.to_json())
        if unknown:
            raise ValueError(f"unknown breast assessment field(s): {', '.join(sorted(unknown))}")
        new = replace(cur, **changes).validated(self.lexicon)
        return self._set_assessment(self._assessment.with_breast(side, new), reader)

    def set_exam_assessment(self, *, reader: str | None = None, **changes) -> ExamAssessment:
        """Set exam_type / indication / comparison / overall_category / overall_management."""
        allowed = {"exam_type", "indication", "comparison", "overall_category", "overall_management"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"unknown exam assessment field(s): {', '.join(sorted(unknown))}")
        new = replace(self._assessment, **changes).validated(self.lexicon)
        return self._set_assessment(new, reader)

    def _set_assessment(self, new: ExamAssessment, reader) -> ExamAssessment:
        old = self._assessment
        if new == old:
            return old
        self._assessment = new
        self._changed(
            "assessment_changed",
            "exam",
            action="set_assessment",
            reader=reader,
            detail={"before": old.to_json(), "after": new.to_json()},
        )
        return new

    # ---- CAD -----------------------------------------------------------------------------

    def set_cad_marks(self, marks, *, reader: str | None = None) -> None:
        """Load the CAD marks of this study (decisions on marks that remain are kept)."""
        marks = list(marks)
        for m in marks:
            if not isinstance(m, CadMark):
                raise TypeError(f"CAD marks must be CadMark, not {type(m).__name__}")
        self._cad = {m.id: m for m in marks}
        self._changed("cad_changed", "", action="load_cad", reader=reader, detail={"ids": [m.id for m in marks]})

    def accept_cad(self, cad_id: str, *, kind: str | None = None, reader: str | None = None) -> Finding:
        """Accept a CAD mark: a finding is created at its centre (on its focal slice)."""
        m = self._cad_mark(cad_id)
        if cad_id in self._decisions and self._decisions[cad_id].decision == "accepted":
            return self.finding(self._decisions[cad_id].finding_id)
        kind = kind or CAD_KIND_TO_FINDING.get(m.kind)
        if kind is None:
            raise ValueError(f"CAD kind {m.kind!r} has no default finding type; pass kind=")
        f = self.add_finding(kind, m.laterality, mark=m.as_mark(), reader=reader, _cad_id=cad_id)
        self._decisions[cad_id] = CadDecision(cad_id, "accepted", f.id, reader or self.reader, float(self.clock()))
        self._changed("cad_changed", cad_id, action="accept_cad", reader=reader, detail={"finding": f.id})
        return f

    def dismiss_cad(self, cad_id: str, *, reason: str = "", reader: str | None = None) -> None:
        """Dismiss a CAD mark (removing the finding made from it, if it had been accepted)."""
        self._cad_mark(cad_id)
        prev = self._decisions.get(cad_id)
        if prev is not None and prev.decision == "accepted" and prev.finding_id in self._findings:
            self.remove_finding(prev.finding_id, reader=reader)
        self._decisions[cad_id] = CadDecision(
            cad_id, "dismissed", None, reader or self.reader, float(self.clock()), reason
        )
        self._changed("cad_changed", cad_id, action="dismiss_cad", reader=reader, detail={"reason": reason})

    def reset_cad(self, cad_id: str, *, reader: str | None = None) -> None:
        """Forget the decision on a CAD mark (an accepted mark's finding is kept)."""
        self._cad_mark(cad_id)
        if self._decisions.pop(cad_id, None) is not None:
            self._changed("cad_changed", cad_id, action="reset_cad", reader=reader)

    def _cad_mark(self, cad_id: str) -> CadMark:
        try:
            return self._cad[cad_id]
        except KeyError:
            raise KeyError(f"no CAD mark {cad_id!r}") from None

    # ---- geometry and viewer state ------------------------------------------------------

    def set_view_geometry(self, sop_instance_uid: str, geometry: BreastGeometry, *, reader: str | None = None):
        """The landmarks (nipple, chest wall, orientation) of an image, for location derivation."""
        if not isinstance(geometry, BreastGeometry):
            raise TypeError(f"geometry must be a BreastGeometry, not {type(geometry).__name__}")
        if self._geometries.get(sop_instance_uid) == geometry:
            return
        self._geometries[sop_instance_uid] = geometry
        self._changed(
            "geometry_changed",
            sop_instance_uid,
            action="set_view_geometry",
            reader=reader,
            detail={"nipple_px": list(geometry.nipple_px)},
        )

    def set_viewer_state(self, state: Mapping) -> None:
        """Replace the viewer state (a JSON-able mapping; not audited)."""
        import json

        if not isinstance(state, Mapping):
            raise TypeError("viewer state must be a mapping")
        json.dumps(state)  # must be JSON-able
        if dict(state) == self._viewer_state:
            return
        self._viewer_state = copy.deepcopy(dict(state))
        self._changed("viewer_state_changed", "")

    # ---- snapshot ------------------------------------------------------------------------

    def snapshot(self) -> dict:
        """The whole state as JSON-able data (what the store saves)."""
        return {
            "study_uid": self.study_uid,
            "revision": self.revision,
            "findings": [f.to_json() for f in self.findings],
            "assessment": self._assessment.to_json(),
            "geometries": {k: _geometry_json(g) for k, g in self._geometries.items()},
            "cad_marks": [m.to_json() for m in self._cad.values()],
            "cad_decisions": [d.to_json() for d in self._decisions.values()],
            "viewer_state": copy.deepcopy(self._viewer_state),
            "history": [h.to_json() for h in self._history],
        }

    @classmethod
    def from_snapshot(cls, data: Mapping, *, reader: str = "", clock=time.time, lexicon=None) -> FindingsSession:
        """Rebuild a session from :meth:`snapshot` data (validating it)."""
        s = cls(data["study_uid"], reader=reader, clock=clock, lexicon=lexicon)
        for fj in data.get("findings", []):
            f = Finding.from_json(fj)
            s.lexicon.finding_type(f.kind)
            f = replace(f, descriptors=s.lexicon.validate_descriptors(f.kind, f.descriptors))
            s._findings[f.id] = f
        s._assessment = ExamAssessment.from_json(data.get("assessment")).validated(s.lexicon)
        s._geometries = {k: _geometry_from_json(g) for k, g in data.get("geometries", {}).items()}
        s._cad = {m["id"]: CadMark.from_json(m) for m in data.get("cad_marks", [])}
        s._decisions = {d["cad_id"]: CadDecision.from_json(d) for d in data.get("cad_decisions", [])}
        s._viewer_state = copy.deepcopy(dict(data.get("viewer_state") or {}))
        s._history = [HistoryEntry.from_json(h) for h in data.get("history", [])]
        s.revision = int(data.get("revision", 0))
        return s


def _geometry_json(g: BreastGeometry) -> dict:
    return {
        "laterality": g.laterality,
        "view": g.view,
        "pixel_spacing_mm": list(g.pixel_spacing_mm),
        "nipple_px": list(g.nipple_px),
        "posterior_dir": list(g.posterior_dir),
        "transverse_dir": list(g.transverse_dir),
        "chest_wall_distance_mm": g.chest_wall_distance_mm,
        "obliquity_deg": g.obliquity_deg,
    }


def _geometry_from_json(d: Mapping) -> BreastGeometry:
    return BreastGeometry(
        laterality=d["laterality"],
        view=d["view"],
        pixel_spacing_mm=tuple(d["pixel_spacing_mm"]),
        nipple_px=tuple(d["nipple_px"]),
        posterior_dir=tuple(d["posterior_dir"]),
        transverse_dir=tuple(d["transverse_dir"]),
        chest_wall_distance_mm=float(d["chest_wall_distance_mm"]),
        obliquity_deg=float(d.get("obliquity_deg", 0.0)),
    )


__all__ = [
    "BreastAssessment",
    "CadDecision",
    "CadMark",
    "ExamAssessment",
    "Finding",
    "FindingsEvent",
    "FindingsSession",
    "HistoryEntry",
    "Location",
    "LocationCorrection",
    "Mark",
    "BreastGeometry",
]
