"""Radiologist peer review (RADPEER): random, blinded assignment of signed reads to other
radiologists, scoring, and the follow-up of significant discrepancies (2b, 3a, 3b).

Blinding is kept where people read: the reviewer's notification and page never name the reader,
the reader's never name the reviewer (see ``selectors``). Managers running the program see both.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from radflow.core.errors import Conflict, PermissionDenied, ValidationFailed
from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam
from radflow.notifications.services import notify
from radflow.quality.models import (
    FOLLOW_UP_SCORES,
    DiscrepancyFollowUp,
    DrawKind,
    FollowUpAction,
    FollowUpStatus,
    PeerReview,
    RadpeerScore,
    ReviewStatus,
    SampleDraw,
)
from radflow.quality.rules import month_start, pick_reviewer, seeded_order
from radflow.quality.services import (
    month_bounds,
    quality_settings,
    sample_draw_record,
    save_as,
    user_or_none,
)
from radflow.staff.models import JobRole, StaffMember

#: Reads count once signed (the final report).
SIGNED_STATES = (ExamState.SIGNED, ExamState.BILLED)


@dataclass(frozen=True)
class AssignResult:
    month: date
    created: int
    draw: SampleDraw
    #: Reviewer employee number -> reviews assigned to them in this draw.
    per_reviewer: dict[str, int]


@dataclass(frozen=True)
class AssignPlan:
    """The reviews a month's assignment would add (unsaved) and the radiologists it read."""

    month: date
    seed: str
    per_reader: int
    reviews: list[PeerReview]
    per_reviewer: dict[str, int]
    radiologists: dict[str, tuple[Any, set[str], Any]] = field(default_factory=dict)


def _radiologists() -> dict[str, tuple[Any, set[str], Any]]:
    """Active radiologists: employee number -> (staff id, modality codes, user id)."""
    found: dict[str, tuple[Any, set[str], Any]] = {}
    people = StaffMember.objects.filter(job_role=JobRole.RADIOLOGIST, active=True)
    for person in people.prefetch_related("modalities"):
        codes = {m.code for m in person.modalities.all()}
        found[person.employee_number] = (person.pk, codes, person.user_id)
    return found


def peer_review_plan(*, month: date) -> AssignPlan:
    """Which signed reads of the month go to whom: per reader, the head of the seeded order of
    their reads not yet under review; each to the least-loaded other radiologist (preferring
    those who read the modality; ties broken by a seeded draw), round by round across readers
    so the load stays even."""
    month = month_start(month)
    if month > month_start(timezone.localdate()):
        raise ValidationFailed({"month": ["That month has not begun yet."]})
    settings = quality_settings()
    per_reader, seed = settings.peer_reviews_per_radiologist, settings.sample_seed
    start, end = month_bounds(month)
    radiologists = _radiologists()
    reads: dict[str, dict[str, str]] = defaultdict(dict)
    for accession, reader, modality in (
        Exam.objects.filter(
            signed_at__gte=start,
            signed_at__lt=end,
            state__in=SIGNED_STATES,
            radiologist__isnull=False,
        )
        .order_by()
        .values_list(
            "accession_number", "radiologist__employee_number", "order__exam_type__modality_id"
        )
    ):
        if reader in radiologists:
            reads[reader][accession] = modality
    existing: dict[str, int] = defaultdict(int)
    load: dict[str, int] = defaultdict(int)
    reviewed: set[str] = set()
    for accession, reader, reviewer in PeerReview.objects.filter(month=month).values_list(
        "exam__accession_number", "reader__employee_number", "reviewer__employee_number"
    ):
        reviewed.add(accession)
        existing[reader] += 1
        load[reviewer] += 1
    # Not cryptography: a reproducible tie-break an auditor can repeat from the seed.
    rng = random.Random(f"{seed}:{month:%Y-%m}:peer-review")  # noqa: S311
    queues: dict[str, list[str]] = {
        reader: [
            accession
            for accession in seeded_order(reads[reader], seed=seed, month=month, person=reader)
            if accession not in reviewed
        ][: max(0, per_reader - existing[reader])]
        for reader in sorted(reads)
    }
    chosen: list[tuple[str, str, str]] = []  # (accession, reader, reviewer)
    given: dict[str, int] = defaultdict(int)
    for round_index in range(max((len(q) for q in queues.values()), default=0)):
        for reader, queue in queues.items():
            if round_index >= len(queue):
                continue
            accession = queue[round_index]
            others = [e for e in sorted(radiologists) if e != reader]
            readers_of_modality = [
                e for e in others if reads[reader][accession] in radiologists[e][1]
            ]
            picked = pick_reviewer(readers_of_modality or others, load=load, rng=rng)
            if picked is None:
                continue  # a department of one radiologist has no peer to review them
            chosen.append((accession, reader, picked))
            load[picked] += 1
            given[picked] += 1
    keys = dict(
        Exam.objects.filter(accession_number__in=[a for a, _, _ in chosen]).values_list(
            "accession_number", "pk"
        )
    )
    now = timezone.now()
    due_on = timezone.localdate() + timedelta(days=settings.peer_review_due_days)
    reviews = [
        PeerReview(
            exam_id=keys[accession],
            reader_id=radiologists[reader][0],
            reviewer_id=radiologists[reviewer][0],
            month=month,
            assigned_at=now,
            due_on=due_on,
        )
        for accession, reader, reviewer in chosen
    ]
    return AssignPlan(
        month=month,
        seed=seed,
        per_reader=per_reader,
        reviews=reviews,
        per_reviewer=dict(given),
        radiologists=radiologists,
    )


@transaction.atomic
def peer_review_assign_month(
    *, month: date, by: Any = None, actor: str = "", notify_reviewers: bool = True
) -> AssignResult:
    """Assign the configured number of each radiologist's signed reads of the month to other
    radiologists (``peer_review_plan``), and tell each reviewer how many they have (never
    whose). Drawing the month again tops up and never moves an assignment already made."""
    plan = peer_review_plan(month=month)
    draw = sample_draw_record(
        kind=DrawKind.PEER_REVIEW,
        month=plan.month,
        seed=plan.seed,
        size=plan.per_reader,
        created=len(plan.reviews),
        by=by,
        actor=actor,
    )
    for review in plan.reviews:
        review.draw = draw
    PeerReview.objects.bulk_create(plan.reviews, batch_size=500)
    if notify_reviewers:
        _tell_reviewers(plan.per_reviewer, plan.radiologists, plan.month)
    return AssignResult(
        month=plan.month, created=len(plan.reviews), draw=draw, per_reviewer=plan.per_reviewer
    )


def _tell_reviewers(
    given: dict[str, int], radiologists: dict[str, tuple[Any, set[str], Any]], month: date
) -> None:
    from django.contrib.auth.models import User

    users = {
        u.pk: u
        for u in User.objects.filter(
            pk__in=[radiologists[e][2] for e in given if radiologists[e][2] is not None]
        )
    }
    url = reverse("quality:peer_mine")
    for employee, count in sorted(given.items()):
        user = users.get(radiologists[employee][2])
        if user is not None:
            notify(
                recipients=[user],
                kind="peer_review",
                title=f"{count} peer review{'s' if count != 1 else ''} to do ({month:%B %Y})",
                url=url,
            )


def _locked(review: PeerReview) -> PeerReview:
    return (
        PeerReview.objects.select_for_update()
        .select_related("reviewer", "reader", "exam")
        .get(pk=review.pk)
    )


def _check_reviewer(review: PeerReview, by: Any) -> None:
    user = user_or_none(by)
    if user is None or review.reviewer.user_id != user.pk:
        raise PermissionDenied("Only the radiologist assigned scores this review.")
    if review.status != ReviewStatus.ASSIGNED:
        raise Conflict("This review is already closed.")


@transaction.atomic
def peer_review_submit(*, review: PeerReview, by: Any, score: str, comment: str = "") -> PeerReview:
    """The reviewer's RADPEER score; a 2b, 3a or 3b opens a follow-up for its owner."""
    review = _locked(review)
    _check_reviewer(review, by)
    comment = comment.strip()
    errors: dict[str, list[str]] = {}
    if score not in RadpeerScore.values:
        errors["score"] = ["Choose a RADPEER score: 1, 2a, 2b, 3a or 3b."]
    elif score != RadpeerScore.CONCUR and not comment:
        errors["comment"] = ["Describe the discrepancy: the reader will read it."]
    if errors:
        raise ValidationFailed(errors)
    review.score = score
    review.comment = comment
    review.status = ReviewStatus.COMPLETED
    review.completed_at = timezone.now()
    review.save(update_fields=["score", "comment", "status", "completed_at", "updated_at"])
    if score in FOLLOW_UP_SCORES:
        _open_follow_up(review)
    if score != RadpeerScore.CONCUR and review.reader.user is not None:
        notify(
            recipients=[review.reader.user],
            kind="peer_review_result",
            title=f"Peer review of your read of {review.exam.accession_number}: {score}",
            url=reverse("quality:peer_mine") + "#results",
        )
    return review


def _open_follow_up(review: PeerReview) -> DiscrepancyFollowUp:
    settings = quality_settings()
    follow_up = DiscrepancyFollowUp(
        review=review,
        owner=settings.follow_up_owner,
        opened_at=timezone.now(),
        due_on=timezone.localdate() + timedelta(days=settings.follow_up_due_days),
    )
    save_as(follow_up, None)
    if follow_up.owner is not None:
        _tell_owner(follow_up)
    return follow_up


def _tell_owner(follow_up: DiscrepancyFollowUp) -> None:
    review = follow_up.review
    notify(
        recipients=[follow_up.owner],
        kind="peer_follow_up",
        title=f"Discrepancy {review.score} on {review.exam.accession_number}: follow-up is yours",
        url=reverse("quality:follow_up_detail", kwargs={"pk": follow_up.pk}),
    )


@transaction.atomic
def peer_review_decline(*, review: PeerReview, by: Any, reason: str) -> PeerReview:
    """The reviewer cannot review this read (a conflict, images unavailable ...)."""
    review = _locked(review)
    _check_reviewer(review, by)
    reason = reason.strip()
    if not reason:
        raise ValidationFailed({"reason": ["Say why you cannot review this read."]})
    review.status = ReviewStatus.DECLINED
    review.decline_reason = reason[:200]
    review.save(update_fields=["status", "decline_reason", "updated_at"])
    return review


@transaction.atomic
def peer_review_reassign(*, review: PeerReview, by: Any, reviewer: StaffMember) -> PeerReview:
    """A manager gives a declined or late review to another radiologist."""
    review = _locked(review)
    errors: dict[str, list[str]] = {}
    if review.status == ReviewStatus.COMPLETED:
        raise Conflict("This review is done; it cannot move.")
    if reviewer.job_role != JobRole.RADIOLOGIST or not reviewer.active:
        errors["reviewer"] = ["Choose an active radiologist."]
    elif reviewer.pk == review.reader_id:
        errors["reviewer"] = ["A radiologist cannot review their own read."]
    elif reviewer.pk == review.reviewer_id and review.status == ReviewStatus.ASSIGNED:
        errors["reviewer"] = ["This radiologist already has the review."]
    elif (
        PeerReview.objects.filter(exam_id=review.exam_id, reviewer=reviewer)
        .exclude(pk=review.pk)
        .exists()
    ):
        errors["reviewer"] = ["This radiologist has already reviewed this read."]
    if errors:
        raise ValidationFailed(errors)
    review.reviewer = reviewer
    review.status = ReviewStatus.ASSIGNED
    review.decline_reason = ""
    review.assigned_at = timezone.now()
    review.due_on = timezone.localdate() + timedelta(days=quality_settings().peer_review_due_days)
    review.save(
        update_fields=[
            "reviewer",
            "status",
            "decline_reason",
            "assigned_at",
            "due_on",
            "updated_at",
        ]
    )
    if reviewer.user is not None:
        notify(
            recipients=[reviewer.user],
            kind="peer_review",
            title="1 peer review to do",
            url=reverse("quality:peer_mine"),
        )
    return review


# --- discrepancy follow-up -------------------------------------------------------------------


def _locked_follow_up(follow_up: DiscrepancyFollowUp) -> DiscrepancyFollowUp:
    found = (
        DiscrepancyFollowUp.objects.select_for_update()
        .select_related("review__exam")
        .get(pk=follow_up.pk)
    )
    if found.status == FollowUpStatus.CLOSED:
        raise Conflict("This follow-up is closed.")
    return found


@transaction.atomic
def follow_up_update(
    *,
    follow_up: DiscrepancyFollowUp,
    by: Any,
    owner: Any,
    due_on: date,
    action_kind: str = "",
    action: str = "",
) -> DiscrepancyFollowUp:
    """Who owns it, by when, and what has been done so far."""
    follow_up = _locked_follow_up(follow_up)
    action = action.strip()
    errors: dict[str, list[str]] = {}
    if owner is None:
        errors["owner"] = ["Every follow-up needs an owner."]
    if action_kind and action_kind not in FollowUpAction.values:
        errors["action_kind"] = ["Choose what was done from the list."]
    if action and not action_kind:
        errors["action_kind"] = ["Say what kind of action this was."]
    if action_kind and not action:
        errors["action"] = ["Describe the action taken."]
    if due_on < follow_up.opened_at.date():
        errors["due_on"] = ["The due date cannot be before the follow-up opened."]
    if errors:
        raise ValidationFailed(errors)
    new_owner = owner.pk != follow_up.owner_id
    follow_up.owner = owner
    follow_up.due_on = due_on
    follow_up.action_kind = action_kind
    follow_up.action = action
    follow_up.status = FollowUpStatus.IN_PROGRESS if action else FollowUpStatus.OPEN
    save_as(follow_up, by)
    if new_owner and owner.pk != getattr(user_or_none(by), "pk", None):
        _tell_owner(follow_up)
    return follow_up


@transaction.atomic
def follow_up_close(
    *, follow_up: DiscrepancyFollowUp, by: Any, outcome: str
) -> DiscrepancyFollowUp:
    """Closure needs a recorded action and the outcome in words."""
    follow_up = _locked_follow_up(follow_up)
    outcome = outcome.strip()
    errors: dict[str, list[str]] = {}
    if not follow_up.action_kind or not follow_up.action:
        errors["action"] = ["Record the action taken before closing the follow-up."]
    if not outcome:
        errors["outcome"] = ["Write the outcome."]
    if errors:
        raise ValidationFailed(errors)
    follow_up.outcome = outcome
    follow_up.status = FollowUpStatus.CLOSED
    follow_up.closed_at = timezone.now()
    follow_up.closed_by = user_or_none(by)
    save_as(follow_up, by)
    return follow_up
