"""Roster pages: plan and publish (coordinator), read (director, auditor, scheduler), and each
rostered person's own shifts, leave, wishes and swaps; plus the secret-token iCal feed.

Views parse, authorise, call one service and render; the rules live in ``rostering.services``
and the reads in ``rostering.selectors``. A solve runs in the background: the run page polls a
fragment every second (htmx) that stops polling once the run has an outcome.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from radflow.accounts.access import page_requires, public_page
from radflow.core.errors import RadflowError, ValidationFailed
from radflow.exams.export import XLSX_CONTENT_TYPE
from radflow.rostering import exports, selectors, services
from radflow.rostering.forms import (
    CoverageForm,
    DeclineForm,
    LeaveRequestForm,
    PreferenceForm,
    RosterCreateForm,
    RosterSettingsForm,
    ShiftTypeForm,
    SickCallForm,
    StaffRulesForm,
    SwapRequestForm,
)
from radflow.rostering.models import (
    CalendarFeed,
    CoverageRequirement,
    LeaveRequest,
    Roster,
    RosterRun,
    RosterSettings,
    RosterStatus,
    RunStatus,
    ShiftPreference,
    ShiftType,
    SickCall,
    StaffRosterRules,
    SwapRequest,
    SwapStatus,
)
from radflow.scheduling.models import Modality
from radflow.staff.models import StaffMember

VIEW = "rostering.view_roster"
PLAN = "rostering.publish_roster"
SELF = "rostering.view_rosterassignment"
#: Seconds between polls of a running solve's progress fragment.
POLL_SECONDS = 1
#: How far ahead My shifts lists a person's shifts (the longest roster).
UPCOMING_DAYS = 42
DONE = {RunStatus.FINISHED, RunStatus.INFEASIBLE, RunStatus.FAILED, RunStatus.CANCELLED}


# --- helpers -----------------------------------------------------------------------------------


def own_staff(request: HttpRequest) -> StaffMember | None:
    """The staff member behind this login, or None for an account not linked to one."""
    if not request.user.is_authenticated:
        return None
    return StaffMember.objects.filter(user=request.user, active=True).first()


def _form_error(form: Any, exc: RadflowError) -> None:
    """A service's refusal on the form: field errors where they belong, the rest on top."""
    if isinstance(exc, ValidationFailed):
        form.add_service_errors(exc)
    else:
        form.add_error(None, exc.message)


def _status(form: Any) -> int:
    return 422 if form.is_bound and form.errors else 200


def _month(request: HttpRequest) -> date:
    """First day of the month asked for in ``?month=YYYY-MM`` (default: this month)."""
    raw = request.GET.get("month", "")
    try:
        year, month = (int(part) for part in raw.split("-", 1))
        return date(year, month, 1)
    except ValueError:
        today = timezone.localdate()
        return today.replace(day=1)


def _monday(request: HttpRequest, name: str = "week") -> date:
    raw = request.GET.get(name, "")
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        day = timezone.localdate()
    return day - timedelta(days=day.weekday())


def _month_end(first: date) -> date:
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def _month_nav(first: date) -> dict[str, str]:
    previous = (first - timedelta(days=1)).replace(day=1)
    following = _month_end(first) + timedelta(days=1)
    return {"previous": f"{previous:%Y-%m}", "next": f"{following:%Y-%m}"}


@dataclass(frozen=True)
class CalendarDay:
    day: date
    in_month: bool
    today: bool
    items: list[Any]


def month_weeks(first: date, by_day: dict[date, list[Any]]) -> list[list[CalendarDay]]:
    """The month as Monday-first weeks of days, each with what happens on it."""
    today = timezone.localdate()
    start = first - timedelta(days=first.weekday())
    last = _month_end(first)
    end = last + timedelta(days=6 - last.weekday())
    weeks: list[list[CalendarDay]] = []
    day = start
    while day <= end:
        week = []
        for _ in range(7):
            week.append(
                CalendarDay(day, day.month == first.month, day == today, by_day.get(day, []))
            )
            day += timedelta(days=1)
        weeks.append(week)
    return weeks


def _roster(pk: UUID) -> Roster:
    return get_object_or_404(Roster, pk=pk)


# --- rosters -----------------------------------------------------------------------------------


@page_requires(VIEW)
@require_GET
def roster_list(request: HttpRequest) -> HttpResponse:
    can_plan = request.user.has_perm(PLAN)
    context = {
        "rosters": selectors.roster_list(),
        "form": RosterCreateForm() if can_plan else None,
        "can_plan": can_plan,
        "swaps_pending": len(selectors.swaps_pending()) if can_plan else 0,
        "leave_pending": len(selectors.leave_pending()) if can_plan else 0,
    }
    return render(request, "rostering/list.html", context)


@page_requires(PLAN, "rostering.add_roster")
def roster_create(request: HttpRequest) -> HttpResponse:
    form = RosterCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            roster = services.roster_create(
                start=form.cleaned_data["start"], weeks=form.cleaned_data["weeks"], by=request.user
            )
        except RadflowError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Roster from {roster.start:%d %b %Y} created.")
            return redirect("rostering:roster_detail", pk=roster.pk)
    return render(request, "rostering/create.html", {"form": form}, status=_status(form))


@page_requires(VIEW)
@require_GET
def roster_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    roster = _roster(pk)
    runs = list(roster.runs.select_related("requested_by"))
    latest = runs[0] if runs else None
    busy = latest is not None and latest.status not in DONE
    context = {
        "roster": roster,
        "runs": runs,
        "latest": latest,
        "can_plan": request.user.has_perm(PLAN),
        "can_generate": roster.status
        in (RosterStatus.DRAFT, RosterStatus.SOLVED, RosterStatus.SOLVING)
        and not busy,
        "can_publish": roster.status == RosterStatus.SOLVED and not busy,
        "fairness": selectors.fairness(roster=roster)
        if roster.status in (RosterStatus.SOLVED, RosterStatus.PUBLISHED)
        else None,
    }
    return render(request, "rostering/detail.html", context)


@page_requires(PLAN)
@require_POST
def roster_generate(request: HttpRequest, pk: UUID) -> HttpResponse:
    roster = _roster(pk)
    try:
        run = services.roster_run_start(roster=roster, by=request.user)
    except RadflowError as exc:
        messages.error(request, f"The roster was not generated: {exc.message}")
        return redirect("rostering:roster_detail", pk=roster.pk)
    return redirect("rostering:run_detail", pk=run.pk)


@page_requires(PLAN)
@require_POST
def roster_publish(request: HttpRequest, pk: UUID) -> HttpResponse:
    roster = _roster(pk)
    try:
        services.roster_publish(roster=roster, by=request.user)
    except RadflowError as exc:
        messages.error(request, f"The roster was not published: {exc.message}")
    else:
        messages.success(request, "Roster published; the staff on it have been notified.")
    return redirect("rostering:roster_detail", pk=roster.pk)


@page_requires(VIEW)
@require_GET
def roster_grid(request: HttpRequest, pk: UUID) -> HttpResponse:
    roster = _roster(pk)
    grid = selectors.roster_grid(roster=roster)
    context = {
        "roster": roster,
        "grid": grid,
        "headers": [(day, grid.holidays.get(day, "")) for day in grid.days],
        "columns": len(grid.days) + 2,
        "people_count": sum(len(group.people) for group in grid.groups),
        "cover_rows": cover_rows(grid),
    }
    return render(request, "rostering/grid.html", context)


@dataclass(frozen=True)
class CoverRow:
    label: str
    cells: list[selectors.DayCover | None]


def cover_rows(grid: selectors.Grid) -> list[CoverRow]:
    """The grid's footer: one row per shift x skill, one cell per day (None: not asked for)."""
    keyed: dict[tuple[str, str], dict[date, selectors.DayCover]] = {}
    for day_covers in grid.coverage.values():
        for cover in day_covers:
            keyed.setdefault((cover.shift, cover.skill or ""), {})[cover.date] = cover
    rows = []
    for (shift, skill), by_day in sorted(keyed.items()):
        label = f"{shift} · {skill}" if skill else shift
        rows.append(CoverRow(label, [by_day.get(day) for day in grid.days]))
    return rows


@page_requires(VIEW)
@require_GET
def roster_export(request: HttpRequest, pk: UUID) -> HttpResponse:
    roster = _roster(pk)
    response = HttpResponse(exports.roster_xlsx(roster=roster), content_type=XLSX_CONTENT_TYPE)
    filename = f"roster-{roster.start:%Y-%m-%d}-{roster.weeks}w.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- runs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunView:
    """A run as the progress fragment shows it."""

    run: RosterRun
    done: bool
    elapsed: int
    limit: int
    gap: str
    #: Coverage rows that fall short of the minimum, first.
    coverage: list[dict[str, Any]]
    shortfalls: int
    under_preferred: int


def _coverage_rows(run: RosterRun) -> list[dict[str, Any]]:
    """The run's coverage, each row marked short (below minimum), under (below preferred), ok."""
    rows: list[dict[str, Any]] = []
    for raw in run.coverage or []:
        if not isinstance(raw, dict):
            continue
        row = dict(raw)
        assigned = int(row.get("assigned", 0) or 0)
        minimum = int(row.get("minimum", 0) or 0)
        preferred = int(row.get("preferred", minimum) or 0)
        row["state"] = "short" if assigned < minimum else "under" if assigned < preferred else "ok"
        rows.append(row)
    order = {"short": 0, "under": 1, "ok": 2}
    rows.sort(key=lambda r: (order[r["state"]], str(r.get("date", "")), str(r.get("shift", ""))))
    return rows


def run_view(run: RosterRun) -> RunView:
    now = timezone.now()
    started = run.started_at
    finished = run.finished_at or now
    elapsed = int((finished - started).total_seconds()) if started else 0
    gap = ""
    if run.objective is not None and run.best_bound is not None and run.objective:
        gap = f"{max(0, run.objective - run.best_bound) / abs(run.objective):.0%}"
    coverage = _coverage_rows(run)
    return RunView(
        run=run,
        done=run.status in DONE,
        elapsed=min(elapsed, run.seconds_limit) if run.status not in DONE else elapsed,
        limit=run.seconds_limit,
        gap=gap,
        coverage=coverage,
        shortfalls=sum(1 for r in coverage if r["state"] == "short"),
        under_preferred=sum(1 for r in coverage if r["state"] == "under"),
    )


def _run(pk: UUID) -> RosterRun:
    return get_object_or_404(RosterRun.objects.select_related("roster", "requested_by"), pk=pk)


def _run_context(request: HttpRequest, run: RosterRun) -> dict[str, Any]:
    roster = run.roster
    view = run_view(run)
    solved = roster.status in (RosterStatus.SOLVED, RosterStatus.PUBLISHED)
    return {
        "view": view,
        "run": run,
        "roster": roster,
        "can_plan": request.user.has_perm(PLAN),
        "can_publish": roster.status == RosterStatus.SOLVED and run.status == RunStatus.FINISHED,
        "poll_seconds": POLL_SECONDS,
        "fairness": selectors.fairness(roster=roster) if view.done and solved else None,
    }


@page_requires(VIEW)
@require_GET
def run_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    run = _run(pk)
    return render(request, "rostering/run.html", _run_context(request, run))


@page_requires(VIEW)
@require_GET
def run_progress(request: HttpRequest, pk: UUID) -> HttpResponse:
    """The fragment the run page polls; once the run is over it carries no trigger, so polling
    stops, and it shows the outcome instead of the bar."""
    run = _run(pk)
    return render(request, "rostering/_run.html", _run_context(request, run))


@page_requires(PLAN)
@require_POST
def run_cancel(request: HttpRequest, pk: UUID) -> HttpResponse:
    run = _run(pk)
    try:
        services.roster_run_cancel(run=run, by=request.user)
    except RadflowError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Stopping the solver; the best roster so far is kept.")
    return redirect("rostering:run_detail", pk=run.pk)


# --- calendars ---------------------------------------------------------------------------------


def _by_day(rows: list[Any], attribute: str = "date") -> dict[date, list[Any]]:
    by_day: dict[date, list[Any]] = {}
    for row in rows:
        by_day.setdefault(getattr(row, attribute), []).append(row)
    return by_day


def _person_month(staff: StaffMember, first: date) -> dict[str, Any]:
    last = _month_end(first)
    shifts = selectors.person_shifts(staff=staff, start=first, end=last)
    return {
        "weeks": month_weeks(first, _by_day(list(shifts))),
        "month": first,
        "nav": _month_nav(first),
        "shifts": shifts,
    }


@page_requires(VIEW)
@require_GET
def person_calendar(request: HttpRequest, pk: UUID) -> HttpResponse:
    staff = get_object_or_404(StaffMember, pk=pk)
    context = {"person": staff, **_person_month(staff, _month(request))}
    return render(request, "rostering/person.html", context)


@dataclass(frozen=True)
class WeekRow:
    shift_type: ShiftType
    #: Per day of the week, the people on this shift.
    cells: list[list[StaffMember]]


def week_rows(days: list[selectors.CalendarDay]) -> list[WeekRow]:
    """Shift types down, days across, from the selector's days x shift types."""
    shift_types: dict[UUID, ShiftType] = {}
    people: dict[tuple[UUID, int], list[StaffMember]] = {}
    for index, day in enumerate(days):
        for shift_type, members in day.shifts:
            shift_types.setdefault(shift_type.pk, shift_type)
            people[shift_type.pk, index] = members
    ordered = sorted(shift_types.values(), key=lambda st: (st.start, st.code))
    return [
        WeekRow(st, [people.get((st.pk, index), []) for index in range(len(days))])
        for st in ordered
    ]


@page_requires(VIEW)
@require_GET
def modality_calendar(request: HttpRequest) -> HttpResponse:
    modalities = list(Modality.objects.filter(shift_types__isnull=False).distinct())
    code = request.GET.get("modality") or (modalities[0].code if modalities else "")
    monday = _monday(request)
    end = monday + timedelta(days=6)
    days = selectors.modality_calendar(modality_code=code, start=monday, end=end) if code else []
    context = {
        "modalities": modalities,
        "code": code,
        "monday": monday,
        "end": end,
        "previous": monday - timedelta(days=7),
        "next": monday + timedelta(days=7),
        "days": [day.date for day in days],
        "rows": week_rows(days),
    }
    return render(request, "rostering/modality.html", context)


@page_requires(VIEW)
@require_GET
def on_call_calendar(request: HttpRequest) -> HttpResponse:
    first = _month(request)
    rota = selectors.on_call_rota(start=first, end=_month_end(first))
    by_day = {row.date: list(row.shifts) for row in rota}
    context = {"weeks": month_weeks(first, by_day), "month": first, "nav": _month_nav(first)}
    return render(request, "rostering/on_call.html", context)


# --- my shifts and the iCal feed ---------------------------------------------------------------


@page_requires(SELF)
@require_GET
def my_shifts(request: HttpRequest) -> HttpResponse:
    staff = own_staff(request)
    context: dict[str, Any] = {"person": staff}
    if staff is not None:
        context.update(_person_month(staff, _month(request)))
        today = timezone.localdate()
        context["upcoming"] = selectors.person_shifts(
            staff=staff, start=today, end=today + timedelta(days=UPCOMING_DAYS - 1)
        )
        feed = CalendarFeed.objects.filter(staff=staff).first()
        context["feed_url"] = (
            request.build_absolute_uri(reverse("rostering:feed", kwargs={"token": feed.token}))
            if feed
            else ""
        )
    return render(request, "rostering/my_shifts.html", context)


@page_requires(SELF)
@require_POST
def feed_rotate(request: HttpRequest) -> HttpResponse:
    staff = own_staff(request)
    if staff is None:
        raise Http404("Your account is not linked to a staff member.")
    had = CalendarFeed.objects.filter(staff=staff).exists()
    services.calendar_feed_rotate(staff=staff, by=request.user)
    if had:
        messages.success(request, "New calendar link made; the old one no longer works.")
    else:
        messages.success(request, "Calendar link made: add it to your calendar app.")
    return redirect("rostering:my_shifts")


@public_page
@require_GET
def ical_feed(request: HttpRequest, token: str) -> HttpResponse:
    """No login: the token in the URL is the secret (calendar apps cannot log in)."""
    feed = CalendarFeed.objects.select_related("staff").filter(token=token).first()
    if feed is None or not feed.staff.active:
        raise Http404("No calendar has this address.")
    response = HttpResponse(
        exports.ical_feed(staff=feed.staff), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = 'inline; filename="roster.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response


# --- leave -------------------------------------------------------------------------------------


def _no_staff(request: HttpRequest, template: str, extra: dict[str, Any]) -> HttpResponse:
    return render(request, template, {"person": None, **extra})


@page_requires("rostering.add_leaverequest")
def leave_page(request: HttpRequest) -> HttpResponse:
    staff = own_staff(request)
    can_decide = request.user.has_perm("rostering.change_leaverequest")
    form = LeaveRequestForm(request.POST or None)
    if request.method == "POST":
        if staff is None:
            raise Http404("Your account is not linked to a staff member.")
        if form.is_valid():
            try:
                services.leave_request_create(staff=staff, by=request.user, **form.cleaned_data)
            except RadflowError as exc:
                _form_error(form, exc)
            else:
                messages.success(request, "Leave requested; the coordinator will decide.")
                return redirect("rostering:leave")
    context = {
        "person": staff,
        "form": form,
        "mine": LeaveRequest.objects.filter(staff=staff).select_related("decided_by")
        if staff
        else [],
        "pending": selectors.leave_pending() if can_decide else [],
        "can_decide": can_decide,
    }
    return render(request, "rostering/leave.html", context, status=_status(form))


@page_requires("rostering.change_leaverequest")
@require_POST
def leave_decide(request: HttpRequest, pk: UUID) -> HttpResponse:
    leave = get_object_or_404(LeaveRequest.objects.select_related("staff"), pk=pk)
    approve = request.POST.get("decision") == "approve"
    try:
        services.leave_request_decide(leave=leave, approve=approve, by=request.user)
    except RadflowError as exc:
        messages.error(request, exc.message)
    else:
        verdict = "approved" if approve else "declined"
        messages.success(request, f"Leave of {leave.staff} {verdict}.")
    return redirect("rostering:leave")


# --- preferences -------------------------------------------------------------------------------


@page_requires("rostering.add_shiftpreference")
def preferences_page(request: HttpRequest) -> HttpResponse:
    staff = own_staff(request)
    form = PreferenceForm(request.POST or None)
    if request.method == "POST":
        if staff is None:
            raise Http404("Your account is not linked to a staff member.")
        if form.is_valid():
            try:
                services.preference_save(staff=staff, by=request.user, **form.cleaned_data)
            except RadflowError as exc:
                _form_error(form, exc)
            else:
                messages.success(request, "Wish saved; the next roster weighs it.")
                return redirect("rostering:preferences")
    mine = ShiftPreference.objects.filter(staff=staff).select_related("shift_type") if staff else []
    context = {"person": staff, "form": form, "mine": mine}
    return render(request, "rostering/preferences.html", context, status=_status(form))


@page_requires("rostering.add_shiftpreference")
@require_POST
def preference_delete(request: HttpRequest, pk: UUID) -> HttpResponse:
    staff = own_staff(request)
    preference = get_object_or_404(ShiftPreference, pk=pk, staff=staff)
    services.preference_delete(preference=preference, by=request.user)
    messages.success(request, "Wish removed.")
    return redirect("rostering:preferences")


# --- swaps -------------------------------------------------------------------------------------


@page_requires("rostering.add_swaprequest")
def swaps_page(request: HttpRequest) -> HttpResponse:
    staff = own_staff(request)
    can_decide = request.user.has_perm("rostering.change_swaprequest")
    form = SwapRequestForm(request.POST or None, requester=staff)
    if request.method == "POST":
        if staff is None:
            raise Http404("Your account is not linked to a staff member.")
        if form.is_valid():
            try:
                services.swap_request(requester=staff, by=request.user, **form.cleaned_data)
            except RadflowError as exc:
                _form_error(form, exc)
            else:
                messages.success(request, "Swap requested; the coordinator will decide.")
                return redirect("rostering:swaps")
    mine = (
        SwapRequest.objects.filter(Q(requester=staff) | Q(partner=staff)).select_related(
            "requester", "partner", "roster"
        )
        if staff
        else []
    )
    context = {
        "person": staff,
        "form": form,
        "mine": mine,
        "pending": selectors.swaps_pending() if can_decide else [],
        "can_decide": can_decide,
        "decline_form": DeclineForm(),
        "requested": SwapStatus.REQUESTED,
    }
    return render(request, "rostering/swaps.html", context, status=_status(form))


def _swap(pk: UUID) -> SwapRequest:
    return get_object_or_404(
        SwapRequest.objects.select_related("requester", "partner", "roster"), pk=pk
    )


@page_requires("rostering.change_swaprequest")
@require_POST
def swap_approve(request: HttpRequest, pk: UUID) -> HttpResponse:
    swap = _swap(pk)
    try:
        swap = services.swap_approve(swap=swap, by=request.user)
    except RadflowError as exc:
        messages.error(request, f"Swap not approved: {exc.message}")
    else:
        if swap.status == SwapStatus.APPROVED:
            messages.success(request, f"Swap approved: {swap.requester} and {swap.partner}.")
        else:
            messages.error(request, f"Swap refused by the rules: {swap.reason}")
    return redirect("rostering:swaps")


@page_requires("rostering.change_swaprequest")
@require_POST
def swap_decline(request: HttpRequest, pk: UUID) -> HttpResponse:
    swap = _swap(pk)
    form = DeclineForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Swap not declined: give a reason for the people asking.")
        return redirect("rostering:swaps")
    try:
        services.swap_decline(swap=swap, by=request.user, reason=form.cleaned_data["reason"])
    except RadflowError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Swap declined.")
    return redirect("rostering:swaps")


@page_requires("rostering.add_swaprequest")
@require_POST
def swap_withdraw(request: HttpRequest, pk: UUID) -> HttpResponse:
    staff = own_staff(request)
    swap = get_object_or_404(SwapRequest, pk=pk, requester=staff)
    try:
        services.swap_withdraw(swap=swap, by=request.user)
    except RadflowError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Swap withdrawn.")
    return redirect("rostering:swaps")


# --- sick calls --------------------------------------------------------------------------------


@page_requires(PLAN, "rostering.add_sickcall")
def sick_call_page(request: HttpRequest) -> HttpResponse:
    form = SickCallForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sick = services.sick_call_report(by=request.user, **form.cleaned_data)
        except RadflowError as exc:
            _form_error(form, exc)
        else:
            return redirect("rostering:sick_call_detail", pk=sick.pk)
    recent = SickCall.objects.select_related("staff", "run", "roster")[:20]
    context = {"form": form, "recent": recent}
    return render(request, "rostering/sick_calls.html", context, status=_status(form))


@page_requires(PLAN)
@require_GET
def sick_call_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    sick = get_object_or_404(SickCall.objects.select_related("staff", "roster", "run"), pk=pk)
    ids = {str(change[0]) for change in sick.changes or []}
    names = {str(p.pk): str(p) for p in StaffMember.objects.filter(pk__in=ids)}
    changes = [
        (names.get(str(who), str(who)), on, old, new) for who, on, old, new in sick.changes or []
    ]
    context: dict[str, Any] = {
        "sick": sick,
        "changes": changes,
        "applied": services.sick_call_applied(sick),
    }
    if sick.run is not None:
        context.update(_run_context(request, sick.run))
        context["can_publish"] = False
    return render(request, "rostering/sick_call.html", context)


@page_requires(PLAN)
@require_POST
def sick_call_apply(request: HttpRequest, pk: UUID) -> HttpResponse:
    sick = get_object_or_404(SickCall.objects.select_related("staff", "roster", "run"), pk=pk)
    try:
        services.sick_call_apply(sick_call=sick, by=request.user)
    except RadflowError as exc:
        messages.error(request, f"Changes not applied: {exc.message}")
    else:
        messages.success(request, "Changes applied to the published roster; people were told.")
    return redirect("rostering:sick_call_detail", pk=sick.pk)


# --- setup -------------------------------------------------------------------------------------


@page_requires("rostering.change_shifttype")
def shift_types_page(request: HttpRequest) -> HttpResponse:
    form = ShiftTypeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.shift_type_save(shift_type=None, by=request.user, **form.cleaned_data)
        except RadflowError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Shift type added.")
            return redirect("rostering:shift_types")
    context = {
        "form": form,
        "shift_types": ShiftType.objects.select_related("site", "modality"),
    }
    return render(request, "rostering/shift_types.html", context, status=_status(form))


@page_requires("rostering.change_shifttype")
def shift_type_edit(request: HttpRequest, pk: UUID) -> HttpResponse:
    shift_type = get_object_or_404(ShiftType, pk=pk)
    form = ShiftTypeForm(request.POST or None, instance=shift_type)
    if request.method == "POST" and form.is_valid():
        try:
            services.shift_type_save(shift_type=shift_type, by=request.user, **form.cleaned_data)
        except RadflowError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Shift type saved.")
            return redirect("rostering:shift_types")
    context = {"form": form, "shift_type": shift_type}
    return render(request, "rostering/shift_type_form.html", context, status=_status(form))


@page_requires("rostering.change_coveragerequirement")
def coverage_page(request: HttpRequest) -> HttpResponse:
    form = CoverageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.coverage_save(requirement=None, by=request.user, **form.cleaned_data)
        except RadflowError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Cover requirement added.")
            return redirect("rostering:coverage")
    rows = CoverageRequirement.objects.select_related(
        "shift_type", "shift_type__site", "modality", "competency"
    )
    context = {"form": form, "rows": rows}
    return render(request, "rostering/coverage.html", context, status=_status(form))


@page_requires("rostering.change_staffrosterrules")
@require_GET
def staff_rules_list(request: HttpRequest) -> HttpResponse:
    people = StaffMember.objects.filter(active=True).select_related("roster_rules", "home_site")
    return render(request, "rostering/staff_rules.html", {"people": people})


@page_requires("rostering.change_staffrosterrules")
def staff_rules_edit(request: HttpRequest, pk: UUID) -> HttpResponse:
    staff = get_object_or_404(StaffMember, pk=pk)
    rules = StaffRosterRules.objects.filter(staff=staff).first()
    form = StaffRulesForm(request.POST or None, instance=rules)
    if request.method == "POST" and form.is_valid():
        try:
            services.staff_rules_save(staff=staff, by=request.user, **form.cleaned_data)
        except RadflowError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Rules of {staff} saved.")
            return redirect("rostering:staff_rules")
    context = {"form": form, "person": staff}
    return render(request, "rostering/staff_rules_form.html", context, status=_status(form))


@page_requires("rostering.change_rostersettings")
def settings_page(request: HttpRequest) -> HttpResponse:
    current = RosterSettings.objects.first()
    form = RosterSettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        try:
            services.roster_settings_save(by=request.user, **form.cleaned_data)
        except RadflowError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Rostering settings saved.")
            return redirect("rostering:settings")
    return render(request, "rostering/settings.html", {"form": form}, status=_status(form))
