"""Shapes of ``/api/infection``: probes and their readiness, probe uses, reprocessing cycles.

A probe use carries the exam's and the patient's ids, never demographics.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from ninja import Schema
from pydantic import Field

from radflow.api_pagination import MAX_OFFSET
from radflow.infection.models import GelType, IndicatorResult, PassFail, ReprocessingMethod


class ProbeStateOut(Schema):
    id: UUID
    serial_number: str
    model: str
    probe_type: str
    spaulding_class: str
    status: str
    readiness: str = Field(description="ready, needs_reprocessing or out_of_service")
    last_passing_cycle_at: datetime | None
    last_used_at: datetime | None


class ProbeUseOut(Schema):
    id: UUID
    probe_id: UUID
    probe_serial: str
    exam_id: UUID
    accession_number: str
    patient_id: UUID
    attached_at: datetime
    used_at: datetime | None = Field(description="When the exam began with it; null until then.")
    operator_id: UUID | None
    cover_used: bool
    cover_lot: str
    gel: GelType
    source: str


class ProbeUseListOut(Schema):
    count: int
    items: list[ProbeUseOut]


class ProbeUseFilters(Schema):
    exam: UUID | None = None
    probe: UUID | None = None
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class ProbeUseIn(Schema):
    exam_id: UUID
    probe_serial: str = Field(min_length=1, max_length=64)
    cover_used: bool = False
    cover_lot: str = Field("", max_length=40)
    gel: GelType = GelType.NON_STERILE


class CycleOut(Schema):
    id: UUID
    probe_id: UUID
    probe_serial: str
    method: str
    agent_id: UUID | None
    device_id: UUID | None
    cycle_id: str
    result: str
    indicator: str
    exposure_met: bool
    started_at: datetime
    ended_at: datetime
    operator: str | None
    level: str = Field(description="What the cycle achieved: none, low, high or sterile.")
    passed: bool
    problems: list[str]


class CycleFilters(Schema):
    probe: UUID | None = None
    failed: bool = False
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class CycleListOut(Schema):
    count: int
    items: list[CycleOut]


class CycleIn(Schema):
    probe_serial: str = Field(min_length=1, max_length=64)
    method: ReprocessingMethod
    result: PassFail
    indicator: IndicatorResult
    exposure_met: bool
    device_id: UUID | None = None
    agent_id: UUID | None = None
    cycle_id: str = Field("", max_length=40)
    started_at: datetime | None = None
    ended_at: datetime | None = None
    note: str = Field("", max_length=200)
