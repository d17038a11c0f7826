"""Incident and near-miss pages: the log (overdue actions first), reporting, the investigation,
and the CAPA lines with their owners."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from radflow.accounts.access import page_requires
from radflow.core.errors import Conflict, ValidationFailed
from radflow.quality import selectors, selectors_pages, services_incidents
from radflow.quality.forms import (
    ActionCloseForm,
    ActionForm,
    IncidentFilterForm,
    IncidentForm,
    IncidentUpdateForm,
)
from radflow.quality.models import IncidentStatus
from radflow.quality.pages import (
    CHANGE_INCIDENTS,
    VIEW_INCIDENTS,
    deny,
    form_page,
    found,
    may_close_action,
    may_read_action,
)
from radflow.web.forms import submit
from radflow.web.pages import paginate


@page_requires(VIEW_INCIDENTS)
@require_GET
def incident_list(request: HttpRequest) -> HttpResponse:
    filters = IncidentFilterForm(request.GET or None)
    data = filters.cleaned_data if filters.is_valid() else {}
    today = timezone.localdate()
    return render(
        request,
        "quality/incidents.html",
        {
            "filters": filters,
            "page": paginate(
                request,
                selectors_pages.incident_list(
                    status=data.get("status", ""),
                    severity=data.get("severity", ""),
                    kind=data.get("kind", ""),
                ),
            ),
            "overdue": list(selectors.overdue_actions(today=today)[:50]),
            "today": today,
            "can_report": request.user.has_perm("quality.add_incident"),
        },
    )


@page_requires("quality.add_incident")
@require_http_methods(["GET", "POST"])
def incident_new(request: HttpRequest) -> HttpResponse:
    now = timezone.localtime().replace(second=0, microsecond=0)
    form = IncidentForm(request.POST or None, initial={"occurred_at": now, "severity": "none"})
    done = submit(
        form,
        lambda data: services_incidents.incident_report(
            by=request.user,
            kind=data["kind"],
            category=data["category"],
            severity=data["severity"],
            occurred_at=data["occurred_at"],
            description=data["description"],
            immediate_action=data["immediate_action"],
            site=data["site"],
            location_detail=data["location_detail"],
            exam=data["exam"],
            patient=data["patient"],
        ),
    )
    if done is not None:
        incident = done.value
        messages.success(request, f"Reported as {incident.number}. Thank you for reporting.")
        if request.user.has_perm(VIEW_INCIDENTS):
            return redirect("quality:incident_detail", pk=incident.pk)
        return redirect("web:home")
    return form_page(
        request,
        title="Report an incident or near miss",
        form=form,
        submit="Report",
        back=reverse("web:home"),
        intro="Report what happened and what you did straight away. Reporting is about "
        "learning, not blame; a near miss is worth reporting too.",
    )


@page_requires(VIEW_INCIDENTS)
@require_GET
def incident_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    incident = found(selectors_pages.incident_get, pk)
    selectors_pages.audit_patient_read(
        user=request.user,
        request=request,
        patients=[selectors_pages.patient_ref(incident.patient)],
        action="quality.incident",
    )
    return render(
        request,
        "quality/incident_detail.html",
        {
            "incident": incident,
            "actions": selectors_pages.incident_actions(incident),
            "today": timezone.localdate(),
            "can_change": request.user.has_perm(CHANGE_INCIDENTS),
        },
    )


@page_requires(CHANGE_INCIDENTS)
@require_http_methods(["GET", "POST"])
def incident_edit(request: HttpRequest, pk: UUID) -> HttpResponse:
    incident = found(selectors_pages.incident_get, pk)
    initial = {
        "kind": incident.kind,
        "category": incident.category,
        "severity": incident.severity,
        "status": incident.status,
        "root_cause_category": incident.root_cause_category,
        "root_cause": incident.root_cause,
    }
    form = IncidentUpdateForm(request.POST or None, initial=initial)
    done = submit(
        form,
        lambda data: services_incidents.incident_update(incident=incident, by=request.user, **data),
    )
    if done is not None:
        messages.success(request, f"{incident.number} updated.")
        return redirect("quality:incident_detail", pk=incident.pk)
    return form_page(
        request,
        title=f"Investigate {incident.number}",
        form=form,
        submit="Save",
        back=reverse("quality:incident_detail", kwargs={"pk": incident.pk}),
        intro="An incident closes once its root cause is written and every action is done "
        "or cancelled.",
    )


@page_requires(CHANGE_INCIDENTS)
@require_http_methods(["GET", "POST"])
def action_add(request: HttpRequest, pk: UUID) -> HttpResponse:
    incident = found(selectors_pages.incident_get, pk)
    if incident.status == IncidentStatus.CLOSED:
        messages.error(request, "The incident is closed; reopen it to add an action.")
        return redirect("quality:incident_detail", pk=incident.pk)
    form = ActionForm(request.POST or None)
    done = submit(
        form,
        lambda data: services_incidents.corrective_action_add(
            incident=incident, by=request.user, **data
        ),
    )
    if done is not None:
        messages.success(request, "Action added; its owner has been told.")
        return redirect("quality:incident_detail", pk=incident.pk)
    return form_page(
        request,
        title=f"Add a corrective or preventive action · {incident.number}",
        form=form,
        submit="Add action",
        back=reverse("quality:incident_detail", kwargs={"pk": incident.pk}),
    )


@page_requires()
@require_GET
def action_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    action = found(selectors_pages.action_get, pk)
    if not may_read_action(request.user, action):
        raise deny()
    can_close = may_close_action(request.user, action) and action.status == "open"
    return render(
        request,
        "quality/action_detail.html",
        {
            "action": action,
            "incident": action.incident,
            "today": timezone.localdate(),
            "form": ActionCloseForm() if can_close else None,
            "can_read_incident": request.user.has_perm(VIEW_INCIDENTS),
        },
    )


@page_requires()
@require_POST
def action_close(request: HttpRequest, pk: UUID) -> HttpResponse:
    action = found(selectors_pages.action_get, pk)
    if not may_close_action(request.user, action):
        raise deny()
    form = ActionCloseForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["outcome"] == "cancelled":
                services_incidents.corrective_action_cancel(
                    action=action, by=request.user, note=data["note"]
                )
            else:
                services_incidents.corrective_action_complete(
                    action=action,
                    by=request.user,
                    note=data["note"],
                    completed_on=data["completed_on"],
                )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        except Conflict as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Action closed.")
            return redirect("quality:action_detail", pk=action.pk)
    return render(
        request,
        "quality/action_detail.html",
        {
            "action": action,
            "incident": action.incident,
            "today": timezone.localdate(),
            "form": form,
            "can_read_incident": request.user.has_perm(VIEW_INCIDENTS),
        },
        status=422,
    )
