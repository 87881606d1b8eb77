"""FBP against known truth: beads in focus in the right slice and place, depth-independent contrast, ASF."""

import threading

import numpy as np
import pytest

from recon import VolumeGrid, preset_geometry, preset_names
from recon.errors import Cancelled
from recon.fbp import WINDOWS, fbp, filter_response, padded_length
from recon.projectors import make_projector


def _case(name, **kw):
    geom = preset_geometry(name, detector_shape=(200, 120), pixel_mm=0.4, **kw)
    grid = VolumeGrid.for_geometry(geom, 30.0, slice_mm=1.0, pixel_mm=0.4, extent_x_mm=40, extent_y_mm=60)
    return geom, grid, make_projector(geom, grid)


def _beads(grid, positions, mu=0.5):
    """3 x 3 x 1 voxel beads (one slice thick) at (slice, row, column) positions."""
    x = np.zeros(grid.shape, np.float32)
    for k, j, i in positions:
        x[k, j - 1 : j + 2, i - 1 : i + 2] = mu
    return x


BEADS = [(4, 40, 25), (14, 80, 55), (25, 120, 80)]


@pytest.mark.parametrize("name", preset_names())
def test_beads_focus_in_the_right_slice_and_do_not_move_in_plane(name):
    geom, grid, proj = _case(name)
    vol = fbp(proj.forward(_beads(grid, BEADS)), geom, grid, projector=proj)
    for k, j, i in BEADS:
        # depth profile through the bead's true (row, column): peak within one slice
        prof = vol[:, j, i]
        assert abs(int(np.argmax(prof)) - k) <= 1, (name, k, prof.round(3))
        # in-plane position: the local maximum near the bead, in the slices around focus
        for kk in range(max(0, k - 1), min(grid.shape[0], k + 2)):
            win = vol[kk, j - 4 : j + 5, i - 4 : i + 5]
            dj, di = np.unravel_index(np.argmax(win), win.shape)
            assert (dj - 4, di - 4) == (0, 0), (name, k, kk, dj - 4, di - 4)


@pytest.mark.parametrize("name", ["ge-essential", "hologic-dimensions"])
def test_identical_objects_at_different_heights_have_the_same_contrast(name):
    geom, grid, proj = _case(name)
    heights = [3, 13, 24]
    pos = [(k, 60 + 30 * n, 55) for n, k in enumerate(heights)]
    vol = fbp(proj.forward(_beads(grid, pos)), geom, grid, projector=proj)
    peaks = []
    for k, j, i in pos:
        bg = np.median(vol[k, j - 10 : j + 11, i + 8 : i + 15])
        peaks.append(vol[k, j, i] - bg)
    peaks = np.array(peaks)
    assert peaks.min() > 0
    assert peaks.max() / peaks.min() < 1.15, peaks


def test_vertical_rod_reconstructs_to_its_attenuation():
    # a rod through the whole depth lies inside the acquired wedge: FBP returns its mu
    geom, grid, proj = _case("siemens-mammomat")
    zz, yy, xx = np.meshgrid(grid.z_mm, grid.y_mm, grid.x_mm, indexing="ij")
    x = np.where((yy - 5) ** 2 + (xx - 20) ** 2 < 1.5**2, np.float32(0.05), np.float32(0))
    vol = fbp(proj.forward(x), geom, grid, projector=proj)
    j = int(np.argmin(abs(grid.y_mm - 5)))
    i = int(np.argmin(abs(grid.x_mm - 20)))
    centre = vol[10:20, j, i]
    assert np.all(abs(centre - 0.05) < 0.1 * 0.05), centre


def _asf_fwhm(vol, k, j, i, dz):
    asf = vol[:, j - 1 : j + 2, i - 1 : i + 2].mean(axis=(1, 2)) - np.median(
        vol[:, j - 12 : j - 8, i - 2 : i + 3], (1, 2)
    )
    asf = asf / asf[k]
    above = np.nonzero(asf >= 0.5)[0]
    return (above.max() - above.min() + 1) * dz


def test_asf_fwhm_is_finite_and_smaller_for_a_wider_arc():
    widths = []
    for arc in (15.0, 50.0):
        geom, grid, proj = _case("siemens-mammomat", arc_deg=arc)
        k, j, i = 15, 75, 50
        vol = fbp(proj.forward(_beads(grid, [(k, j, i)])), geom, grid, projector=proj)
        widths.append(_asf_fwhm(vol, k, j, i, grid.voxel_mm[0]))
    assert 0 < widths[1] < widths[0] < grid.shape[0] * grid.voxel_mm[0], widths


def test_filter_windows_and_slice_thickness_filter():
    ramp = filter_response(100, 0.1, window="ram-lak")
    npad = padded_length(100)
    assert npad >= 200 and npad % 2 == 0 and ramp.size == npad // 2 + 1
    # the space-domain ramp truncated at npad / 2 keeps a DC term of about 2 / (pi^2 npad)
    assert ramp[0] == pytest.approx(2 / (np.pi**2 * npad), rel=0.05) and ramp[-1] == pytest.approx(0.5, rel=1e-2)
    assert padded_length(3062) == 6144  # the GE detector: 2-3-5-smooth, not 8192
    for w in WINDOWS:
        h = filter_response(100, 0.1, window=w, cutoff=0.75)
        assert np.all(h <= ramp + 1e-12) and np.all(h >= 0)
        if w != "ram-lak":
            assert h[-1] == 0.0
    # the slice-thickness filter leaves the central view alone and damps oblique views
    base = filter_response(100, 0.1)
    np.testing.assert_array_equal(filter_response(100, 0.1, slice_thickness_mm=1.0, sin_theta=0.0), base)
    obl = filter_response(100, 0.1, slice_thickness_mm=1.0, sin_theta=0.4)
    assert np.all(obl <= base) and obl[len(obl) // 3] < 0.5 * base[len(base) // 3]
    with pytest.raises(ValueError, match="window"):
        filter_response(100, 0.1, window="butterworth")
    with pytest.raises(ValueError, match="cutoff"):
        filter_response(100, 0.1, cutoff=0.0)


def test_progress_cancel_and_validation():
    geom, grid, proj = _case("ge-essential")
    q = np.zeros((geom.n_views, *geom.detector_shape), np.float32)
    calls = []
    fbp(q, geom, grid, projector=proj, chunk_slices=8, progress=lambda d, t, m: calls.append((d, t)))
    assert calls[-1][0] == calls[-1][1] == geom.n_views + 4
    flag = threading.Event()
    flag.set()
    with pytest.raises(Cancelled):
        fbp(q, geom, grid, projector=proj, cancel=flag)
    with pytest.raises(TypeError, match="float32"):
        fbp(q.astype(np.float64), geom, grid)
    with pytest.raises(ValueError, match="shape"):
        fbp(q[:3], geom, grid)
    with pytest.raises(ValueError, match="projector"):
        fbp(q, geom, grid, projector=make_projector(geom, VolumeGrid.for_geometry(geom, 10.0)))
