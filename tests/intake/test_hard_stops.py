"""Hard stops: each missing item blocks ``in_progress``; overrides need a reason and the right.

The exam is a real one from the shipped catalog, US-guided liver biopsy: it asks screening
(anticoagulation, latex allergy, pregnancy), needs consent and has preparation. The patient needs
an interpreter, so every kind of stop applies; each test fills in all but one item and checks that
the one left blocks the start, changes nothing, and that satisfying it lets the exam begin.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from radflow.accounts.services import user_create
from radflow.catalog.models import ProcedureCode
from radflow.core.errors import Conflict, PermissionDenied
from radflow.core.exam_states import ExamState
from radflow.core.roles import Role
from radflow.exams.models import Exam, ExamTransition, Override
from radflow.exams.services import exam_begin
from radflow.intake import services
from radflow.intake.models import ConsentMethod, IdentityMethod
from radflow.intake.selectors import exam_hard_stops
from radflow.orders.services import (
    authorization_decide,
    authorization_request,
    payer_auth_rule_save,
)
from tests.billing.factories import PayerFactory
from tests.exams.factories import advance
from tests.orders.factories import make_order
from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.usefixtures("reference")

BIOPSY = "us-liver-biopsy"
SIGNATURE = "M 10 10 L 40 60 L 90 20"


@pytest.fixture
def biopsy(admin_user: User) -> Exam:
    """An arrived liver biopsy for a Spanish-speaking patient whose payer needs authorization."""
    patient = PatientFactory.create(interpreter_needed=True, language="es")
    payer = PayerFactory.create()
    order = make_order(by=admin_user, patient=patient, exam_type=BIOPSY, payer=payer)
    exam = advance(order.exam, ExamState.ARRIVED, by=admin_user)
    # The payer's rule arrives after booking, so only the begin step is affected by it.
    payer_auth_rule_save(
        by=admin_user,
        payer=payer,
        procedure_code=ProcedureCode.objects.get(code="47000"),
        auth_required=True,
        lead_time_days=0,
    )
    return exam


def confirm_identity(exam: Exam, by: User) -> None:
    patient = exam.order.patient
    services.identity_confirm(
        exam=exam,
        by=by,
        method=IdentityMethod.NAME_BIRTH_DATE,
        family_name=patient.family_name,
        given_name=patient.given_name,
        birth_date=patient.birth_date,
    )


def answer_screening(exam: Exam, by: User, *, skip: str = "", fail: str = "") -> None:
    for code in ("anticoagulation", "latex-allergy", "pregnancy"):
        if code == skip:
            continue
        services.screening_record(
            exam=exam,
            by=by,
            item_code=code,
            answer="no",
            result="failed" if code == fail else "cleared",
        )


def sign_consent(exam: Exam, by: User) -> None:
    services.consent_capture(
        exam=exam,
        by=by,
        method=ConsentMethod.SIGNATURE,
        signer_name="Rosa Díaz",
        signer_relationship="self",
        signature_svg=SIGNATURE,
    )


def verify_prep(exam: Exam, by: User) -> None:
    services.prep_verify(exam=exam, by=by, prep_ok=True, npo_since=timezone.now())


def log_interpreter(exam: Exam, by: User) -> None:
    services.interpreter_log(exam=exam, by=by, language="es", interpreter_id="INT-2231")


def approve_authorization(exam: Exam, by: User) -> None:
    today = timezone.localdate()
    auth = authorization_request(order=exam.order, by=by)
    authorization_decide(
        authorization=auth,
        by=by,
        status="approved",
        number="AUTH-778",
        valid_from=today,
        valid_to=today + dt.timedelta(days=30),
    )


SATISFY: dict[str, Callable[[Exam, User], None]] = {
    "identity": confirm_identity,
    "screening": answer_screening,
    "consent": sign_consent,
    "prep": verify_prep,
    "interpreter": log_interpreter,
    "authorization": approve_authorization,
}


def satisfy_all_but(exam: Exam, by: User, left_out: str) -> None:
    for code, satisfy in SATISFY.items():
        if code != left_out:
            satisfy(exam, by)


def assert_begin_blocked(exam: Exam, by: User, *, stop: str, says: str) -> None:
    transitions = ExamTransition.objects.filter(exam=exam).count()
    with pytest.raises(Conflict) as refused:
        exam_begin(exam=exam, by=by)
    assert refused.value.code == "hard_stop"
    assert says in refused.value.message
    assert [s.code for s in exam_hard_stops(exam, on=timezone.localdate())] == [stop]
    exam.refresh_from_db()
    assert exam.state == ExamState.ARRIVED
    assert exam.in_progress_at is None
    assert ExamTransition.objects.filter(exam=exam).count() == transitions
    assert not Override.objects.filter(exam=exam).exists()


def assert_begins(exam: Exam, by: User) -> None:
    exam_begin(exam=exam, by=by)
    exam.refresh_from_db()
    assert exam.state == ExamState.IN_PROGRESS
    assert exam.in_progress_at is not None
    assert not Override.objects.filter(exam=exam).exists()


@pytest.mark.parametrize(
    ("stop", "says"),
    [
        ("identity", "Identity not confirmed"),
        ("consent", "Consent is required"),
        ("prep", "Preparation not verified"),
        ("interpreter", "Interpreter needed"),
        ("authorization", "No approved pre-authorization"),
    ],
)
def test_each_missing_item_blocks_the_start_until_it_is_done(
    biopsy: Exam, technologist: User, stop: str, says: str
) -> None:
    satisfy_all_but(biopsy, technologist, stop)
    assert_begin_blocked(biopsy, technologist, stop=stop, says=says)

    SATISFY[stop](biopsy, technologist)
    assert_begins(biopsy, technologist)


def test_an_unanswered_screening_question_blocks_the_start(
    biopsy: Exam, technologist: User
) -> None:
    satisfy_all_but(biopsy, technologist, "screening")
    answer_screening(biopsy, technologist, skip="latex-allergy")
    assert_begin_blocked(
        biopsy, technologist, stop="screening", says="Screening not answered: latex-allergy"
    )

    services.screening_record(
        exam=biopsy, by=technologist, item_code="latex-allergy", answer="no", result="cleared"
    )
    assert_begins(biopsy, technologist)


def test_a_failed_screening_question_blocks_the_start(biopsy: Exam, technologist: User) -> None:
    satisfy_all_but(biopsy, technologist, "screening")
    answer_screening(biopsy, technologist, fail="anticoagulation")
    assert_begin_blocked(
        biopsy, technologist, stop="screening", says="Screening failed: anticoagulation"
    )

    services.screening_record(
        exam=biopsy,
        by=technologist,
        item_code="anticoagulation",
        answer="yes",
        note="apixaban held 48 h as instructed",
        result="flagged",
    )
    assert_begins(biopsy, technologist)


def test_a_prep_not_followed_blocks_the_start(biopsy: Exam, technologist: User) -> None:
    satisfy_all_but(biopsy, technologist, "prep")
    services.prep_verify(exam=biopsy, by=technologist, prep_ok=False, note="Ate breakfast 7:30.")
    assert_begin_blocked(biopsy, technologist, stop="prep", says="Preparation not followed")


def test_an_override_without_a_reason_is_refused(biopsy: Exam) -> None:
    both = user_create(
        username="tech_rad", password="x" * 20, roles=[Role.TECHNOLOGIST, Role.RADIOLOGIST]
    )
    satisfy_all_but(biopsy, both, "consent")
    with pytest.raises(Conflict) as refused:
        exam_begin(exam=biopsy, by=both, overrides={"consent": "   "})
    assert refused.value.code == "hard_stop"
    biopsy.refresh_from_db()
    assert biopsy.state == ExamState.ARRIVED
    assert not Override.objects.exists()


def test_a_technologist_cannot_override_even_with_a_reason(
    biopsy: Exam, technologist: User
) -> None:
    satisfy_all_but(biopsy, technologist, "consent")
    transitions = ExamTransition.objects.filter(exam=biopsy).count()
    with pytest.raises(PermissionDenied, match="may not override the consent hard stop"):
        exam_begin(exam=biopsy, by=technologist, overrides={"consent": "Patient is sedated."})
    biopsy.refresh_from_db()
    assert biopsy.state == ExamState.ARRIVED
    assert ExamTransition.objects.filter(exam=biopsy).count() == transitions
    assert not Override.objects.exists()


def test_a_radiologist_technologist_overrides_with_a_reason_and_it_is_on_record(
    biopsy: Exam,
) -> None:
    both = user_create(
        username="tech_rad", password="x" * 20, roles=[Role.TECHNOLOGIST, Role.RADIOLOGIST]
    )
    satisfy_all_but(biopsy, both, "consent")
    services.prep_verify(exam=biopsy, by=both, prep_ok=False, note="Ate a biscuit at 06:00.")

    exam_begin(
        exam=biopsy,
        by=both,
        overrides={
            "consent": "Emergency: consent by two physicians documented in chart.",
            "prep": "Small snack; radiologist accepts the aspiration risk.",
        },
    )

    biopsy.refresh_from_db()
    assert biopsy.state == ExamState.IN_PROGRESS
    overrides = {o.stop: o for o in Override.objects.filter(exam=biopsy)}
    assert set(overrides) == {"consent", "prep"}
    consent = overrides["consent"]
    assert consent.reason == "Emergency: consent by two physicians documented in chart."
    assert consent.detail == "Consent is required and has not been captured."
    assert consent.roles == "radiologist, technologist"
    assert consent.by == both
    assert consent.action == "begin"
    assert overrides["prep"].detail == "Preparation not followed."
    begin = ExamTransition.objects.get(exam=biopsy, action="begin")
    assert sorted(begin.details["overridden"]) == ["consent", "prep"]


def test_a_radiologist_technologist_cannot_override_the_authorization(biopsy: Exam) -> None:
    both = user_create(
        username="tech_rad", password="x" * 20, roles=[Role.TECHNOLOGIST, Role.RADIOLOGIST]
    )
    satisfy_all_but(biopsy, both, "authorization")
    with pytest.raises(PermissionDenied, match="authorization"):
        exam_begin(exam=biopsy, by=both, overrides={"authorization": "Payer on the phone."})
    biopsy.refresh_from_db()
    assert biopsy.state == ExamState.ARRIVED
    assert not Override.objects.exists()


def test_the_authorization_override_needs_the_coordinators_right(
    biopsy: Exam, technologist: User
) -> None:
    """A technologist who also coordinates holds ``orders.override_authorization``."""
    tech_coordinator = user_create(
        username="tech_coord", password="x" * 20, roles=[Role.TECHNOLOGIST, Role.COORDINATOR]
    )
    satisfy_all_but(biopsy, technologist, "authorization")

    exam_begin(
        exam=biopsy,
        by=tech_coordinator,
        overrides={"authorization": "Payer approved by phone, ref 5521; paper to follow."},
    )

    biopsy.refresh_from_db()
    assert biopsy.state == ExamState.IN_PROGRESS
    override = Override.objects.get(exam=biopsy)
    assert override.stop == "authorization"
    assert override.roles == "coordinator, technologist"
    assert override.detail == "No approved pre-authorization valid today."
