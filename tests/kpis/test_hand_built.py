"""Every exam KPI on a small department whose right answers are worked out here by hand.

The exams go through the real services on the clocks of the spring DST day (Sunday 8 March 2026,
America/New_York: 02:00 jumps to 03:00, a 23-hour day); the rollups are kept by the same path as
in production (each change marks its days, the worker's refresh rebuilds them). Each answer is
checked twice: from the rollups and from the raw exams.

The exams of Sunday 8 March (room US-KPI, open 00:00-18:00 that Sunday, i.e. 17 real hours):
- A: ordered Mon 2 March, booked for Sat 7 March 23:30, begun 23:40, completed Sunday 00:25
  (past midnight), reported 04:00 EDT (2 h 35 min later in real time), signed 04:10.
- B1: booked for Sunday 09:00, a no-show (no contact) at 10:00; B2: the same patient rebooked
  at 10:30 for 14:00, arrived 13:50, begun 14:05, completed 14:35 by the sonographer.
- C: booked days ahead for Sunday 11:00, arrived 10:50, cancelled 11:15 (prep not followed).
- D: an inpatient STAT received 12:00, booked 12:05 for 12:20, arrived 12:15, begun 12:40 (due
  13:00: met), completed 13:10 by the sonographer.
- E: booked for Sunday 15:00, cancelled on Friday: not an appointment of Sunday.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import transaction
from pytest_django import DjangoDbBlocker

from radflow.core.kpis.stats import bucket_bounds, bucket_of
from radflow.core.kpis.types import KpiFilters, KpiValue, Status
from radflow.exams.models import Exam, Override
from radflow.exams.services import (
    exam_arrive,
    exam_begin,
    exam_cancel,
    exam_complete,
    exam_no_show,
    exam_report,
    exam_schedule,
    exam_sign,
    exam_triage,
)
from radflow.intake.selectors import exam_hard_stops
from radflow.kpis import capacity
from radflow.kpis.models import KpiDirtyDay
from radflow.kpis.raw import kpi_values_raw
from radflow.kpis.rollups import rollups_refresh
from radflow.kpis.selectors import kpi_breakdown, kpi_drilldown, kpi_values
from radflow.patients.models import Patient
from radflow.scheduling.models import Room, Site, StaffWorkingHours
from radflow.staff.models import StaffMember
from tests.conftest import make_user
from tests.orders.factories import make_order
from tests.patients.factories import PatientFactory
from tests.scheduling.factories import (
    DepartmentFactory,
    ModalityFactory,
    RoomFactory,
    RoomOpeningHoursFactory,
)
from tests.staff.factories import StaffMemberFactory

pytestmark = pytest.mark.django_db

NY = ZoneInfo("America/New_York")
SUNDAY = date(2026, 3, 8)
T = TypeVar("T")


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=NY)


def on(when: datetime, action: Callable[[], T]) -> T:
    with time_machine.travel(when, tick=False):
        return action()


class World:
    def __init__(self, by: User, room: Room, sono: StaffMember, site: Site) -> None:
        self.by, self.room, self.sono, self.site = by, room, sono, site
        self.overrides = 0
        self.exams: dict[str, Exam] = {}

    def order(self, name: str, when: datetime, patient: Patient | None = None, **kw: Any) -> Exam:
        order = on(when, lambda: make_order(by=self.by, patient=patient, site=self.site, **kw))
        self.exams[name] = order.exam
        return order.exam

    def book(self, exam: Exam, triaged: datetime, booked: datetime, start: datetime,
             performer: bool = False) -> None:  # fmt: skip
        on(triaged, lambda: exam_triage(exam=exam, by=self.by))
        on(booked, lambda: exam_schedule(
            exam=exam, by=self.by, room=self.room, start=start,
            technologist=self.sono if performer else None))  # fmt: skip

    def perform(self, exam: Exam, arrived: datetime, begun: datetime, completed: datetime) -> None:
        on(arrived, lambda: exam_arrive(exam=exam, by=self.by))
        exam.refresh_from_db()
        stops = exam_hard_stops(exam, on=begun.date(), performer=exam.technologist)
        self.overrides += len(stops)
        reasons = {stop.code: "Hand-built KPI test" for stop in stops}
        on(begun, lambda: exam_begin(exam=exam, by=self.by, overrides=reasons))
        on(completed, lambda: exam_complete(exam=exam, by=self.by))


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[World]:
    from radflow.catalog.reference import load_reference
    from radflow.orders.reference import load_workflow_reference

    with django_db_blocker.unblock(), transaction.atomic():
        load_workflow_reference(result=load_reference())
        by = make_user(None, "kpi-admin")
        by.is_superuser = True
        by.save()
        department = DepartmentFactory.create()
        site = department.site
        room = RoomFactory.create(
            site=site, department=department, code="US-KPI", modality=ModalityFactory.create()
        )
        RoomOpeningHoursFactory.create(room=room, weekday=6, opens=time(0), closes=time(18))
        sono = StaffMemberFactory.create(home_site=site, modalities=[room.modality])
        StaffWorkingHours.objects.create(staff=sono, weekday=6, starts=time(8), ends=time(16))
        w = World(by, room, sono, site)

        a = w.order("A", at(2, 9))
        w.book(a, at(2, 9, 10), at(2, 9, 20), at(7, 23, 30))
        w.perform(a, at(7, 23, 20), at(7, 23, 40), at(8, 0, 25))
        on(at(8, 4), lambda: exam_report(exam=a, by=by, text="Normal abdomen."))
        on(at(8, 4, 10), lambda: exam_sign(exam=a, by=by))

        patient = PatientFactory.create()
        b1 = w.order("B1", at(2, 10), patient=patient)
        w.book(b1, at(2, 10, 5), at(2, 10, 10), at(8, 9))
        on(at(8, 10), lambda: exam_no_show(exam=b1, by=by, reason_code="no_contact"))
        b2 = w.order("B2", at(8, 10, 30), patient=patient)
        w.book(b2, at(8, 10, 35), at(8, 10, 40), at(8, 14), performer=True)
        w.perform(b2, at(8, 13, 50), at(8, 14, 5), at(8, 14, 35))

        c = w.order("C", at(3, 9))
        w.book(c, at(3, 9, 10), at(3, 9, 30), at(8, 11))
        on(at(8, 10, 50), lambda: exam_arrive(exam=c, by=by))
        on(at(8, 11, 15), lambda: exam_cancel(exam=c, by=by, reason_code="prep_not_done"))

        d = w.order("D", at(8, 12), priority="stat", patient_class="inpatient")
        w.book(d, at(8, 12, 2), at(8, 12, 5), at(8, 12, 20), performer=True)
        w.perform(d, at(8, 12, 15), at(8, 12, 40), at(8, 13, 10))

        e = w.order("E", at(2, 11))
        w.book(e, at(2, 11, 5), at(2, 11, 10), at(8, 15))
        on(at(6, 9), lambda: exam_cancel(exam=e, by=by, reason_code="patient_request"))

        w.dirty_days = sorted(KpiDirtyDay.objects.values_list("day", flat=True))  # type: ignore[attr-defined]
        rollups_refresh()
        capacity.room_days_rebuild(first=date(2026, 3, 1), last=date(2026, 3, 14))
        capacity.staff_days_rebuild(first=date(2026, 3, 1), last=date(2026, 3, 14))
        yield w
        transaction.set_rollback(True)


def both(code: str, filters: KpiFilters | None = None, day: date = SUNDAY) -> list[KpiValue]:
    """The KPI of ``day`` from the rollups and from the raw exams."""
    kw: dict[str, Any] = {"start": day, "end": day, "filters": filters, "codes": [code]}
    return [kpi_values(**kw)[0], kpi_values_raw(**kw)[0]]


def test_the_services_marked_every_day_the_exams_touched_and_the_refresh_cleared_them(
    world: World,
) -> None:
    assert {date(2026, 3, d) for d in (2, 3, 6, 7, 8)} <= set(world.dirty_days)  # type: ignore[attr-defined]
    assert not KpiDirtyDay.objects.exists()


def test_volume_counts_exams_on_the_day_they_began(world: World) -> None:
    for value in both("exams_performed"):
        assert value.value == 2  # B2 and D; A began on Saturday
    for value in both("exams_performed", day=date(2026, 3, 7)):
        assert value.value == 1  # A, though it ended on Sunday
    for value in both("orders_received"):
        assert value.value == 2  # B2 and D


def test_appointments_of_the_day_give_the_no_show_cancellation_and_completion_rates(
    world: World,
) -> None:
    # Due on Sunday: B1 (no-show), B2 (seen), C (cancelled after arrival), D (seen); E was
    # cancelled on Friday and A's appointment was on Saturday.
    for value in both("no_show_rate"):
        assert (value.value, value.numerator, value.denominator) == (25.0, 1, 4)
    for value in both("same_day_cancel_rate"):
        assert (value.value, value.numerator, value.denominator) == (25.0, 1, 4)
    for value in both("completion_rate"):
        assert (value.value, value.numerator, value.denominator) == (50.0, 2, 4)


def test_inpatients_and_outpatients_are_rated_apart(world: World) -> None:
    outpatients = KpiFilters.of(patient_classes="outpatient")
    inpatients = KpiFilters.of(patient_classes="inpatient")
    for value in both("no_show_rate", outpatients):
        assert (value.numerator, value.denominator) == (1, 3)  # B1 of B1, B2, C
    for value in both("no_show_rate", inpatients):
        assert (value.value, value.denominator) == (0.0, 1)


def test_no_shows_and_cancellations_break_down_by_reason(world: World) -> None:
    (no_show,) = kpi_breakdown("no_show_rate", by="reason", start=SUNDAY, end=SUNDAY)
    assert (no_show.key, no_show.label, no_show.count, no_show.value) == (
        "no_contact", "Did not attend, no contact", 1, 25.0)  # fmt: skip
    (cancel,) = kpi_breakdown("same_day_cancel_rate", by="reason", start=SUNDAY, end=SUNDAY)
    assert (cancel.key, cancel.count) == ("prep_not_done", 1)


def test_a_stat_begun_40_minutes_after_receipt_met_its_hour(world: World) -> None:
    for value in both("sla_stat"):
        assert (value.value, value.count, value.status) == (100.0, 1, Status.GREEN)
    for value in both("sla_urgent"):
        assert value.value is None and value.count == 0


def test_turnaround_medians_come_from_whole_minute_buckets(world: World) -> None:
    for value in both("tat_wait"):
        # waits of 15 (B2) and 25 (D) minutes: the lower median is 15, read as the top of its
        # one-minute bucket; the mean is exact.
        assert (value.p50, value.mean, value.count) == (16.0, 20.0, 2)
    for value in both("exam_duration"):
        assert (value.p50, value.mean) == (30.5, 30.0)  # both took 30 minutes
    for value in both("tat_order_to_scheduled"):
        assert value.mean == pytest.approx(7.5 / 60)  # 10 and 5 minutes, in hours
    for value in both("tat_order_to_exam"):
        assert value.mean == pytest.approx((215 + 40) / 2 / 1440)  # in days
        assert value.p50 == pytest.approx(41 / 1440)


def test_report_time_across_the_spring_change_is_real_elapsed_time(world: World) -> None:
    low, high = bucket_bounds(bucket_of(155))
    for value in both("tat_end_to_report"):
        assert value.mean == pytest.approx(155 / 60)  # 00:25 EST to 04:00 EDT
        assert value.p50 is not None and low / 60 <= value.p50 <= high / 60
    for value in both("tat_report_to_sign"):
        assert value.mean == pytest.approx(10 / 60)


def test_utilization_divides_by_the_23_hour_days_real_open_time(world: World) -> None:
    # Scanned on Sunday: A's last 25 minutes, B2's 30 and D's 30; open 00:00-18:00 is 17 h.
    for value in both("room_utilization"):
        assert (value.numerator, value.denominator) == (85 * 60, 17 * 3600)
        assert value.value == pytest.approx(85 / 1020 * 100)
    for value in both("room_utilization", day=date(2026, 3, 7)):
        assert value.numerator == 20 * 60  # A's first 20 minutes; the room was closed Saturday
        assert value.value is None


def test_productivity_counts_the_sonographers_exams_against_her_eight_hours(
    world: World,
) -> None:
    mine = KpiFilters.of(staff=world.sono)
    for value in both("exams_per_8h", mine):
        assert value.value == pytest.approx(2.0)  # B2 and D in 8 worked hours
    for value in both("scanned_share", mine):
        assert value.value == pytest.approx(60 / 480 * 100)
    for value in both("rvus_per_hour", mine):
        assert value.value == pytest.approx(2 * 0.81 / 8)  # 76700 twice
    for value in both("exams_per_8h", KpiFilters.of(referrers="1234567893")):
        assert value.value is None and value.note == "not available with a referrer filter"


def test_overrides_are_counted_per_exam_begun(world: World) -> None:
    on_sunday = Override.objects.filter(at__date__gte=SUNDAY).count()
    assert world.overrides == Override.objects.count() > 0
    for value in both("override_rate"):
        assert value.numerator == on_sunday
        assert value.value == pytest.approx(on_sunday / 2 * 100)


def test_documentation_findings_appear_once_a_report_is_a_day_late(world: World) -> None:
    from radflow.kpis.jobs import kpi_rollups_refresh
    from radflow.kpis.rollups import rollups_rebuild

    with time_machine.travel(at(9, 12), tick=False):
        rollups_rebuild(first=SUNDAY, last=SUNDAY)  # counted on Monday at noon
        fresh = both("documentation_findings")
    with time_machine.travel(at(10, 12), tick=False):
        (unchanged,) = kpi_values(start=SUNDAY, end=SUNDAY, codes=["documentation_findings"])
        kpi_rollups_refresh()  # the worker notices the reports that are now a day late
        late = both("documentation_findings")
        listed = kpi_drilldown("documentation_findings", start=SUNDAY, end=SUNDAY, bucket="report")
        listed_accessions = {e.accession_number for e in listed}
    for value in fresh:
        assert (value.value, value.denominator) == (0.0, 2)  # B2 and D, completed Sunday
    assert unchanged.value == 0.0
    for value in late:
        assert (value.value, value.numerator) == (100.0, 2)  # both unreported after 24 h
    assert listed_accessions == {
        world.exams["B2"].accession_number,
        world.exams["D"].accession_number,
    }


def test_the_drill_down_lists_the_exams_behind_a_number(world: World) -> None:
    no_shows = kpi_drilldown("no_show_rate", start=SUNDAY, end=SUNDAY, bucket="numerator")
    due = kpi_drilldown("no_show_rate", start=SUNDAY, end=SUNDAY)
    assert [e.pk for e in no_shows] == [world.exams["B1"].pk]
    assert {e.pk for e in due} == {world.exams[n].pk for n in ("B1", "B2", "C", "D")}
    by_reason = kpi_drilldown("same_day_cancel_rate", start=SUNDAY, end=SUNDAY,
                              bucket="prep_not_done")  # fmt: skip
    assert [e.pk for e in by_reason] == [world.exams["C"].pk]


def test_the_incremental_refresh_left_what_a_full_rebuild_makes(world: World) -> None:
    from radflow.kpis.models import KpiDaily, KpiDailySite, KpiReasonDaily
    from radflow.kpis.rollups import rollups_rebuild

    def rows() -> dict[str, list[tuple[Any, ...]]]:
        result = {}
        for model in (KpiDaily, KpiDailySite, KpiReasonDaily):
            names = [f.attname for f in model._meta.concrete_fields if f.attname != "id"]
            result[model.__name__] = sorted(
                tuple(json.dumps(v, sort_keys=True, default=str) for v in row)
                for row in model.objects.values_list(*names)
            )
        return result

    refreshed = rows()
    rollups_rebuild(first=date(2026, 3, 1), last=date(2026, 3, 14))
    assert rows() == refreshed
    assert len(refreshed["KpiDaily"]) > 5
