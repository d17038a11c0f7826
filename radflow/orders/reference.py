"""Loads the workflow reference data: reason codes, SLA policies, completeness rules, ICD-10 list.

Like the catalog loader, it upserts by natural key and may run on every start; rows a coordinator
has edited are left alone when ``update_existing`` is off, and rules are only ever added.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.db import transaction

from radflow.catalog.models import ExamType
from radflow.catalog.reference import LoadResult
from radflow.exams.models import ReasonCode
from radflow.orders.models import CompletenessRule, DiagnosisCode, SlaPolicy

ORDERS_DATA = Path(__file__).resolve().parent / "data"
EXAMS_DATA = Path(__file__).resolve().parent.parent / "exams" / "data"


def _read(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def _exam_type(code: str | None, known: dict[str, ExamType]) -> ExamType | None:
    if code is None:
        return None
    if code not in known:
        raise ValueError(f"Reference data names unknown exam type {code!r}")
    return known[code]


@transaction.atomic
def load_workflow_reference(*, update_existing: bool = True, result: LoadResult) -> None:
    exam_types = {e.code: e for e in ExamType.objects.all()}
    for row in _read(EXAMS_DATA / "reason_codes.json")["reason_codes"]:
        key = {"kind": row["kind"], "code": row["code"]}
        values = {"label": row["label"], "patient_initiated": row["patient_initiated"]}
        obj = ReasonCode.objects.filter(**key).first()
        if obj is None:
            ReasonCode.objects.create(**key, **values)
            result.count("reason codes", "created")
        elif update_existing and any(getattr(obj, k) != v for k, v in values.items()):
            ReasonCode.objects.filter(pk=obj.pk).update(**values)
            result.count("reason codes", "updated")
        else:
            result.count("reason codes", "unchanged")
    for row in _read(ORDERS_DATA / "sla_policies.json")["sla_policies"]:
        exam_type = _exam_type(row["exam_type"], exam_types)
        key = {"priority": row["priority"], "exam_type": exam_type}
        values = {
            "target_minutes": row["target_minutes"],
            "warning_minutes": row["warning_minutes"],
        }
        policy = SlaPolicy.objects.filter(**key).first()
        if policy is None:
            SlaPolicy.objects.create(**key, **values)
            result.count("SLA policies", "created")
        elif update_existing and any(getattr(policy, k) != v for k, v in values.items()):
            SlaPolicy.objects.filter(pk=policy.pk).update(**values)
            result.count("SLA policies", "updated")
        else:
            result.count("SLA policies", "unchanged")
    for row in _read(ORDERS_DATA / "completeness_rules.json")["completeness_rules"]:
        exam_type = _exam_type(row["exam_type"], exam_types)
        _, created = CompletenessRule.objects.get_or_create(
            requirement=row["requirement"], exam_type=exam_type, payer=None
        )
        result.count("completeness rules", "created" if created else "unchanged")
    icd_file = ORDERS_DATA / "icd10_imaging.json"
    if icd_file.exists():
        known = set(DiagnosisCode.objects.values_list("code", flat=True))
        rows = _read(icd_file)["codes"]
        DiagnosisCode.objects.bulk_create(
            DiagnosisCode(code=r["code"], description=r["description"])
            for r in rows
            if r["code"] not in known
        )
        result.count("diagnosis codes", "created", len([r for r in rows if r["code"] not in known]))
