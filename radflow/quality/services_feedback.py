"""Patient complaints and compliments: an owner and a response deadline in working days for each
complaint, and its resolution. Compliments are recorded and passed on; they carry no deadline."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from radflow.core.errors import Conflict, ValidationFailed
from radflow.exams.models import Exam
from radflow.notifications.services import notify
from radflow.patients.models import Patient
from radflow.quality.models import (
    Feedback,
    FeedbackCategory,
    FeedbackChannel,
    FeedbackKind,
    FeedbackStatus,
)
from radflow.quality.rules import add_working_days
from radflow.quality.services import (
    full_clean_or_fail,
    next_number,
    quality_settings,
    save_as,
    user_or_none,
    working_day_checker,
)
from radflow.scheduling.models import Site
from radflow.staff.models import StaffMember


def response_due(received_on: date) -> date:
    """The complaint's response deadline: the configured working days after receipt."""
    days = quality_settings().complaint_response_working_days
    # Enough calendar days to hold the working days plus any holiday weeks.
    holidays = working_day_checker(received_on, received_on + timedelta(days=days * 3 + 14))
    return add_working_days(received_on, days, is_holiday=holidays)


def _tell_owner(feedback: Feedback) -> None:
    due = f", response due {feedback.response_due_on:%Y-%m-%d}" if feedback.response_due_on else ""
    notify(
        recipients=[feedback.owner],
        kind="feedback_owner",
        title=f"{feedback.get_kind_display()} {feedback.number} is yours{due}",
        url=reverse("quality:feedback_detail", kwargs={"pk": feedback.pk}),
    )


@transaction.atomic
def feedback_record(
    *,
    by: Any,
    kind: str,
    channel: str,
    category: str,
    received_on: date,
    summary: str,
    description: str = "",
    patient: Patient | None = None,
    exam: Exam | None = None,
    site: Site | None = None,
    staff_named: StaffMember | None = None,
    owner: Any = None,
) -> Feedback:
    """Record a complaint (owner defaults to whoever records it) or a compliment."""
    errors: dict[str, list[str]] = {}
    for value, choices, name in (
        (kind, FeedbackKind, "kind"),
        (channel, FeedbackChannel, "channel"),
        (category, FeedbackCategory, "category"),
    ):
        if value not in choices.values:
            errors[name] = [f"Choose the {name} from the list."]
    today = timezone.localdate()
    if received_on > today:
        errors["received_on"] = ["The date received cannot be in the future."]
    if not summary.strip():
        errors["summary"] = ["Sum it up in a line."]
    if exam is not None:
        if patient is not None and patient.pk != exam.order.patient_id:
            errors["patient"] = ["The patient is not the exam's patient."]
        patient = exam.order.patient
    if errors:
        raise ValidationFailed(errors)
    complaint = kind == FeedbackKind.COMPLAINT
    feedback = Feedback(
        number=next_number("FB", on=received_on),
        kind=kind,
        channel=channel,
        category=category,
        received_on=received_on,
        summary=summary.strip(),
        description=description.strip(),
        patient=patient,
        exam=exam,
        site=site,
        staff_named=staff_named,
        owner=(owner or user_or_none(by)) if complaint else owner,
        response_due_on=response_due(received_on) if complaint else None,
        recorded_by=user_or_none(by),
    )
    if not complaint:
        # A compliment needs no answer: it is passed on when recorded.
        feedback.status = FeedbackStatus.RESOLVED
        feedback.resolved_on = received_on
        feedback.resolution = "Recorded and shared with the team."
    full_clean_or_fail(feedback)
    save_as(feedback, by)
    if feedback.owner is not None and feedback.owner.pk != getattr(user_or_none(by), "pk", None):
        _tell_owner(feedback)
    return feedback


@transaction.atomic
def feedback_assign(*, feedback: Feedback, by: Any, owner: Any) -> Feedback:
    feedback = Feedback.objects.select_for_update().get(pk=feedback.pk)
    if owner is None:
        raise ValidationFailed({"owner": ["Choose who owns this."]})
    if feedback.status != FeedbackStatus.OPEN:
        raise Conflict("This complaint is already resolved.")
    changed = owner.pk != feedback.owner_id
    feedback.owner = owner
    save_as(feedback, by, update_fields=["owner", "updated_at"])
    if changed and owner.pk != getattr(user_or_none(by), "pk", None):
        _tell_owner(feedback)
    return feedback


@transaction.atomic
def feedback_resolve(
    *, feedback: Feedback, by: Any, resolution: str, resolved_on: date | None = None
) -> Feedback:
    """The response given and the date; late resolutions stay visible as late in the KPIs."""
    feedback = Feedback.objects.select_for_update().get(pk=feedback.pk)
    if feedback.status != FeedbackStatus.OPEN:
        raise Conflict("This is already resolved.")
    today = timezone.localdate()
    resolved_on = resolved_on or today
    errors: dict[str, list[str]] = {}
    if not resolution.strip():
        errors["resolution"] = ["Write the response or resolution."]
    if resolved_on > today:
        errors["resolved_on"] = ["The resolution date cannot be in the future."]
    elif resolved_on < feedback.received_on:
        errors["resolved_on"] = ["The resolution date cannot be before the complaint arrived."]
    if errors:
        raise ValidationFailed(errors)
    feedback.status = FeedbackStatus.RESOLVED
    feedback.resolution = resolution.strip()
    feedback.resolved_on = resolved_on
    feedback.resolved_by = user_or_none(by)
    save_as(feedback, by)
    return feedback
