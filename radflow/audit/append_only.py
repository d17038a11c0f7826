"""The database-level guard that makes ``audit_accesslog`` append-only.

The model refuses ``save()`` on an existing row and ``delete()``; these triggers refuse the same at
the database, for bulk ORM calls and raw SQL alike. Someone with rights to drop triggers can still
edit rows: that is what the hash chain and ``radflow audit verify`` are for.

SQLite rebuilds a table (and loses its triggers) when a later migration alters it, so
``install`` runs again after every ``migrate`` (see ``AuditConfig``); it is idempotent.
``flush`` lifts the guard for its own duration (see the ``flush`` command in this app).
The first migration that installed the guard keeps its own copy of this SQL, as migrations must.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "audit_accesslog"
MESSAGE = "audit_accesslog is append-only"

SQLITE_INSTALL = [
    f"CREATE TRIGGER IF NOT EXISTS audit_accesslog_no_update BEFORE UPDATE ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}: UPDATE refused'); END",
    f"CREATE TRIGGER IF NOT EXISTS audit_accesslog_no_delete BEFORE DELETE ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}: DELETE refused'); END",
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS audit_accesslog_no_update",
    "DROP TRIGGER IF EXISTS audit_accesslog_no_delete",
]
POSTGRES_INSTALL = [
    "CREATE OR REPLACE FUNCTION audit_accesslog_append_only() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    f"RAISE EXCEPTION '{MESSAGE}: % refused', TG_OP USING ERRCODE = 'insufficient_privilege'; "
    "END; $$",
    f"CREATE OR REPLACE TRIGGER audit_accesslog_no_change BEFORE UPDATE OR DELETE ON {TABLE} "
    "FOR EACH ROW EXECUTE FUNCTION audit_accesslog_append_only()",
    f"CREATE OR REPLACE TRIGGER audit_accesslog_no_truncate BEFORE TRUNCATE ON {TABLE} "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_accesslog_append_only()",
]
POSTGRES_REMOVE = [
    f"DROP TRIGGER IF EXISTS audit_accesslog_no_change ON {TABLE}",
    f"DROP TRIGGER IF EXISTS audit_accesslog_no_truncate ON {TABLE}",
    "DROP FUNCTION IF EXISTS audit_accesslog_append_only()",
]


def _statements(connection: BaseDatabaseWrapper, *, install: bool) -> list[str]:
    if connection.vendor == "sqlite":
        return SQLITE_INSTALL if install else SQLITE_REMOVE
    if connection.vendor == "postgresql":
        return POSTGRES_INSTALL if install else POSTGRES_REMOVE
    return []


def _table_exists(connection: BaseDatabaseWrapper) -> bool:
    with connection.cursor() as cursor:
        return TABLE in connection.introspection.table_names(cursor)


def install(connection: BaseDatabaseWrapper) -> None:
    if not _table_exists(connection):
        return
    with connection.cursor() as cursor:
        for statement in _statements(connection, install=True):
            cursor.execute(statement)


def remove(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        for statement in _statements(connection, install=False):
            cursor.execute(statement)


@contextmanager
def lifted(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """Drop the guard for the block and put it back after, even on error."""
    remove(connection)
    try:
        yield
    finally:
        install(connection)
