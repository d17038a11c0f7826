"""The roster pages as the coordinator and the staff use them (the role matrix covers who may
open each one): forms that refuse bad input and change nothing, the live run page, publishing,
swaps refused with the rule named, the iCal feed and the XLSX download."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from radflow.core.roles import Role
from radflow.rostering.models import (
    CalendarFeed,
    LeaveRequest,
    Roster,
    RosterAssignment,
    RosterRun,
    RosterStatus,
    RunStatus,
    ShiftKind,
    SwapRequest,
)
from radflow.staff.models import StaffMember
from tests.conftest import client_for, make_user
from tests.rostering.factories import MONDAY, Department, ShiftTypeFactory, department, roster

pytestmark = pytest.mark.django_db

#: "Today": the Friday before the roster starts, so no roster day is in the past.
TODAY = MONDAY - timedelta(days=3)


@pytest.fixture(autouse=True)
def _today() -> Any:
    with time_machine.travel(TODAY, tick=True):
        yield


def linked(member: StaffMember, role: Role = Role.TECHNOLOGIST) -> Client:
    """A logged-in client for the user account of this staff member."""
    user = make_user(role, f"user_{member.employee_number.lower()}")
    member.user = user
    member.save(update_fields=["user"])
    return client_for(user)


def published(rows: list[tuple[StaffMember, date, Any]], weeks: int = 1) -> Roster:
    """A published roster holding exactly ``rows`` (person, day, shift type)."""
    target = Roster.objects.create(start=MONDAY, weeks=weeks, status=RosterStatus.PUBLISHED)
    RosterAssignment.objects.bulk_create(
        RosterAssignment(roster=target, staff=who, on_date=on, shift_type=shift)
        for who, on, shift in rows
    )
    return target


def body(response: Any) -> str:
    return str(response.content.decode())


# --- creating and generating -------------------------------------------------------------------


def test_a_roster_that_does_not_start_on_a_monday_is_refused_and_nothing_is_created(
    coordinator: User,
) -> None:
    response = client_for(coordinator).post(
        "/rosters/new/", {"start": (MONDAY + timedelta(days=1)).isoformat(), "weeks": "4"}
    )
    assert response.status_code == 422
    assert "A roster starts on a Monday" in body(response)
    assert not Roster.objects.exists()


@pytest.mark.parametrize("weeks", ["3", "7", "many"])
def test_a_roster_of_the_wrong_length_is_refused_and_nothing_is_created(
    coordinator: User, weeks: str
) -> None:
    response = client_for(coordinator).post(
        "/rosters/new/", {"start": MONDAY.isoformat(), "weeks": weeks}
    )
    assert response.status_code == 422
    assert "form-errors" in body(response)
    assert not Roster.objects.exists()


def test_a_roster_of_four_weeks_from_a_monday_is_created(coordinator: User) -> None:
    response = client_for(coordinator).post(
        "/rosters/new/", {"start": MONDAY.isoformat(), "weeks": "4"}
    )
    created = Roster.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/rosters/{created.pk}/"
    assert (created.start, created.weeks, created.status) == (MONDAY, 4, RosterStatus.DRAFT)


def test_the_coordinator_generates_sees_the_cover_reached_and_publishes(
    coordinator: User, django_capture_on_commit_callbacks: Any
) -> None:
    department(people=6)
    target = roster(weeks=1)
    client = client_for(coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/rosters/{target.pk}/generate/")
    run = RosterRun.objects.get(roster=target)
    assert response["Location"] == f"/rosters/runs/{run.pk}/"
    assert run.status == RunStatus.FINISHED, (run.error, run.conflicts)

    page = body(client.get(f"/rosters/runs/{run.pk}/"))
    assert "Coverage reached" in page
    assert "Minimum cover met on every shift" in page
    assert "Requests it could not grant" in page
    assert "Publish roster" in page
    fragment = body(client.get(f"/rosters/runs/{run.pk}/progress/"))
    assert "hx-trigger" not in fragment  # finished: the page stops polling

    response = client.post(f"/rosters/{target.pk}/publish/")
    target.refresh_from_db()
    assert target.status == RosterStatus.PUBLISHED
    assert "Status: " in body(client.get(response["Location"]))


def test_a_running_solve_shows_its_progress_and_keeps_polling(coordinator: User) -> None:
    target = roster(weeks=1)
    run = RosterRun.objects.create(
        roster=target,
        status=RunStatus.RUNNING,
        seconds_limit=60,
        started_at=timezone.now() - timedelta(seconds=12),
        trace=[[1.5, 900, 100], [6.0, 640, 310]],
        objective=640,
        best_bound=310,
    )
    fragment = body(client_for(coordinator).get(f"/rosters/runs/{run.pk}/progress/"))
    assert 'hx-trigger="every 1s"' in fragment
    assert '<progress id="run-bar" max="60" value="12"' in fragment
    assert "640" in fragment
    assert "52%" in fragment  # the gap between the best roster and the bound
    assert "Stop and keep the best so far" in fragment


def test_a_roster_that_cannot_be_met_names_the_conflicting_rules(coordinator: User) -> None:
    target = roster(weeks=1)
    run = RosterRun.objects.create(
        roster=target,
        status=RunStatus.INFEASIBLE,
        started_at=timezone.now(),
        finished_at=timezone.now(),
        conflicts=["Only 1 person with US may work US-N on Sat 2030-06-08 (minimum 2)."],
    )
    page = body(client_for(coordinator).get(f"/rosters/runs/{run.pk}/"))
    assert "No roster can meet every rule and the minimum cover" in page
    assert "Only 1 person with US may work US-N on Sat 2030-06-08" in page
    assert "Publish roster" not in page


def test_a_director_reads_a_run_but_cannot_publish_it(
    coordinator: User, director: User, django_capture_on_commit_callbacks: Any
) -> None:
    department(people=6)
    target = roster(weeks=1)
    with django_capture_on_commit_callbacks(execute=True):
        client_for(coordinator).post(f"/rosters/{target.pk}/generate/")
    run = RosterRun.objects.get(roster=target)
    client = client_for(director)
    assert "Coverage reached" in body(client.get(f"/rosters/runs/{run.pk}/"))
    assert "Publish roster" not in body(client.get(f"/rosters/runs/{run.pk}/"))
    assert client.post(f"/rosters/{target.pk}/publish/").status_code == 403
    target.refresh_from_db()
    assert target.status == RosterStatus.SOLVED


# --- swaps and leave ---------------------------------------------------------------------------


def _night_then_day(dept: Department) -> tuple[Roster, StaffMember, StaffMember, date]:
    """Ana works a night on Monday; Ben works the Tuesday day shift."""
    ana, ben = dept.people[0], dept.people[1]
    tuesday = MONDAY + timedelta(days=1)
    target = published([(ana, MONDAY, dept.night), (ben, tuesday, dept.day)])
    return target, ana, ben, tuesday


def test_a_swap_with_oneself_is_refused_on_the_form_and_nothing_is_saved() -> None:
    dept = department(people=2)
    target, _ana, ben, tuesday = _night_then_day(dept)
    response = linked(ben).post(
        "/rosters/swaps/",
        {"roster": target.pk, "give_date": tuesday.isoformat(), "partner": ben.pk},
    )
    assert response.status_code == 422
    assert "you cannot swap with yourself" in body(response)
    assert not SwapRequest.objects.exists()


def test_a_swap_that_breaks_a_rule_is_refused_naming_the_rule_and_the_person() -> None:
    dept = department(people=2)
    target, ana, ben, tuesday = _night_then_day(dept)
    response = linked(ben).post(
        "/rosters/swaps/",
        {"roster": target.pk, "give_date": tuesday.isoformat(), "partner": ana.pk},
    )
    assert response.status_code == 422
    page = body(response)
    assert "The swap would break" in page
    assert "minimum rest between shifts" in page
    assert ana.given_name in page
    assert not SwapRequest.objects.exists()
    assert RosterAssignment.objects.get(roster=target, on_date=tuesday).staff_id == ben.pk


def test_a_swap_the_rules_allow_waits_for_the_coordinator_who_approves_it(
    coordinator: User,
) -> None:
    dept = department(people=3)
    ben, cai = dept.people[1], dept.people[2]
    wednesday, thursday = MONDAY + timedelta(days=2), MONDAY + timedelta(days=3)
    target = published([(ben, wednesday, dept.day), (cai, thursday, dept.day)])
    response = linked(ben).post(
        "/rosters/swaps/",
        {
            "roster": target.pk,
            "give_date": wednesday.isoformat(),
            "partner": cai.pk,
            "take_date": thursday.isoformat(),
        },
    )
    assert response.status_code == 302, body(response)
    swap = SwapRequest.objects.get()
    coordinator_page = client_for(coordinator)
    assert f'id="swap-{swap.pk}"' in body(coordinator_page.get("/rosters/swaps/"))
    coordinator_page.post(f"/rosters/swaps/{swap.pk}/approve/")
    swap.refresh_from_db()
    assert swap.status == "approved", swap.reason
    assert RosterAssignment.objects.get(roster=target, on_date=wednesday).staff_id == cai.pk
    assert RosterAssignment.objects.get(roster=target, on_date=thursday).staff_id == ben.pk


def test_leave_ending_before_it_starts_is_refused_and_nothing_is_saved() -> None:
    dept = department(people=1)
    response = linked(dept.people[0]).post(
        "/rosters/leave/",
        {
            "kind": "annual",
            "start": (MONDAY + timedelta(days=4)).isoformat(),
            "end": MONDAY.isoformat(),
        },
    )
    assert response.status_code == 422
    assert "The last day cannot be before the first day." in body(response)
    assert not LeaveRequest.objects.exists()


def test_the_coordinator_approves_leave_asked_for_on_the_leave_page(coordinator: User) -> None:
    dept = department(people=1)
    linked(dept.people[0]).post(
        "/rosters/leave/",
        {"kind": "study", "start": MONDAY.isoformat(), "end": MONDAY.isoformat(), "note": "CE"},
    )
    leave = LeaveRequest.objects.get()
    client = client_for(coordinator)
    assert f'id="leave-{leave.pk}"' in body(client.get("/rosters/leave/"))
    client.post(f"/rosters/leave/{leave.pk}/decide/", {"decision": "approve"})
    leave.refresh_from_db()
    assert leave.status == "approved"


def test_a_wish_needs_a_weekday_or_a_date() -> None:
    dept = department(people=1)
    response = linked(dept.people[0]).post("/rosters/preferences/", {"wants": "0", "weight": "10"})
    assert response.status_code == 422
    assert "Choose a weekday or a date." in body(response)


# --- my shifts, iCal, XLSX -------------------------------------------------------------------


def test_my_shifts_lists_published_shifts_and_makes_a_calendar_link() -> None:
    dept = department(people=2)
    target, ana, _ben, _tuesday = _night_then_day(dept)
    client = linked(ana)
    page = body(client.get(f"/rosters/mine/?month={MONDAY:%Y-%m}"))
    assert "US-N" in page
    assert "Make my calendar address" in page
    client.post("/rosters/mine/calendar-link/")
    token = CalendarFeed.objects.get(staff=ana).token
    assert f"/rosters/feed/{token}.ics" in body(client.get("/rosters/mine/"))
    assert target.status == RosterStatus.PUBLISHED


def test_an_account_without_a_staff_record_is_told_so(technologist: User) -> None:
    page = body(client_for(technologist).get("/rosters/mine/"))
    assert "not linked to a staff member" in page


def test_the_ical_feed_answers_its_token_only() -> None:
    from icalendar import Calendar

    dept = department(people=2)
    _night_then_day(dept)
    feed = CalendarFeed.objects.create(staff=dept.people[0])
    anonymous = Client()
    assert anonymous.get("/rosters/feed/not-the-token.ics").status_code == 404
    response = anonymous.get(f"/rosters/feed/{feed.token}.ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    events = Calendar.from_ical(response.content).walk("VEVENT")
    assert len(events) == 1
    assert events[0].decoded("DTSTART").date() == MONDAY


def test_the_roster_downloads_as_a_workbook_openpyxl_opens(coordinator: User) -> None:
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    dept = department(people=2)
    target, _ana, _ben, _tuesday = _night_then_day(dept)
    response = client_for(coordinator).get(f"/rosters/{target.pk}/roster.xlsx")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.content))
    text = {
        str(cell.value)
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.value is not None
    }
    assert "US-N" in text
    assert "US-D" in text


# --- the big grid stays cheap ------------------------------------------------------------------


def _department_of(people: int, weeks: int) -> Roster:
    """``people`` rostered staff with a shift every weekday for ``weeks`` weeks, published."""
    dept = department(people=people)
    evening = ShiftTypeFactory(
        site=dept.site,
        modality=dept.us,
        code="US-E",
        kind=ShiftKind.EVENING,
        start=time(14),
        end=time(22),
    )
    on_call = ShiftTypeFactory(
        site=dept.site,
        modality=dept.us,
        code="US-OC",
        kind=ShiftKind.ON_CALL,
        start=time(16),
        end=time(8),
        callback_minutes=30,
    )
    kinds = [dept.day, evening, dept.night, on_call]
    rows = []
    for index, member in enumerate(dept.people):
        for offset in range(7 * weeks):
            on = MONDAY + timedelta(days=offset)
            if on.weekday() < 5:
                rows.append((member, on, kinds[(index + offset) % len(kinds)]))
    return published(rows, weeks=weeks)


def test_the_grid_of_sixty_people_and_six_weeks_takes_few_queries(
    coordinator: User, django_assert_max_num_queries: Any
) -> None:
    target = _department_of(60, 6)
    client = client_for(coordinator)
    client.get("/rosters/")  # session and permissions cached like any later page
    with django_assert_max_num_queries(25):
        response = client.get(f"/rosters/{target.pk}/grid/")
    page = body(response)
    assert response.status_code == 200
    assert page.count('class="k-') == 60 * 30
    assert "US-OC" in page


def test_the_calendars_take_few_queries_whatever_the_number_of_people(
    coordinator: User, django_assert_max_num_queries: Any
) -> None:
    target = _department_of(60, 6)
    person = StaffMember.objects.order_by("family_name").first()
    assert person is not None
    client = client_for(coordinator)
    client.get("/rosters/")
    month = f"{MONDAY:%Y-%m}"
    with django_assert_max_num_queries(15):
        week = client.get(f"/rosters/calendar/modality/?modality=US&week={MONDAY.isoformat()}")
    with django_assert_max_num_queries(15):
        on_call = client.get(f"/rosters/calendar/on-call/?month={month}")
    with django_assert_max_num_queries(15):
        mine = client.get(f"/rosters/calendar/people/{person.pk}/?month={month}")
    assert "US-E" in body(week)
    assert "US-OC" in body(on_call)
    assert "shift-list" in body(mine)
    assert target.status == RosterStatus.PUBLISHED


# --- the board warns of credentials --------------------------------------------------------------


def test_the_grid_warns_of_a_credential_that_expires_tomorrow_and_then_of_its_expiry(
    coordinator: User, reference: None
) -> None:
    from radflow.credentials.reference import load_credential_reference
    from tests.credentials.factories import make_credential, make_signoff

    load_credential_reference()
    dept = department(people=2)
    expiring, renewed = dept.people
    for member in dept.people:
        make_signoff(member, "us-abdominal", on=MONDAY - timedelta(days=30))
    make_credential(expiring, "ardms-rdms-ab", expires_on=MONDAY + timedelta(days=1))
    make_credential(renewed, "ardms-rdms-ab", expires_on=MONDAY + timedelta(days=700))
    target = published([(member, MONDAY, dept.day) for member in dept.people])

    # Logged in on the day itself: a session from today's real clock would have expired.
    noon = time(12, tzinfo=ZoneInfo("America/New_York"))
    with time_machine.travel(datetime.combine(MONDAY, noon), tick=False):
        page = body(client_for(coordinator).get(f"/rosters/{target.pk}/grid/"))
    assert "expires on 2030-06-04 (in 1 day)" in page
    assert page.count('class="warn-flag" title=') == 1

    with time_machine.travel(datetime.combine(MONDAY + timedelta(days=2), noon), tick=False):
        page = body(client_for(coordinator).get(f"/rosters/{target.pk}/grid/"))
    assert "expired on 2030-06-04" in page
