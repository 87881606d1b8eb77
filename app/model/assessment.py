"""Per-breast and per-exam BI-RADS assessment: composition, category, and the management that follows.

The reader sets what they decide; what they leave empty is derived:

* a breast's category defaults to the most worrisome category among its findings, or ``1``
  (negative) when the breast has no findings;
* the exam's overall category defaults to the most worrisome of the two breasts, using the
  hierarchy in the lexicon (1 < 2 < 3 < 6 < 0 < 4 < 5);
* management and the coded follow-up default to those the category implies and can be edited;
  an edited management that differs from the category's is flagged as non-concordant (the Atlas
  allows rare exceptions, so it is a warning, not an error).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from app.model.lexicon import Lexicon, load_lexicon

EXAM_TYPES = ("screening", "diagnostic")


@dataclass(frozen=True)
class BreastAssessment:
    """What the reader recorded for one breast (``None``: not set, derive it)."""

    composition: str | None = None
    category: str | None = None
    management: str | None = None
    follow_up: str | None = None  # a lexicon follow-up option id
    follow_up_interval_months: int | None = None

    def validated(self, lexicon: Lexicon) -> BreastAssessment:
        comp = self.composition
        if comp is not None:
            comp = lexicon.composition(str(comp).lower()).id
        cat = self.category
        if cat is not None:
            cat = lexicon.category(cat).id
        if self.follow_up is not None:
            lexicon.follow_up_option(self.follow_up)
        iv = self.follow_up_interval_months
        if iv is not None and (not isinstance(iv, int) or iv <= 0):
            raise ValueError(f"follow_up_interval_months must be a positive integer, got {iv!r}")
        mgmt = self.management
        if mgmt is not None and not isinstance(mgmt, str):
            raise TypeError("management must be text")
        return replace(self, composition=comp, category=cat, management=mgmt or None)

    def to_json(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, d: dict | None) -> BreastAssessment:
        return cls(**(d or {}))


@dataclass(frozen=True)
class ExamAssessment:
    """The exam-level record: exam type, indication, comparison, both breasts and the overall result."""

    exam_type: str = "screening"
    indication: str = ""
    comparison: str = ""
    right: BreastAssessment = field(default_factory=BreastAssessment)
    left: BreastAssessment = field(default_factory=BreastAssessment)
    overall_category: str | None = None
    overall_management: str | None = None

    def validated(self, lexicon: Lexicon) -> ExamAssessment:
        if self.exam_type not in EXAM_TYPES:
            raise ValueError(f"exam_type must be one of {EXAM_TYPES}, got {self.exam_type!r}")
        cat = self.overall_category
        if cat is not None:
            cat = lexicon.category(cat).id
        return replace(
            self,
            right=self.right.validated(lexicon),
            left=self.left.validated(lexicon),
            overall_category=cat,
            overall_management=self.overall_management or None,
        )

    def breast(self, side: str) -> BreastAssessment:
        if side == "R":
            return self.right
        if side == "L":
            return self.left
        raise ValueError(f"side must be 'R' or 'L', got {side!r}")

    def with_breast(self, side: str, value: BreastAssessment) -> ExamAssessment:
        self.breast(side)
        return replace(self, right=value) if side == "R" else replace(self, left=value)

    def to_json(self) -> dict:
        return {
            "exam_type": self.exam_type,
            "indication": self.indication,
            "comparison": self.comparison,
            "right": self.right.to_json(),
            "left": self.left.to_json(),
            "overall_category": self.overall_category,
            "overall_management": self.overall_management,
        }

    @classmethod
    def from_json(cls, d: dict | None) -> ExamAssessment:
        d = dict(d or {})
        d["right"] = BreastAssessment.from_json(d.get("right"))
        d["left"] = BreastAssessment.from_json(d.get("left"))
        return cls(**d)


@dataclass(frozen=True)
class BreastResult:
    """The effective (recorded or derived) assessment of one breast."""

    side: str
    composition: str | None
    category: str | None
    category_derived: bool
    management: str | None
    management_edited: bool
    follow_up: str | None
    follow_up_interval_months: int | None
    n_findings: int


@dataclass(frozen=True)
class AssessmentResult:
    """Everything a report needs about the assessment, with the warnings to show the reader."""

    exam_type: str
    right: BreastResult
    left: BreastResult
    overall_category: str | None
    management: str | None
    follow_up: str | None
    follow_up_interval_months: int | None
    warnings: tuple[str, ...]

    def breast(self, side: str) -> BreastResult:
        return self.right if side == "R" else self.left


def _follow_up_id(lexicon: Lexicon, category: str | None) -> str | None:
    if category is None:
        return None
    code = lexicon.category(category).follow_up
    for t in lexicon.follow_up_options:
        if t.code == code or (t.code and code and t.code.value == code.value and t.code.scheme == code.scheme):
            return t.id
    return None


def evaluate(
    assessment: ExamAssessment,
    finding_categories: dict[str, list[str | None]],
    *,
    lexicon: Lexicon | None = None,
) -> AssessmentResult:
    """Combine the recorded assessment with the findings into the effective result.

    Parameters
    ----------
    assessment : ExamAssessment
    finding_categories : dict
        ``{"R": [...], "L": [...]}``: the category of each finding of that breast (``None`` where unset).
    """
    lex = lexicon or load_lexicon()
    a = assessment.validated(lex)
    warnings: list[str] = []
    results = {}
    for side, name in (("R", "right"), ("L", "left")):
        b = a.breast(side)
        cats = list(finding_categories.get(side, []))
        derived = False
        cat = b.category
        if cat is None:
            worst = lex.most_worrisome(cats)
            if worst is not None:
                cat, derived = worst, True
            elif not cats:
                cat, derived = "1", True
            else:
                warnings.append(f"{name} breast: findings without an assessment category")
        elif cats:
            worst = lex.most_worrisome(cats)
            if worst is not None and lex.rank(worst) > lex.rank(cat):
                warnings.append(
                    f"{name} breast: category {cat} is less worrisome than one of its findings (category {worst})"
                )
        if cat is not None and b.category is not None and not cats and cat not in ("1", "0", "6"):
            warnings.append(f"{name} breast: category {cat} but no finding is recorded")
        default_mgmt = lex.category(cat).management if cat else None
        mgmt = b.management or default_mgmt
        edited = b.management is not None and b.management != default_mgmt
        if edited:
            warnings.append(f"{name} breast: management differs from category {cat} (non-concordant; check)")
        if b.composition is None:
            warnings.append(f"{name} breast: breast composition not set")
        results[side] = BreastResult(
            side=side,
            composition=b.composition,
            category=cat,
            category_derived=derived,
            management=mgmt,
            management_edited=edited,
            follow_up=b.follow_up or _follow_up_id(lex, cat),
            follow_up_interval_months=b.follow_up_interval_months
            or (lex.category(cat).follow_up_interval_months if cat else None),
            n_findings=len(cats),
        )
    overall = a.overall_category or lex.most_worrisome([results["R"].category, results["L"].category])
    if a.overall_category is not None:
        worst = lex.most_worrisome([results["R"].category, results["L"].category])
        if worst is not None and lex.rank(worst) > lex.rank(a.overall_category):
            warnings.append(f"overall category {a.overall_category} is less worrisome than a breast's ({worst})")
    if a.exam_type == "screening" and overall is not None and overall not in lex.screening_allowed:
        warnings.append(
            f"screening exams take only categories {', '.join(lex.screening_allowed)}; got {overall} "
            "(report it as a diagnostic exam or assess 0)"
        )
    default_mgmt = lex.category(overall).management if overall else None
    mgmt = a.overall_management or default_mgmt
    if a.overall_management is not None and a.overall_management != default_mgmt:
        warnings.append(f"overall management differs from category {overall} (non-concordant; check)")
    worst_side = None
    if overall is not None:
        for side in ("R", "L"):
            if results[side].category == overall:
                worst_side = results[side]
                break
    return AssessmentResult(
        exam_type=a.exam_type,
        right=results["R"],
        left=results["L"],
        overall_category=overall,
        management=mgmt,
        follow_up=(worst_side.follow_up if worst_side else _follow_up_id(lex, overall)),
        follow_up_interval_months=(
            worst_side.follow_up_interval_months
            if worst_side
            else (lex.category(overall).follow_up_interval_months if overall else None)
        ),
        warnings=tuple(warnings),
    )
