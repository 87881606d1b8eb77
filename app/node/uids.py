"""Deterministic result UIDs, and UID tags for logs.

A job's results get UIDs DERIVED from what it was made from, so a job that runs again (after
a crash, a restart or ``crescent node retry``) makes objects with the same SOP and Series
Instance UIDs, and a PACS that already holds them keeps one copy: no duplicates.

The derivation: a name-based UUID (RFC 4122 version 5, SHA-1) of the text
``crescent-node|<software version>|<method>|<options JSON>|<sorted source SOP Instance UIDs>|<what>``
in the Crescent node namespace, written as a ``2.25.<decimal UUID>`` UID (PS3.5 B.2). ``what``
names the object (``sop:volume``, ``series:volume``, ``dimension:volume``, ...). Any change of
input, method, options or software version gives new UIDs: a different object.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["NODE_NAMESPACE", "ResultUIDs", "derive_uid", "job_basis", "result_uids", "scrub", "uid_tag"]

#: Namespace of the node's name-based UUIDs (a fixed, random UUID).
NODE_NAMESPACE = uuid.UUID("6f1d7c52-3a0b-4d1e-9a57-1c0e4b8f2d93")

RESULT_KINDS = ("preview", "volume", "synthetic2d", "cad_sr")


def derive_uid(basis: str, what: str) -> str:
    """A ``2.25.`` UID derived from ``basis`` (the inputs) and ``what`` (which UID of which object).

    Parameters
    ----------
    basis : str
        Text that identifies the inputs (see :func:`job_basis`).
    what : str
        Which UID, e.g. ``"sop:volume"``.

    Returns
    -------
    str
        At most 44 characters: ``2.25.`` and up to 39 digits.
    """
    if not isinstance(basis, str) or not isinstance(what, str) or not what:
        raise TypeError("basis and what must be strings (what non-empty)")
    return "2.25." + str(uuid.uuid5(NODE_NAMESPACE, f"{basis}|{what}").int)


def job_basis(source_uids: Iterable[str], *, method: str, options: dict, software: str) -> str:
    """The text a job's result UIDs derive from: software, method, options and the sorted sources."""
    sources = sorted(set(source_uids))
    if not sources:
        raise ValueError("job_basis: at least one source SOP Instance UID is needed")
    opts = json.dumps(options or {}, sort_keys=True, default=str)
    return f"crescent-node|{software}|{method}|{opts}|{','.join(sources)}"


@dataclass(frozen=True)
class ResultUIDs:
    """The SOP, Series and dimension-organisation UIDs of one result object."""

    sop: str
    series: str
    dimension: str


def result_uids(basis: str, kind: str) -> ResultUIDs:
    """The UIDs of result ``kind`` (``preview``, ``volume``, ``synthetic2d``, ``cad_sr``)."""
    if kind not in RESULT_KINDS:
        raise ValueError(f"kind must be one of {RESULT_KINDS}, got {kind!r}")
    return ResultUIDs(
        sop=derive_uid(basis, f"sop:{kind}"),
        series=derive_uid(basis, f"series:{kind}"),
        dimension=derive_uid(basis, f"dimension:{kind}"),
    )


def uid_tag(uid: str) -> str:
    """A short, one-way tag of a UID for logs and the audit log (12 hex digits of its SHA-256)."""
    return hashlib.sha256(str(uid).encode("utf-8")).hexdigest()[:12]


_UID_TEXT = re.compile(r"(?<![\w.])\d+(?:\.\d+){2,}(?!\d)")


def scrub(text: str) -> str:
    """``text`` with every UID-like number (8+ characters, 2+ dots) replaced by ``uid:<tag>``.

    For messages that go to logs, the audit log or a job's reason: file paths in the store
    contain Study, Series and SOP Instance UIDs.
    """

    def tag(match: re.Match) -> str:
        uid = match.group(0)
        return "uid:" + uid_tag(uid) if len(uid) >= 8 else uid

    return _UID_TEXT.sub(tag, str(text))
