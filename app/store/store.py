"""The study store: a folder with ``crescent.sqlite`` (SQLite, WAL) and the files it received or made."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from app.errors import CrescentError, InputError
from app.store.headers import InstanceHeader, read_header
from app.store.location import DB_NAME, resolve_store_dir
from app.store.migrate import migrate
from app.store.records import (
    DERIVED_KINDS,
    ORIGINS,
    STUDY_STATUSES,
    AddOutcome,
    DerivedRecord,
    InstanceRecord,
    SeriesRecord,
    StudyDetail,
    StudySummary,
)

FILES_DIR = "files"
"""Sub-folder of the store for DICOM files it received or made: ``files/<study>/<series>/<sop>.dcm``."""
DERIVED_DIR = "derived"
"""Sub-folder of the store for other files it made: ``derived/<study>/<name>``."""

_UID = re.compile(r"^[0-9]+(\.[0-9]+)*\Z")


class StoreError(CrescentError):
    """The store cannot be opened or used (not a store, not writable, damaged)."""


class UnknownStudyError(InputError):
    """No study with the given Study Instance UID is in the store."""


def _check_uid(value: str, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {type(value).__name__}")
    if not value or len(value) > 64 or not _UID.match(value):
        raise ValueError(f"{what} is not a DICOM UID: {value!r}")
    return value


class Store:
    """An open study store.

    Use :meth:`Store.open`; close it with :meth:`close` or a ``with`` block. One ``Store`` is
    used from one thread (open another in a worker thread); several processes may use the same
    store at once (SQLite WAL: readers never wait for the writer).

    Attributes
    ----------
    root : pathlib.Path
        The store folder.
    db_path : pathlib.Path
        ``root / "crescent.sqlite"``.
    """

    def __init__(self, root: Path, conn: sqlite3.Connection):
        self.root = root
        self.db_path = root / DB_NAME
        self._conn = conn
        self._depth = 0
        self._ids: dict[tuple[str, str], int] = {}

    # ----------------------------------------------------------------- opening
    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, *, timeout_s: float = 30.0) -> Store:
        """Open (creating if needed) the store in ``path`` and bring its schema up to date.

        Parameters
        ----------
        path : str or os.PathLike or None
            The store folder; ``None`` means ``$CRESCENT_HOME`` or the user data folder
            (see :func:`app.store.location.resolve_store_dir`).
        timeout_s : float
            How long to wait for another process's write transaction.

        Returns
        -------
        Store

        Raises
        ------
        StoreError
            When the folder cannot be created or the database is not a Crescent store.
        """
        if not isinstance(timeout_s, int | float) or timeout_s < 0:
            raise ValueError(f"timeout_s must be a non-negative number, got {timeout_s!r}")
        root = resolve_store_dir(path)
        if root.exists() and not root.is_dir():
            raise StoreError(f"{root}: the store must be a folder, but this is a file")
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{root}: cannot create the store folder: {exc.strerror or exc}") from None
        db = root / DB_NAME
        try:
            conn = sqlite3.connect(db, isolation_level=None, timeout=timeout_s)
        except sqlite3.Error as exc:
            raise StoreError(f"{db}: cannot open the store database: {exc}") from None
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"{db}: cannot switch the store database to WAL mode (got {mode})")
            conn.execute("PRAGMA synchronous = NORMAL")
            migrate(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"{db}: not a usable store database: {exc}") from None
        except BaseException:
            conn.close()
            raise
        return cls(root, conn)

    def close(self) -> None:
        """Close the database connection (idempotent)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def connection(self) -> sqlite3.Connection:
        """The SQLite connection (autocommit mode; use :meth:`transaction` for writes).

        Other modules with their own tables (findings, reports, jobs) use it directly.
        """
        if self._conn is None:
            raise StoreError(f"{self.db_path}: the store is closed")
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: everything inside commits together or not at all.

        Nested uses become savepoints. Yields the connection.
        """
        conn = self.connection
        if self._depth == 0:
            conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            finally:
                self._depth = 0
                self._ids.clear()
        else:
            name = f"crescent_sp{self._depth}"
            conn.execute(f"SAVEPOINT {name}")
            self._depth += 1
            try:
                yield conn
                conn.execute(f"RELEASE {name}")
            except BaseException:
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
                self._ids.clear()
                raise
            finally:
                self._depth -= 1

    # ----------------------------------------------------------------- paths
    def _db_path(self, path: Path) -> str:
        path = Path(os.path.normpath(Path(path).absolute()))
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def _abs_path(self, stored: str) -> Path:
        path = Path(stored)
        return path if path.is_absolute() else self.root / path

    def received_path(self, study_uid: str, series_uid: str, sop_instance_uid: str) -> Path:
        """Where the store keeps a DICOM file it received or made (the folders are created).

        Parameters
        ----------
        study_uid, series_uid, sop_instance_uid : str
            The instance's UIDs.

        Returns
        -------
        pathlib.Path
            ``root/files/<study>/<series>/<sop>.dcm``.
        """
        for value, what in ((study_uid, "study_uid"), (series_uid, "series_uid"), (sop_instance_uid, "sop_uid")):
            _check_uid(value, what)
        folder = self.root / FILES_DIR / study_uid / series_uid
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{sop_instance_uid}.dcm"

    def derived_path(self, study_uid: str, name: str) -> Path:
        """Where to write a derived file (report PDF, CAD JSON, ...) of a study (the folder is created).

        Parameters
        ----------
        study_uid : str
            The study.
        name : str
            A plain file name (no folders).

        Returns
        -------
        pathlib.Path
            ``root/derived/<study>/<name>``.
        """
        _check_uid(study_uid, "study_uid")
        if not isinstance(name, str) or not name or name != Path(name).name or name in (".", ".."):
            raise ValueError(f"name must be a plain file name, got {name!r}")
        folder = self.root / DERIVED_DIR / study_uid
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    # ----------------------------------------------------------------- adding
    def add_file(self, path: str | os.PathLike[str], *, origin: str = "imported") -> AddOutcome:
        """Read a DICOM file's header and index the file where it lies.

        Parameters
        ----------
        path : str or os.PathLike
            The file.
        origin : {"imported", "received", "made"}
            Where the file came from.

        Returns
        -------
        AddOutcome
            ``added``, or ``duplicate`` when the SOP Instance UID is already in the store.

        Raises
        ------
        InputError
            When the file is not a readable DICOM instance (one line naming file and reason).
        """
        header = read_header(path)
        return self.add_header(header, path, origin=origin)

    def add_header(
        self,
        header: InstanceHeader,
        path: str | os.PathLike[str],
        *,
        origin: str = "imported",
        stat: os.stat_result | None = None,
    ) -> AddOutcome:
        """Index a file whose header was already read (see :func:`app.store.headers.read_header`).

        Parameters
        ----------
        header : InstanceHeader
            The file's indexed attributes.
        path : str or os.PathLike
            The file.
        origin : {"imported", "received", "made"}
            Where the file came from.
        stat : os.stat_result, optional
            The file's ``os.stat`` (taken now when not given).

        Returns
        -------
        AddOutcome
        """
        if not isinstance(header, InstanceHeader):
            raise TypeError(f"header must be an InstanceHeader, got {type(header).__name__}")
        if origin not in ORIGINS:
            raise ValueError(f"origin must be one of {ORIGINS}, got {origin!r}")
        path = Path(path)
        if stat is None:
            try:
                stat = path.stat()
            except OSError as exc:
                raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
        stored = self._db_path(path)
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT i.id, i.path, st.study_uid FROM instances i JOIN series se ON se.id = i.series "
                "JOIN studies st ON st.id = se.study WHERE i.sop_instance_uid = ?",
                (header.sop_instance_uid,),
            ).fetchone()
            if row is not None:
                if row[1] != stored and not self._abs_path(row[1]).exists():
                    conn.execute(
                        "UPDATE instances SET path = ?, origin = ?, file_size = ?, file_mtime_ns = ? WHERE id = ?",
                        (stored, origin, stat.st_size, stat.st_mtime_ns, row[0]),
                    )
                    return AddOutcome("relocated", header.sop_instance_uid, row[2])
                return AddOutcome("duplicate", header.sop_instance_uid, row[2])
            series_id, new_study = self._series_id(conn, header)
            conn.execute(
                "INSERT INTO instances (sop_instance_uid, sop_class_uid, series, instance_number, path, origin,"
                " file_size, file_mtime_ns, transfer_syntax_uid, frames, rows, columns, laterality, view,"
                " presentation_intent, image_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    header.sop_instance_uid,
                    header.sop_class_uid,
                    series_id,
                    header.instance_number,
                    stored,
                    origin,
                    stat.st_size,
                    stat.st_mtime_ns,
                    header.transfer_syntax_uid,
                    header.frames,
                    header.rows,
                    header.columns,
                    header.laterality,
                    header.view,
                    header.presentation_intent,
                    header.image_type,
                ),
            )
        return AddOutcome("added", header.sop_instance_uid, header.study_uid, new_study)

    def _series_id(self, conn: sqlite3.Connection, h: InstanceHeader) -> tuple[int, bool]:
        key = ("series", h.series_uid)
        if key in self._ids:
            return self._ids[key], False
        row = conn.execute("SELECT id FROM series WHERE series_uid = ?", (h.series_uid,)).fetchone()
        new_study = False
        if row is None:
            study_id, new_study = self._study_id(conn, h)
            cur = conn.execute(
                "INSERT INTO series (series_uid, study, modality, series_number, description, manufacturer, model,"
                " body_part) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    h.series_uid,
                    study_id,
                    h.modality,
                    h.series_number,
                    h.series_description,
                    h.manufacturer,
                    h.model,
                    h.body_part,
                ),
            )
            row = (cur.lastrowid,)
        self._ids[key] = row[0]
        return row[0], new_study

    def _study_id(self, conn: sqlite3.Connection, h: InstanceHeader) -> tuple[int, bool]:
        row = conn.execute("SELECT id FROM studies WHERE study_uid = ?", (h.study_uid,)).fetchone()
        if row is not None:
            return row[0], False
        patient = conn.execute(
            "SELECT id FROM patients WHERE patient_id = ? AND issuer = ?", (h.patient_id, h.issuer)
        ).fetchone()
        if patient is None:
            patient = (
                conn.execute(
                    "INSERT INTO patients (patient_id, issuer, name, birth_date, sex) VALUES (?, ?, ?, ?, ?)",
                    (h.patient_id, h.issuer, h.patient_name, h.birth_date, h.sex),
                ).lastrowid,
            )
        cur = conn.execute(
            "INSERT INTO studies (study_uid, patient, study_date, study_time, accession, study_id, description,"
            " referring) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                h.study_uid,
                patient[0],
                h.study_date,
                h.study_time,
                h.accession,
                h.study_id,
                h.study_description,
                h.referring,
            ),
        )
        return cur.lastrowid, True

    def indexed_stat(self, path: str | os.PathLike[str]) -> tuple[int, int] | None:
        """``(file_size, mtime_ns)`` recorded for the instance at ``path``, or ``None`` if not indexed.

        The importer uses it to skip files it has already indexed without reading them again.
        """
        row = self.connection.execute(
            "SELECT file_size, file_mtime_ns FROM instances WHERE path = ? LIMIT 1", (self._db_path(Path(path)),)
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def add_derived(
        self,
        kind: str,
        path: str | os.PathLike[str],
        *,
        study_uid: str | None = None,
        sources: Iterable[str] = (),
        source_ids: Iterable[int] = (),
        description: str = "",
        software: str = "",
        parameters: dict | None = None,
    ) -> DerivedRecord:
        """Record a derived object (volume, synthetic 2D, CAD result, report) and its sources.

        A DICOM file (reconstructed volume, CAD SR, report SR) is also indexed as an instance
        (origin ``made`` when it lies inside the store folder, else ``imported``).

        Parameters
        ----------
        kind : str
            One of :data:`app.store.records.DERIVED_KINDS`.
        path : str or os.PathLike
            The existing file.
        study_uid : str, optional
            The study it belongs to; defaults to a DICOM file's own Study Instance UID and is
            required for other files. The study must be in the store.
        sources : iterable of str
            SOP Instance UIDs of the store instances it was made from.
        source_ids : iterable of int
            Ids of derived objects it was made from (e.g. the volume a CAD result came from).
        description, software : str
            Free text shown to the user; the program and version that made it.
        parameters : dict, optional
            JSON-serialisable parameters (algorithm, iterations, model id, ...).

        Returns
        -------
        DerivedRecord

        Raises
        ------
        UnknownStudyError
            When the study or a source is not in the store.
        InputError
            When the file does not exist or is a damaged DICOM file.
        """
        if kind not in DERIVED_KINDS:
            raise ValueError(f"kind must be one of {DERIVED_KINDS}, got {kind!r}")
        for text, what in ((description, "description"), (software, "software")):
            if not isinstance(text, str):
                raise TypeError(f"{what} must be a str")
        sources = [_check_uid(s, "source UID") for s in sources]
        source_ids = [int(i) for i in source_ids]
        params = json.dumps({} if parameters is None else parameters, sort_keys=True)
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: no such file")
        header = None
        try:
            header = read_header(path)
        except InputError as exc:
            if "not a DICOM file" not in str(exc):
                raise
        if header is not None:
            if study_uid is not None and study_uid != header.study_uid:
                raise ValueError(f"{path}: StudyInstanceUID {header.study_uid} is not the study_uid {study_uid}")
            study_uid = header.study_uid
        if study_uid is None:
            raise ValueError("study_uid is required for a file that is not DICOM")
        _check_uid(study_uid, "study_uid")
        with self.transaction() as conn:
            instance_id = None
            if header is not None:
                inside = not Path(self._db_path(path)).is_absolute()
                self.add_header(header, path, origin="made" if inside else "imported")
                instance_id = conn.execute(
                    "SELECT id FROM instances WHERE sop_instance_uid = ?", (header.sop_instance_uid,)
                ).fetchone()[0]
            study = conn.execute("SELECT id FROM studies WHERE study_uid = ?", (study_uid,)).fetchone()
            if study is None:
                raise UnknownStudyError(f"no study {study_uid} in the store {self.root}")
            derived_id = conn.execute(
                "INSERT INTO derived (study, kind, path, instance, description, software, parameters)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (study[0], kind, self._db_path(path), instance_id, description, software, params),
            ).lastrowid
            for uid in dict.fromkeys(sources):
                row = conn.execute("SELECT id FROM instances WHERE sop_instance_uid = ?", (uid,)).fetchone()
                if row is None:
                    raise UnknownStudyError(f"source instance {uid} is not in the store {self.root}")
                conn.execute(
                    "INSERT INTO derived_sources (derived, source_instance) VALUES (?, ?)", (derived_id, row[0])
                )
            for sid in dict.fromkeys(source_ids):
                if sid == derived_id or conn.execute("SELECT 1 FROM derived WHERE id = ?", (sid,)).fetchone() is None:
                    raise UnknownStudyError(f"source derived object {sid} is not in the store {self.root}")
                conn.execute("INSERT INTO derived_sources (derived, source_derived) VALUES (?, ?)", (derived_id, sid))
        return self.derived(ids=[derived_id])[0]

    # ----------------------------------------------------------------- status
    def set_status(self, study_uid: str, status: str, *, by: str = "") -> None:
        """Set a study's reading status.

        Parameters
        ----------
        study_uid : str
            The study.
        status : {"unread", "read", "reported"}
            The new status.
        by : str
            Who set it (the reader's name).

        Raises
        ------
        UnknownStudyError
            When the study is not in the store.
        """
        if status not in STUDY_STATUSES:
            raise ValueError(f"status must be one of {STUDY_STATUSES}, got {status!r}")
        if not isinstance(by, str):
            raise TypeError("by must be a str")
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE studies SET status = ?, status_by = ?, status_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"
                " WHERE study_uid = ?",
                (status, by, study_uid),
            )
            if cur.rowcount == 0:
                raise UnknownStudyError(f"no study {study_uid} in the store {self.root}")

    # ----------------------------------------------------------------- queries
    _SUMMARY_SQL = """
        SELECT st.study_uid, p.name, p.patient_id, p.birth_date, p.sex, st.study_date, st.study_time,
               st.accession, st.description,
               (SELECT group_concat(m, '\\') FROM (SELECT DISTINCT modality AS m FROM series
                    WHERE study = st.id AND modality != '' ORDER BY m)),
               (SELECT group_concat(m, '\\') FROM (SELECT DISTINCT manufacturer AS m FROM series
                    WHERE study = st.id AND manufacturer != '' ORDER BY m)),
               (SELECT group_concat(v, '\\') FROM (SELECT DISTINCT i.laterality || i.view AS v FROM instances i
                    JOIN series se ON se.id = i.series WHERE se.study = st.id AND i.view != '' ORDER BY v)),
               (SELECT count(*) FROM series WHERE study = st.id),
               (SELECT count(*) FROM instances i JOIN series se ON se.id = i.series WHERE se.study = st.id),
               st.status, st.status_at, st.status_by, st.added_at
        FROM studies st JOIN patients p ON p.id = st.patient
    """

    @staticmethod
    def _summary(row) -> StudySummary:
        def split(text):
            return tuple(text.split("\\")) if text else ()

        return StudySummary(
            study_uid=row[0],
            patient_name=row[1],
            patient_id=row[2],
            birth_date=row[3],
            sex=row[4],
            study_date=row[5],
            study_time=row[6],
            accession=row[7],
            description=row[8],
            modalities=split(row[9]),
            manufacturers=split(row[10]),
            views=split(row[11]),
            series_count=row[12],
            instance_count=row[13],
            status=row[14],
            status_at=row[15],
            status_by=row[16],
            added_at=row[17],
        )

    def studies(
        self,
        *,
        status: str | None = None,
        text: str | None = None,
        patient_id: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        limit: int | None = None,
    ) -> list[StudySummary]:
        """The worklist: studies, newest study date first.

        Parameters
        ----------
        status : {"unread", "read", "reported"}, optional
            Only studies with this status.
        text : str, optional
            Case-insensitive substring of the patient name or id, accession or description.
        patient_id : str, optional
            Only this patient's studies (exact Patient ID).
        date_from, date_to : str, optional
            Study Date range, ``YYYYMMDD``, inclusive.
        limit : int, optional
            At most this many rows.

        Returns
        -------
        list of StudySummary
        """
        where, params = [], []
        if status is not None:
            if status not in STUDY_STATUSES:
                raise ValueError(f"status must be one of {STUDY_STATUSES}, got {status!r}")
            where.append("st.status = ?")
            params.append(status)
        if text:
            like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append(
                "(p.name LIKE ? ESCAPE '\\' OR p.patient_id LIKE ? ESCAPE '\\'"
                " OR st.accession LIKE ? ESCAPE '\\' OR st.description LIKE ? ESCAPE '\\')"
            )
            params += [like] * 4
        if patient_id is not None:
            where.append("p.patient_id = ?")
            params.append(patient_id)
        for value, op, what in ((date_from, ">=", "date_from"), (date_to, "<=", "date_to")):
            if value is not None:
                if not (isinstance(value, str) and re.fullmatch(r"\d{8}", value)):
                    raise ValueError(f"{what} must be YYYYMMDD, got {value!r}")
                where.append(f"st.study_date != '' AND st.study_date {op} ?")
                params.append(value)
        sql = self._SUMMARY_SQL
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY st.study_date DESC, st.study_time DESC, st.id DESC"
        if limit is not None:
            if not isinstance(limit, int) or limit < 0:
                raise ValueError(f"limit must be a non-negative int, got {limit!r}")
            sql += f" LIMIT {limit}"
        return [self._summary(r) for r in self.connection.execute(sql, params)]

    _INSTANCE_SQL = """
        SELECT i.sop_instance_uid, i.sop_class_uid, se.series_uid, st.study_uid, i.instance_number, i.path, i.origin,
               i.file_size, i.transfer_syntax_uid, i.frames, i.rows, i.columns, i.laterality, i.view,
               i.presentation_intent, i.image_type
        FROM instances i JOIN series se ON se.id = i.series JOIN studies st ON st.id = se.study
    """

    def _instance(self, r) -> InstanceRecord:
        return InstanceRecord(
            sop_instance_uid=r[0],
            sop_class_uid=r[1],
            series_uid=r[2],
            study_uid=r[3],
            instance_number=r[4],
            path=self._abs_path(r[5]),
            origin=r[6],
            file_size=r[7],
            transfer_syntax_uid=r[8],
            frames=r[9],
            rows=r[10],
            columns=r[11],
            laterality=r[12],
            view=r[13],
            presentation_intent=r[14],
            image_type=r[15],
        )

    def instances(self, *, study_uid: str | None = None, series_uid: str | None = None) -> list[InstanceRecord]:
        """Instances, optionally of one study and/or one series, in series then instance order.

        Parameters
        ----------
        study_uid, series_uid : str, optional
            Filters.

        Returns
        -------
        list of InstanceRecord
        """
        where, params = [], []
        if study_uid is not None:
            where.append("st.study_uid = ?")
            params.append(study_uid)
        if series_uid is not None:
            where.append("se.series_uid = ?")
            params.append(series_uid)
        sql = self._INSTANCE_SQL + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY st.id, se.series_number IS NULL, se.series_number, se.id,"
        sql += " i.instance_number IS NULL, i.instance_number, i.sop_instance_uid"
        return [self._instance(r) for r in self.connection.execute(sql, params)]

    def instance(self, sop_instance_uid: str) -> InstanceRecord | None:
        """The instance with this SOP Instance UID, or ``None``."""
        row = self.connection.execute(
            self._INSTANCE_SQL + " WHERE i.sop_instance_uid = ?", (sop_instance_uid,)
        ).fetchone()
        return None if row is None else self._instance(row)

    def files(self, study_uid: str, *, series_uid: str | None = None) -> list[Path]:
        """The files of a study (or of one of its series), for a reader to open.

        Raises
        ------
        UnknownStudyError
            When the study is not in the store.
        """
        if self.connection.execute("SELECT 1 FROM studies WHERE study_uid = ?", (study_uid,)).fetchone() is None:
            raise UnknownStudyError(f"no study {study_uid} in the store {self.root}")
        return [i.path for i in self.instances(study_uid=study_uid, series_uid=series_uid)]

    def study(self, study_uid: str) -> StudyDetail:
        """One study with its series, instances and derived objects.

        Parameters
        ----------
        study_uid : str
            The Study Instance UID.

        Returns
        -------
        StudyDetail

        Raises
        ------
        UnknownStudyError
            When the study is not in the store.
        """
        row = self.connection.execute(self._SUMMARY_SQL + " WHERE st.study_uid = ?", (study_uid,)).fetchone()
        if row is None:
            raise UnknownStudyError(f"no study {study_uid} in the store {self.root}")
        by_series: dict[str, list[InstanceRecord]] = {}
        for inst in self.instances(study_uid=study_uid):
            by_series.setdefault(inst.series_uid, []).append(inst)
        series = []
        for r in self.connection.execute(
            "SELECT se.series_uid, se.modality, se.series_number, se.description, se.manufacturer, se.model,"
            " se.body_part FROM series se JOIN studies st ON st.id = se.study WHERE st.study_uid = ?"
            " ORDER BY se.series_number IS NULL, se.series_number, se.id",
            (study_uid,),
        ):
            series.append(
                SeriesRecord(r[0], study_uid, r[1], r[2], r[3], r[4], r[5], r[6], tuple(by_series.get(r[0], ())))
            )
        return StudyDetail(self._summary(row), tuple(series), tuple(self.derived(study_uid=study_uid)))

    def derived(
        self, *, study_uid: str | None = None, kind: str | None = None, ids: Iterable[int] | None = None
    ) -> list[DerivedRecord]:
        """Derived objects, oldest first.

        Parameters
        ----------
        study_uid : str, optional
            Only this study's.
        kind : str, optional
            Only this kind (see :data:`app.store.records.DERIVED_KINDS`).
        ids : iterable of int, optional
            Only these ids.

        Returns
        -------
        list of DerivedRecord
        """
        where, params = [], []
        if study_uid is not None:
            where.append("st.study_uid = ?")
            params.append(study_uid)
        if kind is not None:
            where.append("d.kind = ?")
            params.append(kind)
        if ids is not None:
            ids = [int(i) for i in ids]
            where.append(f"d.id IN ({','.join('?' * len(ids))})")
            params += ids
        sql = (
            "SELECT d.id, d.kind, st.study_uid, d.path, ifnull(i.sop_instance_uid, ''), d.description, d.software,"
            " d.parameters, d.created_at FROM derived d JOIN studies st ON st.id = d.study"
            " LEFT JOIN instances i ON i.id = d.instance"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY d.id"
        out = []
        for r in self.connection.execute(sql, params).fetchall():
            uids = tuple(
                x[0]
                for x in self.connection.execute(
                    "SELECT i.sop_instance_uid FROM derived_sources ds JOIN instances i ON i.id = ds.source_instance"
                    " WHERE ds.derived = ? ORDER BY i.sop_instance_uid",
                    (r[0],),
                )
            )
            sids = tuple(
                x[0]
                for x in self.connection.execute(
                    "SELECT source_derived FROM derived_sources WHERE derived = ? AND source_derived IS NOT NULL"
                    " ORDER BY source_derived",
                    (r[0],),
                )
            )
            out.append(
                DerivedRecord(
                    id=r[0],
                    kind=r[1],
                    study_uid=r[2],
                    path=self._abs_path(r[3]),
                    sop_instance_uid=r[4],
                    description=r[5],
                    software=r[6],
                    parameters=json.loads(r[7]),
                    created_at=r[8],
                    source_uids=uids,
                    source_ids=sids,
                )
            )
        return out

    def counts(self) -> dict[str, int]:
        """Rows per table: ``patients``, ``studies``, ``series``, ``instances``, ``derived``."""
        conn = self.connection
        return {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("patients", "studies", "series", "instances", "derived")
        }

    def check(self) -> list[str]:
        """Problems SQLite finds in the database (``integrity_check``, ``foreign_key_check``); empty when sound."""
        conn = self.connection
        problems = [r[0] for r in conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
        problems += [f"foreign key: {tuple(r)}" for r in conn.execute("PRAGMA foreign_key_check")]
        return problems

    # ----------------------------------------------------------------- removing
    def remove_study(self, study_uid: str) -> int:
        """Remove a study's records; delete the files the store itself holds for it.

        Imported files (indexed where they lie) are never deleted. A patient left with no study
        is removed too.

        Parameters
        ----------
        study_uid : str
            The study.

        Returns
        -------
        int
            How many files were deleted.

        Raises
        ------
        UnknownStudyError
            When the study is not in the store.
        """
        with self.transaction() as conn:
            row = conn.execute("SELECT id, patient FROM studies WHERE study_uid = ?", (study_uid,)).fetchone()
            if row is None:
                raise UnknownStudyError(f"no study {study_uid} in the store {self.root}")
            owned = [
                r[0]
                for r in conn.execute(
                    "SELECT i.path FROM instances i JOIN series se ON se.id = i.series"
                    " WHERE se.study = ? AND i.origin != 'imported'"
                    " UNION SELECT path FROM derived WHERE study = ?",
                    (row[0], row[0]),
                )
                if not Path(r[0]).is_absolute()  # relative = inside the store folder
            ]
            conn.execute("DELETE FROM studies WHERE id = ?", (row[0],))
            conn.execute(
                "DELETE FROM patients WHERE id = ? AND NOT EXISTS (SELECT 1 FROM studies WHERE patient = ?)",
                (row[1], row[1]),
            )
        deleted = 0
        for rel in owned:
            try:
                (self.root / rel).unlink()
                deleted += 1
            except FileNotFoundError:
                pass
        return deleted
