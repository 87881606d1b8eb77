"""The reconstruct() dispatcher: methods, options, ProjectionSet input, preview, cancellation."""

import threading

import numpy as np
import pytest

from recon import ProjectionSet, Volume, VolumeGrid, preset_geometry, reconstruct
from recon.errors import Cancelled
from recon.iterative import METHODS
from recon.projectors import make_projector
from recon.reconstruct import available_methods, preview_grid


@pytest.fixture(scope="module")
def case():
    geom = preset_geometry("ge-essential", detector_shape=(120, 80), pixel_mm=0.5)
    grid = VolumeGrid.for_geometry(geom, 20.0, slice_mm=1.0, pixel_mm=0.5, extent_x_mm=35, extent_y_mm=50)
    x = np.zeros(grid.shape, np.float32)
    x[8:12, 45:48, 30:33] = 0.5  # a small dense object in slices 8-11
    return geom, grid, make_projector(geom, grid).forward(x)


def test_fbp_and_every_iterative_method_find_the_object(case):
    geom, grid, q = case
    assert available_methods() == ["fbp", *METHODS]
    for method in available_methods():
        vol = reconstruct(q, geom, grid, method=method, iterations=1) if method != "fbp" else reconstruct(q, geom, grid)
        assert isinstance(vol, Volume) and vol.grid == grid and vol.data.dtype == np.float32
        assert vol.metadata["method"] == method
        k, j, i = np.unravel_index(np.argmax(vol.data), grid.shape)
        assert 8 <= k <= 11 and 45 <= j <= 47 and 30 <= i <= 32, (method, k, j, i)


def test_projection_set_input_raw_signal_and_geometry_from_the_set(case):
    geom, grid, q = case
    raw = ProjectionSet(
        data=(1000.0 * np.exp(-q)).astype(np.float32),
        geometry=geom,
        is_line_integral=False,
        metadata={"thickness_mm": 20},
    )
    vol = reconstruct(raw, None, grid)
    ref = reconstruct(q, geom, grid)
    np.testing.assert_allclose(vol.data, ref.data, atol=1e-3 * abs(ref.data).max())
    default = reconstruct(raw)  # default grid from the thickness in the metadata
    assert default.grid == VolumeGrid.for_geometry(geom, 20.0)


def test_preview_uses_binned_projections_and_2mm_slices(case):
    geom, grid, q = case
    calls = []
    vol = reconstruct(q, geom, grid, preview=True, progress=lambda d, t, m: calls.append(d))
    assert vol.grid == preview_grid(grid)
    assert vol.grid.voxel_mm == (2.0, 1.0, 1.0) and vol.grid.shape == (10, 50, 35)
    assert vol.metadata["preview"] and calls
    k, j, i = np.unravel_index(np.argmax(vol.data), vol.grid.shape)
    assert 4 <= k <= 5 and 22 <= j <= 23 and 15 <= i <= 16, (k, j, i)


def test_errors_name_the_method_or_option(case):
    geom, grid, q = case
    with pytest.raises(ValueError, match="'art'"):
        reconstruct(q, geom, grid, method="art")
    with pytest.raises(ValueError, match="'windw'.*'fbp'"):
        reconstruct(q, geom, grid, windw="hann")
    with pytest.raises(ValueError, match="'bogus'.*'sart'"):
        reconstruct(q, geom, grid, method="sart", bogus=1)
    with pytest.raises(TypeError, match="float32"):
        reconstruct(q.astype(np.float64), geom, grid)
    with pytest.raises(TypeError, match="Geometry"):
        reconstruct(q, None, grid)
    with pytest.raises(ValueError, match="shape"):
        reconstruct(q[:, :-1], geom, grid)
    with pytest.raises(ValueError, match="VolumeGrid"):
        reconstruct(q, geom, None)
    flag = threading.Event()
    flag.set()
    with pytest.raises(Cancelled):
        reconstruct(q, geom, grid, cancel=flag)
