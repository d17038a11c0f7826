from __future__ import annotations

import csv
import datetime as dt
import io
from typing import cast

import pytest
import time_machine
from django.contrib.auth.models import User
from django.http import StreamingHttpResponse
from django.urls import reverse

from radflow.audit.models import AccessChannel, AccessLog
from radflow.audit.services import AccessSource, access_record
from radflow.patients.models import Patient
from tests.conftest import client_for
from tests.patients.factories import PatientFactory

Seeded = dict[str, Patient]


def export_text(response: object) -> str:
    return cast(StreamingHttpResponse, response).getvalue().decode()


def log(user: User, patient: Patient, channel: AccessChannel = AccessChannel.WEB) -> None:
    access_record(
        user=user, patients=[patient], action="patient.detail", source=AccessSource(channel)
    )


@pytest.fixture
def history(coordinator: User, scheduler: User) -> dict[str, Patient]:
    ada = PatientFactory.create(family_name="Lovelace", given_name="Ada", mrn="L-1")
    alan = PatientFactory.create(family_name="Turing", given_name="Alan", mrn="T-1")
    with time_machine.travel(dt.datetime(2026, 3, 1, 15, tzinfo=dt.UTC), tick=False):
        log(coordinator, ada)
    with time_machine.travel(dt.datetime(2026, 3, 10, 15, tzinfo=dt.UTC), tick=False):
        log(scheduler, alan, AccessChannel.API)
        log(coordinator, alan)
    return {"ada": ada, "alan": alan}


def rows_on_page(viewer: User, **params: str) -> list[str]:
    response = client_for(viewer).get(reverse("audit:access_log"), params)
    assert response.status_code == 200
    page = response.content.decode()
    return [seq for seq in ("#1", "#2", "#3") if f"<td>{seq[1:]}</td>" in page]


@pytest.mark.django_db
def test_an_auditor_filters_by_patient_mrn_or_name(auditor: User, history: Seeded) -> None:
    assert rows_on_page(auditor, patient="L-1") == ["#1"]
    assert rows_on_page(auditor, patient="turing, al") == ["#2", "#3"]


@pytest.mark.django_db
def test_an_auditor_filters_by_user_channel_and_dates(auditor: User, history: Seeded) -> None:
    assert rows_on_page(auditor, user="scheduler") == ["#2"]
    assert rows_on_page(auditor, channel="web") == ["#1", "#3"]
    assert rows_on_page(auditor, since="2026-03-05") == ["#2", "#3"]
    assert rows_on_page(auditor, until="2026-03-01") == ["#1"]


@pytest.mark.django_db
def test_a_reversed_date_range_is_explained(auditor: User, history: Seeded) -> None:
    page = client_for(auditor).get(
        reverse("audit:access_log"), {"since": "2026-03-10", "until": "2026-03-01"}
    )
    assert "The end date is before the start date." in page.content.decode()


@pytest.mark.django_db
def test_the_access_log_shows_no_names(auditor: User, history: Seeded) -> None:
    page = client_for(auditor).get(reverse("audit:access_log")).content.decode()
    assert "L-1" in page
    assert "Lovelace" not in page and "Turing" not in page
    assert AccessLog.objects.count() == 3  # looking at the log is not a patient read


@pytest.mark.django_db
def test_the_csv_export_holds_the_filtered_rows(auditor: User, history: Seeded) -> None:
    response = client_for(auditor).get(reverse("audit:access_log_export"), {"user": "coordinator"})
    assert response["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(export_text(response))))
    assert table[0][:3] == ["seq", "at", "username"]
    assert [row[0] for row in table[1:]] == ["3", "1"]
    assert AccessLog.objects.count() == 3


@pytest.mark.django_db
def test_the_export_defuses_spreadsheet_formulas(auditor: User, coordinator: User) -> None:
    access_record(
        user=coordinator,
        patients=[PatientFactory.create()],
        action="patient.detail",
        source=AccessSource(AccessChannel.WEB, user_agent='=HYPERLINK("x")'),
    )
    response = client_for(auditor).get(reverse("audit:access_log_export"))
    body = export_text(response)
    assert "'=HYPERLINK" in body


@pytest.mark.django_db
def test_only_auditors_open_the_log(coordinator: User, biomed: User) -> None:
    for user in (coordinator, biomed):
        client = client_for(user)
        assert client.get(reverse("audit:access_log")).status_code == 403
        assert client.get(reverse("audit:access_log_export")).status_code == 403
        assert client.get(reverse("audit:verify")).status_code == 403
