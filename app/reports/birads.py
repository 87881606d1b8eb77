"""The BI-RADS report's content, built from a findings session: plain data the HTML, PDF and SR writers share.

The wording follows the Atlas's report organisation: indication, breast composition, findings
(each with its descriptors, size, location and the views it is seen on), comparison, assessment,
management. CAD marks are listed with what the reader decided. A study without findings gets a
negative report (BI-RADS 1) unless the reader assessed it otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from app.model.findings import Finding, FindingsSession
from app.model.lexicon import Lexicon

SIDE_NAME = {"R": "right", "L": "left"}
QUADRANT_NAME = {
    "UOQ": "upper outer quadrant",
    "UIQ": "upper inner quadrant",
    "LOQ": "lower outer quadrant",
    "LIQ": "lower inner quadrant",
}


@dataclass(frozen=True)
class ImageRef:
    """One image of the study, as the report and the SR reference it."""

    sop_class_uid: str
    sop_instance_uid: str
    series_uid: str
    laterality: str = ""
    view: str = ""
    frames: int = 1


@dataclass(frozen=True)
class StudyInfo:
    """Patient and study identity for the report header and the SR."""

    study_uid: str
    patient_name: str = ""
    patient_id: str = ""
    birth_date: str = ""
    sex: str = ""
    study_date: str = ""
    study_time: str = ""
    accession: str = ""
    study_id: str = ""
    description: str = ""
    referring: str = ""
    institution: str = ""
    images: tuple[ImageRef, ...] = ()

    @property
    def display_name(self) -> str:
        parts = [p for p in self.patient_name.split("^") if p]
        return ", ".join(parts[:2]) if parts else "(no name)"

    @property
    def display_date(self) -> str:
        d = self.study_date
        return f"{d[:4]}-{d[4:6]}-{d[6:8]}" if len(d) == 8 and d.isdigit() else d


@dataclass(frozen=True)
class KeyImage:
    """A rendered key image of a finding."""

    label: str
    png: bytes
    sop_instance_uid: str
    frame: int


@dataclass(frozen=True)
class ReportFinding:
    """One finding as the report states it."""

    number: int
    finding_id: str
    laterality: str
    kind_label: str
    description: str
    location: str
    size: str
    views: str
    category: str | None
    category_text: str
    source: str  # "reader" or "CAD (score 87, model m)"
    missing: tuple[str, ...]
    key_images: tuple[KeyImage, ...] = ()


@dataclass(frozen=True)
class CadRow:
    cad_id: str
    kind: str
    laterality: str
    view: str
    slice_number: int
    score: float
    model_id: str
    decision: str  # accepted / dismissed / not reviewed
    finding_number: int | None
    reason: str


@dataclass(frozen=True)
class BiradsReport:
    """Everything the report says."""

    study: StudyInfo
    reader: str
    created: str
    exam_type: str
    indication: str
    comparison: str
    procedure: str
    composition: dict  # side -> (letter, sentence) or None
    composition_text: str
    findings: tuple[ReportFinding, ...]
    findings_text: str
    overall_category: str | None
    overall_label: str
    likelihood: str
    impression: str
    management: str
    follow_up: str | None
    follow_up_interval_months: int | None
    breast_categories: dict  # side -> category
    cad: tuple[CadRow, ...]
    cad_text: str
    warnings: tuple[str, ...]
    lexicon_source: str = field(default="", repr=False)

    @property
    def negative(self) -> bool:
        return not self.findings

    @property
    def reader_display(self) -> str:
        return person_display(self.reader)


def person_display(name: str) -> str:
    """A DICOM person name ``Family^Given`` as "Family, Given"."""
    parts = [p for p in str(name).split("^") if p]
    return ", ".join(parts[:2]) if parts else ""


def _join(items: list[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def describe(lex: Lexicon, f: Finding) -> str:
    """The finding's descriptors in BI-RADS words, e.g. "irregular mass with spiculated margins, high density"."""
    d = f.descriptors

    def t(name):
        v = d.get(name)
        return lex.term(name, v).label if isinstance(v, str) else ""

    feats = [lex.term("associated_features", a).label for a in d.get("associated_features", ())]
    with_feats = f" with {_join(feats)}" if feats else ""
    change = t("change_since_prior")
    change = f"; {change}" if change else ""
    if f.kind == "mass":
        core = " ".join(x for x in (t("shape"), "mass") if x)
        if t("margin"):
            core += f" with {t('margin')} margins"
        if t("density"):
            core += f", {t('density')}"
        return core + with_feats + change
    if f.kind == "calcifications":
        morph = t("calcification_morphology")
        dist = t("calcification_distribution")
        group = ""
        v = d.get("calcification_morphology")
        if isinstance(v, str):
            g = lex.term("calcification_morphology", v).group
            group = " (typically benign)" if g == "typically_benign" else " (suspicious morphology)"
        core = f"{morph} calcifications{group}" if morph else "calcifications"
        if dist:
            core += f" in a {dist} distribution"
        return core + with_feats + change
    if f.kind == "asymmetry":
        return (t("asymmetry_type") or "asymmetry") + with_feats + change
    if f.kind == "associated_features_only":
        return (_join(feats) or "associated features") + change
    return lex.finding_type(f.kind).label.lower() + with_feats + change


def location_text(session: FindingsSession, f: Finding) -> str:
    loc = session.location(f.id)
    parts = [f"{SIDE_NAME[f.laterality]} breast"]
    if loc.region:
        parts.append(
            {"retroareolar": "retroareolar", "central": "central", "axillary_tail": "axillary tail"}[loc.region]
        )
    if loc.quadrant:
        parts.append(QUADRANT_NAME[loc.quadrant])
    if loc.clock:
        parts.append(f"{loc.clock} o'clock")
    if not loc.quadrant and not loc.clock and not loc.region:
        halves = [h for h in (loc.superior_inferior, loc.lateral_medial) if h]
        if halves:
            parts.append(" ".join(halves))
    if loc.depth:
        parts.append(f"{loc.depth} depth")
    if loc.distance_from_nipple_cm is not None:
        parts.append(f"{loc.distance_from_nipple_cm:.1f} cm from the nipple")
    return ", ".join(parts)


def size_text(f: Finding) -> str:
    dims = []
    for m in f.marks:
        mm = m.measurements_mm
        if "major_axis_mm" in mm:
            dims.append((mm["major_axis_mm"], mm["minor_axis_mm"]))
        elif "longest_diameter_mm" in mm:
            dims.append((mm["longest_diameter_mm"], None))
    if not dims:
        return ""
    a, b = max(dims, key=lambda x: x[0])
    return f"{a:.0f} x {b:.0f} mm" if b is not None else f"{a:.0f} mm"


def views_text(f: Finding) -> str:
    parts = [f"{m.laterality} {m.view} slice {m.frame + 1}" for m in f.marks]
    if not parts:
        return "no image mark"
    return "; ".join(parts) + ("" if f.linked else " (one view only)")


def category_text(lex: Lexicon, cat: str | None) -> str:
    if cat is None:
        return "not assessed"
    c = lex.category(cat)
    return f"BI-RADS {c.id}: {c.label}"


KeyImageRenderer = Callable[[Finding], list[KeyImage]]


def build_report(
    session: FindingsSession,
    study: StudyInfo,
    *,
    reader: str | None = None,
    key_images: KeyImageRenderer | None = None,
    clock: Callable[[], float] = time.time,
    procedure: str = "Digital breast tomosynthesis",
) -> BiradsReport:
    """Assemble the report from ``session`` (findings, assessment, CAD decisions)."""
    if not isinstance(session, FindingsSession):
        raise TypeError("session must be a FindingsSession")
    if not isinstance(study, StudyInfo):
        raise TypeError("study must be a StudyInfo")
    lex = session.lexicon
    res = session.evaluate()
    a = session.assessment

    comps = {}
    for side in ("R", "L"):
        letter = res.breast(side).composition
        comps[side] = (letter, lex.composition(letter).sentence) if letter else None
    if comps["R"] and comps["L"] and comps["R"][0] == comps["L"][0]:
        composition_text = f"Breast composition {comps['R'][0]}: {comps['R'][1]}"
    else:
        bits = []
        for side in ("R", "L"):
            if comps[side]:
                sentence = comps[side][1].replace("The breasts are", "The breast is").replace("There are", "there are")
                bits.append(f"{SIDE_NAME[side].capitalize()} breast, composition {comps[side][0]}: {sentence}")
        composition_text = " ".join(bits) or "Breast composition not recorded."

    findings = []
    for f in session.findings:
        source = "reader"
        if f.cad_id is not None:
            cm = next((m for m in session.cad_marks if m.id == f.cad_id), None)
            source = f"CAD mark accepted (score {cm.score:.0f}, model {cm.model_id})" if cm else "CAD mark accepted"
        findings.append(
            ReportFinding(
                number=f.number,
                finding_id=f.id,
                laterality=f.laterality,
                kind_label=lex.finding_type(f.kind).label,
                description=describe(lex, f),
                location=location_text(session, f),
                size=size_text(f),
                views=views_text(f),
                category=f.category,
                category_text=category_text(lex, f.category),
                source=source,
                missing=session.missing_descriptors(f.id),
                key_images=tuple(key_images(f)) if key_images else (),
            )
        )
    if findings:
        sentences = []
        for rf in findings:
            s = f"{rf.number}. {rf.location[0].upper()}{rf.location[1:]}: {rf.description}"
            if rf.size:
                s += f", measuring {rf.size}"
            s += f" ({rf.views})."
            if rf.category:
                s += f" {rf.category_text}."
            sentences.append(s)
        findings_text = " ".join(sentences)
    else:
        findings_text = "There is no suspicious mass, architectural distortion, or suspicious calcification."

    overall = res.overall_category
    cat = lex.category(overall) if overall else None
    overall_label = f"BI-RADS {cat.id}: {cat.label}" if cat else "not assessed"
    if overall is None:
        impression = "Assessment incomplete: no category recorded."
    elif not findings and overall == "1":
        impression = f"No mammographic evidence of malignancy. {overall_label}."
    else:
        impression = f"{overall_label}."
    mgmt = res.management or ""
    if res.follow_up_interval_months and overall == "3":
        mgmt_text = f"{mgmt} (follow-up in {res.follow_up_interval_months} months)."
    else:
        mgmt_text = f"{mgmt}." if mgmt else ""

    by_finding = {f.id: f.number for f in session.findings}
    cad_rows = []
    for m in sorted(session.cad_marks, key=lambda m: (-m.score, m.id)):
        d = session.cad_decisions.get(m.id)
        cad_rows.append(
            CadRow(
                cad_id=m.id,
                kind=m.kind.replace("_", " "),
                laterality=m.laterality,
                view=m.view,
                slice_number=m.slice_index + 1,
                score=float(m.score),
                model_id=m.model_id,
                decision=d.decision if d else "not reviewed",
                finding_number=by_finding.get(d.finding_id) if d and d.finding_id else None,
                reason=d.reason if d else "",
            )
        )
    if cad_rows:
        n_acc = sum(r.decision == "accepted" for r in cad_rows)
        n_dis = sum(r.decision == "dismissed" for r in cad_rows)
        n_open = len(cad_rows) - n_acc - n_dis
        cad_text = f"CAD: {len(cad_rows)} mark(s); {n_acc} accepted as findings, {n_dis} dismissed"
        cad_text += f", {n_open} not reviewed." if n_open else "."
    else:
        cad_text = "CAD: no marks."

    return BiradsReport(
        study=study,
        reader=reader if reader is not None else session.reader,
        created=datetime.fromtimestamp(clock()).strftime("%Y-%m-%d %H:%M"),
        exam_type=a.exam_type,
        indication=a.indication or ("Screening." if a.exam_type == "screening" else ""),
        comparison=a.comparison or "No comparison was made.",
        procedure=procedure,
        composition=comps,
        composition_text=composition_text,
        findings=tuple(findings),
        findings_text=findings_text,
        overall_category=overall,
        overall_label=overall_label,
        likelihood=cat.likelihood_of_malignancy if cat else "",
        impression=impression,
        management=mgmt_text,
        follow_up=res.follow_up,
        follow_up_interval_months=res.follow_up_interval_months,
        breast_categories={"R": res.right.category, "L": res.left.category},
        cad=tuple(cad_rows),
        cad_text=cad_text,
        warnings=res.warnings,
        lexicon_source=lex.source,
    )
