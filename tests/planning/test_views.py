"""The plan pages: start from the board, watch it solve, review (an audited patient read), apply
or discard; the weights page; who may do what."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from radflow.audit.models import AccessLog
from radflow.core.roles import Role
from radflow.exams.models import Exam
from radflow.planning.models import DayPlanRun, DepartmentSchedulingSettings, PlanStatus
from radflow.scheduling.booking import appointment_move
from radflow.scheduling.models import RoomStatus
from radflow.scheduling.services import room_set_status
from tests.conftest import client_for, make_user
from tests.planning.factories import Dept, booked, department, local

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference")]

MONDAY = date(2030, 6, 3)
Capture = Callable[..., Any]


@pytest.fixture
def day() -> Iterator[Dept]:
    """07:30 on the Monday: US-3 holds two bookings and goes down."""
    with time_machine.travel(local(MONDAY, 7, 30), tick=True):
        dept = department(MONDAY)
        for hour in (9, 10):
            booked(dept, local(MONDAY, hour), room=dept.rooms[2], staff=dept.staff[2])
        booked(dept, local(MONDAY, 9), room=dept.rooms[0], staff=dept.staff[0])
        room_set_status(room=dept.rooms[2], status=RoomStatus.DOWN, note="Probe failure")
        yield dept


@pytest.fixture
def coordinator_client() -> Client:
    return client_for(make_user(Role.COORDINATOR, "plan-coordinator"))


def start(client: Client, dept: Dept, capture: Capture, **extra: str) -> Any:
    data = {"site": str(dept.site.pk), "date": MONDAY.isoformat(), "trigger": "", **extra}
    with capture(execute=True):
        return client.post(reverse("planning:start"), data)


def test_the_coordinator_starts_a_replan_reviews_the_diff_and_applies_it(
    day: Dept, coordinator_client: Client, django_capture_on_commit_callbacks: Capture
) -> None:
    response = start(coordinator_client, day, django_capture_on_commit_callbacks)

    run = DayPlanRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("planning:run", kwargs={"pk": run.pk})
    # The board's empty trigger is filled with why the re-plan was worth it.
    assert run.trigger == "Room US-3 is down (Probe failure): 2 bookings still in it."
    page = coordinator_client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-status="done"' in html
    assert "planning:run_progress" not in html and "/progress/" not in html  # no more polling
    moved = Exam.objects.filter(room=day.rooms[2]).select_related("order__patient")
    for exam in moved:
        assert exam.order.patient.family_name in html
        assert exam.accession_number in html
    assert 'id="plan-apply"' in html
    assert "First-come dispatch" in html
    shown = set(AccessLog.objects.filter(action="plan.review").values_list("patient_id", flat=True))
    assert {exam.order.patient_id for exam in moved} <= shown

    applied = coordinator_client.post(reverse("planning:apply", kwargs={"pk": run.pk}), follow=True)

    assert "Plan applied:" in applied.content.decode()
    run.refresh_from_db()
    assert run.status == PlanStatus.APPLIED
    assert not Exam.objects.filter(room=day.rooms[2], state="scheduled").exists()


def test_a_stale_plan_is_refused_on_the_page_with_the_reason(
    day: Dept, coordinator_client: Client, django_capture_on_commit_callbacks: Capture
) -> None:
    start(coordinator_client, day, django_capture_on_commit_callbacks)
    run = DayPlanRun.objects.get()
    exam = Exam.objects.filter(room=day.rooms[0]).first()
    assert exam is not None
    appointment_move(exam=exam, by=day.admin, room=day.rooms[1], start=local(MONDAY, 15))

    page = coordinator_client.post(reverse("planning:apply", kwargs={"pk": run.pk}), follow=True)

    assert "The day changed since this plan was made" in page.content.decode()
    run.refresh_from_db()
    assert run.status == PlanStatus.DONE


def test_the_front_desk_and_the_director_read_a_plan_but_cannot_apply_it(
    day: Dept, coordinator_client: Client, django_capture_on_commit_callbacks: Capture
) -> None:
    start(coordinator_client, day, django_capture_on_commit_callbacks)
    run = DayPlanRun.objects.get()
    url = reverse("planning:run", kwargs={"pk": run.pk})
    for role in (Role.SCHEDULER, Role.DIRECTOR):
        client = client_for(make_user(role, f"plan-{role.value}"))
        page = client.get(url)
        assert page.status_code == 200
        assert 'id="plan-apply"' not in page.content.decode()
        assert client.post(reverse("planning:apply", kwargs={"pk": run.pk})).status_code == 403
        assert client.post(reverse("planning:discard", kwargs={"pk": run.pk})).status_code == 403
        assert start(client, day, django_capture_on_commit_callbacks).status_code == 403
    run.refresh_from_db()
    assert run.status == PlanStatus.DONE
    assert client_for(make_user(Role.TECHNOLOGIST, "plan-tech")).get(url).status_code == 403


def test_the_progress_fragment_polls_while_solving_and_stops_when_done(
    day: Dept, coordinator_client: Client
) -> None:
    run = DayPlanRun.objects.create(
        site=day.site, date=MONDAY, status=PlanStatus.RUNNING, trace=[[0.4, 1234, 900]]
    )
    url = reverse("planning:run_progress", kwargs={"pk": run.pk})
    solving = coordinator_client.get(url).content.decode()
    assert 'hx-trigger="every 1s"' in solving
    assert 'id="plan-bar"' in solving
    assert "1234" in solving
    run.status = PlanStatus.FAILED
    run.error = "RuntimeError: solver crashed"
    run.save()
    failed = coordinator_client.get(url).content.decode()
    assert "hx-trigger" not in failed
    assert "The plan failed: RuntimeError: solver crashed" in failed


def test_a_plan_that_cannot_start_goes_back_to_the_board_with_the_reason(
    day: Dept, coordinator_client: Client, django_capture_on_commit_callbacks: Capture
) -> None:
    board = "/department/board/?site=RIV"
    response = start(
        coordinator_client,
        day,
        django_capture_on_commit_callbacks,
        date="2030-06-01",
        next=board,
    )
    assert response.status_code == 302
    assert response["Location"] == board
    assert not DayPlanRun.objects.exists()


def test_the_coordinator_sets_the_weights_and_a_bad_value_is_refused(
    coordinator_client: Client,
) -> None:
    url = reverse("planning:settings")
    assert coordinator_client.get(url).status_code == 200
    values = {
        "stat_lateness_weight": 80,
        "urgent_lateness_weight": 10,
        "wait_weight": 2,
        "overtime_weight": 5,
        "idle_weight": 1,
        "change_weight": 45,
        "optimize_seconds": 10,
        "replan_seconds": 3,
    }
    assert coordinator_client.post(url, values).status_code == 302
    saved = DepartmentSchedulingSettings.objects.get()
    assert (saved.stat_lateness_weight, saved.change_weight, saved.replan_seconds) == (80, 45, 3)
    refused = coordinator_client.post(url, {**values, "replan_seconds": 0})
    assert refused.status_code == 422
    saved.refresh_from_db()
    assert saved.replan_seconds == 3
    scheduler: User = make_user(Role.SCHEDULER, "plan-scheduler")
    assert client_for(scheduler).get(url).status_code == 403
