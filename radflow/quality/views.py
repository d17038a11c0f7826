"""The quality program's front page, its settings, and "My quality work" (what I own)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from radflow.accounts.access import page_requires
from radflow.quality import selectors, selectors_pages
from radflow.quality.forms import SettingsForm
from radflow.quality.models import AuditStatus, ImageAudit, PeerReview, ReviewStatus
from radflow.quality.pages import MANAGE, VIEW_PROGRAM
from radflow.quality.rules import month_start, previous_month
from radflow.quality.services import quality_settings, quality_settings_save
from radflow.web.forms import submit


@page_requires(VIEW_PROGRAM)
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    this_month = month_start(today)
    start = this_month
    for _ in range(5):
        start = previous_month(start)
    settings = quality_settings()
    months = {
        "audit": selectors.audits_by_month(
            start=start, end=this_month, pass_mark=settings.audit_pass_mark
        ),
        "peer": selectors.peer_review_by_month(start=start, end=this_month),
        "incidents": selectors.incidents_by_month(start=start, end=this_month),
        "complaints": selectors.complaints_by_month(start=start, end=this_month, today=today),
        "satisfaction": selectors.satisfaction_by_month(start=start, end=this_month),
        "interpreter": selectors.interpreter_by_month(start=start, end=this_month),
        "accessibility": selectors.accessibility_by_month(start=start, end=this_month),
    }
    # Every selector returns one entry per month, oldest first: newest first on the page.
    rows = [dict(zip(months, cells, strict=True)) for cells in zip(*months.values(), strict=True)]
    context = {
        "today": today,
        "rows": list(reversed(rows)),
        "audits_to_score": ImageAudit.objects.filter(status=AuditStatus.PENDING).count(),
        "reviews_open": PeerReview.objects.filter(status=ReviewStatus.ASSIGNED).count(),
        "reviews_overdue": PeerReview.objects.filter(
            status=ReviewStatus.ASSIGNED, due_on__lt=today
        ).count(),
        "follow_ups": selectors.open_follow_ups().count(),
        "overdue_actions": selectors.overdue_actions(today=today).count(),
        "overdue_complaints": selectors.overdue_complaints(today=today).count(),
        "settings": settings,
    }
    return render(request, "quality/home.html", context)


@page_requires(MANAGE)
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    current = quality_settings()
    form = SettingsForm(request.POST or None, instance=current)
    done = submit(form, lambda data: quality_settings_save(by=request.user, **data))
    if done is not None:
        messages.success(request, "Quality settings saved.")
        return redirect("quality:settings")
    return render(
        request,
        "quality/settings.html",
        {"form": form},
        status=422 if form.is_bound and form.errors else 200,
    )


@page_requires()
@require_GET
def my_work(request: HttpRequest) -> HttpResponse:
    """Everything in the quality program that waits on me: actions, follow-ups, complaints,
    reviews and audits."""
    staff = selectors_pages.own_staff(request.user)
    today = timezone.localdate()
    context = {
        "today": today,
        "actions": selectors_pages.my_actions(request.user.pk),
        "follow_ups": selectors_pages.follow_ups(owner=request.user.pk),
        "complaints": selectors_pages.feedback_list(kind="complaint", status="open").filter(
            owner_id=request.user.pk
        ),
        "reviews": selectors_pages.reviews_to_do(staff) if staff is not None else [],
        "audits": (
            selectors_pages.my_audits(staff).filter(status=AuditStatus.SCORED)
            if staff is not None
            else []
        ),
    }
    return render(request, "quality/my_work.html", context)
