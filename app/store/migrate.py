"""Schema migrations: ordered SQL files applied once each, recorded in ``schema_migrations``.

Convention
----------
Every file ``app/store/migrations/NNN_name.sql`` (three digits, lower-case name) is one
migration. They are applied in numeric order, each in its own transaction together with the
row that records it in ``schema_migrations``, so a crash leaves either all of a migration or
none of it. A file must not contain ``BEGIN``/``COMMIT`` or ``PRAGMA foreign_keys`` (they do
not work inside a transaction). Never edit a migration that has shipped: add a new one.

Numbers are shared out by module: 001-099 the core store, 100-149 findings and reports,
200 and up later work.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from importlib import resources

from app.errors import CrescentError

MIGRATIONS_PACKAGE = "app.store.migrations"
_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql\Z")


class MigrationError(CrescentError):
    """The store's schema cannot be brought up to date."""


@dataclass(frozen=True)
class Migration:
    """One schema migration file."""

    version: int
    name: str
    sql: str


def available_migrations(package: str = MIGRATIONS_PACKAGE) -> list[Migration]:
    """The migration files shipped in ``package``, in the order they apply.

    Parameters
    ----------
    package : str
        Dotted name of the package holding the ``NNN_name.sql`` files.

    Returns
    -------
    list of Migration
        Sorted by version.

    Raises
    ------
    MigrationError
        When two files share a number.
    """
    if not isinstance(package, str):
        raise TypeError("package must be a dotted package name")
    found: dict[int, Migration] = {}
    for entry in resources.files(package).iterdir():
        match = _NAME.match(entry.name)
        if not match:
            continue
        version = int(match.group(1))
        if version in found:
            raise MigrationError(
                f"two schema migrations numbered {version:03d}: {found[version].name} and {match.group(2)}"
            )
        found[version] = Migration(version, match.group(2), entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def split_statements(sql: str) -> list[str]:
    """Split an SQL script into complete statements (triggers stay whole).

    Parameters
    ----------
    sql : str
        The script.

    Returns
    -------
    list of str
        Each complete statement, without blank ones.
    """
    statements, current = [], ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip().rstrip(";").strip():
                statements.append(current.strip())
            current = ""
    if current.strip() and not _only_comments(current):
        raise MigrationError(f"incomplete SQL statement at the end of a migration: {current.strip()[:60]!r}")
    return statements


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in text.splitlines())


def applied_versions(conn: sqlite3.Connection) -> set[int]:
    """The migration versions recorded in ``conn``'s ``schema_migrations`` table."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')))"
    )
    return {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}


def migrate(conn: sqlite3.Connection, migrations: list[Migration] | None = None) -> list[int]:
    """Apply the migrations that ``conn`` lacks, each atomically.

    Parameters
    ----------
    conn : sqlite3.Connection
        A connection in autocommit mode (``isolation_level=None``), with no open transaction.
    migrations : list of Migration, optional
        Defaults to :func:`available_migrations`.

    Returns
    -------
    list of int
        The versions applied now (empty when the schema was up to date).

    Raises
    ------
    MigrationError
        When the store holds a migration this program does not know (it was written by a
        newer Crescent) or a migration fails; the failed migration leaves no trace.
    """
    if conn.isolation_level is not None:
        raise ValueError("migrate needs a connection with isolation_level=None")
    if conn.in_transaction:
        raise ValueError("migrate needs a connection with no open transaction")
    migrations = available_migrations() if migrations is None else list(migrations)
    known = {m.version for m in migrations}
    done: list[int] = []
    applied = applied_versions(conn)
    unknown = sorted(applied - known)
    if unknown:
        raise MigrationError(
            f"the store has schema migration {unknown[0]:03d}, which this version of Crescent does not know "
            "(it was written by a newer version)"
        )
    for migration in migrations:
        if migration.version in applied:
            continue
        conn.execute("BEGIN IMMEDIATE")  # one writer at a time; re-check under the lock
        try:
            if migration.version in applied_versions(conn):
                conn.execute("COMMIT")
                continue
            for statement in split_statements(migration.sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (migration.version, migration.name)
            )
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise MigrationError(
                f"schema migration {migration.version:03d}_{migration.name}.sql failed: {exc}"
            ) from exc
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        done.append(migration.version)
    return done
