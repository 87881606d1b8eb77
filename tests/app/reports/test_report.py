"""The BI-RADS report: content from a known set of findings, HTML/PDF, the TID 4200 SR, and ``crescent report``."""

from __future__ import annotations

import subprocess

import numpy as np
import pydicom
import pytest

from app.cli import main
from app.dicom.report_sr import build_report_sr, write_report_sr
from app.model.findings import FindingsSession
from app.reports.birads import ImageRef, StudyInfo, build_report
from app.reports.html import render_html
from app.store.findings import save_session
from app.store.store import Store
from tests.app.findings.helpers import BTO, STUDY, UIDS, known_session
from tests.dicom_validate import assert_dciodvfy_clean

from .study import findings_session, write_study

INFO = StudyInfo(
    STUDY,
    patient_name="Doe^Jane",
    patient_id="P123",
    birth_date="19600101",
    sex="F",
    study_date="20240102",
    study_time="101500",
    accession="A1",
    study_id="1",
    images=tuple(
        ImageRef(BTO, uid, "1.2.826.0.1.3680043.8.498.9" + ("1" if lat == "R" else "2"), lat, view, 40)
        for (lat, view), uid in UIDS.items()
    ),
)


def _walk(items, path=()):
    for it in items:
        name = it.ConceptNameCodeSequence[0].CodeMeaning if "ConceptNameCodeSequence" in it else ""
        yield path + (name,), it
        if "ContentSequence" in it:
            yield from _walk(it.ContentSequence, path + (name,))


def _codes(ds, concept):
    return [
        it.ConceptCodeSequence[0].CodeValue
        for p, it in _walk(ds.ContentSequence)
        if p[-1] == concept and it.ValueType == "CODE"
    ]


def test_report_content_from_known_findings():
    s, ids = known_session()
    r = build_report(s, INFO, reader="Smith^Anna")
    f1, f2, f3 = r.findings
    assert f1.description == "irregular mass with spiculated margins, high density with skin retraction"
    assert f1.location == "right breast, upper outer quadrant, 10 o'clock, middle depth, 3.1 cm from the nipple"
    assert f1.size == "12 x 8 mm" and f1.views == "R CC slice 11; R MLO slice 13"
    assert f1.category_text == "BI-RADS 4C: High suspicion for malignancy"
    assert f2.description == "fine pleomorphic calcifications (suspicious morphology) in a grouped distribution"
    assert f2.views.endswith("(one view only)") and "medial" in f2.location
    assert f3.source.startswith("CAD mark accepted (score 87")
    assert (r.overall_category, r.breast_categories) == ("4C", {"R": "4C", "L": "4B"})
    assert r.management == "Tissue diagnosis." and r.likelihood == "> 50% to < 95%"
    assert "heterogeneously dense" in r.composition_text
    assert r.cad_text == "CAD: 2 mark(s); 1 accepted as findings, 1 dismissed."
    assert [(c.cad_id, c.decision, c.finding_number, c.reason) for c in r.cad] == [
        ("cad-1", "accepted", 3, ""),
        ("cad-2", "dismissed", None, "vascular"),
    ]
    html = render_html(r)
    for text in ("10 o&#x27;clock", "BI-RADS 4C", "dismissed: vascular", "accepted (finding 3)", "Tissue diagnosis"):
        assert text in html


def test_negative_study_is_birads_1():
    s = FindingsSession(STUDY, reader="Smith^Anna")
    s.set_breast_assessment("R", composition="a")
    s.set_breast_assessment("L", composition="a")
    r = build_report(s, INFO)
    assert r.negative and r.overall_category == "1"
    assert r.impression == "No mammographic evidence of malignancy. BI-RADS 1: Negative."
    assert r.management == "Routine mammography screening." and r.warnings == ()
    assert "almost entirely fatty" in r.composition_text


def test_sr_is_valid_tid_4200(tmp_path):
    s, ids = known_session()
    r = build_report(s, INFO, reader="Smith^Anna")
    path = write_report_sr(r, s, tmp_path / "sr.dcm")
    assert_dciodvfy_clean(path)
    ds = pydicom.dcmread(path)
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.33" and ds.CompletionFlag == "COMPLETE"
    assert ds.ContentTemplateSequence[0].TemplateIdentifier == "4200"
    assert ds.ConceptNameCodeSequence[0].CodeValue == "111400"
    assert ds.CurrentRequestedProcedureEvidenceSequence  # (0040,A375), needed by PACS viewers
    assert ds.PatientID == "P123" and ds.StudyInstanceUID == STUDY
    assert _codes(ds, "Finding") == ["129788004", "309587003", "129788004"]
    assert _codes(ds, "Assessment Category")[:1] == ["MA.II.A.5.4C"]  # overall comes after the findings' own
    assert "129781005" in _codes(ds, "Clockface or region")  # 10 o'clock
    assert _codes(ds, "Recommended Follow-up") == ["111143"]
    scoords = [it for _, it in _walk(ds.ContentSequence) if it.ValueType == "SCOORD"]
    assert [sc.GraphicType for sc in scoords] == ["ELLIPSE", "ELLIPSE", "POLYLINE", "POINT"]
    ref = scoords[0].ContentSequence[0].ReferencedSOPSequence[0]
    assert ref.ReferencedSOPInstanceUID == UIDS[("R", "CC")] and ref.ReferencedFrameNumber == 11


def test_negative_sr_is_valid(tmp_path):
    s = FindingsSession(STUDY, reader="Smith^Anna")
    r = build_report(s, INFO)
    path = write_report_sr(r, s, tmp_path / "neg.dcm")
    assert_dciodvfy_clean(path)
    ds = pydicom.dcmread(path)
    assert _codes(ds, "Assessment Category")[0] == "397140005"  # 1 - Negative
    assert _codes(ds, "Finding") == []
    with pytest.raises(ValueError, match="at least one image"):
        build_report_sr(build_report(s, StudyInfo(STUDY)), s)


@pytest.fixture(scope="module")
def written_study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("study")
    written, st = write_study(folder)
    return folder, written, st


def test_crescent_report_end_to_end(tmp_path, written_study, monkeypatch):
    folder, written, st = written_study
    monkeypatch.setenv("CRESCENT_HOME", str(tmp_path / "store"))
    s = findings_session(written, st.study_instance_uid)
    with Store.open() as store:
        save_session(store.connection, s.snapshot())
    pdf, sr, html = tmp_path / "report.pdf", tmp_path / "report.dcm", tmp_path / "report.html"
    assert main(["report", str(folder), "-o", str(pdf), "--sr", str(sr), "--html", str(html)]) == 0
    text = html.read_text()
    assert text.count('<img alt="#') == 4  # key images: R CC, R MLO, L CC, L MLO
    assert "upper outer quadrant, 10 o&#x27;clock" in text and "lower outer quadrant, 4 o&#x27;clock" in text
    assert "dismissed: fat lobule" in text and "accepted (finding 2)" in text and "BI-RADS 4C" in text
    assert_dciodvfy_clean(sr)
    ds = pydicom.dcmread(sr)
    assert ds.PatientName == "Doe^Jane" and ds.AccessionNumber == "ACC7"
    # the SR's marks point at the lesion in the *stored* frames (the reader flipped the arrays)
    for _, sc in _walk(ds.ContentSequence):
        if sc.ValueType != "SCOORD":
            continue
        ref = sc.ContentSequence[0].ReferencedSOPSequence[0]
        key = next(k for k, w in written.items() if w.sop_instance_uid == ref.ReferencedSOPInstanceUID)
        stored = pydicom.dcmread(written[key].path).pixel_array[int(ref.ReferencedFrameNumber) - 1]
        pts = np.asarray(sc.GraphicData, float).reshape(-1, 2) - 0.5
        centre = {"ELLIPSE": pts[:2], "POLYLINE": pts[:-1], "POINT": pts}[sc.GraphicType].mean(axis=0)
        col, row = np.round(centre).astype(int)
        assert np.unravel_index(np.argmax(stored), stored.shape) == (row, col), key
    # the PDF renders; its first page is kept for a look
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "2", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == 2 and all(p.stat().st_size > 10_000 for p in pages)


def test_crescent_report_by_uid_and_negative(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "neg"
    folder.mkdir()
    written, st = write_study(folder, with_lesions=False)
    monkeypatch.setenv("CRESCENT_HOME", str(tmp_path / "store"))
    with Store.open() as store:
        for w in written.values():
            store.add_file(w.path)
    sr, pdf = tmp_path / "neg.dcm", tmp_path / "neg.pdf"
    assert main(["report", st.study_instance_uid, "-o", str(pdf), "--sr", str(sr)]) == 0
    assert "0 finding(s); BI-RADS 1: Negative" in capsys.readouterr().out
    assert_dciodvfy_clean(sr)
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_crescent_report_bad_input(tmp_path, capsys):
    assert main(["report", "1.2.3.4.5", "--sr", str(tmp_path / "x.dcm")]) == 2
    assert "neither a file or folder nor a Study Instance UID" in capsys.readouterr().err
    assert main(["report", str(tmp_path), "-o", str(tmp_path / "x.docx")]) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["report", str(empty), "--sr", str(tmp_path / "x.dcm")]) == 2
    assert "no breast images" in capsys.readouterr().err
