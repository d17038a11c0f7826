"""Shapes of ``/api/exams``: the exam with its timeline, the worklist, and one body per action.

Exams carry the patient's id, never demographics: a client that needs the name reads
``/api/patients/{id}``, which is audited there.
"""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from typing import Any
from uuid import UUID

from ninja import Schema
from pydantic import Field

from radflow.api_pagination import MAX_OFFSET
from radflow.core.exam_states import ExamState


class RoomRef(Schema):
    id: UUID
    code: str
    name: str


class TransitionOut(Schema):
    at: datetime
    action: str
    from_state: str
    to_state: str
    actor: str
    reason_code: str
    reason: str
    details: dict[str, Any]


class ExamTimestamps(Schema):
    requested_at: datetime
    triaged_at: datetime | None
    pending_auth_at: datetime | None
    authorized_at: datetime | None
    scheduled_at: datetime | None
    arrived_at: datetime | None
    in_progress_at: datetime | None
    completed_at: datetime | None
    reported_at: datetime | None
    signed_at: datetime | None
    billed_at: datetime | None
    cancelled_at: datetime | None
    no_show_at: datetime | None
    discontinued_at: datetime | None
    state_changed_at: datetime


class ExamSummaryOut(Schema):
    id: UUID
    order_id: UUID
    patient_id: UUID
    accession_number: str
    state: ExamState
    exam_type: str
    priority: str
    room: RoomRef | None
    scheduled_start: datetime | None
    scheduled_end: datetime | None


class ExamOut(ExamSummaryOut):
    study_instance_uid: str
    images_count: int | None
    reason_code: str
    reason_text: str
    timestamps: ExamTimestamps
    transitions: list[TransitionOut]


class ExamListOut(Schema):
    count: int
    items: list[ExamSummaryOut]


class ExamFilters(Schema):
    state: ExamState | None = None
    date: dt.date | None = Field(None, description="Booked on this day (the department's zone).")
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


# --- action bodies ------------------------------------------------------------------------------


class TriageIn(Schema):
    exam_type: str | None = Field(None, description="Exam type code; omit to keep the order's.")
    priority: str | None = Field(None, description="stat, urgent, routine (or S, A, R, ASAP).")
    protocol: str = ""
    instructions: str = ""


class ScheduleIn(Schema):
    room_id: UUID
    start: datetime = Field(description="With its UTC offset, e.g. 2025-03-10T09:30:00-04:00.")
    technologist_id: UUID | None = None
    overrides: dict[str, str] = Field(
        default_factory=dict,
        description='{"authorization": reason} to book outside the authorization window.',
    )


class RescheduleIn(Schema):
    room_id: UUID
    start: datetime
    reason_code: str = ""
    reason: str = ""
    overrides: dict[str, str] = Field(default_factory=dict)


class ReasonIn(Schema):
    reason_code: str = Field("", description="A code of the action's reason kind.")
    reason: str = ""


class BeginIn(Schema):
    overrides: dict[str, str] = Field(
        default_factory=dict, description="Hard-stop code → reason, for each stop to override."
    )


class CompleteIn(Schema):
    images_count: int | None = Field(None, ge=0)


class ReportIn(Schema):
    text: str
