"""Generating, publishing, swapping and re-solving rosters with the real solver on tiny problems."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User

from radflow.core.errors import ValidationFailed
from radflow.notifications.models import Notification
from radflow.rostering import services
from radflow.rostering.models import (
    LeaveKind,
    LeaveRequest,
    RequestStatus,
    Roster,
    RosterAssignment,
    RosterRun,
    RosterStatus,
    RunKind,
    RunStatus,
    ShiftPreference,
    SickCall,
    SwapStatus,
)
from radflow.rostering.services import RosterNotPublishable, SwapBreaksRule
from tests.rostering.factories import MONDAY, department, person, roster

pytestmark = pytest.mark.django_db

#: "Today" in these tests: the Friday before the roster starts.
TODAY = MONDAY - timedelta(days=3)


@pytest.fixture(autouse=True)
def _today() -> Any:
    with time_machine.travel(TODAY, tick=True):
        yield


def generate(target: Roster, by: User, capture: Any, seconds: int = 3) -> RosterRun:
    with capture(execute=True):
        run = services.roster_run_start(roster=target, by=by, seconds=seconds)
    run.refresh_from_db()
    return run


def shifts_of(target: Roster) -> dict[tuple[Any, Any], str]:
    return {
        (row.staff_id, row.on_date): row.shift_type.code
        for row in RosterAssignment.objects.filter(roster=target).select_related("shift_type")
    }


def test_a_roster_starts_on_a_monday_and_does_not_overlap_one_being_made(coordinator: User) -> None:
    with pytest.raises(ValidationFailed, match="Monday"):
        services.roster_create(start=MONDAY + timedelta(days=1), weeks=4, by=coordinator)
    services.roster_create(start=MONDAY, weeks=2, by=coordinator)
    with pytest.raises(ValidationFailed, match="overlaps"):
        services.roster_create(start=MONDAY + timedelta(days=7), weeks=2, by=coordinator)


def test_a_run_solves_the_roster_with_trace_coverage_and_unmet_wishes(
    coordinator: User, django_capture_on_commit_callbacks: Any
) -> None:
    dept = department(people=6)
    # Everyone wants Wednesday off: the cover cannot grant all of them.
    for member in dept.people:
        ShiftPreference.objects.create(staff=member, on_date=MONDAY + timedelta(days=2), weight=3)
    target = roster()
    run = generate(target, coordinator, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.FINISHED, run.error
    assert run.solver_status in {"optimal", "feasible"}
    assert run.trace and len(run.trace[-1]) == 3
    target.refresh_from_db()
    assert target.status == RosterStatus.SOLVED
    rows = RosterAssignment.objects.filter(roster=target)
    assert rows.filter(on_date=MONDAY, shift_type=dept.day).count() == 2
    assert rows.filter(on_date=MONDAY, shift_type=dept.night).count() == 1
    wednesday = [row for row in run.coverage if row["date"] == "2030-06-05"]
    assert {(row["shift"], row["minimum"], row["assigned"]) for row in wednesday} == {
        ("US-D", 2, 2),
        ("US-N", 1, 1),
    }
    unmet = [item for item in run.unmet_requests if item["date"] == "2030-06-05"]
    assert len(unmet) == 3  # three people must work that day
    assert all("minimum cover" in str(item["why"]) for item in unmet), unmet
    assert all("Wed 2030-06-05" in str(item["why"]) for item in unmet)


def test_too_few_people_for_a_minimum_says_which_cover_cannot_be_met(
    coordinator: User, django_capture_on_commit_callbacks: Any
) -> None:
    department(people=2, day_minimum=2)
    target = roster()
    run = generate(target, coordinator, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.INFEASIBLE
    assert run.conflicts
    text = " ".join(run.conflicts)
    assert "US-D" in text and "2030-06" in text
    assert "infeasible" not in text.lower()
    target.refresh_from_db()
    assert target.status == RosterStatus.DRAFT


def test_rules_that_cannot_hold_together_are_named_by_the_solver(
    coordinator: User, django_capture_on_commit_callbacks: Any
) -> None:
    dept = department(people=4, day_minimum=2, night_minimum=1)
    # Enough people on paper for every shift, but each may work only 3 days in a row and must
    # work at least 4 days' minutes: the explainer names the rules.
    from radflow.rostering.models import StaffRosterRules

    StaffRosterRules.objects.update(max_consecutive_days=2, min_consecutive_days_off=2)
    del dept
    run = generate(roster(), coordinator, django_capture_on_commit_callbacks, seconds=5)
    assert run.status == RunStatus.INFEASIBLE
    text = " ".join(run.conflicts)
    assert "consecutive" in text or "minimum cover" in text, run.conflicts


def test_publishing_supersedes_the_old_roster_and_tells_staff(
    coordinator: User, django_capture_on_commit_callbacks: Any
) -> None:
    dept = department(people=6)
    dept.people[0].user = User.objects.create_user("sono", email="sono@hospital.example")
    dept.people[0].save()
    first = roster()
    generate(first, coordinator, django_capture_on_commit_callbacks)
    services.roster_publish(roster=first, by=coordinator)
    second = Roster.objects.create(start=MONDAY, weeks=1)
    generate(second, coordinator, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.roster_publish(roster=second, by=coordinator)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (RosterStatus.SUPERSEDED, RosterStatus.PUBLISHED)
    assert (
        Notification.objects.filter(recipient=dept.people[0].user, kind="roster_published").count()
        == 2
    )
    from django.core import mail

    assert any(dept.people[1].email in message.to for message in mail.outbox)


def test_a_roster_below_minimum_cover_is_not_published(
    coordinator: User, django_capture_on_commit_callbacks: Any
) -> None:
    department(people=6)
    target = roster()
    run = generate(target, coordinator, django_capture_on_commit_callbacks)
    run.coverage[0]["assigned"] = 0
    run.save()
    with pytest.raises(RosterNotPublishable, match="below their minimum"):
        services.roster_publish(roster=target, by=coordinator)


def _published(coordinator: User, capture: Any, **kwargs: Any) -> tuple[Any, Roster]:
    dept = department(**kwargs)
    target = roster()
    run = generate(target, coordinator, capture)
    assert run.status == RunStatus.FINISHED, (run.error, run.conflicts)
    services.roster_publish(roster=target, by=coordinator)
    return dept, target


def _night_and_day_people(target: Roster, dept: Any) -> tuple[Any, Any, Any]:
    """A night worker on some day, and a day worker on the next day."""
    rows = shifts_of(target)
    for (staff_id, on), code in sorted(rows.items(), key=lambda item: item[0][1]):
        if code != "US-N":
            continue
        following = on + timedelta(days=1)
        if rows.get((staff_id, following)) is None:
            for (other, when), other_code in rows.items():
                if when == following and other_code == "US-D" and other != staff_id:
                    return staff_id, other, following
    raise AssertionError("no night followed by a free day in the roster")


def test_a_swap_putting_a_day_right_after_a_night_is_refused_naming_the_rule(
    coordinator: User, django_capture_on_commit_callbacks: Any
) -> None:
    dept, target = _published(coordinator, django_capture_on_commit_callbacks, people=7)
    night_worker, day_worker, day = _night_and_day_people(target, dept)
    people = {member.pk: member for member in dept.people}
    with pytest.raises(SwapBreaksRule) as refused:
        services.swap_request(
            roster=target,
            requester=people[day_worker],
            partner=people[night_worker],
            give_date=day,
            take_date=None,
            note="",
            by=coordinator,
        )
    assert refused.value.code == "swap_breaks_rule"
    assert "minimum rest between shifts" in refused.value.message
    assert people[night_worker].given_name in refused.value.message
    assert not target.swaps.exists()


def _hand_roster(rows: dict[tuple[Any, int], Any], weeks: int = 1) -> Roster:
    """A published roster written by hand, so a test knows exactly who works when."""
    target = roster(weeks=weeks)
    RosterAssignment.objects.bulk_create(
        RosterAssignment(
            roster=target,
            staff=member,
            on_date=MONDAY + timedelta(days=day),
            shift_type=shift,
        )
        for (member, day), shift in rows.items()
    )
    target.status = RosterStatus.PUBLISHED
    target.save(update_fields=["status"])
    return target


def _flexible_people(dept: Any, count: int) -> list[Any]:
    """People whose contract allows anything from 0 to 2000 minutes a week."""
    return [person(dept.site, dept.us, minutes_per_week=1000, flex=1000) for _ in range(count)]


def test_a_swap_to_someone_without_the_competency_breaks_the_minimum_cover(
    coordinator: User,
) -> None:
    from radflow.catalog.models import Competency
    from tests.rostering.factories import cover, sign_off

    dept = department(people=0)
    vascular = Competency.objects.create(code="us-vascular-venous", name="Venous")
    cover(dept.day, minimum=1, competency=vascular)
    skilled, unskilled, nights = _flexible_people(dept, 3)
    sign_off(skilled, "us-vascular-venous")
    # Monday: the only vascular sonographer on days, one colleague on nights.
    target = _hand_roster(
        {(skilled, 0): dept.day, (unskilled, 1): dept.day, (nights, 0): dept.night}
    )
    with pytest.raises(SwapBreaksRule, match="minimum cover") as refused:
        services.swap_request(
            roster=target,
            requester=skilled,
            partner=unskilled,
            give_date=MONDAY,
            take_date=None,
            note="",
            by=coordinator,
        )
    assert "us-vascular-venous" in refused.value.message
    assert not target.swaps.exists()
    assert shifts_of(target)[skilled.pk, MONDAY] == "US-D"


def _find_swap(target: Roster, dept: Any) -> tuple[Any, Any, Any]:
    """Two day workers on different days where exchanging the days breaks nothing obvious."""
    rows = shifts_of(target)
    people = {member.pk: member for member in dept.people}
    days = sorted({on for (_, on) in rows})
    for on in days:
        for (a, d), code in rows.items():
            if d != on or code != "US-D":
                continue
            for (b, d2), code2 in rows.items():
                if d2 != on or code2 != "US-D" or b == a:
                    continue
                return people[a], people[b], on
    raise AssertionError("no day with two day workers")


def test_an_approved_swap_exchanges_the_two_people_shifts(
    coordinator: User, django_capture_on_commit_callbacks: Any
) -> None:
    dept = department(people=0)
    day_worker, night_worker = _flexible_people(dept, 2)
    thursday = MONDAY + timedelta(days=3)
    # Each works only Thursday, so exchanging day and night keeps every rest rule.
    target = _hand_roster({(day_worker, 3): dept.day, (night_worker, 3): dept.night})
    swap = services.swap_request(
        roster=target,
        requester=night_worker,
        partner=day_worker,
        give_date=thursday,
        take_date=thursday,
        note="family",
        by=coordinator,
    )
    assert swap.status == SwapStatus.REQUESTED
    with django_capture_on_commit_callbacks(execute=True):
        swap = services.swap_approve(swap=swap, by=coordinator)
    assert swap.status == SwapStatus.APPROVED
    after = shifts_of(target)
    assert after[night_worker.pk, thursday] == "US-D"
    assert after[day_worker.pk, thursday] == "US-N"


def test_approving_a_swap_after_the_roster_changed_refuses_it_with_the_reason(
    coordinator: User, django_capture_on_commit_callbacks: Any
) -> None:
    dept, target = _published(coordinator, django_capture_on_commit_callbacks, people=7)
    a, b, on = _find_swap(target, dept)
    # b gives the shift away to a free colleague; the exchange no longer fits.
    rows = shifts_of(target)
    free = next(m for m in dept.people if (m.pk, on) not in rows)
    swap = SwapRequestFactoryless(target, a, free, on)
    RosterAssignment.objects.create(roster=target, staff=free, on_date=on, shift_type=dept.day)
    swap = services.swap_approve(swap=swap, by=coordinator)
    assert swap.status == SwapStatus.REFUSED
    assert "already works" in swap.reason
    del b


def SwapRequestFactoryless(target: Roster, requester: Any, partner: Any, on: Any) -> Any:  # noqa: N802
    from radflow.rostering.models import SwapRequest

    return SwapRequest.objects.create(
        roster=target, requester=requester, partner=partner, give_date=on, take_date=None
    )


def test_a_sick_call_re_solves_few_person_days_and_keeps_frozen_days(
    coordinator: User, django_capture_on_commit_callbacks: Any
) -> None:
    dept, target = _published(coordinator, django_capture_on_commit_callbacks, people=7)
    before = shifts_of(target)
    sick_day = MONDAY + timedelta(days=2)
    ill = next(m for m in dept.people if (m.pk, sick_day) in before)
    with django_capture_on_commit_callbacks(execute=True):
        sick = services.sick_call_report(staff=ill, start=sick_day, end=sick_day, by=coordinator)
    sick.refresh_from_db()
    assert sick.run is not None
    sick.run.refresh_from_db()
    assert sick.run.kind == RunKind.SICK_CALL
    assert sick.run.status == RunStatus.FINISHED, (sick.run.error, sick.run.conflicts)
    changed_days = {change[1] for change in sick.changes}
    window = {(sick_day + timedelta(days=i)).isoformat() for i in range(3)}
    assert changed_days <= window  # days outside the window are frozen
    assert [str(ill.pk), sick_day.isoformat(), before[ill.pk, sick_day], None] in sick.changes
    assert len(sick.changes) <= 6
    with django_capture_on_commit_callbacks(execute=True):
        services.sick_call_apply(sick_call=sick, by=coordinator)
    after = shifts_of(target)
    assert (ill.pk, sick_day) not in after
    assert LeaveRequest.objects.filter(
        staff=ill, kind=LeaveKind.SICK, status=RequestStatus.APPROVED
    ).exists()
    monday_rows = {k: v for k, v in after.items() if k[1] == MONDAY}
    assert monday_rows == {k: v for k, v in before.items() if k[1] == MONDAY}


def test_a_sick_call_for_days_that_are_over_is_refused_with_nothing_recorded(
    coordinator: User, django_capture_on_commit_callbacks: Any
) -> None:
    dept, target = _published(coordinator, django_capture_on_commit_callbacks, people=7)
    later = datetime.combine(target.end, time(9), tzinfo=UTC) + timedelta(days=5)
    with time_machine.travel(later), pytest.raises(ValidationFailed) as caught:
        services.sick_call_report(
            staff=dept.people[0], start=target.start, end=target.start, by=coordinator
        )
    assert "nothing left to re-plan" in str(caught.value.errors["end"])
    assert not SickCall.objects.exists()
    assert not LeaveRequest.objects.filter(kind=LeaveKind.SICK).exists()
