"""Booking a room, its device, a qualified sonographer and an interpreter together (issue 5)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User

from radflow.core.errors import Conflict, RadflowError, ValidationFailed
from radflow.core.exam_states import ExamState
from radflow.credentials.reference import load_credential_reference
from radflow.exams.models import Exam, ExamTransition
from radflow.exams.services import exam_cancel, exam_no_show, exam_schedule
from radflow.scheduling import booking
from radflow.scheduling.models import (
    BookingTemplate,
    DeviceDowntime,
    Hold,
    Reservation,
    RoomClosure,
    SiteClosure,
)
from radflow.worklists.management.commands.worker import JOBS
from tests.exams.factories import make_exam
from tests.patients.factories import PatientFactory
from tests.scheduling.factories import (
    BookingWorld,
    add_room,
    at,
    booking_world,
    interpreter,
    qualified_performer,
    works_every_day,
)

pytestmark = pytest.mark.django_db

#: Monday 2 June 2031, 08:00 in New York; bookings go on the Tuesday.
NOW = dt.datetime(2031, 6, 2, 12, 0, tzinfo=dt.UTC)
DAY = dt.date(2031, 6, 3)
NY = ZoneInfo("America/New_York")


@pytest.fixture
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world(reference: None, clock: None) -> BookingWorld:
    load_credential_reference()
    return booking_world(on=DAY)


def new_exam(by: User, exam_type: str = "us-thyroid", **order: Any) -> Exam:
    return make_exam(ExamState.AUTHORIZED, by=by, exam_type=exam_type, **order)


def snapshot(exam: Exam) -> tuple[Any, ...]:
    exam.refresh_from_db()
    return (
        exam.state,
        exam.room_id,
        exam.scheduled_start,
        exam.technologist_id,
        exam.device_id,
        ExamTransition.objects.filter(exam=exam).count(),
        Reservation.objects.filter(active=True).count(),
        Hold.objects.count(),
    )


def refused(exam: Exam, error: type[RadflowError], call: Callable[[], object]) -> RadflowError:
    """``call`` raises ``error`` and nothing changed: the exam, its timeline, reservations."""
    before = snapshot(exam)
    with pytest.raises(error) as caught:
        call()
    assert snapshot(exam) == before
    return caught.value


def book(world: BookingWorld, exam: Exam, by: User, start: dt.datetime, **kw: Any) -> Exam:
    return booking.appointment_book(  # type: ignore[no-any-return]
        exam=exam, by=by, room=world.room, start=start, staff=world.sonographer, **kw
    )


# --- finding slots ------------------------------------------------------------------------------


def test_slot_find_offers_room_device_and_sonographer_together_earliest_first(
    world: BookingWorld, admin_user: User
) -> None:
    exam = new_exam(admin_user)
    options = booking.slot_find(order=exam.order, earliest=at(DAY, 7), limit=5)
    first = options[0]
    assert (first.start, first.end) == (at(DAY, 7), at(DAY, 7, 30))
    assert (first.room, first.device, first.staff) == (world.room, world.device, world.sonographer)
    assert first.interpreter is None
    assert first.why.endswith("; the earliest free time found.")
    assert all(o.start >= at(DAY, 7) for o in options)
    assert [o.score for o in options] == sorted((o.score for o in options), reverse=True)


def test_slot_find_skips_booked_time_and_packs_against_it(
    world: BookingWorld, admin_user: User
) -> None:
    book(world, new_exam(admin_user), admin_user, at(DAY, 7))
    options = booking.slot_find(order=new_exam(admin_user).order, earliest=at(DAY, 7), limit=3)
    assert options[0].start == at(DAY, 7, 30)
    assert "no gap left" in options[0].why


def test_slot_find_keeps_fasting_exams_in_the_morning(
    world: BookingWorld, admin_user: User
) -> None:
    exam = new_exam(admin_user, "us-abdomen-complete")  # NPO 8 h
    options = booking.slot_find(order=exam.order, earliest=at(DAY, 11, 30), limit=5)
    assert options, "the next morning should be offered"
    for option in options:
        assert option.start.astimezone(NY).time() <= dt.time(11), option


def test_slot_find_honours_the_patients_windows_and_preferred_time(
    world: BookingWorld, admin_user: User
) -> None:
    exam = new_exam(admin_user)
    options = booking.slot_find(
        order=exam.order,
        earliest=at(DAY, 7),
        windows=[(at(DAY, 13), at(DAY, 15))],
        preferred_time="afternoon",
    )
    assert options
    for option in options:
        assert at(DAY, 13) <= option.start and option.end <= at(DAY, 15)
        assert "in the afternoon as preferred" in option.why


def test_a_template_block_is_kept_for_its_exam_types(world: BookingWorld, admin_user: User) -> None:
    from radflow.catalog.models import ExamType

    block = BookingTemplate.objects.create(
        room=world.room, weekday=DAY.weekday(), starts=dt.time(7), ends=dt.time(12), label="OB"
    )
    block.exam_types.set([ExamType.objects.get(code="us-ob-standard")])
    thyroid = booking.slot_find(order=new_exam(admin_user).order, earliest=at(DAY, 7), limit=2)
    assert thyroid[0].start == at(DAY, 12)
    ob = new_exam(admin_user, "us-ob-standard", lmp_date=DAY - dt.timedelta(days=150))
    offered = booking.slot_find(order=ob.order, earliest=at(DAY, 7), limit=1)[0]
    assert offered.start == at(DAY, 7)
    assert "in the OB block" in offered.why


def test_slot_find_books_an_interpreter_for_a_patient_who_needs_one(
    world: BookingWorld, admin_user: User
) -> None:
    interpreter("Ana Ruiz", "es,pt", dt.time(13), dt.time(17))
    patient = PatientFactory.create(language="es", interpreter_needed=True)
    exam = new_exam(admin_user, patient=patient)
    option = booking.slot_find(order=exam.order, earliest=at(DAY, 7), limit=1)[0]
    assert option.start == at(DAY, 13)
    assert option.interpreter is not None and option.interpreter.name == "Ana Ruiz"
    booked = booking.appointment_book(
        exam=exam,
        by=admin_user,
        room=option.room,
        start=option.start,
        staff=option.staff,
        interpreter=option.interpreter,
    )
    assert booked.booked_interpreter == option.interpreter
    assert Reservation.objects.filter(interpreter=option.interpreter, active=True).count() == 1


def test_without_a_free_interpreter_nothing_is_offered_and_booking_says_why(
    world: BookingWorld, admin_user: User
) -> None:
    patient = PatientFactory.create(language="vi", interpreter_needed=True)
    exam = new_exam(admin_user, patient=patient)
    assert booking.slot_find(order=exam.order, earliest=at(DAY, 7)) == []
    error = refused(exam, ValidationFailed, lambda: book(world, exam, admin_user, at(DAY, 9)))
    assert isinstance(error, ValidationFailed)
    assert error.errors["interpreter"] == [
        "The patient needs a vi interpreter and none is free 09:00\u201309:30 on 2031-06-03; "
        "choose another time."
    ]


# --- booking ----------------------------------------------------------------------------------


def test_booking_reserves_room_device_and_sonographer(
    world: BookingWorld, admin_user: User
) -> None:
    exam = book(world, new_exam(admin_user), admin_user, at(DAY, 9))
    assert exam.state == ExamState.SCHEDULED
    assert (exam.room, exam.device, exam.technologist) == (
        world.room,
        world.device,
        world.sonographer,
    )
    assert (exam.scheduled_start, exam.scheduled_end) == (at(DAY, 9), at(DAY, 9, 30))
    rows = Reservation.objects.filter(exam=exam, active=True)
    assert {(r.resource_label, r.start, r.end) for r in rows} == {
        (str(world.room), at(DAY, 9), at(DAY, 9, 30)),
        (str(world.device), at(DAY, 9), at(DAY, 9, 30)),
        (str(world.sonographer), at(DAY, 9), at(DAY, 9, 30)),
    }
    schedule = ExamTransition.objects.get(exam=exam, action="schedule")
    assert schedule.details["device"] == world.device.serial_number


def test_the_room_stays_busy_for_the_exam_types_turnover(
    world: BookingWorld, admin_user: User
) -> None:
    from radflow.catalog.models import ExamType

    ExamType.objects.filter(code="us-thyroid").update(turnover_min=15)
    first = book(world, new_exam(admin_user), admin_user, at(DAY, 9))
    room_row = Reservation.objects.get(exam=first, room__isnull=False)
    assert room_row.end == at(DAY, 9, 45)
    staff_row = Reservation.objects.get(exam=first, staff__isnull=False)
    assert staff_row.end == at(DAY, 9, 30)  # the sonographer is free during the cleaning
    second = new_exam(admin_user)
    error = refused(second, Conflict, lambda: book(world, second, admin_user, at(DAY, 9, 30)))
    assert error.code == "slot_taken"
    assert booking.appointment_book(
        exam=second, by=admin_user, room=world.room, start=at(DAY, 9, 45)
    ).scheduled_start == at(DAY, 9, 45)


def test_an_inpatient_gets_a_transport_pickup_before_the_exam(
    world: BookingWorld, admin_user: User
) -> None:
    exam = new_exam(admin_user, patient_class="inpatient")
    exam = book(world, exam, admin_user, at(DAY, 10))
    assert exam.transport_pickup_at == at(DAY, 9, 30)


def test_a_hold_keeps_the_slot_from_other_orders_until_it_expires(
    world: BookingWorld, admin_user: User
) -> None:
    first, second = new_exam(admin_user), new_exam(admin_user)
    option = booking.slot_find(order=first.order, earliest=at(DAY, 9), limit=1)[0]
    hold = booking.slot_hold(order=first.order, option=option, by=admin_user, minutes=10)
    assert hold.reservations.filter(active=True).count() == 3
    other = booking.slot_find(order=second.order, earliest=at(DAY, 9), limit=1)[0]
    assert other.start == at(DAY, 9, 30)
    error = refused(second, Conflict, lambda: book(world, second, admin_user, at(DAY, 9)))
    assert error.message.startswith("Ultrasound 1 is held for another patient 09:00-09:30")

    with time_machine.travel(NOW + dt.timedelta(minutes=11), tick=False):
        assert booking.slot_find(order=second.order, earliest=at(DAY, 9), limit=1)[0].start == (
            at(DAY, 9)
        )
        booked = book(world, second, admin_user, at(DAY, 9))
    assert booked.state == ExamState.SCHEDULED
    hold.refresh_from_db()
    assert hold.released_at is not None
    assert not hold.reservations.filter(active=True).exists()


def test_booking_with_its_own_hold_converts_it(world: BookingWorld, admin_user: User) -> None:
    exam = new_exam(admin_user)
    option = booking.slot_find(order=exam.order, earliest=at(DAY, 9), limit=1)[0]
    hold = booking.slot_hold(order=exam.order, option=option, by=admin_user)
    exam = booking.appointment_book(
        exam=exam,
        by=admin_user,
        room=option.room,
        start=option.start,
        staff=option.staff,
        device=option.device,
        hold=hold,
    )
    hold.refresh_from_db()
    assert hold.released_at is not None
    assert Reservation.objects.filter(active=True, hold__isnull=False).count() == 0
    assert Reservation.objects.filter(active=True, exam=exam).count() == 3


def test_the_worker_releases_expired_holds(world: BookingWorld, admin_user: User) -> None:
    exam = new_exam(admin_user)
    option = booking.slot_find(order=exam.order, earliest=at(DAY, 9), limit=1)[0]
    booking.slot_hold(order=exam.order, option=option, by=admin_user, minutes=5)
    job = dict(JOBS)["holds_release_expired"]
    assert job() == 0
    with time_machine.travel(NOW + dt.timedelta(minutes=6), tick=False):
        assert job() == 1
    assert not Reservation.objects.filter(active=True).exists()


def test_moving_a_booking_moves_every_reservation(world: BookingWorld, admin_user: User) -> None:
    exam = book(world, new_exam(admin_user), admin_user, at(DAY, 9))
    other = add_room(world, "Ultrasound 2")
    moved = booking.appointment_move(
        exam=exam, by=admin_user, room=other, start=at(DAY, 14), reason_code="patient_request"
    )
    assert (moved.room, moved.scheduled_start, moved.technologist) == (
        other,
        at(DAY, 14),
        world.sonographer,
    )
    assert moved.device is None  # the new room has no scanner of its own
    rows = Reservation.objects.filter(exam=exam, active=True)
    assert {(r.room_id, r.staff_id, r.start) for r in rows} == {
        (other.pk, None, at(DAY, 14)),
        (None, world.sonographer.pk, at(DAY, 14)),
    }
    move = ExamTransition.objects.get(exam=exam, action="reschedule")
    assert move.details["from_room"] == world.room.code
    assert move.details["notify"] is True
    # The old time is free again.
    assert book(world, new_exam(admin_user), admin_user, at(DAY, 9)).state == ExamState.SCHEDULED


def test_cancelling_frees_every_reservation(world: BookingWorld, admin_user: User) -> None:
    exam = book(world, new_exam(admin_user), admin_user, at(DAY, 9))
    booking.appointment_cancel(exam=exam, by=admin_user, reason_code="patient_request")
    assert not Reservation.objects.filter(exam=exam, active=True).exists()
    assert book(world, new_exam(admin_user), admin_user, at(DAY, 9)).state == ExamState.SCHEDULED


def test_the_old_exam_schedule_path_writes_reservations_too(
    world: BookingWorld, admin_user: User
) -> None:
    exam = exam_schedule(
        exam=new_exam(admin_user),
        by=admin_user,
        room=world.room,
        start=at(DAY, 18, 30),
        technologist=world.sonographer,
    )
    # The room, the person and the scanner standing in the room.
    assert Reservation.objects.filter(exam=exam, active=True).count() == 3
    assert exam.device == world.device
    exam_cancel(exam=exam, by=admin_user, reason_code="patient_request")
    assert not Reservation.objects.filter(exam=exam, active=True).exists()


def test_a_no_show_frees_the_time_too(world: BookingWorld, admin_user: User) -> None:
    exam = book(world, new_exam(admin_user), admin_user, at(DAY, 9))
    with time_machine.travel(at(DAY, 9, 20), tick=False):
        exam_no_show(exam=exam, by=admin_user)
    assert not Reservation.objects.filter(exam=exam, active=True).exists()


# --- bad input: a clear message, nothing changed -------------------------------------------------


def test_booking_outside_opening_hours_names_the_hours(
    world: BookingWorld, admin_user: User
) -> None:
    exam = new_exam(admin_user)
    error = refused(exam, ValidationFailed, lambda: book(world, exam, admin_user, at(DAY, 18, 45)))
    assert isinstance(error, ValidationFailed)
    assert error.errors == {
        "start": [
            "Ultrasound 1 is open 07:00\u201319:00 on Tuesdays; "
            "18:45\u201319:15 is outside its hours."
        ]
    }


def test_booking_on_a_closed_day_names_the_closure(world: BookingWorld, admin_user: User) -> None:
    SiteClosure.objects.create(site=world.site, date=DAY, reason="Snow day")
    exam = new_exam(admin_user)
    error = refused(exam, ValidationFailed, lambda: book(world, exam, admin_user, at(DAY, 9)))
    assert isinstance(error, ValidationFailed)
    assert error.errors == {"start": [f"{world.site.name} is closed on 2031-06-03 (Snow day)."]}


def test_booking_into_a_room_closure_names_it(world: BookingWorld, admin_user: User) -> None:
    RoomClosure.objects.create(
        room=world.room, start=at(DAY, 8), end=at(DAY, 12), reason="Floor repair"
    )
    exam = new_exam(admin_user)
    error = refused(exam, ValidationFailed, lambda: book(world, exam, admin_user, at(DAY, 11, 45)))
    assert isinstance(error, ValidationFailed)
    assert error.errors == {
        "start": ["Ultrasound 1 is closed 08:00\u201312:00 on 2031-06-03 (Floor repair)."]
    }


def test_booking_a_device_during_its_downtime_names_the_downtime(
    world: BookingWorld, admin_user: User
) -> None:
    DeviceDowntime.objects.create(
        device=world.device, start=at(DAY, 9), end=at(DAY, 13), reason="Planned maintenance"
    )
    exam = new_exam(admin_user)
    error = refused(
        exam,
        ValidationFailed,
        lambda: book(world, exam, admin_user, at(DAY, 10), device=world.device),
    )
    assert isinstance(error, ValidationFailed)
    assert error.errors == {
        "device": [f"{world.device} is down 09:00\u201313:00 on 2031-06-03 (Planned maintenance)."]
    }


def test_a_room_of_another_modality_is_refused(world: BookingWorld, admin_user: User) -> None:
    from tests.scheduling.factories import ModalityFactory, RoomFactory

    ct_modality = ModalityFactory.create(code="CT")
    ct = RoomFactory.create(site=world.site, name="CT 1", modality=ct_modality)
    exam = new_exam(admin_user)
    error = refused(
        exam,
        ValidationFailed,
        lambda: booking.appointment_book(exam=exam, by=admin_user, room=ct, start=at(DAY, 9)),
    )
    assert isinstance(error, ValidationFailed)
    assert error.errors == {"room": ["CT 1 is a CT room; US thyroid / soft tissue neck needs US."]}


def test_a_room_without_the_capability_is_refused(world: BookingWorld, admin_user: User) -> None:
    exam = new_exam(admin_user, "us-carotid-duplex")  # needs the vascular package
    error = refused(exam, ValidationFailed, lambda: book(world, exam, admin_user, at(DAY, 9)))
    assert isinstance(error, ValidationFailed)
    assert error.errors == {"room": ["Ultrasound 1 lacks Vascular package (duplex Doppler)."]}


def test_a_sonographer_without_the_competency_is_refused_naming_it(
    world: BookingWorld, admin_user: User
) -> None:
    from radflow.credentials.models import CompetencySignoff

    junior = qualified_performer(world.site, on=DAY, given_name="Sam", family_name="Reed")
    works_every_day(junior, dt.time(7), dt.time(19))
    CompetencySignoff.objects.filter(staff=junior, competency_id="us-small-parts").delete()
    exam = new_exam(admin_user)
    error = refused(
        exam,
        ValidationFailed,
        lambda: booking.appointment_book(
            exam=exam, by=admin_user, room=world.room, start=at(DAY, 9), staff=junior
        ),
    )
    assert isinstance(error, ValidationFailed)
    assert error.errors == {
        "staff": [
            "Sam Reed may not perform US thyroid / soft tissue neck on 2031-06-03: no current "
            "Small parts / thyroid / scrotal competency (never signed off)."
        ]
    }


def test_a_sonographer_off_duty_is_refused_naming_their_hours(
    world: BookingWorld, admin_user: User
) -> None:
    exam = new_exam(admin_user)
    with pytest.raises(ValidationFailed):
        book(world, exam, admin_user, at(DAY, 6, 30))  # the room is closed too
    from radflow.scheduling.models import StaffWorkingHours

    StaffWorkingHours.objects.filter(staff=world.sonographer).update(ends=dt.time(15))
    error = refused(exam, ValidationFailed, lambda: book(world, exam, admin_user, at(DAY, 16)))
    assert isinstance(error, ValidationFailed)
    assert error.errors == {
        "staff": [
            f"Maria Lopez works 07:00\u201315:00 at {world.site.name} on 2031-06-03; "
            "16:00\u201316:30 is outside that."
        ]
    }


def test_an_overlap_names_the_clashing_booking_and_time(
    world: BookingWorld, admin_user: User
) -> None:
    book(world, new_exam(admin_user), admin_user, at(DAY, 9))
    exam = new_exam(admin_user)
    error = refused(exam, Conflict, lambda: book(world, exam, admin_user, at(DAY, 9, 15)))
    assert error.code == "slot_taken"
    assert error.message == "Ultrasound 1 is already booked 09:00-09:30 on 2031-06-03."
    options = error.options  # type: ignore[attr-defined]
    assert options and all(isinstance(o, booking.SlotOption) for o in options)
    assert at(DAY, 9, 15) not in [o.start for o in options]


def test_the_sonographer_cannot_be_in_two_rooms_at_once(
    world: BookingWorld, admin_user: User
) -> None:
    other = add_room(world, "Ultrasound 2")
    book(world, new_exam(admin_user), admin_user, at(DAY, 9))
    exam = new_exam(admin_user)
    error = refused(
        exam,
        Conflict,
        lambda: booking.appointment_book(
            exam=exam, by=admin_user, room=other, start=at(DAY, 9), staff=world.sonographer
        ),
    )
    assert error.code == "slot_taken"
    assert error.message == (
        "Maria Lopez is already booked 09:00-09:30 on 2031-06-03 (Ultrasound 1)."
    )


def test_booking_a_cancelled_exam_is_refused(world: BookingWorld, admin_user: User) -> None:
    exam = new_exam(admin_user)
    exam_cancel(exam=exam, by=admin_user, reason_code="patient_request")
    error = refused(exam, Conflict, lambda: book(world, exam, admin_user, at(DAY, 9)))
    assert error.code == "exam_closed"
    assert error.message == (
        f"Exam {exam.accession_number} was cancelled on 2031-06-02; it cannot be booked. "
        "Place a new order instead."
    )


def test_a_fasting_exam_after_the_morning_cut_off_is_refused(
    world: BookingWorld, admin_user: User
) -> None:
    exam = new_exam(admin_user, "us-abdomen-complete")
    error = refused(exam, ValidationFailed, lambda: book(world, exam, admin_user, at(DAY, 11, 30)))
    assert isinstance(error, ValidationFailed)
    assert error.errors == {
        "start": ["US abdomen complete needs fasting (NPO): book it to start by 11:00."]
    }


def test_a_hold_for_another_order_cannot_be_used(world: BookingWorld, admin_user: User) -> None:
    first, second = new_exam(admin_user), new_exam(admin_user)
    option = booking.slot_find(order=first.order, earliest=at(DAY, 9), limit=1)[0]
    hold = booking.slot_hold(order=first.order, option=option, by=admin_user)
    error = refused(
        second, ValidationFailed, lambda: book(world, second, admin_user, at(DAY, 9), hold=hold)
    )
    assert isinstance(error, ValidationFailed)
    assert error.errors == {"hold": ["That hold was made for another order."]}
