from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client

from radflow.accounts.services import api_token_create
from radflow.audit.models import AccessChannel
from radflow.audit.services import AccessSource, access_record
from tests.patients.factories import PatientFactory


def bearer(user: User) -> dict[str, Any]:
    return {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(user=user, name='t')[1]}"}


@pytest.mark.django_db
def test_an_auditor_queries_the_log_by_patient_user_and_dates(
    auditor: User, coordinator: User, scheduler: User
) -> None:
    ada, alan = PatientFactory.create(mrn="L-1"), PatientFactory.create(mrn="T-1")
    source = AccessSource(AccessChannel.WEB, "10.0.0.9")
    with time_machine.travel(dt.datetime(2026, 3, 1, 15, tzinfo=dt.UTC), tick=False):
        access_record(user=coordinator, patients=[ada], action="patient.detail", source=source)
    with time_machine.travel(dt.datetime(2026, 3, 9, 15, tzinfo=dt.UTC), tick=False):
        access_record(user=scheduler, patients=[alan], action="patient.detail", source=source)
    client, headers = Client(), bearer(auditor)

    def seqs(**params: Any) -> list[int]:
        response = client.get("/api/audit/access", params, **headers)
        assert response.status_code == 200
        return [item["seq"] for item in response.json()["items"]]

    assert seqs() == [2, 1]
    assert seqs(patient="L-1") == [1]
    assert seqs(patient=str(alan.pk)) == [2]
    assert seqs(user="SCHEDULER") == [2]
    assert seqs(since="2026-03-05") == [2]
    assert seqs(until="2026-03-01") == [1]
    item = client.get("/api/audit/access", {"patient": "L-1"}, **headers).json()["items"][0]
    assert (item["username"], item["ip_address"], item["channel"]) == (
        "coordinator",
        "10.0.0.9",
        "web",
    )


@pytest.mark.django_db
def test_a_coordinator_may_not_query_the_log(coordinator: User) -> None:
    response = Client().get("/api/audit/access", **bearer(coordinator))
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
