"""Associations with a remote AE, turning every way they can fail into one clear line."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

from app.config import LocalAE, Peer
from app.errors import CrescentError

# Transfer syntaxes that DBT archives use, most preferred first (uncompressed, then lossless, then lossy)
TRANSFER_SYNTAXES = (
    "1.2.840.10008.1.2.1",  # Explicit VR Little Endian
    "1.2.840.10008.1.2",  # Implicit VR Little Endian
    "1.2.840.10008.1.2.4.90",  # JPEG 2000 Lossless
    "1.2.840.10008.1.2.4.80",  # JPEG-LS Lossless
    "1.2.840.10008.1.2.5",  # RLE Lossless
    "1.2.840.10008.1.2.4.70",  # JPEG Lossless SV1
    "1.2.840.10008.1.2.4.57",  # JPEG Lossless
    "1.2.840.10008.1.2.4.91",  # JPEG 2000
    "1.2.840.10008.1.2.4.81",  # JPEG-LS near-lossless
    "1.2.840.10008.1.2.4.50",  # JPEG Baseline 8 bit
    "1.2.840.10008.1.2.4.51",  # JPEG Extended 12 bit
    "1.2.840.10008.1.2.1.99",  # Deflated Explicit VR Little Endian
    "1.2.840.10008.1.2.4.201",  # HTJ2K Lossless
    "1.2.840.10008.1.2.4.203",  # HTJ2K
)


class PacsError(CrescentError):
    """A PACS could not be reached or refused what we asked (one line naming the peer)."""


def _new_ae(local: LocalAE):
    from pynetdicom import AE

    ae = AE(ae_title=local.ae_title)
    ae.acse_timeout = local.timeout_s
    ae.dimse_timeout = local.timeout_s
    ae.network_timeout = local.timeout_s
    ae.connection_timeout = local.timeout_s
    ae.maximum_associations = 4
    return ae


def _why_no_connection(peer: Peer, timeout_s: float) -> str:
    """Probe the peer's TCP port to say why an association could not even start."""
    try:
        with socket.create_connection((peer.host, peer.port), timeout=min(timeout_s, 5.0)):
            return "the connection closed before the association was answered"
    except ConnectionRefusedError:
        return "connection refused (nothing listens on that port)"
    except TimeoutError:
        return f"no answer within {min(timeout_s, 5.0):g} s"
    except socket.gaierror as exc:
        return f"unknown host ({exc.strerror or exc})"
    except OSError as exc:
        return f"cannot connect ({exc.strerror or exc})"


@contextmanager
def associate(
    peer: Peer,
    local: LocalAE,
    contexts: list,
    *,
    roles: list | None = None,
    evt_handlers: list | None = None,
    what: str = "",
) -> Iterator:
    """An established association with ``peer``, released on exit.

    Parameters
    ----------
    peer : Peer
        The remote AE.
    local : LocalAE
        Our AE title and time limit.
    contexts : list of pynetdicom.presentation.PresentationContext
        The presentation contexts to propose (at most 128).
    roles : list, optional
        SCP/SCU role selection items (C-GET).
    evt_handlers : list, optional
        pynetdicom event handlers bound to the association.
    what : str
        What the association is for, for messages (``"C-FIND"``).

    Yields
    ------
    pynetdicom.association.Association

    Raises
    ------
    PacsError
        Refused connection, rejected or aborted association, no accepted presentation context,
        or no answer in time: one line naming the peer and the reason.
    """
    if not isinstance(peer, Peer) or not isinstance(local, LocalAE):
        raise TypeError("peer must be a Peer and local a LocalAE")
    if not contexts or len(contexts) > 128:
        raise ValueError(f"between 1 and 128 presentation contexts are needed, got {len(contexts)}")
    from pynetdicom import evt

    label = f"PACS {peer}" + (f" {what}" if what else "")
    for attempt in (1, 2):
        ae = _new_ae(local)
        connected: list[bool] = []
        handlers = list(evt_handlers or []) + [(evt.EVT_CONN_OPEN, lambda event, c=connected: c.append(True))]
        started = time.monotonic()
        try:
            assoc = ae.associate(
                peer.host, peer.port, contexts=contexts, ae_title=peer.ae_title, ext_neg=roles, evt_handlers=handlers
            )
        except OSError:  # e.g. the host name does not resolve
            ae.shutdown()
            raise PacsError(f"{label}: {_why_no_connection(peer, local.timeout_s)}") from None
        quick_abort = assoc.is_aborted and connected and time.monotonic() - started < 0.9 * local.timeout_s
        if assoc.is_established or not quick_abort or attempt == 2:
            break
        # A peer that closes the connection right after answering (e.g. a rejection) can have
        # its answer lost to a TCP reset on a busy machine: ask once more before reporting.
        ae.shutdown()
    try:
        if not assoc.is_established:
            reason = _failure(assoc, peer, local, time.monotonic() - started, bool(connected))
            raise PacsError(f"{label}: {reason}")
        yield assoc
    finally:
        if assoc.is_established:
            assoc.release()
        ae.shutdown()


def _failure(assoc, peer: Peer, local: LocalAE, elapsed: float, connected: bool) -> str:
    timed_out = elapsed >= local.timeout_s * 0.9
    if assoc.is_rejected:
        primitive = assoc.acceptor.primitive
        reason = getattr(primitive, "reason_str", "") or "no reason given"
        hint = ""
        if "called ae" in reason.lower():
            hint = f" (is {peer.ae_title!r} its AE title?)"
        elif "calling ae" in reason.lower():
            hint = f" (does it know our AE title {local.ae_title!r}?)"
        return f"association rejected: {reason}{hint}"
    if not connected:
        if timed_out:
            return f"no answer within {local.timeout_s:g} s (connection timed out)"
        return _why_no_connection(peer, local.timeout_s)
    if assoc.rejected_contexts and not assoc.accepted_contexts:
        classes = sorted({str(cx.abstract_syntax.name) for cx in assoc.rejected_contexts})
        return f"it accepted none of the proposed presentation contexts ({', '.join(classes[:4])})"
    if timed_out:
        return f"no answer to the association request within {local.timeout_s:g} s"
    return "the association was aborted (the peer aborted it, or does not speak DICOM)"


def check_status(status, peer: Peer, what: str, *, assoc=None, local: LocalAE | None = None, since: float = 0.0) -> int:
    """The status code of a DIMSE response; a :class:`PacsError` for a missing or failed one.

    Parameters
    ----------
    status : pydicom.dataset.Dataset
        The response's status dataset (empty when no response came in time).
    peer : Peer
        For the message.
    what : str
        The operation (``"C-ECHO"``).
    assoc : pynetdicom.association.Association, optional
        Tells an aborted association from a timeout in the message.
    local : LocalAE, optional
        Names our AE title and time limit in the message.
    since : float
        ``time.monotonic()`` when the request was sent: a missing response long before the time
        limit means the peer ended the association.

    Returns
    -------
    int
        The status code (success, warning or pending).
    """
    if status is None or "Status" not in status:
        limit = local.timeout_s if local is not None else None
        if assoc is not None and limit is not None and time.monotonic() - since < 0.9 * limit:
            us = f" (does it allow our AE title {local.ae_title!r} to do this?)"
            raise PacsError(f"PACS {peer} {what}: it ended the association without answering{us}")
        raise PacsError(f"PACS {peer} {what}: no response" + (f" within {limit:g} s" if limit else ""))
    code = int(status.Status)
    if code in (0x0000, 0xFF00, 0xFF01) or code in (0x0001, 0xB000, 0xB006, 0xB007):
        return code
    from pynetdicom.status import code_to_category

    comment = str(status.get("ErrorComment", "") or "").strip()
    extra = f": {comment}" if comment else ""
    raise PacsError(f"PACS {peer} {what}: {code_to_category(code).lower()} status 0x{code:04X}{extra}")
