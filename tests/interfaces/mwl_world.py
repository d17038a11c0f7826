"""A small department with a booked worklist, for the Modality Worklist tests.

Two ultrasound rooms and a CT room in New York; room A has a scanner with its own AE title,
room B has none and is registered in the AE registry instead; five exams booked on one day
(names in Latin-1, Greek, Japanese and Cyrillic), one arrived, one only requested (never on
the worklist), one cancelled.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.utils import timezone

from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam
from radflow.exams.services import exam_arrive, exam_cancel, exam_schedule, exam_triage
from radflow.intake.models import ScreeningAnswer, ScreeningResult
from radflow.interfaces.models import ApplicationEntity
from radflow.patients.models import Patient
from radflow.scheduling.models import Device, Room
from radflow.staff.models import StaffMember
from tests.orders.factories import make_order
from tests.patients.factories import AllergyFactory, PatientFactory
from tests.scheduling.factories import DeviceFactory, ModalityFactory, RoomFactory, SiteFactory
from tests.staff.factories import StaffMemberFactory

NEW_YORK = ZoneInfo("America/New_York")


@dataclass
class World:
    day: dt.date
    room_a: Room
    room_b: Room
    ct_room: Room
    scanner_a: Device
    sonographer: StaffMember
    patients: dict[str, Patient] = field(default_factory=dict)
    exams: dict[str, Exam] = field(default_factory=dict)

    def at(self, hour: int, minute: int = 0, days: int = 0) -> dt.datetime:
        day = self.day + dt.timedelta(days=days)
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=NEW_YORK)


def book(
    world: World,
    by: User,
    key: str,
    patient: Patient,
    *,
    room: Room,
    start: dt.datetime,
    exam_type: str = "us-abdomen-complete",
    technologist: StaffMember | None = None,
    **order_fields: Any,
) -> Exam:
    order = make_order(by=by, patient=patient, exam_type=exam_type, **order_fields)
    exam = exam_triage(exam=order.exam, by=by)
    exam = exam_schedule(exam=exam, by=by, room=room, start=start, technologist=technologist)
    world.exams[key] = exam
    return exam


def build_world(by: User, *, day: dt.date | None = None) -> World:
    """Needs the ``reference`` catalog; ``by`` may schedule, arrive and cancel (a superuser)."""
    day = day or timezone.localdate() + dt.timedelta(days=10)
    site = SiteFactory.create(time_zone="America/New_York")
    us = ModalityFactory.create(code="US")
    ct = ModalityFactory.create(code="CT")
    room_a = RoomFactory.create(site=site, modality=us, name="Ultrasound A", code="US-A")
    room_b = RoomFactory.create(site=site, modality=us, name="Ultrasound B", code="US-B")
    ct_room = RoomFactory.create(site=site, modality=ct, name="CT 1", code="CT-1")
    scanner_a = DeviceFactory.create(
        modality=us, room=room_a, ae_title="US_ROOM_A", station_name="USSTNA"
    )
    ApplicationEntity.objects.create(ae_title="US_ROOM_B", room=room_b, station_name="USSTNB")
    ApplicationEntity.objects.create(ae_title="CT_1", room=ct_room, station_name="CTSTN1")
    sonographer = StaffMemberFactory.create(
        home_site=site, family_name="Lopez", given_name="Maria", modalities=[us]
    )
    world = World(day, room_a, room_b, ct_room, scanner_a, sonographer)
    names = {
        "mueller": ("Müller", "Jürgen", "M"),
        "papadopoulou": ("Παπαδοπούλου", "Ελένη", "F"),
        "yamada": ("山田", "太郎", "M"),
        "ivanova": ("Иванова", "Анна", "F"),
        "smith": ("Smith", "Anna", "F"),
        "smithers": ("Smithers", "Waylon", "M"),
        "doe": ("Doe", "Jane", "F"),
    }
    for key, (family, given, sex) in names.items():
        world.patients[key] = PatientFactory.create(
            family_name=family,
            given_name=given,
            sex=sex,
            mrn=f"MRN-{key.upper()}",
            birth_date=dt.date(1980, 1, 2),
        )
    AllergyFactory.create(patient=world.patients["smith"], substance="Latex", severity="severe")
    AllergyFactory.create(patient=world.patients["smith"], substance="Penicillin", severity="mild")
    book(
        world,
        by,
        "mueller",
        world.patients["mueller"],
        room=room_a,
        start=world.at(8),
        technologist=sonographer,
        priority="stat",
    )
    book(
        world,
        by,
        "papadopoulou",
        world.patients["papadopoulou"],
        room=room_a,
        start=world.at(9, 30),
    )
    book(world, by, "yamada", world.patients["yamada"], room=room_b, start=world.at(10))
    book(world, by, "ivanova", world.patients["ivanova"], room=room_b, start=world.at(14))
    book(
        world,
        by,
        "smith",
        world.patients["smith"],
        room=room_a,
        start=world.at(16, 45),
        exam_type="us-pelvis-transabdominal",
    )
    book(
        world,
        by,
        "smithers",
        world.patients["smithers"],
        room=ct_room,
        start=world.at(11),
        exam_type="ct-head-wo",
    )
    book(world, by, "tomorrow", world.patients["doe"], room=room_b, start=world.at(9, days=1))
    cancelled = book(world, by, "cancelled", world.patients["doe"], room=room_b, start=world.at(15))
    exam_cancel(exam=cancelled, by=by, reason_code="patient_request")
    world.exams["requested"] = make_order(by=by, patient=world.patients["doe"]).exam
    exam_arrive(exam=world.exams["smith"], by=by)
    ScreeningAnswer.objects.create(
        exam=world.exams["smith"],
        item_id="pregnancy",
        answer="Possibly",
        result=ScreeningResult.FLAGGED,
        at=timezone.now(),
        by=by,
    )
    for key, exam in list(world.exams.items()):
        world.exams[key] = Exam.objects.get(pk=exam.pk)
    return world


def bulk_steps(world: World, count: int, *, room: Room | None = None) -> list[Exam]:
    """``count`` more scheduled steps on ``world.day`` in one go (rows, not services: volume
    for the cancel tests, where only how many answers arrive matters)."""
    from radflow.catalog.models import ExamType
    from radflow.orders.models import Order

    room = room or world.room_b
    exam_type = ExamType.objects.get(code="us-thyroid")
    now = timezone.now()
    patients = Patient.objects.bulk_create(
        PatientFactory.build(family_name=f"Bulk{i:04d}", given_name="Test", mrn=f"BULK{i:05d}")
        for i in range(count)
    )
    orders = Order.objects.bulk_create(
        Order(patient=patient, exam_type=exam_type, received_at=now) for patient in patients
    )
    start = world.at(6)
    exams = Exam.objects.bulk_create(
        Exam(
            order=order,
            state=ExamState.SCHEDULED.value,
            accession_number=f"BK{i:08d}",
            study_instance_uid=f"2.25.9{i:06d}",
            room=room,
            scheduled_start=start + dt.timedelta(seconds=i),
            requested_at=now,
            scheduled_at=now,
            state_changed_at=now,
        )
        for i, order in enumerate(orders)
    )
    return exams


def slow_answers(monkeypatch: Any, seconds: float = 0.002) -> None:
    """Make the live server take ``seconds`` per answer, as on a busy machine: a cancel then
    surely arrives while answers are still going out (otherwise a fast server may have sent
    them all before the client's C-CANCEL is read)."""
    from radflow.core.dicom.matching import encode_answer

    def encode_slowly(*args: Any, **kwargs: Any) -> bytes:
        time.sleep(seconds)
        return encode_answer(*args, **kwargs)

    monkeypatch.setattr("radflow.interfaces.dicom_mwl.encode_answer", encode_slowly)
