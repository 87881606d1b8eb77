"""Index DICOM files and folders into the store where they lie (``crescent import``).

Crash safety: headers are read outside any transaction, then each batch of files is written in
one short transaction. A killed import loses at most the batch in flight; SQLite's WAL keeps the
database consistent, and running the import again skips what is already indexed (same path,
size and modification time, or same SOP Instance UID) and adds the rest.
"""

from __future__ import annotations

import os
import stat as stat_mod
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from app.errors import InputError
from app.store.headers import read_header
from app.store.location import DB_NAME
from app.store.store import Store
from recon.errors import CancelFlag, ProgressCallback

_STORE_FILES = {DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", DB_NAME + "-journal"}


@dataclass
class ImportSummary:
    """What an import did.

    Attributes
    ----------
    files : int
        Candidate files examined.
    added, duplicates, relocated : int
        Files newly indexed; skipped because already in the store; already known by SOP
        Instance UID but moved (the record now points at the new path).
    errors : list of str
        One line per file that could not be imported, naming the file and the reason.
    studies : set of str
        Study Instance UIDs of the files added or relocated.
    new_studies : int
        Studies that were not in the store before.
    cancelled : bool
        The cancellation flag stopped the import early (what was done is kept).
    """

    files: int = 0
    added: int = 0
    duplicates: int = 0
    relocated: int = 0
    errors: list[str] = field(default_factory=list)
    studies: set[str] = field(default_factory=set)
    new_studies: int = 0
    cancelled: bool = False

    @property
    def imported_anything(self) -> bool:
        """True when at least one file is now in the store (added, relocated or already there)."""
        return bool(self.added or self.relocated or self.duplicates)

    def text(self) -> str:
        """A one-line human summary."""
        parts = [
            f"imported {self.added} file{'s' if self.added != 1 else ''} "
            f"({len(self.studies)} stud{'ies' if len(self.studies) != 1 else 'y'}, {self.new_studies} new)"
        ]
        parts.append(f"{self.duplicates} already in the store")
        if self.relocated:
            parts.append(f"{self.relocated} moved")
        parts.append(f"{len(self.errors)} error{'s' if len(self.errors) != 1 else ''}")
        line = ", ".join(parts)
        return line + (" (cancelled)" if self.cancelled else "")


def dicomdir_files(path: str | os.PathLike[str]) -> tuple[list[Path], list[str]]:
    """The files a DICOMDIR references.

    Parameters
    ----------
    path : str or os.PathLike
        The DICOMDIR file.

    Returns
    -------
    files : list of pathlib.Path
        Referenced files that exist (matched case-insensitively when media were copied with
        changed case), in record order.
    errors : list of str
        One line per unreadable DICOMDIR or missing referenced file.
    """
    import pydicom

    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path)
        records = ds.DirectoryRecordSequence
    except Exception as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        return [], [f"{path}: unreadable DICOMDIR: {reason}"]
    base = path.parent
    files, errors, seen = [], [], set()
    for record in records:
        file_id = record.get("ReferencedFileID")
        if not file_id:
            continue
        parts = [file_id] if isinstance(file_id, str) else [str(p) for p in file_id]
        target = _find_case_insensitive(base, parts)
        if target is None:
            errors.append(f"{path}: ReferencedFileID {'/'.join(parts)} does not exist")
        elif target not in seen:
            seen.add(target)
            files.append(target)
    return files, errors


def _find_case_insensitive(base: Path, parts: list[str]) -> Path | None:
    exact = base.joinpath(*parts)
    if exact.is_file():
        return exact
    current = base
    for part in parts:
        try:
            names = {p.name.upper(): p for p in current.iterdir()}
        except OSError:
            return None
        current = names.get(part.upper())
        if current is None:
            return None
    return current if current.is_file() else None


def collect_files(paths: list[str | os.PathLike[str]]) -> tuple[list[Path], list[str]]:
    """The candidate files under ``paths``: folders recursively, DICOMDIRs resolved.

    A DICOMDIR given directly yields only the files it references; one met while walking a
    folder adds its referenced files (any outside the folder too) and is not itself imported.
    Hidden names (starting with ``.``) and the store's own database files are skipped.

    Parameters
    ----------
    paths : list of str or os.PathLike
        Files and folders.

    Returns
    -------
    files : list of pathlib.Path
        Absolute paths, without repeats, in a stable order.
    errors : list of str
        One line per path that does not exist or cannot be read.
    """
    if isinstance(paths, str | os.PathLike):
        raise TypeError("paths must be a list of paths")
    files: dict[Path, None] = {}
    errors: list[str] = []

    def add(p: Path) -> None:
        files.setdefault(Path(os.path.normpath(p.absolute())), None)

    def walk_error(exc: OSError) -> None:
        errors.append(f"{exc.filename}: cannot read folder: {exc.strerror or exc}")

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for folder, dirnames, filenames in os.walk(path, onerror=walk_error):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    if name.startswith(".") or name in _STORE_FILES:
                        continue
                    full = Path(folder) / name
                    if name.upper() == "DICOMDIR":
                        refs, errs = dicomdir_files(full)
                        errors += errs
                        for ref in refs:
                            add(ref)
                    else:
                        add(full)
        elif path.name.upper() == "DICOMDIR" and path.is_file():
            refs, errs = dicomdir_files(path)
            errors += errs
            for ref in refs:
                add(ref)
        elif path.exists() or path.is_symlink():
            add(path)
        else:
            errors.append(f"{path}: no such file or folder")
    return list(files), errors


def import_paths(
    store: Store,
    paths: list[str | os.PathLike[str]],
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
    batch_size: int = 200,
    batch_seconds: float = 0.5,
) -> ImportSummary:
    """Index the DICOM files under ``paths`` into ``store`` where they lie.

    Parameters
    ----------
    store : Store
        The open store.
    paths : list of str or os.PathLike
        Files, folders (recursive) and DICOMDIRs.
    progress : callable, optional
        ``progress(done, total, message)`` after each file.
    cancel : object with ``is_set()``, optional
        Checked between files; what was done is kept.
    batch_size : int
        Files written per transaction at most.
    batch_seconds : float
        A batch is written at least this often.

    Returns
    -------
    ImportSummary
        Counts and one error line per bad file; bad files never stop the import.
    """
    if not isinstance(store, Store):
        raise TypeError(f"store must be a Store, got {type(store).__name__}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if not isinstance(batch_seconds, int | float) or batch_seconds <= 0:
        raise ValueError(f"batch_seconds must be positive, got {batch_seconds!r}")
    files, errors = collect_files(list(paths))
    summary = ImportSummary(errors=errors)
    total = len(files)
    batch: list[tuple[Path, object, os.stat_result]] = []
    last_flush = time.monotonic()

    def flush() -> None:
        nonlocal last_flush
        if batch:
            with store.transaction():
                for path, header, st in batch:
                    outcome = store.add_header(header, path, origin="imported", stat=st)
                    if outcome.status == "added":
                        summary.added += 1
                        summary.studies.add(outcome.study_uid)
                        summary.new_studies += outcome.new_study
                    elif outcome.status == "relocated":
                        summary.relocated += 1
                        summary.studies.add(outcome.study_uid)
                    else:
                        summary.duplicates += 1
            batch.clear()
        last_flush = time.monotonic()

    for done, path in enumerate(files, start=1):
        if cancel is not None and cancel.is_set():
            summary.cancelled = True
            break
        summary.files += 1
        try:
            st = os.stat(path)
            if not stat_mod.S_ISREG(st.st_mode):
                raise InputError(f"{path}: not a regular file")
            if store.indexed_stat(path) == (st.st_size, st.st_mtime_ns):
                summary.duplicates += 1
            else:
                batch.append((path, read_header(path), st))
        except InputError as exc:
            summary.errors.append(str(exc))
        except OSError as exc:
            summary.errors.append(f"{path}: cannot read: {exc.strerror or exc}")
        if len(batch) >= batch_size or time.monotonic() - last_flush >= batch_seconds:
            flush()
        if progress is not None:
            progress(done, total, path.name)
    flush()
    return summary
