"""Seed the KPI definitions and the RVU table from radflow/kpis/data (rerunnable: only missing rows)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from django.db import migrations

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def seed(apps, schema_editor):
    KpiDefinition = apps.get_model("kpis", "KpiDefinition")
    ProcedureRvu = apps.get_model("kpis", "ProcedureRvu")
    kpis = json.loads((DATA_DIR / "kpis.json").read_text())["kpis"]
    known = set(KpiDefinition.objects.values_list("code", flat=True))
    KpiDefinition.objects.bulk_create(
        KpiDefinition(
            code=row["code"],
            name=row["name"],
            category=row["category"],
            formula=row["formula"],
            unit=row["unit"],
            direction=row["direction"],
            headline=row.get("headline", "value"),
            target=row.get("target"),
            amber=row.get("amber"),
            red=row.get("red"),
            reference_value=row.get("reference_value"),
            reference_label=row.get("reference_label", ""),
            source=row["source"],
            filters=row.get("filters", []),
            position=index,
        )
        for index, row in enumerate(kpis)
        if row["code"] not in known
    )
    rvus = json.loads((DATA_DIR / "rvus.json").read_text())
    have = set(ProcedureRvu.objects.values_list("code", flat=True))
    ProcedureRvu.objects.bulk_create(
        ProcedureRvu(code=row["code"], rvu=Decimal(str(row["rvu"])), source=rvus["source"])
        for row in rvus["rvus"]
        if row["code"] not in have
    )


class Migration(migrations.Migration):
    dependencies = [("kpis", "0001_definitions_targets_rollups")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
