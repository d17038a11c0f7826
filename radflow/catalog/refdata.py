"""Reference data read on every order, cached per process and dropped as soon as it changes.

An inbound HL7 order reads the same few rows each time (the HL7 interfaces and their sites, the
exam types and their procedure codes, the SLA policies, the completeness rules), and those rows
change a few times a year: reading them per message cost a third of the inbound path's queries.

What keeps a cached value right: every statement that writes one of the ``WATCHED`` tables, by
whatever path (services, the admin, bulk ORM updates, raw SQL, another process), makes the
database itself set the one ``ReferenceGeneration`` row to a value never used before
(PostgreSQL: a sequence, whose values a rollback does not give back; SQLite: a 64-bit random
number), inside the writer's transaction. A cached value is used only while the generation read
now is the one it was loaded under, so a reader sees a change as soon as it is committed, sees
its own transaction's changes at once, and never keeps data of a rolled-back transaction (that
generation value is never read again). The price is one single-row read per use.

The triggers are (re)installed after every ``migrate`` (``CatalogConfig``): SQLite drops a
table's triggers when a migration rebuilds the table, as with the audit log's guard. Without the
generation row (a database just flushed) nothing is cached.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

T = TypeVar("T")
M = TypeVar("M", bound=Model)

TABLE = "catalog_referencegeneration"
SEQUENCE = "catalog_referencegeneration_seq"
FUNCTION = "catalog_referencegeneration_bump"
#: Models whose rows the caches hold; many-to-many fields name their link table.
WATCHED = (
    "catalog.ExamType",
    "catalog.ExamType.procedure_codes",
    "interfaces.Hl7Interface",
    "scheduling.Site",
    "orders.SlaPolicy",
    "orders.CompletenessRule",
)


# --- the triggers -------------------------------------------------------------------------------


def watched_tables() -> list[str]:
    tables = []
    for label in WATCHED:
        app_label, model_name, *m2m = label.split(".")
        try:
            model = apps.get_model(app_label, model_name)
        except LookupError:  # an app this installation leaves out
            continue
        if m2m:
            through = model._meta.get_field(m2m[0]).remote_field.through
            tables.append(through._meta.db_table)
        else:
            tables.append(model._meta.db_table)
    return tables


def _postgresql(tables: list[str]) -> list[str]:
    statements = [
        f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE}",
        f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "  # noqa: S608 (constants)
        f"INSERT INTO {TABLE} (id, value) VALUES (1, nextval('{SEQUENCE}')) "
        "ON CONFLICT (id) DO UPDATE SET value = EXCLUDED.value; RETURN NULL; END; $$",
        f"INSERT INTO {TABLE} (id, value) VALUES (1, nextval('{SEQUENCE}')) "  # noqa: S608 (constants)
        "ON CONFLICT (id) DO NOTHING",
    ]
    statements += [
        f'CREATE OR REPLACE TRIGGER {TABLE} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "{t}" '
        f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
        for t in tables
    ]
    return statements


def _sqlite(tables: list[str]) -> list[str]:
    # An UPDATE, not an upsert: the outer statement's conflict policy (Django's INSERT OR
    # IGNORE for many-to-many links) overrides a trigger's own, and would ignore the bump.
    bump = f"UPDATE {TABLE} SET value = random() WHERE id = 1"  # noqa: S608 (a constant)
    statements = [f"INSERT OR IGNORE INTO {TABLE} (id, value) VALUES (1, random())"]  # noqa: S608
    for t in tables:
        for event in ("INSERT", "UPDATE", "DELETE"):
            name = f'"{TABLE}_{t}_{event.lower()}"'
            statements += [
                f"DROP TRIGGER IF EXISTS {name}",  # SQLite has no CREATE OR REPLACE TRIGGER
                f'CREATE TRIGGER {name} AFTER {event} ON "{t}" BEGIN {bump}; END',
            ]
    return statements


def install(connection: BaseDatabaseWrapper) -> None:
    """Create the generation row and the triggers that change it (idempotent)."""
    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
        if TABLE not in existing:
            return
        tables = [t for t in watched_tables() if t in existing]
        if connection.vendor == "postgresql":
            statements = _postgresql(tables)
        elif connection.vendor == "sqlite":
            statements = _sqlite(tables)
        else:  # pragma: no cover - RadFlow runs on these two
            return
        for statement in statements:
            cursor.execute(statement)


# --- reading ------------------------------------------------------------------------------------

_table_seen: set[tuple[str, ...]] = set()


def _database(connection: BaseDatabaseWrapper) -> tuple[str, ...]:
    settings = connection.settings_dict
    return (connection.alias, str(settings["NAME"]), str(settings["HOST"]), str(settings["PORT"]))


def generation(using: str = DEFAULT_DB_ALIAS) -> tuple[tuple[str, ...], int] | None:
    """The database's identity and its current generation, or None (cache nothing)."""
    connection = connections[using]
    database = _database(connection)
    with connection.cursor() as cursor:
        if database not in _table_seen:
            # Before ``migrate`` created it, asking for the row would abort the transaction.
            if TABLE not in connection.introspection.table_names(cursor):
                return None
            _table_seen.add(database)
        cursor.execute(f"SELECT value FROM {TABLE} WHERE id = 1")  # noqa: S608 (a constant)
        row = cursor.fetchone()
    return None if row is None else (database, int(row[0]))


class Cached(Generic[T]):
    """A value loaded from the database, reloaded when the reference generation moves.

    Threads share it; two threads loading at once both load, and either result is right for
    its generation. Hand out copies of model instances (``fresh``): a caller that reads a
    relation or sets a field on one must not change what the next caller gets.
    """

    def __init__(self, load: Callable[[], T]) -> None:
        self._load = load
        self._held: tuple[tuple[tuple[str, ...], int], T] | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        key = generation()  # read before loading: the data is never older than its key
        if key is None:
            return self._load()
        held = self._held
        if held is not None and held[0] == key:
            return held[1]
        value = self._load()
        with self._lock:
            self._held = (key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._held = None


def fresh(instance: M) -> M:
    """A copy of a cached model instance, with its own copies of the related rows loaded."""
    twin = copy.copy(instance)
    cache = twin._state.fields_cache
    for name, related in list(cache.items()):
        if isinstance(related, Model):
            cache[name] = copy.copy(related)
    return twin
