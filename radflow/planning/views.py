"""Day plan pages: start a plan (the board's Re-plan button), watch it solve, review the diff
and apply or discard it; and the optimizer's weights.

Views parse, authorise, call one service and render. While a plan solves, the run page polls a
fragment every second (htmx) that stops polling once the plan has an outcome. The review names
patients (whom to call), so showing it is an audited patient read.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from radflow.accounts.access import page_requires
from radflow.audit.models import AccessChannel
from radflow.audit.services import AccessSource, access_record
from radflow.core.errors import RadflowError, ValidationFailed
from radflow.planning import selectors, services
from radflow.planning.forms import PlanStartForm, SchedulingSettingsForm
from radflow.planning.models import DayPlanRun, DepartmentSchedulingSettings, PlanKind, PlanStatus

VIEW = "planning.view_dayplanrun"
PLAN = "planning.plan_day"
SETTINGS = "planning.change_departmentschedulingsettings"
#: Seconds between polls of a solving plan's progress fragment.
POLL_SECONDS = 1


def _run(pk: UUID) -> DayPlanRun:
    return get_object_or_404(
        DayPlanRun.objects.select_related("site", "created_by", "decided_by"), pk=pk
    )


def _back(request: HttpRequest, target: str) -> str | None:
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


@page_requires(VIEW, PLAN)
@require_POST
def start(request: HttpRequest) -> HttpResponse:
    """Start a plan of a site's day; back to where the coordinator came from if refused."""
    form = PlanStartForm(request.POST)
    back = _back(request, request.POST.get("next", "")) or _back(
        request, request.META.get("HTTP_REFERER", "")
    )
    if not form.is_valid():
        errors = "; ".join(
            f"{name}: {' '.join(str(m) for m in e)}" for name, e in form.errors.items()
        )
        messages.error(request, f"The plan was not started: {errors}")
        return redirect(back or "planning:settings")
    data = form.cleaned_data
    site, on = data["site"], data["date"]
    trigger = data["trigger"] or selectors.replan_suggestion(site, on) or ""
    try:
        run = services.plan_start(
            site=site,
            on=on,
            by=request.user,
            kind=data["kind"] or PlanKind.REPLAN,
            trigger=trigger,
        )
    except RadflowError as exc:
        messages.error(request, f"The plan was not started: {exc.message}")
        latest = selectors.latest_run(site, on)
        if latest is not None and latest.status in (PlanStatus.QUEUED, PlanStatus.RUNNING):
            return redirect("planning:run", pk=latest.pk)
        return redirect(back or "planning:settings")
    return redirect("planning:run", pk=run.pk)


def _context(request: HttpRequest, run: DayPlanRun) -> dict[str, Any]:
    now = timezone.now()
    started = run.started_at
    finished = run.finished_at or now
    elapsed = int((finished - started).total_seconds()) if started else 0
    result = run.result or {}
    review = selectors.run_review(run) if run.finished and result else None
    if review is not None and review.patients:
        access_record(
            user=request.user,
            patients=review.patients,
            action="plan.review",
            source=AccessSource.from_request(request, AccessChannel.WEB),
        )
    gap = result.get("gap")
    trace = run.trace or []
    return {
        "best": trace[-1][1] if trace and len(trace[-1]) > 1 else None,
        "run": run,
        "result": result,
        "review": review,
        "done": run.finished,
        "elapsed": min(elapsed, run.seconds_limit) if not run.finished else elapsed,
        "gap": f"{gap:.1%}" if isinstance(gap, int | float) else "",
        "poll_seconds": POLL_SECONDS,
        "can_plan": request.user.has_perm(PLAN),
    }


@page_requires(VIEW)
@require_GET
def run_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    run = _run(pk)
    return render(request, "planning/run.html", _context(request, run))


@page_requires(VIEW)
@require_GET
def run_progress(request: HttpRequest, pk: UUID) -> HttpResponse:
    """The fragment the run page polls; once the plan is ready it carries no trigger, so polling
    stops, and it shows the review instead of the bar."""
    run = _run(pk)
    return render(request, "planning/_run.html", _context(request, run))


@page_requires(VIEW, PLAN)
@require_POST
def apply(request: HttpRequest, pk: UUID) -> HttpResponse:
    run = _run(pk)
    try:
        run = services.plan_apply(run=run, by=request.user)
    except RadflowError as exc:
        messages.error(request, exc.message)
    else:
        applied = run.result.get("applied", {})
        messages.success(
            request,
            f"Plan applied: {applied.get('moves', 0)} appointment(s) changed, "
            f"{applied.get('emailed', 0)} patient(s) emailed.",
        )
    return redirect("planning:run", pk=run.pk)


@page_requires(VIEW, PLAN)
@require_POST
def discard(request: HttpRequest, pk: UUID) -> HttpResponse:
    run = _run(pk)
    try:
        services.plan_discard(run=run, by=request.user)
    except RadflowError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Plan discarded; no booking changed.")
    return redirect("planning:run", pk=run.pk)


@page_requires(SETTINGS)
def settings_page(request: HttpRequest) -> HttpResponse:
    current = DepartmentSchedulingSettings.objects.order_by("created_at").first()
    form = SchedulingSettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        try:
            services.scheduling_settings_save(by=request.user, **form.cleaned_data)
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        except RadflowError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Scheduling settings saved.")
            return redirect("planning:settings")
    runs = DayPlanRun.objects.select_related("site", "created_by").order_by("-created_at")[:20]
    status = 422 if form.is_bound and form.errors else 200
    return render(request, "planning/settings.html", {"form": form, "runs": runs}, status=status)
