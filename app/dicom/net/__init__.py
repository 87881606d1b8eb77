"""PACS networking (pynetdicom): C-ECHO, C-FIND, C-MOVE/C-GET into the store, C-STORE.

Peers and our own AE come from :mod:`app.config`; every failure is a :class:`PacsError`
whose message is one line naming the peer and the reason.
"""

from app.dicom.net.association import PacsError
from app.dicom.net.query import InstanceMatch, SeriesMatch, StudyMatch, echo, find_instances, find_series, find_studies
from app.dicom.net.retrieve import RetrieveResult, retrieve
from app.dicom.net.send import SendResult, send

__all__ = [
    "InstanceMatch",
    "PacsError",
    "RetrieveResult",
    "SendResult",
    "SeriesMatch",
    "StudyMatch",
    "echo",
    "find_instances",
    "find_series",
    "find_studies",
    "retrieve",
    "send",
]
