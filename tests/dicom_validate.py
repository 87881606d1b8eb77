"""Shared test helper: validate a DICOM file with dicom3tools ``dciodvfy``.

Usage in any test::

    from tests.dicom_validate import assert_dciodvfy_clean
    assert_dciodvfy_clean(path)

Fails (not skips) when ``dciodvfy`` is missing: ``make test`` installs dicom3tools.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

__all__ = ["assert_dciodvfy_clean", "dciodvfy_lines"]


def dciodvfy_lines(path) -> list[str]:
    """All output lines of ``dciodvfy PATH`` (stdout and stderr)."""
    exe = shutil.which("dciodvfy")
    assert exe, "dciodvfy (dicom3tools) is not installed; run scripts/install-system-deps.sh"
    res = subprocess.run([exe, str(Path(path))], capture_output=True, text=True, timeout=120)
    return (res.stdout + res.stderr).splitlines()


def assert_dciodvfy_clean(path) -> list[str]:
    """Assert that dciodvfy reports no line containing "Error"; returns the warning lines."""
    lines = dciodvfy_lines(path)
    errors = [line for line in lines if "Error" in line]
    assert not errors, f"dciodvfy found {len(errors)} error(s) in {path}:\n" + "\n".join(errors[:40])
    return [line for line in lines if line.startswith("Warning")]
