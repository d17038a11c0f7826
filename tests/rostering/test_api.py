"""``/api/rosters``: the same services as the pages, answered as JSON or problem+json."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User

from radflow.rostering.models import Roster, RosterStatus, SwapRequest
from tests.conftest import client_for
from tests.rostering.factories import MONDAY, department, roster
from tests.rostering.test_views import _night_then_day, linked

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _today() -> Any:
    with time_machine.travel(MONDAY - timedelta(days=3), tick=True):
        yield


def post(client: Any, url: str, payload: dict[str, Any]) -> Any:
    return client.post(url, json.dumps(payload), content_type="application/json")


def test_a_roster_not_starting_on_a_monday_is_a_problem_naming_the_field(
    coordinator: User,
) -> None:
    response = post(
        client_for(coordinator),
        "/api/rosters/",
        {"start": (MONDAY + timedelta(days=2)).isoformat(), "weeks": 4},
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "start"
    assert not Roster.objects.exists()


def test_the_coordinator_generates_reads_progress_and_publishes(
    coordinator: User, django_capture_on_commit_callbacks: Any
) -> None:
    dept = department(people=6)
    target = roster(weeks=1)
    client = client_for(coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        started = post(client, f"/api/rosters/{target.pk}/runs", {"seconds": 5})
    assert started.status_code == 202
    run = client.get(f"/api/rosters/runs/{started.json()['id']}").json()
    assert run["status"] == "finished"
    assert all(row["assigned"] >= row["minimum"] for row in run["coverage"])
    published = post(client, f"/api/rosters/{target.pk}/publish", {})
    assert published.json()["status"] == RosterStatus.PUBLISHED
    rows = client.get(f"/api/rosters/{target.pk}/assignments").json()
    assert {row["shift"] for row in rows} <= {dept.day.code, dept.night.code}
    assert len(client.get("/api/rosters/").json()) == 1


def test_my_shifts_lists_the_callers_published_shifts() -> None:
    dept = department(people=2)
    _target, ana, _ben, _tuesday = _night_then_day(dept)
    shifts = linked(ana).get(f"/api/rosters/mine/shifts?start={MONDAY.isoformat()}").json()
    assert [(s["date"], s["shift"], s["kind"]) for s in shifts] == [
        (MONDAY.isoformat(), "US-N", "night")
    ]


def test_a_swap_breaking_a_rule_is_refused_with_its_code_and_nothing_saved() -> None:
    dept = department(people=2)
    target, ana, ben, tuesday = _night_then_day(dept)
    response = post(
        linked(ben),
        "/api/rosters/swaps",
        {"roster_id": str(target.pk), "partner_id": str(ana.pk), "give_date": tuesday.isoformat()},
    )
    assert response.status_code == 409
    assert response.json()["code"] == "swap_breaks_rule"
    assert "minimum rest between shifts" in response.json()["detail"]
    assert not SwapRequest.objects.exists()


def test_a_swap_with_oneself_is_refused() -> None:
    dept = department(people=2)
    target, _ana, ben, tuesday = _night_then_day(dept)
    response = post(
        linked(ben),
        "/api/rosters/swaps",
        {"roster_id": str(target.pk), "partner_id": str(ben.pk), "give_date": tuesday.isoformat()},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "partner_id"


def test_an_allowed_swap_is_approved_by_the_coordinator(coordinator: User) -> None:
    dept = department(people=3)
    ben, cai = dept.people[1], dept.people[2]
    wednesday, thursday = MONDAY + timedelta(days=2), MONDAY + timedelta(days=3)
    from tests.rostering.test_views import published

    target = published([(ben, wednesday, dept.day), (cai, thursday, dept.day)])
    created = post(
        linked(ben),
        "/api/rosters/swaps",
        {
            "roster_id": str(target.pk),
            "partner_id": str(cai.pk),
            "give_date": wednesday.isoformat(),
            "take_date": thursday.isoformat(),
        },
    )
    assert created.status_code == 201, created.json()
    approved = post(
        client_for(coordinator), f"/api/rosters/swaps/{created.json()['id']}/approve", {}
    )
    assert approved.json()["status"] == "approved"
