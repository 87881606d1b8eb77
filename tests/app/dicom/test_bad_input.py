"""Bad input: one-line InputErrors naming the file and the attribute; the rest of a folder loads."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from app.dicom import (
    GeometryAssumedWarning,
    PatientStudy,
    examine,
    load_folder,
    read_projection_set,
    read_volume,
    write_projection_set,
    write_tomosynthesis,
)
from app.errors import InputError
from tests.app.dicom.conftest import make_projections, make_volume


def _one_line(exc: InputError) -> str:
    text = str(exc)
    assert "\n" not in text and len(text) < 400
    return text


@pytest.fixture
def proj_file(tmp_path, study):
    return write_projection_set(make_projections(n_views=5), tmp_path / "p.dcm", study=study)


def test_truncated_pixel_data(tmp_path, proj_file):
    data = proj_file.path.read_bytes()
    bad = tmp_path / "trunc.dcm"
    bad.write_bytes(data[: len(data) - 5000])
    with pytest.raises(InputError) as err:
        read_projection_set(bad)
    text = _one_line(err.value)
    assert str(bad) in text and "PixelData" in text and "truncated" in text


def test_truncated_header_and_non_dicom(tmp_path, proj_file):
    (tmp_path / "head.dcm").write_bytes(proj_file.path.read_bytes()[:300])
    (tmp_path / "notes.txt").write_text("not an image")
    result = examine([tmp_path / "head.dcm", tmp_path / "notes.txt"])
    assert not result.loadables and len(result.errors) == 2
    messages = sorted(_one_line(e) for e in result.errors)
    assert any("head.dcm" in m for m in messages)
    assert any("notes.txt" in m and "not a DICOM file" in m for m in messages)


def _strip_geometry(path, manufacturer: str, model: str):
    ds = pydicom.dcmread(path)
    for item in ds.PerFrameFunctionalGroupsSequence:
        del item.IsocenterReferenceSystemSequence
        del item.XRayGeometrySequence
    ds.Manufacturer = manufacturer
    ds.ManufacturerModelName = model
    ds.save_as(path)


def test_missing_geometry_uses_manufacturer_preset_with_warning(tmp_path, study):
    ps = make_projections("hologic-dimensions", n_views=5)
    path = write_projection_set(ps, tmp_path / "p.dcm", study=study).path
    _strip_geometry(path, "HOLOGIC, Inc.", "Selenia Dimensions")
    with pytest.warns(GeometryAssumedWarning) as rec:
        back = read_projection_set(path)
    message = str(rec[0].message)
    assert "DistanceSourceToDetector" in message and "hologic-dimensions" in message and "700 mm" in message
    assert back.metadata["geometry_source"] == "dicom+preset:hologic-dimensions"
    assert back.metadata["warnings"] == [message]
    # tube angles still come from the file; distances from the preset: same geometry here
    np.testing.assert_allclose(back.geometry.angles_rad, ps.geometry.angles_rad, atol=1e-9)
    np.testing.assert_allclose(back.geometry.source_mm, ps.geometry.source_mm, atol=1e-3)
    np.testing.assert_allclose(back.data, ps.data, atol=float(np.ptp(ps.data)) / 65535)


def test_missing_geometry_unknown_manufacturer(tmp_path, study):
    path = write_projection_set(make_projections(n_views=5), tmp_path / "p.dcm", study=study).path
    _strip_geometry(path, "ACME", "X1")
    with pytest.raises(InputError) as err:
        read_projection_set(path)
    text = _one_line(err.value)
    assert str(path) in text and "DistanceSourceToDetector" in text and "ACME" in text
    # the user override names the preset
    with pytest.warns(GeometryAssumedWarning, match="siemens-mammomat"):
        back = read_projection_set(path, preset="siemens-mammomat")
    assert back.geometry.source_to_detector_mm == 650.0
    with pytest.raises(InputError, match="unknown geometry preset"):
        read_projection_set(path, preset="nope")


def test_geometry_override(tmp_path, study):
    ps = make_projections(n_views=5)
    path = write_projection_set(ps, tmp_path / "p.dcm", study=study).path
    other = make_projections("siemens-mammomat", n_views=5).geometry
    back = read_projection_set(path, geometry=other)
    assert back.geometry is other and back.metadata["geometry_source"] == "override"
    with pytest.raises(InputError, match="geometry override has 9 views"):
        read_projection_set(path, geometry=make_projections(n_views=9).geometry)


def test_wrong_sop_class(tmp_path, study):
    ps = make_projections(n_views=5)
    vol = write_tomosynthesis(make_volume(ps.geometry), tmp_path / "v.dcm", study=study)
    with pytest.raises(InputError, match="no projection set found"):
        read_projection_set(vol.path)
    proj = write_projection_set(ps, tmp_path / "p.dcm", study=study)
    with pytest.raises(InputError, match="no volume found"):
        read_volume(proj.path)


def test_two_studies_mixed_in_one_folder(tmp_path):
    ps = make_projections(n_views=5)
    a = PatientStudy(patient_id="A")
    b = PatientStudy(patient_id="B")
    write_projection_set(ps, tmp_path / "a.dcm", study=a)
    write_projection_set(ps, tmp_path / "b.dcm", study=b)
    with pytest.raises(InputError) as err:
        read_projection_set(tmp_path)
    text = _one_line(err.value)
    assert "2 studies mixed" in text and a.study_instance_uid in text
    # each file on its own is fine, and examine offers both
    assert {c.study_uid for c in examine(tmp_path).loadables} == {a.study_instance_uid, b.study_instance_uid}


def test_inconsistent_frame_counts(tmp_path, proj_file):
    ds = pydicom.dcmread(proj_file.path)
    ds.NumberOfFrames = 4  # five per-frame items, five frames of pixels
    ds.save_as(tmp_path / "bad.dcm")
    with pytest.raises(InputError) as err:
        read_projection_set(tmp_path / "bad.dcm")
    text = _one_line(err.value)
    assert "bad.dcm" in text and "NumberOfFrames is 4" in text and "PerFrameFunctionalGroupsSequence" in text


def test_bad_files_do_not_stop_the_folder(tmp_path, study, proj_file):
    ps = make_projections(n_views=5)
    write_tomosynthesis(make_volume(ps.geometry), tmp_path / "v.dcm", study=study)
    (tmp_path / "junk.bin").write_bytes(b"\x00" * 500)
    trunc = tmp_path / "trunc.dcm"
    trunc.write_bytes(proj_file.path.read_bytes()[:-4000])
    ds = pydicom.dcmread(proj_file.path)
    ds.StudyInstanceUID = pydicom.uid.generate_uid()
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    del ds.PerFrameFunctionalGroupsSequence[2].PositionerPositionSequence
    ds.PerFrameFunctionalGroupsSequence[2].IsocenterReferenceSystemSequence[0].DetectorActiveAreaOrientation = [
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
    ]
    ds.save_as(tmp_path / "broken_geometry.dcm")
    result = load_folder(tmp_path)
    kinds = sorted(type(item).__name__ for item in result.items)
    assert kinds == ["ProjectionSet", "Volume"]
    texts = sorted(_one_line(e) for e in result.errors)
    assert len(texts) == 3, texts
    assert any("junk.bin" in t for t in texts)
    assert any("trunc.dcm" in t and "PixelData" in t for t in texts)
    assert any("broken_geometry.dcm" in t for t in texts)
