"""Shapes of the roster API's answers and requests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from ninja import Schema
from pydantic import Field

from radflow.rostering.models import RosterStatus, RunKind, RunStatus, ShiftKind, SwapStatus


class RosterOut(Schema):
    id: UUID
    start: date
    end: date
    weeks: int
    status: RosterStatus
    published_at: datetime | None = None
    objective: int | None = None
    best_bound: int | None = None


class RosterIn(Schema):
    start: date = Field(description="A Monday")
    weeks: int = Field(4, ge=4, le=6)


class AssignmentOut(Schema):
    staff_id: UUID
    employee_number: str
    name: str
    date: date
    shift: str
    kind: ShiftKind
    start: datetime
    end: datetime


class RunIn(Schema):
    seconds: int | None = Field(None, ge=5, le=3600, description="Time limit; default setting")


class RunOut(Schema):
    id: UUID
    roster_id: UUID
    kind: RunKind
    status: RunStatus
    seconds_limit: int
    started_at: datetime | None = None
    finished_at: datetime | None = None
    solver_status: str
    objective: int | None = None
    best_bound: int | None = None
    trace: list[Any]
    coverage: list[Any]
    unmet_requests: list[Any]
    conflicts: list[Any]
    error: str


class ShiftOut(Schema):
    date: date
    shift: str
    name: str
    kind: ShiftKind
    site: str
    start: datetime
    end: datetime
    callback_minutes: int | None = None


class SwapIn(Schema):
    roster_id: UUID
    partner_id: UUID
    give_date: date
    take_date: date | None = None
    note: str = Field("", max_length=200)


class SwapOut(Schema):
    id: UUID
    roster_id: UUID
    requester_id: UUID
    partner_id: UUID
    give_date: date
    take_date: date | None = None
    status: SwapStatus
    note: str
    reason: str
