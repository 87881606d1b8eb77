"""A terminal progress bar matching the ``progress(done, total, message)`` convention."""

from __future__ import annotations

import sys
import time


class TerminalProgress:
    """Callable progress reporter: a bar on a terminal, occasional lines otherwise."""

    def __init__(self, label: str = "", stream=None, min_interval_s: float = 0.1):
        self.label = label
        self.stream = stream or sys.stderr
        self.min_interval_s = min_interval_s
        self._last = 0.0
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def __call__(self, done: int, total: int, message: str = "") -> None:
        now = time.monotonic()
        finished = total and done >= total
        if not finished and now - self._last < self.min_interval_s:
            return
        self._last = now
        frac = done / total if total else 0.0
        if self._tty:
            width = 30
            bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
            self.stream.write(f"\r{self.label} [{bar}] {100 * frac:5.1f}% {message[:40]:<40}")
            if finished:
                self.stream.write("\n")
            self.stream.flush()
        elif finished:
            self.stream.write(f"{self.label} done {message}\n")
