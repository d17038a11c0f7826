"""What the quality pages share: who may open an object, the plain form page, months in URLs."""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from radflow.quality.models import CorrectiveAction, DiscrepancyFollowUp, ImageAudit, PeerReview
from radflow.quality.rules import month_start, previous_month
from radflow.web.forms import status_of

M = TypeVar("M", bound=Model)

VIEW_AUDITS = "quality.view_imageaudit"
SCORE_AUDITS = "quality.score_imageaudit"
MANAGE = "quality.manage_quality"
VIEW_PROGRAM = "quality.view_qualitysettings"
VIEW_REVIEWS = "quality.view_peerreview"
MANAGE_REVIEWS = "quality.manage_peerreview"
PERFORM_REVIEWS = "quality.perform_peerreview"
VIEW_INCIDENTS = "quality.view_incident"
CHANGE_INCIDENTS = "quality.change_incident"


def deny() -> DjangoPermissionDenied:
    return DjangoPermissionDenied("Your role does not allow this page.")


def found(loader: Any, pk: Any) -> Any:
    """``loader(pk)`` or a 404 (the selectors raise ``DoesNotExist``)."""
    try:
        return loader(pk)
    except ObjectDoesNotExist as exc:
        raise Http404("Not found.") from exc


def form_page(
    request: HttpRequest,
    *,
    title: str,
    form: Any,
    submit: str,
    back: str,
    intro: str = "",
    multipart: bool = False,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    return render(
        request,
        "quality/form.html",
        {
            "title": title,
            "form": form,
            "submit": submit,
            "back": back,
            "intro": intro,
            "multipart": multipart,
            **(extra or {}),
        },
        status=status_of(form),
    )


def month_from(request: HttpRequest, name: str = "month", *, default: date | None = None) -> date:
    """``?month=YYYY-MM`` as its first day; the default (last month) when absent or bad."""
    raw = request.GET.get(name, "")
    try:
        return date.fromisoformat(f"{raw}-01")
    except ValueError:
        return default or previous_month(month_start(timezone.localdate()))


# --- object access: who may open what --------------------------------------------------------


def may_read_audit(user: Any, audit: ImageAudit) -> bool:
    return bool(user.has_perm(VIEW_AUDITS) or audit.performer.user_id == user.pk)


def review_role(user: Any, review: PeerReview) -> str:
    """``reviewer`` for the radiologist assigned, ``program`` for those who run or read the
    program (they see both radiologists), else empty."""
    if review.reviewer.user_id is not None and review.reviewer.user_id == user.pk:
        return "reviewer"
    if review.reader.user_id is not None and review.reader.user_id == user.pk:
        return ""  # the reader sees the result on "My peer reviews", never who reviewed
    if user.has_perm(VIEW_REVIEWS):
        return "program"
    return ""


def may_work_follow_up(user: Any, follow_up: DiscrepancyFollowUp) -> bool:
    return bool(user.has_perm(MANAGE_REVIEWS) or follow_up.owner_id == user.pk)


def may_read_follow_up(user: Any, follow_up: DiscrepancyFollowUp) -> bool:
    return may_work_follow_up(user, follow_up) or bool(user.has_perm(VIEW_REVIEWS))


def may_close_action(user: Any, action: CorrectiveAction) -> bool:
    return bool(user.has_perm(CHANGE_INCIDENTS) or action.owner_id == user.pk)


def may_read_action(user: Any, action: CorrectiveAction) -> bool:
    return may_close_action(user, action) or bool(user.has_perm(VIEW_INCIDENTS))
