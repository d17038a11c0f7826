"""The exam services one rule at a time: what each refuses, with what message, changing nothing."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import OperationalError, connection, connections
from django.utils import timezone

from radflow.billing.models import Charge
from radflow.catalog.models import ExamType
from radflow.core.errors import Conflict, PermissionDenied, RadflowError, ValidationFailed
from radflow.core.exam_states import ExamState, IllegalTransition
from radflow.core.roles import Role
from radflow.exams.models import Exam, ExamTransition, Override, ReasonCode
from radflow.exams.services import (
    Actor,
    exam_arrive,
    exam_begin,
    exam_bill,
    exam_cancel,
    exam_complete,
    exam_discontinue,
    exam_no_show,
    exam_report,
    exam_reschedule,
    exam_schedule,
    exam_sign,
    exam_triage,
)
from radflow.intake.models import IdentityCheck, IdentityMethod, PrepCheck, ScreeningAnswer
from radflow.orders.models import Authorization, AuthStatus, PayerAuthRule, Priority
from radflow.orders.services import authorization_decide, authorization_request
from radflow.scheduling.models import RoomStatus
from tests.billing.factories import PayerFactory
from tests.exams.factories import OVERRIDE_ALL, make_exam, next_slot, ultrasound_room
from tests.orders.factories import make_order
from tests.scheduling.factories import ModalityFactory, RoomFactory

pytestmark = pytest.mark.django_db

#: Monday 9 March 2026, 09:00 in New York (the day after the DST change).
MONDAY_9AM = dt.datetime(2026, 3, 9, 13, 0, tzinfo=dt.UTC)


def snapshot(exam: Exam) -> dict[str, Any]:
    """The exam row, its timeline and overrides: what a refused call must not touch."""
    return {
        "exam": Exam.objects.filter(pk=exam.pk).values().get(),
        "transitions": list(ExamTransition.objects.filter(exam=exam).values_list("id", flat=True)),
        "overrides": Override.objects.filter(exam=exam).count(),
        "charges": Charge.objects.filter(exam=exam).count(),
    }


def refused(exam: Exam, error: type[RadflowError], call: Callable[[], object]) -> RadflowError:
    """Run ``call``, expect ``error``, and check that the exam is exactly as it was."""
    before = snapshot(exam)
    with pytest.raises(error) as caught:
        call()
    assert snapshot(exam) == before
    return caught.value


def auth_payer(*codes: str, lead_time_days: int = 0) -> Any:
    """A payer that needs a pre-authorization for the given CPT codes."""
    payer = PayerFactory.create(name="Aetna")
    for code in codes:
        PayerAuthRule.objects.create(
            payer=payer, procedure_code_id=code, auth_required=True, lead_time_days=lead_time_days
        )
    return payer


def approve(exam: Exam, by: User, valid_from: dt.date, valid_to: dt.date) -> Authorization:
    auth = authorization_request(order=exam.order, by=by)
    return authorization_decide(
        authorization=auth,
        by=by,
        status=AuthStatus.APPROVED,
        number="AET-55012",
        valid_from=valid_from,
        valid_to=valid_to,
    )


# --- triage -----------------------------------------------------------------------------------


def test_triage_is_refused_while_the_referral_is_incomplete_and_says_what_is_missing(
    reference: None, coordinator: User
) -> None:
    order = make_order(by=coordinator, complete=False)
    error = refused(
        order.exam,
        Conflict,
        lambda: exam_triage(exam=order.exam, by=coordinator, protocol="RUQ", priority="stat"),
    )
    assert error.message == (
        "The referral is incomplete (Clinical indication, ICD-10-CM diagnosis code, Signed order, "
        "Ordering provider); complete it before triage."
    )
    order.refresh_from_db()
    assert (order.protocol, order.priority, order.triaged_by) == ("", Priority.ROUTINE, None)


def test_triage_sets_protocol_priority_and_instructions_and_moves_on_to_authorized(
    reference: None, radiologist: User
) -> None:
    order = make_order(by=radiologist)
    exam = exam_triage(
        exam=order.exam,
        by=radiologist,
        priority="urgent",
        protocol="  Abdomen complete with Doppler of the portal vein ",
        instructions="Nothing to eat or drink for 8 hours.",
    )
    order.refresh_from_db()
    assert order.protocol == "Abdomen complete with Doppler of the portal vein"
    assert order.priority == Priority.URGENT
    assert order.instructions == "Nothing to eat or drink for 8 hours."
    assert order.triaged_by == radiologist
    assert order.owner == radiologist
    assert exam.state == ExamState.AUTHORIZED
    assert exam.triaged_at == exam.authorized_at == exam.state_changed_at
    timeline = list(ExamTransition.objects.filter(exam=exam).values_list("action", "to_state"))
    assert timeline == [("triage", "triaged"), ("authorize", "authorized")]
    first = ExamTransition.objects.filter(exam=exam, action="triage").get()
    assert first.details == {"exam_type": "us-abdomen-complete", "priority": "urgent"}
    assert (first.by, first.actor) == (radiologist, "radiologist")


def test_triage_can_change_the_exam_type(reference: None, coordinator: User) -> None:
    order = make_order(by=coordinator)
    exam_triage(exam=order.exam, by=coordinator, exam_type="us-abdomen-ruq")
    order.refresh_from_db()
    assert order.exam_type.code == "us-abdomen-ruq"


def test_a_priority_change_at_triage_restarts_the_sla_clock(
    reference: None, coordinator: User
) -> None:
    with time_machine.travel(MONDAY_9AM, tick=False):
        order = make_order(by=coordinator)
        assert order.sla_due_at == MONDAY_9AM + dt.timedelta(days=14)
    with time_machine.travel(MONDAY_9AM + dt.timedelta(minutes=20), tick=False):
        exam_triage(exam=order.exam, by=coordinator, priority="stat")
    order.refresh_from_db()
    # The STAT clock runs from receipt, not from triage.
    assert order.sla_due_at == MONDAY_9AM + dt.timedelta(minutes=60)
    assert order.sla_warn_at == MONDAY_9AM + dt.timedelta(minutes=45)


def test_triaging_twice_is_refused_as_an_illegal_transition(
    reference: None, coordinator: User
) -> None:
    exam = make_exam(ExamState.AUTHORIZED, by=coordinator)
    error = refused(exam, IllegalTransition, lambda: exam_triage(exam=exam, by=coordinator))
    assert error.message.startswith("An exam that is authorized cannot be triaged;")


def test_an_exam_whose_payer_needs_authorization_waits_for_the_approval(
    reference: None, coordinator: User
) -> None:
    payer = auth_payer("76700", lead_time_days=2)
    exam = make_order(by=coordinator, payer=payer).exam
    exam = exam_triage(exam=exam, by=coordinator)
    assert exam.state == ExamState.PENDING_AUTH
    require = ExamTransition.objects.get(exam=exam, action="require_auth")
    assert require.details == {"auth_required": True, "auth_codes": ["76700"]}

    auth = authorization_request(order=exam.order, by=coordinator)
    authorization_decide(authorization=auth, by=coordinator, status=AuthStatus.DENIED)
    exam.refresh_from_db()
    assert exam.state == ExamState.PENDING_AUTH

    today = timezone.localdate()
    approve(exam, coordinator, today, today + dt.timedelta(days=30))
    exam.refresh_from_db()
    assert exam.state == ExamState.AUTHORIZED
    assert exam.authorized_at is not None
    last = ExamTransition.objects.filter(exam=exam).latest("id")
    assert (last.action, last.actor, last.by) == (
        "authorize",
        "authorization by coordinator",
        None,
    )


def test_an_approval_already_on_file_lets_triage_go_straight_to_authorized(
    reference: None, coordinator: User
) -> None:
    exam = make_order(by=coordinator, payer=auth_payer("76700")).exam
    today = timezone.localdate()
    approve(exam, coordinator, today, today + dt.timedelta(days=30))
    assert exam_triage(exam=exam, by=coordinator).state == ExamState.AUTHORIZED


# --- scheduling -------------------------------------------------------------------------------


def test_a_booking_in_the_past_is_refused(
    reference: None, admin_user: User, scheduler: User
) -> None:
    exam = make_exam(ExamState.AUTHORIZED, by=admin_user)
    room = ultrasound_room()
    error = refused(
        exam,
        ValidationFailed,
        lambda: exam_schedule(
            exam=exam, by=scheduler, room=room, start=next_slot() - dt.timedelta(days=1)
        ),
    )
    assert isinstance(error, ValidationFailed)
    assert error.errors == {"start": ["A new booking cannot start in the past."]}


def test_a_room_of_another_modality_is_refused(reference: None, admin_user: User) -> None:
    exam = make_exam(ExamState.AUTHORIZED, by=admin_user)
    ct = RoomFactory.create(name="CT room 1", modality=ModalityFactory.create(code="CT"))
    error = refused(
        exam,
        ValidationFailed,
        lambda: exam_schedule(exam=exam, by=admin_user, room=ct, start=next_slot()),
    )
    assert isinstance(error, ValidationFailed)
    assert error.errors == {"room": ["CT room 1 is a CT room; this exam needs US."]}


@pytest.mark.parametrize("status", [RoomStatus.DOWN, RoomStatus.MAINTENANCE])
def test_a_room_out_of_service_is_refused(
    reference: None, admin_user: User, status: RoomStatus
) -> None:
    exam = make_exam(ExamState.AUTHORIZED, by=admin_user)
    room = ultrasound_room(name="Ultrasound room 3", status=status)
    error = refused(
        exam,
        ValidationFailed,
        lambda: exam_schedule(exam=exam, by=admin_user, room=room, start=next_slot()),
    )
    assert isinstance(error, ValidationFailed)
    assert error.errors == {"room": [f"Ultrasound room 3 is {status.label.lower()}."]}


def test_a_clash_is_refused_naming_the_booked_times(
    reference: None, admin_user: User, scheduler: User
) -> None:
    room = ultrasound_room(name="Ultrasound room 2")
    eleven = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)  # 11:00 in New York
    with time_machine.travel(MONDAY_9AM, tick=False):
        first = make_exam(ExamState.AUTHORIZED, by=admin_user)
        exam_schedule(exam=first, by=scheduler, room=room, start=eleven)
        second = make_exam(ExamState.AUTHORIZED, by=admin_user)
        error = refused(
            second,
            Conflict,
            lambda: exam_schedule(
                exam=second, by=scheduler, room=room, start=eleven + dt.timedelta(minutes=30)
            ),
        )
        assert error.code == "slot_taken"
        assert error.message == "Ultrasound room 2 is already booked 11:00-11:45 on 2026-03-10."
        # Back to back is fine.
        booked = exam_schedule(
            exam=second, by=scheduler, room=room, start=eleven + dt.timedelta(minutes=45)
        )
        assert booked.scheduled_end == eleven + dt.timedelta(minutes=90)


def test_a_cancelled_exam_frees_its_room(reference: None, admin_user: User) -> None:
    room = ultrasound_room()
    start = next_slot()
    first = make_exam(ExamState.AUTHORIZED, by=admin_user)
    exam_schedule(exam=first, by=admin_user, room=room, start=start)
    exam_cancel(exam=first, by=admin_user, reason_code="patient_request")
    second = make_exam(ExamState.AUTHORIZED, by=admin_user)
    assert exam_schedule(exam=second, by=admin_user, room=room, start=start).room == room


def test_a_reschedule_keeps_the_old_room_and_time_in_the_timeline(
    reference: None, admin_user: User, scheduler: User
) -> None:
    room_1, room_2 = ultrasound_room(), ultrasound_room()
    first_start, new_start = next_slot(3), next_slot(26)
    exam = make_exam(ExamState.AUTHORIZED, by=admin_user)
    exam = exam_schedule(exam=exam, by=scheduler, room=room_1, start=first_start)
    scheduled_at = exam.scheduled_at
    exam = exam_reschedule(
        exam=exam, by=scheduler, room=room_2, start=new_start, reason_code="patient_request"
    )
    assert (exam.state, exam.room, exam.scheduled_start) == (ExamState.SCHEDULED, room_2, new_start)
    assert exam.scheduled_at == scheduled_at  # still the first booking's time
    moves = ExamTransition.objects.filter(exam=exam, to_state="scheduled").order_by("id")
    assert [m.action for m in moves] == ["schedule", "reschedule"]
    details = moves[1].details
    assert details["from_room"] == room_1.code
    assert details["from_start"] == first_start.isoformat()
    assert (details["room"], details["start"]) == (room_2.code, new_start.isoformat())
    assert moves[1].reason_code == "patient_request"


def test_a_reschedule_with_an_unknown_reason_is_refused(reference: None, admin_user: User) -> None:
    exam = make_exam(ExamState.SCHEDULED, by=admin_user)
    error = refused(
        exam,
        ValidationFailed,
        lambda: exam_reschedule(
            exam=exam,
            by=admin_user,
            room=ultrasound_room(),
            start=next_slot(30),
            reason_code="bored",
        ),
    )
    assert isinstance(error, ValidationFailed)
    assert error.errors == {"reason_code": ["“bored” is not a reschedule reason."]}


def test_a_booking_outside_the_approved_window_needs_an_override_with_a_reason(
    reference: None, coordinator: User, scheduler: User
) -> None:
    with time_machine.travel(MONDAY_9AM, tick=False):
        exam = make_order(by=coordinator, payer=auth_payer("76700")).exam
        approve(exam, coordinator, dt.date(2026, 3, 9), dt.date(2026, 3, 13))
        exam = exam_triage(exam=exam, by=coordinator)
        assert exam.state == ExamState.AUTHORIZED
        room, monday_after = ultrasound_room(), dt.datetime(2026, 3, 16, 14, tzinfo=dt.UTC)

        error = refused(
            exam,
            Conflict,
            lambda: exam_schedule(exam=exam, by=scheduler, room=room, start=monday_after),
        )
        assert error.code == "authorization_window"
        assert error.message == (
            "2026-03-16 is outside the approved authorization window (2026-03-09 to 2026-03-13)."
        )
        # A scheduler may not override the payer; nor may an interface, which cannot sign.
        for who in (scheduler, Actor(label="hl7:EPIC")):
            refused(
                exam,
                PermissionDenied,
                lambda who=who: exam_schedule(  # type: ignore[misc]
                    exam=exam,
                    by=who,
                    room=room,
                    start=monday_after,
                    override_reason="Patient travels from out of state",
                ),
            )
        exam = exam_schedule(
            exam=exam,
            by=coordinator,
            room=room,
            start=monday_after,
            override_reason="  Patient travels from out of state ",
        )
    assert exam.state == ExamState.SCHEDULED
    override = Override.objects.get(exam=exam)
    assert (override.stop, override.action, override.by) == (
        "authorization",
        "schedule",
        coordinator,
    )
    assert override.reason == "Patient travels from out of state"
    assert override.roles == "coordinator"
    assert "outside the approved authorization window" in override.detail


def test_a_booking_inside_the_approved_window_needs_no_override(
    reference: None, coordinator: User
) -> None:
    with time_machine.travel(MONDAY_9AM, tick=False):
        exam = make_order(by=coordinator, payer=auth_payer("76700")).exam
        approve(exam, coordinator, dt.date(2026, 3, 9), dt.date(2026, 3, 13))
        exam = exam_triage(exam=exam, by=coordinator)
        start = dt.datetime(2026, 3, 13, 14, tzinfo=dt.UTC)
        exam = exam_schedule(exam=exam, by=coordinator, room=ultrasound_room(), start=start)
    assert exam.state == ExamState.SCHEDULED
    assert not Override.objects.filter(exam=exam).exists()


def test_a_pending_authorization_cannot_be_booked_before_the_payers_lead_time(
    reference: None, coordinator: User
) -> None:
    with time_machine.travel(MONDAY_9AM, tick=False):
        exam = make_order(by=coordinator, payer=auth_payer("76700", lead_time_days=3)).exam
        exam = exam_triage(exam=exam, by=coordinator)
        assert exam.state == ExamState.PENDING_AUTH
        room = ultrasound_room()
        error = refused(
            exam,
            Conflict,
            lambda: exam_schedule(
                exam=exam, by=coordinator, room=room, start=MONDAY_9AM + dt.timedelta(days=1)
            ),
        )
        assert error.message == (
            "The payer needs 3 days to authorize; without an approved authorization the "
            "earliest date is 2026-03-12."
        )
        thursday = MONDAY_9AM + dt.timedelta(days=3)
        exam = exam_schedule(exam=exam, by=coordinator, room=room, start=thursday)
    assert exam.state == ExamState.SCHEDULED
    assert exam.pending_auth_at is not None and exam.authorized_at is None


# --- arrival ----------------------------------------------------------------------------------


def test_a_second_arrival_for_the_same_visit_is_refused(
    reference: None, admin_user: User, scheduler: User
) -> None:
    exam = make_exam(ExamState.ARRIVED, by=admin_user)
    error = refused(exam, IllegalTransition, lambda: exam_arrive(exam=exam, by=scheduler))
    assert error.message == (
        "An exam that is arrived cannot be arrived; only an exam that is scheduled can."
    )
    assert error.http_status == 409


# --- who may do what --------------------------------------------------------------------------

WRONG_ROLE: list[tuple[ExamState, Role, Callable[[Exam, User], object], str]] = [
    (ExamState.REQUESTED, Role.SCHEDULER, lambda e, u: exam_triage(exam=e, by=u), "triage"),
    (ExamState.REQUESTED, Role.TECHNOLOGIST, lambda e, u: exam_triage(exam=e, by=u), "triage"),
    (
        ExamState.AUTHORIZED,
        Role.TECHNOLOGIST,
        lambda e, u: exam_schedule(exam=e, by=u, room=ultrasound_room(), start=next_slot()),
        "scheduling exams",
    ),
    (
        ExamState.SCHEDULED,
        Role.RADIOLOGIST,
        lambda e, u: exam_reschedule(exam=e, by=u, room=ultrasound_room(), start=next_slot(30)),
        "rescheduling exams",
    ),
    (ExamState.SCHEDULED, Role.TECHNOLOGIST, lambda e, u: exam_arrive(exam=e, by=u), "arrived"),
    (
        ExamState.SCHEDULED,
        Role.BILLING,
        lambda e, u: exam_no_show(exam=e, by=u, reason_code="no_contact"),
        "marked no-show",
    ),
    (
        ExamState.ARRIVED,
        Role.SCHEDULER,
        lambda e, u: exam_begin(exam=e, by=u, overrides=OVERRIDE_ALL),
        "beginning exams",
    ),
    (
        ExamState.IN_PROGRESS,
        Role.RADIOLOGIST,
        lambda e, u: exam_complete(exam=e, by=u),
        "completed",
    ),
    (
        ExamState.IN_PROGRESS,
        Role.COORDINATOR,
        lambda e, u: exam_discontinue(exam=e, by=u, reason_code="equipment_failure"),
        "discontinued",
    ),
    (
        ExamState.COMPLETED,
        Role.TECHNOLOGIST,
        lambda e, u: exam_report(exam=e, by=u, text="Normal."),
        "reported",
    ),
    (ExamState.REPORTED, Role.TECHNOLOGIST, lambda e, u: exam_sign(exam=e, by=u), "signed"),
    (ExamState.SIGNED, Role.RADIOLOGIST, lambda e, u: exam_bill(exam=e, by=u), "billing exams"),
    (
        ExamState.AUTHORIZED,
        Role.TECHNOLOGIST,
        lambda e, u: exam_cancel(exam=e, by=u, reason_code="patient_request"),
        "cancelled",
    ),
]


@pytest.mark.parametrize(
    ("state", "role", "call", "what"),
    WRONG_ROLE,
    ids=[f"{call[3]}-by-{call[1]}" for call in WRONG_ROLE],
)
def test_an_action_by_the_wrong_role_is_refused_and_changes_nothing(
    reference: None,
    admin_user: User,
    user_for_role: Callable[[Role], User],
    state: ExamState,
    role: Role,
    call: Callable[[Exam, User], object],
    what: str,
) -> None:
    exam = make_exam(state, by=admin_user)
    user = user_for_role(role)
    error = refused(exam, PermissionDenied, lambda: call(exam, user))
    assert error.message.startswith("Your role does not allow")
    assert what in error.message
    assert error.http_status == 403


def test_a_stranger_and_nobody_cannot_move_an_exam(reference: None, stranger: User) -> None:
    exam = make_order(by=stranger).exam
    refused(exam, PermissionDenied, lambda: exam_triage(exam=exam, by=stranger))
    error = refused(exam, PermissionDenied, lambda: exam_triage(exam=exam, by=None))
    assert error.message == "An exam can only be changed by a signed-in person or a system."


def test_a_system_actor_is_recorded_by_its_label(reference: None, admin_user: User) -> None:
    exam = make_exam(ExamState.ARRIVED, by=admin_user)
    exam_begin(exam=exam, by=admin_user, overrides=OVERRIDE_ALL)
    exam = exam_complete(exam=exam, by=Actor(label="mpps:US_ROOM_3"), images_count=42)
    last = ExamTransition.objects.filter(exam=exam).latest("id")
    assert (last.actor, last.by, exam.images_count) == ("mpps:US_ROOM_3", None, 42)


# --- reasons ----------------------------------------------------------------------------------

REASONED: list[tuple[ExamState, str, Callable[..., Exam], str]] = [
    (ExamState.SCHEDULED, "cancel", exam_cancel, "patient_request"),
    (ExamState.SCHEDULED, "no_show", exam_no_show, "transport"),
    (ExamState.IN_PROGRESS, "discontinue", exam_discontinue, "patient_intolerance"),
]


@pytest.mark.parametrize(("state", "kind", "service", "good"), REASONED, ids=lambda v: str(v))
def test_ending_an_exam_early_needs_a_known_reason_code(
    reference: None,
    admin_user: User,
    state: ExamState,
    kind: str,
    service: Callable[..., Exam],
    good: str,
) -> None:
    exam = make_exam(state, by=admin_user)

    def attempt(code: str) -> ValidationFailed:
        error = refused(
            exam, ValidationFailed, lambda: service(exam=exam, by=admin_user, reason_code=code)
        )
        assert isinstance(error, ValidationFailed)
        return error

    assert attempt("").errors == {"reason_code": [f"Choose a reason for the {kind} from the list."]}
    assert attempt("bored").errors == {"reason_code": [f"“bored” is not a {kind} reason code."]}
    assert "stat_bumped" in attempt("stat_bumped").errors["reason_code"][0]  # a reschedule code
    ReasonCode.objects.filter(kind=kind, code=good).update(active=False)
    attempt(good)
    ReasonCode.objects.filter(kind=kind, code=good).update(active=True)

    exam = service(exam=exam, by=admin_user, reason_code=good, reason="  Called at 8:10 ")
    assert (exam.reason_code, exam.reason_text) == (good, "Called at 8:10")
    last = ExamTransition.objects.filter(exam=exam).latest("id")
    assert (last.reason_code, last.reason) == (good, "Called at 8:10")
    assert getattr(exam, f"{exam.state}_at") == exam.state_changed_at


def test_an_empty_report_is_refused(reference: None, admin_user: User) -> None:
    exam = make_exam(ExamState.COMPLETED, by=admin_user)
    error = refused(exam, ValidationFailed, lambda: exam_report(exam=exam, by=admin_user, text=" "))
    assert isinstance(error, ValidationFailed)
    assert error.errors == {"text": ["The report is empty."]}


# --- billing ----------------------------------------------------------------------------------


def test_billing_posts_one_charge_per_procedure_code(reference: None, admin_user: User) -> None:
    payer = PayerFactory.create(name="Blue Cross Blue Shield")
    exam = make_exam(
        ExamState.SIGNED, by=admin_user, exam_type="us-liver-elastography", payer=payer
    )
    exam = exam_bill(exam=exam, by=admin_user)
    assert exam.state == ExamState.BILLED
    charges = Charge.objects.filter(exam=exam).order_by("procedure_code_id")
    assert [c.procedure_code_id for c in charges] == ["76705", "76981"]
    assert {(c.modifiers, c.payer_id, c.posted_at, c.posted_by_id) for c in charges} == {
        ("TC", payer.pk, exam.billed_at, admin_user.pk)
    }
    refused(exam, IllegalTransition, lambda: exam_bill(exam=exam, by=admin_user))
    assert Charge.objects.filter(exam=exam).count() == 2


def test_an_exam_type_without_a_procedure_code_cannot_be_billed(
    reference: None, admin_user: User
) -> None:
    exam = make_exam(ExamState.SIGNED, by=admin_user)
    ExamType.objects.get(code="us-abdomen-complete").procedure_codes.clear()
    error = refused(exam, Conflict, lambda: exam_bill(exam=exam, by=admin_user))
    assert "has no procedure code to bill" in error.message


# --- time -------------------------------------------------------------------------------------


def test_an_event_time_before_the_last_change_is_refused(reference: None, admin_user: User) -> None:
    with time_machine.travel(MONDAY_9AM, tick=False):
        exam = make_exam(ExamState.SCHEDULED, by=admin_user)
        error = refused(
            exam,
            ValidationFailed,
            lambda: exam_arrive(exam=exam, by=admin_user, at=MONDAY_9AM - dt.timedelta(minutes=1)),
        )
    assert isinstance(error, ValidationFailed)
    assert error.errors == {
        "at": [
            "The event time 2026-03-09 12:59 is before the exam's last change "
            "(2026-03-09 13:00); times may not go backwards."
        ]
    }


def test_an_event_time_in_the_future_or_without_a_zone_is_refused(
    reference: None, admin_user: User
) -> None:
    with time_machine.travel(MONDAY_9AM, tick=False):
        exam = make_exam(ExamState.SCHEDULED, by=admin_user)
        later = MONDAY_9AM + dt.timedelta(minutes=6)
        error = refused(
            exam, ValidationFailed, lambda: exam_arrive(exam=exam, by=admin_user, at=later)
        )
        assert isinstance(error, ValidationFailed)
        assert error.errors == {"at": ["The event time is in the future."]}
        naive = dt.datetime(2026, 3, 9, 9, 0)  # noqa: DTZ001 - the point of the test
        error = refused(
            exam, ValidationFailed, lambda: exam_arrive(exam=exam, by=admin_user, at=naive)
        )
        assert isinstance(error, ValidationFailed)
        assert error.errors == {"at": ["The event time must carry a time zone."]}
        # A modality clock a few minutes ahead is tolerated.
        skewed = MONDAY_9AM + dt.timedelta(minutes=5)
        exam = exam_arrive(exam=exam, by=admin_user, at=skewed)
    assert exam.arrived_at == exam.state_changed_at == skewed


# --- hard stops at begin ----------------------------------------------------------------------


def test_begin_is_refused_while_intake_is_missing_and_says_what(
    reference: None, admin_user: User, technologist: User
) -> None:
    exam = make_exam(ExamState.ARRIVED, by=admin_user)
    error = refused(exam, Conflict, lambda: exam_begin(exam=exam, by=technologist))
    assert error.code == "hard_stop"
    assert error.message == (
        "The exam cannot begin: Identity not confirmed with two identifiers. "
        "Screening not answered: npo. Preparation not verified."
    )
    now = exam.state_changed_at
    IdentityCheck.objects.create(
        exam=exam, method=IdentityMethod.NAME_BIRTH_DATE, at=now, by=technologist
    )
    ScreeningAnswer.objects.create(
        exam=exam,
        item_id="npo",
        answer="Nothing since 22:00",
        result="cleared",
        at=now,
        by=technologist,
    )
    PrepCheck.objects.create(exam=exam, prep_ok=True, at=now, by=technologist)
    exam = exam_begin(exam=exam, by=technologist)
    assert exam.state == ExamState.IN_PROGRESS
    assert not Override.objects.filter(exam=exam).exists()


def test_hard_stops_overridden_with_reasons_are_each_on_the_override_report(
    reference: None, admin_user: User, user_for_role: Callable[[Role], User]
) -> None:
    exam = make_exam(ExamState.ARRIVED, by=admin_user)
    technologist = user_for_role(Role.TECHNOLOGIST)
    reasons = {"identity": "Known patient, wristband checked", "screening": "", "prep": "Urgent"}
    error = refused(
        exam, Conflict, lambda: exam_begin(exam=exam, by=technologist, overrides=reasons)
    )
    assert error.message == "The exam cannot begin: Screening not answered: npo."
    reasons["screening"] = "Inpatient, NPO per ward"
    error = refused(
        exam, PermissionDenied, lambda: exam_begin(exam=exam, by=technologist, overrides=reasons)
    )
    assert error.message.startswith("Your role may not override the identity hard stop")

    both = user_for_role(Role.RADIOLOGIST)
    both.groups.add(*technologist.groups.all())
    both = User.objects.get(pk=both.pk)  # fresh permission cache
    exam = exam_begin(exam=exam, by=both, overrides=reasons)
    assert exam.state == ExamState.IN_PROGRESS
    rows = Override.objects.filter(exam=exam).order_by("stop")
    assert [(r.stop, r.reason, r.action, r.by) for r in rows] == [
        ("identity", "Known patient, wristband checked", "begin", both),
        ("prep", "Urgent", "begin", both),
        ("screening", "Inpatient, NPO per ward", "begin", both),
    ]
    assert rows[0].roles == "radiologist, technologist"
    begin = ExamTransition.objects.get(exam=exam, action="begin")
    assert begin.details == {"overridden": ["identity", "screening", "prep"]}


# --- two schedulers, one room -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_bookings_of_one_room_let_exactly_one_win(
    reference: None, admin_user: User
) -> None:
    # PostgreSQL makes the loser wait on the room lock and then answers "slot just taken".
    # SQLite's in-memory test database (shared cache) either serialises the two (the loser then
    # sees the booking: "slot_taken") or refuses the second writer at once ("table is locked"),
    # depending on which thread gets the write lock first; either way one booking exists.
    losers = {"slot_taken"} if connection.vendor == "postgresql" else {"slot_taken", "locked"}
    room = ultrasound_room()
    start = next_slot(4)
    exams = [make_exam(ExamState.AUTHORIZED, by=admin_user) for _ in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def book(exam: Exam) -> None:
        try:
            barrier.wait(timeout=10)
            exam_schedule(exam=exam, by=admin_user, room=room, start=start)
            outcomes.append("booked")
        except Conflict as exc:
            outcomes.append(exc.code)
        except OperationalError as exc:
            outcomes.append("locked" if "locked" in str(exc) else str(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=book, args=(exam,)) for exam in exams]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == 2
    assert outcomes.count("booked") == 1
    assert next(o for o in outcomes if o != "booked") in losers
    assert Exam.objects.filter(room=room, state=ExamState.SCHEDULED).count() == 1
