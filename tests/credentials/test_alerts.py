"""Expiry alerts at 90/60/30 days and on expiry: in-app and email, each threshold once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import call_command

from radflow.core.roles import Role
from radflow.credentials.models import CredentialAlert
from radflow.credentials.services import credential_alerts_send
from radflow.notifications.models import Notification
from radflow.staff.models import StaffMember
from tests.conftest import make_user
from tests.credentials.factories import make_credential, sonographer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("credential_reference")]

EXPIRES = dt.date(2026, 12, 31)


def noon(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 17, 0, tzinfo=dt.UTC)


@pytest.fixture
def holder(db: None) -> StaffMember:
    user = make_user(Role.TECHNOLOGIST, "dana")
    user.email = "dana.holt@hospital.example"
    user.save()
    staff = sonographer(user=user, given_name="Dana", family_name="Holt")
    make_credential(staff, "ardms-rdms-ab", expires_on=EXPIRES)
    return staff


def run_on(day: dt.date, capture: Callable[..., Any]) -> list[int]:
    with time_machine.travel(noon(day), tick=False), capture(execute=True):
        return [sent.threshold for sent in credential_alerts_send()]


def test_each_threshold_is_sent_once_to_the_holder_and_the_coordinators(
    holder: StaffMember,
    coordinator: User,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    coordinator.email = "coordinator@hospital.example"
    coordinator.save()
    days_before = [(100, []), (90, [90]), (89, []), (61, []), (60, [60]), (30, [30]), (1, [])]
    for days, expected in days_before:
        assert run_on(EXPIRES - dt.timedelta(days=days), django_capture_on_commit_callbacks) == (
            expected
        ), days
    assert run_on(EXPIRES, django_capture_on_commit_callbacks) == []
    assert run_on(EXPIRES + dt.timedelta(days=1), django_capture_on_commit_callbacks) == [0]
    assert run_on(EXPIRES + dt.timedelta(days=2), django_capture_on_commit_callbacks) == []

    titles = list(
        Notification.objects.filter(recipient=holder.user)
        .order_by("created_at")
        .values_list("title", flat=True)
    )
    assert titles == [
        "ARDMS RDMS (AB) for Dana Holt expires in 90 days (2026-12-31)",
        "ARDMS RDMS (AB) for Dana Holt expires in 60 days (2026-12-31)",
        "ARDMS RDMS (AB) for Dana Holt expires in 30 days (2026-12-31)",
        "ARDMS RDMS (AB) for Dana Holt expired on 2026-12-31",
    ]
    assert Notification.objects.filter(recipient=coordinator).count() == 4
    assert Notification.objects.filter(recipient=holder.user).first().url == "/credentials/mine/"  # type: ignore[union-attr]
    assert len(mail.outbox) == 8
    assert {m.to[0] for m in mail.outbox} == {
        "dana.holt@hospital.example",
        "coordinator@hospital.example",
    }


def test_a_credential_entered_late_gets_only_the_most_urgent_alert(
    holder: StaffMember,
    coordinator: User,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    assert run_on(EXPIRES - dt.timedelta(days=20), django_capture_on_commit_callbacks) == [30]
    assert set(CredentialAlert.objects.values_list("threshold", flat=True)) == {30, 60, 90}
    assert Notification.objects.filter(recipient=holder.user).count() == 1


def test_a_renewed_credential_is_not_alerted(
    holder: StaffMember,
    coordinator: User,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    make_credential(
        holder, "ardms-rdms-ab", issued_on=dt.date(2026, 9, 1), expires_on=dt.date(2027, 12, 31)
    )
    assert run_on(EXPIRES - dt.timedelta(days=10), django_capture_on_commit_callbacks) == []
    assert not Notification.objects.exists()


def test_the_worker_runs_the_alert_job(
    holder: StaffMember, coordinator: User, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    from io import StringIO

    out = StringIO()
    with (
        time_machine.travel(noon(EXPIRES - dt.timedelta(days=45)), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        call_command("worker", "--once", stdout=out)
    assert "credential_alerts=1" in out.getvalue()
    assert Notification.objects.filter(kind="credential_expiry").count() == 2
