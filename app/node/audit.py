"""The node's audit log: one JSON object per line for everything received, refused and sent.

No patient data goes in: UIDs appear only as one-way tags (:func:`app.node.uids.uid_tag`),
with the SOP class, the calling AE title and address, job ids and DICOM status codes. Each
line is flushed and fsynced before the call returns, so what the log says happened did.

Events
------
``association``   accepted / rejected association (``calling_ae``, ``address``, ``accepted``, ``reason``)
``received``      an object acknowledged (``sop``, ``sop_class``, ``acquisition``, ``status``)
``refused``       an object refused (``sop``, ``status``, ``reason``)
``queued``        a job queued for an acquisition (``job``, ``acquisition``, ``projections``, ``why``)
``job``           a job's state change (``job``, ``state``, ``attempt``, ``reason``)
``sent``          a result the PACS acknowledged (``job``, ``kind``, ``sop``, ``pacs``)
``send_failed``   a result the PACS did not take (``job``, ``kind``, ``sop``, ``reason``)
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

__all__ = ["AuditLog", "read_audit"]


class AuditLog:
    """Append-only JSON-lines file, safe to use from several threads.

    Parameters
    ----------
    path : str or os.PathLike
        The file (created with its folder).
    clock : callable, optional
        Returns Unix seconds (default ``time.time``).
    """

    def __init__(self, path, *, clock=time.time):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._lock = threading.Lock()

    def write(self, event: str, **fields) -> None:
        """Append one event (``fields`` must be JSON-serialisable and free of patient data)."""
        if not isinstance(event, str) or not event:
            raise ValueError("event must be a non-empty string")
        record = {"time": round(float(self._clock()), 3), "event": event, **fields}
        line = json.dumps(record, sort_keys=True, default=str) + "\n"
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, line.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)


def read_audit(path) -> list[dict]:
    """The events of an audit log (a torn last line, from a crash mid-write, is skipped)."""
    out = []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return out
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out
