"""The shipped list of ICD-10-CM codes common on imaging referrals."""

from __future__ import annotations

import json
from typing import Any

import pytest

from radflow.core.icd10 import ICD10_CM, normalize_icd10
from radflow.orders.models import DiagnosisCode
from radflow.orders.reference import ORDERS_DATA


def shipped_codes() -> list[dict[str, Any]]:
    with (ORDERS_DATA / "icd10_imaging.json").open(encoding="utf-8") as handle:
        rows: list[dict[str, Any]] = json.load(handle)["codes"]
    return rows


def test_every_shipped_code_is_a_well_formed_icd10_cm_code() -> None:
    malformed = [row["code"] for row in shipped_codes() if not ICD10_CM.match(row["code"])]
    assert malformed == []


def test_every_shipped_code_is_already_in_its_normal_form() -> None:
    changed = [r["code"] for r in shipped_codes() if normalize_icd10(r["code"]) != r["code"]]
    assert changed == []


def test_no_code_is_listed_twice_and_each_has_a_description() -> None:
    codes = [row["code"] for row in shipped_codes()]
    assert len(codes) == len(set(codes))
    assert all(0 < len(row["description"].strip()) <= 200 for row in shipped_codes())


def test_the_list_covers_the_common_imaging_indications() -> None:
    codes = {row["code"] for row in shipped_codes()}
    assert len(codes) >= 150
    for expected in ("R10.11", "K80.20", "N20.0", "Z34.90", "N63.0", "I65.29", "I82.401", "R51.9"):
        assert expected in codes


@pytest.mark.django_db
def test_loading_the_reference_data_stores_every_code_with_its_description(
    reference: None,
) -> None:
    rows = shipped_codes()
    assert DiagnosisCode.objects.count() == len(rows)
    assert DiagnosisCode.objects.get(code="K80.20").description == (
        "Calculus of gallbladder without cholecystitis without obstruction"
    )
