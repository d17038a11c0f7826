"""Reads for the pre-authorization pages: the work queue's three sections and the record page.

The queue answers "which exams is someone waiting on a payer for, and which approvals will not
cover the booked day". Each section is one query plus prefetches, so the page's cost does not grow
with its rows; the payer rules each row needs are fetched once for all the payers on the page.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from radflow.core.errors import NotFound
from radflow.core.exam_states import FINAL_STATES, ExamState
from radflow.exams.models import Exam
from radflow.orders.models import Authorization, AuthorizationContact, AuthStatus, PayerAuthRule
from radflow.orders.selectors import expiring_authorizations
from radflow.patients.models import Patient

#: States in which the exam holds a booked day (the day an authorization must cover).
BOOKED_STATES = frozenset({ExamState.SCHEDULED, ExamState.ARRIVED})

#: How many rows the smaller sections show; they are short lists in a working department.
SECTION_LIMIT = 100


def _auth_exists(**filters: Any) -> Exists:
    return Exists(Authorization.objects.filter(order=OuterRef("order"), **filters))


def _needs_auth() -> Exists:
    """The order's payer has a rule requiring authorization for one of the exam type's codes."""
    return Exists(
        PayerAuthRule.objects.filter(
            payer=OuterRef("order__payer"),
            auth_required=True,
            procedure_code__exam_types=OuterRef("order__exam_type"),
        )
    )


def _exam_rows(exams: QuerySet[Exam]) -> QuerySet[Exam]:
    return exams.select_related(
        "order", "order__patient", "order__payer", "order__exam_type"
    ).prefetch_related(
        "order__exam_type__procedure_codes",
        Prefetch(
            "order__authorizations",
            queryset=Authorization.objects.order_by("-requested_at").prefetch_related(
                Prefetch("contacts", queryset=AuthorizationContact.objects.order_by("-at"))
            ),
        ),
    )


def awaiting_authorization(*, payer_id: Any = None) -> QuerySet[Exam]:
    """Exams waiting on a payer, oldest referral first.

    Every exam in ``pending_auth``, plus exams already booked (booking may precede the answer)
    whose payer needs an authorization that is not approved yet. Denials without a new request
    are the denied section's, not this one's.
    """
    denied_not_rerequested = _auth_exists(status=AuthStatus.DENIED) & ~_auth_exists(
        status=AuthStatus.PENDING
    )
    booked_unapproved = (
        Q(state__in=BOOKED_STATES) & _needs_auth() & ~_auth_exists(status=AuthStatus.APPROVED)
    )
    exams = (
        Exam.objects.filter(Q(state=ExamState.PENDING_AUTH) | booked_unapproved)
        .exclude(denied_not_rerequested)
        .order_by("order__received_at", "pk")
    )
    if payer_id:
        exams = exams.filter(order__payer_id=payer_id)
    return _exam_rows(exams)


def denied_open(*, payer_id: Any = None) -> QuerySet[Exam]:
    """Exams still open whose payer said no and nobody has asked again or been approved since."""
    exams = (
        Exam.objects.exclude(state__in=FINAL_STATES)
        .filter(_auth_exists(status=AuthStatus.DENIED))
        .exclude(_auth_exists(status__in=[AuthStatus.PENDING, AuthStatus.APPROVED]))
        .order_by("order__received_at", "pk")
    )
    if payer_id:
        exams = exams.filter(order__payer_id=payer_id)
    return _exam_rows(exams)


def expiring_before_booking(*, payer_id: Any = None) -> QuerySet[Authorization]:
    """Approved authorizations that end before the exam's booked day, soonest booking first."""
    auths = expiring_authorizations().select_related("order__payer")
    if payer_id:
        auths = auths.filter(order__payer_id=payer_id)
    return auths.order_by("order__exam__scheduled_start", "pk")


@dataclass(frozen=True)
class QueueRow:
    """One exam on the queue with what the person chasing the payer needs to see."""

    exam: Exam
    codes: tuple[str, ...]
    lead_time_days: int | None
    received_at: datetime
    authorization: Authorization | None
    latest_contact: AuthorizationContact | None
    booked_on: date | None

    @property
    def patient(self) -> Patient:
        return self.exam.order.patient

    @property
    def waiting(self) -> timedelta:
        return timezone.now() - self.received_at


def _rules_by_payer(payer_ids: Iterable[Any]) -> dict[Any, dict[str, int]]:
    rules: dict[Any, dict[str, int]] = defaultdict(dict)
    for rule in PayerAuthRule.objects.filter(payer_id__in=set(payer_ids), auth_required=True):
        rules[rule.payer_id][rule.procedure_code_id] = rule.lead_time_days
    return rules


def booked_day(exam: Exam) -> date | None:
    if exam.state in BOOKED_STATES and exam.scheduled_start is not None:
        return timezone.localdate(exam.scheduled_start)
    return None


def queue_rows(exams: Sequence[Exam]) -> list[QueueRow]:
    """Rows for one page of exams from ``awaiting_authorization`` or ``denied_open``."""
    rules = _rules_by_payer(e.order.payer_id for e in exams if e.order.payer_id)
    rows: list[QueueRow] = []
    for exam in exams:
        order = exam.order
        payer_rules = rules.get(order.payer_id, {})
        codes = tuple(
            sorted(c.code for c in order.exam_type.procedure_codes.all() if c.code in payer_rules)
        )
        auths = list(order.authorizations.all())
        contacts = [c for a in auths for c in a.contacts.all()]
        rows.append(
            QueueRow(
                exam=exam,
                codes=codes,
                lead_time_days=max((payer_rules[c] for c in codes), default=None),
                received_at=order.received_at,
                authorization=auths[0] if auths else None,
                latest_contact=max(contacts, key=lambda c: c.at, default=None),
                booked_on=booked_day(exam),
            )
        )
    return rows


def authorization_for_page(pk: Any) -> Authorization:
    """The authorization with its order, exam and contact log, for the record page."""
    auth = (
        Authorization.objects.select_related(
            "order",
            "order__patient",
            "order__payer",
            "order__exam_type",
            "order__exam",
            "order__exam__room",
            "created_by",
        )
        .prefetch_related(
            Prefetch(
                "contacts",
                queryset=AuthorizationContact.objects.select_related("by").order_by("-at"),
            ),
            "order__exam_type__procedure_codes",
        )
        .filter(pk=pk)
        .first()
    )
    if auth is None:
        raise NotFound("No authorization has this id.", field="id")
    return auth


def other_authorizations(auth: Authorization) -> QuerySet[Authorization]:
    """The order's other requests, newest first: the story of how this one came about."""
    return auth.order.authorizations.exclude(pk=auth.pk).order_by("-requested_at")


def rules_list(*, payer_id: Any = None) -> QuerySet[PayerAuthRule]:
    rules = PayerAuthRule.objects.select_related("payer", "procedure_code").order_by(
        "payer__name", "payer__plan", "procedure_code_id"
    )
    if payer_id:
        rules = rules.filter(payer_id=payer_id)
    return rules
