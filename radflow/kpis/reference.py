"""The shipped KPI definitions and RVU table (``data/``), loaded by the data migration, the demo
and ``radflow kpi load-definitions``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import transaction

from radflow.kpis.models import KpiDefinition, ProcedureRvu

DATA_DIR = Path(__file__).resolve().parent / "data"

#: Fields a reload refreshes; the default targets are the department's and stay as edited.
DESCRIPTIVE = (
    "name",
    "category",
    "formula",
    "unit",
    "direction",
    "headline",
    "source",
    "filters",
    "reference_value",
    "reference_label",
    "position",
)


@dataclass(frozen=True)
class LoadResult:
    created: int
    updated: int
    rvus: int


def definitions_data(data_dir: Path = DATA_DIR) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads((data_dir / "kpis.json").read_text())["kpis"]
    return [{**row, "position": index} for index, row in enumerate(rows)]


@transaction.atomic
def definitions_sync(*, data_dir: Path = DATA_DIR) -> LoadResult:
    """Create missing definitions, refresh the wording of existing ones, add missing RVUs."""
    created = updated = 0
    for row in definitions_data(data_dir):
        fields = {
            "name": row["name"],
            "category": row["category"],
            "formula": row["formula"],
            "unit": row["unit"],
            "direction": row["direction"],
            "headline": row.get("headline", "value"),
            "source": row["source"],
            "filters": row.get("filters", []),
            "reference_value": row.get("reference_value"),
            "reference_label": row.get("reference_label", ""),
            "position": row["position"],
        }
        definition = KpiDefinition.objects.filter(code=row["code"]).first()
        if definition is None:
            KpiDefinition.objects.create(
                code=row["code"],
                target=row.get("target"),
                amber=row.get("amber"),
                red=row.get("red"),
                **fields,
            )
            created += 1
            continue
        changed = [name for name in DESCRIPTIVE if getattr(definition, name) != fields[name]]
        if changed:
            for name in changed:
                setattr(definition, name, fields[name])
            definition.save(update_fields=changed)
            updated += 1
    data = json.loads((data_dir / "rvus.json").read_text())
    known = set(ProcedureRvu.objects.values_list("code", flat=True))
    new = [
        ProcedureRvu(code=row["code"], rvu=Decimal(str(row["rvu"])), source=data["source"])
        for row in data["rvus"]
        if row["code"] not in known
    ]
    ProcedureRvu.objects.bulk_create(new)
    return LoadResult(created=created, updated=updated, rvus=len(new))
