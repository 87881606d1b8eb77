"""Breast Tomosynthesis Image and synthetic 2D: dciodvfy-clean, dcmdump-parsable, read back."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pydicom
import pytest

from app.dicom import (
    examine,
    read_mammogram,
    read_projection_set,
    read_volume,
    write_projection_set,
    write_synthetic_2d,
    write_tomosynthesis,
)
from tests.app.dicom.conftest import make_projections, make_volume
from tests.dicom_validate import assert_dciodvfy_clean


@pytest.mark.parametrize(("laterality", "view"), [("R", "CC"), ("L", "MLO"), ("L", "CC"), ("R", "MLO")])
def test_bto_round_trip(tmp_path, study, laterality, view):
    st = study.for_view(laterality, view)
    ps = make_projections("hologic-dimensions")
    src = write_projection_set(ps, tmp_path / "p.dcm", study=st)
    proj = read_projection_set(src.path)
    vol = make_volume(ps.geometry)
    out = write_tomosynthesis(
        vol,
        tmp_path / "v.dcm",
        study=proj.metadata["study"],
        projections=proj,
        algorithm="FBP",
        parameters={"filter": "ramp", "cutoff": 0.8},
        window=(0.03, 0.06),
    )
    assert_dciodvfy_clean(out.path)
    subprocess.run([shutil.which("dcmdump"), "-q", str(out.path)], check=True, capture_output=True)
    back = read_volume(out.path)
    assert back.grid.shape == vol.grid.shape
    np.testing.assert_allclose(back.grid.voxel_mm, vol.grid.voxel_mm, atol=1e-9)
    np.testing.assert_allclose(back.grid.origin_mm, vol.grid.origin_mm, atol=1e-6)
    np.testing.assert_allclose(back.data, vol.data, atol=float(np.ptp(vol.data)) / 65535)
    assert back.metadata["units"] == "1/mm"
    assert back.metadata["laterality"] == laterality and back.metadata["view"] == view
    assert back.metadata["window"] == pytest.approx((0.03, 0.06), rel=1e-3)
    assert back.metadata["frame_of_reference_uid"] == src.frame_of_reference_uid
    assert back.metadata["study_instance_uid"] == st.study_instance_uid
    assert back.metadata["source_sop_instance_uids"] == [src.sop_instance_uid]
    assert back.metadata["reconstruction"]["algorithm_type"] == "FILTER_BACK_PROJ"
    assert "filter=ramp" in back.metadata["reconstruction"]["description"]
    ds = pydicom.dcmread(out.path, stop_before_pixels=True)
    assert ds.SharedFunctionalGroupsSequence[0].FrameAnatomySequence[0].FrameLaterality == laterality
    assert len(ds.XRay3DAcquisitionSequence[0].PerProjectionAcquisitionSequence) == ps.geometry.n_views


def test_frames_are_sorted_by_plane_position(tmp_path, study):
    """Shuffle the frames on disk: the reader restores the order from Plane Position."""
    ps = make_projections()
    vol = make_volume(ps.geometry)
    out = write_tomosynthesis(vol, tmp_path / "v.dcm", study=study)
    ds = pydicom.dcmread(out.path)
    order = np.random.default_rng(3).permutation(vol.grid.shape[0])
    pixels = ds.pixel_array[order]
    ds.PerFrameFunctionalGroupsSequence = pydicom.Sequence([ds.PerFrameFunctionalGroupsSequence[i] for i in order])
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    ds.save_as(tmp_path / "shuffled.dcm")
    back = read_volume(tmp_path / "shuffled.dcm")
    np.testing.assert_allclose(back.data, vol.data, atol=float(np.ptp(vol.data)) / 65535)


def test_slice_per_file_volume(tmp_path, study):
    """A volume split into one single-frame file per slice (as some archives hold it) reads back."""
    from pydicom.uid import generate_uid

    ps = make_projections()
    vol = make_volume(ps.geometry)
    out = write_tomosynthesis(vol, tmp_path / "v.dcm", study=study)
    ds = pydicom.dcmread(out.path)
    series = generate_uid()
    rw = ds.SharedFunctionalGroupsSequence[0].RealWorldValueMappingSequence[0]
    frames = ds.pixel_array
    folder = tmp_path / "slices"
    folder.mkdir()
    for k in np.random.default_rng(0).permutation(frames.shape[0]):
        sl = pydicom.Dataset()
        sl.file_meta = pydicom.dataset.FileMetaDataset()
        sl.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
        sl.file_meta.MediaStorageSOPClassUID = pydicom.uid.SecondaryCaptureImageStorage
        sl.SOPClassUID = pydicom.uid.SecondaryCaptureImageStorage
        sl.SOPInstanceUID = sl.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        for kw in ("PatientName", "PatientID", "StudyInstanceUID", "FrameOfReferenceUID", "ViewCodeSequence"):
            setattr(sl, kw, ds[kw].value)
        sl.SeriesInstanceUID = series
        sl.Modality = "MG"
        sl.ImageLaterality = "R"
        sl.ImagePositionPatient = ds.PerFrameFunctionalGroupsSequence[k].PlanePositionSequence[0].ImagePositionPatient
        sl.ImageOrientationPatient = (
            ds.SharedFunctionalGroupsSequence[0].PlaneOrientationSequence[0].ImageOrientationPatient
        )
        sl.PixelSpacing = ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing
        sl.RescaleSlope = rw.RealWorldValueSlope
        sl.RescaleIntercept = rw.RealWorldValueIntercept
        sl.SamplesPerPixel, sl.PhotometricInterpretation = 1, "MONOCHROME2"
        sl.Rows, sl.Columns = frames.shape[1:]
        sl.BitsAllocated, sl.BitsStored, sl.HighBit, sl.PixelRepresentation = 16, 16, 15, 0
        sl.PixelData = frames[k].tobytes()
        sl.save_as(folder / f"s{k:03d}.dcm", enforce_file_format=True)
    back = read_volume(folder)
    np.testing.assert_allclose(back.data, vol.data, atol=float(np.ptp(vol.data)) / 65535 * 2)
    np.testing.assert_allclose(back.grid.origin_mm, vol.grid.origin_mm, atol=1e-4)


def test_synthetic_2d(tmp_path, study):
    ps = make_projections()
    vol = make_volume(ps.geometry)
    bto = write_tomosynthesis(vol, tmp_path / "v.dcm", study=study)
    image = vol.data.max(axis=0)
    out = write_synthetic_2d(
        image, tmp_path / "s.dcm", study=study, pixel_mm=vol.grid.voxel_mm[1:], source=bto, label="C-VIEW"
    )
    assert_dciodvfy_clean(out.path)
    m = read_mammogram(out.path)
    # 12-bit display values, linear in the image (DM requires an identity rescale)
    slope, intercept = np.polyfit(image.ravel(), m.data.ravel(), 1)
    assert slope > 0
    np.testing.assert_allclose(m.data, slope * image + intercept, atol=0.6)
    assert m.data.min() == 0 and m.data.max() == 4095
    assert m.metadata["synthetic"] and m.metadata["source_sop_instance_uids"] == [bto.sop_instance_uid]
    assert m.pixel_mm == pytest.approx(vol.grid.voxel_mm[1:])
    assert m.metadata["presentation_intent"] == "FOR PRESENTATION"
    # dcmtk renders it in the standard hanging: right breast, chest wall (bright band) on the right
    png = tmp_path / "s.png"
    subprocess.run(
        [shutil.which("dcmj2pnm"), "--write-png", "--use-window", "1", str(out.path), str(png)],
        check=True,
        capture_output=True,
    )
    from skimage.io import imread

    shown = imread(png).astype(float)
    assert shown.shape == image.shape
    assert shown[:, -8:].mean() > shown[:, :8].mean() + 40
    # one study, three kinds of objects in one folder
    write_projection_set(ps, tmp_path / "p.dcm", study=study)
    kinds = sorted(c.kind for c in examine(tmp_path).loadables)
    assert kinds == ["image2d", "projections", "volume"]
