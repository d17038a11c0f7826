"""The iCal feed and the XLSX export of published shifts; selectors staff and calendars read."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from io import BytesIO

import pytest
from icalendar import Calendar
from openpyxl import load_workbook  # type: ignore[import-untyped]

from radflow.rostering import selectors
from radflow.rostering.exports import ical_feed, roster_xlsx
from radflow.rostering.models import (
    Roster,
    RosterAssignment,
    RosterRun,
    RosterStatus,
    RunStatus,
    ShiftKind,
)
from tests.rostering.factories import DST_MONDAY, MONDAY, ShiftTypeFactory, department

pytestmark = pytest.mark.django_db


def published(start=MONDAY, weeks=1) -> Roster:
    return Roster.objects.create(
        start=start, weeks=weeks, status=RosterStatus.PUBLISHED, published_at=datetime.now(UTC)
    )


def test_person_shifts_come_only_from_published_rosters() -> None:
    dept = department(people=2)
    member = dept.people[0]
    draft = Roster.objects.create(start=MONDAY, weeks=1)
    RosterAssignment.objects.create(roster=draft, staff=member, on_date=MONDAY, shift_type=dept.day)
    assert selectors.person_shifts(staff=member, start=MONDAY, end=MONDAY + timedelta(days=6)) == []
    live = published()
    RosterAssignment.objects.create(
        roster=live, staff=member, on_date=MONDAY + timedelta(days=1), shift_type=dept.night
    )
    rows = selectors.person_shifts(staff=member, start=MONDAY, end=MONDAY + timedelta(days=6))
    assert [(row.date, row.shift_type.code) for row in rows] == [
        (MONDAY + timedelta(days=1), "US-N")
    ]
    assert rows[0].end - rows[0].start == timedelta(hours=10)


def test_the_on_call_rota_lists_who_is_on_call_with_the_call_back_time() -> None:
    dept = department(people=2)
    on_call = ShiftTypeFactory.create(
        site=dept.site,
        modality=dept.us,
        code="US-OC",
        kind=ShiftKind.ON_CALL,
        start=time(17),
        end=time(8),
        paid_minutes=120,
        callback_minutes=30,
    )
    live = published()
    RosterAssignment.objects.create(
        roster=live, staff=dept.people[1], on_date=MONDAY, shift_type=on_call
    )
    rota = selectors.on_call_rota(start=MONDAY, end=MONDAY + timedelta(days=1))
    assert [(e.staff, e.callback_minutes) for e in rota[0].shifts] == [(dept.people[1], 30)]
    assert rota[1].shifts == []


def test_fairness_shows_each_persons_nights_and_weekends_and_the_spread() -> None:
    dept = department(people=2)
    live = published()
    a, b = dept.people
    for day in (4, 5, 6):
        RosterAssignment.objects.create(
            roster=live, staff=a, on_date=MONDAY + timedelta(days=day), shift_type=dept.night
        )
    RosterAssignment.objects.create(roster=live, staff=b, on_date=MONDAY, shift_type=dept.day)
    table = selectors.fairness(roster=live)
    counts = {row.staff: (row.nights, row.weekends) for row in table.rows}
    assert counts == {a: (3, 2), b: (0, 0)}
    assert table.spread["nights"] == 3 and table.spread["weekends"] == 2


def test_the_ical_feed_has_the_site_zone_across_a_daylight_saving_change() -> None:
    dept = department(people=1)
    member = dept.people[0]
    live = published(start=DST_MONDAY, weeks=2)
    saturday = DST_MONDAY + timedelta(days=5)  # the night into Sunday 2030-03-10, 02:00 -> 03:00
    RosterAssignment.objects.create(
        roster=live, staff=member, on_date=saturday, shift_type=dept.night
    )
    RosterAssignment.objects.create(
        roster=live, staff=member, on_date=saturday + timedelta(days=2), shift_type=dept.day
    )
    feed = Calendar.from_ical(ical_feed(staff=member, today=DST_MONDAY))
    events = sorted(feed.walk("VEVENT"), key=lambda e: e.decoded("dtstart"))
    assert len(events) == 2
    night = events[0]
    assert night["DTSTART"].params["TZID"] == "America/New_York"
    start, end = night.decoded("dtstart"), night.decoded("dtend")
    assert (start.hour, end.hour) == (22, 8)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=9)  # an hour short
    assert feed.walk("VTIMEZONE")
    assert "US-N" in str(night["SUMMARY"])
    assert len({str(e["UID"]) for e in events}) == 2


def test_the_xlsx_export_has_the_grid_coverage_and_fairness_as_tables() -> None:
    dept = department(people=2)
    live = published()
    RosterAssignment.objects.create(
        roster=live, staff=dept.people[0], on_date=MONDAY, shift_type=dept.day
    )
    RosterRun.objects.create(
        roster=live,
        status=RunStatus.FINISHED,
        coverage=[
            {
                "date": MONDAY.isoformat(),
                "shift": "US-D",
                "skill": None,
                "minimum": 2,
                "preferred": 2,
                "assigned": 1,
                "closed": False,
            }
        ],
    )
    book = load_workbook(BytesIO(roster_xlsx(roster=live)))
    assert book.sheetnames == ["Roster", "Coverage", "Fairness"]
    grid = book["Roster"]
    header = [cell.value for cell in grid[1]]
    assert header[:3] == ["Person", "Group", f"Mon {MONDAY.isoformat()}"]
    names = {row[0].value: row[2].value for row in grid.iter_rows(min_row=2)}
    first = dept.people[0]
    assert names[f"{first.family_name}, {first.given_name}"] == "US-D"
    assert grid.tables and book["Coverage"].tables
    assert [c.value for c in book["Coverage"][2]][1:] == ["US-D", None, 2, 2, 1]
