"""Referral writes: what order_create and friends accept, refuse, and recompute."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile

from radflow.catalog.models import ExamType
from radflow.core.errors import Conflict, RadflowError, ValidationFailed
from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam
from radflow.orders.models import (
    AuthStatus,
    CompletenessRule,
    Order,
    OrderAttachment,
    OutreachEntry,
    Priority,
    Requirement,
)
from radflow.orders.services import (
    MAX_ATTACHMENT_BYTES,
    attachment_add,
    authorization_decide,
    authorization_request,
    completeness_rule_delete,
    completeness_rule_save,
    order_cancel,
    order_create,
    order_update,
    outreach_log,
)
from tests.billing.factories import PayerFactory
from tests.exams.factories import make_exam
from tests.orders.factories import COMPLETE_FIELDS, make_order
from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.django_db

RECEIVED = dt.datetime(2026, 3, 9, 13, 0, tzinfo=dt.UTC)


def counts() -> tuple[int, int]:
    return Order.objects.count(), Exam.objects.count()


def refused_create(error: type[RadflowError], **kwargs: Any) -> RadflowError:
    """order_create must raise ``error`` and leave no order and no exam behind."""
    before = counts()
    args: dict[str, Any] = {
        "by": None,
        "patient": PatientFactory.create(),
        "exam_type": "us-abdomen-complete",
        "diagnosis_codes": ["R10.11"],
        **COMPLETE_FIELDS,
        **kwargs,
    }
    with pytest.raises(error) as caught:
        order_create(**args)
    assert counts() == before
    return caught.value


# --- order_create -----------------------------------------------------------------------------


def test_a_complete_referral_opens_a_requested_exam_with_a_clock(
    reference: None, coordinator: User
) -> None:
    with time_machine.travel(RECEIVED, tick=False):
        order = make_order(by=coordinator, diagnosis_codes=("r10.11", "K80.20", "R1011"))
    assert order.is_complete and order.missing == []
    assert order.received_at == RECEIVED
    assert order.received_by == coordinator
    assert list(order.diagnoses.values_list("code", flat=True)) == ["R10.11", "K80.20"]
    assert order.sla_due_at == RECEIVED + dt.timedelta(days=14)
    exam = order.exam
    assert exam.state == ExamState.REQUESTED
    assert exam.requested_at == exam.state_changed_at == RECEIVED
    assert exam.accession_number.startswith("RF") and len(exam.accession_number) == 10
    assert exam.study_instance_uid.startswith("2.25.")


def test_a_new_order_has_one_history_record_with_its_completeness(
    reference: None, coordinator: User
) -> None:
    order = make_order(by=coordinator, complete=False, exam_type="us-ob-standard")

    (created,) = order.history.all()
    assert (created.history_type, created.history_user) == ("+", coordinator)
    assert (created.is_complete, created.missing) == (False, order.missing)
    assert "lmp" in created.missing


def test_each_new_order_gets_the_next_accession_number(reference: None) -> None:
    first, second = make_order().exam, make_order().exam
    assert int(second.accession_number[2:]) == int(first.accession_number[2:]) + 1


def test_an_unknown_exam_type_is_refused(reference: None) -> None:
    error = refused_create(ValidationFailed, exam_type="us-brain-mri")
    assert isinstance(error, ValidationFailed)
    assert error.errors == {"exam_type": ["Unknown exam type “us-brain-mri”."]}


def test_an_exam_type_no_longer_offered_is_refused(reference: None) -> None:
    ExamType.objects.filter(code="us-thyroid").update(active=False)
    error = refused_create(ValidationFailed, exam_type="us-thyroid")
    assert isinstance(error, ValidationFailed)
    assert error.errors == {"exam_type": ["US thyroid / soft tissue neck is no longer offered."]}


def test_a_malformed_diagnosis_code_is_refused(reference: None) -> None:
    error = refused_create(ValidationFailed, diagnosis_codes=["R10.11", "10.9"])
    assert isinstance(error, ValidationFailed)
    assert "“10.9” is not an ICD-10-CM code" in error.errors["diagnosis_codes"][0]


def test_a_field_that_is_not_an_order_field_is_refused(reference: None) -> None:
    error = refused_create(ValidationFailed, colour="blue", is_complete=True)
    assert isinstance(error, ValidationFailed)
    assert error.errors == {
        "colour": ["Not an order field."],
        "is_complete": ["Not an order field."],
    }


def test_an_unknown_priority_is_refused(reference: None) -> None:
    error = refused_create(ValidationFailed, priority="whenever")
    assert isinstance(error, ValidationFailed)
    assert error.errors == {"priority": ["Unknown priority “whenever”."]}


def test_a_merged_patient_cannot_be_ordered_for(reference: None) -> None:
    merged = PatientFactory.create(active=False)
    error = refused_create(Conflict, patient=merged)
    assert error.message == "Orders cannot be placed for a merged or inactive patient."


def test_a_model_rule_broken_is_refused_with_the_field(reference: None) -> None:
    error = refused_create(ValidationFailed, patient_class="spaceship")
    assert isinstance(error, ValidationFailed)
    assert "patient_class" in error.errors


@pytest.mark.parametrize(
    ("given", "priority", "minutes"),
    [
        ("ASAP", Priority.URGENT, 24 * 60),
        ("asap", Priority.URGENT, 24 * 60),
        ("A", Priority.URGENT, 24 * 60),
        ("S", Priority.STAT, 60),
        ("stat", Priority.STAT, 60),
        ("R", Priority.ROUTINE, 14 * 24 * 60),
    ],
)
def test_priorities_are_read_from_words_and_hl7_codes(
    reference: None, given: str, priority: Priority, minutes: int
) -> None:
    with time_machine.travel(RECEIVED, tick=False):
        order = make_order(priority=given)
    assert order.priority == priority
    assert order.sla_due_at == RECEIVED + dt.timedelta(minutes=minutes)


# --- completeness -----------------------------------------------------------------------------


def test_an_incomplete_referral_lists_what_the_global_rules_ask(reference: None) -> None:
    order = make_order(complete=False)
    assert not order.is_complete
    assert order.missing == [
        Requirement.CLINICAL_INDICATION,
        Requirement.DIAGNOSIS_CODE,
        Requirement.SIGNED_ORDER,
        Requirement.ORDERING_PROVIDER,
    ]


def test_an_exam_type_rule_asks_only_of_its_exam_type(reference: None) -> None:
    ob = make_order(exam_type="us-ob-standard")
    assert ob.missing == [Requirement.LMP]
    assert make_order(exam_type="us-thyroid").missing == []
    dated = make_order(exam_type="us-ob-standard", lmp_date=dt.date(2025, 11, 20))
    assert dated.is_complete


def test_a_payer_rule_asks_only_of_that_payers_orders(reference: None, coordinator: User) -> None:
    medicare, aetna = PayerFactory.create(name="Medicare"), PayerFactory.create(name="Aetna")
    completeness_rule_save(
        by=coordinator, requirement=Requirement.ORDERING_PROVIDER_NPI, payer=medicare
    )
    fields = {**COMPLETE_FIELDS, "ordering_provider_npi": ""}
    assert make_order(payer=medicare, **fields).missing == [Requirement.ORDERING_PROVIDER_NPI]
    assert make_order(payer=aetna, **fields).missing == []
    assert make_order(**fields).missing == []


def test_a_rule_change_re_evaluates_open_orders_only(
    reference: None, coordinator: User, admin_user: User
) -> None:
    waiting = make_order(by=coordinator)
    triaged = make_exam(ExamState.AUTHORIZED, by=admin_user).order
    rule = completeness_rule_save(
        by=coordinator, requirement=Requirement.PRIOR_IMAGING_NOTE, note="All prior imaging"
    )
    waiting.refresh_from_db()
    triaged.refresh_from_db()
    assert (waiting.is_complete, waiting.missing) == (False, [Requirement.PRIOR_IMAGING_NOTE])
    assert (triaged.is_complete, triaged.missing) == (True, [])

    completeness_rule_save(
        by=coordinator, requirement=Requirement.PRIOR_IMAGING_NOTE, active=False, rule=rule
    )
    waiting.refresh_from_db()
    assert waiting.is_complete
    completeness_rule_save(by=coordinator, requirement=Requirement.PRIOR_IMAGING_NOTE, rule=rule)
    completeness_rule_delete(by=coordinator, rule=rule)
    waiting.refresh_from_db()
    assert waiting.is_complete


def test_the_same_rule_twice_is_refused(reference: None, coordinator: User) -> None:
    with pytest.raises(ValidationFailed) as caught:
        completeness_rule_save(by=coordinator, requirement=Requirement.CLINICAL_INDICATION)
    assert caught.value.errors == {"requirement": ["The same rule already exists."]}
    with pytest.raises(ValidationFailed) as caught:
        completeness_rule_save(by=coordinator, requirement="shoe_size")
    assert "requirement" in caught.value.errors


def test_completing_a_referral_by_update_takes_it_off_the_incomplete_queue(
    reference: None, coordinator: User
) -> None:
    order = make_order(complete=False)
    order = order_update(
        order=order, by=coordinator, changes=COMPLETE_FIELDS, diagnosis_codes=["R10.9"]
    )
    assert (order.is_complete, order.missing) == (True, [])
    assert list(order.diagnoses.values_list("code", flat=True)) == ["R10.9"]


# --- outreach and attachments -----------------------------------------------------------------


def test_outreach_is_logged_with_who_when_and_what(reference: None, coordinator: User) -> None:
    order = make_order(complete=False)
    with time_machine.travel(RECEIVED, tick=False):
        entry = outreach_log(order=order, by=coordinator, action="faxed", note=" Sent form ")
    assert (entry.action, entry.note, entry.at, entry.by) == (
        "faxed",
        "Sent form",
        RECEIVED,
        coordinator,
    )
    with pytest.raises(ValidationFailed) as caught:
        outreach_log(order=order, by=coordinator, action="telepathy")
    assert caught.value.errors == {"action": ["Unknown outreach action “telepathy”."]}
    assert OutreachEntry.objects.filter(order=order).count() == 1


def test_a_requisition_attachment_satisfies_the_requisition_rule(
    reference: None, coordinator: User, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    completeness_rule_save(by=coordinator, requirement=Requirement.REQUISITION_ATTACHED)
    order = make_order()
    assert order.missing == [Requirement.REQUISITION_ATTACHED]
    upload = SimpleUploadedFile("requisition.pdf", b"%PDF-1.7 signed", "application/pdf")
    attachment = attachment_add(order=order, by=coordinator, kind="requisition", upload=upload)
    assert attachment.original_name == "requisition.pdf"
    order.refresh_from_db()
    assert order.is_complete


@pytest.mark.parametrize(
    ("kind", "name", "content_type", "size", "errors"),
    [
        (
            "requisition",
            "order.exe",
            "application/x-msdownload",
            100,
            {"file": ["Attach a PDF, PNG, JPEG, TIFF or text file."]},
        ),
        (
            "requisition",
            "scan.pdf",
            "application/pdf",
            MAX_ATTACHMENT_BYTES + 1,
            {"file": ["The file is larger than 20 MB."]},
        ),
        (
            "selfie",
            "scan.pdf",
            "application/pdf",
            100,
            {"kind": ["Unknown attachment kind “selfie”."]},
        ),
    ],
    ids=["type", "size", "kind"],
)
def test_a_bad_attachment_is_refused_and_nothing_is_stored(
    reference: None,
    coordinator: User,
    kind: str,
    name: str,
    content_type: str,
    size: int,
    errors: dict[str, list[str]],
) -> None:
    order = make_order()
    upload = SimpleUploadedFile(name, b"x", content_type)
    upload.size = size
    with pytest.raises(ValidationFailed) as caught:
        attachment_add(order=order, by=coordinator, kind=kind, upload=upload)
    assert caught.value.errors == errors
    assert not OrderAttachment.objects.exists()


# --- update and cancel ------------------------------------------------------------------------


def test_an_update_before_arrival_changes_the_order_and_a_new_priority_restarts_the_clock(
    reference: None, coordinator: User
) -> None:
    with time_machine.travel(RECEIVED, tick=False):
        order = make_order()
    order = order_update(
        order=order, by=coordinator, changes={"priority": "ASAP", "notes": "Wheelchair"}
    )
    assert (order.priority, order.notes) == (Priority.URGENT, "Wheelchair")
    assert order.sla_due_at == RECEIVED + dt.timedelta(hours=24)


def test_an_update_with_an_unknown_field_or_bad_code_changes_nothing(
    reference: None, coordinator: User
) -> None:
    order = make_order()
    with pytest.raises(ValidationFailed):
        order_update(order=order, by=coordinator, changes={"state": "billed"})
    with pytest.raises(ValidationFailed):
        order_update(order=order, by=coordinator, changes={"notes": "x"}, diagnosis_codes=["Q"])
    order.refresh_from_db()
    assert order.notes == ""
    assert list(order.diagnoses.values_list("code", flat=True)) == ["R10.11"]


@pytest.mark.parametrize("state", [ExamState.ARRIVED, ExamState.IN_PROGRESS])
def test_an_order_cannot_be_changed_once_the_patient_has_arrived(
    reference: None, admin_user: User, state: ExamState
) -> None:
    order = make_exam(state, by=admin_user).order
    with pytest.raises(Conflict) as caught:
        order_update(order=order, by=admin_user, changes={"notes": "Too late"})
    assert caught.value.message == (
        f"The order cannot be changed once the exam is {state.label.lower()}."
    )
    order.refresh_from_db()
    assert order.notes == ""


def test_cancelling_an_order_cancels_its_exam_with_the_reason(
    reference: None, coordinator: User
) -> None:
    order = make_order()
    order_cancel(order=order, by=coordinator, reason_code="duplicate_order", reason="Sent twice")
    exam = Exam.objects.get(order=order)
    assert (exam.state, exam.reason_code) == (ExamState.CANCELLED, "duplicate_order")
    with pytest.raises(ValidationFailed):
        order_cancel(order=make_order(), by=coordinator, reason_code="")


# --- authorization ----------------------------------------------------------------------------


def test_only_one_pending_authorization_at_a_time(reference: None, coordinator: User) -> None:
    order = make_order()
    authorization_request(order=order, by=coordinator)
    with pytest.raises(Conflict) as caught:
        authorization_request(order=order, by=coordinator)
    assert caught.value.message == "A pending authorization is already open for this order."
    assert order.authorizations.count() == 1


@pytest.mark.parametrize(
    ("kwargs", "errors"),
    [
        (
            {
                "status": "approved",
                "valid_from": dt.date(2026, 3, 1),
                "valid_to": dt.date(2026, 4, 1),
            },
            {"number": ["An approval needs the payer's authorization number."]},
        ),
        (
            {"status": "approved", "number": "A1"},
            {"valid_to": ["An approval needs the dates it is valid from and to."]},
        ),
        (
            {
                "status": "approved",
                "number": "A1",
                "valid_from": dt.date(2026, 4, 1),
                "valid_to": dt.date(2026, 3, 1),
            },
            {"valid_to": ["The authorization ends before it starts."]},
        ),
        ({"status": "maybe"}, {"status": ["Unknown status “maybe”."]}),
    ],
    ids=["no-number", "no-dates", "reversed", "status"],
)
def test_a_bad_payer_answer_is_refused_and_the_request_stays_pending(
    reference: None, coordinator: User, kwargs: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    auth = authorization_request(order=make_order(), by=coordinator)
    with pytest.raises(ValidationFailed) as caught:
        authorization_decide(authorization=auth, by=coordinator, **kwargs)
    assert caught.value.errors == errors
    auth.refresh_from_db()
    assert (auth.status, auth.decided_at) == (AuthStatus.PENDING, None)


def test_completeness_rules_for_every_exam_type_and_payer_are_data(reference: None) -> None:
    assert CompletenessRule.objects.filter(exam_type__isnull=True, payer__isnull=True).count() == 4
