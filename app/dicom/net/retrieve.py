"""Retrieve studies from a PACS into the store: C-MOVE (to our own Storage SCP) or C-GET.

Received files are written byte for byte as they arrived (``files/<study>/<series>/<sop>.dcm``
in the store folder, through a temporary name and an atomic rename) and indexed when the
retrieve ends; a crash in between leaves files that the next retrieve overwrites.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from app.config import LocalAE, Peer
from app.dicom.net.association import TRANSFER_SYNTAXES, PacsError, _new_ae, associate, check_status
from app.dicom.net.query import find_instances
from app.errors import InputError
from app.store import Store
from recon.errors import CancelFlag, ProgressCallback

STUDY_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"
STUDY_ROOT_GET = "1.2.840.10008.5.1.4.1.2.2.3"
METHODS = ("move", "get")


@dataclass
class RetrieveResult:
    """What a retrieve brought into the store.

    Attributes
    ----------
    study_uid : str
        The study asked for.
    method : {"move", "get"}
        How it was retrieved.
    received : int
        Files our side received and wrote.
    added, duplicates : int
        Of those, newly indexed, and already in the store.
    failed : int
        Sub-operations the PACS reported as failed.
    errors : list of str
        One line per received object we could not store or index.
    cancelled : bool
        The cancellation flag stopped it early (what arrived is kept).
    """

    study_uid: str
    method: str
    received: int = 0
    added: int = 0
    duplicates: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    cancelled: bool = False

    def text(self) -> str:
        """A one-line human summary."""
        line = (
            f"retrieved {self.received} object{'s' if self.received != 1 else ''} by C-{self.method.upper()} "
            f"({self.added} new, {self.duplicates} already in the store)"
        )
        if self.failed:
            line += f", {self.failed} failed on the PACS"
        if self.errors:
            line += f", {len(self.errors)} could not be stored"
        return line + (" (cancelled)" if self.cancelled else "")


class _Receiver:
    """EVT_C_STORE handler: write the dataset as received into the store folder."""

    def __init__(self, store: Store):
        self.store = store
        self.paths: list[Path] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, event) -> int:
        sop_uid = str(event.request.AffectedSOPInstanceUID or "")
        try:
            ds = event.dataset
            path = self.store.received_path(str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), sop_uid)
            tmp = path.with_name(path.name + ".part")
            with open(tmp, "wb") as f:
                f.write(event.encoded_dataset(include_meta=True))
            os.replace(tmp, path)
        except OSError as exc:
            with self._lock:
                self.errors.append(f"{sop_uid or 'object'}: cannot write into the store: {exc.strerror or exc}")
            return 0xA700  # out of resources
        except Exception as exc:
            with self._lock:
                self.errors.append(f"{sop_uid or 'object'}: cannot store it: {str(exc).splitlines()[0][:200]}")
            return 0xC000  # cannot understand
        with self._lock:
            self.paths.append(path)
        return 0x0000


def _identifier(study_uid: str, series_uid: str | None):
    from pydicom.dataset import Dataset

    ds = Dataset()
    ds.QueryRetrieveLevel = "SERIES" if series_uid else "STUDY"
    ds.StudyInstanceUID = study_uid
    if series_uid:
        ds.SeriesInstanceUID = series_uid
    return ds


def _follow(responses, peer: Peer, local: LocalAE, what: str, result, progress, cancel, assoc, model: str) -> None:
    cancelled_sent = False
    since = time.monotonic()
    for status, _identifier_ds in responses:
        if status is not None and "Status" in status and int(status.Status) == 0xA801:
            raise PacsError(
                f"PACS {peer} {what}: it does not know the move destination {local.ae_title!r} "
                f"(add our AE title with host and port {local.port} to its list of modalities)"
            )
        if status is not None and "Status" in status and int(status.Status) == 0xFE00:
            result.cancelled = True
            continue
        code = check_status(status, peer, what, assoc=assoc, local=local, since=since)
        since = time.monotonic()
        done = sum(int(status.get(k, 0) or 0) for k in _DONE_KEYS)
        remaining = int(status.get("NumberOfRemainingSuboperations", 0) or 0)
        if code in (0x0000, 0xB000):
            result.failed = int(status.get("NumberOfFailedSuboperations", 0) or 0)
        if progress is not None and (done or remaining):
            progress(done, done + remaining, what)
        if cancel is not None and cancel.is_set() and not cancelled_sent and code in (0xFF00, 0xFF01):
            assoc.send_c_cancel(1, query_model=model)  # message id 1: the only request on this association
            cancelled_sent = True
            result.cancelled = True


_DONE_KEYS = ("NumberOfCompletedSuboperations", "NumberOfFailedSuboperations", "NumberOfWarningSuboperations")


def _storage_contexts_for_get(classes: list[str]) -> list:
    from pynetdicom import build_context

    per_class = min(len(TRANSFER_SYNTAXES), 127 // max(1, len(classes)))
    if per_class < 2:
        raise ValueError(f"too many SOP classes ({len(classes)}) for one C-GET; use C-MOVE")
    return [build_context(uid, ts) for uid in classes for ts in TRANSFER_SYNTAXES[:per_class]]


def retrieve(
    peer: Peer,
    study_uid: str,
    *,
    store: Store,
    local: LocalAE,
    series_uid: str | None = None,
    method: str = "move",
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
) -> RetrieveResult:
    """Retrieve a study (or one of its series) from a PACS into the store.

    Parameters
    ----------
    peer : Peer
        The remote AE.
    study_uid : str
        The study.
    store : Store
        Where the files go (its folder) and are indexed (origin ``received``).
    local : LocalAE
        Our AE title, time limit and, for C-MOVE, where our Storage SCP listens: the PACS
        must know ``local.ae_title`` at that host and port.
    series_uid : str, optional
        Only this series.
    method : {"move", "get"}
        C-MOVE to our Storage SCP, or C-GET on one association.
    progress : callable, optional
        ``progress(done, total, message)`` from the PACS's pending responses.
    cancel : object with ``is_set()``, optional
        Sends C-CANCEL when set; what arrived is kept.

    Returns
    -------
    RetrieveResult

    Raises
    ------
    PacsError
        When the PACS cannot be reached, refuses, or does not know the move destination.
    """
    from pynetdicom import build_context, build_role, evt
    from pynetdicom._globals import ALL_TRANSFER_SYNTAXES
    from pynetdicom.presentation import AllStoragePresentationContexts

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not isinstance(store, Store):
        raise TypeError(f"store must be a Store, got {type(store).__name__}")
    for value, what in ((study_uid, "study_uid"), (series_uid, "series_uid")):
        if value is not None and (not isinstance(value, str) or not value):
            raise ValueError(f"{what} must be a non-empty str, got {value!r}")
    result = RetrieveResult(study_uid=study_uid, method=method)
    receiver = _Receiver(store)
    identifier = _identifier(study_uid, series_uid)
    if method == "move":
        scp = _new_ae(local)
        for cx in AllStoragePresentationContexts:
            scp.add_supported_context(cx.abstract_syntax, ALL_TRANSFER_SYNTAXES)
        scp.add_supported_context("1.2.840.10008.1.1")
        try:
            server = scp.start_server((local.host, local.port), block=False, evt_handlers=[(evt.EVT_C_STORE, receiver)])
        except OSError as exc:
            raise PacsError(
                f"cannot listen on {local.host}:{local.port} to receive the C-MOVE: {exc.strerror or exc} "
                "(set [local] port in config.toml or --local-port)"
            ) from None
        try:
            with associate(peer, local, [build_context(STUDY_ROOT_MOVE)], what="C-MOVE") as assoc:
                responses = assoc.send_c_move(identifier, local.ae_title, STUDY_ROOT_MOVE)
                _follow(responses, peer, local, "C-MOVE", result, progress, cancel, assoc, STUDY_ROOT_MOVE)
        finally:
            server.shutdown()
    else:
        classes = sorted({m.sop_class_uid for m in find_instances(peer, study_uid, local=local, series_uid=series_uid)})
        if not classes:
            what = f"series {series_uid}" if series_uid else f"study {study_uid}"
            raise InputError(f"PACS {peer} has no instances of {what}")
        try:
            contexts = [build_context(STUDY_ROOT_GET)] + _storage_contexts_for_get(classes)
        except ValueError as exc:
            raise PacsError(f"PACS {peer} C-GET: {exc}") from None
        roles = [build_role(uid, scp_role=True) for uid in classes]
        with associate(
            peer, local, contexts, roles=roles, evt_handlers=[(evt.EVT_C_STORE, receiver)], what="C-GET"
        ) as assoc:
            responses = assoc.send_c_get(identifier, STUDY_ROOT_GET)
            _follow(responses, peer, local, "C-GET", result, progress, cancel, assoc, STUDY_ROOT_GET)
    result.received = len(receiver.paths)
    result.errors += receiver.errors
    _index(store, receiver.paths, result)
    return result


def _index(store: Store, paths: list[Path], result: RetrieveResult) -> None:
    with store.transaction():
        for path in paths:
            try:
                outcome = store.add_file(path, origin="received")
            except InputError as exc:
                result.errors.append(str(exc))
                continue
            if outcome.status == "added":
                result.added += 1
            else:
                result.duplicates += 1
                existing = store.instance(outcome.sop_instance_uid)
                if existing is not None and existing.path != path:
                    path.unlink(missing_ok=True)  # the store already holds this object elsewhere
