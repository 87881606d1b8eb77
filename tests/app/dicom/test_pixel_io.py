"""Integer pixels in and out: quantisation, the streamed writer and the frame-by-frame reader."""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
from pydicom.uid import RLELossless

from app.dicom import read_projection_set, read_volume, write_projection_set, write_tomosynthesis
from app.dicom.readers.base import read_header
from app.dicom.readers.pixels import apply_mapping, read_frames
from app.dicom.views import to_disk
from app.dicom.writers.common import quantize
from app.dicom.writers.pixels import QuantizedFrames, histogram_percentiles, stored_histogram
from recon.types import Volume, VolumeGrid
from tests.app.dicom.conftest import make_projections
from tests.dicom_validate import assert_dciodvfy_clean

GRID = VolumeGrid(shape=(5, 24, 18), voxel_mm=(1.0, 0.5, 0.5), origin_mm=(2.0, -6.0, 0.25))


def _mapping(path):
    """(stored frames as on disk, slope, intercept) straight from the file."""
    ds = pydicom.dcmread(path)
    rw = ds.SharedFunctionalGroupsSequence[0].RealWorldValueMappingSequence[0]
    return (
        ds.pixel_array.reshape(-1, ds.Rows, ds.Columns),
        float(rw.RealWorldValueSlope),
        float(rw.RealWorldValueIntercept),
    )


def _span(data) -> float:
    return float(data.max()) - float(data.min())


def _reference_stored(data, slope, intercept):
    """What the writers store: rint((x - b) / a) in float64, clipped to 16 bits."""
    return np.clip(np.rint((data.astype(np.float64) - intercept) / slope), 0, 65535).astype(np.uint16)


@pytest.mark.parametrize("laterality", ["R", "L"])
def test_volume_round_trip_within_one_quantisation_step(tmp_path, study, laterality):
    rng = np.random.default_rng(4)
    data = (rng.gamma(2.0, 0.01, GRID.shape) - 0.005).astype(np.float32)
    st = study.for_view(laterality, "CC")
    out = write_tomosynthesis(Volume(data, GRID), tmp_path / "v.dcm", study=st, window=(0.02, 0.04))
    stored, slope, intercept = _mapping(out.path)
    # the range spans the 16 bits and the header's mapping is the one used to quantise
    assert slope == pytest.approx(_span(data) / 65535, rel=1e-9)
    np.testing.assert_array_equal(stored, to_disk(_reference_stored(data, slope, intercept), laterality))
    assert stored.min() == 0 and stored.max() == 65535
    back = read_volume(out.path)
    assert back.data.dtype == np.float32 and back.data.flags.c_contiguous
    assert np.max(np.abs(back.data.astype(np.float64) - data)) <= slope * 0.5 * (1 + 1e-6) + 1e-9
    # exactly the header's mapping of the stored values (float64, then float32)
    expected = (to_disk(stored, laterality).astype(np.float64) * slope + intercept).astype(np.float32)
    np.testing.assert_array_equal(back.data, expected)


def test_constant_volume(tmp_path, study):
    data = np.full(GRID.shape, 0.0123, np.float32)
    out = write_tomosynthesis(Volume(data, GRID), tmp_path / "c.dcm", study=study)
    assert_dciodvfy_clean(out.path)
    stored, slope, intercept = _mapping(out.path)
    assert slope == 1.0 and np.all(stored == 0)
    back = read_volume(out.path)
    np.testing.assert_array_equal(back.data, data)
    centre, width = back.metadata["window"]
    assert centre == pytest.approx(0.0123, rel=1e-6) and width > 0


def test_extreme_finite_values(tmp_path, study):
    """float32 extremes, denormals and outliers far from the bulk: finite, within one step."""
    f32 = np.finfo(np.float32)
    cases = {
        "float32 range": np.where(np.indices(GRID.shape).sum(axis=0) % 2 == 0, f32.max, f32.min),
        "denormals": np.linspace(f32.smallest_subnormal, 40 * f32.smallest_subnormal, np.prod(GRID.shape)),
        "outliers": np.r_[np.linspace(0.0, 0.05, np.prod(GRID.shape) - 2), -1e4, 1e4],
    }
    for name, values in cases.items():
        data = np.asarray(values, dtype=np.float32).reshape(GRID.shape)
        path = write_tomosynthesis(Volume(data, GRID), tmp_path / "x.dcm", study=study).path
        _, slope, _ = _mapping(path)
        back = read_volume(path).data.astype(np.float64)
        assert np.all(np.isfinite(back)), name
        err = np.max(np.abs(back - data.astype(np.float64)))
        # half a step, plus the float32 rounding of the result
        assert err <= slope * (0.5 + 1e-6) + float(np.abs(data).max()) * 2.0**-24, (name, err, slope)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_refused_and_nothing_is_left(tmp_path, study, bad):
    data = np.zeros(GRID.shape, np.float32)
    data[2, 3, 4] = bad
    with pytest.raises(ValueError, match="non-finite"):
        write_tomosynthesis(Volume(data, GRID), tmp_path / "v.dcm", study=study)
    assert list(tmp_path.iterdir()) == []


def test_projection_round_trip_within_one_step(tmp_path, study):
    ps = make_projections(line=False)
    out = write_projection_set(ps, tmp_path / "p.dcm", study=study)
    stored, slope, intercept = _mapping(out.path)
    np.testing.assert_array_equal(stored, to_disk(_reference_stored(ps.data, slope, intercept), "R"))
    back = read_projection_set(out.path)
    assert np.max(np.abs(back.data.astype(np.float64) - ps.data)) <= slope * 0.5 * (1 + 1e-6) + 1e-9
    voi = pydicom.dcmread(out.path, stop_before_pixels=True).SharedFunctionalGroupsSequence[0].FrameVOILUTSequence[0]
    assert float(voi.WindowCenter) == pytest.approx(stored.mean(), abs=0.5)
    assert float(voi.WindowWidth) == 65535


def test_quantize_matches_the_float64_formula():
    rng = np.random.default_rng(0)
    data = (rng.random((3, 7, 9)) * 5 - 2).astype(np.float32)
    stored, slope, intercept = quantize(data)
    np.testing.assert_array_equal(stored, _reference_stored(data, slope, intercept))
    s12, slope12, _ = quantize(data[0], bits=12)
    assert s12.max() == 4095 and slope12 == pytest.approx(_span(data[0]) / 4095, rel=1e-9)
    signed, _, _ = quantize(data, signed=True)
    assert signed.dtype == np.int16 and signed.min() == -32768 and signed.max() == 32767


@pytest.mark.parametrize(("flip_rows", "flip_cols"), [(False, False), (True, False), (False, True), (True, True)])
def test_stream_gives_the_stored_bytes_in_any_chunking(flip_rows, flip_cols):
    rng = np.random.default_rng(1)
    data = rng.random((4, 6, 5)).astype(np.float32)
    ref = _reference_stored(data, 1e-4, 0.0)[:, :: -1 if flip_rows else 1, :: -1 if flip_cols else 1]
    stream = QuantizedFrames(
        data, slope=1e-4, intercept=0.0, smin=0, smax=65535, flip_rows=flip_rows, flip_cols=flip_cols
    )
    assert isinstance(stream, io.BufferedIOBase) and stream.seekable() and stream.readable()
    assert stream.seek(0, io.SEEK_END) == ref.nbytes
    stream.seek(0)
    chunks = []
    for size in (7, 1, 60, 61, 1000):  # within, across and beyond frame boundaries
        chunks.append(stream.read(size))
    assert b"".join(chunks) == ref.astype("<u2").tobytes() and stream.read(5) == b""
    stream.seek(62)
    assert stream.read(4) == ref.astype("<u2").tobytes()[62:66]


def test_histogram_percentiles_equal_numpy():
    rng = np.random.default_rng(2)
    data = rng.gamma(2.0, 1.0, (3, 40, 30)).astype(np.float32)
    stored, slope, intercept = quantize(data)
    hist = stored_histogram(data, slope=slope, intercept=intercept, smin=0, smax=65535)
    assert hist.sum() == data.size
    np.testing.assert_allclose(
        histogram_percentiles(hist, [0.0, 1.0, 37.5, 99.0, 100.0]), np.percentile(stored, [0.0, 1.0, 37.5, 99.0, 100.0])
    )
    sub = stored_histogram(data, slope=slope, intercept=intercept, smin=0, smax=65535, step=4)
    np.testing.assert_array_equal(sub, np.bincount(stored[:, ::4, ::4].ravel(), minlength=65536))


def test_frames_are_read_from_disk_or_memory_alike(tmp_path, study):
    """examine keeps the pixel data on disk; reading it frame by frame equals decoding it in memory."""
    grid = VolumeGrid(shape=(5, 40, 30), voxel_mm=(1.0, 0.5, 0.5), origin_mm=(2.0, -10.0, 0.25))  # > 8 KiB
    data = np.random.default_rng(5).random(grid.shape).astype(np.float32)
    path = write_tomosynthesis(Volume(data, grid), tmp_path / "v.dcm", study=study).path
    header = read_header(path)
    assert header.ds.get_item(0x7FE00010, keep_deferred=True).value is None  # not read by the header pass
    full = pydicom.dcmread(path)
    order = [4, 0, 3, 1]
    kwargs = {"indices": order, "slopes": [1.0, 2.0, 0.5, 1.0], "intercepts": 0.25, "flip_rows": True}
    from_disk = read_frames(header.ds, path, **kwargs)
    in_memory = read_frames(full, path, **kwargs)
    np.testing.assert_array_equal(from_disk, in_memory)
    decoded = full.pixel_array.astype(np.float64)
    expected = (decoded[order] * np.array([1.0, 2.0, 0.5, 1.0])[:, None, None] + 0.25).astype(np.float32)
    np.testing.assert_array_equal(from_disk, expected[:, ::-1, :])
    assert header.ds.get_item(0x7FE00010, keep_deferred=True).value is None  # still not held in memory
    # compressed (RLE): decoded frame by frame, the same values
    full.compress(RLELossless)
    full.save_as(tmp_path / "rle.dcm")
    np.testing.assert_array_equal(read_frames(read_header(tmp_path / "rle.dcm").ds, path, **kwargs), from_disk)


def test_apply_mapping_is_float64_exact():
    stored = np.random.default_rng(3).integers(0, 65536, (3, 11, 13), dtype=np.uint16)
    np.testing.assert_array_equal(
        apply_mapping(stored, 1.3e-6, -0.02), (stored.astype(np.float64) * 1.3e-6 - 0.02).astype(np.float32)
    )
    signed = stored.astype(np.int32) - 30000
    np.testing.assert_array_equal(apply_mapping(signed, 0.5, 1.0), (signed * 0.5 + 1.0).astype(np.float32))
