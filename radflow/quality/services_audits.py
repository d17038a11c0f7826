"""Image-quality audits: the checklists, the month's seeded sample per sonographer, scoring,
feedback to the sonographer and their acknowledgement."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from radflow.catalog.models import ExamType
from radflow.core.errors import Conflict, PermissionDenied, ValidationFailed
from radflow.exams.models import Exam
from radflow.exams.selectors import PERFORMED_STATES
from radflow.notifications.services import notify
from radflow.quality.models import (
    AuditChecklist,
    AuditChecklistItem,
    AuditStatus,
    DrawKind,
    ImageAudit,
    ImageAuditScore,
    ItemResult,
    SampleDraw,
    ScoringMethod,
)
from radflow.quality.rules import ItemScore, audit_total, month_start, seeded_order
from radflow.quality.services import (
    full_clean_or_fail,
    month_bounds,
    quality_settings,
    sample_draw_record,
    save_as,
    user_or_none,
)
from radflow.scheduling.models import Modality

# --- checklists --------------------------------------------------------------------------------


@transaction.atomic
def checklist_save(
    *,
    by: Any,
    name: str,
    exam_type: ExamType | None,
    modality: Modality | None,
    protocol: str = "",
    active: bool = True,
    checklist: AuditChecklist | None = None,
) -> AuditChecklist:
    """A checklist for an exam type (and protocol) or, without an exam type, a modality.

    Only one active checklist may cover a scope, so which form applies is never a guess.
    """
    protocol = protocol.strip()
    errors: dict[str, list[str]] = {}
    if exam_type is None and modality is None:
        errors["exam_type"] = ["Choose the exam type, or a modality for a modality-wide form."]
    if exam_type is None and protocol:
        errors["protocol"] = ["A protocol narrows an exam type's form: choose the exam type."]
    if errors:
        raise ValidationFailed(errors)
    row = checklist or AuditChecklist()
    row.name = name.strip()
    row.exam_type = exam_type
    row.modality = exam_type.modality if exam_type is not None else modality
    row.protocol = protocol
    row.active = active
    full_clean_or_fail(row)
    if active:
        same = AuditChecklist.objects.filter(
            active=True, exam_type=exam_type, protocol__iexact=protocol
        ).exclude(pk=row.pk)
        if exam_type is None:
            same = same.filter(modality=row.modality)
        clash = same.first()
        if clash is not None:
            raise ValidationFailed(
                {"exam_type": [f"“{clash.name}” already covers {clash.scope}; edit that one."]}
            )
    save_as(row, by)
    return row


@transaction.atomic
def checklist_item_save(
    *,
    checklist: AuditChecklist,
    category: str,
    label: str,
    scoring: str = ScoringMethod.PASS_PARTIAL_FAIL,
    max_points: int = 2,
    guidance: str = "",
    position: int | None = None,
    active: bool = True,
    item: AuditChecklistItem | None = None,
) -> AuditChecklistItem:
    """Add or change an item; items are retired (``active=False``), never deleted, because
    earlier audits were scored against them."""
    row = item or AuditChecklistItem(checklist=checklist)
    if row.checklist_id != checklist.pk:
        raise ValidationFailed({"item": ["That item belongs to another checklist."]})
    if position is None:
        last = checklist.items.order_by("-position").values_list("position", flat=True).first()
        position = row.position if item is not None else (last or 0) + 1
    row.category = category
    row.label = label.strip()
    row.guidance = guidance.strip()
    row.scoring = scoring
    row.max_points = max_points
    row.position = position
    row.active = active
    full_clean_or_fail(row)
    row.save()
    return row


class ChecklistIndex:
    """The active checklists by scope, to find the most specific one for each exam: exam type
    and protocol, then the exam type, then the modality."""

    def __init__(self, checklists: Sequence[AuditChecklist]) -> None:
        self.by_type: dict[str, list[AuditChecklist]] = defaultdict(list)
        self.by_modality: dict[str, AuditChecklist] = {}
        for checklist in checklists:
            if checklist.exam_type is not None:
                self.by_type[checklist.exam_type.code].append(checklist)
            else:
                self.by_modality.setdefault(checklist.modality_id or "", checklist)
        self.modalities = {c.modality_id for c in checklists}

    def find(
        self, *, exam_type_code: str, modality_id: str, protocol: str
    ) -> AuditChecklist | None:
        by_type = self.by_type.get(exam_type_code, [])
        protocol_key = protocol.strip().lower()
        for checklist in by_type:
            if checklist.protocol and checklist.protocol.lower() == protocol_key:
                return checklist
        for checklist in by_type:
            if not checklist.protocol:
                return checklist
        return self.by_modality.get(modality_id)


# --- the month's sample ----------------------------------------------------------------------


@dataclass(frozen=True)
class SamplePlan:
    """What a draw would add (unsaved audits) and each person's audits in the month after it."""

    month: date
    seed: str
    size: int
    audits: list[ImageAudit]
    per_person: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DrawResult:
    month: date
    created: int
    draw: SampleDraw
    #: Employee number -> the person's audits in the month after the draw.
    per_person: dict[str, int] = field(default_factory=dict)


def audit_sample_plan(*, month: date) -> SamplePlan:
    """The exams the month's draw adds: per sonographer, the head of the seeded order of their
    exams completed in the month (department time) that have a checklist, minus those drawn.

    Reads plain columns (accession and employee numbers) for the whole month and keys only
    for the exams chosen, so a busy month costs one light query and one small one.
    """
    month = month_start(month)
    if month > month_start(timezone.localdate()):
        raise ValidationFailed({"month": ["That month has not begun yet."]})
    settings = quality_settings()
    size, seed = settings.audit_sample_size, settings.sample_seed
    start, end = month_bounds(month)
    checklists = ChecklistIndex(
        list(AuditChecklist.objects.filter(active=True).select_related("exam_type"))
    )
    rows = (
        Exam.objects.filter(
            completed_at__gte=start,
            completed_at__lt=end,
            state__in=PERFORMED_STATES,
            technologist__isnull=False,
            order__exam_type__modality__in=checklists.modalities,
        )
        .order_by()
        .values_list(
            "accession_number",
            "technologist__employee_number",
            "order__exam_type__code",
            "order__exam_type__modality_id",
            "order__protocol",
        )
    )
    candidates: dict[str, dict[str, AuditChecklist]] = defaultdict(dict)
    for accession, employee, type_code, modality_id, protocol in rows:
        checklist = checklists.find(
            exam_type_code=type_code, modality_id=modality_id, protocol=protocol
        )
        if checklist is not None:
            candidates[employee][accession] = checklist
    drawn: dict[str, set[str]] = defaultdict(set)
    for employee, accession in ImageAudit.objects.filter(month=month).values_list(
        "performer__employee_number", "exam__accession_number"
    ):
        drawn[employee].add(accession)
    chosen: dict[str, AuditChecklist] = {}
    for employee in sorted(candidates):
        pool = candidates[employee]
        wanted = size - len(drawn[employee])
        for accession in seeded_order(pool, seed=seed, month=month, person=employee):
            if wanted <= 0:
                break
            if accession not in drawn[employee]:
                chosen[accession] = pool[accession]
                drawn[employee].add(accession)
                wanted -= 1
    keys = Exam.objects.filter(accession_number__in=list(chosen)).values_list(
        "accession_number", "pk", "technologist_id"
    )
    audits = [
        ImageAudit(exam_id=pk, performer_id=staff_id, month=month, checklist=chosen[accession])
        for accession, pk, staff_id in sorted(keys)
    ]
    return SamplePlan(
        month=month,
        seed=seed,
        size=size,
        audits=audits,
        per_person={employee: len(found) for employee, found in sorted(drawn.items())},
    )


@transaction.atomic
def audit_sample_draw(*, month: date, by: Any = None, actor: str = "") -> DrawResult:
    """Draw (or top up) the month's image-quality sample (``audit_sample_plan``): the
    configured number of completed exams per sonographer. Drawing again adds nothing unless
    the sample size grew or exams were completed late, and never removes an exam drawn."""
    plan = audit_sample_plan(month=month)
    draw = sample_draw_record(
        kind=DrawKind.IMAGE_AUDIT,
        month=plan.month,
        seed=plan.seed,
        size=plan.size,
        created=len(plan.audits),
        by=by,
        actor=actor,
    )
    for audit in plan.audits:
        audit.draw = draw
    ImageAudit.objects.bulk_create(plan.audits, batch_size=500)
    return DrawResult(
        month=plan.month, created=len(plan.audits), draw=draw, per_person=plan.per_person
    )


# --- scoring and feedback --------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreInput:
    """One item as the auditor scored it: ``result`` (pass/partial/fail/na) for pass/partial/
    fail items, ``points`` for points items."""

    item_id: int
    result: str = ""
    points: Decimal | str | None = None
    comment: str = ""


def _check_scores(
    items: Sequence[AuditChecklistItem], scores: Sequence[ScoreInput]
) -> tuple[list[ImageAuditScore], list[ItemScore], dict[str, list[str]]]:
    given = {s.item_id: s for s in scores}
    errors: dict[str, list[str]] = {}
    rows: list[ImageAuditScore] = []
    arithmetic: list[ItemScore] = []
    results = {choice.value for choice in ItemResult}
    for item in items:
        key = f"item_{item.pk}"
        score = given.get(item.pk)
        if score is None:
            errors[key] = [f"Score “{item.label}”."]
            continue
        if item.scoring == ScoringMethod.POINTS:
            if score.result == ItemResult.NOT_APPLICABLE:
                rows.append(ImageAuditScore(item=item, result=ItemResult.NOT_APPLICABLE))
                arithmetic.append(ItemScore(item.max_points, result="na"))
                continue
            try:
                points = (
                    Decimal(str(score.points).strip()) if score.points not in (None, "") else None
                )
            except InvalidOperation:
                points = None
            if points is None or not points.is_finite():
                errors[key] = [f"Give “{item.label}” 0 to {item.max_points} points."]
                continue
            if points < 0 or points > item.max_points:
                errors[key] = [f"“{item.label}” scores 0 to {item.max_points} points."]
                continue
            rows.append(ImageAuditScore(item=item, points=points, comment=score.comment.strip()))
            arithmetic.append(ItemScore(item.max_points, points=points))
        else:
            if score.result not in results:
                errors[key] = [f"Mark “{item.label}” pass, partial, fail or not applicable."]
                continue
            rows.append(
                ImageAuditScore(item=item, result=score.result, comment=score.comment.strip())
            )
            arithmetic.append(ItemScore(item.max_points, result=score.result))
    unknown = set(given) - {item.pk for item in items}
    if unknown:
        errors["scores"] = ["Some scores are for items that are not on this checklist."]
    return rows, arithmetic, errors


@transaction.atomic
def image_audit_score(
    *, audit: ImageAudit, by: Any, scores: Sequence[ScoreInput], feedback: str = ""
) -> ImageAudit:
    """Score every active item of the audit's checklist, then tell the sonographer.

    Re-scoring is allowed until the sonographer acknowledges the audit; no one scores their own
    exam.
    """
    audit = (
        ImageAudit.objects.select_for_update().select_related("performer", "exam").get(pk=audit.pk)
    )
    if audit.status == AuditStatus.ACKNOWLEDGED:
        raise Conflict("The sonographer has acknowledged this audit; it can no longer change.")
    user = user_or_none(by)
    if user is not None and audit.performer.user_id == user.pk:
        raise PermissionDenied("You cannot audit your own exam.")
    items = list(audit.checklist.items.filter(active=True))
    rows, arithmetic, errors = _check_scores(items, scores)
    total = audit_total(arithmetic)
    if not errors and total.percent is None:
        errors["scores"] = ["At least one item must apply to this exam."]
    if errors:
        raise ValidationFailed(errors)
    first_time = audit.status == AuditStatus.PENDING
    audit.scores.all().delete()
    for row in rows:
        row.audit = audit
    ImageAuditScore.objects.bulk_create(rows)
    audit.status = AuditStatus.SCORED
    audit.auditor = user
    audit.scored_at = timezone.now()
    audit.points_earned, audit.points_possible = total.earned, total.possible
    audit.score_pct = total.percent
    audit.feedback = feedback.strip()
    audit.save()
    recipient = audit.performer.user
    if recipient is not None:
        verb = "scored" if first_time else "re-scored"
        notify(
            recipients=[recipient],
            kind="qa_audit",
            title=(
                f"Image-quality audit of {audit.exam.accession_number} {verb}: {audit.score_pct} %"
            ),
            body="Read the feedback and acknowledge it on My audits.",
            url=reverse("quality:audit_detail", kwargs={"pk": audit.pk}),
        )
    return audit


@transaction.atomic
def image_audit_acknowledge(*, audit: ImageAudit, by: Any, reply: str = "") -> ImageAudit:
    """The sonographer confirms they read the feedback (and may answer it)."""
    audit = ImageAudit.objects.select_for_update().select_related("performer").get(pk=audit.pk)
    user = user_or_none(by)
    if user is None or audit.performer.user_id != user.pk:
        raise PermissionDenied("Only the sonographer audited acknowledges the audit.")
    if audit.status != AuditStatus.SCORED:
        raise Conflict(
            "This audit is not scored yet."
            if audit.status == AuditStatus.PENDING
            else "You have already acknowledged this audit."
        )
    audit.status = AuditStatus.ACKNOWLEDGED
    audit.acknowledged_at = timezone.now()
    audit.reply = reply.strip()
    audit.save(update_fields=["status", "acknowledged_at", "reply", "updated_at"])
    return audit
