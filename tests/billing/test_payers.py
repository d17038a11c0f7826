from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse

from radflow.billing.models import Payer, PayerType
from radflow.billing.services import payer_create
from radflow.core.errors import ValidationFailed
from radflow.core.roles import Role
from tests.billing.factories import PayerFactory
from tests.conftest import client_for
from tests.scheduling.helpers import ApiClient, assert_problem

pytestmark = pytest.mark.django_db

MEDICARE: dict[str, Any] = {
    "name": "Medicare",
    "plan": "Part B",
    "payer_type": "medicare",
    "payer_code": "mcr-b",
    "phone": "(800) 633-4227",
}


def test_payer_create_normalises_the_code() -> None:
    payer = payer_create(**MEDICARE)
    assert payer.payer_code == "MCR-B"
    assert payer.payer_type == PayerType.MEDICARE


def test_payer_create_refuses_a_code_in_use_and_a_duplicate_plan() -> None:
    payer_create(**MEDICARE)
    with pytest.raises(ValidationFailed) as caught:
        payer_create(**MEDICARE)
    assert set(caught.value.errors) == {"payer_code", "plan"}
    assert Payer.objects.count() == 1


def test_payer_create_refuses_an_unknown_type() -> None:
    with pytest.raises(ValidationFailed) as caught:
        payer_create(**{**MEDICARE, "payer_type": "barter"})
    assert "payer_type" in caught.value.errors


def test_a_scheduler_sees_the_payer_list_and_searches_it(scheduler) -> None:
    PayerFactory.create(name="Aetna", plan="Choice POS II", payer_code="AET01")
    PayerFactory.create(name="Cigna", plan="Open Access Plus", payer_code="CIG07")
    client = client_for(scheduler)
    response = client.get(reverse("billing:payers"))
    assert response.status_code == 200
    assert "Choice POS II" in response.content.decode()
    found = client.get(reverse("billing:payers"), {"q": "cig07"})
    assert [payer.name for payer in found.context["page"].object_list] == ["Cigna"]


def test_biomed_cannot_see_payers(biomed) -> None:
    assert client_for(biomed).get(reverse("billing:payers")).status_code == 403


def test_billing_creates_a_payer_through_the_api(user_for_role) -> None:
    client = ApiClient(user_for_role(Role.BILLING))
    response = client.post("/api/billing/payers", MEDICARE)
    assert response.status_code == 201, response.content
    assert json.loads(response.content)["payer_code"] == "MCR-B"
    listed = json.loads(client.get("/api/billing/payers", {"payer_type": "medicare"}).content)
    assert [payer["name"] for payer in listed["items"]] == ["Medicare"]


def test_a_coordinator_reads_payers_but_may_not_create_them(coordinator) -> None:
    PayerFactory.create()
    client = ApiClient(coordinator)
    assert json.loads(client.get("/api/billing/payers").content)["count"] == 1
    assert_problem(client.post("/api/billing/payers", MEDICARE), 403)
    assert Payer.objects.count() == 1


def test_a_payer_without_a_type_is_a_422_naming_it(user_for_role) -> None:
    client = ApiClient(user_for_role(Role.BILLING))
    response = client.post("/api/billing/payers", {"name": "Humana", "payer_code": "HUM1"})
    assert_problem(response, 422, "payer_type")


def test_a_duplicate_payer_code_is_a_422_naming_it(user_for_role) -> None:
    PayerFactory.create(payer_code="MCR-B")
    response = ApiClient(user_for_role(Role.BILLING)).post("/api/billing/payers", MEDICARE)
    assert_problem(response, 422, "payer_code")


def test_payers_need_a_token(db) -> None:
    assert_problem(ApiClient(None).get("/api/billing/payers"), 401)
