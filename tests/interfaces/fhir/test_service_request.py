"""A FHIR order is an HL7 order is a page order: ServiceRequest create and update go through
``orders.services`` (create opens the exam), and bad input changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from radflow.audit.models import AccessLog
from radflow.core.exam_states import ExamState
from radflow.core.fhir import systems
from radflow.exams.models import Exam
from radflow.orders.models import Order, OrderSource
from tests.exams.factories import advance, next_slot
from tests.interfaces.fhir.conftest import Department
from tests.interfaces.fhir.helpers import FhirClient, assert_outcome, identifier, resource

pytestmark = pytest.mark.django_db


@pytest.fixture
def fhir(scheduler: User) -> FhirClient:
    return FhirClient(scheduler)


def referral(department: Department, **changes: Any) -> dict[str, Any]:
    """A ServiceRequest as an EHR sends it: CPT code, ICD-10-CM reason, NPI requester."""
    body: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "priority": "urgent",
        "identifier": [{"system": systems.PLACER, "value": "EPIC-9001"}],
        "code": {"coding": [{"system": systems.CPT, "code": "76536"}]},
        "subject": {"reference": f"Patient/{department.patient.pk}"},
        "requester": {
            "display": "Dr. Amelia Hart",
            "identifier": {"system": systems.NPI, "value": "1234567893"},
        },
        "reasonCode": [
            {"coding": [{"system": systems.ICD10CM, "code": "E04.1"}]},
            {"text": "Palpable thyroid nodule, left lobe."},
        ],
        "occurrenceDateTime": "2031-06-10",
        "locationReference": [{"reference": f"Location/{department.site.pk}"}],
        "note": [{"text": "Prior US at outside hospital 2029."}],
    }
    body.update(changes)
    return body


def test_creating_a_service_request_places_the_order_and_opens_its_exam(
    department: Department, fhir: FhirClient
) -> None:
    response = fhir.post("ServiceRequest", referral(department))
    created = resource(response, 201)
    order = Order.objects.get(pk=created["id"])
    assert response["Location"].endswith(f"/fhir/R4/ServiceRequest/{order.pk}")
    assert order.source == OrderSource.FHIR
    assert order.exam_type.code == "us-thyroid"  # the exam type billed as CPT 76536
    assert order.priority == "urgent"
    assert order.placer_order_number == "EPIC-9001"
    assert (order.ordering_provider, order.ordering_provider_npi) == (
        "Dr. Amelia Hart",
        "1234567893",
    )
    assert order.clinical_indication == "Palpable thyroid nodule, left lobe."
    assert [d.code for d in order.diagnoses.all()] == ["E04.1"]
    assert order.site == department.site
    assert str(order.requested_date) == "2031-06-10"
    assert order.received_by is not None and order.received_by.username == "scheduler"
    exam = Exam.objects.get(order=order)
    assert exam.state == ExamState.REQUESTED
    assert identifier(created, systems.ACCESSION) == exam.accession_number
    assert created["status"] == "active"
    assert AccessLog.objects.filter(
        patient_id=department.patient.pk, action="fhir.servicerequest.create"
    ).exists()


def test_an_invalid_service_request_is_a_400_naming_the_element(
    department: Department, fhir: FhirClient
) -> None:
    before = Order.objects.count()
    no_subject = referral(department)
    del no_subject["subject"]
    assert_outcome(fhir.post("ServiceRequest", no_subject), 400, "subject")
    bad_date = fhir.post("ServiceRequest", referral(department, authoredOn="last Tuesday"))
    assert_outcome(bad_date, 400, "authoredOn")
    not_json = fhir.client.generic(
        "POST",
        "/fhir/R4/ServiceRequest",
        b"{not json",
        content_type="application/fhir+json",
        headers=fhir.headers,
    )
    assert_outcome(not_json, 400)
    wrong_type = fhir.post("ServiceRequest", {"resourceType": "Patient", "id": "x"})
    assert_outcome(wrong_type, 400, "resourceType")
    assert Order.objects.count() == before


def test_an_order_radflow_cannot_fill_is_a_422(department: Department, fhir: FhirClient) -> None:
    unknown_code = referral(department, code={"coding": [{"system": systems.CPT, "code": "99999"}]})
    assert "No exam type matches" in assert_outcome(
        fhir.post("ServiceRequest", unknown_code), 422, "code"
    )
    unknown_patient = referral(
        department, subject={"reference": "Patient/0e7c5a52-0000-4000-8000-000000000000"}
    )
    assert_outcome(fhir.post("ServiceRequest", unknown_patient), 422, "subject")
    bad_icd = referral(
        department, reasonCode=[{"coding": [{"system": systems.ICD10CM, "code": "123"}]}]
    )
    assert_outcome(fhir.post("ServiceRequest", bad_icd), 422, "diagnosis_codes")
    draft = referral(department, status="draft")
    assert "keeps no drafts" in assert_outcome(fhir.post("ServiceRequest", draft), 422, "status")
    assert not Order.objects.filter(source=OrderSource.FHIR).exists()


def test_updating_a_service_request_changes_the_order_through_the_service(
    department: Department, fhir: FhirClient
) -> None:
    order = department.ordered
    current = resource(fhir.get(f"ServiceRequest/{order.pk}"))
    current["priority"] = "stat"
    current["code"] = {"coding": [{"system": systems.EXAM_TYPE, "code": "us-abdomen-ruq"}]}
    current["note"] = [{"text": "Please add the gallbladder views."}]
    updated = resource(fhir.put(f"ServiceRequest/{order.pk}", current))
    order.refresh_from_db()
    assert (order.priority, order.exam_type.code) == ("stat", "us-abdomen-ruq")
    assert order.notes == "Please add the gallbladder views."
    assert order.placer_order_number == "EPIC-77"  # round-tripped unchanged
    assert [d.code for d in order.diagnoses.all()] == ["R10.11"]
    assert updated["priority"] == "stat"
    assert order.history.first().history_user.username == "scheduler"


def test_an_update_may_not_move_the_order_or_set_its_status(
    department: Department, fhir: FhirClient, admin_user: User
) -> None:
    order = department.ordered
    current = resource(fhir.get(f"ServiceRequest/{order.pk}"))
    elsewhere = {
        **current,
        "subject": {"reference": f"Patient/{department.booked.order.patient_id}"},
    }
    assert_outcome(fhir.put(f"ServiceRequest/{order.pk}", elsewhere), 422, "subject")
    done = {**current, "status": "completed"}
    assert_outcome(fhir.put(f"ServiceRequest/{order.pk}", done), 422, "status")
    other_id = {**current, "id": str(department.booked.order.pk)}
    assert_outcome(fhir.put(f"ServiceRequest/{order.pk}", other_id), 400, "id")
    # Once the patient has arrived the referral is what was done: the service refuses.
    advance(
        order.exam, ExamState.ARRIVED, by=admin_user, room=department.room, start=next_slot(hours=9)
    )
    assert "cannot be changed" in assert_outcome(
        fhir.put(f"ServiceRequest/{order.pk}", current), 409
    )
