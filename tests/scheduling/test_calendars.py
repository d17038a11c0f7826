"""Calendar services: holidays, room closures, device downtime, booking templates, opening
hours, staff standard hours and interpreters. A refusal names the field and changes nothing;
what is saved is what availability then serves."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import User

from radflow.catalog.models import ExamType
from radflow.core.errors import ValidationFailed
from radflow.core.roles import Role
from radflow.scheduling import availability, calendars
from radflow.scheduling.calendar_selectors import bookings_inside
from radflow.scheduling.models import (
    BookingTemplate,
    DeviceDowntime,
    Interpreter,
    InterpreterHours,
    RoomClosure,
    RoomOpeningHours,
    SiteClosure,
    StaffWorkingHours,
)
from tests.conftest import make_user
from tests.scheduling.board_setup import MONDAY, BoardSite, board_site, book, booking_clock, local
from tests.scheduling.factories import DeviceFactory
from tests.staff.factories import StaffMemberFactory

pytestmark = pytest.mark.django_db

NINE, NOON, ONE, FIVE = dt.time(9), dt.time(12), dt.time(13), dt.time(17)
MON_TO_FRI = [0, 1, 2, 3, 4]


@pytest.fixture
def place(reference: None) -> BoardSite:
    """Riverside: two ultrasound rooms and a CT room, open 07:00-19:00 every day."""
    return board_site()


@pytest.fixture
def coordinator(db: None) -> User:
    return make_user(Role.COORDINATOR, "cal_coordinator")


def refused(exc: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, list[str]]:
    return exc.value.errors


# --- room closures ------------------------------------------------------------------------------


def test_a_closure_that_ends_before_it_starts_is_refused_naming_the_end(
    place: BoardSite, coordinator: User
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        calendars.room_closure_add(
            room=place.us1,
            start=local(MONDAY, 14),
            end=local(MONDAY, 10),
            reason="Ceiling repair",
            by=coordinator,
        )
    assert list(refused(exc)) == ["end"]
    assert "must be after the start" in refused(exc)["end"][0]
    assert "Mon 02 Mar 2026 14:00" in refused(exc)["end"][0]
    assert not RoomClosure.objects.exists()


def test_a_closure_overlapping_another_of_the_same_room_is_refused_and_names_it(
    place: BoardSite, coordinator: User
) -> None:
    calendars.room_closure_add(
        room=place.us1,
        start=local(MONDAY, 10),
        end=local(MONDAY, 14),
        reason="Ceiling repair",
        by=coordinator,
    )
    with pytest.raises(ValidationFailed) as exc:
        calendars.room_closure_add(
            room=place.us1,
            start=local(MONDAY, 13),
            end=local(MONDAY, 16),
            reason="Deep clean",
            by=coordinator,
        )
    assert "already closed" in refused(exc)["start"][0]
    assert "Ceiling repair" in refused(exc)["start"][0]
    assert RoomClosure.objects.count() == 1


def test_back_to_back_closures_and_the_same_time_in_another_room_are_fine(
    place: BoardSite, coordinator: User
) -> None:
    for room, start, end in (
        (place.us1, 10, 14),
        (place.us1, 14, 16),
        (place.us2, 10, 14),
    ):
        calendars.room_closure_add(
            room=room,
            start=local(MONDAY, start),
            end=local(MONDAY, end),
            reason="Works",
            by=coordinator,
        )
    assert RoomClosure.objects.count() == 3


def test_a_closure_with_a_time_but_no_zone_is_refused(place: BoardSite, coordinator: User) -> None:
    naive = dt.datetime(2026, 3, 2, 10, 0)  # noqa: DTZ001 - the mistake under test
    with pytest.raises(ValidationFailed) as exc:
        calendars.room_closure_add(
            room=place.us1, start=naive, end=local(MONDAY, 12), reason="Works", by=coordinator
        )
    assert "start" in refused(exc)
    assert not RoomClosure.objects.exists()


def test_a_closure_over_booked_exams_is_kept_and_availability_no_longer_offers_the_time(
    place: BoardSite, coordinator: User
) -> None:
    admin = make_user(Role.ADMIN, "cal_admin")
    with time_machine.travel(booking_clock(MONDAY), tick=False):
        inside = book(place.us1, local(MONDAY, 11), by=admin)
        outside = book(place.us1, local(MONDAY, 15), by=admin)
        other_room = book(place.us2, local(MONDAY, 11), by=admin)
        closure = calendars.room_closure_add(
            room=place.us1,
            start=local(MONDAY, 10),
            end=local(MONDAY, 14),
            reason="Ceiling leak",
            by=coordinator,
        )

    assert list(bookings_inside(room=place.us1, start=closure.start, end=closure.end)) == [inside]
    assert outside.pk != inside.pk and other_room.pk != inside.pk
    assert availability.room_windows(room=place.us1, on=MONDAY) == [
        (local(MONDAY, 7), local(MONDAY, 10)),
        (local(MONDAY, 14), local(MONDAY, 19)),
    ]
    assert availability.room_windows(room=place.us2, on=MONDAY) == [
        (local(MONDAY, 7), local(MONDAY, 19))
    ]


def test_removing_a_closure_makes_the_time_bookable_again(
    place: BoardSite, coordinator: User
) -> None:
    closure = calendars.room_closure_add(
        room=place.us1,
        start=local(MONDAY, 10),
        end=local(MONDAY, 14),
        reason="Works",
        by=coordinator,
    )
    calendars.room_closure_remove(closure=closure, by=coordinator)
    assert availability.room_windows(room=place.us1, on=MONDAY) == [
        (local(MONDAY, 7), local(MONDAY, 19))
    ]


# --- holidays -----------------------------------------------------------------------------------


def test_a_holiday_closes_every_room_of_the_site_and_only_that_day(
    place: BoardSite, coordinator: User
) -> None:
    calendars.site_closure_add(site=place.site, on=MONDAY, reason="Snow day", by=coordinator)
    assert availability.room_windows(room=place.us1, on=MONDAY) == []
    assert availability.room_windows(room=place.ct, on=MONDAY) == []
    tuesday = MONDAY + dt.timedelta(days=1)
    assert availability.room_windows(room=place.us1, on=tuesday) != []


def test_a_site_cannot_be_closed_twice_on_the_same_day(place: BoardSite, coordinator: User) -> None:
    calendars.site_closure_add(site=place.site, on=MONDAY, reason="Snow day", by=coordinator)
    with pytest.raises(ValidationFailed) as exc:
        calendars.site_closure_add(site=place.site, on=MONDAY, reason="Again", by=coordinator)
    assert "already closed" in refused(exc)["date"][0]
    assert "Snow day" in refused(exc)["date"][0]
    assert SiteClosure.objects.get().reason == "Snow day"


def test_a_holiday_needs_a_reason(place: BoardSite, coordinator: User) -> None:
    with pytest.raises(ValidationFailed) as exc:
        calendars.site_closure_add(site=place.site, on=MONDAY, reason="  ", by=coordinator)
    assert list(refused(exc)) == ["reason"]
    assert not SiteClosure.objects.exists()


# --- booking templates --------------------------------------------------------------------------


def ob_types() -> list[ExamType]:
    return list(ExamType.objects.filter(code__startswith="us-ob").order_by("code")[:2])


def test_a_template_for_monday_to_friday_makes_one_block_per_day_with_its_exam_types(
    place: BoardSite, coordinator: User
) -> None:
    saved = calendars.booking_template_save(
        room=place.us1,
        weekdays=MON_TO_FRI,
        starts=dt.time(8),
        ends=NOON,
        label="OB mornings",
        exam_types=ob_types(),
        by=coordinator,
    )
    assert [t.weekday for t in saved] == MON_TO_FRI
    monday = BookingTemplate.objects.get(room=place.us1, weekday=0)
    assert (monday.label, monday.starts, monday.ends) == ("OB mornings", dt.time(8), NOON)
    assert set(monday.exam_types.all()) == set(ob_types())


def test_a_template_whose_end_is_before_its_start_is_refused_naming_the_end(
    place: BoardSite, coordinator: User
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        calendars.booking_template_save(
            room=place.us1,
            weekdays=[0],
            starts=NOON,
            ends=NINE,
            label="OB mornings",
            by=coordinator,
        )
    assert list(refused(exc)) == ["ends"]
    assert not BookingTemplate.objects.exists()


def test_an_overlapping_template_is_refused_and_no_day_of_it_is_saved(
    place: BoardSite, coordinator: User
) -> None:
    calendars.booking_template_save(
        room=place.us1,
        weekdays=[2],
        starts=dt.time(11),
        ends=ONE,
        label="Vascular late mornings",
        by=coordinator,
    )
    with pytest.raises(ValidationFailed) as exc:
        calendars.booking_template_save(
            room=place.us1,
            weekdays=MON_TO_FRI,
            starts=NINE,
            ends=NOON,
            label="OB mornings",
            exam_types=ob_types(),
            by=coordinator,
        )
    message = refused(exc)["starts"][0]
    assert "overlaps Vascular late mornings" in message
    assert "Wednesday 11:00-13:00" in message
    assert list(BookingTemplate.objects.values_list("label", flat=True)) == [
        "Vascular late mornings"
    ]


def test_the_same_block_in_another_room_or_right_after_is_not_an_overlap(
    place: BoardSite, coordinator: User
) -> None:
    for room, starts, ends in (
        (place.us1, NINE, NOON),
        (place.us2, NINE, NOON),
        (place.us1, NOON, ONE),
    ):
        calendars.booking_template_save(
            room=room, weekdays=[0], starts=starts, ends=ends, label="Block", by=coordinator
        )
    assert BookingTemplate.objects.count() == 3


def test_a_template_outside_the_rooms_opening_hours_is_refused(
    place: BoardSite, coordinator: User
) -> None:
    RoomOpeningHours.objects.filter(room=place.us1, weekday=5).delete()
    with pytest.raises(ValidationFailed) as exc:
        calendars.booking_template_save(
            room=place.us1,
            weekdays=[4, 5],
            starts=NINE,
            ends=NOON,
            label="Weekend OB",
            by=coordinator,
        )
    assert "closed all day on Saturdays" in refused(exc)["starts"][0]
    assert not BookingTemplate.objects.exists()
    with pytest.raises(ValidationFailed) as late:
        calendars.booking_template_save(
            room=place.us1,
            weekdays=[0],
            starts=dt.time(18),
            ends=dt.time(20),
            label="Evening",
            by=coordinator,
        )
    assert "open 07:00-19:00 on Mondays" in refused(late)["starts"][0]


def test_a_template_cannot_keep_a_ct_exam_in_an_ultrasound_room(
    place: BoardSite, coordinator: User
) -> None:
    ct_exam = ExamType.objects.filter(modality_id="CT").first()
    assert ct_exam is not None
    with pytest.raises(ValidationFailed) as exc:
        calendars.booking_template_save(
            room=place.us1,
            weekdays=[0],
            starts=NINE,
            ends=NOON,
            label="CT block",
            exam_types=[ct_exam],
            by=coordinator,
        )
    assert ct_exam.name in refused(exc)["exam_types"][0]
    assert not BookingTemplate.objects.exists()


def test_changing_a_template_may_not_overlap_another_but_may_overlap_itself(
    place: BoardSite, coordinator: User
) -> None:
    (morning,) = calendars.booking_template_save(
        room=place.us1, weekdays=[0], starts=NINE, ends=NOON, label="OB", by=coordinator
    )
    calendars.booking_template_save(
        room=place.us1, weekdays=[0], starts=ONE, ends=FIVE, label="Vascular", by=coordinator
    )
    (changed,) = calendars.booking_template_save(
        room=place.us1,
        weekdays=[0],
        starts=dt.time(8),
        ends=NOON,
        label="OB early",
        by=coordinator,
        template=morning,
    )
    assert changed.pk == morning.pk and changed.starts == dt.time(8)
    with pytest.raises(ValidationFailed):
        calendars.booking_template_save(
            room=place.us1,
            weekdays=[0],
            starts=dt.time(8),
            ends=dt.time(14),
            label="OB long",
            by=coordinator,
            template=morning,
        )
    morning.refresh_from_db()
    assert (morning.label, morning.ends) == ("OB early", NOON)


# --- opening hours ------------------------------------------------------------------------------


def test_opening_hours_are_replaced_by_the_new_week_and_a_day_left_out_is_closed(
    place: BoardSite, coordinator: User
) -> None:
    calendars.room_opening_hours_save(
        room=place.us1,
        week={0: [(dt.time(7), NOON), (ONE, dt.time(19))], 1: [(dt.time(8), FIVE)]},
        by=coordinator,
    )
    assert availability.room_windows(room=place.us1, on=MONDAY) == [
        (local(MONDAY, 7), local(MONDAY, 12)),
        (local(MONDAY, 13), local(MONDAY, 19)),
    ]
    assert availability.room_windows(room=place.us1, on=MONDAY + dt.timedelta(days=2)) == []


def test_overlapping_or_backwards_opening_hours_are_refused_and_the_old_week_kept(
    place: BoardSite, coordinator: User
) -> None:
    before = RoomOpeningHours.objects.filter(room=place.us1).count()
    with pytest.raises(ValidationFailed) as exc:
        calendars.room_opening_hours_save(
            room=place.us1,
            week={0: [(dt.time(7), NOON), (dt.time(11), FIVE)], 2: [(FIVE, NINE)]},
            by=coordinator,
        )
    assert set(refused(exc)) == {"monday_2_opens", "wednesday_1_closes"}
    assert RoomOpeningHours.objects.filter(room=place.us1).count() == before


# --- device downtime ----------------------------------------------------------------------------


def test_device_downtime_takes_the_device_out_and_may_not_overlap_itself(
    place: BoardSite, coordinator: User
) -> None:
    device = DeviceFactory.create(room=place.us1, modality=place.us1.modality)
    calendars.device_downtime_add(
        device=device,
        start=local(MONDAY, 7),
        end=local(MONDAY, 12),
        reason="Planned maintenance",
        by=coordinator,
    )
    assert availability.device_windows(device=device, on=MONDAY) == [
        (local(MONDAY, 12), local(MONDAY, 19))
    ]
    with pytest.raises(ValidationFailed) as exc:
        calendars.device_downtime_add(
            device=device,
            start=local(MONDAY, 11),
            end=local(MONDAY, 13),
            reason="Repair",
            by=coordinator,
        )
    assert "Planned maintenance" in refused(exc)["start"][0]
    with pytest.raises(ValidationFailed) as backwards:
        calendars.device_downtime_add(
            device=device,
            start=local(MONDAY, 15),
            end=local(MONDAY, 15),
            reason="Repair",
            by=coordinator,
        )
    assert list(refused(backwards)) == ["end"]
    assert DeviceDowntime.objects.count() == 1


# --- staff hours and interpreters ----------------------------------------------------------------


def test_standard_hours_are_what_availability_uses_when_no_roster_covers_the_day(
    place: BoardSite, coordinator: User
) -> None:
    person = StaffMemberFactory.create(home_site=place.site)
    calendars.working_hours_save(
        staff=person, weekdays=MON_TO_FRI, starts=NINE, ends=FIVE, by=coordinator
    )
    assert availability.staff_windows(staff_ids=[person.pk], on=MONDAY, site=place.site) == {
        person.pk: [(local(MONDAY, 9), local(MONDAY, 17))]
    }
    with pytest.raises(ValidationFailed) as exc:
        calendars.working_hours_save(
            staff=person, weekdays=[4, 5], starts=dt.time(16), ends=dt.time(20), by=coordinator
        )
    assert "already works Friday 09:00-17:00" in refused(exc)["starts"][0]
    with pytest.raises(ValidationFailed) as backwards:
        calendars.working_hours_save(
            staff=person, weekdays=[6], starts=FIVE, ends=NINE, by=coordinator
        )
    assert list(refused(backwards)) == ["ends"]
    assert StaffWorkingHours.objects.filter(staff=person).count() == 5


def test_an_interpreter_is_saved_with_normalised_language_codes_and_weekly_hours(
    coordinator: User,
) -> None:
    interpreter = calendars.interpreter_save(
        name="Lucía Ortega", languages="ES, pt ,es", phone="(860) 555-0142", by=coordinator
    )
    assert interpreter.languages == "es,pt"
    calendars.interpreter_hours_save(
        interpreter=interpreter, weekdays=[0, 2], starts=NINE, ends=NOON, by=coordinator
    )
    assert availability.interpreter_windows(language="pt", on=MONDAY) == {
        interpreter.pk: [
            (
                availability.local_at(MONDAY, NINE, availability.department_zone()),
                availability.local_at(MONDAY, NOON, availability.department_zone()),
            )
        ]
    }
    with pytest.raises(ValidationFailed) as exc:
        calendars.interpreter_hours_save(
            interpreter=interpreter, weekdays=[2], starts=dt.time(11), ends=ONE, by=coordinator
        )
    assert "starts" in refused(exc)
    assert InterpreterHours.objects.count() == 2


def test_an_unknown_language_code_or_a_duplicate_name_is_refused(coordinator: User) -> None:
    with pytest.raises(ValidationFailed) as exc:
        calendars.interpreter_save(name="Ana Silva", languages="spanish", by=coordinator)
    assert "spanish" in refused(exc)["languages"][0]
    calendars.interpreter_save(name="Ana Silva", languages="pt", by=coordinator)
    with pytest.raises(ValidationFailed) as dup:
        calendars.interpreter_save(name="ana silva", languages="es", by=coordinator)
    assert list(refused(dup)) == ["name"]
    assert Interpreter.objects.get().languages == "pt"
