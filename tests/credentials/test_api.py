"""/api/credentials: list, get and the eligibility question."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.credentials.factories import make_credential, make_signoff, sonographer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("credential_reference")]


def api(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_eligibility_answers_yes_or_names_what_is_missing(scheduler: User) -> None:
    staff = sonographer()
    make_credential(staff, "ardms-rdms-ab", expires_on=dt.date(2026, 11, 24))
    make_signoff(staff, "us-abdominal", on=dt.date(2026, 6, 1))
    url = "/api/credentials/eligibility"
    query = {"staff": str(staff.pk), "exam_type": "us-abdomen-complete"}

    yes = api(scheduler).get(url, {**query, "on": "2026-11-24"}).json()
    assert yes == {
        "staff_id": str(staff.pk),
        "exam_type": "us-abdomen-complete",
        "on": "2026-11-24",
        "ok": True,
        "reasons": [],
    }
    no = api(scheduler).get(url, {**query, "on": "2026-11-25"}).json()
    assert no["ok"] is False
    assert no["reasons"] == ["ARDMS RDMS (AB) expired on 2026-11-24"]


def test_an_unknown_exam_type_is_a_404_problem(scheduler: User) -> None:
    response = api(scheduler).get(
        "/api/credentials/eligibility", {"staff": str(sonographer().pk), "exam_type": "nope"}
    )
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == [{"field": "exam_type", "message": "No exam type nope."}]


def test_credentials_are_listed_and_read_by_the_coordinator(coordinator: User) -> None:
    staff = sonographer()
    credential = make_credential(staff, "arrt-s", number="123456789")
    make_credential(sonographer(), "bls")
    body = api(coordinator).get("/api/credentials/", {"staff": str(staff.pk)}).json()
    assert [row["credential_type"] for row in body["items"]] == ["arrt-s"]
    one = api(coordinator).get(f"/api/credentials/{credential.pk}").json()
    assert (one["credential_type_name"], one["number"], one["expires_on"]) == (
        "ARRT (S)",
        "123456789",
        "2030-06-30",
    )
    assert one["verified_at"] is not None
