"""A small department whose February 2026 is worked out by hand, for the monthly report pack.

Room US-RPT of the "Report Test Imaging" department (site RPT), February 2026 (America/New_York):
- A: routine, booked for Tue 10 Feb 10:00 with the sonographer; arrived 09:50, begun 10:05,
  completed 10:35, reported 12:35 (2 h), signed 13:00.
- B: routine, booked for Wed 11 Feb 09:00; a no-show (no contact) at 10:00.
- C: a STAT ordered Thu 12 Feb 12:00 (due 13:00), booked for 12:20, arrived 12:15, begun 13:30
  (30 minutes late, after a 75-minute wait), completed 14:00; never reported.
- D: routine, booked for Fri 13 Feb 11:00, arrived 10:50, begun 11:40 (a 50-minute wait),
  completed 12:10, reported Sat 14 Feb 09:00 (20 h 50 min).
Four appointments due, one no-show: 25.0 %. Three exams performed. One incident (minor fall).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import transaction
from pytest_django import DjangoDbBlocker

from radflow.exams.models import Exam
from radflow.exams.services import (
    exam_arrive,
    exam_begin,
    exam_complete,
    exam_no_show,
    exam_report,
    exam_schedule,
    exam_sign,
    exam_triage,
)
from radflow.intake.selectors import exam_hard_stops
from radflow.scheduling.models import Department, Room, StaffWorkingHours
from radflow.staff.models import StaffMember
from tests.conftest import make_user
from tests.exams.factories import OVERRIDE_ALL
from tests.orders.factories import make_order
from tests.scheduling.factories import (
    DepartmentFactory,
    ModalityFactory,
    RoomFactory,
    RoomOpeningHoursFactory,
    SiteFactory,
)
from tests.staff.factories import StaffMemberFactory

NY = ZoneInfo("America/New_York")
MONTH = date(2026, 2, 1)
DEPARTMENT_NAME = "Report Test Imaging"
T = TypeVar("T")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 2, day, hour, minute, tzinfo=NY)


def on(when: datetime, action: Callable[[], T]) -> T:
    with time_machine.travel(when, tick=False):
        return action()


@dataclass
class ReportWorld:
    by: User
    department: Department
    room: Room
    sono: StaffMember
    exams: dict[str, Exam] = field(default_factory=dict)


def _exam(w: ReportWorld, name: str, ordered: datetime, start: datetime, **kw: Any) -> Exam:
    order = on(ordered, lambda: make_order(by=w.by, site=w.department.site, **kw))
    exam = order.exam
    on(ordered, lambda: exam_triage(exam=exam, by=w.by))
    on(
        ordered,
        lambda: exam_schedule(exam=exam, by=w.by, room=w.room, start=start, technologist=w.sono),
    )
    w.exams[name] = exam
    return exam


def _perform(exam: Exam, by: User, arrived: datetime, begun: datetime, done: datetime) -> None:
    on(arrived, lambda: exam_arrive(exam=exam, by=by))
    exam.refresh_from_db()
    stops = exam_hard_stops(exam, on=begun.date(), performer=exam.technologist)
    reasons = {**OVERRIDE_ALL, **{stop.code: "Report pack test" for stop in stops}}
    on(begun, lambda: exam_begin(exam=exam, by=by, overrides=reasons))
    on(done, lambda: exam_complete(exam=exam, by=by))


def build_world() -> ReportWorld:
    from radflow.catalog.reference import load_reference
    from radflow.kpis import capacity
    from radflow.kpis.rollups import rollups_refresh
    from radflow.orders.reference import load_workflow_reference
    from radflow.quality.models import Incident

    load_workflow_reference(result=load_reference())
    by = make_user(None, "report-admin")
    by.is_superuser = True
    by.save()
    department = DepartmentFactory.create(name=DEPARTMENT_NAME, site=SiteFactory.create(code="RPT"))
    room = RoomFactory.create(
        site=department.site,
        department=department,
        code="US-RPT",
        modality=ModalityFactory.create(),
    )
    for weekday in range(7):
        RoomOpeningHoursFactory.create(room=room, weekday=weekday, opens=time(8), closes=time(18))
    sono = StaffMemberFactory.create(home_site=department.site, modalities=[room.modality])
    for weekday in range(5):
        StaffWorkingHours.objects.create(staff=sono, weekday=weekday, starts=time(8), ends=time(16))
    w = ReportWorld(by=by, department=department, room=room, sono=sono)

    a = _exam(w, "A", at(2, 9), at(10, 10))
    _perform(a, by, at(10, 9, 50), at(10, 10, 5), at(10, 10, 35))
    on(at(10, 12, 35), lambda: exam_report(exam=a, by=by, text="Normal abdomen."))
    on(at(10, 13), lambda: exam_sign(exam=a, by=by))

    b = _exam(w, "B", at(3, 9), at(11, 9))
    on(at(11, 10), lambda: exam_no_show(exam=b, by=by, reason_code="no_contact"))

    c = _exam(w, "C", at(12, 12), at(12, 12, 20), priority="stat", patient_class="inpatient")
    _perform(c, by, at(12, 12, 15), at(12, 13, 30), at(12, 14))

    d = _exam(w, "D", at(4, 9), at(13, 11))
    _perform(d, by, at(13, 10, 50), at(13, 11, 40), at(13, 12, 10))
    on(at(14, 9), lambda: exam_report(exam=d, by=by, text="Small cyst."))

    Incident.objects.create(
        number="INC-RPT-0001",
        kind="incident",
        category="fall",
        severity="minor",
        occurred_at=at(16, 11),
        reported_at=at(16, 12),
        site=department.site,
        description="Patient slipped in the changing room.",
    )
    rollups_refresh()
    capacity.room_days_rebuild(first=date(2026, 2, 1), last=date(2026, 2, 28))
    capacity.staff_days_rebuild(first=date(2026, 2, 1), last=date(2026, 2, 28))
    return w


def world_fixture() -> Callable[..., Iterator[ReportWorld]]:
    """A module-scoped fixture holding the world (rolled back after the module)."""

    @pytest.fixture(scope="module")
    def world(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[ReportWorld]:
        with django_db_blocker.unblock(), transaction.atomic():
            yield build_world()
            transaction.set_rollback(True)

    return world


def poppler(tool: str, *args: str | Path) -> str:
    """Run a poppler-utils tool (pdftotext, pdfinfo, pdftoppm) and return what it printed."""
    path = shutil.which(tool)
    assert path is not None, f"{tool} (Debian poppler-utils) is not installed"
    done = subprocess.run(  # noqa: S603 (a fixed local tool on our own bytes)
        [path, *map(str, args)], check=True, capture_output=True, text=True, timeout=60
    )
    return done.stdout
