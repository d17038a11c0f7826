"""The contrast hard stop: renal function and prior reactions, by exam type, at begin.

The exams are CT head with contrast from the shipped catalog (iodinated, eGFR within 30 days and
at least 30 by default). Every other intake stop is overridden or completed, so what blocks the
begin is the contrast screen alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from radflow.catalog.models import ExamType
from radflow.contrast import selectors, services
from radflow.contrast.models import EgfrResult, EgfrSource
from radflow.core.errors import Conflict, PermissionDenied
from radflow.core.exam_states import ExamState
from radflow.core.roles import Role
from radflow.exams.models import Exam, Override
from radflow.exams.services import exam_begin
from radflow.intake.selectors import exam_hard_stops
from radflow.patients.models import AllergyCategory
from radflow.patients.services import allergy_add
from tests.contrast.factories import (
    OTHER_STOPS,
    arrived_exam,
    complete_intake,
    lab_egfr,
    room_for,
)
from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.usefixtures("reference")


def contrast_stop(exam: Exam) -> str | None:
    stops = exam_hard_stops(exam, on=timezone.localdate())
    found = [s.detail for s in stops if s.code == "contrast"]
    return found[0] if found else None


def test_an_exam_requiring_egfr_cannot_begin_without_one_on_file(admin_user: User) -> None:
    exam = arrived_exam(admin_user)
    assert contrast_stop(exam) == (
        "Contrast: no eGFR on file (one from the last 30 days is required)."
    )
    with pytest.raises(Conflict, match="no eGFR on file"):
        exam_begin(exam=exam, by=admin_user, overrides=OTHER_STOPS)
    exam.refresh_from_db()
    assert exam.state == ExamState.ARRIVED
    assert not Override.objects.filter(exam=exam).exists()


def test_an_egfr_older_than_the_window_still_blocks_and_a_recent_one_lets_it_begin(
    admin_user: User, coordinator: User
) -> None:
    exam = arrived_exam(admin_user)
    patient = exam.order.patient
    services.egfr_record(
        by=coordinator,
        patient=patient,
        value=Decimal(81),
        measured_on=timezone.localdate() - dt.timedelta(days=45),
        reference="LAB-22871",
    )
    assert "older than 30 days" in (contrast_stop(exam) or "")
    with pytest.raises(Conflict, match="older than 30 days"):
        exam_begin(exam=exam, by=admin_user, overrides=OTHER_STOPS)

    services.egfr_record(
        by=coordinator,
        patient=patient,
        value=Decimal(78),
        measured_on=timezone.localdate() - dt.timedelta(days=4),
    )
    assert contrast_stop(exam) is None
    exam = exam_begin(exam=exam, by=admin_user, overrides=OTHER_STOPS)
    assert exam.state == ExamState.IN_PROGRESS
    assert not Override.objects.filter(exam=exam, stop="contrast").exists()


def test_the_window_and_minimum_are_the_exam_types_settings(
    admin_user: User, radiologist: User
) -> None:
    exam = arrived_exam(admin_user)
    lab_egfr(exam.order.patient, value=41, days_ago=60)
    assert "older than 30 days" in (contrast_stop(exam) or "")
    services.requirement_save(
        by=radiologist,
        exam_type=exam.order.exam_type,
        gives_contrast=True,
        agent_class="iodinated",
        egfr_required=True,
        egfr_window_days=90,
        egfr_minimum=Decimal(45),
        reaction_screening=True,
    )
    measured = timezone.localdate() - dt.timedelta(days=60)
    assert contrast_stop(exam) == f"Contrast: eGFR 41.0 on {measured:%Y-%m-%d} is below 45.0."
    lab_egfr(exam.order.patient, value=52, days_ago=2)
    assert contrast_stop(exam) is None


def test_an_exam_type_set_to_need_no_egfr_is_not_blocked(
    admin_user: User, radiologist: User
) -> None:
    exam = arrived_exam(admin_user)
    services.requirement_save(
        by=radiologist,
        exam_type=exam.order.exam_type,
        gives_contrast=True,
        agent_class="iodinated",
        egfr_required=False,
        egfr_window_days=30,
        egfr_minimum=Decimal(30),
        reaction_screening=True,
    )
    assert contrast_stop(exam) is None


def test_exams_without_contrast_are_not_screened(admin_user: User) -> None:
    exam = arrived_exam(admin_user, exam_type="ct-head-wo")
    assert selectors.requirement_for(exam.order.exam_type) is None
    assert contrast_stop(exam) is None


def test_the_egfr_answered_at_intake_is_kept_for_the_patient_and_clears_the_stop(
    admin_user: User, technologist: User
) -> None:
    exam = arrived_exam(admin_user)
    complete_intake(exam, technologist, egfr=66)
    result = EgfrResult.objects.get(patient=exam.order.patient)
    assert (result.value, result.source, result.exam) == (Decimal(66), EgfrSource.INTAKE, exam)
    assert exam_hard_stops(exam, on=timezone.localdate()) == []
    # A later exam of the same patient sees it too, without asking again.
    later = arrived_exam(admin_user, patient=exam.order.patient, room=exam.room, hours_ahead=5)
    assert contrast_stop(later) is None


def test_defaults_by_modality_ultrasound_agents_need_no_egfr() -> None:
    mr = selectors.default_requirement("MR")
    us = selectors.default_requirement("US")
    ct = selectors.default_requirement("CT")
    assert (mr.agent_class, mr.egfr_required, mr.egfr_window_days) == ("gadolinium", True, 30)
    assert (us.agent_class, us.egfr_required, us.reaction_screening) == (
        "ultrasound",
        False,
        True,
    )
    assert (ct.agent_class, ct.egfr_minimum) == ("iodinated", Decimal(30))
    ceus = ExamType.objects.get(code="us-abdomen-ceus")
    assert selectors.requirement_for(ceus) == us


# --- prior reactions ---------------------------------------------------------------------------


@pytest.fixture
def allergic_exam(admin_user: User, technologist: User) -> Exam:
    """An arrived CT head with contrast, intake complete (recent eGFR), for a patient whose
    chart lists a severe reaction to iodinated contrast."""
    patient = PatientFactory.create()
    allergy_add(
        patient=patient,
        by=admin_user,
        substance="Iodinated contrast media",
        category=AllergyCategory.CONTRAST,
        severity="severe",
        reaction="Bronchospasm",
    )
    exam = arrived_exam(admin_user, patient=patient)
    complete_intake(exam, technologist)
    return exam


def test_a_prior_severe_reaction_blocks_until_premedication_is_recorded(
    allergic_exam: Exam, technologist: User
) -> None:
    detail = contrast_stop(allergic_exam)
    assert detail == (
        "Contrast: prior severe allergy to Iodinated contrast media on the patient's list; "
        "no premedication recorded for this exam."
    )
    with pytest.raises(Conflict, match="no premedication recorded"):
        exam_begin(exam=allergic_exam, by=technologist)
    now = timezone.now()
    services.premedication_record(
        exam=allergic_exam,
        by=technologist,
        protocol="ACR elective oral: prednisone 13 h",
        ordered_by="Dr. Priya Raman",
        doses=[
            services.DoseInput(
                "Prednisone", "50 mg", "oral", now - dt.timedelta(hours=13), "Patient, at home"
            ),
            services.DoseInput(
                "Prednisone", "50 mg", "oral", now - dt.timedelta(hours=7), "Patient, at home"
            ),
            services.DoseInput(
                "Diphenhydramine", "50 mg", "oral", now - dt.timedelta(hours=1), "RN Dana Brooks"
            ),
        ],
    )
    assert contrast_stop(allergic_exam) is None
    assert exam_begin(exam=allergic_exam, by=technologist).state == ExamState.IN_PROGRESS


def test_a_reaction_to_another_class_does_not_block(admin_user: User, technologist: User) -> None:
    patient = PatientFactory.create()
    allergy_add(
        patient=patient,
        by=admin_user,
        substance="Gadolinium-based contrast",
        category=AllergyCategory.CONTRAST,
        severity="severe",
    )
    exam = arrived_exam(admin_user, patient=patient)
    complete_intake(exam, technologist)
    assert contrast_stop(exam) is None


def test_a_mild_prior_reaction_is_shown_but_does_not_block(
    admin_user: User, technologist: User
) -> None:
    patient = PatientFactory.create()
    allergy_add(
        patient=patient,
        by=admin_user,
        substance="IV contrast",
        category=AllergyCategory.CONTRAST,
        severity="mild",
    )
    exam = arrived_exam(admin_user, patient=patient)
    complete_intake(exam, technologist)
    screen = selectors.exam_screen(exam, on=timezone.localdate())
    assert [r.what for r in screen.reactions] == [
        "mild allergy to IV contrast on the patient's list"
    ]
    assert screen.problems == ()


# --- overrides ---------------------------------------------------------------------------------


@pytest.fixture
def both_roles(user_for_role: Callable[..., User]) -> Callable[[Role], User]:
    """A user holding ``role`` and the technologist's role (who begins the exam)."""

    def make(role: Role) -> User:
        user = user_for_role(role)
        technologist = user_for_role(Role.TECHNOLOGIST, f"tech_{role.value}")
        user.groups.add(*technologist.groups.all())
        return User.objects.get(pk=user.pk)

    return make


def test_only_a_radiologist_may_override_the_contrast_stop_and_only_with_a_reason(
    allergic_exam: Exam, technologist: User, both_roles: Callable[[Role], User]
) -> None:
    reason = {"contrast": "Emergent CTA; benefit outweighs risk, anaesthesia standing by."}
    with pytest.raises(PermissionDenied, match="may not override the contrast hard stop"):
        exam_begin(exam=allergic_exam, by=technologist, overrides=reason)
    coordinator = both_roles(Role.COORDINATOR)
    with pytest.raises(PermissionDenied, match="may not override the contrast hard stop"):
        exam_begin(exam=allergic_exam, by=coordinator, overrides=reason)
    radiologist = both_roles(Role.RADIOLOGIST)
    with pytest.raises(Conflict, match="no premedication recorded"):
        exam_begin(exam=allergic_exam, by=radiologist, overrides={"contrast": "  "})
    allergic_exam.refresh_from_db()
    assert allergic_exam.state == ExamState.ARRIVED

    exam = exam_begin(exam=allergic_exam, by=radiologist, overrides=reason)
    assert exam.state == ExamState.IN_PROGRESS
    override = Override.objects.get(exam=exam)
    assert (override.stop, override.by) == ("contrast", radiologist)
    assert override.reason == reason["contrast"]
    assert "no premedication recorded" in override.detail
    assert override.roles == "radiologist, technologist"
    # The screen says so from then on, and a dose may be given.
    screen = selectors.exam_screen(exam, on=timezone.localdate())
    assert screen.problems and screen.override == override and screen.cleared


def test_the_api_begin_refuses_the_contrast_override_from_a_coordinator(
    allergic_exam: Exam, both_roles: Callable[[Role], User]
) -> None:
    from tests.conftest import client_for

    response = client_for(both_roles(Role.COORDINATOR)).post(
        f"/api/exams/{allergic_exam.pk}/actions/begin",
        {"overrides": {"contrast": "Patient insists"}},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert "contrast hard stop" in response.json()["detail"]
    allergic_exam.refresh_from_db()
    assert allergic_exam.state == ExamState.ARRIVED


def test_a_room_of_another_modality_is_not_needed_for_the_screen(admin_user: User) -> None:
    """An MR contrast exam defaults to gadolinium and the same renal rule."""
    exam = arrived_exam(admin_user, exam_type="mr-brain-wo-w", room=room_for("MR"))
    assert contrast_stop(exam) == (
        "Contrast: no eGFR on file (one from the last 30 days is required)."
    )
