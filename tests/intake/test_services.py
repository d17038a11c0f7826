"""Intake services: what is stored, what is refused, and that a refusal stores nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from radflow.core.errors import Conflict, PermissionDenied, ValidationFailed
from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam
from radflow.intake import services
from radflow.intake.models import (
    Consent,
    ConsentMethod,
    IdentityCheck,
    IdentityMethod,
    InterpreterLog,
    PrepCheck,
    ScreeningAnswer,
)
from tests.catalog.factories import ScreeningItemFactory
from tests.exams.factories import make_exam
from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.usefixtures("reference")

SIGNATURE = "M 12 80 L 30 40 L 55 90 L 80 35"


@pytest.fixture
def exam(admin_user: User) -> Exam:
    """An arrived abdominal ultrasound (screening: NPO; prep: 8 h fasting)."""
    patient = PatientFactory.create(
        family_name="Müller",
        given_name="José",
        middle_name="Luis",
        birth_date=dt.date(1961, 4, 9),
        mrn="MRN778812",
    )
    return make_exam(ExamState.ARRIVED, by=admin_user, patient=patient)


@pytest.fixture
def contrast_exam(admin_user: User) -> Exam:
    """The same exam type made a contrast exam with an eGFR question, for the eGFR rules."""
    exam = make_exam(ExamState.ARRIVED, by=admin_user)
    exam_type = exam.order.exam_type
    exam_type.contrast = True
    exam_type.save(update_fields=["contrast"])
    exam_type.required_screening.add(ScreeningItemFactory.create(code="egfr", name="eGFR"))
    return exam


# --- identity -------------------------------------------------------------------------------


def test_identity_matches_names_without_regard_to_case_or_accents(
    exam: Exam, technologist: User
) -> None:
    check = services.identity_confirm(
        exam=exam,
        by=technologist,
        method=IdentityMethod.NAME_BIRTH_DATE,
        family_name="  MULLER ",
        given_name="jose luis",
        birth_date=dt.date(1961, 4, 9),
    )
    assert check.by == technologist
    assert check.at is not None
    assert IdentityCheck.objects.get(exam=exam).method == IdentityMethod.NAME_BIRTH_DATE


def test_an_identity_mismatch_says_which_identifier_and_stores_nothing(
    exam: Exam, technologist: User
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        services.identity_confirm(
            exam=exam,
            by=technologist,
            method=IdentityMethod.NAME_BIRTH_DATE,
            family_name="Müller",
            given_name="José",
            birth_date=dt.date(1961, 9, 4),
        )
    assert refused.value.errors == {
        "birth_date": ["The birth date does not match the patient's record."]
    }
    assert not IdentityCheck.objects.exists()


def test_identity_by_mrn_and_birth_date_needs_the_exact_mrn(exam: Exam, scheduler: User) -> None:
    with pytest.raises(ValidationFailed) as refused:
        services.identity_confirm(
            exam=exam,
            by=scheduler,
            method=IdentityMethod.MRN_BIRTH_DATE,
            birth_date=dt.date(1961, 4, 9),
            mrn="MRN778813",
        )
    assert list(refused.value.errors) == ["mrn"]
    assert not IdentityCheck.objects.exists()

    services.identity_confirm(
        exam=exam,
        by=scheduler,
        method=IdentityMethod.MRN_BIRTH_DATE,
        birth_date=dt.date(1961, 4, 9),
        mrn="MRN778812",
    )
    assert IdentityCheck.objects.filter(exam=exam).exists()


def test_identity_needs_both_identifiers_of_the_method(exam: Exam, technologist: User) -> None:
    with pytest.raises(ValidationFailed) as refused:
        services.identity_confirm(
            exam=exam,
            by=technologist,
            method=IdentityMethod.NAME_MRN,
            family_name="Müller",
            given_name="José",
        )
    assert list(refused.value.errors) == ["mrn"]


# --- screening ------------------------------------------------------------------------------


def test_a_second_screening_answer_replaces_the_first(exam: Exam, technologist: User) -> None:
    services.screening_record(
        exam=exam, by=technologist, item_code="npo", answer="no", result="failed"
    )
    services.screening_record(
        exam=exam,
        by=technologist,
        item_code="npo",
        answer="yes",
        note="last meal 22:00",
        result="cleared",
    )
    answer = ScreeningAnswer.objects.get(exam=exam)
    assert answer.answer == "yes: last meal 22:00"
    assert answer.result == "cleared"


def test_pregnancy_possibly_needs_the_lmp_date(exam: Exam, technologist: User) -> None:
    with pytest.raises(ValidationFailed) as refused:
        services.screening_record(
            exam=exam, by=technologist, item_code="pregnancy", answer="possibly", result="flagged"
        )
    assert list(refused.value.errors) == ["value_date"]
    assert not ScreeningAnswer.objects.exists()

    lmp = timezone.localdate() - dt.timedelta(days=20)
    answer = services.screening_record(
        exam=exam,
        by=technologist,
        item_code="pregnancy",
        answer="possibly",
        result="flagged",
        value_date=lmp,
    )
    assert answer.value_date == lmp


def test_an_unknown_screening_question_is_refused(exam: Exam, technologist: User) -> None:
    with pytest.raises(ValidationFailed) as refused:
        services.screening_record(
            exam=exam, by=technologist, item_code="horoscope", answer="no", result="cleared"
        )
    assert list(refused.value.errors) == ["item_code"]


def test_egfr_needs_the_value_and_its_date(contrast_exam: Exam, technologist: User) -> None:
    with pytest.raises(ValidationFailed) as refused:
        services.screening_record(
            exam=contrast_exam, by=technologist, item_code="egfr", answer="yes", result="cleared"
        )
    assert set(refused.value.errors) == {"value_number", "value_date"}


def test_an_egfr_older_than_30_days_fails_for_contrast(
    contrast_exam: Exam, technologist: User
) -> None:
    answer = services.screening_record(
        exam=contrast_exam,
        by=technologist,
        item_code="egfr",
        answer="yes",
        result="cleared",
        value_number=Decimal(75),
        value_date=timezone.localdate() - dt.timedelta(days=31),
    )
    assert answer.result == "failed"


def test_a_low_egfr_fails_unless_flagged_with_a_note(
    contrast_exam: Exam, technologist: User
) -> None:
    today = timezone.localdate()
    low_value, lab_date = Decimal("24.5"), today - dt.timedelta(days=3)
    answer = services.screening_record(
        exam=contrast_exam,
        by=technologist,
        item_code="egfr",
        answer="yes",
        result="flagged",
        value_number=low_value,
        value_date=lab_date,
    )
    assert answer.result == "failed"

    answer = services.screening_record(
        exam=contrast_exam,
        by=technologist,
        item_code="egfr",
        answer="yes",
        note="Dr Hart: half-dose protocol, hydrate",
        result="flagged",
        value_number=low_value,
        value_date=lab_date,
    )
    assert answer.result == "flagged"


def test_an_egfr_dated_in_the_future_is_refused(contrast_exam: Exam, technologist: User) -> None:
    with pytest.raises(ValidationFailed) as refused:
        services.screening_record(
            exam=contrast_exam,
            by=technologist,
            item_code="egfr",
            answer="yes",
            result="cleared",
            value_number=Decimal(80),
            value_date=timezone.localdate() + dt.timedelta(days=1),
        )
    assert list(refused.value.errors) == ["value_date"]


# --- consent --------------------------------------------------------------------------------


def test_a_drawn_signature_is_stored_with_the_time(exam: Exam, scheduler: User) -> None:
    before = timezone.now()
    consent = services.consent_capture(
        exam=exam,
        by=scheduler,
        method=ConsentMethod.SIGNATURE,
        signer_name="José Müller",
        signature_svg=SIGNATURE,
    )
    assert consent.signature_svg == SIGNATURE
    assert consent.signer_relationship == "self"
    assert consent.at >= before


def test_a_signature_consent_needs_a_drawn_signature(exam: Exam, scheduler: User) -> None:
    for bad in ("", "<script>alert(1)</script>", "M " + "1 " * 120_000):
        with pytest.raises(ValidationFailed) as refused:
            services.consent_capture(
                exam=exam,
                by=scheduler,
                method=ConsentMethod.SIGNATURE,
                signer_name="José Müller",
                signature_svg=bad,
            )
        assert list(refused.value.errors) == ["signature_svg"]
    assert not Consent.objects.exists()


def test_a_typed_consent_needs_a_witness(exam: Exam, scheduler: User) -> None:
    with pytest.raises(ValidationFailed) as refused:
        services.consent_capture(
            exam=exam,
            by=scheduler,
            method=ConsentMethod.TYPED_WITNESSED,
            signer_name="Ana Müller",
            signer_relationship="daughter",
        )
    assert list(refused.value.errors) == ["witness_name"]
    assert not Consent.objects.exists()

    consent = services.consent_capture(
        exam=exam,
        by=scheduler,
        method=ConsentMethod.TYPED_WITNESSED,
        signer_name="Ana Müller",
        signer_relationship="daughter",
        witness_name="Kim Lee RN",
    )
    assert consent.witness_name == "Kim Lee RN"


def test_a_second_consent_for_the_same_exam_is_refused(exam: Exam, scheduler: User) -> None:
    services.consent_capture(
        exam=exam,
        by=scheduler,
        method=ConsentMethod.SIGNATURE,
        signer_name="José Müller",
        signature_svg=SIGNATURE,
    )
    with pytest.raises(Conflict, match="already captured"):
        services.consent_capture(
            exam=exam,
            by=scheduler,
            method=ConsentMethod.TYPED_WITNESSED,
            signer_name="José Müller",
            witness_name="Kim Lee RN",
        )
    assert Consent.objects.get(exam=exam).method == ConsentMethod.SIGNATURE


# --- prep, general safety questions, interpreter -------------------------------------------


def test_prep_not_followed_needs_a_note(exam: Exam, technologist: User) -> None:
    with pytest.raises(ValidationFailed) as refused:
        services.prep_verify(exam=exam, by=technologist, prep_ok=False)
    assert list(refused.value.errors) == ["note"]
    assert not PrepCheck.objects.exists()


def test_npo_since_cannot_be_in_the_future(exam: Exam, technologist: User) -> None:
    with pytest.raises(ValidationFailed) as refused:
        services.prep_verify(
            exam=exam,
            by=technologist,
            prep_ok=True,
            npo_since=timezone.now() + dt.timedelta(hours=1),
        )
    assert list(refused.value.errors) == ["npo_since"]


def test_fall_risk_and_isolation_go_in_the_prep_note_without_catalog_items(
    exam: Exam, technologist: User
) -> None:
    check = services.prep_verify(
        exam=exam,
        by=technologist,
        prep_ok=True,
        fall_risk=True,
        isolation="contact",
        note="Walker.",
    )
    assert check.note == "Fall risk. Isolation: contact. Walker."
    assert not ScreeningAnswer.objects.exists()


def test_fall_risk_is_a_screening_answer_when_the_catalog_has_the_item(
    exam: Exam, technologist: User
) -> None:
    ScreeningItemFactory.create(
        code="fall-risk", name="Fall risk", question="Is the patient at risk?"
    )
    check = services.prep_verify(exam=exam, by=technologist, prep_ok=True, fall_risk=True)
    answer = ScreeningAnswer.objects.get(exam=exam, item_id="fall-risk")
    assert (answer.answer, answer.result) == ("yes", "flagged")
    assert check.note == ""


def test_the_interpreter_id_is_required(exam: Exam, technologist: User) -> None:
    with pytest.raises(ValidationFailed) as refused:
        services.interpreter_log(exam=exam, by=technologist, language="es", interpreter_id=" ")
    assert list(refused.value.errors) == ["interpreter_id"]
    services.interpreter_log(
        exam=exam, by=technologist, language="es", interpreter_id="LL-0042", mode="phone"
    )
    assert InterpreterLog.objects.get(exam=exam).mode == "phone"


# --- who and when ---------------------------------------------------------------------------


@pytest.mark.parametrize("state", [ExamState.AUTHORIZED, ExamState.IN_PROGRESS])
def test_intake_is_refused_outside_scheduled_and_arrived(
    admin_user: User, technologist: User, state: ExamState
) -> None:
    exam = make_exam(state, by=admin_user)
    with pytest.raises(Conflict) as refused:
        services.interpreter_log(exam=exam, by=technologist, language="es", interpreter_id="X1")
    assert refused.value.code == "intake_closed"
    assert "scheduled or arrived" in refused.value.message
    assert not InterpreterLog.objects.exists()


def test_intake_is_open_while_the_exam_is_scheduled(admin_user: User, scheduler: User) -> None:
    exam = make_exam(ExamState.SCHEDULED, by=admin_user)
    services.prep_verify(exam=exam, by=scheduler, prep_ok=True)
    assert PrepCheck.objects.filter(exam=exam).exists()


@pytest.mark.parametrize("role_fixture", ["radiologist", "billing_user", "stranger"])
def test_a_role_without_intake_rights_is_refused(
    exam: Exam, role_fixture: str, request: pytest.FixtureRequest
) -> None:
    user: User = request.getfixturevalue(role_fixture)
    patient = exam.order.patient
    with pytest.raises(PermissionDenied):
        services.identity_confirm(
            exam=exam,
            by=user,
            method=IdentityMethod.NAME_BIRTH_DATE,
            family_name=patient.family_name,
            given_name=patient.given_name,
            birth_date=patient.birth_date,
        )
    with pytest.raises(PermissionDenied):
        services.consent_capture(
            exam=exam,
            by=user,
            method=ConsentMethod.SIGNATURE,
            signer_name="José Müller",
            signature_svg=SIGNATURE,
        )
    assert not IdentityCheck.objects.exists()
    assert not Consent.objects.exists()
