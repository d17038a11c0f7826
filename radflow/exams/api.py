"""``/api/exams``: read an exam, the worklist, and ``POST /{exam_id}/actions/{action}``.

Each action is its own operation (so OpenAPI documents its body) guarded by the permission of its
transition; the service then checks everything else (state, reasons, hard stops, overrides) and
its errors become problem+json. Every answer that names an exam logs its patient as read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.db import transaction
from django.http import HttpRequest
from ninja import Query, Router

from radflow.accounts.api_auth import requires
from radflow.audit.models import AccessChannel
from radflow.audit.services import AccessSource, access_record
from radflow.core.errors import NotFound, ValidationFailed
from radflow.core.exam_states import TRANSITIONS, ExamAction
from radflow.exams import selectors
from radflow.exams import services as exam_services
from radflow.exams.models import Exam, ExamTransition
from radflow.exams.schemas import (
    BeginIn,
    CompleteIn,
    ExamFilters,
    ExamListOut,
    ExamOut,
    ReasonIn,
    ReportIn,
    RescheduleIn,
    ScheduleIn,
    TriageIn,
)
from radflow.scheduling.models import Room
from radflow.staff.models import StaffMember

router = Router(tags=["exams"])

VIEW = "exams.view_exam"

#: The actions a client may ask for (the automatic ones follow triage by themselves).
API_ACTIONS = [a for a in TRANSITIONS if a not in selectors.AUTOMATIC_ACTIONS]


def _api(request: HttpRequest) -> AccessSource:
    return AccessSource.from_request(request, AccessChannel.API)


def _summary(exam: Exam) -> dict[str, Any]:
    order = exam.order
    room = exam.room
    return {
        "id": exam.pk,
        "order_id": order.pk,
        "patient_id": order.patient_id,
        "accession_number": exam.accession_number,
        "state": exam.state,
        "exam_type": order.exam_type.code,
        "priority": order.priority,
        "room": {"id": room.pk, "code": room.code, "name": room.name} if room else None,
        "scheduled_start": exam.scheduled_start,
        "scheduled_end": exam.scheduled_end,
    }


_TIMESTAMPS = (
    "requested_at",
    "triaged_at",
    "pending_auth_at",
    "authorized_at",
    "scheduled_at",
    "arrived_at",
    "in_progress_at",
    "completed_at",
    "reported_at",
    "signed_at",
    "billed_at",
    "cancelled_at",
    "no_show_at",
    "discontinued_at",
    "state_changed_at",
)


def _transition(row: ExamTransition) -> dict[str, Any]:
    return {
        "at": row.at,
        "action": row.action,
        "from_state": row.from_state,
        "to_state": row.to_state,
        "actor": row.by.get_username() if row.by is not None else row.actor,
        "reason_code": row.reason_code,
        "reason": row.reason,
        "details": row.details or {},
    }


def _exam_out(request: HttpRequest, exam_id: Any, action: str) -> dict[str, Any]:
    exam = selectors.exam_get_audited(
        user=request.user, exam_id=exam_id, action=action, source=_api(request)
    )
    transitions = selectors.transitions_for_exams([exam])[exam.pk]
    return {
        **_summary(exam),
        "study_instance_uid": exam.study_instance_uid,
        "images_count": exam.images_count,
        "reason_code": exam.reason_code,
        "reason_text": exam.reason_text,
        "timestamps": {name: getattr(exam, name) for name in _TIMESTAMPS},
        "transitions": [_transition(row) for row in transitions],
    }


@router.get("/", response=ExamListOut, summary="Exam worklist", auth=requires(VIEW))
def list_exams(request: HttpRequest, filters: Query[ExamFilters]) -> dict[str, Any]:
    """Exams by state and/or booked day, in the order they happen; each patient is logged."""
    exams = selectors.exam_worklist(
        state=filters.state.value if filters.state else "", day=filters.date
    )
    with transaction.atomic():
        total = exams.count()
        shown = list(exams[filters.offset : filters.offset + filters.limit])
        access_record(
            user=request.user,
            patients=[e.order.patient for e in shown],
            action="exam.worklist",
            source=_api(request),
        )
    return {"count": total, "items": [_summary(e) for e in shown]}


@router.get("/{exam_id}", response=ExamOut, summary="Read one exam", auth=requires(VIEW))
def get_exam(request: HttpRequest, exam_id: UUID) -> dict[str, Any]:
    return _exam_out(request, exam_id, "exam.detail")


# --- actions ---------------------------------------------------------------------------------


def _act(request: HttpRequest, exam_id: UUID, run: Callable[[Exam], Exam]) -> dict[str, Any]:
    """Run one service on the exam and answer with the exam as it is now."""
    with transaction.atomic():
        exam = Exam.objects.filter(pk=exam_id).first()
        if exam is None:
            raise NotFound("No exam has this id.", field="exam_id")
        run(exam)
        return _exam_out(request, exam.pk, "exam.action")


def _room(room_id: UUID) -> Room:
    room = Room.objects.filter(pk=room_id).first()
    if room is None:
        raise ValidationFailed({"room_id": ["No room has this id."]})
    return room


def _staff(staff_id: UUID | None) -> StaffMember | None:
    if staff_id is None:
        return None
    staff = StaffMember.objects.filter(pk=staff_id).first()
    if staff is None:
        raise ValidationFailed({"technologist_id": ["No staff member has this id."]})
    return staff


def _auth(action: ExamAction) -> list[Any]:
    return requires(VIEW, TRANSITIONS[action].permission)


def _path(action: ExamAction) -> str:
    return f"/{{exam_id}}/actions/{action.value}"


@router.post(
    _path(ExamAction.TRIAGE),
    response=ExamOut,
    summary="Triage an exam",
    auth=_auth(ExamAction.TRIAGE),
)
def triage(request: HttpRequest, exam_id: UUID, payload: TriageIn) -> dict[str, Any]:
    return _act(
        request,
        exam_id,
        lambda exam: exam_services.exam_triage(exam=exam, by=request.user, **payload.dict()),
    )


@router.post(
    _path(ExamAction.SCHEDULE),
    response=ExamOut,
    summary="Book a room and time",
    auth=_auth(ExamAction.SCHEDULE),
)
def schedule(request: HttpRequest, exam_id: UUID, payload: ScheduleIn) -> dict[str, Any]:
    return _act(
        request,
        exam_id,
        lambda exam: exam_services.exam_schedule(
            exam=exam,
            by=request.user,
            room=_room(payload.room_id),
            start=payload.start,
            technologist=_staff(payload.technologist_id),
            override_reason=payload.overrides.get("authorization", ""),
        ),
    )


@router.post(
    _path(ExamAction.RESCHEDULE),
    response=ExamOut,
    summary="Move a booking",
    auth=_auth(ExamAction.RESCHEDULE),
)
def reschedule(request: HttpRequest, exam_id: UUID, payload: RescheduleIn) -> dict[str, Any]:
    return _act(
        request,
        exam_id,
        lambda exam: exam_services.exam_reschedule(
            exam=exam,
            by=request.user,
            room=_room(payload.room_id),
            start=payload.start,
            reason_code=payload.reason_code,
            reason=payload.reason,
            override_reason=payload.overrides.get("authorization", ""),
        ),
    )


@router.post(
    _path(ExamAction.ARRIVE),
    response=ExamOut,
    summary="Check the patient in",
    auth=_auth(ExamAction.ARRIVE),
)
def arrive(request: HttpRequest, exam_id: UUID) -> dict[str, Any]:
    return _act(
        request, exam_id, lambda exam: exam_services.exam_arrive(exam=exam, by=request.user)
    )


@router.post(
    _path(ExamAction.NO_SHOW),
    response=ExamOut,
    summary="Mark a no-show",
    auth=_auth(ExamAction.NO_SHOW),
)
def no_show(request: HttpRequest, exam_id: UUID, payload: ReasonIn) -> dict[str, Any]:
    return _act(
        request,
        exam_id,
        lambda exam: exam_services.exam_no_show(exam=exam, by=request.user, **payload.dict()),
    )


@router.post(
    _path(ExamAction.BEGIN),
    response=ExamOut,
    summary="Begin the exam (hard stops, overrides)",
    auth=_auth(ExamAction.BEGIN),
)
def begin(request: HttpRequest, exam_id: UUID, payload: BeginIn) -> dict[str, Any]:
    return _act(
        request,
        exam_id,
        lambda exam: exam_services.exam_begin(
            exam=exam, by=request.user, overrides=payload.overrides
        ),
    )


@router.post(
    _path(ExamAction.COMPLETE),
    response=ExamOut,
    summary="Complete the exam",
    auth=_auth(ExamAction.COMPLETE),
)
def complete(request: HttpRequest, exam_id: UUID, payload: CompleteIn) -> dict[str, Any]:
    return _act(
        request,
        exam_id,
        lambda exam: exam_services.exam_complete(
            exam=exam, by=request.user, images_count=payload.images_count
        ),
    )


@router.post(
    _path(ExamAction.DISCONTINUE),
    response=ExamOut,
    summary="Discontinue the exam",
    auth=_auth(ExamAction.DISCONTINUE),
)
def discontinue(request: HttpRequest, exam_id: UUID, payload: ReasonIn) -> dict[str, Any]:
    return _act(
        request,
        exam_id,
        lambda exam: exam_services.exam_discontinue(exam=exam, by=request.user, **payload.dict()),
    )


@router.post(
    _path(ExamAction.REPORT),
    response=ExamOut,
    summary="Report the exam",
    auth=_auth(ExamAction.REPORT),
)
def report(request: HttpRequest, exam_id: UUID, payload: ReportIn) -> dict[str, Any]:
    return _act(
        request,
        exam_id,
        lambda exam: exam_services.exam_report(exam=exam, by=request.user, text=payload.text),
    )


@router.post(
    _path(ExamAction.SIGN),
    response=ExamOut,
    summary="Sign the report",
    auth=_auth(ExamAction.SIGN),
)
def sign(request: HttpRequest, exam_id: UUID) -> dict[str, Any]:
    return _act(request, exam_id, lambda exam: exam_services.exam_sign(exam=exam, by=request.user))


@router.post(
    _path(ExamAction.BILL),
    response=ExamOut,
    summary="Post the charges and mark billed",
    auth=_auth(ExamAction.BILL),
)
def bill(request: HttpRequest, exam_id: UUID) -> dict[str, Any]:
    return _act(request, exam_id, lambda exam: exam_services.exam_bill(exam=exam, by=request.user))


@router.post(
    _path(ExamAction.CANCEL),
    response=ExamOut,
    summary="Cancel the exam",
    auth=_auth(ExamAction.CANCEL),
)
def cancel(request: HttpRequest, exam_id: UUID, payload: ReasonIn) -> dict[str, Any]:
    return _act(
        request,
        exam_id,
        lambda exam: exam_services.exam_cancel(exam=exam, by=request.user, **payload.dict()),
    )


@router.post(
    "/{exam_id}/actions/{action}",
    auth=requires(VIEW),
    include_in_schema=False,
)
def unknown_action(request: HttpRequest, exam_id: UUID, action: str) -> None:
    """Any other action name: a 404 problem that lists the ones there are."""
    known = ", ".join(a.value for a in API_ACTIONS)
    raise NotFound(f"There is no exam action “{action}”. Actions: {known}.", field="action")
