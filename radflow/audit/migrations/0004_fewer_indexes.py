"""Drop the single-column indexes on AccessLog.user and AccessLog.patient.

Only the indexes are dropped (``SeparateDatabaseAndState``): altering the fields the usual way
would make SQLite rebuild the table, which drops the append-only triggers of 0003.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

_COLUMNS = ("patient_id", "user_id")


def _drop_single_column_indexes(apps, schema_editor):
    connection = schema_editor.connection
    table = "audit_accesslog"
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    for name, info in constraints.items():
        if info["index"] and not info["primary_key"] and not info["unique"] and info["columns"] in (
            [column] for column in _COLUMNS
        ):
            schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")


def _create_single_column_indexes(apps, schema_editor):
    model = apps.get_model("audit", "AccessLog")
    for column in _COLUMNS:
        field = model._meta.get_field(column.removesuffix("_id"))
        schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_accesslog_append_only_triggers"),
        ("patients", "0002_patient_name_key_and_mrn_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="accesslog",
                    name="patient",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="patients.patient",
                    ),
                ),
                migrations.AlterField(
                    model_name="accesslog",
                    name="user",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(_drop_single_column_indexes, _create_single_column_indexes)
            ],
        )
    ]
