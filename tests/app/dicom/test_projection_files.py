"""Projections stored one file per projection (single-frame, Positioner Primary Angle per file)."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from app.dicom import GeometryAssumedWarning, examine, read_projection_set
from tests.app.dicom.conftest import make_projections

DM_PROCESSING = "1.2.840.10008.5.1.4.1.1.1.2.1"


def _write_files(folder, ps, *, with_isocenter_distance: bool, order):
    """Vendor-style files: stored pixels in the standard hanging of a right CC (columns reversed)."""
    folder.mkdir()
    series, study = generate_uid(), generate_uid()
    g = ps.geometry
    scale = 1000.0
    for i in order:
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = DM_PROCESSING
        ds.SOPClassUID = DM_PROCESSING
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.PatientID, ds.Modality, ds.Manufacturer = "P1", "MG", "GE Healthcare"
        ds.ManufacturerModelName = "Senographe Essential"
        ds.ImageLaterality, ds.PatientOrientation = "R", ["P", "L"]
        ds.PresentationIntentType = "FOR PROCESSING"
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "399162004", "SCT", "cranio-caudal"
        ds.ViewCodeSequence = [code]
        ds.PositionerPrimaryAngle = f"{np.degrees(g.angles_rad[i]):.10g}"
        ds.DistanceSourceToDetector = "660"
        if with_isocenter_distance:
            ds.DistanceSourceToIsocenter = 620.0
        ds.ImagerPixelSpacing = [f"{g.pixel_mm[0]}", f"{g.pixel_mm[1]}"]
        ds.ExposureInmAs = float(ps.exposure_mas[i])
        ds.RescaleSlope, ds.RescaleIntercept = f"{1 / scale}", "0"
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.Rows, ds.Columns = g.detector_shape
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        stored = np.rint(ps.data[i][:, ::-1] * scale).astype(np.uint16)
        ds.PixelData = stored.tobytes()
        ds.save_as(folder / f"proj_{i:02d}.dcm", enforce_file_format=True)


def test_one_file_per_projection(tmp_path):
    ps = make_projections("ge-essential", n_views=7, line=True)
    order = np.random.default_rng(5).permutation(7)
    _write_files(tmp_path / "set", ps, with_isocenter_distance=True, order=order)
    result = examine(tmp_path / "set")
    assert len(result.loadables) == 1 and result.loadables[0].reader == "projection-files"
    back = read_projection_set(tmp_path / "set")
    assert back.metadata["geometry_source"] == "dicom"
    np.testing.assert_allclose(back.geometry.angles_rad, ps.geometry.angles_rad, atol=1e-9)  # sorted by angle
    np.testing.assert_allclose(back.geometry.source_mm, ps.geometry.source_mm, atol=1e-3)
    np.testing.assert_allclose(back.data, ps.data, atol=0.51e-3)  # flipped back into our order
    np.testing.assert_allclose(back.exposure_mas, ps.exposure_mas)
    assert back.metadata["laterality"] == "R" and back.metadata["view"] == "CC"


def test_missing_pivot_comes_from_the_manufacturer_preset(tmp_path):
    ps = make_projections("ge-essential", n_views=5)
    _write_files(tmp_path / "set", ps, with_isocenter_distance=False, order=range(5))
    with pytest.warns(
        GeometryAssumedWarning, match=r"DistanceSourceToIsocenter missing; assumed preset 'ge-essential'"
    ):
        back = read_projection_set(tmp_path / "set")
    assert back.geometry.pivot_height_mm == 40.0
    np.testing.assert_allclose(back.geometry.source_mm, ps.geometry.source_mm, atol=1e-3)


def test_differing_image_sizes_are_an_error(tmp_path):
    ps = make_projections("ge-essential", n_views=3)
    _write_files(tmp_path / "set", ps, with_isocenter_distance=True, order=range(3))
    path = tmp_path / "set" / "proj_01.dcm"
    ds = pydicom.dcmread(path)
    ds.Rows = 24
    ds.PixelData = ds.PixelData[: len(ds.PixelData) // 2]
    ds.save_as(path)
    from app.errors import InputError

    with pytest.raises(InputError, match="proj_01.dcm: Rows/Columns"):
        read_projection_set(tmp_path / "set")
