"""Reads for intake: what an exam still needs before it may begin (the hard stops)."""

from __future__ import annotations

from datetime import date

from radflow.core.hard_stops import IntakeFacts, Stop, hard_stops
from radflow.exams.models import Exam
from radflow.intake.models import ConsentMethod
from radflow.orders import selectors as order_selectors
from radflow.staff.models import StaffMember


def intake_facts(exam: Exam, *, on: date, performer: StaffMember | None = None) -> IntakeFacts:
    """Everything the hard-stop rule looks at, in a handful of queries.

    ``performer`` is who will begin the exam; without one, the exam's assigned technologist.
    """
    from radflow.contrast.selectors import exam_contrast_problems
    from radflow.credentials.selectors import may_perform
    from radflow.infection.selectors import probe_problems

    order = exam.order
    exam_type = order.exam_type
    answers = dict(exam.screening_answers.values_list("item_id", "result"))
    consent = getattr(exam, "consent", None) if hasattr(exam, "consent") else None
    prep = exam.prep_check if hasattr(exam, "prep_check") else None
    need = order_selectors.auth_requirement(order)
    performer = performer or exam.technologist
    eligibility = (
        may_perform(staff=performer, exam_type=exam_type, on=on) if performer is not None else None
    )
    return IntakeFacts(
        identity_confirmed=hasattr(exam, "identity_check"),
        required_screening=frozenset(exam_type.required_screening.values_list("code", flat=True)),
        screening_results=answers,
        consent_required=exam_type.consent_required,
        consent_captured=consent is not None
        and (consent.method != ConsentMethod.TYPED_WITNESSED or bool(consent.witness_name)),
        prep_required=bool(exam_type.prep_instructions.strip()),
        prep_ok=prep.prep_ok if prep is not None else None,
        interpreter_needed=order.patient.interpreter_needed,
        interpreter_logged=hasattr(exam, "interpreter"),
        auth_required=need.required,
        auth_approved_for_day=need.required
        and order_selectors.authorization_valid_on(order, on) is not None,
        performer=str(performer) if performer is not None else "",
        performer_problems=eligibility.reasons if eligibility is not None else (),
        contrast_problems=exam_contrast_problems(exam, on=on),
        probe_problems=probe_problems(exam),
    )


def exam_hard_stops(exam: Exam, *, on: date, performer: StaffMember | None = None) -> list[Stop]:
    """The unmet hard stops for beginning ``exam`` on day ``on`` (empty: it may begin)."""
    return hard_stops(intake_facts(exam, on=on, performer=performer))
