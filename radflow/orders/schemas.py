from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from ninja import Schema
from pydantic import Field

from radflow.core.exam_states import STARTED, ExamState
from radflow.orders.models import Order, OrderPatientClass, OutreachAction, Priority
from radflow.orders.selectors import order_clock_state, requirement_labels


class OrderPatientOut(Schema):
    id: UUID
    mrn: str
    family_name: str
    given_name: str
    birth_date: date


class OrderExamTypeOut(Schema):
    id: UUID
    code: str
    name: str
    modality: str


class OrderOut(Schema):
    id: UUID
    accession_number: str
    state: ExamState
    patient: OrderPatientOut
    exam_type: OrderExamTypeOut
    priority: Priority
    patient_class: OrderPatientClass
    payer_id: UUID | None = None
    ordering_provider: str
    ordering_provider_npi: str
    ordering_location: str
    ordering_phone: str
    clinical_indication: str
    signed_order: bool
    prior_imaging_note: str
    lmp_date: date | None = None
    requested_date: date | None = None
    notes: str
    placer_order_number: str
    source: str
    received_at: datetime
    diagnosis_codes: list[str]
    is_complete: bool
    missing: list[str]
    missing_labels: list[str]
    sla_due_at: datetime | None = None
    sla_warn_at: datetime | None = None
    sla_state: str | None = None

    @staticmethod
    def resolve_accession_number(obj: Order) -> str:
        return str(obj.exam.accession_number)

    @staticmethod
    def resolve_state(obj: Order) -> str:
        return str(obj.exam.state)

    @staticmethod
    def resolve_exam_type(obj: Order) -> dict[str, object]:
        et = obj.exam_type
        return {"id": et.pk, "code": et.code, "name": et.name, "modality": et.modality_id}

    @staticmethod
    def resolve_diagnosis_codes(obj: Order) -> list[str]:
        return [d.code for d in obj.diagnoses.all()]

    @staticmethod
    def resolve_missing_labels(obj: Order) -> list[str]:
        return requirement_labels(list(obj.missing))

    @staticmethod
    def resolve_sla_state(obj: Order) -> str | None:
        state = order_clock_state(obj, started=ExamState(obj.exam.state) in STARTED)
        return state.value if state is not None else None


class OrderListOut(Schema):
    count: int
    items: list[OrderOut]


class OrderIn(Schema):
    patient_id: UUID
    exam_type: str = Field(min_length=1, max_length=40, description="Exam type code.")
    priority: str = Field("routine", description="stat, urgent, routine (ASAP = urgent).")
    patient_class: OrderPatientClass = OrderPatientClass.OUTPATIENT
    payer_id: UUID | None = None
    ordering_provider: str = Field("", max_length=120)
    ordering_provider_npi: str = Field("", max_length=10)
    ordering_location: str = Field("", max_length=120)
    ordering_phone: str = Field("", max_length=40)
    clinical_indication: str = ""
    signed_order: bool = False
    prior_imaging_note: str = ""
    lmp_date: date | None = None
    requested_date: date | None = None
    notes: str = ""
    placer_order_number: str = Field("", max_length=40)
    diagnosis_codes: list[str] = Field(default_factory=list, description="ICD-10-CM codes.")


class OutreachIn(Schema):
    action: OutreachAction
    note: str = Field("", max_length=1000)


class OutreachOut(Schema):
    id: int
    order_id: UUID
    action: str
    note: str
    at: datetime
    by: str | None = None

    @staticmethod
    def resolve_by(obj: object) -> str | None:
        user = getattr(obj, "by", None)
        return user.get_username() if user is not None else None
