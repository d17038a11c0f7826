"""The one place that moves an exam from state to state (DESIGN.md, "The exam's life").

Every public function here is one transaction: it locks the exam row, checks the transition table
(``radflow.core.exam_states``), the actor's permission, the reason and the clock, applies the
action's own rules (room free, authorization window, hard stops), stamps the state's timestamp and
writes one ``ExamTransition``. Anything refused raises a ``RadflowError`` before a row is written,
so a refused request changes nothing. Pages, the API, HL7, DICOM MPPS and FHIR all call these.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, transaction
from django.utils import timezone

from radflow.billing.models import Charge
from radflow.core.errors import Conflict, PermissionDenied, ValidationFailed
from radflow.core.exam_states import (
    BEFORE_ARRIVAL,
    ExamAction,
    ExamState,
    Transition,
    past_tense,
    transition_for,
)
from radflow.core.hard_stops import Stop
from radflow.exams.models import (
    AccessionSequence,
    Exam,
    ExamTransition,
    Override,
    ReasonCode,
)
from radflow.scheduling.models import Room, RoomStatus
from radflow.staff.models import StaffMember

User = AbstractBaseUser | AnonymousUser

#: How far ahead of this server's clock an event time from another system may be (clock skew).
FUTURE_SKEW = timedelta(minutes=5)

#: States in which an exam holds its room.
HOLDS_ROOM = (ExamState.SCHEDULED, ExamState.ARRIVED, ExamState.IN_PROGRESS)

#: Permission needed to override each hard stop (the authorization stop is a financial call; a
#: probe that was not disinfected is the infection preventionist's call alone; giving contrast
#: despite the screening is a radiologist's).
OVERRIDE_PERMISSION = {
    "authorization": "orders.override_authorization",
    "probe": "infection.override_probe_stop",
    "contrast": "contrast.override_contrast_stop",
}
DEFAULT_OVERRIDE_PERMISSION = "exams.override_hard_stop"


@dataclass(frozen=True)
class Actor:
    """Who acts: a person (``user``) or a system named by ``label`` (``hl7:EPIC``, ``demo``)."""

    user: Any = None
    label: str = ""

    @property
    def name(self) -> str:
        if self.user is not None:
            return str(self.user.get_username())
        return self.label

    def has_perm(self, perm: str) -> bool:
        # Systems are authorised at their own boundary (interface settings, AE registry).
        return self.user is None or bool(self.user.has_perm(perm))

    def roles(self) -> str:
        if self.user is None:
            return ""
        return ", ".join(sorted(self.user.groups.values_list("name", flat=True)))


def as_actor(by: Any) -> Actor:
    if isinstance(by, Actor):
        return by
    if by is None:
        raise PermissionDenied("An exam can only be changed by a signed-in person or a system.")
    return Actor(user=by)


# --- creation -------------------------------------------------------------------------------


def next_accession_number() -> str:
    """``RF`` + 8 digits from the locked sequence row (DICOM AccessionNumber is SH, ≤ 16).

    One ``UPDATE ... RETURNING`` takes the number and locks the row until the transaction
    ends, as ``SELECT ... FOR UPDATE`` and an ``UPDATE`` did: no gaps, no repeats.
    """
    table = connection.ops.quote_name(AccessionSequence._meta.db_table)
    taken = f"UPDATE {table} SET next_value = next_value + 1 WHERE name = %s"  # noqa: S608
    taken += " RETURNING next_value - 1"
    with connection.cursor() as cursor:
        cursor.execute(taken, ["accession"])
        row = cursor.fetchone()
        if row is None:  # a new database: the row starts at 1
            AccessionSequence.objects.get_or_create(name="accession")
            cursor.execute(taken, ["accession"])
            row = cursor.fetchone()
    return f"RF{int(row[0]):08d}"


def new_study_instance_uid() -> str:
    """A UUID-derived UID under the 2.25 root (PS3.5 B.2): unique without a registered root."""
    return f"2.25.{uuid.uuid4().int}"


def exam_open(*, order: Any, at: datetime) -> Exam:
    """The exam for a new order, in ``requested``; called by ``orders.services.order_create``."""
    from radflow.kpis.services import kpi_exam_changed

    exam = Exam.objects.create(
        order=order,
        state=ExamState.REQUESTED,
        accession_number=next_accession_number(),
        study_instance_uid=new_study_instance_uid(),
        requested_at=at,
        state_changed_at=at,
    )
    kpi_exam_changed(exam=exam, at=at)  # counts in the day's orders received
    return exam


# --- the transition core ----------------------------------------------------------------------


def _lock(exam: Exam) -> Exam:
    return (
        Exam.objects.select_for_update().select_related("order", "order__exam_type").get(pk=exam.pk)
    )


def _check_reason(transition: Transition, reason_code: str, reason: str) -> tuple[str, str]:
    if not transition.reason_required:
        return reason_code, reason.strip()
    code = reason_code.strip()
    if not code:
        raise ValidationFailed(
            {"reason_code": [f"Choose a reason for the {transition.reason_kind} from the list."]}
        )
    known = ReasonCode.objects.filter(kind=transition.reason_kind, code=code, active=True)
    if not known.exists():
        raise ValidationFailed(
            {"reason_code": [f"“{code}” is not a {transition.reason_kind} reason code."]}
        )
    return code, reason.strip()


def _check_time(exam: Exam, at: datetime | None) -> datetime:
    now = timezone.now()
    when = at or now
    if timezone.is_naive(when):
        raise ValidationFailed({"at": ["The event time must carry a time zone."]})
    if when > now + FUTURE_SKEW:
        raise ValidationFailed({"at": ["The event time is in the future."]})
    if when < exam.state_changed_at:
        raise ValidationFailed(
            {
                "at": [
                    f"The event time {when:%Y-%m-%d %H:%M} is before the exam's last change "
                    f"({exam.state_changed_at:%Y-%m-%d %H:%M}); times may not go backwards."
                ]
            }
        )
    return when


def _apply(
    exam: Exam,
    action: ExamAction,
    actor: Actor,
    *,
    at: datetime | None = None,
    reason_code: str = "",
    reason: str = "",
    details: Mapping[str, Any] | None = None,
    update_fields: tuple[str, ...] = (),
) -> Exam:
    """Move a locked exam; the caller has applied the action's own rules already."""
    transition = transition_for(exam.state, action)
    if not actor.has_perm(transition.permission):
        raise PermissionDenied(f"Your role does not allow an exam to be {past_tense(action)}.")
    reason_code, reason = _check_reason(transition, reason_code, reason)
    when = _check_time(exam, at)
    from_state = exam.state
    exam.state = transition.target.value
    exam.state_changed_at = when
    fields = ["state", "state_changed_at", "updated_at", *update_fields]
    if transition.timestamp_field:
        setattr(exam, transition.timestamp_field, when)
        fields.append(transition.timestamp_field)
    if transition.reason_required:
        exam.reason_code, exam.reason_text = reason_code, reason
        fields += ["reason_code", "reason_text"]
    exam.save(update_fields=sorted(set(fields)))
    if ExamState(from_state) in HOLDS_ROOM and exam.state_enum not in HOLDS_ROOM:
        from radflow.scheduling.booking import release_for_exam

        release_for_exam(exam)  # cancelled, no-show, discontinued, completed: the time is free
    ExamTransition.objects.create(
        exam=exam,
        action=action.value,
        from_state=from_state,
        to_state=exam.state,
        at=when,
        by=actor.user,
        actor=actor.name,
        reason_code=reason_code,
        reason=reason,
        details=dict(details or {}),
    )
    from radflow.interfaces.hl7_outbound import hl7_exam_changed

    # SIU / ORM-OMI status to the HL7 destinations, in this transaction (the outbox).
    hl7_exam_changed(
        exam=exam,
        action=action,
        from_state=from_state,
        by=actor.name,
        reason_code=reason_code,
        reason=reason,
        details=details,
    )
    from radflow.kpis.services import kpi_exam_changed

    kpi_exam_changed(exam=exam, at=when)  # its days' KPI rollups are stale (the worker rebuilds)
    return exam


def _require(actor: Actor, perm: str, what: str) -> None:
    if not actor.has_perm(perm):
        raise PermissionDenied(f"Your role does not allow {what}.")


# --- triage and authorization ------------------------------------------------------------------


@transaction.atomic
def exam_triage(
    *,
    exam: Exam,
    by: Any,
    exam_type: Any = None,
    priority: str | None = None,
    protocol: str = "",
    instructions: str = "",
    at: datetime | None = None,
) -> Exam:
    """Confirm or change type, protocol and priority; then on to authorization or authorized."""
    from radflow.orders import selectors as order_selectors
    from radflow.orders import services as order_services

    actor = as_actor(by)
    exam = _lock(exam)
    transition_for(exam.state, ExamAction.TRIAGE)  # a clear "already triaged" before anything else
    _require(actor, "exams.triage_exam", "triage")
    order = exam.order
    order_services.order_apply_triage(
        order=order,
        by=actor.user,
        exam_type=exam_type,
        priority=priority,
        protocol=protocol,
        instructions=instructions,
    )
    if not order.is_complete:
        missing = ", ".join(order_selectors.requirement_labels(order.missing))
        raise Conflict(
            f"The referral is incomplete ({missing}); complete it before triage.", field="order"
        )
    details = {"exam_type": order.exam_type.code, "priority": order.priority}
    at = at or timezone.now()  # one act: both moves carry the same time
    _apply(exam, ExamAction.TRIAGE, actor, at=at, details=details)
    need = order_selectors.auth_requirement(order)
    if need.required and not order_selectors.has_approved_authorization(order):
        return _apply(exam, ExamAction.REQUIRE_AUTH, actor, at=at, details=need.as_details())
    return _apply(exam, ExamAction.AUTHORIZE, actor, at=at, details=need.as_details())


@transaction.atomic
def exam_authorization_approved(*, exam: Exam, by: Any, at: datetime | None = None) -> Exam:
    """The payer said yes: a pending exam becomes authorized (a booked one stays booked)."""
    actor = as_actor(by)
    exam = _lock(exam)
    if exam.state != ExamState.PENDING_AUTH:
        return exam
    return _apply(
        exam, ExamAction.AUTHORIZE, Actor(label=f"authorization by {actor.name}"[:80]), at=at
    )


# --- scheduling -----------------------------------------------------------------------------


def _check_slot(exam: Exam, room: Room, start: datetime, actor: Actor, override: str) -> datetime:
    """The rules every booking obeys; returns the booked end time."""
    from radflow.orders import selectors as order_selectors

    order = exam.order
    errors: dict[str, list[str]] = {}
    if timezone.is_naive(start):
        errors["start"] = ["The start time must carry a time zone."]
    elif start < timezone.now():
        errors["start"] = ["A new booking cannot start in the past."]
    if room.modality_id != order.exam_type.modality_id:
        errors["room"] = [
            f"{room.name} is a {room.modality_id} room; this exam needs "
            f"{order.exam_type.modality_id}."
        ]
    elif room.status != RoomStatus.IN_SERVICE:
        errors["room"] = [f"{room.name} is {room.get_status_display().lower()}."]
    if errors:
        raise ValidationFailed(errors)
    # Real elapsed minutes: added in UTC (an aware local time would add wall-clock minutes).
    end = start.astimezone(UTC) + timedelta(
        minutes=order.exam_type.duration_for(order.patient_class)
    )
    problem = order_selectors.auth_booking_problem(order, timezone.localdate(start))
    if problem:
        if not override.strip():
            raise Conflict(problem, field="start", code="authorization_window")
        _require(actor, "orders.override_authorization", "overriding the authorization window")
        if actor.user is None:  # an override row names the person who signed for it
            raise PermissionDenied("Only a signed-in person may override the authorization window.")
        Override.objects.create(
            exam=exam,
            stop="authorization",
            detail=problem[:200],
            reason=override.strip(),
            at=timezone.now(),
            by=actor.user,
            roles=actor.roles(),
            action=ExamAction.SCHEDULE.value,
        )
    return end


def _check_no_unreserved_clash(exam: Exam, room: Room, start: datetime, end: datetime) -> None:
    """Belt and braces for bookings written without reservations (older data, bulk imports):
    another exam holding the room then is a clash too.

    Exams that have reservation rows are left to them: their released rows are how a re-plan
    lets two bookings trade rooms, which a check on exam rows would refuse.
    """
    clash = (
        Exam.objects.filter(
            room=room,
            state__in=HOLDS_ROOM,
            scheduled_start__lt=end,
            scheduled_end__gt=start,
            reservations__isnull=True,
        )
        .exclude(pk=exam.pk)
        .order_by("scheduled_start")
        .first()
    )
    if clash is not None and clash.scheduled_start and clash.scheduled_end:
        local = timezone.localtime
        raise Conflict(
            f"{room.name} is already booked {local(clash.scheduled_start):%H:%M}-"
            f"{local(clash.scheduled_end):%H:%M} on {local(clash.scheduled_start):%Y-%m-%d}.",
            field="start",
            code="slot_taken",
        )


def _book(
    exam: Exam,
    room: Room,
    start: datetime,
    actor: Actor,
    override: str,
    *,
    hold: Any = None,
    requested_at: datetime | None = None,
) -> dict[str, str]:
    """Put a locked exam in ``room`` at ``start`` if the slot is free; returns the details.

    The exam's performer, device and interpreter (set by the caller) are reserved with the room
    through ``radflow.scheduling.booking.claim``: the one place that refuses double booking.
    """
    from radflow.scheduling.booking import claim, claims_for, free_device

    # Locking the room serialises its bookings on PostgreSQL (SQLite's IMMEDIATE transactions
    # already do); the reservations' exclusion constraints guard staff, devices and interpreters.
    room = Room.objects.select_for_update().get(pk=room.pk)
    end = _check_slot(exam, room, start, actor, override)
    start = start.astimezone(UTC)
    exam.room, exam.scheduled_start, exam.scheduled_end = room, start, end
    if exam.device is not None and exam.device.room_id != room.pk:
        exam.device = None  # a device is booked where it stands
    if exam.device is None:
        exam.device = free_device(room, start, end, exam)
    claim(
        claims=claims_for(
            room=room,
            start=start,
            end=end,
            turnover=exam.order.exam_type.turnover_min,
            staff=exam.technologist,
            device=exam.device,
            interpreter=exam.booked_interpreter,
        ),
        exam=exam,
        hold=hold,
        requested_at=requested_at or timezone.now(),
    )
    _check_no_unreserved_clash(exam, room, start, end)
    if hold is not None:
        hold.released_at = timezone.now()
        hold.save(update_fields=["released_at", "updated_at"])
    return {"room": room.code, "start": start.isoformat(), "end": end.isoformat()}


#: What booking writes on the exam besides the room and times.
BOOKED_FIELDS = (
    "room",
    "scheduled_start",
    "scheduled_end",
    "technologist",
    "device",
    "booked_interpreter",
    "transport_pickup_at",
)


@transaction.atomic
def exam_schedule(
    *,
    exam: Exam,
    by: Any,
    room: Room,
    start: datetime,
    technologist: StaffMember | None = None,
    override_reason: str = "",
    device: Any = None,
    interpreter: Any = None,
    transport_pickup_at: datetime | None = None,
    hold: Any = None,
    requested_at: datetime | None = None,
) -> Exam:
    """Book a free room at ``start`` for the exam's duration (and its performer, device and
    interpreter when given; ``radflow.scheduling.booking.appointment_book`` chooses and checks
    those against calendars and eligibility first)."""
    actor = as_actor(by)
    exam = _lock(exam)
    transition = transition_for(exam.state, ExamAction.SCHEDULE)
    _require(actor, transition.permission, "scheduling exams")
    if technologist is not None:
        exam.technologist = technologist
    exam.device = device
    exam.booked_interpreter = interpreter
    exam.transport_pickup_at = transport_pickup_at
    details = _book(exam, room, start, actor, override_reason, hold=hold, requested_at=requested_at)
    details.update(_resource_details(exam))
    return _apply(
        exam,
        ExamAction.SCHEDULE,
        actor,
        details=details,
        update_fields=BOOKED_FIELDS,
    )


def _resource_details(exam: Exam) -> dict[str, str]:
    found = {
        "technologist": exam.technologist.employee_number if exam.technologist else "",
        "device": exam.device.serial_number if exam.device else "",
        "interpreter": exam.booked_interpreter.name if exam.booked_interpreter else "",
        "transport_pickup_at": (
            exam.transport_pickup_at.isoformat() if exam.transport_pickup_at else ""
        ),
    }
    return {key: value for key, value in found.items() if value}


@transaction.atomic
def exam_reschedule(
    *,
    exam: Exam,
    by: Any,
    room: Room,
    start: datetime,
    reason_code: str = "",
    reason: str = "",
    override_reason: str = "",
    technologist: StaffMember | None = None,
    device: Any = None,
    interpreter: Any = None,
    transport_pickup_at: datetime | None = None,
    requested_at: datetime | None = None,
    details: Mapping[str, Any] | None = None,
) -> Exam:
    """Move a booking; the transition row keeps the old room and time.

    The performer, device and interpreter move with it unless others are given (a device only
    if it stands in the new room); their old reservations are released, the new ones claimed.
    """
    actor = as_actor(by)
    exam = _lock(exam)
    transition = transition_for(exam.state, ExamAction.RESCHEDULE)
    _require(actor, transition.permission, "rescheduling exams")
    if reason_code and not ReasonCode.objects.filter(kind="reschedule", code=reason_code).exists():
        raise ValidationFailed({"reason_code": [f"“{reason_code}” is not a reschedule reason."]})
    old = {
        "from_room": exam.room.code if exam.room else "",
        "from_start": exam.scheduled_start.isoformat() if exam.scheduled_start else "",
    }
    if technologist is not None:
        old["from_technologist"] = exam.technologist.employee_number if exam.technologist else ""
        exam.technologist = technologist
    if device is not None:
        exam.device = device
    if interpreter is not None:
        exam.booked_interpreter = interpreter
    if exam.transport_pickup_at is not None or transport_pickup_at is not None:
        exam.transport_pickup_at = transport_pickup_at
    booked = _book(exam, room, start, actor, override_reason, requested_at=requested_at)
    merged = {**old, **booked, **_resource_details(exam), **dict(details or {})}
    return _apply(
        exam,
        ExamAction.RESCHEDULE,
        actor,
        reason_code=reason_code,
        reason=reason,
        details=merged,
        update_fields=BOOKED_FIELDS,
    )


# --- the day of the exam ----------------------------------------------------------------------


@transaction.atomic
def exam_arrive(*, exam: Exam, by: Any, at: datetime | None = None) -> Exam:
    """The patient is here. A second arrival is refused by the table (arrived → arrived)."""
    actor = as_actor(by)
    return _apply(_lock(exam), ExamAction.ARRIVE, actor, at=at)


@transaction.atomic
def exam_begin(
    *,
    exam: Exam,
    by: Any,
    at: datetime | None = None,
    overrides: Mapping[str, str] | None = None,
    technologist: StaffMember | None = None,
) -> Exam:
    """Start the exam, refused while a hard stop is unmet unless a permitted role overrides it.

    ``overrides`` maps a hard-stop code to the reason; an override for a stop that is not
    blocking is ignored, so a form can send them all.
    """
    from radflow.intake.selectors import exam_hard_stops

    actor = as_actor(by)
    exam = _lock(exam)
    transition = transition_for(exam.state, ExamAction.BEGIN)
    _require(actor, transition.permission, "beginning exams")
    when = at or timezone.now()
    # The performer is known before the hard stops: their credentials are one of them.
    performer = technologist
    if performer is None and exam.technologist_id is None and actor.user is not None:
        performer = StaffMember.objects.filter(user=actor.user).first()
    stops = exam_hard_stops(exam, on=timezone.localdate(when), performer=performer)
    _settle_stops(exam, stops, actor, overrides or {}, ExamAction.BEGIN)
    fields: tuple[str, ...] = ()
    if performer is not None:
        exam.technologist = performer
        fields = ("technologist",)
    details = {"overridden": [s.code for s in stops]} if stops else {}
    return _apply(exam, ExamAction.BEGIN, actor, at=at, details=details, update_fields=fields)


@dataclass(frozen=True)
class BegunAtModality:
    exam: Exam
    #: The hard stops that were unmet when the modality began the exam (none overridden).
    missing: list[Stop]


def _walk_to_arrived(
    exam: Exam, actor: Actor, when: datetime, room: Room | None, extra: Any
) -> None:
    """Move a locked exam that has not arrived to ``arrived``, one audited move at a time.

    A walk-in order is triaged (or sent for authorization), booked in ``room`` from ``when``
    for its duration (no reservation: the time is already used) and arrived; a scheduled exam
    is only arrived.
    """
    from radflow.orders import selectors as order_selectors

    while exam.state_enum in BEFORE_ARRIVAL:
        state = exam.state_enum
        if state is ExamState.REQUESTED:
            _apply(exam, ExamAction.TRIAGE, actor, at=when, details=extra)
        elif state is ExamState.TRIAGED:
            need = order_selectors.auth_requirement(exam.order)
            pending = need.required and not order_selectors.has_approved_authorization(exam.order)
            action = ExamAction.REQUIRE_AUTH if pending else ExamAction.AUTHORIZE
            _apply(exam, action, actor, at=when, details=extra)
        elif state is ExamState.SCHEDULED:
            _apply(exam, ExamAction.ARRIVE, actor, at=when, details=extra)
        else:  # authorized or pending authorization: booked where and when it is happening
            order = exam.order
            minutes = order.exam_type.duration_for(order.patient_class)
            exam.room = exam.room or room
            exam.scheduled_start = when.astimezone(UTC)
            exam.scheduled_end = exam.scheduled_start + timedelta(minutes=minutes)
            booked = {"room": exam.room.code if exam.room else "", "start": when.isoformat()}
            _apply(
                exam,
                ExamAction.SCHEDULE,
                actor,
                at=when,
                details={**extra, **booked},
                update_fields=("room", "scheduled_start", "scheduled_end"),
            )


@transaction.atomic
def exam_begin_at_modality(
    *,
    exam: Exam,
    by: Any,
    at: datetime | None = None,
    room: Room | None = None,
    details: Mapping[str, Any] | None = None,
) -> BegunAtModality:
    """A modality reports the exam has begun (DICOM MPPS IN PROGRESS): the scan is happening,
    so the exam moves to ``in_progress`` even when an intake hard stop is unmet; the unmet
    stops are returned (and kept on the transition) so the coordinator is flagged, and no
    override is recorded because no person gave one.

    An exam that has not arrived is arrived first (a walk-in order from the reconciliation
    page is triaged and booked in ``room`` too), each move audited. The modality's clock is not
    this server's: ``at`` is held within [the exam's last change, now], and the time the
    modality reported is kept in the details when it differs.
    """
    from radflow.intake.selectors import exam_hard_stops

    actor = as_actor(by)
    exam = _lock(exam)
    now = timezone.now()
    reported = at or now
    if timezone.is_naive(reported):
        raise ValidationFailed({"at": ["The event time must carry a time zone."]})
    when = min(max(reported, exam.state_changed_at), now)
    extra: dict[str, Any] = {"at_modality": True, **dict(details or {})}
    if when != reported:
        extra["reported_at"] = reported.isoformat()
    if exam.state_enum not in BEFORE_ARRIVAL:
        transition_for(exam.state, ExamAction.BEGIN)  # cancelled, no-show, done: say so first
    _walk_to_arrived(exam, actor, when, room, extra)
    stops = exam_hard_stops(exam, on=timezone.localdate(when))
    begun = {**extra, "missing": [s.code for s in stops]} if stops else extra
    exam = _apply(exam, ExamAction.BEGIN, actor, at=when, details=begun)
    return BegunAtModality(exam=exam, missing=stops)


def _settle_stops(
    exam: Exam,
    stops: list[Stop],
    actor: Actor,
    overrides: Mapping[str, str],
    action: ExamAction,
) -> None:
    """Raise unless every stop has an override with a reason by someone allowed to give it."""
    if not stops:
        return
    unresolved = [s for s in stops if not overrides.get(s.code, "").strip()]
    if unresolved:
        raise Conflict(
            "The exam cannot begin: " + " ".join(s.detail for s in unresolved),
            field="hard_stops",
            code="hard_stop",
        )
    for stop in stops:
        perm = OVERRIDE_PERMISSION.get(stop.code, DEFAULT_OVERRIDE_PERMISSION)
        if not actor.has_perm(perm) or actor.user is None:
            raise PermissionDenied(
                f"Your role may not override the {stop.code} hard stop ({stop.detail})"
            )
    now = timezone.now()
    Override.objects.bulk_create(
        Override(
            exam=exam,
            stop=stop.code,
            detail=stop.detail[:200],
            reason=overrides[stop.code].strip(),
            at=now,
            by=actor.user,
            roles=actor.roles(),
            action=action.value,
        )
        for stop in stops
    )


@transaction.atomic
def exam_complete(
    *,
    exam: Exam,
    by: Any,
    at: datetime | None = None,
    images_count: int | None = None,
    details: Mapping[str, Any] | None = None,
) -> Exam:
    actor = as_actor(by)
    exam = _lock(exam)
    fields: tuple[str, ...] = ()
    if images_count is not None:
        exam.images_count = images_count
        fields = ("images_count",)
    exam = _apply(exam, ExamAction.COMPLETE, actor, at=at, details=details, update_fields=fields)
    from radflow.supplies.services import exam_supplies_apply

    exam_supplies_apply(exam=exam, by=actor.user)  # the exam type's supplies, off the shelf
    return exam


@transaction.atomic
def exam_discontinue(
    *,
    exam: Exam,
    by: Any,
    reason_code: str,
    reason: str = "",
    at: datetime | None = None,
    details: Mapping[str, Any] | None = None,
) -> Exam:
    actor = as_actor(by)
    return _apply(
        _lock(exam),
        ExamAction.DISCONTINUE,
        actor,
        at=at,
        reason_code=reason_code,
        reason=reason,
        details=details,
    )


# --- reading, signing, billing ------------------------------------------------------------------


@transaction.atomic
def exam_report(
    *, exam: Exam, by: Any, text: str, radiologist: StaffMember | None = None, at: Any = None
) -> Exam:
    actor = as_actor(by)
    exam = _lock(exam)
    transition_for(exam.state, ExamAction.REPORT)
    if not text.strip():
        raise ValidationFailed({"text": ["The report is empty."]})
    exam.report_text = text.strip()
    if radiologist is None and actor.user is not None:
        radiologist = StaffMember.objects.filter(user=actor.user).first()
    exam.radiologist = radiologist
    return _apply(
        exam, ExamAction.REPORT, actor, at=at, update_fields=("report_text", "radiologist")
    )


@transaction.atomic
def exam_sign(*, exam: Exam, by: Any, at: datetime | None = None) -> Exam:
    actor = as_actor(by)
    return _apply(_lock(exam), ExamAction.SIGN, actor, at=at)


@transaction.atomic
def exam_bill(*, exam: Exam, by: Any, modifiers: str = "TC", at: datetime | None = None) -> Exam:
    """Post one technical charge per procedure code of the exam type, then mark billed."""
    actor = as_actor(by)
    exam = _lock(exam)
    transition = transition_for(exam.state, ExamAction.BILL)
    _require(actor, transition.permission, "billing exams")
    codes = list(exam.order.exam_type.procedure_codes.all())
    if not codes:
        raise Conflict(
            f"{exam.order.exam_type} has no procedure code to bill; add one to the exam type.",
            field="exam_type",
        )
    exam = _apply(exam, ExamAction.BILL, actor, at=at)
    Charge.objects.bulk_create(
        Charge(
            exam=exam,
            procedure_code=code,
            modifiers=modifiers,
            payer=exam.order.payer,
            posted_at=exam.state_changed_at,
            posted_by=actor.user,
        )
        for code in codes
    )
    return exam


# --- ending early -----------------------------------------------------------------------------


@transaction.atomic
def exam_cancel(
    *, exam: Exam, by: Any, reason_code: str, reason: str = "", at: datetime | None = None
) -> Exam:
    """Cancel with a coded reason; the room is freed because a cancelled exam holds none."""
    actor = as_actor(by)
    return _apply(
        _lock(exam), ExamAction.CANCEL, actor, at=at, reason_code=reason_code, reason=reason
    )


@transaction.atomic
def exam_no_show(
    *, exam: Exam, by: Any, reason_code: str = "no_contact", reason: str = "", at: Any = None
) -> Exam:
    actor = as_actor(by)
    return _apply(
        _lock(exam), ExamAction.NO_SHOW, actor, at=at, reason_code=reason_code, reason=reason
    )
