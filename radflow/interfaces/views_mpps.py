"""The MPPS reconciliation pages: what the modalities reported that RadFlow could not apply
alone, and the exams they began while an intake requirement was unmet.

The coordinator links a step to its exam (or orders the exam for a walk-in patient) and clears
flags; the director reads. Views parse, authorise, call one service and render; every page that
names patients records one access-log row per RadFlow patient shown.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from radflow.accounts.access import page_requires
from radflow.audit.models import AccessChannel
from radflow.audit.services import AccessSource
from radflow.core.errors import NotFound, RadflowError, ValidationFailed
from radflow.exams.models import Exam, HardStop
from radflow.interfaces import selectors_mpps as selectors
from radflow.interfaces import services
from radflow.interfaces.forms_mpps import (
    ClearFlagForm,
    CreateOrderForm,
    LinkForm,
    StepSearchForm,
)
from radflow.interfaces.models import PerformedProcedureStep

VIEW = "interfaces.view_performedprocedurestep"
CHANGE = "interfaces.change_performedprocedurestep"
ORDER = "orders.add_order"


def _web(request: HttpRequest) -> AccessSource:
    return AccessSource.from_request(request, AccessChannel.WEB)


def _step(pk: UUID) -> PerformedProcedureStep:
    try:
        return selectors.step_get(step_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def missing_labels(step: PerformedProcedureStep) -> list[tuple[str, str]]:
    """(label, detail) of each stop that was unmet when the modality began the exam."""
    labels = dict(HardStop.choices)
    return [
        (str(labels.get(item.get("code", ""), item.get("code", ""))), str(item.get("detail", "")))
        for item in step.missing
        if isinstance(item, dict)
    ]


@page_requires(VIEW)
@require_GET
def mpps_list(request: HttpRequest) -> HttpResponse:
    waiting = selectors.unreconciled_steps()
    flagged = selectors.flagged_steps()
    selectors.patients_shown_audited(
        user=request.user,
        exams=[s.exam for s in [*waiting, *flagged]],
        action="interfaces.mpps_list",
        source=_web(request),
    )
    context = {
        "waiting": waiting,
        "flagged": [(step, missing_labels(step), ClearFlagForm()) for step in flagged],
    }
    return render(request, "interfaces/mpps_list.html", context)


def _step_page(
    request: HttpRequest,
    step: PerformedProcedureStep,
    *,
    order_form: CreateOrderForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    search = StepSearchForm(request.GET or {"q": step.accession_number or step.patient_id})
    q = search.cleaned_data.get("q", "") if search.is_valid() else ""
    candidates = selectors.link_candidates(q=q, on=timezone.localdate())
    shown: list[Exam | None] = [step.exam, *candidates]
    selectors.patients_shown_audited(
        user=request.user, exams=shown, action="interfaces.mpps_step", source=_web(request)
    )
    open_step = step.exam_id is None or bool(step.apply_error)
    context: dict[str, Any] = {
        "step": step,
        "missing": missing_labels(step),
        "search": search,
        "candidates": candidates,
        "open_step": open_step,
        "order_form": order_form or CreateOrderForm(modality=step.modality),
        "error": error,
    }
    return render(request, "interfaces/mpps_step.html", context, status=status)


@page_requires(VIEW)
@require_GET
def mpps_step(request: HttpRequest, pk: UUID) -> HttpResponse:
    return _step_page(request, _step(pk))


@page_requires(VIEW, CHANGE)
@require_POST
def mpps_link(request: HttpRequest, pk: UUID) -> HttpResponse:
    step = _step(pk)
    form = LinkForm(request.POST)
    exam = None
    if form.is_valid():
        exam = Exam.objects.filter(pk=form.cleaned_data["exam"]).first()
    if exam is None:
        return _step_page(request, step, error="Choose an exam to link the step to.", status=422)
    try:
        services.mpps_link(step=step, exam=exam, by=request.user)
    except RadflowError as exc:
        return _step_page(request, step, error=exc.message, status=409)
    messages.success(
        request, f"The step is linked to exam {exam.accession_number}; the exam follows it."
    )
    return redirect("interfaces:mpps")


@page_requires(VIEW, CHANGE, ORDER)
@require_POST
def mpps_order(request: HttpRequest, pk: UUID) -> HttpResponse:
    step = _step(pk)
    form = CreateOrderForm(request.POST, modality=step.modality)
    if not form.is_valid():
        return _step_page(request, step, order_form=form, status=422)
    try:
        linked = services.mpps_create_order(
            step=step,
            by=request.user,
            exam_type=form.cleaned_data["exam_type"],
            priority=form.cleaned_data["priority"],
        )
    except ValidationFailed as exc:
        form.add_service_errors(exc)
        return _step_page(request, step, order_form=form, status=422)
    except RadflowError as exc:
        return _step_page(request, step, order_form=form, error=exc.message, status=409)
    accession = linked.exam.accession_number if linked.exam else ""
    messages.success(
        request,
        f"Order created: exam {accession}, linked to the step. Complete the referral's details "
        "on the order.",
    )
    return redirect("interfaces:mpps")


@page_requires(VIEW, CHANGE)
@require_POST
def mpps_clear(request: HttpRequest, pk: UUID) -> HttpResponse:
    step = _step(pk)
    form = ClearFlagForm(request.POST)
    if form.is_valid():
        try:
            services.mpps_flag_clear(step=step, by=request.user, note=form.cleaned_data["note"])
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        except RadflowError as exc:
            messages.error(request, exc.message)
            return redirect("interfaces:mpps")
    if form.errors:
        messages.error(request, "Say what was done about the unmet requirements.")
        return redirect("interfaces:mpps")
    accession = step.exam.accession_number if step.exam else ""
    messages.success(request, f"Flag cleared on exam {accession}.")
    return redirect("interfaces:mpps")
