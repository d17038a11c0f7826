"""Loads the shipped credential types and which exams need them (``data/credential_types.json``).

Upserts by code like the catalog loader, so it may run on every start: a row is saved only when a
value differs, and with ``update_existing=False`` rows an administrator edited are left alone.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import transaction

from radflow.catalog.models import Competency
from radflow.catalog.reference import LoadResult
from radflow.credentials.models import CredentialKind, CredentialRequirement, CredentialType
from radflow.scheduling.models import Modality

DATA_FILE = Path(__file__).resolve().parent / "data" / "credential_types.json"


def _read(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def _check(value: str | None, known: set[str], what: str, owner: str) -> None:
    if value is not None and value not in known:
        raise ValueError(f"{owner!r} names unknown {what}: {value}")


def _sync_m2m(manager: Any, wanted: list[str]) -> bool:
    if set(manager.values_list("pk", flat=True)) == set(wanted):
        return False
    manager.set(wanted)
    return True


@transaction.atomic
def load_credential_reference(
    *, update_existing: bool = True, result: LoadResult | None = None, path: Path = DATA_FILE
) -> LoadResult:
    result = result if result is not None else LoadResult()
    data = _read(path)
    modalities = set(Modality.objects.values_list("code", flat=True))
    competencies = set(Competency.objects.values_list("code", flat=True))
    types = {t.code: t for t in CredentialType.objects.all()}
    for row in data["credential_types"]:
        code = row["code"]
        for modality in row["modalities"]:
            _check(modality, modalities, "modality", code)
        values = {
            "name": row["name"],
            "issuer": row["issuer"],
            "specialty": row.get("specialty", ""),
            "kind": CredentialKind(row["kind"]).value,
            "ce_credits_required": (
                Decimal(str(row["ce_credits"])) if row["ce_credits"] is not None else None
            ),
            "ce_cycle_years": row["ce_cycle_years"],
        }
        obj = types.get(code)
        if obj is None:
            obj = CredentialType.objects.create(code=code, **values)
            obj.modalities.set(row["modalities"])
            types[code] = obj
            result.count("credential types", "created")
            continue
        if not update_existing:
            result.count("credential types", "unchanged")
            continue
        changed = [name for name, value in values.items() if getattr(obj, name) != value]
        if changed:
            for name in changed:
                setattr(obj, name, values[name])
            obj.save(update_fields=changed)
        moved = _sync_m2m(obj.modalities, row["modalities"])
        result.count("credential types", "updated" if changed or moved else "unchanged")

    existing = {r.code: r for r in CredentialRequirement.objects.all()}
    for row in data["requirements"]:
        code = row["code"]
        _check(row["modality"], modalities, "modality", code)
        _check(row["competency"], competencies, "competency", code)
        for type_code in row["types"]:
            _check(type_code, set(types), "credential type", code)
        values = {
            "label": row["label"],
            "modality_id": row["modality"],
            "competency_id": row["competency"],
        }
        req = existing.get(code)
        if req is None:
            req = CredentialRequirement.objects.create(code=code, **values)
            req.credential_types.set(row["types"])
            result.count("credential requirements", "created")
            continue
        if not update_existing:
            result.count("credential requirements", "unchanged")
            continue
        changed = [name for name, value in values.items() if getattr(req, name) != value]
        if changed:
            for name in changed:
                setattr(req, name, values[name])
            req.save(update_fields=changed)
        moved = _sync_m2m(req.credential_types, row["types"])
        result.count("credential requirements", "updated" if changed or moved else "unchanged")
    return result
