"""The BI-RADS mammography lexicon (5th edition) loaded from ``resources/lexicon/`` and its validity rules.

The lexicon is data (``crescent_resources/lexicon/birads_mammography.json``); this module gives it
typed, read-only access and answers the questions the findings model and the forms ask: which
descriptors a finding type takes, which values each may hold, whether a set of descriptors is
valid, what an assessment category implies.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

LEXICON_RESOURCE = ("lexicon", "birads_mammography.json")


@dataclass(frozen=True)
class Code:
    """A coded concept: coding scheme designator, code value, code meaning (and the DICOM CID it came from)."""

    scheme: str
    value: str
    meaning: str
    cid: int | None = None

    @classmethod
    def from_json(cls, d: Mapping | None) -> Code | None:
        if d is None:
            return None
        return cls(scheme=d["scheme"], value=d["value"], meaning=d["meaning"], cid=d.get("cid"))


@dataclass(frozen=True)
class Term:
    """One lexicon term: a stable id, the reader-facing label, its code (``None``: no standard code)."""

    id: str
    label: str
    code: Code | None
    group: str | None = None
    note: str = ""
    sentence: str = ""


@dataclass(frozen=True)
class Descriptor:
    """A descriptor family (e.g. mass margin) with its concept name code, cardinality and values."""

    id: str
    label: str
    concept: Code | None
    multiple: bool
    terms: tuple[Term, ...]
    groups: Mapping[str, str]

    def term(self, term_id: str) -> Term:
        for t in self.terms:
            if t.id == term_id:
                return t
        raise KeyError(term_id)

    @property
    def term_ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.terms)


@dataclass(frozen=True)
class FindingType:
    """A kind of finding (mass, calcifications, ...) and the descriptors valid for it."""

    id: str
    label: str
    code: Code | None
    descriptors: Mapping[str, str]  # descriptor id -> "required" | "optional"
    exclude_values: Mapping[str, tuple[str, ...]]

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(d for d, r in self.descriptors.items() if r == "required")


@dataclass(frozen=True)
class AssessmentCategory:
    """A BI-RADS assessment category with the likelihood of malignancy and the management it implies."""

    id: str
    label: str
    short: str
    likelihood_of_malignancy: str
    lom_min_percent: float | None
    lom_max_percent: float | None
    management: str
    code: Code
    follow_up: Code
    follow_up_interval_months: int | None = None
    parent: str | None = None


class Lexicon:
    """Read-only view of the lexicon data with the validity rules.

    Build it with :func:`load_lexicon` (cached); the constructor takes the parsed JSON.
    """

    def __init__(self, data: Mapping):
        if not isinstance(data, Mapping):
            raise TypeError(f"lexicon data must be a mapping, not {type(data).__name__}")
        self.source: str = data["source"]
        self.coding_schemes: Mapping[str, str] = MappingProxyType(dict(data["coding_schemes"]))
        comp = data["breast_composition"]
        self.composition_concept = Code.from_json(comp["concept"])
        self.compositions: tuple[Term, ...] = tuple(_term(t) for t in comp["values"])
        self.descriptors: Mapping[str, Descriptor] = MappingProxyType(
            {k: _descriptor(k, d) for k, d in data["descriptors"].items()}
        )
        self.finding_types: Mapping[str, FindingType] = MappingProxyType(
            {
                ft["id"]: FindingType(
                    id=ft["id"],
                    label=ft["label"],
                    code=Code.from_json(ft["code"]),
                    descriptors=MappingProxyType(dict(ft["descriptors"])),
                    exclude_values=MappingProxyType({k: tuple(v) for k, v in ft.get("exclude_values", {}).items()}),
                )
                for ft in data["finding_types"]
            }
        )
        loc = data["location"]
        self.location_concepts: Mapping[str, Code | None] = MappingProxyType(
            {k: Code.from_json(v.get("concept")) for k, v in loc.items()}
        )
        self.location_terms: Mapping[str, tuple[Term, ...]] = MappingProxyType(
            {k: tuple(_term(t) for t in v["values"]) for k, v in loc.items() if "values" in v}
        )
        a = data["assessment"]
        self.assessment_concept = Code.from_json(a["concept"])
        self.hierarchy: tuple[str, ...] = tuple(a["hierarchy_least_to_most_worrisome"])
        self.screening_allowed: tuple[str, ...] = tuple(a["screening_allowed"])
        self.categories: Mapping[str, AssessmentCategory] = MappingProxyType(
            {
                c["id"]: AssessmentCategory(
                    id=c["id"],
                    label=c["label"],
                    short=c["short"],
                    likelihood_of_malignancy=c["likelihood_of_malignancy"],
                    lom_min_percent=c["lom_min_percent"],
                    lom_max_percent=c["lom_max_percent"],
                    management=c["management"],
                    code=Code.from_json(c["code"]),
                    follow_up=Code.from_json(c["follow_up"]),
                    follow_up_interval_months=c.get("follow_up_interval_months"),
                    parent=c.get("parent"),
                )
                for c in a["categories"]
            }
        )
        fu = data["follow_up_options"]
        self.follow_up_concept = Code.from_json(fu["concept"])
        self.follow_up_interval_concept = Code.from_json(fu["interval_concept"])
        self.follow_up_options: tuple[Term, ...] = tuple(_term(t) for t in fu["values"])

    # ---- questions --------------------------------------------------------------------------

    def finding_type(self, kind: str) -> FindingType:
        """The finding type ``kind``; ``ValueError`` naming the valid kinds when unknown."""
        try:
            return self.finding_types[kind]
        except KeyError:
            raise ValueError(f"unknown finding type {kind!r}; valid: {', '.join(self.finding_types)}") from None

    def valid_terms(self, kind: str, descriptor: str) -> tuple[Term, ...]:
        """The terms a finding of type ``kind`` may use for ``descriptor`` (exclusions applied)."""
        ft = self.finding_type(kind)
        if descriptor not in ft.descriptors:
            raise ValueError(
                f"descriptor {descriptor!r} does not apply to a {kind}; valid: {', '.join(ft.descriptors) or 'none'}"
            )
        excluded = set(ft.exclude_values.get(descriptor, ()))
        return tuple(t for t in self.descriptors[descriptor].terms if t.id not in excluded)

    def validate_descriptors(self, kind: str, descriptors: Mapping[str, object]) -> dict[str, str | tuple[str, ...]]:
        """Check ``descriptors`` for a finding of type ``kind`` and return them normalised.

        Single-valued descriptors normalise to a term id (str), multi-valued ones to a sorted tuple
        of distinct term ids (lexicon order). ``None``/empty values are dropped.

        Raises
        ------
        ValueError
            A descriptor that does not apply to ``kind``, a value that is not a valid term, or
            several values for a single-valued descriptor.
        TypeError
            ``descriptors`` is not a mapping or a value has the wrong type.
        """
        if not isinstance(descriptors, Mapping):
            raise TypeError(f"descriptors must be a mapping, not {type(descriptors).__name__}")
        self.finding_type(kind)
        out: dict[str, str | tuple[str, ...]] = {}
        for name, value in descriptors.items():
            terms = self.valid_terms(kind, name)
            valid_ids = [t.id for t in terms]
            desc = self.descriptors[name]
            if value is None or value == () or value == [] or value == "":
                continue
            if desc.multiple:
                if isinstance(value, str):
                    value = (value,)
                if not isinstance(value, list | tuple | set | frozenset):
                    raise TypeError(f"descriptor {name!r} takes a list of terms, not {type(value).__name__}")
                bad = [v for v in value if v not in valid_ids]
                if bad:
                    raise ValueError(
                        f"{bad[0]!r} is not a valid {desc.label.lower()} for a {kind}; valid: {', '.join(valid_ids)}"
                    )
                out[name] = tuple(i for i in valid_ids if i in set(value))
            else:
                if isinstance(value, list | tuple | set | frozenset):
                    raise ValueError(f"descriptor {name!r} takes one term, got {len(value)}")
                if not isinstance(value, str):
                    raise TypeError(f"descriptor {name!r} takes a term id (str), not {type(value).__name__}")
                if value not in valid_ids:
                    raise ValueError(
                        f"{value!r} is not a valid {desc.label.lower()} for a {kind}; valid: {', '.join(valid_ids)}"
                    )
                out[name] = value
        return out

    def missing_descriptors(self, kind: str, descriptors: Mapping[str, object]) -> tuple[str, ...]:
        """Required descriptors of ``kind`` that ``descriptors`` does not fill yet."""
        return tuple(d for d in self.finding_type(kind).required if not descriptors.get(d))

    def term(self, descriptor: str, term_id: str) -> Term:
        """A descriptor term by ids."""
        return self.descriptors[descriptor].term(term_id)

    def composition(self, letter: str) -> Term:
        """Breast composition ``a``-``d``."""
        for t in self.compositions:
            if t.id == letter:
                return t
        raise ValueError(f"unknown breast composition {letter!r}; valid: a, b, c, d")

    def category(self, category_id: str) -> AssessmentCategory:
        """Assessment category ``0``-``6`` or ``4A``/``4B``/``4C``."""
        try:
            return self.categories[str(category_id).upper()]
        except KeyError:
            raise ValueError(
                f"unknown BI-RADS assessment category {category_id!r}; valid: {', '.join(self.categories)}"
            ) from None

    def location_term(self, family: str, term_id: str) -> Term:
        """A location term (``quadrant``, ``clock``, ``region``, ``depth``, ``laterality``)."""
        for t in self.location_terms[family]:
            if t.id == str(term_id):
                return t
        raise ValueError(f"unknown {family} {term_id!r}")

    def follow_up_option(self, option_id: str) -> Term:
        for t in self.follow_up_options:
            if t.id == option_id:
                return t
        raise ValueError(f"unknown follow-up option {option_id!r}")

    def rank(self, category_id: str) -> int:
        """Position of a category in the least-to-most-worrisome hierarchy (higher is more worrisome)."""
        return self.hierarchy.index(self.category(category_id).id)

    def most_worrisome(self, categories) -> str | None:
        """The most worrisome of ``categories`` (``None`` entries ignored); ``None`` when there is none."""
        cats = [self.category(c).id for c in categories if c is not None]
        return max(cats, key=self.rank) if cats else None

    def all_codes(self) -> list[tuple[str, Code]]:
        """Every code in the lexicon with a label saying where it is used (for audits and tests)."""
        out: list[tuple[str, Code]] = []

        def add(where, code):
            if code is not None:
                out.append((where, code))

        add("composition concept", self.composition_concept)
        for t in self.compositions:
            add(f"composition {t.id}", t.code)
        for d in self.descriptors.values():
            add(f"{d.id} concept", d.concept)
            for t in d.terms:
                add(f"{d.id} {t.id}", t.code)
        for ft in self.finding_types.values():
            add(f"finding type {ft.id}", ft.code)
        for fam, code in self.location_concepts.items():
            add(f"location {fam} concept", code)
        for fam, terms in self.location_terms.items():
            for t in terms:
                add(f"location {fam} {t.id}", t.code)
        add("assessment concept", self.assessment_concept)
        for c in self.categories.values():
            add(f"category {c.id}", c.code)
            add(f"category {c.id} follow-up", c.follow_up)
        add("follow-up concept", self.follow_up_concept)
        add("follow-up interval concept", self.follow_up_interval_concept)
        for t in self.follow_up_options:
            add(f"follow-up {t.id}", t.code)
        return out


def _term(d: Mapping) -> Term:
    return Term(
        id=d["id"],
        label=d["label"],
        code=Code.from_json(d.get("code")),
        group=d.get("group"),
        note=d.get("note", ""),
        sentence=d.get("sentence", ""),
    )


def _descriptor(key: str, d: Mapping) -> Descriptor:
    return Descriptor(
        id=key,
        label=d["label"],
        concept=Code.from_json(d.get("concept")),
        multiple=d["cardinality"] == "many",
        terms=tuple(_term(t) for t in d["values"]),
        groups=MappingProxyType(dict(d.get("groups", {}))),
    )


def lexicon_data() -> dict:
    """The parsed lexicon JSON shipped in ``crescent_resources``."""
    res = importlib.resources.files("crescent_resources")
    for part in LEXICON_RESOURCE:
        res = res / part
    return json.loads(res.read_text(encoding="utf-8"))


@functools.cache
def load_lexicon() -> Lexicon:
    """The shipped BI-RADS lexicon (parsed once per process)."""
    return Lexicon(lexicon_data())
