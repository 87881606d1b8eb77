"""Fixtures for the CAD output tests: small Breast Tomosynthesis Images with known bright voxels."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from cad.types import CaseResult, Finding

SHAPE = (7, 48, 64)  # slices, rows, columns
VOXEL = (1.0, 0.1, 0.1)
MODEL = "crescent-test@2.1"


def make_bto(path, *, laterality="R", view="CC", bright=(4, 11, 37), blob=None, voxel_mm=VOXEL):
    """Write a BTO of a volume with one bright voxel (and an optional soft blob); return the read-back Volume."""
    from app.dicom import PatientStudy, read_volume, write_tomosynthesis
    from recon.types import Volume, VolumeGrid

    grid = VolumeGrid(shape=SHAPE, voxel_mm=voxel_mm, origin_mm=(0.5, -(SHAPE[1] - 1) * voxel_mm[1] / 2, 0.0))
    data = np.full(SHAPE, 0.02, np.float32)
    rng = np.random.default_rng(1)
    data += rng.normal(0, 0.0005, SHAPE).astype(np.float32)
    if blob is not None:
        k, r, c, sigma, amp = blob
        zz, yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1], : SHAPE[2]]
        data += (amp * np.exp(-((yy - r) ** 2 + (xx - c) ** 2) / (2 * sigma**2) - (zz - k) ** 2 / 2.0)).astype(
            np.float32
        )
    if bright is not None:
        data[bright] = 1.0
    study = PatientStudy(laterality=laterality, view=view, patient_id="CAD-TEST")
    write_tomosynthesis(Volume(data, grid), path, study=study)
    return read_volume(path)


def findings_for(volume) -> CaseResult:
    """A cluster (4 members on 2 slices), a mass, an architectural distortion and a lone calcification."""
    g = volume.grid

    def mm(idx):
        return tuple(float(v) for v in g.index_to_mm(idx))

    members = tuple(
        Finding("calcification", idx, mm(idx), (0.3, 0.3, 1.0), s, MODEL)
        for idx, s in (((4, 11, 37), 71.5), ((4, 14.5, 40.25), 64.0), ((3, 9.75, 42), 55.125), ((4, 16, 35.5), 40.0))
    )
    cluster_idx = (4.0, 12.8125, 38.6875)
    return CaseResult(
        (
            Finding("calcification_cluster", cluster_idx, mm(cluster_idx), (0.7, 0.65, 1.0), 88.25, MODEL, members),
            Finding("mass", (2, 30.25, 20.75), mm((2, 30.25, 20.75)), (1.6, 1.2, 3.0), 61.0, MODEL),
            Finding("architectural_distortion", (5, 40, 55), mm((5, 40, 55)), (1.0, 2.0, 2.0), 33.3, MODEL),
            Finding("calcification", (6, 3.5, 60.5), mm((6, 3.5, 60.5)), (0.3, 0.3, 1.0), 12.0, MODEL),
        ),
        88.25,
        (MODEL,),
    )


def dsrdump(path) -> subprocess.CompletedProcess:
    """dcmtk ``dsrdump`` (checks the Mammography CAD SR relationship constraints while parsing)."""
    import shutil

    exe = shutil.which("dsrdump")
    assert exe, "dsrdump (dcmtk) is not installed; run scripts/install-system-deps.sh"
    return subprocess.run([exe, str(path)], capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def bto_r(tmp_path_factory):
    path = tmp_path_factory.mktemp("bto") / "r_cc.dcm"
    return path, make_bto(path, laterality="R", view="CC")


@pytest.fixture(scope="module")
def bto_l(tmp_path_factory):
    path = tmp_path_factory.mktemp("bto") / "l_mlo.dcm"
    return path, make_bto(path, laterality="L", view="MLO")
