"""Re-planning a day: the plan's diff, applying it through the booking service with the patients
told through the outbox, and what is refused (a stale plan, a move the booking rules refuse)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
import time_machine
from django.contrib.auth.models import User

from radflow.core.errors import Conflict, PermissionDenied, ValidationFailed
from radflow.core.roles import Role
from radflow.exams.models import Exam
from radflow.notifications.models import Notification, Outbox, OutboxStatus
from radflow.orders.models import OrderPatientClass, Priority
from radflow.planning import selectors, services
from radflow.planning.models import DayPlanRun, PlanKind, PlanStatus
from radflow.planning.planning import exam_signature
from radflow.scheduling.booking import appointment_move
from radflow.scheduling.models import RoomClosure, RoomStatus
from radflow.scheduling.services import room_set_status
from tests.conftest import make_user
from tests.patients.factories import PatientFactory
from tests.planning.factories import Dept, booked, department, local, request

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference")]

MONDAY = date(2030, 6, 3)
Capture = Callable[..., Any]


@pytest.fixture
def morning() -> Iterator[Any]:
    """07:30 on the Monday planned, the clock running."""
    with time_machine.travel(local(MONDAY, 7, 30), tick=True) as traveller:
        yield traveller


@pytest.fixture
def coordinator_user() -> User:
    return make_user(Role.COORDINATOR, "plan-coordinator")


def patient(n: int) -> Any:
    return PatientFactory.create(given_name=f"Ana{n}", email=f"patient{n}@example.org")


def busy_day() -> tuple[Dept, dict[str, Exam]]:
    """US-1 and US-2 partly booked, US-3 full from 09:00: about to lose US-3."""
    dept = department(MONDAY)
    us1, us2, us3 = dept.rooms
    s0, s1, s2 = dept.staff
    slots = {
        "us1_0900": (us1, local(MONDAY, 9), s0),
        "us1_1000": (us1, local(MONDAY, 10), s0),
        "us2_0900": (us2, local(MONDAY, 9), s1),
        "us3_0900": (us3, local(MONDAY, 9), s2),
        "us3_0940": (us3, local(MONDAY, 9, 40), s2),
        "us3_1020": (us3, local(MONDAY, 10, 20), s2),
    }
    exams = {
        name: booked(dept, start, room=room, staff=staff, patient=patient(i))
        for i, (name, (room, start, staff)) in enumerate(slots.items())
    }
    return dept, exams


def replan(
    dept: Dept, by: User, capture: Capture, *, trigger: str = "Room US-3 down"
) -> DayPlanRun:
    with capture(execute=True):
        run = services.plan_start(
            site=dept.site, on=MONDAY, by=by, kind=PlanKind.REPLAN, trigger=trigger
        )
    run.refresh_from_db()
    assert run.status == PlanStatus.DONE, run.error
    return run


def signatures(exams: dict[str, Exam]) -> dict[str, list[str]]:
    return {name: exam_signature(Exam.objects.get(pk=exam.pk)) for name, exam in exams.items()}


def test_a_room_going_down_is_replanned_and_applied_with_the_patients_told(
    morning: Any, coordinator_user: User, django_capture_on_commit_callbacks: Capture
) -> None:
    dept, exams = busy_day()
    us3 = dept.rooms[2]
    room_set_status(room=us3, status=RoomStatus.DOWN, note="Probe failure")
    assert selectors.replan_suggestion(dept.site, MONDAY) == (
        "Room US-3 is down (Probe failure): 3 bookings still in it."
    )

    run = replan(dept, coordinator_user, django_capture_on_commit_callbacks)

    assert selectors.latest_run(dept.site, MONDAY) == run
    assert selectors.replan_suggestion(dept.site, MONDAY) is None  # the plan awaits a decision
    changes = {change["exam"]: change for change in run.result["changes"]}
    in_us3 = {str(exams[name].pk) for name in ("us3_0900", "us3_0940", "us3_1020")}
    assert in_us3 <= set(changes), "every booking in the room that went down moves"
    assert all(changes[pk]["after"]["room"] != str(us3.pk) for pk in in_us3)
    assert run.result["unscheduled"] == {}
    assert all(c["must_call"] == c["time_changed"] for c in changes.values())
    # Keeping the patient's time in another room beats calling them: some only change room.
    assert any(c["room_changed"] and not c["time_changed"] for c in changes.values())
    assert run.result["metrics"]["changed"] == sum(c["time_changed"] for c in changes.values())
    assert run.result["greedy"]["objective"] >= run.result["objective"]
    assert run.result["before"]["metrics"]["unscheduled"] == 0
    assert (run.result["before"]["broken"], run.result["broken"]) == (3, 0)

    services.plan_apply(run=run, by=coordinator_user)

    run.refresh_from_db()
    assert run.status == PlanStatus.APPLIED
    assert run.decided_by == coordinator_user
    for pk, change in changes.items():
        exam = Exam.objects.get(pk=pk)
        assert str(exam.room_id) == change["after"]["room"]
        assert exam.scheduled_start == datetime.fromisoformat(change["after"]["start"])
        assert str(exam.technologist_id) == change["after"]["staff"]
    assert not Exam.objects.filter(room=us3, state="scheduled").exists()
    told = [pk for pk, c in changes.items() if c["time_changed"]]
    mails = Outbox.objects.filter(status=OutboxStatus.PENDING)
    assert sorted(m.payload["exam"] for m in mails) == sorted(told)
    for message in mails:
        exam = Exam.objects.select_related("order__patient").get(pk=message.payload["exam"])
        person = exam.order.patient
        assert message.recipient == person.email
        assert message.key == f"patient:{person.pk}"
        start = exam.scheduled_start.astimezone(local(MONDAY, 0).tzinfo)  # type: ignore[union-attr]
        assert f"Dear {person.given_name}," in message.body
        assert f"{start:%H:%M}" in message.body
        assert "Riverside Imaging" in message.body and "(555) 010-2000" in message.body
        # No more than needed: no family name, record number, exam or accession.
        for secret in (person.family_name, person.mrn, dept.exam_type.name, exam.accession_number):
            assert secret not in message.body and secret not in message.subject
    note = Notification.objects.get(recipient=coordinator_user, kind="day_replanned")
    assert f"{len(changes)} appointment(s) changed, {len(told)} patient(s) to call" in note.title


def test_a_stat_request_is_booked_by_the_replan(
    morning: Any, coordinator_user: User, django_capture_on_commit_callbacks: Capture
) -> None:
    dept, _ = busy_day()
    stat = request(
        dept, priority=Priority.STAT, patient_class=OrderPatientClass.EMERGENCY, patient=patient(9)
    )
    assert selectors.replan_suggestion(dept.site, MONDAY) == "1 STAT request waiting to be booked."

    run = replan(dept, coordinator_user, django_capture_on_commit_callbacks, trigger="STAT")

    change = next(c for c in run.result["changes"] if c["exam"] == str(stat.pk))
    assert change["kind"] == "book"
    assert change["before"] is None
    # Released when it came in (plus the lead time): it goes first, before 08:30.
    assert datetime.fromisoformat(change["after"]["start"]) <= local(MONDAY, 8, 30)
    services.plan_apply(run=run, by=coordinator_user)
    stat.refresh_from_db()
    assert stat.state == "scheduled"
    assert stat.scheduled_start == datetime.fromisoformat(change["after"]["start"])
    assert not Outbox.objects.filter(payload__exam=str(stat.pk)).exists()  # nobody to re-tell


def test_a_plan_is_refused_once_the_day_changed_and_nothing_moves(
    morning: Any, coordinator_user: User, django_capture_on_commit_callbacks: Capture
) -> None:
    dept, exams = busy_day()
    room_set_status(room=dept.rooms[2], status=RoomStatus.DOWN, note="Probe failure")
    run = replan(dept, coordinator_user, django_capture_on_commit_callbacks)
    moved = appointment_move(
        exam=exams["us1_1000"], by=dept.admin, room=dept.rooms[0], start=local(MONDAY, 15)
    )
    before = signatures(exams)

    with pytest.raises(services.PlanStale) as refused:
        services.plan_apply(run=run, by=coordinator_user)

    assert refused.value.code == "plan_stale"
    assert refused.value.message == (
        f"The day changed since this plan was made ({moved.accession_number} was changed); re-plan."
    )
    assert signatures(exams) == before
    assert Outbox.objects.count() == 0
    run.refresh_from_db()
    assert run.status == PlanStatus.DONE


def test_a_plan_whose_first_new_start_has_passed_is_refused(
    morning: Any, coordinator_user: User, django_capture_on_commit_callbacks: Capture
) -> None:
    dept, exams = busy_day()
    room_set_status(room=dept.rooms[2], status=RoomStatus.DOWN, note="Probe failure")
    run = replan(dept, coordinator_user, django_capture_on_commit_callbacks)
    before = signatures(exams)

    with pytest.raises(services.PlanStale, match="has passed; re-plan"):
        services.plan_apply(run=run, by=coordinator_user, now=local(MONDAY, 12))

    assert signatures(exams) == before


def test_a_move_the_booking_rules_refuse_undoes_every_move_of_the_plan(
    morning: Any, coordinator_user: User, django_capture_on_commit_callbacks: Capture
) -> None:
    dept, exams = busy_day()
    room_set_status(room=dept.rooms[2], status=RoomStatus.DOWN, note="Probe failure")
    run = replan(dept, coordinator_user, django_capture_on_commit_callbacks)
    order = services._moves(run)
    assert len(order) >= 2
    last = order[-1]
    target = dept.rooms[0].__class__.objects.get(pk=UUID(last["after"]["room"]))
    RoomClosure.objects.create(
        room=target,
        start=last["_after"]["start"] - timedelta(minutes=1),
        end=last["_after"]["end"],
        reason="Leak from the ceiling",
    )
    before = signatures(exams)
    blocked = Exam.objects.get(pk=last["exam"])

    with pytest.raises(services.PlanNotApplicable) as refused:
        services.plan_apply(run=run, by=coordinator_user)

    assert refused.value.message.startswith(
        f"The plan was not applied, nothing changed: {blocked.accession_number} could not be moved"
    )
    assert "Leak from the ceiling" in refused.value.message
    assert signatures(exams) == before  # the moves before it were undone too
    assert Outbox.objects.count() == 0
    assert not Notification.objects.filter(kind="day_replanned").exists()
    run.refresh_from_db()
    assert run.status == PlanStatus.DONE


def test_discarding_a_plan_changes_no_booking(
    morning: Any, coordinator_user: User, django_capture_on_commit_callbacks: Capture
) -> None:
    dept, exams = busy_day()
    room_set_status(room=dept.rooms[2], status=RoomStatus.DOWN, note="Probe failure")
    run = replan(dept, coordinator_user, django_capture_on_commit_callbacks)
    before = signatures(exams)

    services.plan_discard(run=run, by=coordinator_user)

    run.refresh_from_db()
    assert run.status == PlanStatus.DISCARDED
    assert signatures(exams) == before
    assert Outbox.objects.count() == 0
    with pytest.raises(services.PlanNotApplicable, match="discarded"):
        services.plan_apply(run=run, by=coordinator_user)
    # The room is still down with bookings in it: the board suggests a re-plan again.
    assert selectors.replan_suggestion(dept.site, MONDAY) is not None


def test_only_a_coordinator_may_start_or_apply_and_one_plan_of_a_day_runs_at_a_time(
    morning: Any, coordinator_user: User
) -> None:
    dept, _ = busy_day()
    scheduler = make_user(Role.SCHEDULER, "plan-scheduler")
    with pytest.raises(PermissionDenied):
        services.plan_start(site=dept.site, on=MONDAY, by=scheduler)
    services.plan_start(site=dept.site, on=MONDAY, by=coordinator_user)  # not run: no commit
    with pytest.raises(Conflict, match="already being planned"):
        services.plan_start(site=dept.site, on=MONDAY, by=coordinator_user)
    with pytest.raises(ValidationFailed):
        services.plan_start(site=dept.site, on=MONDAY - timedelta(days=1), by=coordinator_user)


def test_a_sick_sonographer_with_bookings_suggests_a_replan(morning: Any) -> None:
    from radflow.rostering.models import Roster, RosterStatus, SickCall

    dept, _ = busy_day()
    roster = Roster.objects.create(start=MONDAY, weeks=1, status=RosterStatus.PUBLISHED)
    sick = dept.staff[2]
    SickCall.objects.create(staff=sick, roster=roster, start=MONDAY, end=MONDAY)

    assert selectors.replan_suggestion(dept.site, MONDAY) == (
        f"{sick.given_name} {sick.family_name} called in sick: 3 bookings with them."
    )


def test_a_solve_left_running_by_a_dead_process_is_marked_failed(morning: Any) -> None:
    dept = department(MONDAY)
    run = DayPlanRun.objects.create(
        site=dept.site, date=MONDAY, status=PlanStatus.RUNNING, started_at=local(MONDAY, 7)
    )
    assert services.plan_runs_fail_stuck(now=local(MONDAY, 7, 5)) == 0
    assert services.plan_runs_fail_stuck(now=local(MONDAY, 7, 30)) == 1
    run.refresh_from_db()
    assert run.status == PlanStatus.FAILED
    assert "process" in run.error


def test_two_bookings_trading_sonographers_are_applied_together(
    morning: Any, coordinator_user: User, django_capture_on_commit_callbacks: Capture
) -> None:
    dept = department(MONDAY)
    us1, us2, _ = dept.rooms
    first = booked(dept, local(MONDAY, 9), room=us1, staff=dept.staff[0], patient=patient(1))
    second = booked(dept, local(MONDAY, 9), room=us2, staff=dept.staff[1], patient=patient(2))
    run = replan(dept, coordinator_user, django_capture_on_commit_callbacks)
    assert run.result["changes"] == []  # nothing to change: the day is fine as it is
    # A plan in which the two trade sonographers: each move lands on a person the other holds.
    slot = {"start": local(MONDAY, 9).isoformat(), "end": local(MONDAY, 9, 30).isoformat()}

    def at(room: Any, staff: Any, device: Any) -> dict[str, Any]:
        return {"room": str(room.pk), "staff": str(staff.pk), "device": str(device.pk), **slot}

    d1, d2 = dept.devices[0], dept.devices[1]
    run.result["changes"] = [
        {
            "exam": str(exam.pk),
            "kind": "move",
            "before": at(room, old, device),
            "after": at(room, new, device),
            "time_changed": False,
            "room_changed": False,
            "staff_changed": True,
            "must_call": False,
        }
        for exam, room, device, old, new in (
            (first, us1, d1, dept.staff[0], dept.staff[1]),
            (second, us2, d2, dept.staff[1], dept.staff[0]),
        )
    ]
    run.save()

    services.plan_apply(run=run, by=coordinator_user)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.technologist, second.technologist) == (dept.staff[1], dept.staff[0])
    assert (first.room, second.room) == (us1, us2)
    assert Outbox.objects.count() == 0  # same time, same room: nobody to tell


def test_two_bookings_trading_rooms_are_applied_together(
    morning: Any, coordinator_user: User, django_capture_on_commit_callbacks: Capture
) -> None:
    dept = department(MONDAY)
    us1, us2, _ = dept.rooms
    first = booked(dept, local(MONDAY, 9), room=us1, staff=dept.staff[0], patient=patient(1))
    second = booked(dept, local(MONDAY, 9), room=us2, staff=dept.staff[1], patient=patient(2))
    run = replan(dept, coordinator_user, django_capture_on_commit_callbacks)
    slot = {"start": local(MONDAY, 9).isoformat(), "end": local(MONDAY, 9, 30).isoformat()}

    def at(room: Any, staff: Any, device: Any) -> dict[str, Any]:
        return {"room": str(room.pk), "staff": str(staff.pk), "device": str(device.pk), **slot}

    d1, d2 = dept.devices[0], dept.devices[1]
    # Each exam moves into the room (and onto the scanner) the other one holds.
    run.result["changes"] = [
        {
            "exam": str(exam.pk),
            "kind": "move",
            "before": at(old_room, staff, old_device),
            "after": at(new_room, staff, new_device),
            "time_changed": False,
            "room_changed": True,
            "staff_changed": False,
            "must_call": False,
        }
        for exam, staff, old_room, old_device, new_room, new_device in (
            (first, dept.staff[0], us1, d1, us2, d2),
            (second, dept.staff[1], us2, d2, us1, d1),
        )
    ]
    run.save()

    services.plan_apply(run=run, by=coordinator_user)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.room, second.room) == (us2, us1)
    assert (first.device, second.device) == (d2, d1)


def test_a_booking_that_fits_nowhere_is_listed_with_why_and_left_for_the_coordinator(
    morning: Any, coordinator_user: User, django_capture_on_commit_callbacks: Capture
) -> None:
    dept = department(MONDAY, rooms=1)
    stuck = booked(dept, local(MONDAY, 9), room=dept.rooms[0], patient=patient(1))
    room_set_status(room=dept.rooms[0], status=RoomStatus.DOWN, note="Probe failure")

    run = replan(dept, coordinator_user, django_capture_on_commit_callbacks)

    why = run.result["unscheduled"][str(stuck.pk)]
    assert "No room that can do this exam is open at the site that day." in why
    assert "Ultrasound 1 is down (Probe failure)." in why
    (change,) = run.result["changes"]
    assert (change["kind"], change["must_call"], change["after"]) == ("unscheduled", True, None)
    review = selectors.run_review(run)
    assert [row.patient for row in review.to_call] == [stuck.order.patient]
    before = exam_signature(Exam.objects.get(pk=stuck.pk))

    services.plan_apply(run=run, by=coordinator_user)

    assert exam_signature(Exam.objects.get(pk=stuck.pk)) == before  # the coordinator calls
    assert Outbox.objects.count() == 0
