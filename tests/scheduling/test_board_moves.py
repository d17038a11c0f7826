"""Moving a booking from the board: the dialog and drag-and-drop post to one view, which calls
``booking.appointment_move``; a refusal comes back in the dialog and changes nothing."""

from __future__ import annotations

import json

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from radflow.audit.models import AccessLog
from radflow.core.roles import Role
from radflow.exams.models import Exam, ExamTransition
from tests.conftest import client_for, make_user
from tests.scheduling.board_setup import (
    MONDAY,
    BoardSite,
    board_site,
    book,
    booking_clock,
    local,
)

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def admin(reference: None) -> User:
    return make_user(Role.ADMIN, "board_admin")


@pytest.fixture
def place(reference: None) -> BoardSite:
    return board_site()


@pytest.fixture
def coordinator(reference: None) -> User:
    return make_user(Role.COORDINATOR)


def move_url(exam: Exam) -> str:
    return reverse("scheduling:board_move", kwargs={"pk": exam.pk})


def where(exam: Exam) -> tuple[str, object]:
    exam.refresh_from_db()
    assert exam.room is not None
    return exam.room.code, exam.scheduled_start


def test_the_dialog_moves_a_booking_to_another_room_and_time(
    place: BoardSite, admin: User, coordinator: User
) -> None:
    client = client_for(coordinator)
    with time_machine.travel(booking_clock(MONDAY), tick=False):
        exam = book(place.us1, local(MONDAY, 9), by=admin)
        dialog = client.get(move_url(exam), headers=HTMX)
        response = client.post(
            move_url(exam),
            {"room": place.us2.pk, "date": MONDAY.isoformat(), "time": "14:00"},
            headers=HTMX,
        )
    assert dialog.status_code == 200
    assert exam.order.patient.display_name in dialog.content.decode()
    assert response.status_code == 204
    message = json.loads(response["HX-Trigger"])["board-changed"]["message"]
    assert message == f"Exam {exam.accession_number} moved to {place.us2.code} at 14:00."
    assert where(exam) == (place.us2.code, local(MONDAY, 14))
    move = ExamTransition.objects.filter(exam=exam, action="reschedule").get()
    assert move.details["from_room"] == place.us1.code
    assert move.by == coordinator


def test_a_drop_on_the_board_moves_the_booking_to_the_minute_it_landed_on(
    place: BoardSite, admin: User, coordinator: User
) -> None:
    with time_machine.travel(booking_clock(MONDAY), tick=False):
        exam = book(place.us1, local(MONDAY, 9), by=admin)
        response = client_for(coordinator).post(
            move_url(exam),
            {"room": place.us1.pk, "date": MONDAY.isoformat(), "minute": 11 * 60 + 2},
            headers=HTMX,
        )
    assert response.status_code == 204
    assert where(exam) == (place.us1.code, local(MONDAY, 11))  # snapped to 5 minutes


def test_a_move_into_a_room_of_the_wrong_modality_shows_why_and_changes_nothing(
    place: BoardSite, admin: User, coordinator: User
) -> None:
    with time_machine.travel(booking_clock(MONDAY), tick=False):
        exam = book(place.us1, local(MONDAY, 9), by=admin)
        response = client_for(coordinator).post(
            move_url(exam),
            {"room": place.ct.pk, "date": MONDAY.isoformat(), "time": "10:00"},
            headers=HTMX,
        )
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="move-dialog-title"' in page
    assert "CT 1 is a CT room; US renal / retroperitoneum complete needs US." in page
    assert where(exam) == (place.us1.code, local(MONDAY, 9))
    assert not ExamTransition.objects.filter(exam=exam, action="reschedule").exists()


def test_a_move_onto_another_booking_is_refused_with_the_clash_named(
    place: BoardSite, admin: User, coordinator: User
) -> None:
    with time_machine.travel(booking_clock(MONDAY), tick=False):
        exam = book(place.us1, local(MONDAY, 9), by=admin)
        other = book(place.us2, local(MONDAY, 10), by=admin)
        response = client_for(coordinator).post(
            move_url(exam),
            {"room": place.us2.pk, "date": MONDAY.isoformat(), "time": "10:15"},
            headers=HTMX,
        )
    assert response.status_code == 409
    assert "Ultrasound 2 is already booked 10:00-10:30 on 2026-03-02." in response.content.decode()
    assert where(exam) == (place.us1.code, local(MONDAY, 9))
    assert where(other) == (place.us2.code, local(MONDAY, 10))


def test_a_move_outside_opening_hours_is_refused_with_the_hours(
    place: BoardSite, admin: User, coordinator: User
) -> None:
    with time_machine.travel(booking_clock(MONDAY), tick=False):
        exam = book(place.us1, local(MONDAY, 9), by=admin)
        response = client_for(coordinator).post(
            move_url(exam),
            {"room": place.us1.pk, "date": MONDAY.isoformat(), "time": "20:00"},
            headers=HTMX,
        )
    assert response.status_code == 422
    assert "outside its hours" in response.content.decode()
    assert where(exam) == (place.us1.code, local(MONDAY, 9))


def test_without_htmx_a_move_returns_to_the_board_of_the_new_day(
    place: BoardSite, admin: User, coordinator: User
) -> None:
    client = client_for(coordinator)
    with time_machine.travel(booking_clock(MONDAY), tick=False):
        exam = book(place.us1, local(MONDAY, 9), by=admin)
        response = client.post(
            move_url(exam), {"room": place.us2.pk, "date": MONDAY.isoformat(), "time": "12:00"}
        )
        page = client.get(response["Location"]).content.decode()
    assert response.status_code == 302
    assert f"site={place.site.code}&date={MONDAY.isoformat()}" in response["Location"]
    assert f"Exam {exam.accession_number} moved to {place.us2.code} at 12:00." in page


def test_opening_the_move_dialog_is_an_audited_read(
    place: BoardSite, admin: User, coordinator: User
) -> None:
    with time_machine.travel(booking_clock(MONDAY), tick=False):
        exam = book(place.us1, local(MONDAY, 9), by=admin)
        client_for(coordinator).get(move_url(exam), headers=HTMX)
    row = AccessLog.objects.get(username=coordinator.username)
    assert (row.patient_mrn, row.action) == (exam.order.patient.mrn, "scheduling.board_move")


@pytest.mark.parametrize("role", [Role.TECHNOLOGIST, Role.DIRECTOR, Role.RADIOLOGIST])
def test_readers_of_the_board_may_not_move_a_booking(
    place: BoardSite, admin: User, role: Role
) -> None:
    with time_machine.travel(booking_clock(MONDAY), tick=False):
        exam = book(place.us1, local(MONDAY, 9), by=admin)
        response = client_for(make_user(role)).post(
            move_url(exam),
            {"room": place.us2.pk, "date": MONDAY.isoformat(), "time": "14:00"},
            headers=HTMX,
        )
    assert response.status_code == 403
    assert where(exam) == (place.us1.code, local(MONDAY, 9))


def test_a_scheduler_may_move_a_booking(place: BoardSite, admin: User, reference: None) -> None:
    client: Client = client_for(make_user(Role.SCHEDULER))
    with time_machine.travel(booking_clock(MONDAY), tick=False):
        exam = book(place.us1, local(MONDAY, 9), by=admin)
        response = client.post(
            move_url(exam),
            {"room": place.us1.pk, "date": MONDAY.isoformat(), "time": "15:30"},
            headers=HTMX,
        )
    assert response.status_code == 204
    assert where(exam) == (place.us1.code, local(MONDAY, 15, 30))


def test_a_slot_taken_in_a_race_shows_the_fresh_options_the_booking_service_found(
    place: BoardSite, admin: User, coordinator: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from radflow.core.errors import Conflict
    from radflow.scheduling import booking

    with time_machine.travel(booking_clock(MONDAY), tick=False):
        exam = book(place.us1, local(MONDAY, 9), by=admin)
        option = booking.SlotOption(
            start=local(MONDAY, 11),
            end=local(MONDAY, 11, 30),
            room=place.us2,
            device=None,
            staff=None,
            interpreter=None,
            score=1.0,
            why="Earliest free.",
        )

        def lost_race(**kwargs: object) -> None:
            exc = Conflict("That slot was just taken: Ultrasound 2 is booked 10:00-10:30.")
            exc.code = "slot_taken"
            exc.options = [option]  # type: ignore[attr-defined]
            raise exc

        monkeypatch.setattr(booking, "appointment_move", lost_race)
        response = client_for(coordinator).post(
            move_url(exam),
            {"room": place.us2.pk, "date": MONDAY.isoformat(), "time": "10:00"},
            headers=HTMX,
        )
    page = response.content.decode()
    assert response.status_code == 409
    assert "That slot was just taken: Ultrasound 2 is booked 10:00-10:30." in page
    assert 'id="move-options"' in page
    assert "Mon 2 Mar 11:00" in page and "Ultrasound 2" in page and "Earliest free." in page
