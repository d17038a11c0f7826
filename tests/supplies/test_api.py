"""/api/supplies: items, on-hand by lot, the ledger and a manual issue, with role checks."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from radflow.accounts.services import api_token_create
from radflow.supplies import selectors, services
from radflow.supplies.models import StockLocation
from tests.supplies.factories import ItemFactory, StoreFactory, lot, probe_covers, receive

pytestmark = pytest.mark.django_db


class Api:
    def __init__(self, user: User) -> None:
        _, key = api_token_create(user=user, name="tests")
        self.client = Client()
        self.headers: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {key}"}

    def get(self, url: str, **params: Any) -> Any:
        return self.client.get(url, params, **self.headers)

    def post(self, url: str, body: dict[str, Any]) -> Any:
        return self.client.post(
            url, data=json.dumps(body), content_type="application/json", **self.headers
        )


def problem(response: Any, status: int, field: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json().get("errors", [])]


@pytest.fixture
def stocked() -> tuple[Any, Any, StockLocation]:
    gel, covers, store = (
        ItemFactory.create(name="Gel bottle"),
        probe_covers(),
        StoreFactory.create(),
    )
    receive(gel, store, 12)
    receive(covers, store, 40, lot_number="C-1")
    return gel, covers, store


def test_items_carry_their_on_hand(technologist: User, stocked: Any) -> None:
    gel, _, _ = stocked
    body = Api(technologist).get("/api/supplies/items", q="Gel bottle").json()
    assert body["count"] == 1
    assert Decimal(body["items"][0]["on_hand"]) == 12
    assert body["items"][0]["vendor"] == gel.vendor.name


def test_on_hand_is_given_by_location_and_lot_with_usability(
    technologist: User, coordinator: User, stocked: Any
) -> None:
    _, covers, store = stocked
    services.lot_recall(lot=lot(covers, "C-1"), by=coordinator, reason="Notice")
    rows = Api(technologist).get("/api/supplies/on-hand", location=str(store.pk)).json()
    by_item = {row["item"]: row for row in rows}
    assert by_item[covers.name]["lot_number"] == "C-1"
    assert by_item[covers.name]["recalled"] is True and by_item[covers.name]["usable"] is False
    assert Decimal(by_item["Gel bottle"]["quantity"]) == 12


def test_the_ledger_is_for_those_who_keep_stock(
    technologist: User, director: User, stocked: Any
) -> None:
    assert Api(technologist).get("/api/supplies/movements").status_code == 403
    rows = Api(director).get("/api/supplies/movements", kind="receipt").json()
    assert rows["count"] == 2
    assert {Decimal(row["quantity"]) for row in rows["items"]} == {Decimal(12), Decimal(40)}


def test_a_sonographer_issues_against_an_exam_by_accession(
    technologist: User, admin_user: User, reference: None, stocked: Any
) -> None:
    from tests.orders.factories import make_order

    gel, _, store = stocked
    exam = make_order().exam
    response = Api(technologist).post(
        "/api/supplies/issues",
        {
            "item": str(gel.pk),
            "location": str(store.pk),
            "quantity": "1.5",
            "accession_number": exam.accession_number,
            "reason": "Second bottle opened",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "exam_use" and Decimal(body["quantity"]) == Decimal("-1.5")
    assert body["accession_number"] == exam.accession_number
    assert selectors.on_hand(gel, store) == Decimal("10.5")


def test_an_issue_from_a_recalled_lot_is_a_422_and_changes_nothing(
    technologist: User, coordinator: User, stocked: Any
) -> None:
    _, covers, store = stocked
    services.lot_recall(lot=lot(covers, "C-1"), by=coordinator, reason="Notice")
    response = Api(technologist).post(
        "/api/supplies/issues",
        {"item": str(covers.pk), "location": str(store.pk), "quantity": 1, "lot_number": "C-1"},
    )
    problem(response, 422, "lot")
    assert "recalled" in response.json()["errors"][0]["message"]
    assert selectors.on_hand(covers, store) == 40


def test_more_than_on_hand_is_a_422(technologist: User, stocked: Any) -> None:
    gel, _, store = stocked
    response = Api(technologist).post(
        "/api/supplies/issues", {"item": str(gel.pk), "location": str(store.pk), "quantity": 13}
    )
    problem(response, 422, "quantity")


@pytest.mark.parametrize("role", ["director", "biomed", "scheduler"])
def test_readers_and_others_may_not_issue(
    role: str, request: pytest.FixtureRequest, stocked: Any
) -> None:
    user: User = request.getfixturevalue(role)
    gel, _, store = stocked
    response = Api(user).post(
        "/api/supplies/issues", {"item": str(gel.pk), "location": str(store.pk), "quantity": 1}
    )
    assert response.status_code == 403
    assert selectors.on_hand(gel, store) == 12
