"""IHE ITI Scheduling over FHIR: ``$find`` proposes the slot search's options, ``$hold`` keeps
one (pending), ``$book`` books it with the board's own service, and the booking is on the
schedule board a coordinator opens."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User

from radflow.audit.models import AccessLog
from radflow.core.exam_states import ExamState
from radflow.core.fhir import systems
from radflow.core.roles import Role
from radflow.credentials.reference import load_credential_reference
from radflow.exams.models import Exam
from radflow.scheduling.models import Hold, Reservation
from tests.conftest import client_for, make_user
from tests.exams.factories import make_exam
from tests.interfaces.fhir.helpers import FhirClient, assert_outcome, entries, identifier, resource
from tests.scheduling.board_setup import board_url, read_board
from tests.scheduling.factories import BookingWorld, at, booking_world

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2031, 6, 2, 12, 0, tzinfo=dt.UTC)  # Monday 08:00 in New York
DAY = dt.date(2031, 6, 3)


@pytest.fixture
def world(reference: None) -> Iterator[BookingWorld]:
    with time_machine.travel(NOW, tick=False):
        load_credential_reference()
        yield booking_world(on=DAY)


@pytest.fixture
def fhir(scheduler: User) -> FhirClient:
    return FhirClient(scheduler)


def bookable(by: User) -> Exam:
    return make_exam(ExamState.AUTHORIZED, by=by, exam_type="us-thyroid")


def parameters(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": list(parts)}


def find(fhir: FhirClient, exam: Exam, **extra: Any) -> list[dict[str, Any]]:
    response = fhir.post(
        "Appointment/$find",
        parameters(
            {"name": "start", "valueDateTime": at(DAY, 7).isoformat()},
            {"name": "end", "valueDateTime": at(DAY + dt.timedelta(days=1), 19).isoformat()},
            {
                "name": "referral",
                "valueReference": {"reference": f"ServiceRequest/{exam.order.pk}"},
            },
            *({"name": k, "valueInteger": v} for k, v in extra.items()),
        ),
    )
    return entries(resource(response), "Appointment")


def actor(appointment: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(
        p["actor"]
        for p in appointment["participant"]
        if p["actor"].get("reference", "").startswith(f"{kind}/")
    )


def when(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def test_find_hold_book_puts_the_exam_on_the_schedule_board(
    world: BookingWorld, fhir: FhirClient, admin_user: User
) -> None:
    exam = bookable(admin_user)
    patient = exam.order.patient
    with time_machine.travel(NOW, tick=False):
        proposed = find(fhir, exam, _count=3)
        assert len(proposed) == 3
        first = proposed[0]
        assert first["status"] == "proposed"
        assert "id" not in first  # nothing is stored until $hold or $book
        assert when(first["start"]) == at(DAY, 7)
        assert actor(first, "Location")["reference"] == f"Location/{world.room.pk}"
        assert actor(first, "Practitioner")["display"] == "Maria Lopez"
        assert actor(first, "Patient")["reference"] == f"Patient/{patient.pk}"
        assert first["basedOn"] == [{"reference": f"ServiceRequest/{exam.order.pk}"}]

        held = fhir.post(
            "Appointment/$hold",
            parameters(
                {"name": "appointment", "resource": first}, {"name": "minutes", "valueInteger": 5}
            ),
        )
        (pending,) = entries(resource(held), "Appointment")
        assert pending["id"] == str(exam.pk)
        assert pending["status"] == "pending"
        assert when(pending["start"]) == at(DAY, 7)
        hold = Hold.objects.get(order=exam.order)
        assert identifier(pending, systems.HOLD) == str(hold.pk)
        assert hold.expires_at == NOW + dt.timedelta(minutes=5)
        assert (
            Reservation.objects.filter(hold=hold, active=True).count() == 3
        )  # room, scanner, sonographer
        assert resource(fhir.get(f"Appointment/{exam.pk}"))["status"] == "pending"

        booked = fhir.post(
            "Appointment/$book",
            parameters(
                {
                    "name": "appointment-reference",
                    "valueReference": {"reference": f"Appointment/{exam.pk}"},
                }
            ),
        )
        (appointment,) = entries(resource(booked), "Appointment")
        assert appointment["status"] == "booked"
        assert when(appointment["start"]) == at(DAY, 7)
        assert when(appointment["end"]) == at(DAY, 7, 30)
        assert identifier(appointment, systems.ACCESSION) == exam.accession_number

        exam.refresh_from_db()
        assert exam.state == ExamState.SCHEDULED
        assert exam.room == world.room and exam.technologist == world.sonographer
        assert not Reservation.objects.filter(hold=hold, active=True).exists()  # converted

        board = read_board(client_for(make_user(Role.COORDINATOR)).get(board_url(world.site, DAY)))
    block = board.blocks[exam.accession_number]
    assert block.room == str(world.room.pk)
    assert block.minute == 7 * 60
    assert patient.display_name in block.text
    actions = set(
        AccessLog.objects.filter(patient_id=patient.pk, channel="fhir").values_list(
            "action", flat=True
        )
    )
    assert {"fhir.appointment.find", "fhir.appointment.hold", "fhir.appointment.book"} <= actions


def test_book_takes_the_proposed_appointment_directly(
    world: BookingWorld, fhir: FhirClient, admin_user: User
) -> None:
    exam = bookable(admin_user)
    with time_machine.travel(NOW, tick=False):
        second_choice = find(fhir, exam)[1]
        response = fhir.post(
            "Appointment/$book", parameters({"name": "appointment", "resource": second_choice})
        )
        (appointment,) = entries(resource(response), "Appointment")
    assert appointment["status"] == "booked"
    assert appointment["start"] == second_choice["start"]
    exam.refresh_from_db()
    assert exam.scheduled_start == when(second_choice["start"])


def test_find_by_patient_and_visit_type_in_the_query_string(
    world: BookingWorld, fhir: FhirClient, admin_user: User
) -> None:
    exam = bookable(admin_user)
    with time_machine.travel(NOW, tick=False):
        response = fhir.get(
            "Appointment/$find",
            {
                "start": DAY.isoformat(),
                "end": DAY.isoformat(),
                "patient": f"Patient/{exam.order.patient_id}",
                "visit-type": "us-thyroid",
                "location": f"Location/{world.room.pk}",
                "_count": "2",
            },
        )
    proposed = entries(resource(response), "Appointment")
    assert [when(p["start"]).astimezone(at(DAY, 7).tzinfo).date() for p in proposed] == [DAY, DAY]
    assert all(actor(p, "Location")["reference"] == f"Location/{world.room.pk}" for p in proposed)


def test_a_slot_taken_meanwhile_is_a_409_outcome_offering_other_times(
    world: BookingWorld, fhir: FhirClient, admin_user: User
) -> None:
    first, second = bookable(admin_user), bookable(admin_user)
    with time_machine.travel(NOW, tick=False):
        mine = find(fhir, second)[0]
        taken = fhir.post(
            "Appointment/$book",
            parameters({"name": "appointment", "resource": find(fhir, first)[0]}),
        )
        resource(taken)
        response = fhir.post(
            "Appointment/$book", parameters({"name": "appointment", "resource": mine})
        )
    message = assert_outcome(response, 409, "start")
    assert message == "Ultrasound 1 is already booked 07:00-07:30 on 2031-06-03."
    offered = [i for i in resource(response, 409)["issue"] if i["severity"] == "information"]
    assert offered and offered[0]["diagnostics"].startswith("Free instead: 2031-06-03")
    second.refresh_from_db()
    assert second.state == ExamState.AUTHORIZED


def test_find_needs_an_order_and_hold_needs_the_proposal_itself(
    world: BookingWorld, fhir: FhirClient, admin_user: User
) -> None:
    exam = bookable(admin_user)
    with time_machine.travel(NOW, tick=False):
        nothing = fhir.post(
            "Appointment/$find", parameters({"name": "start", "valueDateTime": NOW.isoformat()})
        )
        assert_outcome(nothing, 400, "referral")
        unknown = fhir.get(
            "Appointment/$find", {"referral": "ServiceRequest/5d5e7c3a-0000-4000-8000-000000000000"}
        )
        assert_outcome(unknown, 422, "referral")
        by_reference = fhir.post(
            "Appointment/$hold",
            parameters(
                {"name": "appointment-reference", "valueReference": {"reference": "Appointment/x"}}
            ),
        )
        assert "send the proposed Appointment itself" in assert_outcome(by_reference, 400)
        not_parameters = fhir.post("Appointment/$hold", {"resourceType": "Patient"})
        assert_outcome(not_parameters, 400, "resourceType")
    assert not Hold.objects.filter(order=exam.order).exists()


def test_only_schedulers_may_find_hold_or_book(world: BookingWorld, admin_user: User) -> None:
    exam = bookable(admin_user)
    body = parameters(
        {"name": "referral", "valueReference": {"reference": f"ServiceRequest/{exam.order.pk}"}}
    )
    for who, status in ((make_user(Role.TECHNOLOGIST), 403), (None, 401)):
        client = FhirClient(who)
        for operation in ("$find", "$hold", "$book"):
            assert_outcome(client.post(f"Appointment/{operation}", body), status)
