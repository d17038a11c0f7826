"""Writes: credentials and their verification, CE credits, competency sign-offs, cross-training,
and the expiry alerts. Each public function is one transaction; bad input raises
``ValidationFailed`` naming the field before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from radflow.catalog.models import Competency, ExamType
from radflow.core.errors import Conflict, ValidationFailed
from radflow.core.roles import Role
from radflow.credentials.models import (
    CECredit,
    CompetencySignoff,
    Credential,
    CredentialAlert,
    CredentialType,
    CreditCategory,
    CrossTrainingPlan,
    PlanStatus,
    SupervisedCase,
)
from radflow.credentials.rules import add_years, alert_thresholds
from radflow.credentials.selectors import _latest
from radflow.notifications.services import notify
from radflow.staff.models import StaffMember

MAX_EVIDENCE_BYTES = 20 * 1024 * 1024
EVIDENCE_TYPES = {"application/pdf", "image/png", "image/jpeg", "image/tiff"}
MAX_CREDITS_PER_ACTIVITY = Decimal(100)
ALERT_THRESHOLDS = (90, 60, 30)


def _today() -> date:
    return timezone.localdate()


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationFailed(errors)


def _type(code_or_type: CredentialType | str | None, errors: dict[str, list[str]]) -> Any:
    if isinstance(code_or_type, CredentialType):
        return code_or_type
    found = CredentialType.objects.filter(pk=code_or_type or "", active=True).first()
    if found is None:
        errors["credential_type"] = [f"Unknown credential type “{code_or_type or ''}”."]
    return found


def _check_evidence(upload: UploadedFile | None, errors: dict[str, list[str]]) -> None:
    if upload is None:
        return
    if upload.size is not None and upload.size > MAX_EVIDENCE_BYTES:
        errors["evidence"] = ["The file is larger than 20 MB."]
    elif upload.content_type not in EVIDENCE_TYPES:
        errors["evidence"] = ["Attach the certificate as a PDF, PNG, JPEG or TIFF file."]


# --- credentials -------------------------------------------------------------------------------


@transaction.atomic
def credential_add(
    *,
    by: User | None,
    staff: StaffMember,
    credential_type: CredentialType | str | None,
    issued_on: date,
    expires_on: date | None,
    number: str = "",
    evidence: UploadedFile | None = None,
    verified: bool = False,
    verification_note: str = "",
) -> Credential:
    """Record a credential; ``verified`` says the coordinator checked it at the source just now.

    Only a verified credential makes its holder eligible (``selectors.may_perform``).
    """
    errors: dict[str, list[str]] = {}
    kind = _type(credential_type, errors)
    if issued_on > _today():
        errors["issued_on"] = ["The issue date is in the future."]
    if expires_on is not None and expires_on <= issued_on:
        errors["expires_on"] = ["The expiry date must be after the issue date."]
    _check_evidence(evidence, errors)
    if verified and by is None:
        errors["verified"] = ["Only a signed-in person can verify a credential."]
    _raise(errors)
    credential = Credential(
        staff=staff,
        credential_type=kind,
        number=number.strip(),
        issued_on=issued_on,
        expires_on=expires_on,
        verification_note=verification_note.strip(),
    )
    if evidence is not None:
        credential.evidence = evidence
        credential.evidence_name = (evidence.name or "evidence")[:200]
    if verified:
        credential.verified_by = by
        credential.verified_at = timezone.now()
    credential.save()
    return credential


@transaction.atomic
def credential_verify(
    *,
    by: User,
    credential: Credential,
    note: str = "",
    evidence: UploadedFile | None = None,
) -> Credential:
    """Primary-source verification: who checked, when and how; optionally the evidence file."""
    errors: dict[str, list[str]] = {}
    _check_evidence(evidence, errors)
    if not note.strip() and not credential.verification_note:
        errors["note"] = ["Say how the credential was checked (e.g. “ARRT online verification”)."]
    _raise(errors)
    credential = Credential.objects.select_for_update().get(pk=credential.pk)
    credential.verified_by = by
    credential.verified_at = timezone.now()
    if note.strip():
        credential.verification_note = note.strip()[:200]
    if evidence is not None:
        credential.evidence = evidence
        credential.evidence_name = (evidence.name or "evidence")[:200]
    credential.save()
    return credential


# --- continuing education ----------------------------------------------------------------------


@transaction.atomic
def ce_credit_log(
    *,
    by: User | None,
    staff: StaffMember,
    activity: str,
    provider: str,
    completed_on: date,
    credits: Decimal,
    category: str,
) -> CECredit:
    errors: dict[str, list[str]] = {}
    if not activity.strip():
        errors["activity"] = ["Name the activity."]
    if not provider.strip():
        errors["provider"] = ["Name the provider."]
    if completed_on > _today():
        errors["completed_on"] = ["The completion date is in the future."]
    if credits <= 0 or credits > MAX_CREDITS_PER_ACTIVITY:
        errors["credits"] = ["Credits must be more than 0 and at most 100."]
    if category not in CreditCategory.values:
        errors["category"] = [f"Unknown CE category “{category}”."]
    _raise(errors)
    return CECredit.objects.create(
        staff=staff,
        activity=activity.strip()[:200],
        provider=provider.strip()[:120],
        completed_on=completed_on,
        credits=credits,
        category=category,
        logged_by=by,
    )


# --- competencies ------------------------------------------------------------------------------


def valid_until_after(day: date) -> date:
    """A (re)validation on ``day`` counts for one year: through the day before its anniversary."""
    return add_years(day, 1) - timedelta(days=1)


@transaction.atomic
def competency_sign_off(
    *,
    by: User | None,
    staff: StaffMember,
    competency: Competency,
    signed_off_on: date,
    observed_cases: int,
    assessor: StaffMember | None = None,
) -> CompetencySignoff:
    """Initial sign-off (or a fresh one after a lapse); completes an active plan toward it."""
    errors: dict[str, list[str]] = {}
    if signed_off_on > _today():
        errors["signed_off_on"] = ["The sign-off date is in the future."]
    if observed_cases < 1:
        errors["observed_cases"] = ["At least one observed case is needed for a sign-off."]
    if assessor is not None and assessor.pk == staff.pk:
        errors["assessor"] = ["A person cannot sign themselves off."]
    _raise(errors)
    signoff, _ = CompetencySignoff.objects.select_for_update().update_or_create(
        staff=staff,
        competency=competency,
        defaults={
            "signed_off_by": assessor,
            "signed_off_on": signed_off_on,
            "observed_cases": observed_cases,
            "revalidated_on": None,
            "revalidated_by": None,
            "valid_until": valid_until_after(signed_off_on),
            "recorded_by": by,
        },
    )
    CrossTrainingPlan.objects.filter(
        staff=staff, target=competency, status=PlanStatus.ACTIVE
    ).update(status=PlanStatus.COMPLETED, updated_at=timezone.now())
    return signoff


@transaction.atomic
def competency_revalidate(
    *,
    by: User | None,
    signoff: CompetencySignoff,
    revalidated_on: date,
    assessor: StaffMember | None = None,
) -> CompetencySignoff:
    """Annual re-validation: valid for another year from ``revalidated_on``."""
    signoff = CompetencySignoff.objects.select_for_update().get(pk=signoff.pk)
    errors: dict[str, list[str]] = {}
    if revalidated_on > _today():
        errors["revalidated_on"] = ["The re-validation date is in the future."]
    if revalidated_on < signoff.signed_off_on:
        errors["revalidated_on"] = ["The re-validation is before the initial sign-off."]
    if assessor is not None and assessor.pk == signoff.staff_id:
        errors["assessor"] = ["A person cannot re-validate themselves."]
    _raise(errors)
    signoff.revalidated_on = revalidated_on
    signoff.revalidated_by = assessor
    signoff.valid_until = valid_until_after(revalidated_on)
    signoff.recorded_by = by
    signoff.save()
    return signoff


# --- cross-training ----------------------------------------------------------------------------


@transaction.atomic
def plan_save(
    *,
    by: User | None,
    staff: StaffMember,
    target: Competency,
    required_cases: int,
    started_on: date,
    due_on: date,
    mentor: StaffMember | None = None,
    status: str = PlanStatus.ACTIVE,
    note: str = "",
    plan: CrossTrainingPlan | None = None,
) -> CrossTrainingPlan:
    """Create a cross-training plan, or update ``plan``."""
    errors: dict[str, list[str]] = {}
    if required_cases < 1:
        errors["required_cases"] = ["At least one supervised case is needed."]
    if due_on < started_on:
        errors["due_on"] = ["The due date is before the start date."]
    if status not in PlanStatus.values:
        errors["status"] = [f"Unknown plan status “{status}”."]
    if mentor is not None and mentor.pk == staff.pk:
        errors["mentor"] = ["A person cannot mentor themselves."]
    duplicate = CrossTrainingPlan.objects.filter(
        staff=staff, target=target, status=PlanStatus.ACTIVE
    )
    if plan is not None:
        duplicate = duplicate.exclude(pk=plan.pk)
    if status == PlanStatus.ACTIVE and duplicate.exists():
        errors["target"] = [f"{staff} already has an active plan toward {target}."]
    _raise(errors)
    if plan is None:
        plan = CrossTrainingPlan(staff=staff)
    else:
        plan = CrossTrainingPlan.objects.select_for_update().get(pk=plan.pk)
    plan.target = target
    plan.required_cases = required_cases
    plan.started_on = started_on
    plan.due_on = due_on
    plan.mentor = mentor
    plan.status = status
    plan.note = note.strip()[:200]
    plan.save()
    return plan


@transaction.atomic
def supervised_case_log(
    *,
    by: User | None,
    plan: CrossTrainingPlan,
    performed_on: date,
    exam_type: ExamType | None = None,
    accession_number: str = "",
    supervisor: StaffMember | None = None,
    note: str = "",
) -> SupervisedCase:
    from radflow.exams.models import Exam

    plan = CrossTrainingPlan.objects.select_for_update().get(pk=plan.pk)
    errors: dict[str, list[str]] = {}
    if plan.status != PlanStatus.ACTIVE:
        raise Conflict(
            f"The plan is {plan.get_status_display().lower()}; cases are logged on active plans.",
            field="plan",
            code="plan_not_active",
        )
    if performed_on > _today():
        errors["performed_on"] = ["The case date is in the future."]
    elif performed_on < plan.started_on:
        errors["performed_on"] = [f"The case is before the plan started ({plan.started_on})."]
    accession = accession_number.strip().upper()
    if accession:
        exam = Exam.objects.filter(accession_number=accession).select_related("order").first()
        if exam is None:
            errors["accession_number"] = [f"No exam with accession number {accession}."]
        elif exam_type is None:
            exam_type = exam.order.exam_type
    if supervisor is not None and supervisor.pk == plan.staff_id:
        errors["supervisor"] = ["A person cannot supervise their own case."]
    _raise(errors)
    return SupervisedCase.objects.create(
        plan=plan,
        performed_on=performed_on,
        exam_type=exam_type,
        accession_number=accession,
        supervisor=supervisor or plan.mentor,
        note=note.strip()[:200],
        logged_by=by,
    )


# --- expiry alerts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertSent:
    credential: Credential
    threshold: int


def _coordinators() -> list[User]:
    return list(
        User.objects.filter(groups__name=Role.COORDINATOR.value, is_active=True)
        .distinct()
        .order_by("pk")
    )


def _alert_text(credential: Credential, days_left: int) -> tuple[str, str]:
    name = f"{credential.credential_type.name} for {credential.staff}"
    if days_left < 0:
        title = f"{name} expired on {credential.expires_on}"
        body = (
            f"{credential.staff} is no longer eligible for exams that need "
            f"{credential.credential_type.name} until a renewal is recorded and verified."
        )
    else:
        title = f"{name} expires in {days_left} days ({credential.expires_on})"
        body = "Renew before the expiry date and send the new certificate to the coordinator."
    return title, body


def credential_alerts_send(*, today: date | None = None) -> list[AlertSent]:
    """Alert the holder and the coordinators at 90/60/30 days before expiry and on expiry.

    Each threshold is sent once per credential: the most urgent one reached is sent and every
    reached threshold is recorded, so a credential entered 20 days before expiry gets one "30
    days" alert, not three. The unique (credential, threshold) row is claimed before notifying,
    so two workers never send the same alert; each credential is its own transaction.
    """
    today = today or _today()
    horizon = today + timedelta(days=max(ALERT_THRESHOLDS))
    candidates = _latest(
        Credential.objects.filter(
            staff__active=True, expires_on__isnull=False, expires_on__lte=horizon
        )
        .select_related("credential_type", "staff__user")
        .prefetch_related("alerts")
    )
    # A renewal that expires later supersedes: alert on nothing the person already renewed.
    renewed = set(
        Credential.objects.filter(
            staff_id__in={c.staff_id for c in candidates}, expires_on__gt=horizon
        ).values_list("staff_id", "credential_type_id")
    ) | set(
        Credential.objects.filter(
            staff_id__in={c.staff_id for c in candidates}, expires_on__isnull=True
        ).values_list("staff_id", "credential_type_id")
    )
    coordinators = _coordinators() if candidates else []
    sent: list[AlertSent] = []
    for credential in sorted(candidates, key=lambda c: (c.expires_on, c.pk)):
        if (credential.staff_id, credential.credential_type_id) in renewed:
            continue
        if credential.expires_on is None:
            continue
        days_left = (credential.expires_on - today).days
        done = {alert.threshold for alert in credential.alerts.all()}
        reached = [t for t in alert_thresholds(days_left, ALERT_THRESHOLDS) if t not in done]
        if not reached:
            continue
        if _send_one(credential, reached, days_left, coordinators):
            sent.append(AlertSent(credential, reached[0]))
    return sent


@transaction.atomic
def _send_one(
    credential: Credential, reached: list[int], days_left: int, coordinators: list[User]
) -> bool:
    now = timezone.now()
    try:
        with transaction.atomic():
            CredentialAlert.objects.create(credential=credential, threshold=reached[0], sent_at=now)
    except IntegrityError:
        return False  # another worker sent it
    CredentialAlert.objects.bulk_create(
        [CredentialAlert(credential=credential, threshold=t, sent_at=now) for t in reached[1:]],
        ignore_conflicts=True,
    )
    title, body = _alert_text(credential, days_left)
    holder = credential.staff.user
    if holder is not None and holder.is_active and holder not in coordinators:
        notify(
            recipients=[holder],
            kind="credential_expiry",
            title=title,
            body=body,
            url=reverse("credentials:mine"),
            at=now,
        )
    notify(
        recipients=coordinators,
        kind="credential_expiry",
        title=title,
        body=body,
        url=reverse("credentials:person", kwargs={"pk": credential.staff_id}),
        at=now,
    )
    return True
