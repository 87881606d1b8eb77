"""Fault injection for the crash tests: die by SIGKILL at a named point of the node's work.

Set ``CRESCENT_NODE_CRASH_AT`` to a comma-separated list of point names; the node process
kills itself (``SIGKILL``: no clean-up, no flushing) the first time it reaches one of them.
Unset (always, in production) it does nothing. The points:

``stored``      an object is durable and recorded, its C-STORE response not yet sent
``computed``    a job's results are written and recorded, nothing of them sent yet
``sent``        the PACS acknowledged a result, the node has not recorded it yet
"""

from __future__ import annotations

import os
import signal

__all__ = ["POINTS", "crash_point"]

POINTS = ("stored", "computed", "sent")
ENV = "CRESCENT_NODE_CRASH_AT"


def crash_point(name: str) -> None:
    """SIGKILL this process if ``name`` is listed in ``$CRESCENT_NODE_CRASH_AT``."""
    if name not in POINTS:
        raise ValueError(f"unknown crash point {name!r}")
    wanted = os.environ.get(ENV, "")
    if wanted and name in {p.strip() for p in wanted.split(",")}:
        os.kill(os.getpid(), signal.SIGKILL)
