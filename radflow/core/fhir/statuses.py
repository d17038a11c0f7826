"""How the exam's one state machine shows on FHIR resources (DESIGN.md, "The exam's life").

An exam is an Appointment once it has a time (``scheduled`` onwards, or ``pending`` while a hold
keeps a slot for it), a ServiceRequest from the moment it is ordered, and an ImagingStudy once the
modality has begun it. Every map here is total over ``ExamState`` so a new state cannot slip
through unmapped (the core tests check it).
"""

from __future__ import annotations

from collections.abc import Iterable

from radflow.core.exam_states import ExamState
from radflow.core.fhir.errors import InvalidRequest

_FULFILLED = (
    ExamState.IN_PROGRESS,
    ExamState.COMPLETED,
    ExamState.REPORTED,
    ExamState.SIGNED,
    ExamState.BILLED,
    # The patient came and the exam began: the appointment took place even though the study
    # stopped early (the ImagingStudy says ``cancelled``, the ServiceRequest ``revoked``).
    ExamState.DISCONTINUED,
)

#: Appointment.status per exam state; ``None``: the exam has no appointment yet.
APPOINTMENT_STATUS: dict[ExamState, str | None] = {
    ExamState.REQUESTED: None,
    ExamState.TRIAGED: None,
    ExamState.PENDING_AUTH: None,
    ExamState.AUTHORIZED: None,
    ExamState.SCHEDULED: "booked",
    ExamState.ARRIVED: "arrived",
    ExamState.CANCELLED: "cancelled",
    ExamState.NO_SHOW: "noshow",
    **dict.fromkeys(_FULFILLED, "fulfilled"),
}

#: What a held (not yet booked) slot shows as.
APPOINTMENT_HELD = "pending"
#: What a ``$find`` option shows as.
APPOINTMENT_PROPOSED = "proposed"

#: Every Appointment.status value R4 defines (a search for another one is a bad request).
APPOINTMENT_STATUSES = frozenset(
    {
        "proposed",
        "pending",
        "booked",
        "arrived",
        "fulfilled",
        "cancelled",
        "noshow",
        "entered-in-error",
        "checked-in",
        "waitlist",
    }
)

#: ServiceRequest.status per exam state.
SERVICE_REQUEST_STATUS: dict[ExamState, str] = {
    ExamState.REQUESTED: "active",
    ExamState.TRIAGED: "active",
    ExamState.PENDING_AUTH: "on-hold",
    ExamState.AUTHORIZED: "active",
    ExamState.SCHEDULED: "active",
    ExamState.ARRIVED: "active",
    ExamState.IN_PROGRESS: "active",
    ExamState.COMPLETED: "completed",
    ExamState.REPORTED: "completed",
    ExamState.SIGNED: "completed",
    ExamState.BILLED: "completed",
    ExamState.CANCELLED: "revoked",
    ExamState.NO_SHOW: "revoked",
    ExamState.DISCONTINUED: "revoked",
}

SERVICE_REQUEST_STATUSES = frozenset(
    {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"}
)

#: ImagingStudy.status per exam state; ``None``: nothing has been acquired yet.
IMAGING_STUDY_STATUS: dict[ExamState, str | None] = {
    ExamState.REQUESTED: None,
    ExamState.TRIAGED: None,
    ExamState.PENDING_AUTH: None,
    ExamState.AUTHORIZED: None,
    ExamState.SCHEDULED: None,
    ExamState.ARRIVED: None,
    ExamState.IN_PROGRESS: "registered",
    ExamState.COMPLETED: "available",
    ExamState.REPORTED: "available",
    ExamState.SIGNED: "available",
    ExamState.BILLED: "available",
    ExamState.CANCELLED: None,
    ExamState.NO_SHOW: None,
    ExamState.DISCONTINUED: "cancelled",
}

IMAGING_STUDY_STATUSES = frozenset(
    {"registered", "available", "cancelled", "entered-in-error", "unknown"}
)

#: FHIR request-priority per RadFlow priority, and back (``asap`` is urgent, as in HL7 "A").
PRIORITY_TO_FHIR = {"stat": "stat", "urgent": "urgent", "routine": "routine"}
PRIORITY_FROM_FHIR = {"stat": "stat", "asap": "urgent", "urgent": "urgent", "routine": "routine"}

#: HL7 table 0001 sex and FHIR administrative gender.
GENDER = {"F": "female", "M": "male", "O": "other", "U": "unknown"}

#: Device.status per RadFlow device status.
DEVICE_STATUS = {
    "in_service": "active",
    "down": "inactive",
    "maintenance": "inactive",
    "retired": "inactive",
}

#: Location.status per room status (a room that is down is suspended, not gone).
ROOM_STATUS = {"in_service": "active", "down": "suspended", "maintenance": "suspended"}


def _states_where(table: dict[ExamState, str | None], wanted: Iterable[str]) -> set[ExamState]:
    wanted = set(wanted)
    return {state for state, status in table.items() if status in wanted}


def _checked(values: Iterable[str], allowed: frozenset[str], what: str) -> list[str]:
    result = []
    for value in values:
        if value not in allowed:
            raise InvalidRequest(
                f"Unknown {what} status {value!r}; use one of {', '.join(sorted(allowed))}.",
                field="status",
            )
        result.append(value)
    return result


def appointment_states(statuses: Iterable[str]) -> set[ExamState]:
    """Exam states an Appointment status search matches (``checked-in`` counts as arrived)."""
    wanted = set(_checked(statuses, APPOINTMENT_STATUSES, "Appointment"))
    if "checked-in" in wanted:
        wanted.add("arrived")
    table: dict[ExamState, str | None] = dict(APPOINTMENT_STATUS)
    return _states_where(table, wanted)


def service_request_states(statuses: Iterable[str]) -> set[ExamState]:
    wanted = _checked(statuses, SERVICE_REQUEST_STATUSES, "ServiceRequest")
    table: dict[ExamState, str | None] = dict(SERVICE_REQUEST_STATUS)
    return _states_where(table, wanted)


def imaging_study_states(statuses: Iterable[str]) -> set[ExamState]:
    wanted = _checked(statuses, IMAGING_STUDY_STATUSES, "ImagingStudy")
    return _states_where(IMAGING_STUDY_STATUS, wanted)


def priority_from_fhir(value: str) -> str:
    try:
        return PRIORITY_FROM_FHIR[value]
    except KeyError:
        raise InvalidRequest(
            f"Unknown priority {value!r}; use routine, urgent, asap or stat.", field="priority"
        ) from None
