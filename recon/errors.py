"""Exceptions and the progress/cancellation protocol shared by long recon work."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Cancelled(Exception):
    """Raised by long work when its cancellation flag is set."""


class CancelFlag(Protocol):
    """Anything with ``is_set()`` (a ``threading.Event`` works)."""

    def is_set(self) -> bool: ...


ProgressCallback = Callable[[int, int, str], None]
"""``progress(done, total, message)``; called from the working thread."""


def check_cancel(cancel: CancelFlag | None) -> None:
    """Raise :class:`Cancelled` when ``cancel`` is set."""
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled")
