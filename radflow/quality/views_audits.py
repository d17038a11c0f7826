"""Image-quality audit pages: the list and the month's draw, scoring, "My audits", the trend per
person, and the checklists (the scoring forms per exam type, protocol or modality)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from radflow.accounts.access import page_requires
from radflow.core.errors import Conflict, PermissionDenied, ValidationFailed
from radflow.quality import selectors, selectors_pages, services_audits
from radflow.quality.forms import (
    AcknowledgeForm,
    AuditFilterForm,
    AuditScoreForm,
    ChecklistForm,
    ChecklistItemForm,
    DrawForm,
)
from radflow.quality.models import AuditChecklist, AuditChecklistItem, AuditStatus
from radflow.quality.pages import (
    MANAGE,
    SCORE_AUDITS,
    VIEW_AUDITS,
    deny,
    form_page,
    found,
    may_read_audit,
)
from radflow.quality.rules import month_start, months_between, previous_month
from radflow.quality.services import quality_settings
from radflow.web.forms import status_of, submit
from radflow.web.pages import paginate


@page_requires(VIEW_AUDITS)
@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    filters = AuditFilterForm(request.GET or None)
    data = filters.cleaned_data if filters.is_valid() else {}
    rows = selectors_pages.audit_list(
        month=data.get("month"), performer=data.get("performer"), status=data.get("status", "")
    )
    last_month = previous_month(month_start(timezone.localdate()))
    return render(
        request,
        "quality/audits.html",
        {
            "filters": filters,
            "page": paginate(request, rows),
            "draw_form": DrawForm(initial={"month": last_month.strftime("%Y-%m")}),
            "can_draw": request.user.has_perm(MANAGE),
            "settings": quality_settings(),
        },
    )


@page_requires(MANAGE)
@require_POST
def audit_draw(request: HttpRequest) -> HttpResponse:
    form = DrawForm(request.POST)
    done = submit(
        form,
        lambda data: services_audits.audit_sample_draw(
            month=data["month"], by=request.user, actor="page"
        ),
    )
    if done is None:
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, f"Nothing drawn: {errors}")
    else:
        result = done.value
        messages.success(
            request,
            f"{result.month:%B %Y}: {result.created} exam{'s' if result.created != 1 else ''} "
            f"drawn for {len(result.per_person)} sonographers.",
        )
    return redirect(reverse("quality:audits") + f"?month={request.POST.get('month', '')}")


def _score_form(request: HttpRequest, audit: Any) -> AuditScoreForm:
    items = list(audit.checklist.items.filter(active=True))
    scores = {s.item_id: s for s in audit.scores.all()}
    initial = {"feedback": audit.feedback}
    return AuditScoreForm(
        request.POST if request.method == "POST" else None,
        items=items,
        scores=scores,
        initial=initial,
    )


@page_requires()
@require_http_methods(["GET", "POST"])
def audit_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Readers see the audit; auditors score it here; the sonographer reads their own."""
    audit = found(selectors_pages.audit_get, pk)
    if not may_read_audit(request.user, audit):
        raise deny()
    own = audit.performer.user_id == request.user.pk
    can_score = (
        request.user.has_perm(SCORE_AUDITS) and not own and audit.status != AuditStatus.ACKNOWLEDGED
    )
    form = _score_form(request, audit) if can_score else None
    if request.method == "POST":
        if form is None:
            raise deny()
        if form.is_valid():
            try:
                services_audits.image_audit_score(
                    audit=audit,
                    by=request.user,
                    scores=form.score_inputs(),
                    feedback=form.cleaned_data["feedback"],
                )
            except ValidationFailed as exc:
                form.add_service_errors(exc)
            except (Conflict, PermissionDenied) as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, "Audit scored; the sonographer has been told.")
                return redirect("quality:audit_detail", pk=audit.pk)
    selectors_pages.audit_patient_read(
        user=request.user,
        request=request,
        patients=[selectors_pages.patient_ref(audit.exam.order.patient)],
        action="quality.image_audit",
    )
    return render(
        request,
        "quality/audit_detail.html",
        {
            "audit": audit,
            "scores": list(audit.scores.all()),
            "form": form,
            "own": own,
            "acknowledge_form": AcknowledgeForm() if own else None,
            "pass_mark": quality_settings().audit_pass_mark,
        },
        status=status_of(form),
    )


@page_requires()
@require_POST
def audit_acknowledge(request: HttpRequest, pk: UUID) -> HttpResponse:
    audit = found(selectors_pages.audit_get, pk)
    form = AcknowledgeForm(request.POST)
    reply = form.cleaned_data["reply"] if form.is_valid() else ""
    try:
        services_audits.image_audit_acknowledge(audit=audit, by=request.user, reply=reply)
    except PermissionDenied as exc:
        raise deny() from exc
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Thank you: the audit is acknowledged.")
    return redirect("quality:audit_detail", pk=audit.pk)


@page_requires()
@require_GET
def my_audits(request: HttpRequest) -> HttpResponse:
    staff = selectors_pages.own_staff(request.user)
    if staff is None:
        return render(request, "quality/not_linked.html")
    today = timezone.localdate()
    start = month_start(today.replace(year=today.year - 1))
    trend = selectors.qa_scores_by_person_month(start=start, end=today, staff_ids=[staff.pk])
    department = {
        row.month: row.mean_score for row in selectors.audits_by_month(start=start, end=today)
    }
    return render(
        request,
        "quality/my_audits.html",
        {
            "staff": staff,
            "audits": selectors_pages.my_audits(staff),
            "trend": [(row, department.get(row.month)) for row in trend],
            "pass_mark": quality_settings().audit_pass_mark,
        },
    )


@page_requires(VIEW_AUDITS)
@require_GET
def audit_trend(request: HttpRequest) -> HttpResponse:
    """Monthly mean score per sonographer over the last twelve months, people as rows."""
    today = timezone.localdate()
    start = month_start(today.replace(year=today.year - 1))
    months = months_between(start, today)
    rows: dict[Any, dict[str, Any]] = {}
    for point in selectors.qa_scores_by_person_month(start=start, end=today):
        row = rows.setdefault(
            point.staff_id,
            {
                "name": point.staff_name,
                "sort": (point.family_name, point.staff_name),
                "staff_id": point.staff_id,
                "cells": {},
            },
        )
        row["cells"][point.month] = point
    table = [
        {**row, "cells": [row["cells"].get(month) for month in months]}
        for row in sorted(rows.values(), key=lambda r: r["sort"])
    ]
    return render(
        request,
        "quality/audit_trend.html",
        {
            "months": months,
            "table": table,
            "department": selectors.audits_by_month(
                start=start, end=today, pass_mark=quality_settings().audit_pass_mark
            ),
            "pass_mark": quality_settings().audit_pass_mark,
        },
    )


# --- checklists ------------------------------------------------------------------------------


@page_requires("quality.view_auditchecklist")
@require_GET
def checklist_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "quality/checklists.html",
        {
            "checklists": selectors_pages.checklists(),
            "can_edit": request.user.has_perm("quality.add_auditchecklist"),
        },
    )


@page_requires("quality.add_auditchecklist")
@require_http_methods(["GET", "POST"])
def checklist_new(request: HttpRequest) -> HttpResponse:
    form = ChecklistForm(request.POST or None, initial={"active": True})
    done = submit(form, lambda data: services_audits.checklist_save(by=request.user, **data))
    if done is not None:
        messages.success(request, "Checklist created: add its items.")
        return redirect("quality:checklist_detail", pk=done.value.pk)
    return form_page(
        request,
        title="New audit checklist",
        form=form,
        submit="Create checklist",
        back=reverse("quality:checklists"),
    )


@page_requires("quality.view_auditchecklist")
@require_GET
def checklist_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    checklist = get_object_or_404(
        AuditChecklist.objects.select_related("exam_type", "modality"), pk=pk
    )
    can_edit = request.user.has_perm("quality.change_auditchecklist")
    return render(
        request,
        "quality/checklist_detail.html",
        {
            "checklist": checklist,
            "items": checklist.items.order_by("-active", "position", "id"),
            "can_edit": can_edit,
            "item_form": ChecklistItemForm(initial={"max_points": 2, "active": True})
            if can_edit
            else None,
        },
    )


@page_requires("quality.change_auditchecklist")
@require_http_methods(["GET", "POST"])
def checklist_edit(request: HttpRequest, pk: UUID) -> HttpResponse:
    checklist = get_object_or_404(AuditChecklist, pk=pk)
    form = ChecklistForm(request.POST or None, initial=ChecklistForm.initial_for(checklist))
    done = submit(
        form,
        lambda data: services_audits.checklist_save(by=request.user, checklist=checklist, **data),
    )
    if done is not None:
        messages.success(request, "Checklist saved.")
        return redirect("quality:checklist_detail", pk=checklist.pk)
    return form_page(
        request,
        title=f"Edit {checklist.name}",
        form=form,
        submit="Save",
        back=reverse("quality:checklist_detail", kwargs={"pk": checklist.pk}),
    )


@page_requires("quality.change_auditchecklist")
@require_http_methods(["GET", "POST"])
def checklist_item_add(request: HttpRequest, pk: UUID) -> HttpResponse:
    checklist = get_object_or_404(AuditChecklist, pk=pk)
    form = ChecklistItemForm(request.POST or None, initial={"max_points": 2, "active": True})
    done = submit(
        form, lambda data: services_audits.checklist_item_save(checklist=checklist, **data)
    )
    if done is not None:
        messages.success(request, f"Added “{done.value.label}”.")
        return redirect("quality:checklist_detail", pk=checklist.pk)
    return form_page(
        request,
        title=f"Add an item · {checklist.name}",
        form=form,
        submit="Add item",
        back=reverse("quality:checklist_detail", kwargs={"pk": checklist.pk}),
    )


@page_requires("quality.change_auditchecklist")
@require_http_methods(["GET", "POST"])
def checklist_item_edit(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(AuditChecklistItem.objects.select_related("checklist"), pk=pk)
    form = ChecklistItemForm(request.POST or None, initial=ChecklistItemForm.initial_for(item))
    done = submit(
        form,
        lambda data: services_audits.checklist_item_save(
            checklist=item.checklist, item=item, **data
        ),
    )
    if done is not None:
        messages.success(request, "Item saved.")
        return redirect("quality:checklist_detail", pk=item.checklist_id)
    return form_page(
        request,
        title=f"Edit item · {item.checklist.name}",
        form=form,
        submit="Save item",
        back=reverse("quality:checklist_detail", kwargs={"pk": item.checklist_id}),
        intro="Items are retired (untick Active), never deleted: earlier audits were scored "
        "against them.",
    )
