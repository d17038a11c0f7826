"""Calendars: opening hours less closures, devices less downtime, who works when (issue 5).

Includes both daylight-saving change days in New York: the 25-hour 1 November 2026 and the
23-hour 14 March 2027, where wall-clock times must stay wall-clock and durations real.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.utils import timezone

from radflow.core.exam_states import ExamState
from radflow.credentials.reference import load_credential_reference
from radflow.rostering.models import (
    LeaveRequest,
    RequestStatus,
    Roster,
    RosterAssignment,
    RosterStatus,
    StaffRosterRules,
)
from radflow.scheduling import availability as av
from radflow.scheduling import booking
from radflow.scheduling.models import (
    DeviceDowntime,
    RoomClosure,
    RoomOpeningHours,
    RoomStatus,
    SiteClosure,
)
from tests.exams.factories import make_exam
from tests.rostering.factories import ShiftTypeFactory
from tests.scheduling.factories import (
    BookingWorld,
    DeviceFactory,
    RoomFactory,
    SiteFactory,
    at,
    booking_world,
    interpreter,
    qualified_performer,
    works_every_day,
)

pytestmark = pytest.mark.django_db

NY = ZoneInfo("America/New_York")
TUESDAY = dt.date(2031, 6, 3)
BEFORE_FALL = dt.datetime(2026, 10, 28, 12, tzinfo=dt.UTC)
BEFORE_SPRING = dt.datetime(2027, 3, 10, 12, tzinfo=dt.UTC)


def hours(windows: list[av.Window]) -> list[tuple[str, str]]:
    """Windows as New York wall-clock times."""
    return [(f"{a.astimezone(NY):%H:%M}", f"{b.astimezone(NY):%H:%M}") for a, b in windows]


def wall(instant: dt.datetime) -> str:
    return f"{instant.astimezone(NY):%H:%M %Z}"


# --- rooms and devices ----------------------------------------------------------------------


def test_room_windows_are_the_opening_hours_less_closures() -> None:
    room = RoomFactory.create()
    RoomOpeningHours.objects.create(
        room=room, weekday=TUESDAY.weekday(), opens=dt.time(7), closes=dt.time(12)
    )
    RoomOpeningHours.objects.create(
        room=room, weekday=TUESDAY.weekday(), opens=dt.time(13), closes=dt.time(19)
    )
    RoomClosure.objects.create(
        room=room, start=at(TUESDAY, 9), end=at(TUESDAY, 10, 30), reason="Deep clean"
    )
    assert hours(av.room_windows(room=room, on=TUESDAY)) == [
        ("07:00", "09:00"),
        ("10:30", "12:00"),
        ("13:00", "19:00"),
    ]
    assert av.room_windows(room=room, on=TUESDAY + dt.timedelta(days=1)) == []


def test_a_site_closure_or_a_room_out_of_service_leaves_no_window() -> None:
    room = RoomFactory.create()
    RoomOpeningHours.objects.create(
        room=room, weekday=TUESDAY.weekday(), opens=dt.time(7), closes=dt.time(19)
    )
    SiteClosure.objects.create(site=room.site, date=TUESDAY, reason="Independence Day")
    assert av.room_windows(room=room, on=TUESDAY) == []
    assert hours(av.room_windows(room=room, on=TUESDAY + dt.timedelta(days=7))) == [
        ("07:00", "19:00")
    ]
    room.status = RoomStatus.DOWN
    room.save()
    assert av.room_windows(room=room, on=TUESDAY + dt.timedelta(days=7)) == []


def test_device_windows_are_its_rooms_windows_less_downtime() -> None:
    room = RoomFactory.create()
    RoomOpeningHours.objects.create(
        room=room, weekday=TUESDAY.weekday(), opens=dt.time(7), closes=dt.time(19)
    )
    device = DeviceFactory.create(room=room, modality=room.modality)
    DeviceDowntime.objects.create(
        device=device, start=at(TUESDAY, 6), end=at(TUESDAY, 11), reason="Tube replacement"
    )
    assert hours(av.device_windows(device=device, on=TUESDAY)) == [("11:00", "19:00")]
    loose = DeviceFactory.create(room=None)
    assert av.device_windows(device=loose, on=TUESDAY) == []


# --- staff ----------------------------------------------------------------------------------


@pytest.fixture
def staffed(reference: None) -> BookingWorld:
    load_credential_reference()
    return booking_world(on=TUESDAY, opens=dt.time(8), closes=dt.time(16, 30))


def publish(start: dt.date) -> Roster:
    return Roster.objects.create(
        start=start, weeks=1, status=RosterStatus.PUBLISHED, published_at=timezone.now()
    )


def test_standard_hours_apply_when_no_published_roster_covers_the_day(
    staffed: BookingWorld,
) -> None:
    person = staffed.sonographer
    Roster.objects.create(start=TUESDAY - dt.timedelta(days=1), weeks=1)  # a draft only
    found = av.staff_windows(staff_ids=[person.pk], on=TUESDAY, site=staffed.site)
    assert hours(found[person.pk]) == [("08:00", "16:30")]


def test_roster_shifts_replace_standard_hours_on_a_day_a_published_roster_covers(
    staffed: BookingWorld,
) -> None:
    person = staffed.sonographer
    idle = qualified_performer(staffed.site, on=TUESDAY)
    works_every_day(idle, dt.time(8), dt.time(16))
    roster = publish(TUESDAY - dt.timedelta(days=1))
    late = ShiftTypeFactory.create(
        site=staffed.site, modality=staffed.room.modality, start=dt.time(11), end=dt.time(19, 30)
    )
    RosterAssignment.objects.create(roster=roster, staff=person, on_date=TUESDAY, shift_type=late)
    found = av.staff_windows(staff_ids=[person.pk, idle.pk], on=TUESDAY, site=staffed.site)
    assert hours(found[person.pk]) == [("11:00", "19:30")]
    assert found[idle.pk] == []  # not on the roster that day: not working
    # Someone the roster does not plan keeps their standard hours.
    StaffRosterRules.objects.create(staff=idle, rostered=False)
    found = av.staff_windows(staff_ids=[idle.pk], on=TUESDAY, site=staffed.site)
    assert hours(found[idle.pk]) == [("08:00", "16:00")]
    # The week after the roster, standard hours again.
    later = TUESDAY + dt.timedelta(days=7)
    assert hours(av.staff_windows(staff_ids=[person.pk], on=later)[person.pk]) == [
        ("08:00", "16:30")
    ]


def test_a_night_shift_counts_on_both_days_it_touches(staffed: BookingWorld) -> None:
    person = staffed.sonographer
    roster = publish(TUESDAY - dt.timedelta(days=1))
    night = ShiftTypeFactory.create(
        site=staffed.site, modality=staffed.room.modality, start=dt.time(19), end=dt.time(7, 30)
    )
    RosterAssignment.objects.create(roster=roster, staff=person, on_date=TUESDAY, shift_type=night)
    assert hours(av.staff_windows(staff_ids=[person.pk], on=TUESDAY)[person.pk]) == [
        ("19:00", "00:00")
    ]
    wednesday = TUESDAY + dt.timedelta(days=1)
    assert hours(av.staff_windows(staff_ids=[person.pk], on=wednesday)[person.pk]) == [
        ("00:00", "07:30")
    ]


def test_approved_leave_removes_standard_hours(staffed: BookingWorld) -> None:
    person = staffed.sonographer
    LeaveRequest.objects.create(
        staff=person, start=TUESDAY, end=TUESDAY, status=RequestStatus.APPROVED
    )
    assert av.staff_windows(staff_ids=[person.pk], on=TUESDAY)[person.pk] == []


def test_interpreters_are_found_by_language() -> None:
    ana = interpreter("Ana Ruiz", "es, pt", dt.time(9), dt.time(13))
    interpreter("Linh Tran", "vi", dt.time(9), dt.time(17))
    found = av.interpreter_windows(language="ES", on=TUESDAY)
    assert list(found) == [ana.pk]
    assert hours(found[ana.pk]) == [("09:00", "13:00")]


# --- daylight saving time -------------------------------------------------------------------


def test_the_autumn_change_day_has_25_hours_and_keeps_wall_clock_hours() -> None:
    fall = dt.date(2026, 11, 1)
    start, end = av.day_bounds(fall, NY)
    assert end - start == dt.timedelta(hours=25)
    # Python subtracts two datetimes of one ZoneInfo by their wall clocks: 24 h. Hence UTC.
    assert end.astimezone(NY) - start.astimezone(NY) == dt.timedelta(hours=24)
    room = RoomFactory.create(site=SiteFactory.create(time_zone="America/New_York"))
    RoomOpeningHours.objects.create(
        room=room, weekday=fall.weekday(), opens=dt.time(0, 30), closes=dt.time(6)
    )
    [(opens, closes)] = av.room_windows(room=room, on=fall)
    assert (wall(opens), wall(closes)) == ("00:30 EDT", "06:00 EST")
    assert closes - opens == dt.timedelta(hours=6, minutes=30)  # one hour more than the clock


def test_the_spring_change_day_has_23_hours() -> None:
    spring = dt.date(2027, 3, 14)
    start, end = av.day_bounds(spring, NY)
    assert end - start == dt.timedelta(hours=23)
    room = RoomFactory.create(site=SiteFactory.create(time_zone="America/New_York"))
    RoomOpeningHours.objects.create(
        room=room, weekday=spring.weekday(), opens=dt.time(0), closes=dt.time(6)
    )
    [(opens, closes)] = av.room_windows(room=room, on=spring)
    assert (wall(opens), wall(closes)) == ("00:00 EST", "06:00 EDT")
    assert closes - opens == dt.timedelta(hours=5)


@pytest.fixture
def night_world(reference: None) -> Iterator[tuple[BookingWorld, BookingWorld]]:
    """Two rooms open (and staffed) 00:00-06:00, booked from a few days before each change."""
    load_credential_reference()
    with time_machine.travel(BEFORE_FALL, tick=False):
        fall = booking_world(on=dt.date(2026, 11, 1), opens=dt.time(0), closes=dt.time(6))
        spring = booking_world(on=dt.date(2027, 3, 14), opens=dt.time(0), closes=dt.time(6))
    yield fall, spring


@pytest.mark.parametrize(
    ("day", "start_wall", "end_wall", "travel"),
    [
        # 01:30 EDT + 45 real minutes = 01:15 EST (the hour 01:00-02:00 happens twice).
        (dt.date(2026, 11, 1), "01:30 EDT", "01:15 EST", BEFORE_FALL),
        # 01:45 EST + 45 real minutes = 03:30 EDT (02:00-03:00 never happens).
        (dt.date(2027, 3, 14), "01:45 EST", "03:30 EDT", BEFORE_SPRING),
    ],
)
def test_booking_across_a_change_keeps_real_minutes(
    night_world: tuple[BookingWorld, BookingWorld],
    admin_user: User,
    day: dt.date,
    start_wall: str,
    end_wall: str,
    travel: dt.datetime,
) -> None:
    world = night_world[0] if day.month == 11 else night_world[1]
    hour, minute = int(start_wall[:2]), int(start_wall[3:5])
    with time_machine.travel(travel, tick=False):
        exam = make_exam(ExamState.AUTHORIZED, by=admin_user, exam_type="us-carotid-duplex")
        exam.order.exam_type.required_capabilities.clear()  # any room will do here
        exam = booking.appointment_book(
            exam=exam,
            by=admin_user,
            room=world.room,
            start=at(day, hour, minute),
            staff=world.sonographer,
        )
    start, end = (exam.scheduled_start, exam.scheduled_end)
    assert start is not None and end is not None
    assert end - start == dt.timedelta(minutes=45)
    shown = (f"{start.astimezone(NY):%H:%M %Z}", f"{end.astimezone(NY):%H:%M %Z}")
    assert shown == (start_wall, end_wall)


@pytest.mark.parametrize(
    ("day", "travel", "last_start", "open_minutes"),
    [
        (dt.date(2026, 11, 1), BEFORE_FALL, "05:15 EST", 7 * 60),
        (dt.date(2027, 3, 14), BEFORE_SPRING, "05:15 EDT", 5 * 60),
    ],
)
def test_slot_find_on_a_change_day_offers_wall_clock_slots_of_real_length(
    night_world: tuple[BookingWorld, BookingWorld],
    admin_user: User,
    day: dt.date,
    travel: dt.datetime,
    last_start: str,
    open_minutes: int,
) -> None:
    world = night_world[0] if day.month == 11 else night_world[1]
    with time_machine.travel(travel, tick=False):
        exam = make_exam(ExamState.AUTHORIZED, by=admin_user, exam_type="us-carotid-duplex")
        exam.order.exam_type.required_capabilities.clear()
        options = booking.slot_find(
            order=exam.order,
            earliest=at(day, 0),
            latest=at(day, 6) + dt.timedelta(hours=2),
            site=world.site,
            limit=10,
        )
    assert options
    for option in options:
        assert option.end - option.start == dt.timedelta(minutes=45)
        assert option.start.astimezone(NY).date() == day
    starts = sorted(f"{o.start.astimezone(NY):%H:%M %Z}" for o in options)
    assert f"{options[0].start.astimezone(NY):%H:%M}" == "00:00"
    assert last_start in starts  # packed against the 06:00 closing, 45 real minutes before
    [(opens, closes)] = av.room_windows(room=world.room, on=day)
    assert (closes - opens) == dt.timedelta(minutes=open_minutes)
