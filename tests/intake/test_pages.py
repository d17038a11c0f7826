"""The intake page as the front desk and the sonographer use it."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from radflow.audit.models import AccessLog
from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam
from radflow.intake.models import Consent, IdentityCheck
from tests.conftest import client_for
from tests.exams.factories import make_exam
from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.usefixtures("reference")

SIGNATURE = "M 20.5 120 L 60 80.5 L 110 140 L 160 70"


def checklist(html: str) -> dict[str, bool]:
    """The checklist as the user sees it: stop code → met (✓) or not (✗)."""
    rows = re.findall(r'<li class="(is-ok|is-missing)" data-stop="(\w+)">', html)
    return {code: state == "is-ok" for state, code in rows}


def page(client: Client, exam: Exam) -> str:
    response = client.get(reverse("intake:exam", kwargs={"pk": exam.pk}))
    assert response.status_code == 200
    return response.content.decode()


def post(client: Client, exam: Exam, section: str, data: dict[str, str]) -> str:
    url = reverse(f"intake:{section}", kwargs={"pk": exam.pk})
    response = client.post(url, data, follow=True)
    assert response.status_code == 200, response.content.decode()[:2000]
    return response.content.decode()


@pytest.fixture
def abdomen(admin_user: User) -> Exam:
    """An arrived abdominal ultrasound: identity, NPO screening and prep apply."""
    return make_exam(ExamState.ARRIVED, by=admin_user)


def test_the_checklist_updates_after_each_section_is_saved(
    abdomen: Exam, technologist: User
) -> None:
    client = client_for(technologist)
    patient = abdomen.order.patient
    assert checklist(page(client, abdomen)) == {
        "identity": False,
        "screening": False,
        "prep": False,
    }

    html = post(
        client,
        abdomen,
        "identity",
        {
            "method": "name_dob",
            "family_name": patient.family_name.upper(),
            "given_name": patient.given_name,
            "birth_date": patient.birth_date.isoformat(),
        },
    )
    assert "Identity confirmed with two identifiers." in html
    assert checklist(html) == {"identity": True, "screening": False, "prep": False}

    html = post(
        client,
        abdomen,
        "screening",
        {"item_code": "npo", "answer": "yes", "note": "since 22:00", "result": "cleared"},
    )
    assert "Fasting (NPO) recorded: cleared." in html
    assert checklist(html) == {"identity": True, "screening": True, "prep": False}

    html = post(
        client,
        abdomen,
        "prep",
        {"prep_ok": "yes", "npo_since": "2020-01-01T22:00", "fall_risk": "yes"},
    )
    assert "Preparation verified." in html
    assert checklist(html) == {"identity": True, "screening": True, "prep": True}
    assert "All clear" in html
    assert "Fall risk." in html


def test_a_mismatched_identity_comes_back_with_the_error_and_stores_nothing(
    abdomen: Exam, scheduler: User
) -> None:
    patient = abdomen.order.patient
    response = client_for(scheduler).post(
        reverse("intake:identity", kwargs={"pk": abdomen.pk}),
        {
            "method": "name_mrn",
            "family_name": "Nobody",
            "given_name": patient.given_name,
            "mrn": patient.mrn,
        },
    )
    assert response.status_code == 422
    assert "The family name does not match the patient&#x27;s record." in response.content.decode()
    assert not IdentityCheck.objects.exists()


def test_a_consent_with_a_drawn_signature_is_stored_with_the_time(
    admin_user: User, scheduler: User
) -> None:
    biopsy = make_exam(ExamState.ARRIVED, by=admin_user, exam_type="us-liver-biopsy")
    client = client_for(scheduler)
    assert checklist(page(client, biopsy))["consent"] is False
    before = timezone.now()

    html = post(
        client,
        biopsy,
        "consent",
        {
            "method": "signature",
            "signer_name": "Grace Okafor",
            "signer_relationship": "self",
            "signature_svg": SIGNATURE,
            "witness_name": "",
        },
    )

    consent = Consent.objects.get(exam=biopsy)
    assert consent.signature_svg == SIGNATURE
    assert consent.at >= before
    assert consent.by == scheduler
    assert checklist(html)["consent"] is True
    assert f'<path d="{SIGNATURE}"' in html
    assert "Consent captured (signed on screen)." in html


def test_an_empty_signature_is_refused_with_a_message(admin_user: User, scheduler: User) -> None:
    biopsy = make_exam(ExamState.ARRIVED, by=admin_user, exam_type="us-liver-biopsy")
    response = client_for(scheduler).post(
        reverse("intake:consent", kwargs={"pk": biopsy.pk}),
        {"method": "signature", "signer_name": "Grace Okafor", "signer_relationship": "self"},
    )
    assert response.status_code == 422
    assert "The signature is empty" in response.content.decode()
    assert not Consent.objects.exists()


def test_the_interpreter_section_shows_only_when_an_interpreter_is_needed(
    admin_user: User, technologist: User
) -> None:
    patient = PatientFactory.create(interpreter_needed=True, language="pt")
    exam = make_exam(ExamState.ARRIVED, by=admin_user, patient=patient)
    client = client_for(technologist)
    html = page(client, exam)
    assert "Interpreter needed — Portuguese" in html
    assert checklist(html)["interpreter"] is False

    html = post(
        client,
        exam,
        "interpreter",
        {"language": "pt", "interpreter_id": "VRI-118", "mode": "video"},
    )
    assert "Interpreter VRI-118 logged." in html
    assert checklist(html)["interpreter"] is True


def test_opening_the_page_is_an_audited_read(abdomen: Exam, technologist: User) -> None:
    page(client_for(technologist), abdomen)
    log = AccessLog.objects.get(action="intake.view")
    assert log.patient_id == abdomen.order.patient_id
    assert log.username == technologist.username


def test_intake_is_closed_once_the_exam_has_begun(admin_user: User, technologist: User) -> None:
    exam = make_exam(ExamState.IN_PROGRESS, by=admin_user)
    client = client_for(technologist)
    html = page(client, exam)
    assert "Intake closed" in html
    assert 'action="/intake/' not in html

    html = post(
        client, exam, "interpreter", {"language": "es", "interpreter_id": "X", "mode": "phone"}
    )
    assert "Intake is recorded while the exam is scheduled or arrived" in html


def test_a_section_url_opened_directly_goes_back_to_the_page(
    abdomen: Exam, technologist: User
) -> None:
    response = client_for(technologist).get(reverse("intake:prep", kwargs={"pk": abdomen.pk}))
    assert response.status_code == 302
    assert response["Location"] == reverse("intake:exam", kwargs={"pk": abdomen.pk}) + "#prep"


@pytest.mark.parametrize("role_fixture", ["radiologist", "billing_user", "auditor"])
def test_roles_without_intake_rights_get_403(
    abdomen: Exam, role_fixture: str, request: pytest.FixtureRequest
) -> None:
    client = client_for(request.getfixturevalue(role_fixture))
    assert client.get(reverse("intake:exam", kwargs={"pk": abdomen.pk})).status_code == 403
    patient = abdomen.order.patient
    response = client.post(
        reverse("intake:identity", kwargs={"pk": abdomen.pk}),
        {
            "method": "name_dob",
            "family_name": patient.family_name,
            "given_name": patient.given_name,
            "birth_date": patient.birth_date.isoformat(),
        },
    )
    assert response.status_code == 403
    assert not IdentityCheck.objects.exists()
