"""Reads about orders: completeness, SLA clock state, pre-authorization needs and windows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from radflow.catalog.refdata import Cached, fresh
from radflow.core.exam_states import CLOCK_RUNNING
from radflow.core.sla import Clock, ClockState
from radflow.orders.models import (
    PRIORITY_RANK,
    Authorization,
    AuthStatus,
    CompletenessRule,
    Order,
    PayerAuthRule,
    Requirement,
    SlaPolicy,
)

# --- completeness ------------------------------------------------------------------------------


def rules_for(order: Order) -> QuerySet[CompletenessRule]:
    """Active rules that apply: for the order's exam type or all types, its payer or any payer."""
    payer_scope = Q(payer__isnull=True) | Q(payer_id=order.payer_id)
    type_scope = Q(exam_type__isnull=True) | Q(exam_type_id=order.exam_type_id)
    return CompletenessRule.objects.filter(payer_scope, type_scope, active=True)


@dataclass(frozen=True)
class OrderRules:
    """The completeness rules and SLA policies, as every new or changed order reads them."""

    #: Active completeness rules as (requirement, exam type id, payer id); None: any.
    requirements: tuple[tuple[str, Any, Any], ...]
    #: Every SLA policy, in the model's order.
    policies: tuple[SlaPolicy, ...]


def _load_order_rules() -> OrderRules:
    active = CompletenessRule.objects.filter(active=True)
    return OrderRules(
        requirements=tuple(active.values_list("requirement", "exam_type_id", "payer_id")),
        policies=tuple(SlaPolicy.objects.all()),
    )


#: Read per order, changed a few times a year: cached per process (``catalog.refdata``).
_ORDER_RULES = Cached(_load_order_rules)


def order_rules() -> OrderRules:
    return _ORDER_RULES.get()


def _wanted(order: Order, rules: OrderRules | None) -> set[str]:
    """The requirements of ``rules_for(order)``, from the cached rules."""
    requirements = (rules or order_rules()).requirements
    return {
        requirement
        for requirement, exam_type_id, payer_id in requirements
        if exam_type_id in (None, order.exam_type_id) and payer_id in (None, order.payer_id)
    }


def requirement_met(
    order: Order, requirement: str, *, new_codes: Sequence[str] | None = None
) -> bool:
    """Whether the order satisfies one requirement. A saved order's lists are read from the
    database; a new one not yet saved has the diagnosis codes ``new_codes`` and no attachments."""
    match Requirement(requirement):
        case Requirement.CLINICAL_INDICATION:
            return bool(order.clinical_indication.strip())
        case Requirement.DIAGNOSIS_CODE:
            return bool(new_codes) if new_codes is not None else order.diagnoses.exists()
        case Requirement.SIGNED_ORDER:
            return order.signed_order
        case Requirement.PRIOR_IMAGING_NOTE:
            return bool(order.prior_imaging_note.strip())
        case Requirement.LMP:
            return order.lmp_date is not None
        case Requirement.ORDERING_PROVIDER:
            return bool(order.ordering_provider.strip())
        case Requirement.ORDERING_PROVIDER_NPI:
            return bool(order.ordering_provider_npi.strip())
        case Requirement.PAYER:
            return order.payer_id is not None
        case Requirement.REQUISITION_ATTACHED:
            if new_codes is not None:
                return False
            return order.attachments.filter(kind="requisition").exists()


def missing_requirements(
    order: Order, *, new_codes: Sequence[str] | None = None, rules: OrderRules | None = None
) -> list[str]:
    """The requirement codes the order does not meet, in the table's order, without repeats.

    ``new_codes``: the order is not saved yet and will have these diagnosis codes (and no
    attachments), so its completeness is known before its first save.
    """
    wanted = _wanted(order, rules)
    return [
        r.value
        for r in Requirement
        if r.value in wanted and not requirement_met(order, r, new_codes=new_codes)
    ]


def requirement_labels(codes: list[str]) -> list[str]:
    labels = dict(Requirement.choices)
    return [str(labels.get(code, code)) for code in codes]


# --- SLA ---------------------------------------------------------------------------------------


def sla_policy_for(order: Order, *, rules: OrderRules | None = None) -> SlaPolicy | None:
    """The exam type's own policy for the priority, else the priority's general one."""
    policies = [
        p
        for p in (rules or order_rules()).policies
        if p.priority == order.priority and p.exam_type_id in (order.exam_type_id, None)
    ]
    # Specific before general: rows with an exam type sort first.
    policy = min(policies, key=lambda p: p.exam_type_id is None, default=None)
    return None if policy is None else fresh(policy)


def order_clock(order: Order) -> Clock | None:
    if order.sla_due_at is None or order.sla_warn_at is None:
        return None
    return Clock(due_at=order.sla_due_at, warn_at=order.sla_warn_at)


def order_clock_state(order: Order, *, now: Any = None, started: bool = False) -> ClockState | None:
    clock = order_clock(order)
    if clock is None:
        return None
    return clock.state(now or timezone.now(), stopped=started)


def open_clock_orders() -> QuerySet[Order]:
    """Orders whose SLA clock still runs (not begun, not cancelled, not a no-show)."""
    return Order.objects.filter(exam__state__in=CLOCK_RUNNING)


def urgency_rank(field: str = "priority") -> Case:
    """STAT 0, urgent 1, routine 2, for ordering by ``field`` (a path to an order's priority)."""
    return Case(
        *(When(**{field: priority}, then=Value(rank)) for priority, rank in PRIORITY_RANK.items()),
        default=Value(9),
        output_field=IntegerField(),
    )


# --- pre-authorization -------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthRequirement:
    required: bool
    lead_time_days: int = 0
    codes: tuple[str, ...] = ()

    def as_details(self) -> dict[str, object]:
        return {"auth_required": self.required, "auth_codes": list(self.codes)}


def auth_requirement(order: Order) -> AuthRequirement:
    """Whether the order's payer needs a pre-authorization for any of the exam's codes."""
    if order.payer_id is None:
        return AuthRequirement(required=False)
    rules = list(
        PayerAuthRule.objects.filter(
            payer_id=order.payer_id,
            auth_required=True,
            procedure_code__in=order.exam_type.procedure_codes.all(),
        ).order_by("procedure_code_id")
    )
    if not rules:
        return AuthRequirement(required=False)
    return AuthRequirement(
        required=True,
        lead_time_days=max(r.lead_time_days for r in rules),
        codes=tuple(r.procedure_code_id for r in rules),
    )


def approved_authorizations(order: Order) -> QuerySet[Authorization]:
    return order.authorizations.filter(status=AuthStatus.APPROVED)


def has_approved_authorization(order: Order) -> bool:
    return approved_authorizations(order).exists()


def authorization_valid_on(order: Order, day: date) -> Authorization | None:
    return (
        approved_authorizations(order)
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=day))
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
        .first()
    )


def auth_booking_problem(order: Order, day: date) -> str:
    """Why ``day`` may not be booked for this order's authorization, or "" when it may.

    Approved: the day must lie in the approved window. Still pending: not before the payer's lead
    time has passed since the order was received (so the answer can arrive). Denied: never.
    """
    need = auth_requirement(order)
    if not need.required:
        return ""
    approved = list(approved_authorizations(order))
    if approved:
        if any(
            (a.valid_from is None or a.valid_from <= day)
            and (a.valid_to is None or day <= a.valid_to)
            for a in approved
        ):
            return ""
        windows = ", ".join(f"{a.valid_from or '…'} to {a.valid_to or '…'}" for a in approved)
        return f"{day} is outside the approved authorization window ({windows})."
    if (
        order.authorizations.filter(status=AuthStatus.DENIED).exists()
        and not order.authorizations.filter(status=AuthStatus.PENDING).exists()
    ):
        return "The payer denied the authorization; booking needs an override with a reason."
    earliest = timezone.localdate(order.received_at) + timedelta(days=need.lead_time_days)
    if day < earliest:
        return (
            f"The payer needs {need.lead_time_days} days to authorize; without an approved "
            f"authorization the earliest date is {earliest}."
        )
    return ""


def expiring_authorizations() -> QuerySet[Authorization]:
    """Approved authorizations ending before the exam's booked date (the coordinator's flag)."""
    from django.db.models import F
    from django.db.models.functions import TruncDate

    from radflow.exams.models import Exam

    booked = Exam.objects.filter(state="scheduled", scheduled_start__isnull=False)
    return (
        Authorization.objects.filter(status=AuthStatus.APPROVED, valid_to__isnull=False)
        .filter(order__exam__in=booked)
        .annotate(booked_day=TruncDate("order__exam__scheduled_start"))
        .filter(valid_to__lt=F("booked_day"))
        .select_related("order", "order__patient", "order__exam", "order__exam_type")
    )


def patient_orders(patient_id: UUID, *, limit: int = 50) -> QuerySet[Order]:
    """A patient's referrals, newest first, with what the patient page shows of each."""
    return (
        Order.objects.filter(patient_id=patient_id)
        .select_related("exam_type", "exam", "exam__room")
        .order_by("-received_at")[:limit]
    )
