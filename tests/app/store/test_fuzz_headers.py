"""Fuzz: mutated and truncated files never escape header indexing as anything but a one-line InputError."""

from __future__ import annotations

import random

from pydicom.uid import generate_uid

from app.errors import InputError
from app.store import InstanceHeader, Store, read_header
from app.store.importer import import_paths
from tests.app.store.factory import tiny_dm, write


def _mutants(template: bytes, n: int, seed: int):
    rng = random.Random(seed)
    for k in range(n):
        data = bytearray(template)
        kind = k % 4
        if kind == 0:  # truncate anywhere, pixel data included
            data = data[: rng.randrange(0, len(data))]
        elif kind == 1:  # flip a few bytes after the preamble (tags, VRs, lengths, values)
            for _ in range(rng.randint(1, 6)):
                data[rng.randrange(128, len(data))] = rng.randrange(256)
        elif kind == 2:  # overwrite a 4-byte run with a huge or odd length
            at = rng.randrange(132, len(data) - 4)
            data[at : at + 4] = rng.choice([b"\xff\xff\xff\xff", b"\xf0\xff\xff\x7f", b"\x01\x00\x00\x00", b"\x00\x00"])
        else:  # splice in random garbage
            at = rng.randrange(132, len(data))
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
        yield bytes(data)


def test_1000_mutated_files_give_a_header_or_one_line_input_error(tmp_path):
    ds = tiny_dm(study_uid=generate_uid(), series_uid=generate_uid(), rows=6, columns=5)
    template = write(ds, tmp_path / "template.dcm").read_bytes()
    outcomes = {"ok": 0, "error": 0}
    path = tmp_path / "mutant.dcm"
    for data in _mutants(template, 1000, seed=20240115):
        path.write_bytes(data)
        try:
            header = read_header(path)
        except InputError as exc:
            message = str(exc)
            assert message.startswith(str(path)) and "\n" not in message, message
            outcomes["error"] += 1
        else:
            assert isinstance(header, InstanceHeader) and header.sop_instance_uid
            outcomes["ok"] += 1
    assert outcomes["ok"] > 50 and outcomes["error"] > 250, outcomes  # both paths are exercised


def test_importing_a_folder_of_mutants_keeps_the_store_sound(tmp_path):
    ds = tiny_dm(study_uid=generate_uid(), series_uid=generate_uid())
    template = write(ds, tmp_path / "template.dcm").read_bytes()
    folder = tmp_path / "in"
    folder.mkdir()
    for k, data in enumerate(_mutants(template, 200, seed=7)):
        (folder / f"m{k:03d}.dcm").write_bytes(data)
    with Store.open(tmp_path / "s") as store:
        summary = import_paths(store, [folder])
        assert summary.files == 200
        assert summary.added + summary.duplicates + summary.relocated + len(summary.errors) == 200
        assert all("\n" not in e and str(folder) in e for e in summary.errors)
        assert store.check() == []
