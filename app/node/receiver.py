"""The node's DICOM service: a Storage SCP for projections (pynetdicom).

* **Who may connect.** An association is rejected (A-ASSOCIATE-RJ, permanent, "calling AE
  title not recognised") unless its calling AE title *and* the address it comes from match
  an ``--allow AE@HOST`` entry; with TLS, the TLS handshake comes first (and, with a CA, the
  client's certificate must be signed by it).
* **Checks.** Each object is checked (:func:`app.node.grouping.check_projection`) before
  anything is written; a bad one gets a failure status (0xA900 / 0xC000) and leaves no trace
  except an audit line.
* **Durability.** An object is acknowledged (status 0x0000) only after its file was written
  to a temporary name, fsynced, renamed into ``files/<study>/<series>/<sop>.dcm`` in the store
  with its folder fsynced, and its rows (store instance, ``node_received``, acquisition counts,
  and a queued job when it completed the acquisition) were committed. An object the node
  already holds (the modality resending after a lost response) is acknowledged again and
  not stored twice.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from app.node import faults
from app.node.audit import AuditLog
from app.node.grouping import (
    ACCEPTED_CLASSES,
    STATUS_CANNOT_UNDERSTAND,
    STATUS_OUT_OF_RESOURCES,
    acquisition_of,
    check_projection,
)
from app.node.queue import open_queue
from app.node.settings import NodeSettings
from app.node.uids import uid_tag

__all__ = ["StorageService", "fsync_dir", "write_durably"]

LOG = logging.getLogger("crescent.node")
VERIFICATION = "1.2.840.10008.1.1"


def fsync_dir(folder: Path) -> None:
    """fsync a folder, so that a rename or a new entry in it survives a crash."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, data: bytes, *, root: Path | None = None) -> None:
    """Write ``data`` to ``path`` through ``path.part``: write, fsync, rename, fsync the folder(s).

    Parameters
    ----------
    path : Path
        The final file.
    data : bytes
        Its content.
    root : Path, optional
        Also fsync every folder from ``path``'s up to ``root`` (new folders must be durable too).
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    folder = path.parent
    fsync_dir(folder)
    if root is not None:
        root = Path(root).absolute()
        folder = folder.absolute()
        while folder != root and root in folder.parents:
            folder = folder.parent
            fsync_dir(folder)


class StorageService:
    """The Storage SCP: association control, checks, durable writes, queueing.

    Parameters
    ----------
    settings : NodeSettings
        AE title, address, allowed callers, TLS.
    root : Path
        The store folder.
    audit : AuditLog
        Where accepted/refused objects and associations are recorded.
    clock : callable
        Unix seconds, for the records.
    on_queued : callable, optional
        Called with a job id when an object completed an acquisition (wakes the scheduler).
    """

    def __init__(self, settings: NodeSettings, root: Path, audit: AuditLog, *, clock, on_queued=None):
        self.settings = settings
        self.root = Path(root)
        self.audit = audit
        self.clock = clock
        self.on_queued = on_queued
        self._ae = None
        self._server = None

    # ------------------------------------------------------------------ life cycle
    def start(self) -> int:
        """Start listening (in background threads); returns the port."""
        from pynetdicom import AE, evt
        from pynetdicom._globals import ALL_TRANSFER_SYNTAXES

        from app.node.settings import server_ssl_context

        ae = AE(ae_title=self.settings.ae_title)
        ae.acse_timeout = self.settings.timeout_s
        ae.dimse_timeout = self.settings.timeout_s
        ae.network_timeout = self.settings.timeout_s
        ae.maximum_associations = 8
        ae.require_called_aet = True
        ae.maximum_pdu_size = 0  # unlimited: large projections in few PDUs
        for uid in ACCEPTED_CLASSES:
            ae.add_supported_context(uid, ALL_TRANSFER_SYNTAXES)
        ae.add_supported_context(VERIFICATION)
        handlers = [
            (evt.EVT_REQUESTED, self._on_requested),
            (evt.EVT_C_STORE, self._on_store),
            (evt.EVT_C_ECHO, lambda event: 0x0000),
        ]
        try:
            self._server = ae.start_server(
                (self.settings.host, self.settings.port),
                block=False,
                evt_handlers=handlers,
                ssl_context=server_ssl_context(self.settings),
            )
        except OSError as exc:
            from app.errors import CrescentError

            raise CrescentError(
                f"cannot listen on {self.settings.host}:{self.settings.port}: {exc.strerror or exc}"
            ) from None
        self._ae = ae
        return self.port

    @property
    def port(self) -> int:
        """The port the SCP listens on."""
        if self._server is None:
            raise RuntimeError("the storage service is not started")
        return int(self._server.server_address[1])

    def stop(self) -> None:
        """Stop listening and end open associations."""
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        if self._ae is not None:
            self._ae.shutdown()
            self._ae = None

    # ------------------------------------------------------------------ handlers
    def _on_requested(self, event) -> None:
        """Reject associations from callers not in the allow list (before negotiation)."""
        assoc = event.assoc
        calling = str(assoc.requestor.primitive.calling_ae_title or "").strip()
        address = str(assoc.requestor.address)
        allowed = self.settings.allows(calling, address)
        self.audit.write(
            "association",
            calling_ae=calling,
            address=address,
            accepted=allowed,
            reason="" if allowed else "calling AE title and host not in the allow list",
        )
        if not allowed:
            LOG.warning("rejected an association from %s at %s (not allowed)", calling, address)
            assoc.acse.send_reject(0x01, 0x01, 0x03)  # rejected-permanent, service user, calling AE not recognised

    def _refuse(self, status: int, reason: str, sop_uid: str, sop_class: str):
        from pydicom.dataset import Dataset

        self.audit.write(
            "refused", sop=uid_tag(sop_uid) if sop_uid else "", sop_class=sop_class, status=status, reason=reason
        )
        LOG.warning("refused object %s: 0x%04X %s", uid_tag(sop_uid) if sop_uid else "?", status, reason)
        ds = Dataset()
        ds.Status = status
        ds.ErrorComment = reason[:64]
        return ds

    def _on_store(self, event):
        from pydicom.uid import UID

        from app.store import read_header

        sop_uid = str(event.request.AffectedSOPInstanceUID or "")
        sop_class = str(event.request.AffectedSOPClassUID or "")
        calling = str(event.assoc.requestor.ae_title or "").strip()
        try:
            ds = event.dataset
            ds.file_meta = event.file_meta
        except Exception as exc:
            return self._refuse(
                STATUS_CANNOT_UNDERSTAND, f"cannot decode the data set ({type(exc).__name__})", sop_uid, sop_class
            )
        encapsulated = UID(str(event.context.transfer_syntax)).is_encapsulated
        try:
            refusal = check_projection(ds, affected_sop_uid=sop_uid, encapsulated=encapsulated)
            info = acquisition_of(ds) if refusal is None else None
        except Exception as exc:
            return self._refuse(
                STATUS_CANNOT_UNDERSTAND, f"cannot read the data set ({type(exc).__name__})", sop_uid, sop_class
            )
        if refusal is not None:
            return self._refuse(refusal.status, refusal.reason, sop_uid, sop_class)
        try:
            queue = open_queue(self.root, clock=self.clock)
        except Exception as exc:
            return self._refuse(
                STATUS_OUT_OF_RESOURCES, f"store unavailable ({type(exc).__name__})", sop_uid, sop_class
            )
        try:
            if queue.is_received(sop_uid):
                self.audit.write(
                    "received", sop=uid_tag(sop_uid), sop_class=sop_class, status=0, duplicate=True, calling_ae=calling
                )
                return 0x0000
            path = queue.store.received_path(str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), sop_uid)
            try:
                write_durably(path, event.encoded_dataset(include_meta=True), root=self.root)
                header = read_header(path)
                outcome = queue.record_received(header, path, info, calling_ae=calling)
            except Exception as exc:
                LOG.error("cannot store object %s: %s", uid_tag(sop_uid), type(exc).__name__)
                return self._refuse(
                    STATUS_OUT_OF_RESOURCES, f"cannot store it ({type(exc).__name__})", sop_uid, sop_class
                )
        finally:
            queue.close()
        self.audit.write(
            "received",
            sop=uid_tag(sop_uid),
            sop_class=sop_class,
            status=0,
            acquisition=outcome.acquisition,
            projections=info.projections,
            calling_ae=calling,
        )
        if outcome.job is not None:
            self.audit.write("queued", job=outcome.job, acquisition=outcome.acquisition, why="complete")
            LOG.info("job %d queued: acquisition %d complete", outcome.job, outcome.acquisition)
        faults.crash_point("stored")  # durable and recorded, not yet acknowledged
        if outcome.job is not None and self.on_queued is not None:
            self.on_queued(outcome.job)
        return 0x0000
