"""Fuzz: mutated headers and truncated pixel data never raise anything but InputError.

Fixed seed, >= 1000 cases over small projection, tomosynthesis and 2D objects. Every error must
be one line naming the file.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pydicom
import pytest

from app.dicom import PatientStudy, examine, load, write_projection_set, write_synthetic_2d, write_tomosynthesis
from app.errors import InputError
from recon.presets import preset_geometry
from recon.types import ProjectionSet, Volume, VolumeGrid

N_CASES = 1000
SEED = 20240607

_NUMBERS = [0, -1, 1, 65536, 2**31 - 1, -(2**31), 1e308, -1e308, float("nan"), float("inf"), 1e-300, 3]
_STRINGS = ["", "abc", "-1", "0", "nan", "1e999", "R", "L", "XX", "1\\2\\3", "\x00", "99999999999", "A\\B"]


def _element_paths(ds, prefix=()):
    """Every element as a path: ((sequence tag, item index), ..., tag)."""
    out = []
    for elem in ds:
        if elem.tag == 0x7FE00010:
            continue
        out.append((*prefix, elem.tag))
        if elem.VR == "SQ":
            for i, item in enumerate(elem.value):
                out.extend(_element_paths(item, (*prefix, (elem.tag, i))))
    return out


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz_bases")
    geom = preset_geometry("hologic-dimensions", detector_shape=(12, 16), pixel_mm=1.0, n_views=3)
    rng = np.random.default_rng(0)
    ps = ProjectionSet(data=rng.random((3, 12, 16)).astype(np.float32), geometry=geom, exposure_mas=np.ones(3))
    study = PatientStudy(laterality="L", view="MLO")
    grid = VolumeGrid.for_geometry(geom, 4.0, slice_mm=1.0)
    vol = Volume(rng.random(grid.shape).astype(np.float32), grid)
    paths = [
        write_projection_set(ps, folder / "p.dcm", study=study).path,
        write_tomosynthesis(vol, folder / "v.dcm", study=study, projections=ps).path,
        write_synthetic_2d(vol.data[0], folder / "s.dcm", study=study, pixel_mm=1.0).path,
    ]
    return [(p.read_bytes(), _element_paths(pydicom.dcmread(p))) for p in paths]


def _mutate_dataset(raw: bytes, paths, rng) -> bytes | None:
    ds = pydicom.dcmread(io.BytesIO(raw))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(int(rng.integers(1, 4))):
            path = paths[int(rng.integers(len(paths)))]
            try:
                holder = ds
                for tag, index in path[:-1]:
                    holder = holder[tag].value[index]
                elem = holder[path[-1]]
            except (KeyError, IndexError):
                continue  # removed by an earlier mutation
            choice = rng.random()
            try:
                if elem.VR == "SQ":
                    if choice < 0.5:
                        elem.value = pydicom.Sequence()
                    elif len(elem.value):
                        elem.value = pydicom.Sequence(list(elem.value)[: int(rng.integers(len(elem.value)))])
                elif choice < 0.2:
                    del holder[path[-1]]
                elif choice < 0.35:
                    elem.value = None
                elif elem.VR in ("FD", "FL", "US", "SS", "UL", "SL"):
                    value = _NUMBERS[int(rng.integers(len(_NUMBERS)))]
                    if elem.VR in ("US", "UL"):
                        value = int(abs(value)) % (2**16 if elem.VR == "US" else 2**32) if np.isfinite(value) else 0
                    elif elem.VR in ("SS", "SL"):
                        value = int(np.clip(value, -(2**15), 2**15 - 1)) if np.isfinite(value) else 0
                    elem.value = value
                else:
                    elem.value = _STRINGS[int(rng.integers(len(_STRINGS)))]
            except Exception:
                continue
        buf = io.BytesIO()
        try:
            ds.save_as(buf)
        except Exception:
            return None
    return buf.getvalue()


def _mutate_bytes(data: bytes, rng) -> bytes:
    arr = bytearray(data)
    if rng.random() < 0.4:  # truncate (often inside the pixel data)
        return bytes(arr[: int(rng.integers(132, len(arr)))])
    header_end = data.find(b"\xe0\x7f\x10\x00")  # (7FE0,0010) Pixel Data
    header_end = header_end if header_end > 200 else len(data)
    for _ in range(int(rng.integers(1, 8))):
        pos = int(rng.integers(132, header_end))
        arr[pos] = int(rng.integers(256))
    return bytes(arr)


def test_fuzz_only_input_errors(tmp_path, bases):
    rng = np.random.default_rng(SEED)
    failures, generic, cases, loaded, rejected = [], [], 0, 0, 0
    while cases < N_CASES:
        raw, paths = bases[cases % len(bases)]
        data = _mutate_dataset(raw, paths, rng) if rng.random() < 0.5 else _mutate_bytes(raw, rng)
        if data is None:
            continue
        path = tmp_path / f"case{cases % 50}.dcm"
        path.write_bytes(data)
        cases += 1
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = examine(path)
                errors = list(result.errors)
                for loadable in result.loadables:
                    try:
                        load(loadable)
                        loaded += 1
                    except InputError as exc:
                        errors.append(exc)
        except InputError as exc:
            errors = [exc]
        except Exception as exc:  # the defect this test looks for
            failures.append(f"case {cases}: {type(exc).__name__}: {exc}")
            continue
        for exc in errors:
            rejected += 1
            text = str(exc)
            if "\n" in text or str(path) not in text:
                failures.append(f"case {cases}: not one line naming the file: {text!r}")
            if "cannot load (" in text:
                generic.append(text)
    assert not failures, "\n".join(failures[:20])
    # every rejection has a specific message, not the catch-all of app.dicom.readers.load
    assert not generic, "\n".join(generic[:20])
    assert cases == N_CASES and loaded > 50 and rejected > 200
