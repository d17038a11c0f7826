"""Writes for referrals: create, update, cancel, completeness, outreach, triage fields, SLA
escalation and pre-authorization. The pages call these now; HL7 and FHIR will call the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from radflow.billing.models import Payer
from radflow.catalog.models import ExamType
from radflow.core.errors import Conflict, ValidationFailed
from radflow.core.exam_states import BEFORE_ARRIVAL, ExamState
from radflow.core.icd10 import normalize_icd10
from radflow.core.roles import Role
from radflow.core.sla import Clock
from radflow.exams.models import Exam
from radflow.orders.models import (
    AttachmentKind,
    Authorization,
    AuthorizationContact,
    AuthStatus,
    CompletenessRule,
    EscalationLevel,
    Order,
    OrderAttachment,
    OrderDiagnosis,
    OrderPatientClass,
    OrderSource,
    OutreachAction,
    OutreachEntry,
    PayerAuthRule,
    Priority,
    SlaEscalation,
)
from radflow.orders.selectors import (
    OrderRules,
    missing_requirements,
    open_clock_orders,
    order_rules,
    sla_policy_for,
)
from radflow.patients.models import Patient

#: Order fields a person may set on the form (and HL7/FHIR may set through the same service).
ORDER_FIELDS = (
    "exam_type",
    "site",
    "priority",
    "patient_class",
    "payer",
    "ordering_provider",
    "ordering_provider_npi",
    "ordering_location",
    "ordering_phone",
    "clinical_indication",
    "signed_order",
    "prior_imaging_note",
    "lmp_date",
    "requested_date",
    "notes",
    "placer_order_number",
)

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
ATTACHMENT_TYPES = {"application/pdf", "image/png", "image/jpeg", "image/tiff", "text/plain"}


def _validate(order: Order, *, trusted: Iterable[str] = ()) -> None:
    try:
        order.full_clean(exclude=["missing", *trusted])
    except ValidationError as exc:
        raise ValidationFailed(exc.message_dict) from exc


#: Related rows a new order is given as objects its caller has just read.
_RELATED = ("patient", "exam_type", "site", "payer", "received_by")


def _trusted_on_create(order: Order) -> list[str]:
    """Fields of a new order that ``full_clean`` need not look up again: its primary key (a
    fresh UUID) and the related rows given as objects read from the database. Each check is a
    query that proves nothing the foreign keys do not enforce at commit anyway."""
    trusted = ["id"]
    for name in _RELATED:
        field = Order._meta.get_field(name)
        related = field.get_cached_value(order) if field.is_cached(order) else None  # type: ignore[union-attr]
        if related is not None and not related._state.adding:
            trusted.append(name)
    return trusted


def _check_exam_type(value: ExamType | str) -> ExamType:
    exam_type = value if isinstance(value, ExamType) else None
    if exam_type is None:
        exam_type = ExamType.objects.filter(code=str(value)).first()
        if exam_type is None:
            raise ValidationFailed({"exam_type": [f"Unknown exam type “{value}”."]})
    if not exam_type.active:
        raise ValidationFailed({"exam_type": [f"{exam_type} is no longer offered."]})
    return exam_type


def _diagnoses(codes: Iterable[str]) -> list[str]:
    result: list[str] = []
    for raw in codes:
        code = normalize_icd10(raw)
        if code not in result:
            result.append(code)
    return result


def _set_diagnoses(order: Order, codes: list[str]) -> None:
    order.diagnoses.all().delete()
    OrderDiagnosis.objects.bulk_create(
        OrderDiagnosis(order=order, code=code, position=i) for i, code in enumerate(codes, 1)
    )


def _refresh_completeness(order: Order) -> None:
    missing = missing_requirements(order)
    if missing != order.missing or order.is_complete != (not missing):
        order.missing, order.is_complete = missing, not missing
        order.save(update_fields=["missing", "is_complete", "updated_at"])


def _restart_clock(order: Order, rules: OrderRules | None = None) -> None:
    """(Re)compute the SLA clock from receipt with the policy for the current priority."""
    policy = sla_policy_for(order, rules=rules)
    if policy is None:
        order.sla_due_at = order.sla_warn_at = None
    else:
        clock = Clock.from_policy(order.received_at, policy.target_minutes, policy.warning_minutes)
        order.sla_due_at, order.sla_warn_at = clock.due_at, clock.warn_at


@transaction.atomic
def order_create(
    *,
    by: Any,
    patient: Patient,
    exam_type: ExamType | str,
    priority: str = Priority.ROUTINE,
    patient_class: str = OrderPatientClass.OUTPATIENT,
    diagnosis_codes: Iterable[str] = (),
    received_at: datetime | None = None,
    source: str = OrderSource.WEB,
    **fields: Any,
) -> Order:
    """A new referral and its exam (``requested``), with completeness and the SLA clock set."""
    unknown = set(fields) - set(ORDER_FIELDS)
    if unknown:
        raise ValidationFailed({name: ["Not an order field."] for name in sorted(unknown)})
    if not patient.active:
        raise Conflict("Orders cannot be placed for a merged or inactive patient.", field="patient")
    try:
        priority = Priority.parse(str(priority))
    except ValueError as exc:
        raise ValidationFailed({"priority": [f"Unknown priority “{priority}”."]}) from exc
    codes = _diagnoses(diagnosis_codes)
    order = Order(
        patient=patient,
        exam_type=_check_exam_type(exam_type),
        priority=priority,
        patient_class=patient_class,
        source=source,
        received_at=received_at or timezone.now(),
        received_by=by if getattr(by, "pk", None) else None,
        **fields,
    )
    _validate(order, trusted=_trusted_on_create(order))
    rules = order_rules()
    _restart_clock(order, rules)
    # Completeness is known before the first save (the codes below, no attachments yet): one
    # INSERT and one history row, not an INSERT, an UPDATE and two history rows.
    order.missing = missing_requirements(order, new_codes=codes, rules=rules)
    order.is_complete = not order.missing
    order._history_user = order.received_by  # type: ignore[attr-defined]
    order.save(force_insert=True)
    OrderDiagnosis.objects.bulk_create(
        OrderDiagnosis(order=order, code=code, position=i) for i, code in enumerate(codes, 1)
    )
    from radflow.exams.services import exam_open

    exam_open(order=order, at=order.received_at)
    return order


def _editable(order: Order) -> Exam:
    exam = Exam.objects.select_for_update().get(order=order)
    if ExamState(exam.state) not in BEFORE_ARRIVAL:
        raise Conflict(
            f"The order cannot be changed once the exam is {exam.get_state_display().lower()}.",
            field="order",
        )
    return exam


@transaction.atomic
def order_update(
    *,
    order: Order,
    by: Any,
    changes: Mapping[str, Any],
    diagnosis_codes: Iterable[str] | None = None,
) -> Order:
    """Change the referral's fields while the patient has not yet arrived."""
    unknown = set(changes) - set(ORDER_FIELDS)
    if unknown:
        raise ValidationFailed({name: ["Not an order field."] for name in sorted(unknown)})
    order = Order.objects.select_for_update().get(pk=order.pk)
    _editable(order)
    codes = _diagnoses(diagnosis_codes) if diagnosis_codes is not None else None
    old_priority = order.priority
    for name, value in changes.items():
        if name == "exam_type":
            value = _check_exam_type(value)
        if name == "priority":
            value = Priority.parse(str(value))
        setattr(order, name, value)
    _validate(order)
    if order.priority != old_priority:
        _restart_clock(order)
    order._history_user = by  # type: ignore[attr-defined]
    order.save()
    if codes is not None:
        _set_diagnoses(order, codes)
    _refresh_completeness(order)
    return order


def order_apply_triage(
    *,
    order: Order,
    by: Any,
    exam_type: ExamType | str | None,
    priority: str | None,
    protocol: str,
    instructions: str,
) -> None:
    """Triage's changes to the order; runs inside ``exams.services.exam_triage``'s transaction."""
    changed_priority = False
    if exam_type is not None:
        order.exam_type = _check_exam_type(exam_type)
    if priority:
        new = Priority.parse(priority)
        changed_priority = new != order.priority
        order.priority = new
    order.protocol = protocol.strip()
    order.instructions = instructions.strip()
    if by is not None:
        order.triaged_by = by
        if order.owner_id is None:
            order.owner = by
    _validate(order)
    if changed_priority:
        _restart_clock(order)
    order._history_user = by  # type: ignore[attr-defined]
    order.save()
    _refresh_completeness(order)


@transaction.atomic
def order_assign_owner(*, order: Order, by: Any, owner: Any) -> Order:
    order = Order.objects.select_for_update().get(pk=order.pk)
    order.owner = owner
    order._history_user = by  # type: ignore[attr-defined]
    order.save(update_fields=["owner", "updated_at"])
    return order


@transaction.atomic
def order_cancel(*, order: Order, by: Any, reason_code: str, reason: str = "") -> Order:
    """Cancel the referral: its exam moves to ``cancelled`` through the state machine."""
    from radflow.exams.services import exam_cancel

    exam_cancel(exam=order.exam, by=by, reason_code=reason_code, reason=reason)
    return order


@transaction.atomic
def outreach_log(
    *, order: Order, by: Any, action: str, note: str = "", at: datetime | None = None
) -> OutreachEntry:
    if action not in OutreachAction.values:
        raise ValidationFailed({"action": [f"Unknown outreach action “{action}”."]})
    return OutreachEntry.objects.create(
        order=order, action=action, note=note.strip(), at=at or timezone.now(), by=by
    )


@transaction.atomic
def attachment_add(*, order: Order, by: Any, kind: str, upload: UploadedFile) -> OrderAttachment:
    errors: dict[str, list[str]] = {}
    if kind not in AttachmentKind.values:
        errors["kind"] = [f"Unknown attachment kind “{kind}”."]
    if upload.size is not None and upload.size > MAX_ATTACHMENT_BYTES:
        errors["file"] = ["The file is larger than 20 MB."]
    if upload.content_type not in ATTACHMENT_TYPES:
        errors["file"] = ["Attach a PDF, PNG, JPEG, TIFF or text file."]
    if errors:
        raise ValidationFailed(errors)
    attachment = OrderAttachment.objects.create(
        order=order, kind=kind, file=upload, original_name=upload.name or "file", uploaded_by=by
    )
    _refresh_completeness(order)
    return attachment


# --- completeness rules ------------------------------------------------------------------------


def _recheck_open_orders() -> int:
    """After a rule change, every order still waiting for triage is re-evaluated."""
    changed = 0
    for order in Order.objects.filter(exam__state=ExamState.REQUESTED):
        before = (order.is_complete, list(order.missing))
        _refresh_completeness(order)
        changed += (order.is_complete, order.missing) != before
    return changed


@transaction.atomic
def completeness_rule_save(
    *,
    by: Any,
    requirement: str,
    exam_type: ExamType | None = None,
    payer: Payer | None = None,
    active: bool = True,
    note: str = "",
    rule: CompletenessRule | None = None,
) -> CompletenessRule:
    rule = rule or CompletenessRule()
    rule.requirement, rule.exam_type, rule.payer = requirement, exam_type, payer
    rule.active, rule.note = active, note
    try:
        rule.full_clean(validate_unique=False)
    except ValidationError as exc:
        raise ValidationFailed(exc.message_dict) from exc
    duplicate = CompletenessRule.objects.filter(
        requirement=requirement, exam_type=exam_type, payer=payer
    ).exclude(pk=rule.pk)
    if duplicate.exists():
        raise ValidationFailed({"requirement": ["The same rule already exists."]})
    rule._history_user = by  # type: ignore[attr-defined]
    rule.save()
    _recheck_open_orders()
    return rule


@transaction.atomic
def completeness_rule_delete(*, by: Any, rule: CompletenessRule) -> None:
    rule._history_user = by  # type: ignore[attr-defined]
    rule.delete()
    _recheck_open_orders()


# --- SLA escalation ----------------------------------------------------------------------------


def _escalation_recipients(order: Order) -> list[Any]:
    user_model = get_user_model()
    if order.owner_id is not None:
        return [order.owner]
    groups = [Role.COORDINATOR.value]
    if order.priority == Priority.STAT:
        groups.append(Role.RADIOLOGIST.value)
    return list(user_model.objects.filter(groups__name__in=groups, is_active=True).distinct())


def sla_escalate(*, now: datetime | None = None) -> list[SlaEscalation]:
    """Escalate every open clock past its warning or breach point, once per level.

    Run every minute by the worker; each order and level is escalated in its own transaction, and
    the unique (order, level) row makes a second run (or a second worker) send nothing.
    """
    from radflow.notifications.services import notify

    now = now or timezone.now()
    open_orders = open_clock_orders().filter(sla_warn_at__lte=now)
    sent: list[SlaEscalation] = []
    for order in open_orders.select_related("patient", "exam_type", "exam", "owner"):
        levels = [EscalationLevel.WARNING]
        if order.sla_due_at is not None and order.sla_due_at <= now:
            levels.append(EscalationLevel.BREACH)
        for level in levels:
            with transaction.atomic():
                row, created = SlaEscalation.objects.get_or_create(
                    order=order, level=level, defaults={"at": now}
                )
                if not created:
                    continue
                recipients = _escalation_recipients(order)
                word = "breached" if level == EscalationLevel.BREACH else "near breach"
                notify(
                    recipients=recipients,
                    kind=f"sla_{level}",
                    title=(
                        f"{order.get_priority_display()} {order.exam_type} "
                        f"({order.exam.accession_number}) {word}"
                    ),
                    body=(
                        f"Received {timezone.localtime(order.received_at):%Y-%m-%d %H:%M}; due "
                        f"{timezone.localtime(order.sla_due_at):%Y-%m-%d %H:%M}."
                        if order.sla_due_at
                        else ""
                    ),
                    url=reverse("orders:detail", kwargs={"pk": order.pk}),
                    at=now,
                )
                row.notified = [u.get_username() for u in recipients]
                row.save(update_fields=["notified"])
                sent.append(row)
    return sent


# --- pre-authorization -------------------------------------------------------------------------


@transaction.atomic
def payer_auth_rule_save(
    *, by: Any, payer: Payer, procedure_code: Any, auth_required: bool, lead_time_days: int
) -> PayerAuthRule:
    rule, _ = PayerAuthRule.objects.get_or_create(
        payer=payer,
        procedure_code=procedure_code,
        defaults={"auth_required": auth_required, "lead_time_days": lead_time_days},
    )
    rule.auth_required, rule.lead_time_days = auth_required, lead_time_days
    rule._history_user = by  # type: ignore[attr-defined]
    rule.save()
    return rule


@transaction.atomic
def authorization_request(
    *, order: Order, by: Any, note: str = "", at: datetime | None = None
) -> Authorization:
    """Open a pending authorization (the request went to the payer)."""
    if order.authorizations.filter(status=AuthStatus.PENDING).exists():
        raise Conflict("A pending authorization is already open for this order.", field="order")
    auth = Authorization(
        order=order, status=AuthStatus.PENDING, requested_at=at or timezone.now(), created_by=by
    )
    auth.note = note
    auth._history_user = by  # type: ignore[attr-defined]
    auth.save()
    return auth


@transaction.atomic
def authorization_decide(
    *,
    authorization: Authorization,
    by: Any,
    status: str,
    number: str = "",
    valid_from: date | None = None,
    valid_to: date | None = None,
    approved_units: int | None = None,
    note: str = "",
    at: datetime | None = None,
) -> Authorization:
    """Record the payer's answer; an approval moves a pending exam on to ``authorized``."""
    from radflow.exams.services import exam_authorization_approved

    auth = Authorization.objects.select_for_update().get(pk=authorization.pk)
    errors: dict[str, list[str]] = {}
    if status not in AuthStatus.values:
        errors["status"] = [f"Unknown status “{status}”."]
    if status == AuthStatus.APPROVED:
        if not number.strip():
            errors["number"] = ["An approval needs the payer's authorization number."]
        if valid_from is None or valid_to is None:
            errors["valid_to"] = ["An approval needs the dates it is valid from and to."]
    if valid_from and valid_to and valid_from > valid_to:
        errors["valid_to"] = ["The authorization ends before it starts."]
    if errors:
        raise ValidationFailed(errors)
    auth.status, auth.number = status, number.strip()
    auth.valid_from, auth.valid_to, auth.approved_units = valid_from, valid_to, approved_units
    auth.decided_at = at or timezone.now()
    if note:
        auth.note = note
    auth._history_user = by  # type: ignore[attr-defined]
    auth.save()
    if status == AuthStatus.APPROVED:
        exam_authorization_approved(exam=auth.order.exam, by=by)
    return auth


@transaction.atomic
def authorization_contact_add(
    *,
    authorization: Authorization,
    by: Any,
    channel: str,
    contact_name: str = "",
    reference: str = "",
    note: str = "",
    at: datetime | None = None,
) -> AuthorizationContact:
    contact = AuthorizationContact(
        authorization=authorization,
        channel=channel,
        contact_name=contact_name,
        reference=reference,
        note=note,
        at=at or timezone.now(),
        by=by,
    )
    try:
        contact.full_clean()
    except ValidationError as exc:
        raise ValidationFailed(exc.message_dict) from exc
    contact.save()
    return contact
