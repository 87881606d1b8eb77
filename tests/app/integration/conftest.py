"""A real demo exam (projections, BTO volumes, synthetic 2D as DICOM) imported into a real store.

``crescent demo``'s writer makes the files once per test session; each test that writes to the
store (findings, status, reports) gets its own copy of the store folder (the DICOM files are
indexed where they lie, so copying the store is cheap).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class DemoExam:
    """The demo exam: its folder, the pristine store and the study UID."""

    folder: Path
    store: Path
    study_uid: str

    def truth(self, view: str) -> dict:
        return json.loads((self.folder / f"truth_{view}.json").read_text())


@pytest.fixture(scope="session")
def demo_exam(tmp_path_factory) -> DemoExam:
    from app.demo import make_demo
    from app.store import Store
    from app.store.importer import import_paths

    root = tmp_path_factory.mktemp("demo_exam")
    result = make_demo(root / "files", size="small")
    with Store.open(root / "store") as store:
        summary = import_paths(store, [root / "files"])
    assert summary.added == 12
    return DemoExam(root / "files", root / "store", result.study_uid)


@pytest.fixture
def store_dir(demo_exam, tmp_path) -> Path:
    """A private copy of the demo store."""
    dst = tmp_path / "store"
    shutil.copytree(demo_exam.store, dst)
    return dst
