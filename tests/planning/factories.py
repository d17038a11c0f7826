"""A small ultrasound department for plan tests: one site, three rooms with a device each, three
sonographers working the rooms' hours, one 30-minute exam type (5 minutes' cleaning), and
patients booked through the real booking service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User

from radflow.catalog.models import ExamType
from radflow.core.roles import Role
from radflow.exams.models import Exam
from radflow.exams.services import exam_triage
from radflow.orders.models import OrderPatientClass, Priority
from radflow.patients.models import Patient
from radflow.scheduling.booking import appointment_book
from radflow.scheduling.models import (
    Device,
    Modality,
    Room,
    RoomOpeningHours,
    Site,
    StaffWorkingHours,
)
from radflow.staff.models import JobRole, StaffMember
from tests.catalog.factories import ExamTypeFactory
from tests.conftest import make_user
from tests.orders.factories import make_order
from tests.patients.factories import PatientFactory
from tests.scheduling.factories import DeviceFactory, RoomFactory, SiteFactory
from tests.staff.factories import StaffMemberFactory

ZONE = ZoneInfo("America/New_York")


@dataclass
class Dept:
    site: Site
    rooms: list[Room]
    devices: list[Device]
    staff: list[StaffMember]
    exam_type: ExamType
    admin: User


def local(on: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(on, time(hour, minute), tzinfo=ZONE)


def department(
    on: date,
    *,
    rooms: int = 3,
    people: int = 3,
    opens: time = time(7),
    closes: time = time(19),
) -> Dept:
    us, _ = Modality.objects.get_or_create(code="US", defaults={"name": "Ultrasound"})
    site = SiteFactory.create(
        name="Riverside Imaging", code="RIV", time_zone=str(ZONE), phone="(555) 010-2000"
    )
    room_rows, devices = [], []
    for n in range(1, rooms + 1):
        room = RoomFactory.create(site=site, modality=us, code=f"US-{n}", name=f"Ultrasound {n}")
        RoomOpeningHours.objects.create(room=room, weekday=on.weekday(), opens=opens, closes=closes)
        devices.append(DeviceFactory.create(room=room, modality=us))
        room_rows.append(room)
    staff = []
    for _ in range(people):
        member = StaffMemberFactory.create(home_site=site, job_role=JobRole.SONOGRAPHER)
        StaffWorkingHours.objects.create(
            staff=member, weekday=on.weekday(), starts=opens, ends=closes
        )
        staff.append(member)
    exam_type = ExamTypeFactory.create(
        modality=us, code="us-plan-abdomen", default_duration_min=30, turnover_min=5
    )
    admin = User.objects.filter(username="plan-admin").first() or make_user(
        Role.ADMIN, "plan-admin"
    )
    return Dept(site, room_rows, devices, staff, exam_type, admin)


def request(
    dept: Dept,
    *,
    priority: str = Priority.ROUTINE,
    patient_class: str = OrderPatientClass.OUTPATIENT,
    patient: Patient | None = None,
    received_at: datetime | None = None,
    **fields: Any,
) -> Exam:
    """A triaged (authorized) request for the department's exam type at its site."""
    extra: dict[str, Any] = {"received_at": received_at} if received_at else {}
    order = make_order(
        exam_type=dept.exam_type,
        site=dept.site,
        priority=priority,
        patient_class=patient_class,
        patient=patient or PatientFactory.create(email="patient@example.org"),
        **extra,
        **fields,
    )
    exam = exam_triage(exam=order.exam, by=dept.admin)
    exam.refresh_from_db()
    return exam


def booked(
    dept: Dept,
    start: datetime,
    *,
    room: Room,
    staff: StaffMember | None = None,
    patient: Patient | None = None,
    **fields: Any,
) -> Exam:
    """A request booked through the booking service at ``start`` in ``room``."""
    exam = request(dept, patient=patient, **fields)
    booked_exam: Exam = appointment_book(
        exam=exam, by=dept.admin, room=room, start=start, staff=staff or dept.staff[0]
    )
    booked_exam.refresh_from_db()
    return booked_exam
