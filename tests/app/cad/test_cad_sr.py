"""Mammography CAD SR: validators, tree, coordinates on the stored frames, round trip, foreign and bad SRs."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from app.dicom.cad_sr import MAMMOGRAPHY_CAD_SR, read_cad_sr, write_cad_sr
from app.errors import InputError
from cad.types import CaseResult
from tests.app.cad.conftest import MODEL, dsrdump, findings_for
from tests.dicom_validate import assert_dciodvfy_clean


def _items(ds):
    """(identifier, item) for every content item, identifiers as in Referenced Content Item Identifier."""
    out = []

    def walk(item, ident):
        for i, child in enumerate(item.get("ContentSequence", []) or [], start=1):
            out.append(((*ident, i), child))
            walk(child, (*ident, i))

    walk(ds, (1,))
    return out


def _concept(item):
    seq = item.get("ConceptNameCodeSequence")
    return seq[0].CodeValue if seq else None


def _value(item):
    return item.ConceptCodeSequence[0].CodeValue


def _resolve(ds, ref_item):
    table = dict(_items(ds))
    return table[tuple(int(v) for v in ref_item.ReferencedContentItemIdentifier)]


def _assert_same(a: CaseResult, b: CaseResult, volume):
    assert len(a.findings) == len(b.findings)
    for fa, fb in zip(a.findings, b.findings, strict=True):
        assert fb.kind == fa.kind
        assert fb.center_index[0] == round(fa.center_index[0])
        assert abs(fb.center_index[1] - fa.center_index[1]) < 0.01
        assert abs(fb.center_index[2] - fa.center_index[2]) < 0.01
        assert abs(fb.score - fa.score) < 1e-3
        assert fb.model == fa.model
        np.testing.assert_allclose(fb.center_mm, volume.grid.index_to_mm(fb.center_index), atol=1e-9)
        assert len(fb.members) == len(fa.members)
        for ma, mb in zip(sorted(fa.members, key=lambda m: -m.score), fb.members, strict=True):
            assert mb.kind == "calcification"
            assert mb.center_index[0] == round(ma.center_index[0])
            assert abs(mb.center_index[1] - ma.center_index[1]) < 0.01
            assert abs(mb.center_index[2] - ma.center_index[2]) < 0.01
            assert abs(mb.score - ma.score) < 1e-3


@pytest.mark.parametrize("which", ["bto_r", "bto_l"])
def test_sr_validates_and_round_trips(which, request, tmp_path):
    bto, volume = request.getfixturevalue(which)
    result = findings_for(volume)
    out = write_cad_sr(result, tmp_path / "cad.dcm", volume=volume)
    assert_dciodvfy_clean(out.path)
    dump = dsrdump(out.path)
    assert dump.returncode == 0, dump.stderr
    assert not [line for line in dump.stderr.splitlines() if line.startswith(("E:", "F:"))], dump.stderr
    assert "Mammography CAD Report" in dump.stdout
    back = read_cad_sr(out.path, volume_metadata=volume.metadata, grid=volume.grid)
    _assert_same(result, back, volume)
    assert back.case_score == pytest.approx(result.case_score)
    assert back.models == (MODEL,)
    # the in-plane extent comes back from the outline (ellipse axes)
    mass = back.of_kind("mass")[0]
    assert mass.extent_mm[0] == pytest.approx(1.6, abs=1e-3)
    assert mass.extent_mm[1] == pytest.approx(1.2, abs=1e-3)


def test_tree_follows_tid_4000(bto_r, tmp_path):
    bto, volume = bto_r
    result = findings_for(volume)
    ds = pydicom.dcmread(write_cad_sr(result, tmp_path / "cad.dcm", volume=volume).path)
    assert ds.SOPClassUID == MAMMOGRAPHY_CAD_SR
    assert ds.ConceptNameCodeSequence[0].CodeValue == "111036"
    assert ds.ContentTemplateSequence[0].TemplateIdentifier == "4000"
    evidence = ds.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
    assert evidence.ReferencedSOPInstanceUID == volume.metadata["sop_instance_uid"]
    assert [_concept(c) for c in ds.ContentSequence] == ["121049", "111028", "111017", "111064", "111065"]
    summary = ds.ContentSequence[2]
    assert _value(summary) == "111242"  # all algorithms succeeded; with findings
    impressions = summary.ContentSequence
    assert [c.RelationshipType for c in impressions] == ["INFERRED FROM"] * 4
    sif = [next(c for c in imp.ContentSequence if _concept(c) == "111059") for imp in impressions]
    assert [_value(s) for s in sif] == ["129769006", "129793001", "129792006", "129770007"]
    cluster = sif[0]
    members = [c for c in cluster.ContentSequence if _concept(c) == "111059"]
    assert len(members) == 4 and all(c.RelationshipType == "INFERRED FROM" for c in members)
    assert {_value(c) for c in members} == {"129770007"}
    certainty = next(c for c in cluster.ContentSequence if _concept(c) == "111012")
    assert float(certainty.MeasuredValueSequence[0].NumericValue) == pytest.approx(88.25)
    outline = next(c for c in cluster.ContentSequence if _concept(c) == "111041")
    assert outline.GraphicType == "POLYLINE"
    mass_outline = next(c for c in sif[1].ContentSequence if _concept(c) == "111041")
    assert mass_outline.GraphicType == "ELLIPSE" and len(mass_outline.GraphicData) == 8
    detections = ds.ContentSequence[3]
    assert _value(detections) == "111222"
    performed = detections.ContentSequence[0].ContentSequence
    assert {_value(p) for p in performed} >= {"129769006", "129770007", "129793001", "129792006"}
    for p in performed:
        ref = next(c for c in p.ContentSequence if "ReferencedContentItemIdentifier" in c)
        whole = _resolve(ds, ref).ReferencedSOPSequence[0]
        assert "ReferencedFrameNumber" not in whole  # the detection ran on every frame
    assert _value(ds.ContentSequence[4]) == "111225"  # analyses not attempted


def _center_frame_xy(ds, sif):
    center = next(c for c in sif.ContentSequence if _concept(c) == "111010")
    assert center.GraphicType == "POINT"
    selected = center.ContentSequence[0]
    assert selected.RelationshipType == "SELECTED FROM"
    image = _resolve(ds, selected)
    assert image.ValueType == "IMAGE"
    ref = image.ReferencedSOPSequence[0]
    return ref.ReferencedSOPInstanceUID, int(ref.ReferencedFrameNumber), center.GraphicData


@pytest.mark.parametrize("which", ["bto_r", "bto_l"])
def test_center_scoord_lands_on_the_bright_stored_pixel(which, request, tmp_path):
    bto, volume = request.getfixturevalue(which)
    k, r, c = np.unravel_index(int(np.argmax(volume.data)), volume.data.shape)
    result = findings_for(volume)
    assert result.findings[0].members[0].center_index == (k, r, c)  # the brightest member sits on the voxel
    ds = pydicom.dcmread(write_cad_sr(result, tmp_path / "cad.dcm", volume=volume).path)
    cluster = next(c for c in ds.ContentSequence[2].ContentSequence[0].ContentSequence if _concept(c) == "111059")
    member = next(c for c in cluster.ContentSequence if _concept(c) == "111059")
    uid, frame, (x, y) = _center_frame_xy(ds, member)
    stored = pydicom.dcmread(bto).pixel_array  # frames, rows, columns as stored
    assert uid == pydicom.dcmread(bto, stop_before_pixels=True).SOPInstanceUID
    f, row, col = np.unravel_index(int(np.argmax(stored)), stored.shape)
    assert frame == f + 1
    assert (int(np.floor(y)), int(np.floor(x))) == (row, col)
    assert x == pytest.approx(col + 0.5) and y == pytest.approx(row + 0.5)


def test_reversed_frame_order_maps_to_the_right_frames(bto_r, tmp_path):
    """A BTO stored top-down: the reader re-sorts the slices; the SR must name the stored frames."""
    bto, _ = bto_r
    ds = pydicom.dcmread(bto)
    frames = ds.pixel_array[::-1].copy()
    per = list(ds.PerFrameFunctionalGroupsSequence)[::-1]
    for i, item in enumerate(per):
        item.FrameContentSequence[0].InStackPositionNumber = i + 1
        item.FrameContentSequence[0].DimensionIndexValues = [i + 1]
    ds.PerFrameFunctionalGroupsSequence = per
    ds.PixelData = frames.tobytes()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    path = tmp_path / "reversed.dcm"
    ds.save_as(path)
    from app.dicom import read_volume

    volume = read_volume(path)
    k, r, c = np.unravel_index(int(np.argmax(volume.data)), volume.data.shape)
    assert k == 4  # same slice order as the original volume
    result = findings_for(volume)
    sr_path = write_cad_sr(result, tmp_path / "cad.dcm", volume=volume).path
    sr = pydicom.dcmread(sr_path)
    cluster = next(c for c in sr.ContentSequence[2].ContentSequence[0].ContentSequence if _concept(c) == "111059")
    member = next(c for c in cluster.ContentSequence if _concept(c) == "111059")
    _, frame, (x, y) = _center_frame_xy(sr, member)
    stored = pydicom.dcmread(path).pixel_array
    f, row, col = np.unravel_index(int(np.argmax(stored)), stored.shape)
    assert frame == f + 1 == volume.data.shape[0] - k
    assert (int(np.floor(y)), int(np.floor(x))) == (row, col)
    _assert_same(result, read_cad_sr(sr_path, volume_metadata=volume.metadata, grid=volume.grid), volume)


def test_no_findings(bto_l, tmp_path):
    bto, volume = bto_l
    empty = CaseResult((), 0.0, (MODEL,))
    out = write_cad_sr(empty, tmp_path / "none.dcm", image=bto)
    assert_dciodvfy_clean(out.path)
    assert dsrdump(out.path).returncode == 0
    ds = pydicom.dcmread(out.path)
    assert _value(ds.ContentSequence[2]) == "111241"  # all algorithms succeeded; without findings
    back = read_cad_sr(out.path, volume_metadata=volume.metadata)
    assert back.findings == () and back.case_score == 0.0


def _foreign(path, tmp_path):
    """Our SR made to look like another vendor's: legacy SRT codes, by-value image references, no
    optional items (certainty, outlines, algorithm identification, rendering intent, pixel spacing)."""
    ds = pydicom.dcmread(path)
    table = dict(_items(ds))
    srt = {"129769006": "F-01775", "129770007": "F-01776", "129793001": "F-01796", "129792006": "F-01795"}
    optional = {"111012", "111041", "111001", "111003", "111056", "111026", "111066"}

    def strip(item):
        kids = []
        for child in item.get("ContentSequence", []) or []:
            if _concept(child) in optional:
                continue
            if "ReferencedContentItemIdentifier" in child:  # by-reference -> a copy of the image by value
                target = table[tuple(int(v) for v in child.ReferencedContentItemIdentifier)]
                by_value = pydicom.Dataset()
                by_value.RelationshipType = child.RelationshipType
                by_value.ValueType = "IMAGE"
                by_value.ReferencedSOPSequence = target.ReferencedSOPSequence
                child = by_value
            if "ConceptCodeSequence" in child and child.ConceptCodeSequence[0].CodeValue in srt:
                code = child.ConceptCodeSequence[0]
                code.CodeValue, code.CodingSchemeDesignator = srt[code.CodeValue], "SRT"
            strip(child)
            kids.append(child)
        if "ContentSequence" in item:
            item.ContentSequence = kids

    strip(ds)
    out = tmp_path / "foreign.dcm"
    ds.save_as(out)
    return out


def test_reads_another_systems_sr_without_optional_items(bto_r, tmp_path):
    bto, volume = bto_r
    result = findings_for(volume)
    sr = _foreign(write_cad_sr(result, tmp_path / "cad.dcm", volume=volume).path, tmp_path)
    assert dsrdump(sr).returncode == 0
    back = read_cad_sr(sr, volume_metadata=volume.metadata, grid=volume.grid)
    assert [f.kind for f in back.findings] == [f.kind for f in result.findings]
    for fa, fb in zip(result.findings, back.findings, strict=True):
        assert fb.score == 0.0 and fb.model == "unknown"
        assert abs(fb.center_index[1] - fa.center_index[1]) < 0.01
        assert abs(fb.center_index[2] - fa.center_index[2]) < 0.01
    assert len(back.findings[0].members) == 4


def test_marks_on_other_images_are_left_out(bto_r, bto_l, tmp_path):
    _, vol_r = bto_r
    _, vol_l = bto_l
    out = write_cad_sr(findings_for(vol_r), tmp_path / "cad.dcm", volume=vol_r)
    assert read_cad_sr(out.path, volume_metadata=vol_l.metadata).findings == ()


def test_bad_inputs_are_one_line_errors(bto_r, tmp_path):
    bto, volume = bto_r
    not_dicom = tmp_path / "x.dcm"
    not_dicom.write_text("hello")
    with pytest.raises(InputError, match="x.dcm"):
        read_cad_sr(not_dicom)
    with pytest.raises(InputError, match="not a Mammography CAD SR"):
        read_cad_sr(bto)
    good = write_cad_sr(findings_for(volume), tmp_path / "cad.dcm", volume=volume).path

    def broken(edit, name):
        ds = pydicom.dcmread(good)
        edit(ds)
        path = tmp_path / name
        ds.save_as(path)
        return path

    def drop_geometry(ds):
        sif = next(c for c in ds.ContentSequence[2].ContentSequence[1].ContentSequence if _concept(c) == "111059")
        sif.ContentSequence = [c for c in sif.ContentSequence if c.get("ValueType") != "SCOORD"]

    with pytest.raises(InputError, match=r"Single Image Finding #\d+ \(mass\): no Center"):
        read_cad_sr(broken(drop_geometry, "nogeo.dcm"), volume_metadata=volume.metadata)

    def dangling(ds):
        sif = next(c for c in ds.ContentSequence[2].ContentSequence[1].ContentSequence if _concept(c) == "111059")
        center = next(c for c in sif.ContentSequence if _concept(c) == "111010")
        center.ContentSequence[0].ReferencedContentItemIdentifier = [1, 2, 99]

    with pytest.raises(InputError, match=r"dangling.dcm: .*does not exist"):
        read_cad_sr(broken(dangling, "dangling.dcm"), volume_metadata=volume.metadata)

    def no_library(ds):
        ds.ContentSequence = [c for c in ds.ContentSequence if _concept(c) != "111028"]

    with pytest.raises(InputError, match="Image Library"):
        read_cad_sr(broken(no_library, "nolib.dcm"))
    with pytest.raises(InputError, match="Breast Tomosynthesis Image"):
        write_cad_sr(findings_for(volume), tmp_path / "o.dcm", volume=type(volume)(volume.data, volume.grid, {}))
