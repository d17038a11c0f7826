"""The day as the optimizer sees it: windows, eligibility, bookings, fixed exams, requests, and
real minutes from the site's midnight on the two DST change days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.utils import timezone

from radflow.catalog.models import Prep
from radflow.core.scheduling.day import Priority, Window
from radflow.exams.services import exam_arrive, exam_begin
from radflow.orders.models import OrderPatientClass
from radflow.orders.models import Priority as OrderPriority
from radflow.planning.planning import build_day, day_minutes
from radflow.scheduling.models import RoomCapability, RoomClosure, StaffWorkingHours
from radflow.staff.models import JobRole
from tests.catalog.factories import ExamTypeFactory
from tests.exams.factories import OVERRIDE_ALL
from tests.planning.factories import ZONE, booked, department, local, request
from tests.scheduling.factories import ModalityFactory
from tests.staff.factories import StaffMemberFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference")]

MONDAY = date(2030, 6, 3)


def test_a_future_day_is_mapped_with_its_windows_bookings_and_eligibility() -> None:
    with time_machine.travel(local(MONDAY - timedelta(days=3), 12), tick=True):
        dept = department(MONDAY)
        us1, us2, us3 = dept.rooms
        first = booked(dept, local(MONDAY, 9), room=us1, staff=dept.staff[0])
        second = booked(dept, local(MONDAY, 10, 30), room=us2, staff=dept.staff[1])
        RoomClosure.objects.create(
            room=us3, start=local(MONDAY, 10), end=local(MONDAY, 14), reason="Gel warmer repair"
        )
        ct_tech = StaffMemberFactory.create(
            home_site=dept.site,
            job_role=JobRole.TECHNOLOGIST,
            modalities=[ModalityFactory(code="CT")],
        )
        StaffWorkingHours.objects.create(
            staff=ct_tech, weekday=0, starts=local(MONDAY, 7).time(), ends=local(MONDAY, 19).time()
        )

        day, mapping = build_day(dept.site, MONDAY)

    assert day.horizon == 1440
    assert day.now == 0
    rooms = {mapping.rooms[room.id].code: room for room in day.rooms}
    assert rooms["US-1"].open == (Window(420, 1140),)
    assert rooms["US-3"].open == (Window(420, 600), Window(840, 1140))
    assert {d.room_id for d in day.devices} == {str(room.pk) for room in dept.rooms}
    assert all(d.available for d in day.devices)
    shifts = {mapping.staff[s.id]: s.shifts for s in day.staff}
    assert all(shifts[member] == (Window(420, 1140),) for member in dept.staff)

    exams = {e.id: e for e in day.exams}
    mine = exams[str(first.pk)]
    assert mine.current is not None
    assert mine.current.room_id == str(us1.pk)
    assert mine.current.staff_id == str(dept.staff[0].pk)
    assert mine.current.device_id == str(dept.devices[0].pk)
    assert mine.current.start == 540
    assert mapping.at(mine.current.start) == local(MONDAY, 9)
    assert (mine.duration, mine.turnover) == (30, 5)
    assert mine.booked_start == 540
    assert mine.notified
    assert not mine.fixed
    assert mine.priority == Priority.ROUTINE
    assert mine.rooms == frozenset(str(room.pk) for room in dept.rooms)
    # The CT technologist works that day but is not eligible for an ultrasound exam.
    assert mine.staff == frozenset(str(member.pk) for member in dept.staff)
    assert exams[str(second.pk)].current.start == 630  # type: ignore[union-attr]
    assert mine.label == f"{first.accession_number} {dept.exam_type.name}"
    # Nothing in the map names a patient.
    assert first.order.patient.family_name not in repr(day)


def test_rooms_without_a_needed_capability_and_fasting_exams_are_limited_as_booking_is() -> None:
    with time_machine.travel(local(MONDAY - timedelta(days=3), 12), tick=True):
        dept = department(MONDAY)
        doppler, _ = RoomCapability.objects.get_or_create(
            code="vascular", defaults={"name": "Vascular"}
        )
        dept.rooms[0].capabilities.set([doppler])
        carotid = ExamTypeFactory.create(
            modality=dept.exam_type.modality,
            code="us-plan-carotid",
            default_duration_min=40,
            prep=Prep.NPO,
        )
        carotid.required_capabilities.set([doppler])
        dept.exam_type = carotid
        exam = booked(dept, local(MONDAY, 8), room=dept.rooms[0])

        day, _ = build_day(dept.site, MONDAY)

    mapped = next(e for e in day.exams if e.id == str(exam.pk))
    assert mapped.rooms == frozenset({str(dept.rooms[0].pk)})
    # Fasting: it may start by 11:00 at the latest, so it must end by 11:40.
    assert mapped.window_end == 11 * 60 + 40


def test_today_exams_in_progress_are_fixed_and_requests_are_released_with_their_sla() -> None:
    with time_machine.travel(local(MONDAY, 7, 30), tick=True):
        dept = department(MONDAY)
        begun = booked(dept, local(MONDAY, 8), room=dept.rooms[0])
        later = booked(dept, local(MONDAY, 11), room=dept.rooms[1])
    with time_machine.travel(local(MONDAY, 8, 1), tick=True):
        exam_arrive(exam=begun, by=dept.admin)
        exam_begin(exam=begun, by=dept.admin, overrides=OVERRIDE_ALL)
        stat = request(
            dept,
            priority=OrderPriority.STAT,
            patient_class=OrderPatientClass.EMERGENCY,
        )
        day, mapping = build_day(dept.site, MONDAY, now=local(MONDAY, 8, 3))

    exams = {e.id: e for e in day.exams}
    assert mapping.today
    assert day.now == 8 * 60 + 15  # 08:03 plus 10 minutes' lead, on the 5-minute grid
    fixed = exams[str(begun.pk)]
    assert fixed.fixed
    assert fixed.current is not None and fixed.current.start == 480
    assert exams[str(later.pk)].release == 660  # told 11:00: comes at 11:00
    new = exams[str(stat.pk)]
    assert new.current is None
    assert new.priority == Priority.STAT
    assert new.release == day.now
    stat.order.refresh_from_db()
    assert stat.order.sla_due_at is not None
    assert new.target_start == mapping.minute(stat.order.sla_due_at)
    assert not new.notified


@pytest.mark.parametrize(
    ("on", "horizon", "two_pm", "opens", "closes"),
    [
        # Autumn: 25 hours; 02:00 EDT becomes 01:00 EST, so 14:00 is 15 real hours in.
        (date(2026, 11, 1), 1500, 900, 480, 1200),
        # Spring: 23 hours; 02:00 EST becomes 03:00 EDT, so 14:00 is 13 real hours in.
        (date(2027, 3, 14), 1380, 780, 360, 1080),
    ],
)
def test_a_dst_change_day_counts_real_minutes_and_maps_back_to_the_wall_clock(
    on: date, horizon: int, two_pm: int, opens: int, closes: int
) -> None:
    with time_machine.travel(local(on - timedelta(days=2), 12), tick=True):
        dept = department(on)
        exam = booked(dept, local(on, 14), room=dept.rooms[0])
        day, mapping = build_day(dept.site, on)

    assert day_minutes(on, ZONE) == horizon
    assert day.horizon == horizon
    mapped = next(e for e in day.exams if e.id == str(exam.pk))
    assert mapped.current is not None
    assert mapped.current.start == two_pm
    back = mapping.at(two_pm)
    assert back == local(on, 14)
    assert back.astimezone(ZONE).hour == 14
    assert back.utcoffset() == local(on, 14).utcoffset()
    assert mapping.at(two_pm + mapped.duration) == exam.scheduled_end
    assert day.rooms[0].open == (Window(opens, closes),)
    assert timezone.is_aware(back)
