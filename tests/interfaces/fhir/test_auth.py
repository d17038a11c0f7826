"""Who may read what over FHIR: the same tokens, roles and access log as the JSON API and the
pages; the CapabilityStatement is open to anyone."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from radflow.audit.models import AccessLog
from radflow.core.fhir.capability import RESOURCES
from radflow.core.roles import Role
from tests.conftest import client_for, make_user
from tests.interfaces.fhir.conftest import Department
from tests.interfaces.fhir.helpers import FhirClient, assert_outcome, entries, resource

pytestmark = pytest.mark.django_db


def test_the_capability_statement_is_open_and_lists_what_is_served(db: None) -> None:
    statement = resource(FhirClient(None).get("metadata"))
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.0.1"
    (rest,) = statement["rest"]
    served = {r["type"]: r for r in rest["resource"]}
    assert set(served) == {r.type for r in RESOURCES}
    assert {i["code"] for i in served["ServiceRequest"]["interaction"]} == {
        "read",
        "search-type",
        "create",
        "update",
    }
    assert [o["name"] for o in served["Appointment"]["operation"]] == ["find", "hold", "book"]


def test_without_a_token_every_resource_is_401_with_an_outcome(department: Department) -> None:
    anonymous = FhirClient(None)
    for path in ("Patient", f"Patient/{department.patient.pk}", "Location", "Slot"):
        response = anonymous.get(path)
        assert_outcome(response, 401)
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_or_made_up_token_is_401(department: Department) -> None:
    client = FhirClient(None)
    client.headers["Authorization"] = "Bearer not-a-token"
    assert_outcome(client.get("Location"), 401)


def test_biomed_may_read_rooms_and_devices_but_no_patient_record(
    department: Department, biomed: User
) -> None:
    fhir = FhirClient(biomed)
    assert entries(resource(fhir.get("Device")), "Device")
    assert entries(resource(fhir.get("Location")), "Location")
    for path in (
        f"Patient/{department.patient.pk}",
        "Patient?family=oka",
        f"ServiceRequest/{department.ordered.pk}",
        f"Appointment/{department.booked.pk}",
        f"ImagingStudy/{department.scanning.pk}",
        "Practitioner",
    ):
        route, _, query = path.partition("?")
        params = dict([query.split("=")]) if query else {}
        assert "Your role does not allow" in assert_outcome(fhir.get(route, params), 403)
    assert not AccessLog.objects.exists()


def test_a_technologist_reads_orders_but_may_not_place_one(
    department: Department, technologist: User
) -> None:
    fhir = FhirClient(technologist)
    resource(fhir.get(f"ServiceRequest/{department.ordered.pk}"))
    assert_outcome(fhir.post("ServiceRequest", {"resourceType": "ServiceRequest"}), 403)
    assert_outcome(fhir.get("Practitioner"), 403)  # the staff directory is not theirs


def test_a_logged_in_browser_reads_with_its_session(
    department: Department, coordinator: User
) -> None:
    response = client_for(coordinator).get(f"/fhir/R4/Patient/{department.patient.pk}")
    assert resource(response)["id"] == str(department.patient.pk)
    entry = AccessLog.objects.get(patient_id=department.patient.pk)
    assert (entry.channel, entry.action, entry.username) == (
        "fhir",
        "fhir.patient.read",
        "coordinator",
    )


def test_the_fhir_openapi_description_needs_a_login(db: None) -> None:
    from django.test import Client

    assert Client().get("/fhir/R4/openapi.json").status_code == 302
    schema = client_for(make_user(Role.DIRECTOR)).get("/fhir/R4/openapi.json").json()
    assert schema["info"]["title"] == "RadFlow FHIR R4"
    assert "/fhir/R4/Appointment/$find" in schema["paths"]
