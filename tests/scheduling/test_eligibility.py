"""Eligibility as the coordinator sees it: who and what may take an exam type, and why not."""

from __future__ import annotations

import datetime as dt

import pytest

from radflow.catalog.models import ExamType
from radflow.credentials.models import CompetencySignoff, Credential
from radflow.credentials.reference import load_credential_reference
from radflow.scheduling.eligibility import exam_eligibility, staff_problem
from radflow.scheduling.models import DeviceStatus, RoomStatus
from radflow.staff.models import JobRole
from tests.scheduling.factories import (
    BookingWorld,
    DeviceFactory,
    add_room,
    booking_world,
    qualified_performer,
)
from tests.staff.factories import StaffMemberFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2031, 6, 3)


@pytest.fixture
def world(reference: None) -> BookingWorld:
    load_credential_reference()
    return booking_world(on=DAY, capabilities=("vascular",))


def carotid() -> ExamType:
    return ExamType.objects.get(code="us-carotid-duplex")


def test_rooms_need_every_capability_and_to_be_in_service(world: BookingWorld) -> None:
    plain = add_room(world, "Ultrasound 2")
    down = add_room(world, "Ultrasound 3", capabilities=("vascular",))
    down.status, down.status_note = RoomStatus.DOWN, "Air conditioning failed"
    down.save()
    found = exam_eligibility(exam_type=carotid(), patient_class="outpatient", on=DAY)
    assert found.rooms == [world.room]
    assert found.devices == [world.device]
    assert found.reasons[f"room:{plain.code}"] == [
        "Ultrasound 2 lacks Vascular package (duplex Doppler)."
    ]
    assert found.reasons[f"room:{down.code}"] == ["Ultrasound 3 is down (Air conditioning failed)."]


def test_a_room_whose_only_scanner_is_down_is_excluded_naming_the_scanner(
    world: BookingWorld,
) -> None:
    world.device.status = DeviceStatus.DOWN
    world.device.save()
    found = exam_eligibility(exam_type=carotid(), patient_class="outpatient", on=DAY)
    assert found.rooms == []
    assert found.reasons[f"device:{world.device.serial_number}"] == [f"{world.device} is down."]
    assert found.reasons[f"room:{world.room.code}"] == ["Ultrasound 1 has no device in service."]
    spare = DeviceFactory.create(room=world.room, modality=world.room.modality)
    found = exam_eligibility(exam_type=carotid(), patient_class="outpatient", on=DAY)
    assert found.rooms == [world.room]
    assert found.devices == [spare]


def test_a_bariatric_patient_needs_a_bariatric_room(world: BookingWorld) -> None:
    from tests.scheduling.factories import RoomCapabilityFactory

    RoomCapabilityFactory.create(code="bariatric")  # loaded by the reference data already
    found = exam_eligibility(exam_type=carotid(), patient_class="bariatric", on=DAY)
    assert found.rooms == []
    assert found.reasons[f"room:{world.room.code}"] == [
        "Ultrasound 1 lacks Bariatric table (over 200 kg)."
    ]


def test_staff_without_credential_or_competency_are_excluded_with_the_reason(
    world: BookingWorld,
) -> None:
    lapsed = qualified_performer(world.site, on=DAY, given_name="Ana", family_name="Silva")
    CompetencySignoff.objects.filter(staff=lapsed, competency_id="us-vascular-arterial").update(
        valid_until=DAY - dt.timedelta(days=10)
    )
    unregistered = qualified_performer(world.site, on=DAY, given_name="Ben", family_name="Cole")
    Credential.objects.filter(staff=unregistered).delete()
    StaffMemberFactory.create(job_role=JobRole.BILLING, home_site=world.site)  # never a performer
    found = exam_eligibility(exam_type=carotid(), patient_class="outpatient", on=DAY)
    assert [str(s) for s in found.staff] == ["Maria Lopez"]
    assert found.reasons[f"staff:{lapsed.employee_number}"] == [
        f"no current Vascular: arterial competency (lapsed {DAY - dt.timedelta(days=9)})"
    ]
    problems = found.reasons[f"staff:{unregistered.employee_number}"]
    assert any(p.startswith("no sonography registry credential") for p in problems), problems
    assert len([key for key in found.reasons if key.startswith("staff:")]) == 2  # not the clerk
    assert staff_problem(staff=lapsed, exam_type=carotid(), on=DAY) == (
        f"Ana Silva may not perform Carotid duplex, bilateral on {DAY}: no current Vascular: "
        f"arterial competency (lapsed {DAY - dt.timedelta(days=9)})."
    )
    assert staff_problem(staff=world.sonographer, exam_type=carotid(), on=DAY) is None
