"""Reading and searching every resource type as a peer system does: what each resource says,
which searches find it, paging through a searchset, and the access log of patient reads."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from radflow.audit.models import AccessLog
from radflow.core.fhir import systems
from tests.interfaces.fhir.conftest import Department
from tests.interfaces.fhir.helpers import (
    FhirClient,
    assert_outcome,
    entries,
    follow,
    identifier,
    ids,
    link,
    resource,
)
from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def fhir(coordinator: User) -> FhirClient:
    return FhirClient(coordinator)


def fhir_logs(patient_id: Any, action: str) -> int:
    return AccessLog.objects.filter(patient_id=patient_id, action=action, channel="fhir").count()


def test_a_patient_reads_as_registered_and_the_read_is_logged(
    department: Department, fhir: FhirClient
) -> None:
    patient = department.patient
    found = resource(fhir.get(f"Patient/{patient.pk}"))
    assert found["resourceType"] == "Patient"
    assert found["name"][0]["family"] == "Okafor"
    assert found["name"][0]["given"] == ["Adaeze"]
    assert found["birthDate"] == "1984-02-29"
    assert identifier(found, systems.authority_system("RADFLOW")) == "MRN-5001"
    assert identifier(found, systems.authority_system("US-PASSPORT")) == "P1234567"
    assert fhir_logs(patient.pk, "fhir.patient.read") == 1


@pytest.mark.parametrize(
    "params",
    [
        {"family": "oka"},
        {"given": "ADA"},
        {"name": "adaeze"},
        {"identifier": "MRN-5001"},
        {"identifier": f"{systems.authority_system('RADFLOW')}|MRN-5001"},
        {"identifier": "US-PASSPORT|P1234567"},
        {"birthdate": "1984-02-29"},
        {"birthdate": "1984-02"},
        {"family": "okafor", "birthdate": ["ge1984-01-01", "lt1985"]},
    ],
)
def test_patient_searches_find_the_patient(
    department: Department, fhir: FhirClient, params: dict[str, object]
) -> None:
    bundle = resource(fhir.get("Patient", params))
    assert ids(bundle) == [str(department.patient.pk)]
    assert bundle["total"] == 1
    assert fhir_logs(department.patient.pk, "fhir.patient.search") == 1


def test_a_patient_search_needs_a_criterion_and_a_readable_date(
    department: Department, fhir: FhirClient
) -> None:
    assert_outcome(fhir.get("Patient"), 400, "identifier")
    assert "is not a FHIR date" in assert_outcome(
        fhir.get("Patient", {"birthdate": "29/02/1984"}), 400, "birthdate"
    )
    assert_outcome(fhir.get("Patient", {"family": "oka", "_count": "-1"}), 400, "_count")
    assert_outcome(fhir.get("Patient", {"family": "oka", "_count": "many"}), 400, "_count")
    assert not AccessLog.objects.filter(channel="fhir").exists()


def test_an_unknown_id_is_a_404_outcome(department: Department, fhir: FhirClient) -> None:
    for path in (
        "Patient/6b1c3c1e-0000-4000-8000-000000000000",
        "Patient/not-a-uuid",
        "ServiceRequest/6b1c3c1e-0000-4000-8000-000000000000",
        "Appointment/6b1c3c1e-0000-4000-8000-000000000000",
        "HealthcareService/ZZ",
        "Slot/whatever",
    ):
        assert_outcome(fhir.get(path), 404)
    # An exam that is ordered but not booked has no Appointment (nor ImagingStudy) yet.
    assert_outcome(fhir.get(f"Appointment/{department.ordered.exam.pk}"), 404)
    assert_outcome(fhir.get(f"ImagingStudy/{department.ordered.exam.pk}"), 404)


def test_searching_pages_through_with_links_and_logs_only_the_page_shown(
    department: Department, fhir: FhirClient
) -> None:
    PatientFactory.create_batch(23, family_name="Pagewood")
    first = resource(fhir.get("Patient", {"family": "pagewood", "_count": "10"}))
    assert first["total"] == 23
    assert len(entries(first)) == 10
    assert link(first, "previous") is None
    assert AccessLog.objects.filter(action="fhir.patient.search").count() == 10

    second = resource(follow(fhir, link(first, "next") or ""))
    third = resource(follow(fhir, link(second, "next") or ""))
    assert len(entries(third)) == 3
    assert link(third, "next") is None
    assert "_page=2" in (link(third, "previous") or "")
    shown = ids(first) + ids(second) + ids(third)
    assert len(set(shown)) == 23
    assert "family=pagewood" in (link(third, "self") or "")

    capped = resource(fhir.get("Patient", {"family": "pagewood", "_count": "500"}))
    assert len(entries(capped)) == 23  # served as 100 at most
    only_total = resource(fhir.get("Patient", {"family": "pagewood", "_count": "0"}))
    assert only_total["total"] == 23 and "entry" not in only_total


def test_practitioner_and_role_of_the_sonographer(department: Department, fhir: FhirClient) -> None:
    staff = department.sonographer
    found = resource(fhir.get(f"Practitioner/{staff.pk}"))
    assert found["name"][0] == {"use": "official", "family": "Lopez", "given": ["Maria"]}
    assert identifier(found, systems.EMPLOYEE_NUMBER) == "E-7001"
    assert ids(resource(fhir.get("Practitioner", {"name": "lop"}))) == [str(staff.pk)]
    assert ids(resource(fhir.get("Practitioner", {"identifier": "E-7001"}))) == [str(staff.pk)]
    roles = resource(fhir.get("PractitionerRole", {"practitioner": f"Practitioner/{staff.pk}"}))
    (role,) = entries(roles, "PractitionerRole")
    assert role["code"][0]["coding"][0]["code"] == "sonographer"
    assert role["specialty"][0]["coding"][0]["code"] == "US"
    assert role["location"][0]["reference"] == f"Location/{department.site.pk}"


def test_sites_and_rooms_are_locations(department: Department, fhir: FhirClient) -> None:
    room = resource(fhir.get(f"Location/{department.room.pk}"))
    assert room["name"] == "Ultrasound 1"
    assert room["physicalType"]["coding"][0]["code"] == "ro"
    assert room["partOf"]["reference"] == f"Location/{department.site.pk}"
    site = resource(fhir.get(f"Location/{department.site.pk}"))
    assert site["physicalType"]["coding"][0]["code"] == "si"
    assert ids(resource(fhir.get("Location", {"name": "ultra"}))) == [str(department.room.pk)]
    rooms = resource(fhir.get("Location", {"partof": f"Location/{department.site.pk}"}))
    assert ids(rooms) == [str(department.room.pk)]


def test_a_modality_is_a_healthcare_service_offering_its_exam_types(
    department: Department, fhir: FhirClient
) -> None:
    found = resource(fhir.get("HealthcareService/US"))
    offered = {t["coding"][0]["code"] for t in found["type"]}
    assert {"us-abdomen-complete", "us-thyroid"} <= offered
    assert {"reference": f"Location/{department.room.pk}", "display": "Ultrasound 1"} in found[
        "location"
    ]
    by_type = resource(fhir.get("HealthcareService", {"service-type": "us-thyroid"}))
    assert ids(by_type) == ["US"]


def test_a_device_by_modality_and_room(department: Department, fhir: FhirClient) -> None:
    device = department.device
    found = resource(fhir.get(f"Device/{device.pk}"))
    assert found["serialNumber"] == "SN-42"
    assert identifier(found, systems.AE_TITLE) == "US_RIV_1"
    assert found["location"]["reference"] == f"Location/{department.room.pk}"
    assert found["status"] == "active"
    search = {"type": "US", "location": f"Location/{department.room.pk}"}
    assert ids(resource(fhir.get("Device", search))) == [str(device.pk)]
    assert ids(resource(fhir.get("Device", {"type": "CT"}))) == []


def test_an_order_is_a_service_request(department: Department, fhir: FhirClient) -> None:
    order = department.ordered
    found = resource(fhir.get(f"ServiceRequest/{order.pk}"))
    assert found["status"] == "active"
    assert found["intent"] == "order"
    assert found["subject"]["reference"] == f"Patient/{department.patient.pk}"
    codes = {(c["system"], c["code"]) for c in found["code"]["coding"]}
    assert {(systems.EXAM_TYPE, "us-abdomen-complete"), (systems.CPT, "76700")} <= codes
    assert identifier(found, systems.ACCESSION) == order.exam.accession_number
    assert identifier(found, systems.PLACER) == "EPIC-77"
    assert {"coding": [{"system": systems.ICD10CM, "code": "R10.11"}]} in found["reasonCode"]
    assert fhir_logs(department.patient.pk, "fhir.servicerequest.read") == 1

    for params in (
        {"patient": f"Patient/{department.patient.pk}"},
        {"identifier": order.exam.accession_number},
        {"identifier": "EPIC-77"},
        {"code": "us-abdomen-complete", "status": "active"},
        {
            "authored": f"ge{timezone.localdate().isoformat()}",
            "patient": str(department.patient.pk),
        },
    ):
        assert ids(resource(fhir.get("ServiceRequest", params))) == [str(order.pk)], params
    assert ids(resource(fhir.get("ServiceRequest", {"status": "completed"}))) == []
    assert_outcome(fhir.get("ServiceRequest", {"status": "done"}), 400, "status")


def test_a_booked_exam_is_an_appointment(department: Department, fhir: FhirClient) -> None:
    exam = department.booked
    found = resource(fhir.get(f"Appointment/{exam.pk}"))
    assert found["status"] == "booked"
    assert dt.datetime.fromisoformat(found["start"]) == exam.scheduled_start
    actors = {p["actor"]["reference"] for p in found["participant"]}
    assert {
        f"Patient/{exam.order.patient_id}",
        f"Location/{department.room.pk}",
        f"Practitioner/{department.sonographer.pk}",
        f"Device/{department.device.pk}",
    } <= actors
    assert found["basedOn"] == [{"reference": f"ServiceRequest/{exam.order.pk}"}]

    start = exam.scheduled_start
    assert start is not None
    for params in (
        {"date": [f"ge{timezone.localdate(start).isoformat()}", f"le{start.isoformat()}"]},
        {"patient": f"Patient/{exam.order.patient_id}"},
        {"actor": f"Practitioner/{department.sonographer.pk}"},
        {"location": f"Location/{department.site.pk}", "status": "booked"},
        {"identifier": exam.accession_number},
    ):
        assert ids(resource(fhir.get("Appointment", params))) == [str(exam.pk)], params
    scanning = resource(fhir.get("Appointment", {"status": "fulfilled"}))
    assert ids(scanning) == [str(department.scanning.pk)]
    assert fhir_logs(exam.order.patient_id, "fhir.appointment.search") == 5


def test_a_room_is_a_schedule_with_free_and_busy_slots(
    department: Department, fhir: FhirClient
) -> None:
    from radflow.scheduling.models import RoomOpeningHours

    RoomOpeningHours.objects.bulk_create(
        RoomOpeningHours(room=department.room, weekday=d, opens=dt.time(0), closes=dt.time(23, 59))
        for d in range(7)
    )
    room = department.room
    schedule = resource(fhir.get(f"Schedule/{room.pk}"))
    assert {"reference": f"Location/{room.pk}", "display": "Ultrasound 1"} in schedule["actor"]
    assert ids(resource(fhir.get("Schedule", {"actor": f"Location/{room.pk}"}))) == [str(room.pk)]

    exam = department.booked
    assert exam.scheduled_start is not None
    window = {
        "schedule": f"Schedule/{room.pk}",
        "start": [
            f"ge{(exam.scheduled_start - dt.timedelta(hours=1)).isoformat()}",
            f"lt{(exam.scheduled_start + dt.timedelta(hours=1)).isoformat()}",
        ],
    }
    busy = entries(resource(fhir.get("Slot", {**window, "status": "busy"})), "Slot")
    assert [dt.datetime.fromisoformat(s["start"]) for s in busy] == [exam.scheduled_start]
    free = entries(resource(fhir.get("Slot", {**window, "status": "free"})), "Slot")
    assert free and all(s["status"] == "free" for s in free)
    assert (
        dt.datetime.fromisoformat(free[0]["end"]) <= exam.scheduled_start
        or dt.datetime.fromisoformat(free[0]["start"]) >= exam.scheduled_start
    )
    again = resource(fhir.get(f"Slot/{busy[0]['id']}"))
    assert again["status"] == "busy"
    assert again["schedule"]["reference"] == f"Schedule/{room.pk}"
    too_long = {"start": ["ge2031-01-01", "lt2031-03-01"]}
    assert_outcome(fhir.get("Slot", too_long), 400, "start")


def test_a_scanned_exam_is_an_imaging_study_with_the_reported_series(
    department: Department, fhir: FhirClient
) -> None:
    exam = department.scanning
    found = resource(fhir.get(f"ImagingStudy/{exam.pk}"))
    assert found["status"] == "registered"
    assert identifier(found, systems.DICOM_UID) == f"urn:oid:{exam.study_instance_uid}"
    assert found["numberOfSeries"] == 1 and found["numberOfInstances"] == 34
    (series,) = found["series"]
    assert series["uid"] == "2.25.4242.1"
    assert series["modality"]["code"] == "US"
    assert series["description"] == "Kidneys"
    patient = f"Patient/{exam.order.patient_id}"
    assert ids(resource(fhir.get("ImagingStudy", {"patient": patient}))) == [str(exam.pk)]
    by_accession = {"identifier": f"{systems.ACCESSION}|{exam.accession_number}"}
    assert ids(resource(fhir.get("ImagingStudy", by_accession))) == [str(exam.pk)]
    assert fhir_logs(exam.order.patient_id, "fhir.imagingstudy.read") == 1
