"""The STAT board: every open STAT with its countdown and owner, until the exam begins."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.urls import reverse

from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam
from radflow.exams.services import exam_schedule
from radflow.orders.models import Order
from tests.conftest import client_for
from tests.exams.factories import advance, make_exam, ultrasound_room

pytestmark = pytest.mark.usefixtures("reference")

RECEIVED = dt.datetime(2025, 3, 4, 9, 0, tzinfo=ZoneInfo("America/New_York"))


def _board(user: User, at: dt.datetime, **headers: str) -> str:
    with time_machine.travel(at, tick=False):
        response = client_for(user).get(reverse("worklists:stat_board"), headers=headers)
    assert response.status_code == 200
    return str(response.content.decode())


def _stat(admin_user: User, **kwargs: Any) -> Exam:
    with time_machine.travel(RECEIVED, tick=False):
        return make_exam(by=admin_user, priority="stat", **kwargs)


def test_an_open_stat_shows_its_countdown_and_that_nobody_owns_it(
    admin_user: User, technologist: User
) -> None:
    exam = _stat(admin_user)
    html = _board(technologist, RECEIVED + dt.timedelta(minutes=18))
    assert exam.accession_number in html
    assert '<span class="badge badge-ok" data-due="2025-03-04T15:00:00+00:00">42 min</span>' in html
    assert "Nobody" in html
    assert "Take ownership" not in html  # a technologist cannot take it


def test_the_countdown_turns_to_warning_then_overdue(admin_user: User, coordinator: User) -> None:
    _stat(admin_user)
    assert 'badge-warn" data-due' in _board(coordinator, RECEIVED + dt.timedelta(minutes=50))
    late = _board(coordinator, RECEIVED + dt.timedelta(minutes=75))
    assert 'badge-bad" data-due' in late
    assert "overdue 15 min" in late


def test_a_stat_leaves_the_board_once_begun(admin_user: User, coordinator: User) -> None:
    exam = _stat(admin_user)
    with time_machine.travel(RECEIVED + dt.timedelta(minutes=5), tick=False):
        advance(exam, ExamState.AUTHORIZED, by=admin_user)
        exam_schedule(
            exam=exam,
            by=admin_user,
            room=ultrasound_room(),
            start=RECEIVED + dt.timedelta(minutes=20),
        )
    with time_machine.travel(RECEIVED + dt.timedelta(minutes=20), tick=False):
        advance(exam, ExamState.IN_PROGRESS, by=admin_user)
    assert exam.accession_number not in _board(coordinator, RECEIVED + dt.timedelta(minutes=25))


def test_cancelled_and_routine_orders_are_not_on_the_board(
    admin_user: User, coordinator: User
) -> None:
    with time_machine.travel(RECEIVED, tick=False):
        routine = make_exam(by=admin_user)
    html = _board(coordinator, RECEIVED + dt.timedelta(minutes=5))
    assert routine.accession_number not in html
    assert "No open STAT orders." in html


def test_urgent_orders_past_their_warning_are_shown_below(
    admin_user: User, coordinator: User
) -> None:
    with time_machine.travel(RECEIVED, tick=False):
        urgent = make_exam(by=admin_user, priority="urgent")
    assert urgent.accession_number not in _board(coordinator, RECEIVED + dt.timedelta(hours=2))
    assert urgent.accession_number in _board(coordinator, RECEIVED + dt.timedelta(hours=19))


def test_taking_ownership_puts_my_name_on_the_board(admin_user: User, coordinator: User) -> None:
    exam = _stat(admin_user)
    client = client_for(coordinator)
    with time_machine.travel(RECEIVED + dt.timedelta(minutes=5), tick=False):
        before = client.get(reverse("worklists:stat_board")).content.decode()
        assert reverse("worklists:stat_claim", args=[exam.order_id]) in before
        response = client.post(reverse("worklists:stat_claim", args=[exam.order_id]))
    assert response.status_code == 302
    assert Order.objects.get(pk=exam.order_id).owner == coordinator
    after = _board(coordinator, RECEIVED + dt.timedelta(minutes=6))
    assert coordinator.username in after
    assert "Take ownership" not in after


def test_only_order_editors_may_take_ownership(admin_user: User, technologist: User) -> None:
    exam = _stat(admin_user)
    url = reverse("worklists:stat_claim", args=[exam.order_id])
    assert client_for(technologist).post(url).status_code == 403
    assert Order.objects.get(pk=exam.order_id).owner is None


def test_the_board_refreshes_every_15_seconds(admin_user: User, coordinator: User) -> None:
    _stat(admin_user)
    html = _board(coordinator, RECEIVED, **{"HX-Request": "true"})
    assert 'hx-trigger="every 15s"' in html
