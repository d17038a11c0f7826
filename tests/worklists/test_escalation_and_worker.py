"""SLA escalation as the worker runs it: a warning once, a breach once, to the right people."""

from __future__ import annotations

import datetime as dt
import os
import signal
from collections.abc import Callable
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import call_command

from radflow.core.exam_states import ExamState
from radflow.notifications.models import Notification
from radflow.orders.models import SlaEscalation
from radflow.orders.services import order_assign_owner, sla_escalate
from radflow.worklists.management.commands import worker
from tests.exams.factories import advance, make_exam

pytestmark = pytest.mark.usefixtures("reference")

#: A Tuesday morning in the department's zone.
RECEIVED = dt.datetime(2025, 3, 4, 9, 0, tzinfo=ZoneInfo("America/New_York"))
WARNING = RECEIVED + dt.timedelta(minutes=46)  # STAT warns at 45 min
BREACH = RECEIVED + dt.timedelta(minutes=61)  # ... and breaches at 60

CaptureCommits = Callable[..., Any]


def _with_email(user: User) -> User:
    user.email = f"{user.username}@hospital.example"
    user.save(update_fields=["email"])
    return user


def _stat(admin_user: User, to: ExamState = ExamState.REQUESTED) -> Any:
    with time_machine.travel(RECEIVED, tick=False):
        return make_exam(to, by=admin_user, priority="stat")


def _escalate_at(when: dt.datetime, capture: CaptureCommits) -> list[SlaEscalation]:
    with time_machine.travel(when, tick=False), capture(execute=True):
        return sla_escalate()


def test_a_stat_is_warned_once_then_breached_once(
    admin_user: User,
    coordinator: User,
    radiologist: User,
    django_capture_on_commit_callbacks: CaptureCommits,
) -> None:
    _with_email(coordinator)
    exam = _stat(admin_user)

    warned = _escalate_at(WARNING, django_capture_on_commit_callbacks)
    assert [row.level for row in warned] == ["warning"]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [coordinator.email]
    assert exam.accession_number in mail.outbox[0].subject
    assert exam.order.patient.family_name not in mail.outbox[0].body

    assert _escalate_at(WARNING + dt.timedelta(minutes=1), django_capture_on_commit_callbacks) == []

    breached = _escalate_at(BREACH, django_capture_on_commit_callbacks)
    assert [row.level for row in breached] == ["breach"]
    assert _escalate_at(BREACH + dt.timedelta(hours=1), django_capture_on_commit_callbacks) == []

    assert SlaEscalation.objects.filter(order=exam.order).count() == 2
    kinds = sorted(
        Notification.objects.filter(recipient=coordinator).values_list("kind", flat=True)
    )
    assert kinds == ["sla_breach", "sla_warning"]
    assert len(mail.outbox) == 2


def test_a_stat_without_owner_goes_to_coordinators_and_radiologists(
    admin_user: User,
    coordinator: User,
    radiologist: User,
    technologist: User,
    django_capture_on_commit_callbacks: CaptureCommits,
) -> None:
    _stat(admin_user)
    [row] = _escalate_at(WARNING, django_capture_on_commit_callbacks)
    assert sorted(row.notified) == sorted([coordinator.username, radiologist.username])
    assert not Notification.objects.filter(recipient=technologist).exists()


def test_an_urgent_order_without_owner_goes_to_coordinators_only(
    admin_user: User,
    coordinator: User,
    radiologist: User,
    django_capture_on_commit_callbacks: CaptureCommits,
) -> None:
    with time_machine.travel(RECEIVED, tick=False):
        make_exam(by=admin_user, priority="urgent")
    [row] = _escalate_at(RECEIVED + dt.timedelta(hours=19), django_capture_on_commit_callbacks)
    assert row.notified == [coordinator.username]


def test_the_owner_alone_is_told_when_the_order_has_one(
    admin_user: User,
    coordinator: User,
    scheduler: User,
    django_capture_on_commit_callbacks: CaptureCommits,
) -> None:
    exam = _stat(admin_user)
    order_assign_owner(order=exam.order, by=coordinator, owner=_with_email(scheduler))
    _escalate_at(WARNING, django_capture_on_commit_callbacks)
    assert list(Notification.objects.values_list("recipient__username", flat=True)) == [
        scheduler.username
    ]
    assert [m.to for m in mail.outbox] == [[scheduler.email]]


def test_a_started_exam_is_never_escalated(
    admin_user: User, coordinator: User, django_capture_on_commit_callbacks: CaptureCommits
) -> None:
    with time_machine.travel(RECEIVED, tick=False):
        exam = make_exam(ExamState.SCHEDULED, by=admin_user, priority="stat")
    assert exam.scheduled_start is not None
    with time_machine.travel(exam.scheduled_start + dt.timedelta(minutes=1), tick=False):
        advance(exam, ExamState.IN_PROGRESS, by=admin_user)
    assert _escalate_at(BREACH + dt.timedelta(hours=2), django_capture_on_commit_callbacks) == []
    assert not Notification.objects.exists()


def test_worker_once_runs_the_escalation_job(admin_user: User, coordinator: User) -> None:
    exam = _stat(admin_user)
    out = StringIO()
    with time_machine.travel(BREACH, tick=False):
        call_command("worker", "--once", stdout=out)
    reported = dict(
        item.split("=") for item in out.getvalue().strip().removeprefix("worker: ").split(", ")
    )
    assert reported["sla_escalate"] == "2"
    assert SlaEscalation.objects.filter(order=exam.order).count() == 2
    assert exam.order.patient.family_name not in out.getvalue()


def test_worker_logs_a_failing_job_and_carries_on(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> int:
        raise RuntimeError("database went away")

    monkeypatch.setattr(worker, "JOBS", (("broken", broken), ("fine", lambda: 3)))
    assert worker.run_jobs() == {"broken": -1, "fine": 3}


@pytest.mark.parametrize("how", ["sigterm", "keyboard"])
def test_the_worker_loop_stops_cleanly(monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    calls: list[int] = []

    def job() -> dict[str, int]:
        calls.append(1)
        if how == "keyboard":
            raise KeyboardInterrupt
        os.kill(os.getpid(), signal.SIGTERM)
        return {"sla_escalate": 0}

    monkeypatch.setattr(worker, "run_jobs", job)
    before = signal.getsignal(signal.SIGTERM)
    out = StringIO()
    call_command("worker", stdout=out)
    assert calls == [1]
    assert out.getvalue().rstrip().endswith("worker: stopped")
    assert signal.getsignal(signal.SIGTERM) == before
