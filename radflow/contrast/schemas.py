"""Shapes of ``/api/contrast``. Doses and reactions carry the patient's id, never demographics."""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from ninja import Schema
from pydantic import Field

from radflow.api_pagination import MAX_OFFSET


class AgentOut(Schema):
    id: UUID
    name: str
    brand: str
    manufacturer: str
    agent_class: str
    gbca_group: str
    concentration: Decimal | None
    concentration_unit: str
    routes: list[str]
    dose_unit: str
    supply_item_id: UUID | None
    safety_programme: str
    active: bool


class RequirementOut(Schema):
    exam_type: str
    exam_type_name: str
    gives_contrast: bool
    agent_class: str | None
    egfr_required: bool
    egfr_window_days: int | None
    egfr_minimum: Decimal | None
    reaction_screening: bool
    saved: bool


class EgfrOut(Schema):
    id: UUID
    patient_id: UUID
    value: Decimal
    measured_on: dt.date
    source: str
    reference: str
    recorded_at: datetime


class EgfrIn(Schema):
    value: Decimal = Field(description="mL/min/1.73 m²")
    measured_on: dt.date
    source: str = Field("lab", description="lab, poc (point of care) or interface")
    reference: str = ""


class ReactionOut(Schema):
    agent_class: str | None
    grade: str
    what: str


class PremedicationDoseOut(Schema):
    drug: str
    dose: str
    route: str
    given_at: datetime
    given_by: str


class PremedicationOut(Schema):
    id: UUID
    exam_id: UUID
    protocol: str
    ordered_by: str
    note: str
    recorded_at: datetime
    doses: list[PremedicationDoseOut]


class ScreenOut(Schema):
    exam_id: UUID
    patient_id: UUID
    applies: bool
    agent_class: str | None
    egfr: EgfrOut | None
    reactions: list[ReactionOut]
    premedications: list[PremedicationOut]
    problems: list[str]
    overridden: bool
    cleared: bool


class AdministrationOut(Schema):
    id: UUID
    exam_id: UUID
    patient_id: UUID
    accession_number: str
    agent_id: UUID
    agent: str
    lot_id: UUID | None
    lot_number: str | None
    dose: Decimal
    dose_unit: str
    route: str
    injection_site: str
    flow_rate: Decimal | None
    given_at: datetime
    given_by: str
    egfr_value: Decimal | None
    egfr_date: dt.date | None
    stock_movement_id: UUID | None


class AdministrationListOut(Schema):
    count: int
    items: list[AdministrationOut]


class AdministrationFilters(Schema):
    agent: UUID | None = None
    month: str | None = Field(None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class AdministrationIn(Schema):
    agent_id: UUID
    dose: Decimal
    dose_unit: str = ""
    route: str = "iv"
    lot_id: UUID | None = Field(None, description="Omit to draw from the first-expiring lot.")
    location_id: UUID | None = Field(None, description="Omit for the exam room's shelf.")
    containers: int | None = Field(
        None, ge=1, description="Containers issued when the item is not counted in the unit."
    )
    injection_site: str = ""
    flow_rate: Decimal | None = None
    given_at: datetime | None = None
    note: str = ""


class PremedicationDoseIn(Schema):
    drug: str
    dose: str
    route: str = Field("oral", description="oral, iv or im")
    given_at: datetime
    given_by: str


class PremedicationIn(Schema):
    protocol: str
    ordered_by: str = ""
    note: str = ""
    doses: list[PremedicationDoseIn] = Field(default_factory=list, max_length=20)


class AdverseEventIn(Schema):
    grade: str = Field(description="mild, moderate or severe")
    kind: str = "allergic_like"
    symptoms: list[str] = Field(default_factory=list, max_length=20)
    treatment: str
    outcome: str
    onset_at: datetime | None = None
    description: str = ""
    reported_to_programme: bool = False
    reported_on: dt.date | None = None
    report_reference: str = ""


class AdverseEventOut(Schema):
    id: UUID
    administration_id: UUID
    patient_id: UUID
    agent: str
    onset_at: datetime
    grade: str
    kind: str
    symptoms: list[str]
    treatment: str
    outcome: str
    reported_to_programme: bool
    reported_on: dt.date | None
    report_reference: str
    allergy_flagged: bool


class RateOut(Schema):
    label: str
    doses: int
    reactions: int
    moderate_or_severe: int
    rate_per_1000: Decimal | None


class AgentMonthOut(Schema):
    agent: str
    doses: list[int]
    total: int


class StatsOut(Schema):
    months: list[dt.date]
    by_agent: list[AgentMonthOut]
    rates: list[RateOut]
    overall: RateOut
