"""PS3.15 Basic Profile de-identification: nothing identifying survives, UIDs stay consistent."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from app.dicom import read_projection_set, read_volume, write_projection_set, write_tomosynthesis
from app.dicom.deidentify import Deidentifier, deidentify_dataset, deidentify_files, profile_actions
from tests.app.dicom.conftest import make_projections, make_volume
from tests.dicom_validate import assert_dciodvfy_clean

PHI = [
    "Doe^Jane",
    "Doe",
    "PID-123",
    "19700101",
    "ACC-9",
    "Dr^Who",
    "Big Hospital",
    "SECRET-SERIAL",
    "Jane's note",
    "+44 1234",
    "OTHER-ID-7",
    "Tech^Tom",
]


def _add_phi(ds: Dataset) -> None:
    """Identifying values at the top level, in nested sequences and in private tags."""
    ds.ReferringPhysicianName = "Dr^Who"
    ds.InstitutionName = "Big Hospital"
    ds.DeviceSerialNumber = "SECRET-SERIAL"
    ds.PatientTelephoneNumbers = "+44 1234"
    ds.OperatorsName = "Tech^Tom"
    ds.ImageComments = "Jane's note"
    other = Dataset()
    other.PatientID = "OTHER-ID-7"
    other.IssuerOfPatientID = "Big Hospital"
    ds.OtherPatientIDsSequence = Sequence([other])
    nested = ds.SharedFunctionalGroupsSequence[0]
    nested.FrameAnatomySequence[0].add_new(0x00081010, "SH", "Big Hospital")  # Station Name, deep
    block = ds.private_block(0x0029, "ACME 1.0", create=True)
    block.add_new(0x01, "LO", "Doe^Jane")


def _walk_values(ds: Dataset):
    for elem in ds.iterall():
        if elem.VR == "SQ" or elem.tag == 0x7FE00010:
            continue
        yield elem


def _study(tmp_path, study):
    ps = make_projections("hologic-dimensions")
    proj = write_projection_set(ps, tmp_path / "in" / "p.dcm", study=study)
    back = read_projection_set(proj.path)
    vol = write_tomosynthesis(make_volume(ps.geometry), tmp_path / "in" / "v.dcm", study=study, projections=back)
    for path in (proj.path, vol.path):
        ds = pydicom.dcmread(path)
        _add_phi(ds)
        ds.save_as(path)
    return ps, proj, vol


def test_no_identifying_attribute_survives(tmp_path, study):
    ps, proj, vol = _study(tmp_path, study)
    deid = Deidentifier(key="test-key")
    outs = deidentify_files([proj.path, vol.path], tmp_path / "out", deidentifier=deid)
    exact, masked = profile_actions()
    removed = {t for t, a in exact.items() if a == "X"}
    originals = [pydicom.dcmread(p) for p in (proj.path, vol.path)]
    original_uids = {e.value for ds in originals for e in ds.iterall() if e.VR == "UI" and e.tag in exact}
    for path in outs:
        ds = pydicom.dcmread(path)
        assert ds.PatientIdentityRemoved == "YES"
        assert ds.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
        for elem in _walk_values(ds):
            text = str(elem.value)
            for secret in PHI:
                assert secret not in text, f"{elem.keyword or elem.tag} still holds {secret!r}"
            assert not elem.tag.is_private
            assert int(elem.tag) not in removed, f"{elem.keyword} should have been removed"
            if elem.VR == "UI" and exact.get(int(elem.tag)) == "U":
                assert elem.value not in original_uids, f"{elem.keyword} kept its UID"
        assert ds.PatientID.startswith("ANON-")
    # the result is still valid DICOM of the same IODs
    for path in outs:
        assert_dciodvfy_clean(path)


def test_uids_are_remapped_consistently_across_the_study(tmp_path, study):
    ps, proj, vol = _study(tmp_path, study)
    deid = Deidentifier(key="k1")
    p_out, v_out = deidentify_files([proj.path, vol.path], tmp_path / "out", deidentifier=deid)
    p, v = pydicom.dcmread(p_out), pydicom.dcmread(v_out)
    assert p.StudyInstanceUID == v.StudyInstanceUID != study.study_instance_uid
    assert p.FrameOfReferenceUID == v.FrameOfReferenceUID != proj.frame_of_reference_uid
    assert p.PatientID == v.PatientID and p.PatientName == v.PatientName
    ref = v.SharedFunctionalGroupsSequence[0].DerivationImageSequence[0].SourceImageSequence[0]
    assert ref.ReferencedSOPInstanceUID == p.SOPInstanceUID != proj.sop_instance_uid
    assert p.file_meta.MediaStorageSOPInstanceUID == p.SOPInstanceUID
    # the same key gives the same mapping in a later run; another key does not
    again = Deidentifier(key="k1").dataset(pydicom.dcmread(proj.path))
    other = Deidentifier(key="k2").dataset(pydicom.dcmread(proj.path))
    assert again.SOPInstanceUID == p.SOPInstanceUID and other.SOPInstanceUID != p.SOPInstanceUID
    # the science survives: geometry and pixels read back the same
    back = read_projection_set(p_out)
    np.testing.assert_allclose(back.geometry.source_mm, ps.geometry.source_mm, atol=1e-3)
    assert read_volume(v_out).metadata["source_sop_instance_uids"] == [p.SOPInstanceUID]


def test_input_is_not_mutated(tmp_path, study):
    _, proj, _ = _study(tmp_path, study)
    ds = pydicom.dcmread(proj.path)
    before = ds.PatientName
    out = deidentify_dataset(ds)
    assert ds.PatientName == before and out.PatientName != before


def test_rejects_non_dataset():
    with pytest.raises(TypeError):
        Deidentifier().dataset("not a dataset")
