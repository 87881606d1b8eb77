"""Compressed transfer syntaxes DBT archives use: lossless copies read back bit-exact."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pydicom
import pytest
from pydicom.uid import JPEG2000Lossless, JPEGLSLossless, RLELossless

from app.dicom import (
    read_mammogram,
    read_projection_set,
    read_volume,
    write_projection_set,
    write_synthetic_2d,
    write_tomosynthesis,
)
from tests.app.dicom.conftest import make_projections, make_volume
from tests.dicom_validate import assert_dciodvfy_clean


@pytest.fixture
def objects(tmp_path, study):
    ps = make_projections("hologic-dimensions", n_views=5)
    proj = write_projection_set(ps, tmp_path / "p.dcm", study=study)
    vol = make_volume(ps.geometry)
    bto = write_tomosynthesis(vol, tmp_path / "v.dcm", study=study)
    s2d = write_synthetic_2d(vol.data.max(axis=0), tmp_path / "s.dcm", study=study, pixel_mm=0.5, source=bto)
    return proj.path, bto.path, s2d.path


@pytest.mark.parametrize("syntax", [JPEG2000Lossless, JPEGLSLossless, RLELossless], ids=["j2k", "jpegls", "rle"])
def test_pydicom_compressed_copies(tmp_path, objects, syntax):
    readers = (read_projection_set, read_volume, read_mammogram)
    for path, reader in zip(objects, readers, strict=True):
        ds = pydicom.dcmread(path)
        ds.compress(syntax)
        out = tmp_path / f"c_{path.name}"
        ds.save_as(out)
        assert pydicom.dcmread(out).file_meta.TransferSyntaxUID == syntax
        a, b = reader(path), reader(out)
        np.testing.assert_array_equal(a.data, b.data)
    assert_dciodvfy_clean(tmp_path / f"c_{objects[1].name}")


@pytest.mark.parametrize("tool", ["dcmcjpls", "dcmcrle"])
def test_dcmtk_compressed_copies(tmp_path, objects, tool):
    proj, bto, _ = objects
    for path, reader in ((proj, read_projection_set), (bto, read_volume)):
        out = tmp_path / f"{tool}_{path.name}"
        subprocess.run([shutil.which(tool), str(path), str(out)], check=True, capture_output=True)
        assert pydicom.dcmread(out, stop_before_pixels=True).file_meta.TransferSyntaxUID.is_compressed
        np.testing.assert_array_equal(reader(path).data, reader(out).data)
