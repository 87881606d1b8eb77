"""The BI-RADS report as a DICOM Comprehensive SR following TID 4200 "Breast Imaging Report".

Tree (relationships by value; section and concept codes from PS3.16 CIDs 6050-6056, 6000-6029)::

    CONTAINER (111400, DCM, "Breast Imaging Report")                     TID 4200
     ├ HAS CONCEPT MOD  Language of Content Item and Descendants         TID 1204
     ├ HAS OBS CONTEXT  Observer: person, name                           TID 1002/1003
     ├ CONTAINS CONTAINER (111412, DCM, "Narrative Summary")             TID 4202
     │   └ CONTAINS CONTAINER <section, CID 6052> ─ CONTAINS TEXT <element, CID 6053>
     │        (Procedure reported, Indications, Comparison, Breast composition, Findings
     │         [each finding's TEXT INFERRED FROM its key IMAGE frames], Impressions,
     │         Recommendations, Overall Assessment)
     └ CONTAINS CONTAINER (111414, DCM, "Supplementary Data")            TID 4208
         ├ CONTAINS CODE Procedure reported (CID 6050)                   TID 4201
         │   ├ HAS CONCEPT MOD Laterality (CID 6022)
         │   └ HAS CONCEPT MOD Reason for procedure (CID 6051)
         ├ CONTAINS CONTAINER Breast composition ─ CODE (CID 6000) + Laterality    TID 4205
         ├ CONTAINS CONTAINER (121070, DCM, "Findings")                  TID 4206
         │   └ CONTAINS CODE Finding (CID 6054), per finding:
         │        HAS CONCEPT MOD Laterality; HAS PROPERTIES descriptors (CIDs 6004-6013, 6056),
         │        Clockface or region, Quadrant location, Depth, Distance from nipple (cm),
         │        Long/Short axis (mm), Assessment Category (CID 6027);
         │        INFERRED FROM SCOORD (point/ellipse/polyline) ─ SELECTED FROM IMAGE (BTO frame)
         └ CONTAINS CONTAINER (111413, DCM, "Overall Assessment")         TID 4203
             ├ CONTAINS CODE Assessment Category (CID 6027) [per breast: + Laterality]
             └ CONTAINS CODE Recommended Follow-up (CID 6028) ─ HAS PROPERTIES NUM interval (months)

Descriptors without a standard code go in as TEXT under the descriptor's concept name. Marks
are converted from the viewer's array coordinates to the stored frame with a
:class:`FrameMapping` per image (identity by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from app.model.findings import Finding, FindingsSession
from app.model.lexicon import Code
from app.model.marks import Mark
from app.reports.birads import BiradsReport, StudyInfo

COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
MANUFACTURER = "Crescent"


def _cc(code: Code):
    from highdicom.sr import CodedConcept

    return CodedConcept(code.value, code.scheme, code.meaning, scheme_version="4.0" if code.scheme == "BI" else None)


def _c(value: str, scheme: str, meaning: str):
    from highdicom.sr import CodedConcept

    return CodedConcept(value, scheme, meaning)


# concept names used by the template rows
BREAST_IMAGING_REPORT = ("111400", "DCM", "Breast Imaging Report")
NARRATIVE_SUMMARY = ("111412", "DCM", "Narrative Summary")
SUPPLEMENTARY_DATA = ("111414", "DCM", "Supplementary Data")
PROCEDURE_REPORTED = ("121058", "DCM", "Procedure reported")
INDICATIONS = ("18785-6", "LN", "Indications for Procedure")
COMPARISON = ("111424", "DCM", "Comparison to previous studies")
BREAST_COMPOSITION = ("129715009", "SCT", "Breast composition")
FINDINGS_SECTION = ("59776-5", "LN", "Findings")
FINDINGS_CONTAINER = ("121070", "DCM", "Findings")
FINDING = ("121071", "DCM", "Finding")
IMPRESSIONS = ("19005-8", "LN", "Impressions")
IMPRESSION = ("121073", "DCM", "Impression")
RECOMMENDATIONS = ("18783-1", "LN", "Recommendations")
RECOMMENDATION = ("121075", "DCM", "Recommendation")
OVERALL_ASSESSMENT = ("111413", "DCM", "Overall Assessment")
LATERALITY = ("272741003", "SCT", "Laterality")
REASON = ("111401", "DCM", "Reason for procedure")
COMMENT = ("121106", "DCM", "Comment")
BEST_ILLUSTRATION = ("121080", "DCM", "Best illustration of finding")
SOURCE_OF_MEASUREMENT = ("121112", "DCM", "Source of Measurement")
CENTER = ("111010", "DCM", "Center")
OUTLINE = ("111041", "DCM", "Outline")
LONG_AXIS = ("103339001", "SCT", "Long axis")
SHORT_AXIS = ("103340004", "SCT", "Short axis")
TRACKING_ID = ("112039", "DCM", "Tracking Identifier")
SIDE_CODES = {
    "R": ("73056007", "SCT", "Right breast"),
    "L": ("80248007", "SCT", "Left breast"),
    "B": ("63762007", "SCT", "Both breasts"),
}
PROCEDURE_CODES = {  # CID 6050
    "B": ("36626-0", "LN", "breast - bilateral mammogram"),
    "R": ("37774-7", "LN", "breast - right mammogram"),
    "L": ("36627-8", "LN", "breast - left mammogram"),
}
REASON_CODES = {"screening": ("360156006", "SCT", "Screening"), "diagnostic": ("261004008", "SCT", "Diagnostic")}


@dataclass(frozen=True)
class FrameMapping:
    """From the viewer's array (slice, row, col) of one image to its stored frame (number, row, col).

    ``flip_rows``/``flip_cols``: the reader flipped the stored frame; ``frame_numbers[k]``: the
    1-based stored frame of slice ``k`` (default ``k + 1``).
    """

    rows: int
    cols: int
    flip_rows: bool = False
    flip_cols: bool = False
    frame_numbers: tuple[int, ...] | None = None

    def frame_number(self, slice_index: int) -> int:
        if self.frame_numbers is None:
            return int(slice_index) + 1
        return int(self.frame_numbers[slice_index])

    def to_stored(self, points) -> np.ndarray:
        """(col, row) array points -> stored-frame (col, row) with 0.0 at the top-left pixel's corner."""
        p = np.array(points, dtype=float).reshape(-1, 2)
        if self.flip_cols:
            p[:, 0] = self.cols - 1 - p[:, 0]
        if self.flip_rows:
            p[:, 1] = self.rows - 1 - p[:, 1]
        return p + 0.5

    @classmethod
    def identity(cls) -> FrameMapping:
        return cls(rows=0, cols=0)


def frame_mapping_from_dataset(ds: Dataset) -> FrameMapping:
    """The mapping the tomosynthesis reader applies to a Breast Tomosynthesis Image (flips and frame order).

    Mirrors ``app.dicom.readers.tomo``: frames are sorted by height above the detector and flipped
    so that columns run from the chest wall toward the nipple.
    """
    from app.dicom.readers.base import breast_identity
    from app.dicom.views import detector_to_patient, disk_flips

    meta = breast_identity(ds)
    lat, view = meta.get("laterality"), meta.get("view") or "CC"
    shared = ds.SharedFunctionalGroupsSequence[0] if "SharedFunctionalGroupsSequence" in ds else Dataset()
    per = list(ds.get("PerFrameFunctionalGroupsSequence", []))

    def fg(k, name):
        item = per[k] if k < len(per) else Dataset()
        if name in item:
            return item[name][0]
        return shared[name][0] if name in shared else None

    n = int(ds.get("NumberOfFrames", 1))
    ori = np.array([float(v) for v in fg(0, "PlaneOrientationSequence").ImageOrientationPatient])
    row_dir, col_dir = ori[:3], ori[3:]
    normal = np.cross(row_dir, col_dir)
    flips = disk_flips(lat) if lat in ("R", "L") else (False, False)
    a = detector_to_patient(lat, view) if lat in ("R", "L") else None
    if a is not None:
        r_o, c_o, n_o = a.T @ row_dir, a.T @ col_dir, a.T @ normal
        if abs(r_o[0]) > 0.99 and abs(c_o[1]) > 0.99 and abs(n_o[2]) > 0.99:
            flips = (bool(c_o[1] < 0), bool(r_o[0] < 0))
        else:
            a = None
    pos = [np.array([float(v) for v in fg(k, "PlanePositionSequence").ImagePositionPatient]) for k in range(n)]
    heights = [(a.T @ p)[2] if a is not None else float(np.dot(p, normal)) for p in pos]
    order = np.argsort(heights, kind="stable")
    return FrameMapping(
        rows=int(ds.Rows),
        cols=int(ds.Columns),
        flip_rows=flips[0],
        flip_cols=flips[1],
        frame_numbers=tuple(int(i) + 1 for i in order),
    )


def _evidence(study: StudyInfo) -> list[Dataset]:
    out = []
    for im in study.images:
        ds = Dataset()
        ds.PatientName = study.patient_name
        ds.PatientID = study.patient_id
        ds.PatientBirthDate = study.birth_date
        ds.PatientSex = study.sex
        ds.StudyInstanceUID = study.study_uid
        ds.StudyDate = study.study_date
        ds.StudyTime = study.study_time
        ds.StudyID = study.study_id
        ds.AccessionNumber = study.accession
        ds.ReferringPhysicianName = study.referring
        ds.SeriesInstanceUID = im.series_uid
        ds.SOPClassUID = im.sop_class_uid
        ds.SOPInstanceUID = im.sop_instance_uid
        out.append(ds)
    return out


def _finding_items(session: FindingsSession, f: Finding, number_text: str, mappings: dict, images: dict):
    from highdicom.sr import (
        CodeContentItem,
        ImageContentItem,
        NumContentItem,
        RelationshipTypeValues,
        ScoordContentItem,
        TextContentItem,
    )

    lex = session.lexicon
    hp = RelationshipTypeValues.HAS_PROPERTIES
    ft = lex.finding_type(f.kind)
    children = [
        CodeContentItem(_c(*LATERALITY), _c(*SIDE_CODES[f.laterality]), RelationshipTypeValues.HAS_CONCEPT_MOD),
        TextContentItem(_c(*TRACKING_ID), number_text, hp),
    ]
    for name, value in f.descriptors.items():
        desc = lex.descriptors[name]
        concept = _cc(desc.concept) if desc.concept else _c(*COMMENT)
        for term_id in value if isinstance(value, tuple) else (value,):
            term = desc.term(term_id)
            if term.code is not None:
                children.append(CodeContentItem(concept, _cc(term.code), hp))
            else:
                children.append(TextContentItem(concept, f"{desc.label}: {term.label}", hp))
    loc = session.location(f.id)
    if loc.region:
        children.append(
            CodeContentItem(
                _c("111014", "DCM", "Clockface or region"), _cc(lex.location_term("region", loc.region).code), hp
            )
        )
    elif loc.clock:
        children.append(
            CodeContentItem(
                _c("111014", "DCM", "Clockface or region"), _cc(lex.location_term("clock", str(loc.clock)).code), hp
            )
        )
    if loc.quadrant:
        children.append(
            CodeContentItem(
                _c("111048", "DCM", "Quadrant location"), _cc(lex.location_term("quadrant", loc.quadrant).code), hp
            )
        )
    if loc.depth:
        children.append(
            CodeContentItem(_c("111020", "DCM", "Depth"), _cc(lex.location_term("depth", loc.depth).code), hp)
        )
    if loc.distance_from_nipple_cm is not None:
        children.append(
            NumContentItem(
                _c("121242", "DCM", "Distance from nipple"),
                round(loc.distance_from_nipple_cm, 1),
                _c("cm", "UCUM", "centimeter"),
                relationship_type=hp,
            )
        )
    sized = [m for m in f.marks if m.size_mm is not None]
    if sized:
        m = max(sized, key=lambda m: m.size_mm)
        mm = m.measurements_mm
        children.append(
            NumContentItem(_c(*LONG_AXIS), round(m.size_mm, 1), _c("mm", "UCUM", "millimeter"), relationship_type=hp)
        )
        if "minor_axis_mm" in mm:
            children.append(
                NumContentItem(
                    _c(*SHORT_AXIS), round(mm["minor_axis_mm"], 1), _c("mm", "UCUM", "millimeter"), relationship_type=hp
                )
            )
    if f.category is not None:
        children.append(CodeContentItem(_cc(lex.assessment_concept), _cc(lex.category(f.category).code), hp))
    for m in f.marks:
        if m.sop_instance_uid not in images:
            continue
        fm = mappings.get(m.sop_instance_uid) or FrameMapping.identity()
        pts = fm.to_stored(m.points)
        if m.kind == "polygon":
            pts = np.vstack([pts, pts[:1]])
        gtype = {"point": "POINT", "ellipse": "ELLIPSE", "polygon": "POLYLINE"}[m.kind]
        sc = ScoordContentItem(
            _c(*(CENTER if m.kind == "point" else OUTLINE)),
            gtype,
            pts.astype(np.float32),
            relationship_type=RelationshipTypeValues.INFERRED_FROM,
        )
        sc.ContentSequence = [
            ImageContentItem(
                _c(*SOURCE_OF_MEASUREMENT),
                m.sop_class_uid,
                m.sop_instance_uid,
                referenced_frame_numbers=[fm.frame_number(m.frame)] if _multiframe(images, m) else None,
                relationship_type=RelationshipTypeValues.SELECTED_FROM,
            )
        ]
        children.append(sc)
    value = _cc(ft.code) if ft.code is not None else None
    if value is None:  # associated features standing alone: the first feature's code is the finding
        feats = f.descriptors.get("associated_features", ())
        value = _cc(lex.term("associated_features", feats[0]).code) if feats else _c(*COMMENT)
    item = CodeContentItem(_c(*FINDING), value, RelationshipTypeValues.CONTAINS)
    item.ContentSequence = children
    return item


def _multiframe(images: dict, m: Mark) -> bool:
    return images[m.sop_instance_uid].frames > 1


def build_report_sr(
    report: BiradsReport,
    session: FindingsSession,
    *,
    frame_mappings: dict | None = None,
    series_uid: str | None = None,
    sop_instance_uid: str | None = None,
    series_number: int = 900,
    instance_number: int = 1,
    complete: bool = True,
) -> Dataset:
    """Build the Comprehensive SR dataset of ``report`` (made by ``build_report`` from ``session``).

    Parameters
    ----------
    report : BiradsReport
    session : FindingsSession
        The findings the report was built from (codes, marks and locations come from it).
    frame_mappings : dict, optional
        SOP Instance UID -> :class:`FrameMapping` (array -> stored frame); identity where absent.
    """
    from highdicom import UID
    from highdicom.sr import (
        CodeContentItem,
        ComprehensiveSR,
        ContainerContentItem,
        ImageContentItem,
        LanguageOfContentItemAndDescendants,
        NumContentItem,
        ObserverContext,
        PersonObserverIdentifyingAttributes,
        RelationshipTypeValues,
        TextContentItem,
    )
    from highdicom.sr.value_types import ContentSequence

    if not isinstance(report, BiradsReport):
        raise TypeError("report must be a BiradsReport")
    study = report.study
    if not study.images:
        raise ValueError(f"study {study.study_uid}: the SR needs at least one image of the study to reference")
    lex = session.lexicon
    mappings = dict(frame_mappings or {})
    images = {im.sop_instance_uid: im for im in study.images}
    contains = RelationshipTypeValues.CONTAINS
    cmod = RelationshipTypeValues.HAS_CONCEPT_MOD
    hp = RelationshipTypeValues.HAS_PROPERTIES

    def section(concept, element, texts, refs=()):
        sec = ContainerContentItem(_c(*concept), relationship_type=contains)
        items = []
        for text, marks in texts if isinstance(texts, list) else [(texts, refs)]:
            t = TextContentItem(_c(*element), text, contains)
            kids = []
            for m in marks:
                if m.sop_instance_uid in images:
                    fm = mappings.get(m.sop_instance_uid) or FrameMapping.identity()
                    kids.append(
                        ImageContentItem(
                            _c(*BEST_ILLUSTRATION),
                            m.sop_class_uid,
                            m.sop_instance_uid,
                            referenced_frame_numbers=[fm.frame_number(m.frame)] if _multiframe(images, m) else None,
                            relationship_type=RelationshipTypeValues.INFERRED_FROM,
                        )
                    )
            if kids:
                t.ContentSequence = kids
            items.append(t)
        sec.ContentSequence = items
        return sec

    sides = sorted({im.laterality for im in study.images if im.laterality in ("R", "L")}) or ["R", "L"]
    side_key = "B" if len(sides) == 2 else sides[0]

    # ---- narrative (TID 4202)
    narrative = ContainerContentItem(_c(*NARRATIVE_SUMMARY), relationship_type=contains)
    by_id = {f.id: f for f in session.findings}
    finding_texts = [
        (
            f"{rf.number}. {rf.location[0].upper()}{rf.location[1:]}: {rf.description}"
            + (f", measuring {rf.size}" if rf.size else "")
            + f". {rf.category_text}.",
            by_id[rf.finding_id].marks if rf.finding_id in by_id else (),
        )
        for rf in report.findings
    ] or [(report.findings_text, ())]
    finding_texts.append((report.cad_text, ()))
    finding_texts += [
        (
            f"CAD mark {r.cad_id} ({r.kind}, {r.laterality} {r.view} slice {r.slice_number}, score "
            f"{r.score:.0f}): {r.decision}"
            + (f" as finding {r.finding_number}" if r.finding_number else "")
            + (f" ({r.reason})" if r.reason else "")
            + ".",
            (),
        )
        for r in report.cad
    ]
    narr = [
        section(
            PROCEDURE_REPORTED,
            PROCEDURE_REPORTED,
            f"{report.procedure}, {'both breasts' if side_key == 'B' else SIDE_CODES[side_key][2].lower()}.",
        ),
    ]
    if report.indication:
        narr.append(section(INDICATIONS, INDICATIONS, report.indication))
    narr += [
        section(COMPARISON, COMPARISON, report.comparison),
        section(BREAST_COMPOSITION, BREAST_COMPOSITION, report.composition_text),
        section(FINDINGS_SECTION, FINDING, finding_texts),
        section(IMPRESSIONS, IMPRESSION, report.impression),
    ]
    if report.management:
        narr.append(section(RECOMMENDATIONS, RECOMMENDATION, report.management))
    narr.append(section(OVERALL_ASSESSMENT, OVERALL_ASSESSMENT, report.overall_label))
    narrative.ContentSequence = narr

    # ---- supplementary data (TID 4208)
    supp = ContainerContentItem(_c(*SUPPLEMENTARY_DATA), relationship_type=contains)
    proc = CodeContentItem(_c(*PROCEDURE_REPORTED), _c(*PROCEDURE_CODES[side_key]), contains)
    proc.ContentSequence = [
        CodeContentItem(_c(*LATERALITY), _c(*SIDE_CODES[side_key]), cmod),
        CodeContentItem(_c(*REASON), _c(*REASON_CODES[report.exam_type]), cmod),
    ]
    supp_items = [proc]
    comp_items = []
    for side in ("R", "L"):
        c = report.composition.get(side)
        if c:
            item = CodeContentItem(_c(*BREAST_COMPOSITION), _cc(lex.composition(c[0]).code), contains)
            item.ContentSequence = [CodeContentItem(_c(*LATERALITY), _c(*SIDE_CODES[side]), cmod)]
            comp_items.append(item)
    if comp_items:
        comp = ContainerContentItem(_c(*BREAST_COMPOSITION), relationship_type=contains)
        comp.ContentSequence = comp_items
        supp_items.append(comp)
    if session.findings:
        fc = ContainerContentItem(_c(*FINDINGS_CONTAINER), relationship_type=contains)
        fc.ContentSequence = [
            _finding_items(session, f, f"Finding {f.number}", mappings, images) for f in session.findings
        ]
        supp_items.append(fc)
    overall = ContainerContentItem(_c(*OVERALL_ASSESSMENT), relationship_type=contains)
    ov_items = []
    if report.overall_category is not None:
        ov_items.append(
            CodeContentItem(_cc(lex.assessment_concept), _cc(lex.category(report.overall_category).code), contains)
        )
        for side in ("R", "L"):
            cat = report.breast_categories.get(side)
            if cat is not None and side in sides:
                item = CodeContentItem(_cc(lex.assessment_concept), _cc(lex.category(cat).code), contains)
                item.ContentSequence = [CodeContentItem(_c(*LATERALITY), _c(*SIDE_CODES[side]), cmod)]
                ov_items.append(item)
    if report.follow_up:
        fu = CodeContentItem(_cc(lex.follow_up_concept), _cc(lex.follow_up_option(report.follow_up).code), contains)
        if report.follow_up_interval_months:
            fu.ContentSequence = [
                NumContentItem(
                    _cc(lex.follow_up_interval_concept),
                    report.follow_up_interval_months,
                    _c("mo", "UCUM", "month"),
                    relationship_type=hp,
                )
            ]
        ov_items.append(fu)
    if ov_items:
        overall.ContentSequence = ov_items
        supp_items.append(overall)
    supp.ContentSequence = supp_items

    root = ContainerContentItem(_c(*BREAST_IMAGING_REPORT), template_id="4200")
    observer = ObserverContext(
        observer_type=_c("121006", "DCM", "Person"),
        observer_identifying_attributes=PersonObserverIdentifyingAttributes(name=report.reader or "Unknown^Reader"),
    )
    root.ContentSequence = ContentSequence(
        [
            *LanguageOfContentItemAndDescendants(_c("en-US", "RFC5646", "English (United States)")),
            *observer,
            narrative,
            supp,
        ],
        is_root=False,
    )
    sr = ComprehensiveSR(
        evidence=_evidence(study),
        content=root,
        series_instance_uid=series_uid or UID(),
        series_number=series_number,
        sop_instance_uid=sop_instance_uid or UID(),
        instance_number=instance_number,
        manufacturer=MANUFACTURER,
        is_complete=complete,
        institution_name=study.institution or None,
        series_description="BI-RADS report",
    )
    if any(c.scheme == "BI" for _, c in lex.all_codes()):
        item = Dataset()
        item.CodingSchemeDesignator = "BI"
        item.CodingSchemeName = "American College of Radiology Breast Imaging Reporting and Data System (BI-RADS)"
        item.CodingSchemeVersion = "4.0"
        item.CodingSchemeResponsibleOrganization = "American College of Radiology"
        sr.CodingSchemeIdentificationSequence = [item]
    return sr


def write_report_sr(report: BiradsReport, session: FindingsSession, path, **options) -> Path:
    """Build the SR (see :func:`build_report_sr`) and save it to ``path``."""
    ds = build_report_sr(report, session, **options)
    path = Path(path)
    ds.save_as(path, enforce_file_format=True)
    return path
