"""Import speed of the study store: ``crescent import`` on N tiny DICOM files.

Run: ``.venv/bin/python tests/benchmarks/bench_store_import.py [--files N]``

Prints files/s for a first import (header read + index), a re-import (every file already
indexed: skipped by path, size and modification time, no header read), and, as the reference
measured in the same process, a bare ``pydicom.dcmread(stop_before_pixels=True)`` of the same
files; the ratio says how much of the import time is pydicom's header parsing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pydicom  # noqa: E402

from app.store import Store  # noqa: E402
from app.store.importer import import_paths  # noqa: E402
from tests.app.store.factory import clone_study  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        _, paths = clone_study(tmp / "in", n_files=args.files)
        t = time.perf_counter()
        for p in paths:
            pydicom.dcmread(p, stop_before_pixels=True)
        ref = time.perf_counter() - t
        with Store.open(tmp / "store") as store:
            t = time.perf_counter()
            first = import_paths(store, [tmp / "in"])
            cold = time.perf_counter() - t
            t = time.perf_counter()
            again = import_paths(store, [tmp / "in"])
            warm = time.perf_counter() - t
        assert first.added == args.files and again.duplicates == args.files
    n = args.files
    print(f"files: {n} tiny DM images (2x2 pixels, ~1.5 kB each)")
    print(f"reference dcmread(stop_before_pixels): {n / ref:8.0f} files/s")
    print(f"first import (read + index):           {n / cold:8.0f} files/s  ({cold / ref:.2f}x the reference time)")
    print(f"re-import (all already indexed):       {n / warm:8.0f} files/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
