"""Contrast test data: a CT room with a stocked shelf, real agents, exams walked to arrival."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from radflow.contrast.models import ContrastAgent, EgfrResult, EgfrSource
from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam
from radflow.intake import services as intake
from radflow.intake.models import ConsentMethod, IdentityMethod
from radflow.patients.models import Patient
from radflow.scheduling.models import Modality, Room
from radflow.supplies.models import (
    Item,
    ItemCategory,
    LocationKind,
    Lot,
    StockLocation,
    Vendor,
)
from radflow.supplies.services import stock_receive
from tests.exams.factories import advance, next_slot
from tests.orders.factories import make_order
from tests.patients.factories import PatientFactory
from tests.scheduling.factories import RoomFactory

#: Every hard stop but contrast, overridden: for tests about the contrast stop alone.
OTHER_STOPS = {
    code: "Test: only the contrast stop is under test"
    for code in ("identity", "screening", "consent", "prep", "interpreter", "authorization")
}


def room_for(modality: str = "CT", **kwargs: Any) -> Room:
    found, _ = Modality.objects.get_or_create(code=modality, defaults={"name": modality})
    return RoomFactory.create(modality=found, name=f"{modality} 1", code=f"{modality}-01", **kwargs)


def shelf(room: Room) -> StockLocation:
    """The room's stock shelf (doses are issued from it by default)."""
    location, _ = StockLocation.objects.get_or_create(
        code=room.code,
        defaults={
            "name": f"{room.name} shelf",
            "kind": LocationKind.ROOM,
            "site": room.site,
            "room": room,
        },
    )
    return location


def contrast_item(
    name: str = "Omnipaque 350 (iohexol 350 mgI/mL), 100 mL bottle",
    *,
    unit: str = "bottle",
    vendor: str = "GE HealthCare",
) -> Item:
    supplier, _ = Vendor.objects.get_or_create(name=vendor)
    return Item.objects.create(
        name=name,
        category=ItemCategory.CONTRAST,
        unit=unit,
        vendor=supplier,
        lot_tracked=True,
        unit_price=Decimal("38.50"),
    )


def receive(
    item: Item,
    location: StockLocation,
    *,
    lot_number: str,
    quantity: int = 10,
    expires_in_days: int = 400,
) -> Lot:
    movement = stock_receive(
        item=item,
        location=location,
        quantity=quantity,
        by=None,
        lot_number=lot_number,
        expiry_date=timezone.localdate() + dt.timedelta(days=expires_in_days),
    )
    assert movement.lot is not None
    return movement.lot


def iohexol(item: Item | None = None, **kwargs: Any) -> ContrastAgent:
    values: dict[str, Any] = {
        "name": "Iohexol 350",
        "brand": "Omnipaque 350",
        "manufacturer": "GE HealthCare",
        "agent_class": "iodinated",
        "concentration": Decimal(350),
        "concentration_unit": "mgI/mL",
        "routes": ["iv", "ia", "oral"],
        "dose_unit": "mL",
        "supply_item": item,
        "safety_programme": "GE HealthCare pharmacovigilance",
        **kwargs,
    }
    return ContrastAgent.objects.create(**values)


def gadobutrol(item: Item | None = None) -> ContrastAgent:
    return ContrastAgent.objects.create(
        name="Gadobutrol 1.0 mmol/mL",
        brand="Gadavist",
        manufacturer="Bayer",
        agent_class="gadolinium",
        gbca_group="II",
        concentration=Decimal(1),
        concentration_unit="mmol/mL",
        routes=["iv"],
        dose_unit="mL",
        supply_item=item,
        safety_programme="Bayer pharmacovigilance",
    )


def arrived_exam(
    by: User,
    *,
    exam_type: str = "ct-head-w",
    patient: Patient | None = None,
    room: Room | None = None,
    hours_ahead: int = 2,
) -> Exam:
    """A contrast exam from the shipped catalog, booked in ``room`` and arrived."""
    order = make_order(by=by, patient=patient or PatientFactory.create(), exam_type=exam_type)
    start = next_slot(hours_ahead)
    return advance(order.exam, ExamState.ARRIVED, by=by, room=room or room_for(), start=start)


def lab_egfr(patient: Patient, *, value: int = 74, days_ago: int = 3) -> EgfrResult:
    return EgfrResult.objects.create(
        patient=patient,
        value=Decimal(value),
        measured_on=timezone.localdate() - dt.timedelta(days=days_ago),
        source=EgfrSource.LAB,
        recorded_at=timezone.now(),
    )


def complete_intake(exam: Exam, by: User, *, egfr: int | None = 74) -> None:
    """Everything ct-head-w asks at intake, answered and passed (eGFR through screening)."""
    patient = exam.order.patient
    intake.identity_confirm(
        exam=exam,
        by=by,
        method=IdentityMethod.NAME_BIRTH_DATE,
        family_name=patient.family_name,
        given_name=patient.given_name,
        birth_date=patient.birth_date,
    )
    for code in exam.order.exam_type.required_screening.values_list("code", flat=True):
        if code == "egfr":
            if egfr is None:
                continue
            intake.screening_record(
                exam=exam,
                by=by,
                item_code="egfr",
                answer=f"eGFR {egfr}",
                result="cleared",
                value_number=Decimal(egfr),
                value_date=timezone.localdate() - dt.timedelta(days=2),
            )
        else:
            intake.screening_record(exam=exam, by=by, item_code=code, answer="no", result="cleared")
    if exam.order.exam_type.consent_required:
        intake.consent_capture(
            exam=exam,
            by=by,
            method=ConsentMethod.TYPED_WITNESSED,
            signer_name=patient.given_name,
            witness_name="RN Dana Brooks",
        )
    if exam.order.exam_type.prep_instructions.strip():
        intake.prep_verify(exam=exam, by=by, prep_ok=True)
