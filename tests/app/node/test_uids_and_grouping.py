"""Derived result UIDs, log scrubbing, and what the receiver accepts and how it groups it."""

from __future__ import annotations

import re

import numpy as np
import pydicom
import pytest

from app.node.grouping import STATUS_MISMATCH, acquisition_of, check_projection
from app.node.uids import derive_uid, job_basis, result_uids, scrub, uid_tag
from tests.app.node.helpers import multi_frame_file, single_frame_files

SOURCES = ["1.2.826.0.1.3680043.8.498.1", "1.2.826.0.1.3680043.8.498.2"]


OPTIONS = {"slice_mm": 1.0, "cad_models": "classical"}


def _uid(kind="volume", *, sources=SOURCES, method="fbp", options=OPTIONS, software="crescent 0.1.0") -> str:
    return result_uids(job_basis(sources, method=method, options=options, software=software), kind).sop


def test_result_uids_are_valid_deterministic_and_depend_on_every_input():
    a = result_uids(job_basis(SOURCES, method="fbp", options=OPTIONS, software="crescent 0.1.0"), "volume")
    assert a.sop == _uid(sources=SOURCES[::-1], options=dict(reversed(OPTIONS.items())))  # order does not matter
    for uid in (a.sop, a.series, a.dimension):
        assert len(uid) <= 64 and re.fullmatch(r"2\.25\.(0|[1-9][0-9]*)", uid)
    assert len({a.sop, a.series, a.dimension}) == 3
    others = [
        _uid(method="sart"),
        _uid(software="crescent 0.2.0"),
        _uid(options={"slice_mm": 0.5, "cad_models": "classical"}),
        _uid(sources=SOURCES[:1]),
        _uid("preview"),
        _uid("synthetic2d"),
        _uid("cad_sr"),
    ]
    assert len(set(others) | {a.sop}) == len(others) + 1
    with pytest.raises(ValueError):
        job_basis([], method="fbp", options={}, software="x")
    with pytest.raises(ValueError):
        _uid("report")
    assert derive_uid("x", "a") != derive_uid("x", "b")


def test_scrub_hides_uids_but_keeps_other_numbers():
    uid = "1.2.826.0.1.3680043.8.498.12345"
    text = f"/store/files/{uid}/2.25.123456789/{uid}.dcm: Rows 0.5 of 1.2 mm, version 0.1.0"
    out = scrub(text)
    assert uid not in out and "2.25.123456789" not in out
    assert f"uid:{uid_tag(uid)}" in out and "0.5" in out and "1.2 mm" in out and "0.1.0" in out
    assert uid_tag(uid) == uid_tag(uid) and len(uid_tag(uid)) == 12


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("acq")
    return {"multi": multi_frame_file(folder / "mf"), "single": single_frame_files(folder / "sf")}


def test_a_good_multi_frame_object_is_one_complete_acquisition(files):
    ds = pydicom.dcmread(files["multi"])
    assert check_projection(ds, affected_sop_uid=str(ds.SOPInstanceUID)) is None
    info = acquisition_of(ds)
    assert info.key == f"mf:{ds.SOPInstanceUID}" and info.projections == info.expected == 9


def test_single_projections_group_by_series_and_announce_their_count(files):
    infos = [acquisition_of(pydicom.dcmread(p)) for p in files["single"]]
    assert len({i.key for i in infos}) == 1 and all(i.projections == 1 and i.expected == 9 for i in infos)
    ds = pydicom.dcmread(files["single"][0])
    assert check_projection(ds) is None
    del ds.ImagesInAcquisition
    assert acquisition_of(ds).expected is None  # quiet time decides
    ds.PrimaryPositionerScanArc, ds.PrimaryPositionerIncrement = 25.0, 3.125
    assert acquisition_of(ds).expected == 9
    ds.PresentationIntentType = "FOR PRESENTATION"
    assert acquisition_of(ds).key != infos[0].key


@pytest.mark.parametrize(
    "damage, words",
    [
        (lambda ds: delattr(ds, "PixelData"), "Pixel Data"),
        (lambda ds: setattr(ds, "NumberOfFrames", 7), "Per-Frame Functional Groups"),
        (lambda ds: setattr(ds, "PixelData", ds.PixelData[:1000]), "bytes"),
        (lambda ds: setattr(ds, "StudyInstanceUID", ""), "StudyInstanceUID"),
        (lambda ds: setattr(ds, "SamplesPerPixel", 3), "Samples per Pixel"),
    ],
)
def test_malformed_multi_frame_objects_are_refused(files, damage, words):
    ds = pydicom.dcmread(files["multi"])
    damage(ds)
    refusal = check_projection(ds)
    assert refusal is not None and refusal.status == STATUS_MISMATCH and words in refusal.reason


def test_a_projection_without_its_angle_or_with_a_wrong_uid_is_refused(files):
    ds = pydicom.dcmread(files["single"][0])
    assert "Affected" in check_projection(ds, affected_sop_uid="1.2.3.4.5").reason
    del ds.PositionerPrimaryAngle
    assert "tube angle" in check_projection(ds).reason
    ds = pydicom.dcmread(files["single"][0])
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    assert check_projection(ds).status == STATUS_MISMATCH
    assert np.frombuffer(pydicom.dcmread(files["single"][1]).PixelData, np.uint16).size == 128 * 96
