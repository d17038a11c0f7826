"""Contrast pages: the dashboard, agents, exam-type settings, an exam's contrast record, the
lists of doses and reactions.

Views only parse, check the role and call one service; a refused form comes back with the
service's message (422) and changes nothing. Every page that shows a patient writes an access row.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from radflow.accounts.access import page_requires
from radflow.audit.models import AccessChannel
from radflow.audit.services import AccessSource, access_record
from radflow.catalog.models import ExamType
from radflow.contrast import selectors, services
from radflow.contrast.forms import (
    AdministrationForm,
    AgentForm,
    EgfrForm,
    PremedicationForm,
    ReactionForm,
    ReportForm,
    RequirementForm,
)
from radflow.contrast.models import AdverseEvent, ContrastAdministration, ContrastAgent
from radflow.contrast.rules import Grade
from radflow.core.errors import Conflict, PermissionDenied
from radflow.exams.models import Exam
from radflow.exams.selectors import exam_get_audited
from radflow.web.forms import status_of, submit
from radflow.web.pages import paginate

VIEW_AGENTS = "contrast.view_contrastagent"
VIEW_SETTINGS = "contrast.view_contrastrequirement"
VIEW_DOSES = "contrast.view_contrastadministration"
VIEW_EVENTS = "contrast.view_adverseevent"


def _web(request: HttpRequest) -> AccessSource:
    return AccessSource.from_request(request, AccessChannel.WEB)


def _exam_url(exam_id: Any, anchor: str = "") -> str:
    url = reverse("contrast:exam", kwargs={"pk": exam_id})
    return f"{url}#{anchor}" if anchor else url


# --- dashboard, agents, settings ----------------------------------------------------------------


@page_requires(VIEW_AGENTS)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    board = selectors.dashboard(on=timezone.localdate())
    return render(request, "contrast/dashboard.html", {"board": board})


@page_requires(VIEW_AGENTS)
@require_GET
def agent_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "contrast/agents.html",
        {
            "agents": selectors.agents().order_by("agent_class", "name"),
            "can_add": request.user.has_perm("contrast.add_contrastagent"),
            "can_edit": request.user.has_perm("contrast.change_contrastagent"),
        },
    )


def _agent_values(data: dict[str, Any]) -> dict[str, Any]:
    values = dict(data)
    values["gbca_group"] = values.get("gbca_group") or ""
    values["routes"] = list(values.get("routes") or [])
    return values


@page_requires("contrast.add_contrastagent")
@require_http_methods(["GET", "POST"])
def agent_add(request: HttpRequest) -> HttpResponse:
    form = AgentForm(request.POST or None)
    done = submit(
        form, lambda data: services.agent_save(by=request.user, values=_agent_values(data))
    )
    if done is not None:
        messages.success(request, f"{done.value.name} added.")
        return redirect("contrast:agents")
    context = {
        "form": form,
        "title": "New contrast agent",
        "submit": "Add agent",
        "back": reverse("contrast:agents"),
    }
    return render(request, "contrast/form.html", context, status=status_of(form))


@page_requires("contrast.change_contrastagent")
@require_http_methods(["GET", "POST"])
def agent_edit(request: HttpRequest, pk: UUID) -> HttpResponse:
    agent = get_object_or_404(ContrastAgent, pk=pk)
    form = AgentForm(request.POST or None, agent=agent)
    done = submit(
        form,
        lambda data: services.agent_save(by=request.user, values=_agent_values(data), agent=agent),
    )
    if done is not None:
        messages.success(request, f"{done.value.name} saved.")
        return redirect("contrast:agents")
    context = {
        "form": form,
        "title": f"Edit {agent.name}",
        "submit": "Save agent",
        "back": reverse("contrast:agents"),
    }
    return render(request, "contrast/form.html", context, status=status_of(form))


@page_requires(VIEW_SETTINGS)
@require_GET
def requirement_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "contrast/requirements.html",
        {
            "rows": selectors.requirements_table(),
            "can_edit": request.user.has_perm("contrast.change_contrastrequirement"),
        },
    )


@page_requires("contrast.change_contrastrequirement")
@require_http_methods(["GET", "POST"])
def requirement_edit(request: HttpRequest, pk: UUID) -> HttpResponse:
    exam_type = get_object_or_404(ExamType.objects.select_related("modality"), pk=pk)
    rule = selectors.requirement_for(exam_type)
    shown = rule or selectors.default_requirement(exam_type.modality_id)
    initial = {
        "gives_contrast": rule is not None,
        "agent_class": shown.agent_class.value,
        "egfr_required": shown.egfr_required,
        "egfr_window_days": shown.egfr_window_days,
        "egfr_minimum": shown.egfr_minimum,
        "reaction_screening": shown.reaction_screening,
    }
    form = RequirementForm(request.POST or None, initial=initial)
    done = submit(
        form,
        lambda data: services.requirement_save(by=request.user, exam_type=exam_type, **data),
    )
    if done is not None:
        messages.success(request, f"Contrast settings for {exam_type.name} saved.")
        return redirect("contrast:requirements")
    context = {
        "form": form,
        "title": f"Contrast settings: {exam_type.name}",
        "submit": "Save settings",
        "back": reverse("contrast:requirements"),
    }
    return render(request, "contrast/form.html", context, status=status_of(form))


# --- one exam ----------------------------------------------------------------------------------


def _exam_page(
    request: HttpRequest, exam: Exam, bound: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    bound = bound or {}
    user = request.user
    screen = selectors.exam_screen(exam, on=timezone.localdate())
    agent_class = screen.requirement.agent_class.value if screen.requirement else None
    context = {
        "exam": exam,
        "order": exam.order,
        "patient": exam.order.patient,
        "screen": screen,
        "administrations": selectors.exam_administrations(exam),
        "egfr_history": selectors.egfr_history(exam.order.patient),
        "can_give": user.has_perm("contrast.add_contrastadministration"),
        "can_premedicate": user.has_perm("contrast.add_premedication"),
        "can_record_egfr": user.has_perm("contrast.add_egfrresult"),
        "can_record_reaction": user.has_perm("contrast.add_adverseevent"),
        "administration_form": bound.get("administration")
        or AdministrationForm(agent_class=agent_class),
        "premedication_form": bound.get("premedication") or PremedicationForm(),
        "egfr_form": bound.get("egfr") or EgfrForm(),
    }
    return render(request, "contrast/exam.html", context, status=status)


def _audited_exam(request: HttpRequest, pk: UUID) -> Exam:
    return exam_get_audited(
        user=request.user, exam_id=pk, action="contrast.exam", source=_web(request)
    )


@page_requires(VIEW_DOSES)
@require_GET
def exam_page(request: HttpRequest, pk: UUID) -> HttpResponse:
    return _exam_page(request, _audited_exam(request, pk))


def _post_exam_form(
    request: HttpRequest, pk: UUID, key: str, form: Any, call: Any, anchor: str
) -> HttpResponse:
    """Validate, call the service; back to the exam's page or the page again with the errors."""
    exam = _audited_exam(request, pk)
    if request.method != "POST":
        return redirect(_exam_url(exam.pk, anchor))
    try:
        done = submit(form, lambda data: call(exam, data))
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect(_exam_url(exam.pk, anchor))
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from exc
    if done is not None:
        messages.success(request, done.value)
        return redirect(_exam_url(exam.pk, anchor))
    return _exam_page(request, exam, {key: form}, status=422)


@page_requires("contrast.add_contrastadministration")
@require_http_methods(["GET", "POST"])
def exam_administer(request: HttpRequest, pk: UUID) -> HttpResponse:
    form = AdministrationForm(request.POST or None)

    def call(exam: Exam, data: dict[str, Any]) -> str:
        given = services.administration_record(
            exam=exam,
            by=request.user,
            agent=data["agent"],
            lot=data["lot"],
            dose=data["dose"],
            dose_unit=data["dose_unit"],
            route=data["route"],
            injection_site=data["injection_site"],
            flow_rate=data["flow_rate"],
            given_at=data["given_at"],
            note=data["note"],
        )
        lot = f", lot {given.lot.lot_number}" if given.lot else ""
        return f"Recorded {given.dose.normalize():f} {given.dose_unit} {given.agent.name}{lot}."

    return _post_exam_form(request, pk, "administration", form, call, "doses")


@page_requires("contrast.add_premedication")
@require_http_methods(["GET", "POST"])
def exam_premedicate(request: HttpRequest, pk: UUID) -> HttpResponse:
    form = PremedicationForm(request.POST or None)

    def call(exam: Exam, data: dict[str, Any]) -> str:
        premedication = services.premedication_record(
            exam=exam,
            by=request.user,
            protocol=data["protocol"],
            ordered_by=data["ordered_by"],
            note=data["note"],
            doses=form.doses(),
        )
        return f"Premedication recorded: {premedication.protocol}."

    return _post_exam_form(request, pk, "premedication", form, call, "premedication")


@page_requires("contrast.add_egfrresult")
@require_http_methods(["GET", "POST"])
def exam_egfr(request: HttpRequest, pk: UUID) -> HttpResponse:
    form = EgfrForm(request.POST or None)

    def call(exam: Exam, data: dict[str, Any]) -> str:
        result = services.egfr_record(by=request.user, patient=exam.order.patient, **data)
        return f"eGFR {result.value} of {result.measured_on:%Y-%m-%d} recorded."

    return _post_exam_form(request, pk, "egfr", form, call, "egfr")


# --- reactions ---------------------------------------------------------------------------------


def _administration(request: HttpRequest, pk: UUID, action: str) -> ContrastAdministration:
    given = get_object_or_404(
        ContrastAdministration.objects.select_related(
            "agent", "lot", "exam", "exam__order__patient", "exam__order__exam_type"
        ),
        pk=pk,
    )
    access_record(
        user=request.user, patients=[given.exam.order.patient], action=action, source=_web(request)
    )
    return given


@page_requires("contrast.add_adverseevent")
@require_http_methods(["GET", "POST"])
def reaction_add(request: HttpRequest, pk: UUID) -> HttpResponse:
    given = _administration(request, pk, "contrast.reaction")
    form = ReactionForm(request.POST or None)
    try:
        done = submit(
            form,
            lambda data: services.adverse_event_record(
                administration=given, by=request.user, **data
            ),
        )
    except Conflict as exc:
        form.add_error(None, exc.message)
        done = None
    if done is not None:
        event = done.value
        flagged = " The patient's allergy list now shows it." if event.allergy_id else ""
        messages.success(request, f"{event.get_grade_display()} reaction recorded.{flagged}")
        return redirect("contrast:event", pk=event.pk)
    context = {
        "form": form,
        "given": given,
        "title": f"Reaction to {given.agent.name}",
        "submit": "Record reaction",
        "back": _exam_url(given.exam_id, "doses"),
    }
    return render(request, "contrast/form.html", context, status=status_of(form))


@page_requires(VIEW_EVENTS)
@require_GET
def event_list(request: HttpRequest) -> HttpResponse:
    grade = request.GET.get("grade", "")
    if grade not in {g.value for g in Grade}:
        grade = ""
    page = paginate(request, selectors.adverse_events(grade=grade))
    access_record(
        user=request.user,
        patients=[e.administration.exam.order.patient for e in page.object_list],
        action="contrast.events",
        source=_web(request),
    )
    return render(
        request,
        "contrast/events.html",
        {"page": page, "grade": grade, "grades": [g.value for g in Grade]},
    )


def _event_page(
    request: HttpRequest, event: AdverseEvent, form: ReportForm | None = None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "contrast/event.html",
        {
            "event": event,
            "given": event.administration,
            "patient": event.administration.exam.order.patient,
            "can_report": request.user.has_perm("contrast.change_adverseevent"),
            "report_form": form or ReportForm(initial={"reported_on": timezone.localdate()}),
        },
        status=status,
    )


def _event(request: HttpRequest, pk: UUID, action: str) -> AdverseEvent:
    event = get_object_or_404(
        AdverseEvent.objects.select_related(
            "administration__agent",
            "administration__lot",
            "administration__exam__order__patient",
            "administration__exam__order__exam_type",
            "allergy",
            "recorded_by",
        ),
        pk=pk,
    )
    access_record(
        user=request.user,
        patients=[event.administration.exam.order.patient],
        action=action,
        source=_web(request),
    )
    return event


@page_requires(VIEW_EVENTS)
@require_GET
def event_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    return _event_page(request, _event(request, pk, "contrast.event"))


@page_requires("contrast.change_adverseevent")
@require_http_methods(["GET", "POST"])
def event_report(request: HttpRequest, pk: UUID) -> HttpResponse:
    event = _event(request, pk, "contrast.event")
    if request.method != "POST":
        return redirect("contrast:event", pk=event.pk)
    form = ReportForm(request.POST)
    try:
        done = submit(
            form,
            lambda data: services.adverse_event_report(
                event=event,
                by=request.user,
                reported_on=data["reported_on"],
                reference=data["reference"],
            ),
        )
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("contrast:event", pk=event.pk)
    if done is not None:
        messages.success(request, "Marked as reported to the safety programme.")
        return redirect("contrast:event", pk=event.pk)
    return _event_page(request, event, form, status=422)


# --- doses -------------------------------------------------------------------------------------


@page_requires(VIEW_DOSES)
@require_GET
def administration_list(request: HttpRequest) -> HttpResponse:
    agent_id: UUID | None = None
    try:
        agent_id = UUID(request.GET.get("agent", ""))
    except ValueError:
        agent_id = None
    month: date | None = None
    raw_month = request.GET.get("month", "")
    try:
        month = date.fromisoformat(f"{raw_month}-01") if raw_month else None
    except ValueError:
        month = None
    page = paginate(request, selectors.administrations(agent_id=agent_id, month=month))
    access_record(
        user=request.user,
        patients=[a.exam.order.patient for a in page.object_list],
        action="contrast.administrations",
        source=_web(request),
    )
    return render(
        request,
        "contrast/administrations.html",
        {
            "page": page,
            "agents": selectors.agents().order_by("name"),
            "agent_id": agent_id,
            "month": f"{month:%Y-%m}" if month else "",
        },
    )
