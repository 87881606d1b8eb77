"""Breast Projection X-Ray For Processing: dciodvfy-clean and read back to the same geometry."""

from __future__ import annotations

import numpy as np
import pytest

from app.dicom import examine, read_projection_set, write_projection_set
from tests.app.dicom.conftest import make_projections
from tests.dicom_validate import assert_dciodvfy_clean


@pytest.mark.parametrize(
    ("preset", "laterality", "view"),
    [
        ("ge-essential", "R", "CC"),
        ("hologic-dimensions", "L", "MLO"),
        ("siemens-mammomat", "L", "CC"),
        ("hologic-dimensions", "R", "MLO"),
    ],
)
def test_round_trip_geometry_and_pixels(tmp_path, study, preset, laterality, view):
    ps = make_projections(preset)
    st = study.for_view(laterality, view)
    written = write_projection_set(ps, tmp_path / "p.dcm", study=st)
    assert_dciodvfy_clean(written.path)
    back = read_projection_set(written.path)
    g, h = ps.geometry, back.geometry
    assert back.metadata["geometry_source"] == "dicom"
    np.testing.assert_allclose(h.source_mm, g.source_mm, atol=1e-3)
    np.testing.assert_allclose(h.detector_origin_mm, g.detector_origin_mm, atol=1e-3)
    np.testing.assert_allclose(h.detector_u_dir, g.detector_u_dir, atol=1e-9)
    np.testing.assert_allclose(h.detector_v_dir, g.detector_v_dir, atol=1e-9)
    np.testing.assert_allclose(h.angles_rad, g.angles_rad, atol=1e-9)
    assert h.pixel_mm == g.pixel_mm and h.detector_shape == g.detector_shape
    assert h.support_height_mm == pytest.approx(g.support_height_mm, abs=1e-6)
    assert h.pivot_height_mm == pytest.approx(g.pivot_height_mm, abs=1e-6)
    assert h.source_to_detector_mm == pytest.approx(g.source_to_detector_mm)
    # pixels: same order as written, within the 16-bit quantisation step
    step = float(np.ptp(ps.data)) / 65535
    np.testing.assert_allclose(back.data, ps.data, atol=step)
    assert back.is_line_integral
    np.testing.assert_allclose(back.exposure_mas, ps.exposure_mas)
    assert back.metadata["laterality"] == laterality and back.metadata["view"] == view
    assert back.metadata["study"].study_instance_uid == st.study_instance_uid
    assert back.metadata["study"].patient_id == "PID-123"
    assert back.metadata["thickness_mm"] == pytest.approx(45.0)
    assert back.metadata["sop_instance_uid"] == written.sop_instance_uid


def test_tilted_detector_is_really_tilted(tmp_path, study):
    ps = make_projections("hologic-dimensions")
    assert not ps.geometry.is_stationary_flat
    back = read_projection_set(write_projection_set(ps, tmp_path / "p.dcm", study=study).path)
    tilt = np.degrees(np.arctan2(back.geometry.detector_normal[:, 1], back.geometry.detector_normal[:, 2]))
    assert tilt[0] == pytest.approx(-2.1, abs=1e-6) and tilt[-1] == pytest.approx(2.1, abs=1e-6)


def test_stored_pixels_follow_the_standard_hanging(tmp_path, study):
    """Right breast: nipple on the left (columns reversed); left breast: rows reversed."""
    import pydicom

    ps = make_projections()
    for lat, expect in (("R", ps.data[:, :, ::-1]), ("L", ps.data[:, ::-1, :])):
        path = write_projection_set(ps, tmp_path / f"{lat}.dcm", study=study.for_view(lat, "CC")).path
        ds = pydicom.dcmread(path)
        stored = ds.pixel_array.astype(np.float64)
        rw = ds.SharedFunctionalGroupsSequence[0].RealWorldValueMappingSequence[0]
        values = stored * rw.RealWorldValueSlope + rw.RealWorldValueIntercept
        np.testing.assert_allclose(values, expect, atol=float(np.ptp(ps.data)) / 65535)
        assert list(ds.PatientOrientation) == (["P", "L"] if lat == "R" else ["A", "R"])


def test_raw_signal_is_not_line_integral(tmp_path, study):
    ps = make_projections(line=False)
    back = read_projection_set(write_projection_set(ps, tmp_path / "p.dcm", study=study).path)
    assert not back.is_line_integral
    np.testing.assert_allclose(back.data, ps.data, atol=float(np.ptp(ps.data)) / 65535)


def test_examine_reports_confident_loadable(tmp_path, study):
    write_projection_set(make_projections(), tmp_path / "p.dcm", study=study)
    result = examine(tmp_path)
    assert [c.kind for c in result.loadables] == ["projections"]
    assert result.loadables[0].confidence >= 0.9 and not result.errors
    assert "R CC" in result.loadables[0].description
