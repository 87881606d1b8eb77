"""``crescent recon``: DICOM and .npz in and out, a bead lands where it was, one-line errors."""

import numpy as np
import pytest

from app.cli import main
from app.dicom import PatientStudy, read_volume, write_projection_set
from recon import ProjectionSet, VolumeGrid, preset_geometry
from recon.projectors import make_projector
from tests.dicom_validate import assert_dciodvfy_clean

THICK = 20.0
BEAD = {}


@pytest.fixture(scope="module")
def acquisition():
    geom = preset_geometry("ge-essential", detector_shape=(160, 100), pixel_mm=0.4)
    # a block of breast-like tissue with a dense bead, projected with the matched projector
    grid = VolumeGrid.for_geometry(geom, THICK, slice_mm=1.0, pixel_mm=0.4, extent_x_mm=30, extent_y_mm=40)
    x = np.zeros(grid.shape, np.float32)
    x[:, 10:90, 0:60] = 0.03
    k, j, i = 11, 60, 50
    x[k, j - 1 : j + 2, i - 1 : i + 2] = 0.6
    BEAD["mm"] = grid.index_to_mm([k, j, i])  # x, y, z of the bead centre
    q = make_projector(geom, grid).forward(x)
    return geom, q


def _bead_found(vol, grid):
    """Offset (slices, rows, columns) of the reconstructed peak from the true bead centre."""
    want = grid.mm_to_index(BEAD["mm"])
    k, j, i = np.round(want).astype(int)
    win = vol[k - 2 : k + 3, j - 3 : j + 4, i - 3 : i + 4]
    peak = np.array(np.unravel_index(np.argmax(win), win.shape)) + [k - 2, j - 3, i - 3]
    return np.abs(peak - want)


def test_npz_in_npz_out(tmp_path, acquisition, capsys):
    geom, q = acquisition
    src = tmp_path / "proj.npz"
    np.savez(src, projections=q, preset="ge-essential", pixel_mm=0.4, thickness_mm=THICK)
    out = tmp_path / "vol.npz"
    assert main(["recon", str(src), "-o", str(out)]) == 0
    z = np.load(out)
    grid = VolumeGrid(shape=z["volume"].shape, voxel_mm=tuple(z["voxel_mm"]), origin_mm=tuple(z["origin_mm"]))
    assert grid.voxel_mm == (1.0, 0.4, 0.4) and grid.shape[0] == 20
    assert np.all(_bead_found(z["volume"], grid) <= 0.5 + 1e-6)
    assert "20 slices" in capsys.readouterr().out


def test_dicom_raw_signal_in_tomosynthesis_image_out(tmp_path, acquisition):
    geom, q = acquisition
    raw = ProjectionSet(
        data=(4000.0 * np.exp(-q) + 50.0).astype(np.float32),
        geometry=geom,
        exposure_mas=np.full(geom.n_views, 5.0),
        is_line_integral=False,
    )
    src = tmp_path / "projections.dcm"
    write_projection_set(raw, src, study=PatientStudy(laterality="L"), body_part_thickness_mm=THICK)
    out = tmp_path / "vol.dcm"
    assert main(["recon", str(src), "-o", str(out), "--method", "os-sart", "--iterations", "2"]) == 0
    assert_dciodvfy_clean(out)
    vol = read_volume(out)
    assert vol.grid.shape[0] == 20 and vol.metadata["laterality"] == "L"
    # in focus within one slice (a 2-iteration OS-SART), in place in-plane
    assert np.all(_bead_found(vol.data, vol.grid) <= [1.0, 0.5 + 1e-6, 0.5 + 1e-6])
    prev = tmp_path / "prev.dcm"
    assert main(["recon", str(src), "-o", str(prev), "--preview"]) == 0
    assert read_volume(prev).grid.voxel_mm[0] == pytest.approx(2.0)


@pytest.mark.parametrize(
    "args, text",
    [
        (["--method", "art"], "--method art"),
        (["--iterations", "3"], "--iterations"),
        (["--slice-mm", "-1"], "--slice-mm"),
    ],
)
def test_bad_options_are_one_line_errors(tmp_path, acquisition, capsys, args, text):
    geom, q = acquisition
    src = tmp_path / "proj.npz"
    np.savez(src, projections=q, preset="ge-essential", pixel_mm=0.4, thickness_mm=THICK)
    assert main(["recon", str(src), "-o", str(tmp_path / "v.npz"), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert text in err and "\n" not in err


def test_bad_inputs_are_one_line_errors(tmp_path, acquisition, capsys):
    geom, q = acquisition
    assert main(["recon", str(tmp_path / "nothing.dcm"), "-o", str(tmp_path / "v.dcm")]) == 2
    assert "no such file" in capsys.readouterr().err
    src = tmp_path / "proj.npz"
    np.savez(src, projections=q, preset="ge-essential", pixel_mm=0.4)  # no thickness
    assert main(["recon", str(src), "-o", str(tmp_path / "v.npz")]) == 2
    assert "--thickness-mm" in capsys.readouterr().err
    assert main(["recon", str(src), "-o", str(tmp_path / "v.png"), "--thickness-mm", "20"]) == 2
    assert ".dcm or .npz" in capsys.readouterr().err
    bad = tmp_path / "bad.npz"
    np.savez(bad, projections=q)
    assert main(["recon", str(bad), "-o", str(tmp_path / "v.npz"), "--thickness-mm", "20"]) == 2
    assert "preset" in capsys.readouterr().err


def test_display_window_from_a_subsample_matches_the_full_percentiles():
    from app.commands.recon import display_window

    vol = np.random.default_rng(2).gamma(2.0, 0.01, (16, 256, 192)).astype(np.float32)
    lo, hi = np.percentile(vol, [1.0, 99.0])
    centre, width = display_window(vol)
    assert centre == pytest.approx((lo + hi) / 2, rel=0.05)
    assert width == pytest.approx(hi - lo, rel=0.1)
