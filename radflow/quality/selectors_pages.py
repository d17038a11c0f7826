"""Reads for the quality pages, including the two blinded views of a peer review.

The reviewer's view and the reader's view are dataclasses that do not carry the other
radiologist at all, so no template can show what it was never given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from radflow.audit.models import AccessChannel
from radflow.audit.services import AccessSource, PatientRef, access_record
from radflow.quality.models import (
    AccessibilityRequest,
    AuditChecklist,
    CorrectiveAction,
    DiscrepancyFollowUp,
    Feedback,
    FollowUpStatus,
    ImageAudit,
    Incident,
    PeerReview,
    ReviewStatus,
)
from radflow.quality.rules import redact
from radflow.staff.models import StaffMember


def own_staff(user: Any) -> StaffMember | None:
    if user is None or not user.is_authenticated:
        return None
    return StaffMember.objects.filter(user=user).first()


def audit_patient_read(*, user: Any, request: Any, patients: list[Any], action: str) -> None:
    """One access-log row per patient shown (patients as ``Patient`` or ``PatientRef``)."""
    shown = [p for p in patients if p is not None]
    if shown:
        access_record(
            user=user,
            patients=shown,
            action=action,
            source=AccessSource.from_request(request, AccessChannel.WEB),
        )


# --- audits --------------------------------------------------------------------------------------


def audit_list(
    *, month: date | None = None, performer: Any = None, status: str = ""
) -> QuerySet[ImageAudit]:
    rows = ImageAudit.objects.select_related(
        "exam__order__exam_type", "performer", "checklist", "auditor"
    )
    if month is not None:
        rows = rows.filter(month=month.replace(day=1))
    if performer is not None:
        rows = rows.filter(performer=performer)
    if status:
        rows = rows.filter(status=status)
    return rows.order_by("-month", "performer__family_name", "exam__accession_number")


def audit_get(pk: Any) -> ImageAudit:
    return (
        ImageAudit.objects.select_related(
            "exam__order__exam_type__modality",
            "exam__order__patient",
            "exam__room__site",
            "performer",
            "checklist",
            "auditor",
        )
        .prefetch_related("scores__item")
        .get(pk=pk)
    )


def my_audits(staff: StaffMember) -> QuerySet[ImageAudit]:
    return (
        ImageAudit.objects.filter(performer=staff)
        .select_related("exam__order__exam_type", "checklist")
        .order_by("-month", "-scored_at")
    )


def checklists() -> QuerySet[AuditChecklist]:
    return AuditChecklist.objects.select_related("exam_type", "modality").annotate(
        item_count=Count("items", filter=Q(items__active=True))
    )


# --- peer review: the two blinded views ----------------------------------------------------------


@dataclass(frozen=True)
class ReviewerView:
    """What the reviewing radiologist sees: the study and the report, never who read it."""

    id: Any
    accession_number: str
    exam_type: str
    modality: str
    performed_at: datetime | None
    signed_at: datetime | None
    patient_sex: str
    patient_age: int | None
    indication: str
    report_text: str
    due_on: date
    status: str
    status_label: str
    score: str
    comment: str


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def reviewer_view(review: PeerReview) -> ReviewerView:
    exam = review.exam
    order = exam.order
    reader = review.reader
    on = timezone.localdate(exam.in_progress_at) if exam.in_progress_at else timezone.localdate()
    return ReviewerView(
        id=review.pk,
        accession_number=exam.accession_number,
        exam_type=order.exam_type.name,
        modality=order.exam_type.modality_id,
        performed_at=exam.in_progress_at,
        signed_at=exam.signed_at,
        patient_sex=order.patient.get_sex_display(),
        patient_age=_age(order.patient.birth_date, on),
        indication=order.clinical_indication,
        report_text=redact(
            exam.report_text,
            [reader.given_name, reader.family_name, reader.employee_number],
        ),
        due_on=review.due_on,
        status=review.status,
        status_label=review.get_status_display(),
        score=review.score,
        comment=review.comment,
    )


def review_for_page(pk: Any) -> PeerReview:
    return PeerReview.objects.select_related(
        "exam__order__exam_type", "exam__order__patient", "reader", "reviewer"
    ).get(pk=pk)


def reviews_to_do(staff: StaffMember) -> list[ReviewerView]:
    rows = (
        PeerReview.objects.filter(reviewer=staff, status=ReviewStatus.ASSIGNED)
        .select_related("exam__order__exam_type", "exam__order__patient", "reader")
        .order_by("due_on", "exam__accession_number")
    )
    return [reviewer_view(r) for r in rows]


def reviews_done(staff: StaffMember, *, limit: int = 50) -> list[ReviewerView]:
    rows = (
        PeerReview.objects.filter(reviewer=staff)
        .exclude(status=ReviewStatus.ASSIGNED)
        .select_related("exam__order__exam_type", "exam__order__patient", "reader")
        .order_by("-completed_at", "-updated_at")[:limit]
    )
    return [reviewer_view(r) for r in rows]


@dataclass(frozen=True)
class ReaderResult:
    """What the reading radiologist sees of a review of their read: never the reviewer."""

    accession_number: str
    exam_type: str
    signed_at: datetime | None
    reviewed_at: datetime | None
    score: str
    score_label: str
    comment: str
    follow_up_status: str


def results_for_reader(staff: StaffMember, *, limit: int = 100) -> list[ReaderResult]:
    rows = (
        PeerReview.objects.filter(reader=staff, status=ReviewStatus.COMPLETED)
        .select_related("exam__order__exam_type", "follow_up")
        .order_by("-completed_at")[:limit]
    )
    results = []
    for review in rows:
        follow_up = getattr(review, "follow_up", None)
        results.append(
            ReaderResult(
                accession_number=review.exam.accession_number,
                exam_type=review.exam.order.exam_type.name,
                signed_at=review.exam.signed_at,
                reviewed_at=review.completed_at,
                score=review.score,
                score_label=review.get_score_display(),
                comment=review.comment,
                follow_up_status=follow_up.get_status_display() if follow_up else "",
            )
        )
    return results


def reader_score_counts(staff: StaffMember) -> dict[str, int]:
    return dict(
        PeerReview.objects.filter(reader=staff, status=ReviewStatus.COMPLETED)
        .values_list("score")
        .annotate(n=Count("pk"))
        .order_by()
    )


def review_list(*, month: date | None = None, status: str = "") -> QuerySet[PeerReview]:
    """Every assignment, for the people running the program (they see both radiologists)."""
    rows = PeerReview.objects.select_related(
        "exam__order__exam_type", "reader", "reviewer", "follow_up"
    )
    if month is not None:
        rows = rows.filter(month=month.replace(day=1))
    if status:
        rows = rows.filter(status=status)
    return rows.order_by("-month", "status", "due_on")


def reviewer_workload(month: date) -> list[dict[str, Any]]:
    return list(
        PeerReview.objects.filter(month=month.replace(day=1))
        .values("reviewer__given_name", "reviewer__family_name")
        .annotate(
            assigned=Count("pk"),
            done=Count("pk", filter=Q(status=ReviewStatus.COMPLETED)),
            declined=Count("pk", filter=Q(status=ReviewStatus.DECLINED)),
        )
        .order_by("reviewer__family_name", "reviewer__given_name")
    )


def follow_ups(*, owner: Any = None, include_closed: bool = False) -> QuerySet[DiscrepancyFollowUp]:
    rows = DiscrepancyFollowUp.objects.select_related(
        "review__exam__order__exam_type", "review__reader", "owner"
    )
    if owner is not None:
        rows = rows.filter(owner_id=owner)
    if not include_closed:
        rows = rows.exclude(status=FollowUpStatus.CLOSED)
    return rows.order_by("status", "due_on")


def follow_up_get(pk: Any) -> DiscrepancyFollowUp:
    return DiscrepancyFollowUp.objects.select_related(
        "review__exam__order__exam_type",
        "review__exam__order__patient",
        "review__reader",
        "owner",
        "closed_by",
    ).get(pk=pk)


# --- incidents, complaints, accessibility --------------------------------------------------------


def incident_list(*, status: str = "", severity: str = "", kind: str = "") -> QuerySet[Incident]:
    rows = Incident.objects.select_related("site", "reported_by").annotate(
        open_actions=Count("actions", filter=Q(actions__status="open")),
    )
    if status:
        rows = rows.filter(status=status)
    if severity:
        rows = rows.filter(severity=severity)
    if kind:
        rows = rows.filter(kind=kind)
    return rows.order_by("-occurred_at")


def incident_get(pk: Any) -> Incident:
    return Incident.objects.select_related(
        "site",
        "reported_by",
        "closed_by",
        "exam__order__exam_type",
        "patient",
    ).get(pk=pk)


def incident_actions(incident: Incident) -> QuerySet[CorrectiveAction]:
    return incident.actions.select_related("owner").order_by("due_on", "created_at")


def action_get(pk: Any) -> CorrectiveAction:
    return CorrectiveAction.objects.select_related("incident", "owner").get(pk=pk)


def my_actions(user_id: Any) -> QuerySet[CorrectiveAction]:
    return (
        CorrectiveAction.objects.filter(owner_id=user_id, status="open")
        .select_related("incident")
        .order_by("due_on")
    )


def feedback_list(*, kind: str = "", status: str = "", category: str = "") -> QuerySet[Feedback]:
    rows = Feedback.objects.select_related("owner", "site", "staff_named")
    if kind:
        rows = rows.filter(kind=kind)
    if status:
        rows = rows.filter(status=status)
    if category:
        rows = rows.filter(category=category)
    return rows.order_by("-received_on", "-number")


def feedback_get(pk: Any) -> Feedback:
    return Feedback.objects.select_related(
        "owner",
        "site",
        "staff_named",
        "patient",
        "exam__order__exam_type",
        "resolved_by",
        "recorded_by",
    ).get(pk=pk)


def access_requests(*, status: str = "") -> QuerySet[AccessibilityRequest]:
    rows = AccessibilityRequest.objects.select_related("patient", "exam", "requested_by")
    if status:
        rows = rows.filter(status=status)
    return rows.order_by("status", "-needed_on")


def access_get(pk: Any) -> AccessibilityRequest:
    return AccessibilityRequest.objects.select_related(
        "patient", "exam__order__exam_type", "requested_by", "resolved_by"
    ).get(pk=pk)


def patient_ref(patient: Any) -> PatientRef | None:
    return PatientRef(pk=patient.pk, mrn=patient.mrn) if patient is not None else None
