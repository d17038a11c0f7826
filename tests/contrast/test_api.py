"""``/api/contrast``: the screen, doses issued from stock, reactions, eGFR, with role checks."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from radflow.audit.models import AccessLog
from radflow.contrast.models import ContrastAdministration, ContrastAgent
from radflow.exams.models import Exam
from radflow.exams.services import exam_begin
from radflow.patients.models import Allergy
from radflow.supplies.models import Lot
from tests.conftest import client_for
from tests.contrast.factories import (
    arrived_exam,
    complete_intake,
    contrast_item,
    iohexol,
    receive,
    room_for,
    shelf,
)

pytestmark = pytest.mark.usefixtures("reference")


@pytest.fixture
def agent() -> ContrastAgent:
    return iohexol(contrast_item())


@pytest.fixture
def lot(agent: ContrastAgent) -> Lot:
    assert agent.supply_item is not None
    return receive(agent.supply_item, shelf(room_for()), lot_number="OMN-25C02")


@pytest.fixture
def begun(admin_user: User, technologist: User, lot: Lot) -> Exam:
    exam = arrived_exam(admin_user, room=lot.movements.get().location.room)
    complete_intake(exam, technologist)
    return exam_begin(exam=exam, by=technologist)


def test_the_screen_names_what_is_unmet_and_is_audited(admin_user: User, radiologist: User) -> None:
    exam = arrived_exam(admin_user)
    response = client_for(radiologist).get(f"/api/contrast/exams/{exam.pk}/screening")
    assert response.status_code == 200
    body = response.json()
    assert (body["applies"], body["agent_class"], body["cleared"]) == (True, "iodinated", False)
    assert body["problems"] == ["no eGFR on file (one from the last 30 days is required)"]
    assert AccessLog.objects.filter(action="contrast.screen", patient=exam.order.patient).exists()


def test_a_dose_posted_is_issued_from_stock(
    begun: Exam, technologist: User, agent: ContrastAgent, lot: Lot
) -> None:
    response = client_for(technologist).post(
        f"/api/contrast/exams/{begun.pk}/administrations",
        {
            "agent_id": str(agent.pk),
            "dose": "70",
            "route": "iv",
            "lot_id": str(lot.pk),
            "injection_site": "Right antecubital, 20 G",
            "flow_rate": "3",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["lot_number"], body["dose"], body["egfr_value"]) == ("OMN-25C02", "70", "74.0")
    given = ContrastAdministration.objects.get()
    assert str(given.stock_movement_id) == body["stock_movement_id"]


def test_a_dose_refused_by_the_stop_is_a_409_problem(
    admin_user: User, technologist: User, agent: ContrastAgent
) -> None:
    exam = arrived_exam(admin_user)
    response = client_for(technologist).post(
        f"/api/contrast/exams/{exam.pk}/administrations",
        {"agent_id": str(agent.pk), "dose": "70", "route": "iv", "injection_site": "Port"},
        content_type="application/json",
    )
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "contrast_stop"
    assert not ContrastAdministration.objects.exists()


def test_a_reaction_posted_flags_the_allergy(
    begun: Exam, technologist: User, agent: ContrastAgent
) -> None:
    client = client_for(technologist)
    given = client.post(
        f"/api/contrast/exams/{begun.pk}/administrations",
        {"agent_id": str(agent.pk), "dose": "70", "route": "iv", "injection_site": "Port"},
        content_type="application/json",
    ).json()
    response = client.post(
        f"/api/contrast/administrations/{given['id']}/adverse-events",
        {
            "grade": "moderate",
            "symptoms": ["urticaria", "facial_edema"],
            "treatment": "Diphenhydramine 50 mg IV.",
            "outcome": "observed",
        },
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["allergy_flagged"] is True
    assert Allergy.objects.get(patient=begun.order.patient).severity == "moderate"


def test_bad_reaction_input_is_a_422_naming_the_field(
    begun: Exam, technologist: User, agent: ContrastAgent
) -> None:
    client = client_for(technologist)
    given = client.post(
        f"/api/contrast/exams/{begun.pk}/administrations",
        {"agent_id": str(agent.pk), "dose": "70", "route": "iv", "injection_site": "Port"},
        content_type="application/json",
    ).json()
    response = client.post(
        f"/api/contrast/administrations/{given['id']}/adverse-events",
        {"grade": "catastrophic", "symptoms": [], "treatment": "x", "outcome": "resolved"},
        content_type="application/json",
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"grade", "symptoms"}
    assert not Allergy.objects.exists()


def test_egfr_is_recorded_and_listed_for_a_patient(admin_user: User, coordinator: User) -> None:
    exam = arrived_exam(admin_user)
    patient = exam.order.patient
    client = client_for(coordinator)
    measured = timezone.localdate() - dt.timedelta(days=1)
    response = client.post(
        f"/api/contrast/patients/{patient.pk}/egfr",
        {"value": "63", "measured_on": f"{measured:%Y-%m-%d}", "reference": "LAB-9921"},
        content_type="application/json",
    )
    assert response.status_code == 201
    listed = client.get(f"/api/contrast/patients/{patient.pk}/egfr").json()
    assert [(r["value"], r["measured_on"], r["source"]) for r in listed] == [
        ("63.0", f"{measured:%Y-%m-%d}", "lab")
    ]
    screen = client.get(f"/api/contrast/exams/{exam.pk}/screening").json()
    assert screen["problems"] == [] and screen["cleared"] is True


def test_doses_list_and_stats_follow_the_role_matrix(
    begun: Exam, technologist: User, agent: ContrastAgent, director: User, scheduler: User
) -> None:
    client_for(technologist).post(
        f"/api/contrast/exams/{begun.pk}/administrations",
        {"agent_id": str(agent.pk), "dose": "70", "route": "iv", "injection_site": "Port"},
        content_type="application/json",
    )
    listed = client_for(director).get("/api/contrast/administrations?limit=10")
    assert listed.status_code == 200
    assert listed.json()["count"] == 1
    logged = AccessLog.objects.filter(action="contrast.administrations", username="director")
    assert logged.count() == 1
    stats = client_for(director).get("/api/contrast/stats").json()
    assert stats["overall"]["doses"] == 1
    assert client_for(scheduler).get("/api/contrast/administrations").status_code == 403
