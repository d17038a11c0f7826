"""Orders made through ``order_create``, as the pages and interfaces make them."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from radflow.catalog.models import ExamType
from radflow.orders.models import Order
from radflow.orders.services import order_create
from radflow.patients.models import Patient
from tests.patients.factories import PatientFactory

#: Every field the shipped completeness rules ask of a non-OB, non-mammography order.
COMPLETE_FIELDS: dict[str, Any] = {
    "clinical_indication": "Right upper quadrant pain after meals for three weeks.",
    "ordering_provider": "Dr. Amelia Hart",
    "ordering_provider_npi": "1234567893",
    "ordering_location": "Riverside Family Medicine",
    "signed_order": True,
}


def make_order(
    *,
    by: User | None = None,
    patient: Patient | None = None,
    exam_type: ExamType | str = "us-abdomen-complete",
    complete: bool = True,
    diagnosis_codes: tuple[str, ...] = ("R10.11",),
    **fields: Any,
) -> Order:
    """A referral for the shipped catalog's exam type (load ``reference`` first)."""
    values = {**(COMPLETE_FIELDS if complete else {}), **fields}
    return order_create(
        by=by,
        patient=patient or PatientFactory.create(),
        exam_type=exam_type,
        diagnosis_codes=diagnosis_codes if complete else (),
        **values,
    )
