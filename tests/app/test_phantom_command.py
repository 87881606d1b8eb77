"""``crescent phantom``: DICOM projections that match the simulation, and a truthful truth.json."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.cli import main
from app.dicom import read_projection_set
from recon import preset_geometry
from recon.phantoms import breast_phantom
from recon.simulate import simulate_acquisition
from tests.dicom_validate import assert_dciodvfy_clean


def _one_line_error(capsys, expected: str):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and "Traceback" not in err


def test_small_phantom_writes_dicom_and_truth(tmp_path, capsys):
    out = tmp_path / "case"
    assert main(["phantom", "-o", str(out), "--small", "--seed", "3", "--density", "c"]) == 0
    assert "projections.dcm" in capsys.readouterr().out
    truth = json.loads((out / "truth.json").read_text())
    assert_dciodvfy_clean(out / "projections.dcm")
    ps = read_projection_set(out / "projections.dcm")

    geom = preset_geometry("ge-essential", detector_shape=(256, 192), pixel_mm=0.2)
    np.testing.assert_allclose(ps.geometry.source_mm, geom.source_mm, atol=1e-3)
    np.testing.assert_allclose(truth["geometry"]["source_mm"], geom.source_mm)
    assert truth["geometry"]["detector_shape"] == [256, 192] and truth["system"] == "ge-essential"
    assert not ps.is_line_integral and ps.metadata["laterality"] == "R" and ps.metadata["view"] == "CC"
    assert ps.metadata["thickness_mm"] == pytest.approx(truth["thickness_mm"])

    # the pixels are the simulation with the recorded seeds (within the 16-bit step)
    phantom = breast_phantom(seed=3, size="small", density="c", support_height_mm=geom.support_height_mm)
    sim = simulate_acquisition(phantom, geom, seed=truth["noise_seed"])
    step = float(np.ptp(sim.data)) / 65535
    np.testing.assert_allclose(ps.data, sim.data, atol=step)
    np.testing.assert_allclose(ps.exposure_mas, truth["acquisition"]["exposure_mas"])
    assert truth["acquisition"]["i0_adu"] == pytest.approx(sim.metadata["i0_adu"])

    # every lesion with kind, centre in the detector frame inside the breast, and size
    assert [les["kind"] for les in truth["lesions"]] == [les.kind for les in phantom.lesions]
    z0 = truth["support_height_mm"]
    for les, ref in zip(truth["lesions"], phantom.lesions, strict=True):
        assert les["center_mm"] == pytest.approx(list(ref.center_mm))
        x, y, z = les["center_mm"]
        assert z0 < z < z0 + truth["thickness_mm"] and 0 < x < truth["breast"]["outline"]["depth_mm"]
        assert les["size_mm"] > 0
    # a calcification's shadow is where the geometry says: darker signal (more attenuation) there
    calc = next(les for les in truth["lesions"] if les["kind"] == "calcification_cluster")
    member = max(calc["members"], key=lambda m: m["size_mm"])
    r, c = np.round(geom.project_points(member["center_mm"])[4, 0]).astype(int)
    background = np.median(ps.data[4, r - 6 : r + 7, c - 6 : c + 7])
    assert ps.data[4, r - 1 : r + 2, c - 1 : c + 2].min() < background


def test_other_system_view_and_dose(tmp_path):
    out = tmp_path / "holo"
    args = ["phantom", "-o", str(out), "--small", "--system", "hologic-dimensions", "--view", "lmlo"]
    assert main([*args, "--dose-factor", "0.5"]) == 0
    truth = json.loads((out / "truth.json").read_text())
    ps = read_projection_set(out / "projections.dcm")
    assert ps.metadata["laterality"] == "L" and ps.metadata["view"] == "MLO"
    assert truth["view"] == "LMLO" and truth["breast"]["view"] == "MLO"
    assert not truth["geometry"]["stationary_flat_detector"]
    assert sum(truth["acquisition"]["exposure_mas"]) == pytest.approx(30.0)
    np.testing.assert_allclose(ps.geometry.detector_u_dir, preset_geometry("hologic-dimensions").detector_u_dir)


def test_qc_phantom_acquisition_reads_back_with_its_objects(tmp_path):
    out = tmp_path / "qc"
    assert main(["phantom", "-o", str(out), "--phantom", "qc", "--small"]) == 0
    truth = json.loads((out / "truth.json").read_text())
    assert truth["phantom"] == "qc" and "qc_phantom" in truth
    kinds = {obj["kind"] for obj in truth["qc_phantom"]["objects"]}
    assert {"fibre", "speck_group", "mass"} <= kinds, kinds
    ps = read_projection_set(out / "projections.dcm")
    assert ps.data.shape[0] == truth["geometry"]["n_views"]
    assert float(ps.data.std()) > 0


def test_bad_output_and_dose_are_one_line_input_errors(tmp_path, capsys):
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    assert main(["phantom", "-o", str(afile), "--small"]) == 2
    _one_line_error(capsys, str(afile))
    assert main(["phantom", "-o", str(tmp_path / "d"), "--small", "--dose-factor", "0"]) == 2
    _one_line_error(capsys, "--dose-factor")
