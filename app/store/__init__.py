"""The study store: SQLite (WAL) in a folder, with the files it received or made.

>>> from app.store import Store
>>> with Store.open() as store:           # $CRESCENT_HOME or ~/.local/share/crescent
...     for study in store.studies(status="unread"):
...         print(study.patient_name, study.study_date, study.views)

See :class:`Store` for the API, :mod:`app.store.migrate` for schema migrations and
:mod:`app.store.importer` for ``crescent import``.
"""

from app.store.headers import InstanceHeader, read_header
from app.store.location import DB_NAME, default_store_dir, resolve_store_dir
from app.store.migrate import MigrationError
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
from app.store.store import Store, StoreError, UnknownStudyError

__all__ = [
    "DB_NAME",
    "DERIVED_KINDS",
    "ORIGINS",
    "STUDY_STATUSES",
    "AddOutcome",
    "DerivedRecord",
    "InstanceHeader",
    "InstanceRecord",
    "MigrationError",
    "SeriesRecord",
    "Store",
    "StoreError",
    "StudyDetail",
    "StudySummary",
    "UnknownStudyError",
    "default_store_dir",
    "read_header",
    "resolve_store_dir",
]
