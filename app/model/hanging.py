"""Hanging protocols as data: which image goes into which viewport, stage by stage.

A protocol is a JSON file in ``resources/hanging_protocols/`` (installed as the package
``crescent_resources``)::

    {"id": "4view", "name": "Screening 4-view", "description": "...",
     "stages": [{"name": "DBT 4-view", "rows": 2, "cols": 2,
                 "cells": [{"laterality": "R", "view": "CC", "kinds": ["tomo", "synthetic2d"]}, ...]}]}

Cells fill the grid row by row. Each cell takes the first image of its laterality and view
whose kind comes earliest in ``kinds``. Mirroring and chest-wall justification are not in the
protocol: the viewer derives them from each image's laterality and orientation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from app.model.image import IMAGE_KINDS, DisplayImage
from app.model.study import Study

__all__ = ["CellSpec", "Stage", "HangingProtocol", "load_protocols", "load_protocol_file", "PROTOCOL_ORDER"]

PROTOCOL_ORDER = ("4view", "cc", "mlo", "single", "s2d-tomo")


@dataclass(frozen=True)
class CellSpec:
    """What one viewport of a stage shows."""

    laterality: str
    view: str
    kinds: tuple[str, ...] = ("tomo", "synthetic2d", "mammo")

    @property
    def label(self) -> str:
        return f"{self.laterality} {self.view}"


@dataclass(frozen=True)
class Stage:
    """One screen of a protocol: a grid of ``rows x cols`` cells."""

    name: str
    rows: int
    cols: int
    cells: tuple[CellSpec, ...]

    def resolve(self, study: Study | None) -> list[DisplayImage | None]:
        """The image each cell shows (None where the study has no matching image)."""
        if study is None:
            return [None] * len(self.cells)
        return [study.find(c.laterality, c.view, c.kinds) for c in self.cells]


@dataclass(frozen=True)
class HangingProtocol:
    """A named sequence of stages."""

    id: str
    name: str
    stages: tuple[Stage, ...]
    description: str = ""

    @classmethod
    def from_dict(cls, d: dict, *, source: str = "<dict>") -> HangingProtocol:
        """Build and validate a protocol; ``ValueError`` names the source and the bad entry."""

        def fail(msg: str):
            raise ValueError(f"hanging protocol {source}: {msg}")

        if not isinstance(d, dict):
            fail("must be a JSON object")
        pid, name, stages = d.get("id"), d.get("name"), d.get("stages")
        if not isinstance(pid, str) or not pid:
            fail("'id' must be a non-empty string")
        if not isinstance(stages, list) or not stages:
            fail("'stages' must be a non-empty list")
        out = []
        for si, st in enumerate(stages):
            rows, cols, cells = st.get("rows"), st.get("cols"), st.get("cells")
            if not (isinstance(rows, int) and isinstance(cols, int) and 1 <= rows <= 4 and 1 <= cols <= 4):
                fail(f"stage {si}: 'rows' and 'cols' must be integers 1-4, got {rows!r}, {cols!r}")
            if not isinstance(cells, list) or len(cells) != rows * cols:
                fail(f"stage {si}: needs {rows * cols} cells, got {len(cells) if isinstance(cells, list) else cells!r}")
            specs = []
            for ci, cell in enumerate(cells):
                lat = str(cell.get("laterality", "")).upper()
                view = str(cell.get("view", "")).upper()
                kinds = tuple(cell.get("kinds", ("tomo", "synthetic2d", "mammo")))
                if lat not in ("R", "L"):
                    fail(f"stage {si} cell {ci}: laterality must be R or L, got {cell.get('laterality')!r}")
                if not view:
                    fail(f"stage {si} cell {ci}: 'view' missing")
                bad = [k for k in kinds if k not in IMAGE_KINDS]
                if bad or not kinds:
                    fail(f"stage {si} cell {ci}: kinds must be among {IMAGE_KINDS}, got {list(kinds)}")
                specs.append(CellSpec(lat, view, kinds))
            out.append(Stage(str(st.get("name", f"stage {si + 1}")), rows, cols, tuple(specs)))
        return cls(pid, str(name or pid), tuple(out), str(d.get("description", "")))


def load_protocol_file(path: str | Path) -> HangingProtocol:
    """Read one protocol JSON file (``ValueError`` naming the file when it is malformed)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"hanging protocol {path}: {exc}") from exc
    return HangingProtocol.from_dict(data, source=str(path))


def load_protocols(extra_dir: str | Path | None = None) -> dict[str, HangingProtocol]:
    """The shipped protocols (plus any ``*.json`` in ``extra_dir``), keyed by id, in menu order."""
    found: dict[str, HangingProtocol] = {}
    folder = resources.files("crescent_resources") / "hanging_protocols"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            proto = HangingProtocol.from_dict(json.loads(entry.read_text()), source=entry.name)
            found[proto.id] = proto
    if extra_dir is not None:
        for p in sorted(Path(extra_dir).glob("*.json")):
            proto = load_protocol_file(p)
            found[proto.id] = proto
    order = {pid: i for i, pid in enumerate(PROTOCOL_ORDER)}
    return dict(sorted(found.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))
