"""Complaints and compliments, patient satisfaction (CSV import and the monthly summary), and
interpreter and accessibility requests met or unmet."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from radflow.accounts.access import page_requires
from radflow.core.errors import Conflict, ValidationFailed
from radflow.quality import selectors, selectors_pages
from radflow.quality.forms import (
    AccessRequestForm,
    AccessResolveForm,
    FeedbackAssignForm,
    FeedbackFilterForm,
    FeedbackForm,
    FeedbackResolveForm,
    SatisfactionImportForm,
)
from radflow.quality.models import (
    FeedbackKind,
    FeedbackStatus,
    RequestStatus,
    SatisfactionImport,
)
from radflow.quality.pages import form_page, found, month_from
from radflow.quality.rules import month_start, next_month, previous_month
from radflow.quality.services_access import (
    accessibility_request_add,
    accessibility_request_resolve,
)
from radflow.quality.services_feedback import feedback_assign, feedback_record, feedback_resolve
from radflow.quality.services_satisfaction import ImportResult, satisfaction_import
from radflow.quality.survey_csv import EXAMPLE, OPTIONAL, REQUIRED
from radflow.web.forms import status_of, submit
from radflow.web.pages import paginate

VIEW_FEEDBACK = "quality.view_feedback"
CHANGE_FEEDBACK = "quality.change_feedback"
VIEW_SURVEYS = "quality.view_satisfactionresponse"
VIEW_ACCESS = "quality.view_accessibilityrequest"


def _year_back() -> tuple[date, date]:
    """The last twelve months, this one included."""
    end = month_start(timezone.localdate())
    start = end
    for _ in range(11):
        start = previous_month(start)
    return start, end


# --- complaints and compliments --------------------------------------------------------------


@page_requires(VIEW_FEEDBACK)
@require_GET
def feedback_list(request: HttpRequest) -> HttpResponse:
    filters = FeedbackFilterForm(request.GET or None)
    data = filters.cleaned_data if filters.is_valid() else {}
    today = timezone.localdate()
    start, end = _year_back()
    return render(
        request,
        "quality/feedback.html",
        {
            "filters": filters,
            "page": paginate(
                request,
                selectors_pages.feedback_list(
                    kind=data.get("kind", ""),
                    status=data.get("status", ""),
                    category=data.get("category", ""),
                ),
            ),
            "overdue": list(selectors.overdue_complaints(today=today)),
            "months": selectors.complaints_by_month(start=start, end=end, today=today),
            "today": today,
            "can_add": request.user.has_perm("quality.add_feedback"),
        },
    )


@page_requires("quality.add_feedback")
@require_http_methods(["GET", "POST"])
def feedback_new(request: HttpRequest) -> HttpResponse:
    form = FeedbackForm(
        request.POST or None,
        initial={"received_on": timezone.localdate(), "kind": FeedbackKind.COMPLAINT},
    )
    done = submit(
        form,
        lambda data: feedback_record(
            by=request.user,
            kind=data["kind"],
            channel=data["channel"],
            category=data["category"],
            received_on=data["received_on"],
            summary=data["summary"],
            description=data["description"],
            patient=data["patient"],
            exam=data["exam"],
            site=data["site"],
            staff_named=data["staff_named"],
            owner=data["owner"],
        ),
    )
    if done is not None:
        feedback = done.value
        due = (
            f"; response due {feedback.response_due_on:%Y-%m-%d}"
            if feedback.response_due_on
            else ""
        )
        messages.success(request, f"Recorded as {feedback.number}{due}.")
        return redirect("quality:feedback_detail", pk=feedback.pk)
    return form_page(
        request,
        title="Record a complaint or compliment",
        form=form,
        submit="Record",
        back=reverse("quality:feedback"),
    )


@page_requires(VIEW_FEEDBACK)
@require_GET
def feedback_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    feedback = found(selectors_pages.feedback_get, pk)
    selectors_pages.audit_patient_read(
        user=request.user,
        request=request,
        patients=[selectors_pages.patient_ref(feedback.patient)],
        action="quality.feedback",
    )
    can_change = request.user.has_perm(CHANGE_FEEDBACK) and feedback.status == FeedbackStatus.OPEN
    return render(
        request,
        "quality/feedback_detail.html",
        {
            "feedback": feedback,
            "today": timezone.localdate(),
            "overdue": feedback.is_overdue(timezone.localdate()),
            "assign_form": (
                FeedbackAssignForm(initial={"owner": feedback.owner_id}) if can_change else None
            ),
            "resolve_form": (
                FeedbackResolveForm(initial={"resolved_on": timezone.localdate()})
                if can_change
                else None
            ),
        },
    )


def _feedback_action(
    request: HttpRequest,
    pk: UUID,
    form_class: type[FeedbackAssignForm] | type[FeedbackResolveForm],
    run: Callable[[Any, dict[str, Any]], Any],
    done_message: str,
) -> HttpResponse:
    feedback = found(selectors_pages.feedback_get, pk)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            run(feedback, form.cleaned_data)
        except ValidationFailed as exc:
            messages.error(request, " ".join(m for ms in exc.errors.values() for m in ms))
        except Conflict as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, done_message)
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("quality:feedback_detail", pk=feedback.pk)


@page_requires(CHANGE_FEEDBACK)
@require_POST
def feedback_assign_view(request: HttpRequest, pk: UUID) -> HttpResponse:
    return _feedback_action(
        request,
        pk,
        FeedbackAssignForm,
        lambda fb, data: feedback_assign(feedback=fb, by=request.user, owner=data["owner"]),
        "Owner changed; they have been told.",
    )


@page_requires(CHANGE_FEEDBACK)
@require_POST
def feedback_resolve_view(request: HttpRequest, pk: UUID) -> HttpResponse:
    return _feedback_action(
        request,
        pk,
        FeedbackResolveForm,
        lambda fb, data: feedback_resolve(
            feedback=fb,
            by=request.user,
            resolution=data["resolution"],
            resolved_on=data["resolved_on"],
        ),
        "Marked resolved.",
    )


# --- patient satisfaction --------------------------------------------------------------------


@page_requires(VIEW_SURVEYS)
@require_GET
def satisfaction(request: HttpRequest) -> HttpResponse:
    start, end = _year_back()
    return render(
        request,
        "quality/satisfaction.html",
        {
            "months": selectors.satisfaction_by_month(start=start, end=end),
            "imports": SatisfactionImport.objects.select_related("by")[:10],
            "can_import": request.user.has_perm("quality.import_satisfaction"),
        },
    )


@page_requires("quality.import_satisfaction")
@require_http_methods(["GET", "POST"])
def satisfaction_import_view(request: HttpRequest) -> HttpResponse:
    form = SatisfactionImportForm(request.POST or None, request.FILES or None)

    def run(data: dict[str, Any]) -> ImportResult:
        upload = data["file"]
        return satisfaction_import(
            by=request.user,
            filename=upload.name,
            content=upload.read(),
            skip_known=bool(data["skip_known"]),
        )

    done = submit(form, run)
    if done is not None:
        result = done.value
        skipped = f", {result.skipped} already imported skipped" if result.skipped else ""
        messages.success(request, f"Imported {result.imported} responses{skipped}.")
        return redirect("quality:satisfaction")
    return render(
        request,
        "quality/satisfaction_import.html",
        {"form": form, "required": REQUIRED, "optional": OPTIONAL, "example": EXAMPLE},
        status=status_of(form),
    )


@page_requires(VIEW_SURVEYS)
@require_GET
def satisfaction_template(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(EXAMPLE, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="satisfaction-template.csv"'
    return response


# --- interpreter and accessibility requests --------------------------------------------------


@page_requires(VIEW_ACCESS)
@require_GET
def access(request: HttpRequest) -> HttpResponse:
    start, end = _year_back()
    month = month_from(request, default=month_start(timezone.localdate()))
    last_day = next_month(month) - timedelta(days=1)
    unmet = list(selectors.interpreter_unmet_exams(start=month, end=last_day)[:100])
    status = request.GET.get("status", RequestStatus.PENDING)
    requests_page = paginate(
        request,
        selectors_pages.access_requests(status=status if status in RequestStatus.values else ""),
    )
    selectors_pages.audit_patient_read(
        user=request.user,
        request=request,
        patients=[e.order.patient for e in unmet] + [r.patient for r in requests_page],
        action="quality.access",
    )
    return render(
        request,
        "quality/access.html",
        {
            "interpreter": selectors.interpreter_by_month(start=start, end=end),
            "accessibility": selectors.accessibility_by_month(start=start, end=end),
            "month": month,
            "unmet": unmet,
            "page": requests_page,
            "status": status,
            "statuses": RequestStatus.choices,
            "can_add": request.user.has_perm("quality.add_accessibilityrequest"),
        },
    )


@page_requires("quality.add_accessibilityrequest")
@require_http_methods(["GET", "POST"])
def access_new(request: HttpRequest) -> HttpResponse:
    form = AccessRequestForm(request.POST or None, initial={"needed_on": timezone.localdate()})
    done = submit(
        form,
        lambda data: accessibility_request_add(
            by=request.user,
            patient=data["patient"],
            exam=data["exam"],
            need=data["need"],
            detail=data["detail"],
            needed_on=data["needed_on"],
        ),
    )
    if done is not None:
        messages.success(request, "Accessibility request recorded.")
        return redirect("quality:access_detail", pk=done.value.pk)
    return form_page(
        request,
        title="Record an accessibility request",
        form=form,
        submit="Record",
        back=reverse("quality:access"),
    )


@page_requires(VIEW_ACCESS)
@require_http_methods(["GET", "POST"])
def access_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    item = found(selectors_pages.access_get, pk)
    can_resolve = (
        request.user.has_perm("quality.change_accessibilityrequest")
        and item.status == RequestStatus.PENDING
    )
    form = AccessResolveForm(request.POST or None) if can_resolve else None
    if request.method == "POST":
        if form is None:
            messages.error(request, "This request already has an outcome.")
            return redirect("quality:access_detail", pk=item.pk)
        done = submit(
            form,
            lambda data: accessibility_request_resolve(
                request=item, by=request.user, status=data["status"], note=data["note"]
            ),
        )
        if done is not None:
            messages.success(request, "Outcome recorded.")
            return redirect("quality:access_detail", pk=item.pk)
    selectors_pages.audit_patient_read(
        user=request.user,
        request=request,
        patients=[item.patient],
        action="quality.access_request",
    )
    return render(
        request,
        "quality/access_detail.html",
        {"item": item, "form": form},
        status=status_of(form),
    )
