"""``/api/exams``: reading an exam, the worklist and the state actions, with problem answers."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from radflow.accounts.services import api_token_create
from radflow.audit.models import AccessLog
from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam, ExamTransition, Override
from tests.exams.factories import OVERRIDE_ALL, advance, make_exam, next_slot, ultrasound_room

pytestmark = pytest.mark.usefixtures("reference")


class Api:
    """A machine client with a bearer token, answering parsed JSON."""

    def __init__(self, user: User) -> None:
        _, key = api_token_create(user=user, name="tests")
        self.client = Client()
        self.headers: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {key}"}

    def get(self, url: str, **params: Any) -> Any:
        return self.client.get(url, params, **self.headers)

    def act(self, exam: Exam, action: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(
            f"/api/exams/{exam.pk}/actions/{action}",
            data=json.dumps(body or {}),
            content_type="application/json",
            **self.headers,
        )


def assert_problem(response: Any, status: int, code: str, text: str = "") -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    if text:
        assert text in json.dumps(body, ensure_ascii=False)
    return body


def unchanged(exam: Exam) -> tuple[str, int]:
    exam.refresh_from_db()
    return exam.state, ExamTransition.objects.filter(exam=exam).count()


def test_reading_an_exam_returns_its_state_booking_and_timeline(
    technologist: User, admin_user: User
) -> None:
    exam = make_exam(ExamState.SCHEDULED, by=admin_user)
    response = Api(technologist).get(f"/api/exams/{exam.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "scheduled"
    assert body["accession_number"] == exam.accession_number
    assert body["study_instance_uid"].startswith("2.25.")
    assert body["room"]["code"] == exam.room.code  # type: ignore[union-attr]
    assert body["scheduled_start"] is not None
    assert body["timestamps"]["scheduled_at"] is not None
    assert [t["action"] for t in body["transitions"]] == ["triage", "authorize", "schedule"]
    log = AccessLog.objects.get(action="exam.detail")
    assert log.channel == "api" and log.patient_id == exam.order.patient_id


def test_an_unknown_exam_is_a_404_problem(technologist: User) -> None:
    response = Api(technologist).get("/api/exams/00000000-0000-0000-0000-000000000000")
    assert_problem(response, 404, "not_found")


def test_an_action_moves_the_exam_and_answers_with_the_new_state(
    scheduler: User, admin_user: User
) -> None:
    exam = make_exam(ExamState.SCHEDULED, by=admin_user)
    response = Api(scheduler).act(exam, "arrive")
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "arrived"
    assert body["transitions"][-1]["actor"] == "scheduler"
    assert body["timestamps"]["arrived_at"] is not None


def test_a_second_arrival_is_a_409_problem_and_changes_nothing(
    scheduler: User, admin_user: User
) -> None:
    exam = make_exam(ExamState.ARRIVED, by=admin_user)
    before = unchanged(exam)
    assert_problem(
        Api(scheduler).act(exam, "arrive"),
        409,
        "illegal_transition",
        "An exam that is arrived cannot be arrived",
    )
    assert unchanged(exam) == before


def test_an_action_outside_the_role_is_a_403_problem(scheduler: User, admin_user: User) -> None:
    exam = make_exam(ExamState.REPORTED, by=admin_user)
    before = unchanged(exam)
    assert_problem(Api(scheduler).act(exam, "sign"), 403, "permission_denied")
    assert unchanged(exam) == before


def test_an_unknown_action_is_a_404_problem(admin_user: User) -> None:
    exam = make_exam(ExamState.SCHEDULED, by=admin_user)
    assert_problem(Api(admin_user).act(exam, "teleport"), 404, "not_found", "Actions: triage")


def test_scheduling_through_the_api_checks_time_zone_past_and_clashes(
    coordinator: User, admin_user: User
) -> None:
    room = ultrasound_room(name="US Room 7")
    start = next_slot(hours=6)
    taken = make_exam(ExamState.AUTHORIZED, by=admin_user)
    advance(taken, ExamState.SCHEDULED, by=admin_user, room=room, start=start)
    exam = make_exam(ExamState.AUTHORIZED, by=admin_user)
    api = Api(coordinator)
    before = unchanged(exam)

    naive = {"room_id": str(room.pk), "start": start.replace(tzinfo=None).isoformat()}
    assert_problem(api.act(exam, "schedule", naive), 422, "validation_failed", "time zone")
    past = {"room_id": str(room.pk), "start": (timezone.now() - dt.timedelta(hours=2)).isoformat()}
    assert_problem(api.act(exam, "schedule", past), 422, "validation_failed", "in the past")
    clash = {"room_id": str(room.pk), "start": start.isoformat()}
    assert_problem(api.act(exam, "schedule", clash), 409, "slot_taken", "already booked")
    assert unchanged(exam) == before

    later = {"room_id": str(room.pk), "start": (start + dt.timedelta(hours=2)).isoformat()}
    response = api.act(exam, "schedule", later)
    assert response.status_code == 200
    assert response.json()["room"]["name"] == "US Room 7"


def test_an_unknown_room_is_a_field_error(coordinator: User, admin_user: User) -> None:
    exam = make_exam(ExamState.AUTHORIZED, by=admin_user)
    body = {"room_id": "00000000-0000-0000-0000-000000000000", "start": next_slot().isoformat()}
    problem = assert_problem(Api(coordinator).act(exam, "schedule", body), 422, "validation_failed")
    assert problem["errors"][0]["field"] == "room_id"


def test_beginning_with_overrides_records_them(admin_user: User) -> None:
    exam = make_exam(ExamState.ARRIVED, by=admin_user)
    response = Api(admin_user).act(exam, "begin", {"overrides": OVERRIDE_ALL})
    assert response.status_code == 200
    assert response.json()["state"] == "in_progress"
    assert Override.objects.filter(exam=exam).count() >= 1


def test_beginning_past_a_hard_stop_without_a_reason_is_refused(
    technologist: User, admin_user: User
) -> None:
    exam = make_exam(ExamState.ARRIVED, by=admin_user)
    before = unchanged(exam)
    assert_problem(Api(technologist).act(exam, "begin"), 409, "hard_stop", "cannot begin")
    assert_problem(
        Api(technologist).act(exam, "begin", {"overrides": OVERRIDE_ALL}),
        403,
        "permission_denied",
        "may not override",
    )
    assert unchanged(exam) == before


def test_a_cancel_needs_a_known_reason_code(coordinator: User, admin_user: User) -> None:
    exam = make_exam(ExamState.SCHEDULED, by=admin_user)
    api = Api(coordinator)
    assert_problem(api.act(exam, "cancel"), 422, "validation_failed", "Choose a reason")
    assert_problem(
        api.act(exam, "cancel", {"reason_code": "bored"}), 422, "validation_failed", "bored"
    )
    response = api.act(exam, "cancel", {"reason_code": "duplicate_order", "reason": "Twice"})
    assert response.status_code == 200
    assert response.json()["state"] == "cancelled"
    assert response.json()["reason_code"] == "duplicate_order"


def test_the_whole_path_through_the_api(
    coordinator: User,
    technologist: User,
    radiologist: User,
    billing_user: User,
    admin_user: User,
) -> None:
    exam = make_exam(ExamState.REQUESTED, by=admin_user)
    room = ultrasound_room()
    assert Api(coordinator).act(exam, "triage", {"priority": "stat"}).json()["priority"] == "stat"
    body = {"room_id": str(room.pk), "start": next_slot().isoformat()}
    assert Api(coordinator).act(exam, "schedule", body).status_code == 200
    assert Api(coordinator).act(exam, "arrive").status_code == 200
    assert Api(admin_user).act(exam, "begin", {"overrides": OVERRIDE_ALL}).status_code == 200
    done = Api(technologist).act(exam, "complete", {"images_count": 30})
    assert done.json()["images_count"] == 30
    assert Api(radiologist).act(exam, "report", {"text": "No acute findings."}).status_code == 200
    assert Api(radiologist).act(exam, "sign").status_code == 200
    final = Api(billing_user).act(exam, "bill").json()
    assert final["state"] == "billed"
    assert final["timestamps"]["billed_at"] is not None


def test_the_worklist_filters_by_state_and_day(technologist: User, admin_user: User) -> None:
    tomorrow = timezone.localtime() + dt.timedelta(days=1)
    start = tomorrow.replace(hour=10, minute=0, second=0, microsecond=0)
    booked = make_exam(ExamState.AUTHORIZED, by=admin_user)
    advance(booked, ExamState.SCHEDULED, by=admin_user, start=start)
    make_exam(ExamState.AUTHORIZED, by=admin_user)
    api = Api(technologist)

    response = api.get("/api/exams/", state="scheduled", date=start.date().isoformat())
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert body["items"][0]["accession_number"] == booked.accession_number

    assert api.get("/api/exams/", state="authorized").json()["count"] == 1
    other_day = (start.date() + dt.timedelta(days=1)).isoformat()
    assert api.get("/api/exams/", date=other_day).json()["count"] == 0
    assert_problem(api.get("/api/exams/", state="flying"), 422, "validation_failed")
    logged = AccessLog.objects.filter(action="exam.worklist").values_list("patient_id", flat=True)
    assert booked.order.patient_id in set(logged)


def test_the_worklist_is_paginated(technologist: User, admin_user: User) -> None:
    for _ in range(3):
        make_exam(ExamState.REQUESTED, by=admin_user)
    body = Api(technologist).get("/api/exams/", limit=2, offset=0).json()
    assert body["count"] == 3 and len(body["items"]) == 2
    body = Api(technologist).get("/api/exams/", limit=2, offset=2).json()
    assert len(body["items"]) == 1


def test_a_biomedical_engineer_cannot_read_exams(biomed: User, admin_user: User) -> None:
    exam = make_exam(ExamState.REQUESTED, by=admin_user)
    assert_problem(Api(biomed).get(f"/api/exams/{exam.pk}"), 403, "permission_denied")
