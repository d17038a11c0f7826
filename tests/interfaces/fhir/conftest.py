"""A small department for the FHIR tests: a site with an ultrasound room and its scanner, a
sonographer, and patients at three points of the exam's life (ordered, booked, being scanned)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam
from radflow.interfaces.models import PerformedProcedureStep, PpsStatus
from radflow.orders.models import Order
from radflow.patients.models import IdentifierType, Patient, PatientIdentifier
from radflow.scheduling.models import Device, Modality, Room, Site
from radflow.staff.models import StaffMember
from tests.exams.factories import advance, next_slot
from tests.orders.factories import make_order
from tests.patients.factories import PatientFactory
from tests.scheduling.factories import DeviceFactory, RoomFactory, SiteFactory
from tests.staff.factories import StaffMemberFactory


@dataclass
class Department:
    site: Site
    room: Room
    device: Device
    sonographer: StaffMember
    ordered: Order  # requested, not yet booked
    booked: Exam  # scheduled in the room with the sonographer
    scanning: Exam  # in progress, the modality reported a series
    patient: Patient  # the ordered one's patient


@pytest.fixture
def department(reference: None, admin_user: User) -> Department:
    site = SiteFactory.create(code="RIV", name="Riverside Imaging", time_zone="America/New_York")
    us = Modality.objects.get_or_create(code="US", defaults={"name": "Ultrasound"})[0]
    room = RoomFactory.create(site=site, modality=us, code="RIV-US1", name="Ultrasound 1")
    device = DeviceFactory.create(
        modality=us,
        room=room,
        manufacturer="GE HealthCare",
        serial_number="SN-42",
        ae_title="US_RIV_1",
    )
    sonographer = StaffMemberFactory.create(
        home_site=site,
        modalities=[us],
        given_name="Maria",
        family_name="Lopez",
        employee_number="E-7001",
    )
    patient = PatientFactory.create(
        family_name="Okafor", given_name="Adaeze", mrn="MRN-5001", birth_date="1984-02-29"
    )
    PatientIdentifier.objects.create(
        patient=patient, value="P1234567", authority="US-PASSPORT", type=IdentifierType.PASSPORT
    )
    ordered = make_order(
        by=admin_user,
        patient=patient,
        exam_type="us-abdomen-complete",
        placer_order_number="EPIC-77",
    )
    booked = advance(
        make_order(by=admin_user, exam_type="us-thyroid").exam,
        ExamState.SCHEDULED,
        by=admin_user,
        room=room,
    )
    Exam.objects.filter(pk=booked.pk).update(technologist=sonographer, device=device)
    booked.refresh_from_db()
    scanning = advance(
        make_order(by=admin_user, exam_type="us-renal-complete").exam,
        ExamState.IN_PROGRESS,
        by=admin_user,
        room=room,
        start=next_slot(hours=5),
    )
    PerformedProcedureStep.objects.create(
        sop_instance_uid="2.25.4242",
        calling_ae="US_RIV_1",
        status=PpsStatus.IN_PROGRESS,
        exam=scanning,
        accession_number=scanning.accession_number,
        study_instance_uid=scanning.study_instance_uid,
        modality="US",
        started_at=timezone.now(),
        performed_series=[
            {"series_uid": "2.25.4242.1", "description": "Kidneys", "modality": "US", "images": 34}
        ],
        images_count=34,
    )
    return Department(site, room, device, sonographer, ordered, booked, scanning, patient)
