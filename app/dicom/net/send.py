"""Send files to a PACS (C-STORE): reconstructed volumes, CAD SR, reports, anything DICOM.

Files go byte for byte as they lie on disk (each in its own transfer syntax), streamed from the
file rather than loaded, so large volumes do not fill memory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from app.config import LocalAE, Peer
from app.dicom.net.association import PacsError, associate
from app.errors import InputError
from recon.errors import CancelFlag, ProgressCallback


@dataclass
class SendResult:
    """What a send did: files the PACS accepted, and one line per file it did not."""

    sent: int = 0
    warnings: int = 0
    errors: list[str] = field(default_factory=list)
    cancelled: bool = False

    def text(self) -> str:
        """A one-line human summary."""
        line = f"sent {self.sent} file{'s' if self.sent != 1 else ''}"
        if self.warnings:
            line += f" ({self.warnings} with warnings)"
        line += f", {len(self.errors)} failed"
        return line + (" (cancelled)" if self.cancelled else "")


def _meta(path: Path) -> tuple[str, str, str]:
    """SOP class, SOP instance and transfer syntax from a file's meta information."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        meta = pydicom.filereader.read_file_meta_info(path)
    except InvalidDicomError:
        raise InputError(f"{path}: not a DICOM file (no 'DICM' prefix at byte 128)") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except Exception as exc:
        raise InputError(f"{path}: damaged DICOM file meta information: {str(exc).splitlines()[0][:200]}") from None
    values = []
    for keyword in ("MediaStorageSOPClassUID", "MediaStorageSOPInstanceUID", "TransferSyntaxUID"):
        value = str(meta.get(keyword, "") or "").strip()
        if not value:
            raise InputError(f"{path}: missing {keyword} in the file meta information")
        values.append(value)
    return values[0], values[1], values[2]


def send(
    peer: Peer,
    paths: list[str | os.PathLike[str]],
    *,
    local: LocalAE,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
) -> SendResult:
    """C-STORE DICOM files to a PACS.

    Parameters
    ----------
    peer : Peer
        The remote AE.
    paths : list of str or os.PathLike
        DICOM files (Part 10, with file meta information).
    local : LocalAE
        Our AE title and time limit.
    progress : callable, optional
        ``progress(done, total, message)`` after each file.
    cancel : object with ``is_set()``, optional
        Checked between files.

    Returns
    -------
    SendResult
        Files the PACS rejected or we could not read are one line each; the rest are sent.

    Raises
    ------
    PacsError
        When the PACS cannot be reached or refuses the association.
    """
    from pynetdicom import _config, build_context

    if isinstance(paths, str | os.PathLike):
        raise TypeError("paths must be a list of paths")
    paths = [Path(p) for p in paths]
    result = SendResult()
    files: list[tuple[Path, str, str, str]] = []
    for path in paths:
        try:
            files.append((path, *_meta(path)))
        except InputError as exc:
            result.errors.append(str(exc))
    # one association per group of at most 127 (SOP class, transfer syntax) pairs
    groups: list[list[tuple[Path, str, str, str]]] = []
    pairs: set[tuple[str, str]] = set()
    for item in sorted(files, key=lambda f: (f[1], f[3])):
        pair = (item[1], item[3])
        if not groups or (pair not in pairs and len(pairs) >= 127):
            groups.append([])
            pairs = set()
        pairs.add(pair)
        groups[-1].append(item)
    _config.STORE_SEND_CHUNKED_DATASET = True  # stream files as they are, never re-encode
    done, total = 0, len(files)
    for group in groups:
        contexts = [build_context(c, t) for c, t in sorted({(f[1], f[3]) for f in group})]
        with associate(peer, local, contexts, what="C-STORE") as assoc:
            for path, sop_class, _sop_uid, ts in group:
                if cancel is not None and cancel.is_set():
                    result.cancelled = True
                    return result
                _send_one(assoc, peer, path, sop_class, ts, result)
                done += 1
                if progress is not None:
                    progress(done, total, path.name)
    return result


def _send_one(assoc, peer: Peer, path: Path, sop_class: str, ts: str, result: SendResult) -> None:
    accepted = {(cx.abstract_syntax, cx.transfer_syntax[0]) for cx in assoc.accepted_contexts}
    if (sop_class, ts) not in accepted:
        from pydicom.uid import UID

        result.errors.append(f"{path}: PACS {peer} does not accept {UID(sop_class).name} in {UID(ts).name}")
        return
    try:
        status = assoc.send_c_store(path)
    except (OSError, ValueError, AttributeError) as exc:
        result.errors.append(f"{path}: cannot send: {str(exc).splitlines()[0][:200]}")
        return
    if status is None or "Status" not in status:
        if not assoc.is_established:
            raise PacsError(f"PACS {peer} C-STORE: the association was aborted while sending {path}")
        result.errors.append(f"{path}: no C-STORE response from PACS {peer} (timed out)")
        return
    code = int(status.Status)
    if code == 0x0000:
        result.sent += 1
    elif code in (0x0001, 0xB000, 0xB006, 0xB007):
        result.sent += 1
        result.warnings += 1
    else:
        comment = str(status.get("ErrorComment", "") or "").strip()
        result.errors.append(
            f"{path}: PACS {peer} refused it (C-STORE status 0x{code:04X}{': ' + comment if comment else ''})"
        )
