"""Loads the shipped reference data: modalities, capabilities, screening, codes and exams.

The data lives in ``radflow/catalog/data/*.json`` so a department can read and diff it; this module
only upserts it by code. Running it again changes nothing unless the files changed: a row is saved
only when one of its values differs, so history is not padded with no-op versions. With
``update_existing=False`` rows already in the database are left as the coordinator edited them and
only missing codes are added. New rows are bulk-inserted (a fresh database loads in well under a
second); every row is validated with ``clean_fields`` first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models, transaction
from simple_history.utils import bulk_create_with_history

from radflow.catalog.models import (
    CodeSystem,
    Competency,
    ExamType,
    ProcedureCode,
    ScreeningItem,
)
from radflow.scheduling.models import Modality, RoomCapability

DATA_DIR = Path(__file__).resolve().parent / "data"

M = TypeVar("M", bound=models.Model)

#: Exam type many-to-many field -> the key naming its codes in ``exam_types.json``.
EXAM_RELATIONS = {
    "procedure_codes": "procedure_codes",
    "required_screening": "screening",
    "required_capabilities": "capabilities",
    "required_competencies": "competencies",
}


@dataclass
class LoadResult:
    """How many rows of each kind were created, updated or already up to date."""

    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, outcome: str, n: int = 1) -> None:
        bucket: dict[str, int] = getattr(self, outcome)
        bucket[kind] = bucket.get(kind, 0) + n

    def summary(self) -> str:
        kinds = sorted({*self.created, *self.updated, *self.unchanged})
        return "; ".join(
            f"{kind}: {self.created.get(kind, 0)} created, {self.updated.get(kind, 0)} updated, "
            f"{self.unchanged.get(kind, 0)} unchanged"
            for kind in kinds
        )


def read_data(name: str, data_dir: Path = DATA_DIR) -> dict[str, Any]:
    with (data_dir / f"{name}.json").open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def _check_fk(value: str | None, known: dict[str, Any], what: str, owner: str) -> None:
    if value is not None and value not in known:
        raise ValueError(f"{owner!r} names unknown {what}: {value}")


def _validate(obj: models.Model, exclude: list[str]) -> None:
    """Field validation without the per-row queries (foreign keys are checked against dicts)."""
    try:
        obj.clean_fields(exclude=exclude)
    except ValidationError as exc:
        raise ValueError(f"{obj!r}: {exc.message_dict}") from exc


def _upsert_all(
    model: type[M],
    rows: list[dict[str, Any]],
    *,
    kind: str,
    result: LoadResult,
    update_existing: bool,
    fk_fields: tuple[str, ...] = (),
) -> dict[str, M]:
    """Upsert rows keyed by their primary key ``code``; returns every row by code."""
    existing: dict[str, M] = {obj.pk: obj for obj in model._default_manager.all()}
    new: list[M] = []
    for values in rows:
        obj = existing.get(values["code"])
        if obj is None:
            obj = model(**values)
            _validate(obj, exclude=list(fk_fields))
            new.append(obj)
            existing[obj.pk] = obj
            continue
        changed = [name for name, value in values.items() if getattr(obj, name) != value]
        if not changed or not update_existing:
            result.count(kind, "unchanged")
            continue
        for name in changed:
            setattr(obj, name, values[name])
        _validate(obj, exclude=list(fk_fields))
        obj.save(update_fields=changed)
        result.count(kind, "updated")
    model._default_manager.bulk_create(new)
    result.count(kind, "created", len(new))
    return existing


@transaction.atomic
def load_reference(*, update_existing: bool = True, data_dir: Path = DATA_DIR) -> LoadResult:
    """Upsert every reference table from the JSON files, in one transaction."""
    result = LoadResult()
    opts: dict[str, Any] = {"result": result, "update_existing": update_existing}

    modalities = _upsert_all(
        Modality, read_data("modalities", data_dir)["modalities"], kind="modalities", **opts
    )
    capabilities = _upsert_all(
        RoomCapability,
        read_data("room_capabilities", data_dir)["room_capabilities"],
        kind="room capabilities",
        **opts,
    )
    screening = _upsert_all(
        ScreeningItem,
        read_data("screening_items", data_dir)["screening_items"],
        kind="screening items",
        **opts,
    )
    competency_rows = []
    for row in read_data("competencies", data_dir)["competencies"]:
        _check_fk(row["modality"], modalities, "modality", row["code"])
        competency_rows.append(
            {"code": row["code"], "name": row["name"], "modality_id": row["modality"]}
        )
    competencies = _upsert_all(
        Competency, competency_rows, kind="competencies", fk_fields=("modality",), **opts
    )
    codes = _upsert_all(
        ProcedureCode,
        [
            {
                "code": row["code"],
                "system": CodeSystem(row["system"]).value,
                "description": row["description"],
            }
            for row in read_data("procedure_codes", data_dir)["procedure_codes"]
        ],
        kind="procedure codes",
        **opts,
    )
    related: dict[str, dict[str, Any]] = {
        "procedure_codes": codes,
        "required_screening": screening,
        "required_capabilities": capabilities,
        "required_competencies": competencies,
    }
    _load_exam_types(
        read_data("exam_types", data_dir), modalities, related, result, update_existing
    )
    return result


def _exam_values(row: dict[str, Any], catalog: dict[str, Any]) -> dict[str, Any]:
    prep_texts: dict[str, str] = catalog["prep_texts"]
    default, inpatient, portable, bariatric = row["durations"]
    prep_key = row.get("prep")
    if prep_key is not None and prep_key not in prep_texts:
        raise ValueError(f"Exam type {row['code']!r} names unknown prep text {prep_key!r}")
    return {
        "code": row["code"],
        "name": row["name"],
        "modality_id": row["modality"],
        "body_part": row.get("body_part", ""),
        "default_duration_min": default,
        "duration_inpatient_min": inpatient,
        "duration_portable_min": portable,
        "duration_bariatric_min": bariatric,
        # "none" is stored empty: intake asks for prep verification only when there is prep.
        "prep_instructions": prep_texts[prep_key] if prep_key and prep_key != "none" else "",
        # Booking rules (issue 5): fasting exams go in the morning; the room needs cleaning time.
        "prep": catalog.get("prep_kinds", {}).get(prep_key, "none"),
        "turnover_min": row.get(
            "turnover", catalog.get("turnover_by_modality", {}).get(row["modality"], 0)
        ),
        "consent_required": bool(row.get("consent", False)),
        "contrast": bool(row.get("contrast", False)),
    }


def _load_exam_types(
    catalog: dict[str, Any],
    modalities: dict[str, Modality],
    related: dict[str, dict[str, Any]],
    result: LoadResult,
    update_existing: bool,
) -> None:
    existing = {exam.code: exam for exam in ExamType.objects.prefetch_related(*EXAM_RELATIONS)}
    new: list[tuple[ExamType, dict[str, list[str]]]] = []
    for row in catalog["exam_types"]:
        code = row["code"]
        _check_fk(row["modality"], modalities, "modality", code)
        wanted: dict[str, list[str]] = {}
        for name, key in EXAM_RELATIONS.items():
            for item in row[key]:
                _check_fk(item, related[name], key, code)
            wanted[name] = list(row[key])
        values = _exam_values(row, catalog)
        exam = existing.get(code)
        if exam is None:
            exam = ExamType(**values)
            _validate(exam, exclude=["modality"])
            new.append((exam, wanted))
            continue
        if not update_existing:
            result.count("exam types", "unchanged")
            continue
        changed = [name for name, value in values.items() if getattr(exam, name) != value]
        if changed:
            for name in changed:
                setattr(exam, name, values[name])
            _validate(exam, exclude=["modality"])
            exam.save()
        for name, codes in wanted.items():
            manager = getattr(exam, name)
            if {obj.pk for obj in manager.all()} != set(codes):
                manager.set([related[name][item] for item in codes])
                changed.append(name)
        result.count("exam types", "updated" if changed else "unchanged")

    bulk_create_with_history([exam for exam, _ in new], ExamType)
    for name in EXAM_RELATIONS:
        descriptor = getattr(ExamType, name)
        through = descriptor.through
        source = descriptor.field.m2m_field_name()
        target = descriptor.field.m2m_reverse_field_name()
        through.objects.bulk_create(
            [
                through(**{f"{source}_id": exam.pk, f"{target}_id": item})
                for exam, wanted in new
                for item in wanted[name]
            ]
        )
    result.count("exam types", "created", len(new))
