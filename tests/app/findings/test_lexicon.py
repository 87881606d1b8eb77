"""The BI-RADS lexicon data: complete, coded only with real codes, and its validity rules."""

from __future__ import annotations

import pytest
from pydicom.sr._cid_dict import cid_concepts
from pydicom.sr._concepts_dict import concepts

from app.model.lexicon import load_lexicon

# PS3.16 CID 6027 (Assessment from BI-RADS) for the codes pydicom's tables leave out
CID_6027 = {
    ("SCT", "397138000"),
    ("SCT", "397140005"),
    ("SCT", "397141009"),
    ("SCT", "397143007"),
    ("SCT", "397144001"),
    ("BI", "MA.II.A.5.4A"),
    ("BI", "MA.II.A.5.4B"),
    ("BI", "MA.II.A.5.4C"),
    ("SCT", "397145000"),
    ("BI", "MA.II.A.5.6"),
}


@pytest.fixture(scope="module")
def lex():
    return load_lexicon()


def _ids(terms):
    return [t.id for t in terms]


def test_composition_a_to_d(lex):
    assert _ids(lex.compositions) == ["a", "b", "c", "d"]
    assert "heterogeneously dense" in lex.composition("c").sentence
    assert lex.composition("d").code.value == "129719003"


def test_mass_descriptors_complete(lex):
    assert _ids(lex.descriptors["shape"].terms) == ["oval", "round", "irregular"]
    assert _ids(lex.descriptors["margin"].terms) == [
        "circumscribed",
        "obscured",
        "microlobulated",
        "indistinct",
        "spiculated",
    ]
    assert _ids(lex.descriptors["density"].terms) == ["high", "equal", "low", "fat_containing"]
    assert "lobular" not in _ids(lex.descriptors["shape"].terms)  # removed in the 5th edition


def test_calcification_terms_complete(lex):
    morph = lex.descriptors["calcification_morphology"]
    benign = [t.id for t in morph.terms if t.group == "typically_benign"]
    suspicious = [t.id for t in morph.terms if t.group == "suspicious"]
    for t in [
        "skin",
        "vascular",
        "coarse_popcorn",
        "large_rod_like",
        "round",
        "rim",
        "dystrophic",
        "milk_of_calcium",
        "suture",
    ]:
        assert t in benign
    assert suspicious == ["amorphous", "coarse_heterogeneous", "fine_pleomorphic", "fine_linear"]
    assert _ids(lex.descriptors["calcification_distribution"].terms) == [
        "diffuse",
        "regional",
        "grouped",
        "linear",
        "segmental",
    ]


def test_asymmetries_other_findings_and_associated_features(lex):
    assert _ids(lex.descriptors["asymmetry_type"].terms) == ["asymmetry", "global", "focal", "developing"]
    for kind in [
        "mass",
        "calcifications",
        "asymmetry",
        "architectural_distortion",
        "intramammary_lymph_node",
        "skin_lesion",
        "solitary_dilated_duct",
    ]:
        assert kind in lex.finding_types
    assert set(_ids(lex.descriptors["associated_features"].terms)) == {
        "skin_retraction",
        "nipple_retraction",
        "skin_thickening",
        "trabecular_thickening",
        "axillary_adenopathy",
        "architectural_distortion",
        "calcifications",
    }


def test_assessment_categories_and_management(lex):
    assert list(lex.categories) == ["0", "1", "2", "3", "4", "4A", "4B", "4C", "5", "6"]
    assert lex.category("3").lom_max_percent == 2
    assert (lex.category("4A").lom_min_percent, lex.category("4A").lom_max_percent) == (2, 10)
    assert (lex.category("4B").lom_min_percent, lex.category("4B").lom_max_percent) == (10, 50)
    assert (lex.category("4C").lom_min_percent, lex.category("4C").lom_max_percent) == (50, 95)
    assert lex.category("5").lom_min_percent == 95
    assert lex.category("1").management == lex.category("2").management == "Routine mammography screening"
    assert "6-month" in lex.category("3").management
    assert lex.category("4b").management == "Tissue diagnosis"
    assert lex.category("6").management.startswith("Surgical excision")
    assert lex.category("0").management.startswith("Recall")
    assert lex.most_worrisome(["2", "0", "3"]) == "0"
    assert lex.most_worrisome(["6", "3"]) == "6"
    assert lex.most_worrisome(["4A", "0", "4C"]) == "4C"
    assert lex.most_worrisome([None, None]) is None


def test_every_code_is_a_real_dicom_code(lex):
    """No invented codes: each code is in pydicom's PS3.16 tables (in the stated CID), or in CID 6027."""
    checked = 0
    for where, code in lex.all_codes():
        key = (code.scheme, code.value)
        if key in CID_6027:
            checked += 1
            continue
        found = [
            (m, cids)
            for kw, d in concepts.get(code.scheme, {}).items()
            for v, (m, cids) in d.items()
            if v == code.value
        ]
        assert found, f"{where}: {code} is not a DICOM/PS3.16 code"
        if code.cid is not None:
            in_cid = any(code.value in concepts[code.scheme][kw] for kw in cid_concepts[code.cid].get(code.scheme, []))
            assert in_cid, f"{where}: {code} is not in CID {code.cid}"
        checked += 1
    assert checked > 100


def test_uncoded_terms_say_so(lex):
    rim = lex.term("calcification_morphology", "rim")
    assert rim.code is None and "no code" in rim.note
    assert lex.term("asymmetry_type", "developing").code is None


@pytest.mark.parametrize(
    ("kind", "descriptors"),
    [
        ("mass", {"calcification_morphology": "amorphous"}),  # calcification descriptor on a mass
        ("calcifications", {"margin": "spiculated"}),
        ("mass", {"shape": "lobular"}),  # retired term
        ("mass", {"shape": "spiculated"}),  # a margin term used as shape
        ("calcifications", {"associated_features": ["calcifications"]}),  # excluded for its own type
        ("architectural_distortion", {"associated_features": ["architectural_distortion"]}),
        ("intramammary_lymph_node", {"shape": "oval"}),
        ("mass", {"shape": ["oval", "round"]}),  # single-valued
        ("nonsense", {}),
    ],
)
def test_invalid_descriptors_rejected(lex, kind, descriptors):
    with pytest.raises(ValueError):
        lex.validate_descriptors(kind, descriptors)


def test_valid_descriptors_normalised(lex):
    out = lex.validate_descriptors(
        "mass",
        {"shape": "irregular", "margin": "spiculated", "associated_features": ["calcifications", "skin_retraction"]},
    )
    assert out == {
        "shape": "irregular",
        "margin": "spiculated",
        "associated_features": ("skin_retraction", "calcifications"),
    }
    assert lex.missing_descriptors("mass", {"shape": "oval"}) == ("margin",)
    assert "calcifications" not in _ids(lex.valid_terms("calcifications", "associated_features"))
    assert "architectural_distortion" in _ids(lex.valid_terms("mass", "associated_features"))
