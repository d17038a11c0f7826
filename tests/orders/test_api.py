"""``/api/orders`` as an interface engine or a script uses it: bearer token, JSON in and out."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from radflow.accounts.services import api_token_create
from radflow.audit.models import AccessLog
from radflow.orders.models import Order, OutreachEntry
from tests.billing.factories import PayerFactory
from tests.orders.factories import make_order
from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.usefixtures("reference")


def api_client(user: User) -> tuple[Client, dict[str, Any]]:
    _, key = api_token_create(user=user, name="tests")
    return Client(), {"HTTP_AUTHORIZATION": f"Bearer {key}", "REMOTE_ADDR": "192.0.2.20"}


def post(user: User, url: str, body: Any) -> Any:
    client, headers = api_client(user)
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


def get(user: User, url: str) -> Any:
    client, headers = api_client(user)
    return client.get(url, **headers)


def new_referral(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "patient_id": str(PatientFactory.create().pk),
        "exam_type": "us-abdomen-complete",
        "priority": "ASAP",
        "ordering_provider": "Dr. Amelia Hart",
        "clinical_indication": "RUQ pain.",
        "signed_order": True,
        "diagnosis_codes": ["r10.11", "K80.20"],
    }
    body.update(overrides)
    return body


def problem_fields(response: Any) -> dict[str, str]:
    assert response["Content-Type"] == "application/problem+json"
    return {e["field"]: e["message"] for e in response.json().get("errors", [])}


@pytest.mark.django_db
def test_creating_an_order_answers_201_with_the_order_and_its_accession(
    coordinator: User,
) -> None:
    payer = PayerFactory.create()
    response = post(coordinator, "/api/orders/", new_referral(payer_id=str(payer.pk)))
    assert response.status_code == 201
    body = response.json()
    order = Order.objects.get()
    assert body["id"] == str(order.pk)
    assert body["accession_number"] == order.exam.accession_number
    assert body["state"] == "requested"
    assert body["priority"] == "urgent"  # ASAP maps to urgent
    assert body["diagnosis_codes"] == ["R10.11", "K80.20"]
    assert body["is_complete"] is True and body["missing"] == []
    assert body["payer_id"] == str(payer.pk)
    assert body["sla_state"] == "on_track"
    assert AccessLog.objects.get().action == "order.create"


@pytest.mark.django_db
def test_an_incomplete_order_reports_what_is_missing(coordinator: User) -> None:
    response = post(
        coordinator, "/api/orders/", new_referral(clinical_indication="", diagnosis_codes=[])
    )
    assert response.status_code == 201
    body = response.json()
    assert body["is_complete"] is False
    assert body["missing"] == ["clinical_indication", "diagnosis_code"]
    assert body["missing_labels"] == ["Clinical indication", "ICD-10-CM diagnosis code"]


@pytest.mark.django_db
def test_a_malformed_icd10_code_is_a_422_problem_and_nothing_is_created(
    coordinator: User,
) -> None:
    response = post(
        coordinator, "/api/orders/", new_referral(diagnosis_codes=["R10.11", "R1O.11X9Z"])
    )
    assert response.status_code == 422
    assert "is not an ICD-10-CM code" in problem_fields(response)["diagnosis_codes"]
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_an_unknown_exam_type_is_a_422_problem_and_nothing_is_created(
    coordinator: User,
) -> None:
    response = post(coordinator, "/api/orders/", new_referral(exam_type="us-teleportation"))
    assert response.status_code == 422
    assert problem_fields(response)["exam_type"] == "Unknown exam type “us-teleportation”."
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_an_unknown_patient_or_payer_is_a_422_problem(coordinator: User) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    response = post(coordinator, "/api/orders/", new_referral(patient_id=missing))
    assert response.status_code == 422
    assert problem_fields(response) == {"patient_id": "No patient has this id."}
    response = post(coordinator, "/api/orders/", new_referral(payer_id=missing))
    assert problem_fields(response) == {"payer_id": "No payer has this id."}
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_a_role_without_the_right_cannot_create_orders(technologist: User) -> None:
    response = post(technologist, "/api/orders/", new_referral())
    assert response.status_code == 403
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_reading_an_order_returns_it_and_logs_an_api_read(technologist: User) -> None:
    order = make_order()
    response = get(technologist, f"/api/orders/{order.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["patient"]["mrn"] == order.patient.mrn
    assert body["exam_type"]["code"] == "us-abdomen-complete"
    row = AccessLog.objects.get()
    assert (row.patient_id, row.action, row.channel) == (order.patient_id, "order.detail", "api")


@pytest.mark.django_db
def test_an_unknown_order_is_a_404_problem(technologist: User) -> None:
    response = get(technologist, "/api/orders/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.django_db
def test_the_list_filters_pages_and_logs_each_patient_returned(director: User) -> None:
    stat = make_order(priority="stat")
    make_order(priority="routine")
    incomplete = make_order(complete=False)
    body = get(director, "/api/orders/?priority=stat").json()
    assert body["count"] == 1 and body["items"][0]["id"] == str(stat.pk)
    body = get(director, "/api/orders/?complete=false").json()
    assert [item["id"] for item in body["items"]] == [str(incomplete.pk)]
    body = get(director, "/api/orders/?state=requested&limit=2").json()
    assert body["count"] == 3 and len(body["items"]) == 2
    assert AccessLog.objects.filter(action="order.list").count() == 1 + 1 + 2
    assert get(director, "/api/orders/?state=teleported").status_code == 422


@pytest.mark.django_db
def test_outreach_is_logged_through_the_api(scheduler: User) -> None:
    order = make_order(complete=False)
    response = post(
        scheduler, f"/api/orders/{order.pk}/outreach", {"action": "faxed", "note": "Sent form"}
    )
    assert response.status_code == 201
    assert response.json()["action"] == "faxed"
    assert response.json()["by"] == "scheduler"
    entry = OutreachEntry.objects.get()
    assert (entry.order, entry.note) == (order, "Sent form")


@pytest.mark.django_db
def test_an_unknown_outreach_action_changes_nothing(scheduler: User) -> None:
    order = make_order(complete=False)
    response = post(scheduler, f"/api/orders/{order.pk}/outreach", {"action": "telepathy"})
    assert response.status_code == 422
    assert not OutreachEntry.objects.exists()
