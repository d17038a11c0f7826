from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from radflow.accounts.services import api_token_create
from radflow.patients.models import Patient
from tests.audit.helpers import access_rows, assert_one_access
from tests.patients.factories import AllergyFactory, PatientFactory


def api_client(user: User) -> tuple[Client, dict[str, Any]]:
    _, key = api_token_create(user=user, name="tests")
    return Client(), {"HTTP_AUTHORIZATION": f"Bearer {key}", "REMOTE_ADDR": "192.0.2.10"}


def send(client: Client, method: str, url: str, headers: dict[str, Any], body: Any) -> Any:
    return client.generic(
        method, url, data=json.dumps(body), content_type="application/json", **headers
    )


@pytest.mark.django_db
def test_reading_a_patient_returns_the_record_and_logs_an_api_read(technologist: User) -> None:
    patient = PatientFactory.create()
    AllergyFactory.create(patient=patient)
    client, headers = api_client(technologist)
    response = client.get(f"/api/patients/{patient.pk}", **headers)
    assert response.status_code == 200
    body = response.json()
    assert body["mrn"] == patient.mrn
    assert body["allergies"][0]["category"] == "contrast"
    assert_one_access(
        user_id=technologist.pk,
        patient_id=patient.pk,
        action="patient.detail",
        channel="api",
        ip_address="192.0.2.10",
    )


@pytest.mark.django_db
def test_an_unknown_patient_is_a_404_problem(technologist: User) -> None:
    client, headers = api_client(technologist)
    response = client.get("/api/patients/00000000-0000-0000-0000-000000000000", **headers)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert access_rows() == []


@pytest.mark.django_db
def test_searching_logs_each_patient_returned(scheduler: User) -> None:
    first = PatientFactory.create(family_name="Varga")
    second = PatientFactory.create(family_name="Varga")
    PatientFactory.create(family_name="Other")
    client, headers = api_client(scheduler)
    response = client.get("/api/patients/", {"q": "varga", "limit": "1"}, **headers)
    body = response.json()
    assert body["count"] == 2 and len(body["items"]) == 1
    rows = access_rows()
    assert [(r.action, r.channel) for r in rows] == [("patient.search", "api")]
    assert rows[0].patient_id in {first.pk, second.pk}


@pytest.mark.django_db
def test_searching_by_mrn_and_birth_date(scheduler: User) -> None:
    patient = PatientFactory.create(mrn="Q7")
    client, headers = api_client(scheduler)
    response = client.get(
        "/api/patients/",
        {"mrn": "Q7", "birth_date": patient.birth_date.isoformat()},
        **headers,
    )
    assert [item["id"] for item in response.json()["items"]] == [str(patient.pk)]


@pytest.mark.django_db
def test_a_search_without_criteria_is_refused(scheduler: User) -> None:
    client, headers = api_client(scheduler)
    response = client.get("/api/patients/", **headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "q"


NEW = {
    "mrn": "API-1",
    "family_name": "Tanaka",
    "given_name": "Yui",
    "birth_date": "2001-04-05",
    "sex": "F",
    "language": "ja",
}


@pytest.mark.django_db
def test_creating_a_patient_answers_201_and_records_the_creator(scheduler: User) -> None:
    client, headers = api_client(scheduler)
    response = send(client, "POST", "/api/patients/", headers, NEW)
    assert response.status_code == 201
    patient = Patient.objects.get(pk=response.json()["id"])
    assert patient.history.get().history_user == scheduler
    assert_one_access(action="patient.create", channel="api", patient_id=patient.pk)


@pytest.mark.django_db
def test_a_duplicate_mrn_is_a_problem_naming_mrn(scheduler: User) -> None:
    PatientFactory.create(mrn="API-1")
    client, headers = api_client(scheduler)
    response = send(client, "POST", "/api/patients/", headers, NEW)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["mrn"]
    assert Patient.objects.count() == 1


@pytest.mark.django_db
def test_a_bad_language_and_a_future_birth_date_are_both_named(scheduler: User) -> None:
    client, headers = api_client(scheduler)
    body = {**NEW, "language": "jp", "birth_date": "2999-01-01"}
    response = send(client, "POST", "/api/patients/", headers, body)
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"language", "birth_date"}
    assert not Patient.objects.exists()


@pytest.mark.django_db
def test_patching_changes_only_the_fields_sent(scheduler: User) -> None:
    patient = PatientFactory.create(given_name="Ana", phone="1")
    client, headers = api_client(scheduler)
    response = send(client, "PATCH", f"/api/patients/{patient.pk}", headers, {"phone": "2"})
    assert response.status_code == 200
    assert response.json()["phone"] == "2"
    patient.refresh_from_db()
    assert (patient.given_name, patient.phone) == ("Ana", "2")
    assert patient.history.first().history_user == scheduler
    assert_one_access(action="patient.update", channel="api")


@pytest.mark.django_db
def test_a_refused_patch_changes_nothing_and_logs_nothing(scheduler: User) -> None:
    patient = PatientFactory.create(language="en")
    client, headers = api_client(scheduler)
    response = send(client, "PATCH", f"/api/patients/{patient.pk}", headers, {"language": "zz"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "language"
    patient.refresh_from_db()
    assert patient.language == "en"
    assert access_rows() == []


@pytest.mark.django_db
def test_biomed_gets_403_and_nothing_is_logged(biomed: User) -> None:
    patient = PatientFactory.create()
    client, headers = api_client(biomed)
    assert client.get(f"/api/patients/{patient.pk}", **headers).status_code == 403
    assert send(client, "POST", "/api/patients/", headers, NEW).status_code == 403
    assert access_rows() == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("raw_mrn", "said"),
    [('"API\\u00001"', "NUL character"), ('"API\\ud8001"', "unpaired surrogate")],
)
def test_text_no_database_can_store_is_a_400_problem_and_creates_nothing(
    scheduler: User, raw_mrn: str, said: str
) -> None:
    client, headers = api_client(scheduler)
    body = json.dumps({**NEW, "mrn": "PLACEHOLDER"}).replace('"PLACEHOLDER"', raw_mrn)
    response = client.generic(
        "POST", "/api/patients/", data=body, content_type="application/json", **headers
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "mrn" in response.json()["detail"] and said in response.json()["detail"]
    assert not Patient.objects.exists()
