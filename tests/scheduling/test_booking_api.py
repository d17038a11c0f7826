"""/api/scheduling: find, hold, book, move, cancel and eligibility, as a machine client sees."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User

from radflow.audit.models import AccessLog
from radflow.core.exam_states import ExamState
from radflow.credentials.reference import load_credential_reference
from radflow.exams.models import Exam
from radflow.scheduling.models import Reservation
from tests.exams.factories import make_exam
from tests.scheduling.factories import BookingWorld, at, booking_world
from tests.scheduling.helpers import ApiClient, assert_problem

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2031, 6, 2, 12, 0, tzinfo=dt.UTC)  # Monday 08:00 in New York
DAY = dt.date(2031, 6, 3)


@pytest.fixture
def world(reference: None) -> Iterator[BookingWorld]:
    with time_machine.travel(NOW, tick=False):
        load_credential_reference()
        yield booking_world(on=DAY)


@pytest.fixture
def api(scheduler: User) -> ApiClient:
    return ApiClient(scheduler)


def new_exam(by: User) -> Exam:
    return make_exam(ExamState.AUTHORIZED, by=by, exam_type="us-thyroid")


def body(response: Any) -> Any:
    return json.loads(response.content)


def test_slots_are_ranked_options_and_the_patient_read_is_logged(
    world: BookingWorld, api: ApiClient, admin_user: User
) -> None:
    exam = new_exam(admin_user)
    response = api.get(
        "/api/scheduling/slots",
        {"order": str(exam.order.pk), "earliest": at(DAY, 7).isoformat(), "limit": 3},
    )
    assert response.status_code == 200, response.content
    options = body(response)["options"]
    assert len(options) == 3
    first = options[0]
    assert first["room"]["code"] == world.room.code
    assert first["staff"]["name"] == "Maria Lopez"
    assert dt.datetime.fromisoformat(first["start"]) == at(DAY, 7)
    assert first["why"].startswith("Tue 03 Jun 07:00 in Ultrasound 1")
    assert AccessLog.objects.filter(
        action="scheduling.slots", patient_id=exam.order.patient_id
    ).exists()


def test_book_then_move_then_cancel(world: BookingWorld, api: ApiClient, admin_user: User) -> None:
    exam = new_exam(admin_user)
    response = api.post(
        "/api/scheduling/appointments",
        {"exam": str(exam.pk), "room": str(world.room.pk), "start": at(DAY, 9).isoformat()},
    )
    assert response.status_code == 201, response.content
    booked = body(response)
    assert booked["state"] == "scheduled"
    assert booked["device"]["id"] == str(world.device.pk)
    assert Reservation.objects.filter(exam=exam, active=True).count() == 2  # room, scanner

    response = api.post(
        f"/api/scheduling/appointments/{exam.pk}/move",
        {"room": str(world.room.pk), "start": at(DAY, 14).isoformat()},
    )
    assert response.status_code == 200, response.content
    assert dt.datetime.fromisoformat(body(response)["start"]) == at(DAY, 14)
    assert body(response)["staff"]["name"] == "Maria Lopez"  # a qualified person on shift

    response = api.post(
        f"/api/scheduling/appointments/{exam.pk}/cancel", {"reason_code": "patient_request"}
    )
    assert response.status_code == 200, response.content
    assert body(response)["state"] == "cancelled"
    assert not Reservation.objects.filter(exam=exam, active=True).exists()


def test_a_taken_slot_answers_409_with_fresh_options(
    world: BookingWorld, api: ApiClient, admin_user: User
) -> None:
    first, second = new_exam(admin_user), new_exam(admin_user)
    for exam in (first, second):
        response = api.post(
            "/api/scheduling/appointments",
            {"exam": str(exam.pk), "room": str(world.room.pk), "start": at(DAY, 9).isoformat()},
        )
    problem = assert_problem(response, 409, "start")
    assert problem["code"] == "slot_taken"
    assert problem["detail"] == "Ultrasound 1 is already booked 09:00-09:30 on 2031-06-03."
    assert problem["options"], "the loser is offered other slots"
    assert all(o["start"] != at(DAY, 9).isoformat() for o in problem["options"])
    second.refresh_from_db()
    assert second.state == ExamState.AUTHORIZED


def test_booking_outside_opening_hours_is_422_naming_the_hours(
    world: BookingWorld, api: ApiClient, admin_user: User
) -> None:
    exam = new_exam(admin_user)
    response = api.post(
        "/api/scheduling/appointments",
        {"exam": str(exam.pk), "room": str(world.room.pk), "start": at(DAY, 20).isoformat()},
    )
    problem = assert_problem(response, 422, "start")
    assert problem["errors"][0]["message"] == (
        "Ultrasound 1 is open 07:00\u201319:00 on Tuesdays; 20:00\u201320:30 is outside its hours."
    )
    assert not Reservation.objects.exists()


def test_a_hold_is_made_and_expires(world: BookingWorld, api: ApiClient, admin_user: User) -> None:
    exam = new_exam(admin_user)
    response = api.post(
        "/api/scheduling/holds",
        {
            "order": str(exam.order.pk),
            "room": str(world.room.pk),
            "start": at(DAY, 10).isoformat(),
            "minutes": 5,
        },
    )
    assert response.status_code == 201, response.content
    hold = body(response)
    assert dt.datetime.fromisoformat(hold["expires_at"]) == NOW + dt.timedelta(minutes=5)
    assert Reservation.objects.filter(hold_id=hold["id"], active=True).count() == 2


def test_eligibility_lists_who_and_what_may_take_an_exam_type_and_why_not(
    world: BookingWorld, api: ApiClient
) -> None:
    response = api.get(
        "/api/scheduling/eligibility", {"exam_type": "us-carotid-duplex", "date": DAY.isoformat()}
    )
    assert response.status_code == 200, response.content
    found = body(response)
    assert found["needs"] == ["Vascular package (duplex Doppler)"]
    assert found["rooms"] == []
    assert found["excluded"][f"room:{world.room.code}"] == [
        "Ultrasound 1 lacks Vascular package (duplex Doppler)."
    ]
    assert [s["name"] for s in found["staff"]] == ["Maria Lopez"]


def test_an_unknown_exam_type_is_a_clear_422(world: BookingWorld, api: ApiClient) -> None:
    response = api.get(
        "/api/scheduling/eligibility", {"exam_type": "us-teleportation", "date": DAY.isoformat()}
    )
    problem = assert_problem(response, 422, "exam_type")
    assert problem["errors"][0]["message"] == "No exam type 'us-teleportation'."


def test_a_time_without_a_zone_is_a_clear_422(
    world: BookingWorld, api: ApiClient, admin_user: User
) -> None:
    exam = new_exam(admin_user)
    response = api.get(
        "/api/scheduling/slots", {"order": str(exam.order.pk), "earliest": "2031-06-03T07:00"}
    )
    problem = assert_problem(response, 422, "earliest")
    assert problem["errors"][0]["message"] == "The time must carry a time zone."
