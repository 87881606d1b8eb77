"""Shared fixtures. GUI tests need an X display: ``make test`` runs pytest under Xvfb."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _isolated_crescent_home(tmp_path_factory, monkeypatch):
    """Keep every test away from the user's real store and configuration."""
    home = tmp_path_factory.mktemp("crescent_home")
    monkeypatch.setenv("CRESCENT_HOME", str(home / "store"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))


def pytest_collection_modifyitems(config, items):
    if os.environ.get("DISPLAY"):
        return
    for item in items:
        if "gui" in item.keywords:
            item.add_marker(
                pytest.mark.xfail(reason="no X display: run under Xvfb (make test)", run=False, strict=True)
            )
