"""Refuse UPDATE and DELETE on the access log at the database (PostgreSQL also refuses TRUNCATE).

The SQL is copied here rather than imported so this migration never changes under our feet.
"""

from __future__ import annotations

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

SQLITE_FORWARD = [
    "CREATE TRIGGER IF NOT EXISTS audit_accesslog_no_update BEFORE UPDATE ON audit_accesslog "
    "BEGIN SELECT RAISE(ABORT, 'audit_accesslog is append-only: UPDATE refused'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_accesslog_no_delete BEFORE DELETE ON audit_accesslog "
    "BEGIN SELECT RAISE(ABORT, 'audit_accesslog is append-only: DELETE refused'); END",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS audit_accesslog_no_update",
    "DROP TRIGGER IF EXISTS audit_accesslog_no_delete",
]
POSTGRES_FORWARD = [
    "CREATE OR REPLACE FUNCTION audit_accesslog_append_only() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    "RAISE EXCEPTION 'audit_accesslog is append-only: % refused', TG_OP "
    "USING ERRCODE = 'insufficient_privilege'; END; $$",
    "CREATE OR REPLACE TRIGGER audit_accesslog_no_change BEFORE UPDATE OR DELETE "
    "ON audit_accesslog FOR EACH ROW EXECUTE FUNCTION audit_accesslog_append_only()",
    "CREATE OR REPLACE TRIGGER audit_accesslog_no_truncate BEFORE TRUNCATE "
    "ON audit_accesslog FOR EACH STATEMENT EXECUTE FUNCTION audit_accesslog_append_only()",
]
POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS audit_accesslog_no_change ON audit_accesslog",
    "DROP TRIGGER IF EXISTS audit_accesslog_no_truncate ON audit_accesslog",
    "DROP FUNCTION IF EXISTS audit_accesslog_append_only()",
]


def _run(schema_editor: BaseDatabaseSchemaEditor, *, sqlite: list[str], postgres: list[str]) -> None:
    vendor = schema_editor.connection.vendor
    statements = sqlite if vendor == "sqlite" else postgres if vendor == "postgresql" else []
    for statement in statements:
        schema_editor.execute(statement, params=None)


def forward(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    _run(schema_editor, sqlite=SQLITE_FORWARD, postgres=POSTGRES_FORWARD)
    head_model = apps.get_model("audit", "AccessLogHead")
    head_model.objects.using(schema_editor.connection.alias).get_or_create(
        id=1, defaults={"seq": 0, "row_hash": "0" * 64}
    )


def reverse(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    _run(schema_editor, sqlite=SQLITE_REVERSE, postgres=POSTGRES_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_accesslog_user_keeps_id_on_user_delete")]

    operations = [migrations.RunPython(forward, reverse)]
