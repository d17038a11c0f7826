"""The schedule board pages: a site's day, a room's week, and moving a booking.

Views parse, authorise, call one selector or service and render. The board body polls itself
every ``POLL_SECONDS`` with the version it shows; the server answers 204 (htmx swaps nothing)
while the version is unchanged, so a quiet board costs a few small aggregates per poll and
writes no audit rows (nothing was shown). A rendered body is shared through the cache by users
with the same rights; every response that shows patients still logs them for its own user.

Drag-and-drop (``static/scheduling/board.js``) and the dialog post to the same view, which
calls ``booking.appointment_move``; the service's refusal comes back in the dialog, unchanged.
"""

from __future__ import annotations

import json
import time as time_module
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from radflow.accounts.access import page_requires
from radflow.audit.models import AccessChannel
from radflow.audit.services import AccessSource, PatientRef, access_record
from radflow.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from radflow.exams.models import Exam, ReasonKind
from radflow.exams.selectors import exam_get_audited, reason_choices
from radflow.planning.selectors import latest_run, replan_suggestion
from radflow.scheduling import board as selectors
from radflow.scheduling import booking
from radflow.scheduling.board_html import column_html
from radflow.scheduling.forms import RoomStatusForm
from radflow.scheduling.models import Room, RoomStatus, Site
from radflow.scheduling.services import room_set_status
from radflow.staff.models import JobRole, StaffMember
from radflow.web.forms import ServiceErrorsMixin
from radflow.web.timing import server_timing

#: Who may open the board: everyone who already reads exams and rooms (the same people who see
#: the STAT board); each render is audited per patient shown.
BOARD_PERMS = ("exams.view_exam", "scheduling.view_room")
MOVE_PERM = "exams.schedule_exam"
ROOM_STATUS_PERM = "scheduling.change_room"
WAITLIST_PERM = "waitlist.view_waitlistentry"
REPLAN_PERM = "planning.plan_day"
PLAN_VIEW_PERM = "planning.view_dayplanrun"
POLL_SECONDS = 15
#: While a plan of the day solves, its strip on the board refreshes this often (seconds).
PLAN_POLL_SECONDS = 2
#: A rendered body is shared by everyone with the same rights for this long (its key holds the
#: board's version, so a change is never served stale; the time only bounds the memory).
BODY_CACHE_SECONDS = 120
#: How long a request waits for another one rendering the same board before rendering it itself.
RENDER_WAIT_SECONDS = 5
#: Drag-and-drop lands on this grid (minutes).
SNAP_MINUTES = 5
PERFORMER_ROLES = (JobRole.SONOGRAPHER, JobRole.TECHNOLOGIST)


def _web(request: HttpRequest) -> AccessSource:
    return AccessSource.from_request(request, AccessChannel.WEB)


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


# --- filters -----------------------------------------------------------------------------------


class BoardFilterForm(forms.Form):
    site = forms.ChoiceField(required=False)
    date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    modality = forms.ChoiceField(required=False)
    room = forms.ChoiceField(required=False)

    def __init__(
        self, data: Any, *, sites: list[Site], rooms: list[tuple[str, str, str, str]]
    ) -> None:
        super().__init__(data)
        site_field: Any = self.fields["site"]
        site_field.choices = [(s.code, f"{s.name} ({s.code})") for s in sites]
        modality_field: Any = self.fields["modality"]
        modalities = sorted({modality for _, _, _, modality in rooms})
        modality_field.choices = [("", "All modalities"), *((m, m) for m in modalities)]
        room_field: Any = self.fields["room"]
        room_field.choices = [
            ("", "All rooms"),
            *((pk, f"{code} {name}") for pk, code, name, _ in rooms),
        ]


class BoardQuery:
    """What the URL asks for: a site (default: the busiest today), a day, and the filters."""

    def __init__(self, request: HttpRequest) -> None:
        code = request.GET.get("site", "").strip()
        site = selectors.site_for_board(code)
        if site is None:
            raise Http404("No site with that code." if code else "No sites yet.")
        self.site = site
        self.day = _parse_day(request.GET.get("date", ""), site)
        self.modality = request.GET.get("modality", "").strip()
        self.room_id = _parse_uuid(request.GET.get("room", ""))

    def params(self, **extra: Any) -> str:
        values = {"site": self.site.code, "date": self.day.isoformat()}
        if self.modality:
            values["modality"] = self.modality
        if self.room_id:
            values["room"] = str(self.room_id)
        values.update({k: str(v) for k, v in extra.items()})
        return urlencode(values)

    def url(self, name: str = "scheduling:board", **extra: Any) -> str:
        return f"{reverse(name)}?{self.params(**extra)}"


def _parse_day(raw: str, site: Site) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        return selectors.site_today(site)


def _parse_uuid(raw: str) -> UUID | None:
    try:
        return UUID(raw.strip())
    except ValueError:
        return None


# --- the day board -----------------------------------------------------------------------------


def _replan(request: HttpRequest, query: BoardQuery) -> dict[str, Any]:
    """The re-plan button (planners) and the latest plan run of this site and day (readers)."""
    user = request.user
    can_replan = user.has_perms((PLAN_VIEW_PERM, REPLAN_PERM))
    run = latest_run(query.site, query.day) if user.has_perm(PLAN_VIEW_PERM) else None
    return {
        "can_replan": can_replan,
        "replan_why": replan_suggestion(query.site, query.day) if can_replan else None,
        "run": run,
        "run_url": reverse("planning:run", kwargs={"pk": run.pk}) if run is not None else "",
    }


@dataclass(frozen=True)
class BodyRender:
    """The board body as sent, and what the page around it needs."""

    html: str
    version: str
    minutes: int
    rooms: list[tuple[str, str, str, str]]  # pk, code, name, modality
    freed: int


def _body_key(request: HttpRequest, query: BoardQuery, version: str) -> str:
    user = request.user
    flags = "".join("1" if user.has_perm(perm) else "0" for perm in (MOVE_PERM, WAITLIST_PERM))
    where = f"{query.site.pk}:{query.day}:{query.modality}:{query.room_id or ''}"
    return f"radflow:board:{where}:{version}:{flags}"


def _render_body(request: HttpRequest, query: BoardQuery, version: str) -> dict[str, Any]:
    user = request.user
    can_waitlist = user.has_perm(WAITLIST_PERM)
    board = selectors.board_for(
        site=query.site,
        day=query.day,
        modality=query.modality,
        room_id=query.room_id,
        with_waitlist=can_waitlist,
        version=version,
    )
    can_move = user.has_perm(MOVE_PERM)
    for column in board.columns:
        column.blocks_html = column_html(column.blocks, can_move=can_move)
    slot_url = reverse("waitlist:slot") if can_waitlist else ""
    freed = [
        {
            "slot": slot,
            "url": f"{slot_url}?"
            + urlencode(
                {"room": slot.room.pk, "start": slot.start.isoformat(), "end": slot.end.isoformat()}
            )
            if slot_url
            else "",
        }
        for slot in board.freed
    ]
    context = {
        "board": board,
        "query": query,
        "freed": freed,
        "can_move": user.has_perm(MOVE_PERM),
        "poll_seconds": POLL_SECONDS,
        "poll_url": query.url("scheduling:board_body", version=version),
        "snap": SNAP_MINUTES,
    }
    return {
        "version": version,
        "html": render_to_string("scheduling/_board_body.html", context),
        "patients": [(p.pk, p.mrn) for p in board.patients],
        "minutes": board.frame.minutes,
        "rooms": [(str(r.pk), r.code, r.name, r.modality_id) for r in board.rooms],
        "freed": len(board.freed),
    }


def _latest_key(request: HttpRequest, query: BoardQuery) -> str:
    return _body_key(request, query, "latest")


def _rendered(request: HttpRequest, query: BoardQuery, version: str, *, poll: bool) -> Any:
    """The cached render of ``version``, rendering it if nobody is. While another request renders
    it, a poll gets None (its screen stays as it is until the next poll) and a page load gets
    the newest finished render (seconds old; its own poll brings the rest): only one request
    per version waits for the render, instead of every poller at once after a change."""
    key = _body_key(request, query, version)
    rendered = cache.get(key)
    if rendered is not None:
        return rendered
    if not cache.add(f"{key}:rendering", 1, RENDER_WAIT_SECONDS):
        if poll:
            return None
        newest = cache.get(_latest_key(request, query))
        if newest is not None:
            return newest
        deadline = time_module.monotonic() + RENDER_WAIT_SECONDS
        while rendered is None and time_module.monotonic() < deadline:
            time_module.sleep(0.02)
            rendered = cache.get(key)
        if rendered is not None:
            return rendered
    rendered = _render_body(request, query, version)
    cache.set(key, rendered, BODY_CACHE_SECONDS)
    cache.set(_latest_key(request, query), rendered, BODY_CACHE_SECONDS)
    cache.delete(f"{key}:rendering")
    return rendered


def _board_body(
    request: HttpRequest, query: BoardQuery, *, version: str, seen: str = ""
) -> BodyRender | None:
    """The board body for this request, from the shared cache when another user with the same
    rights already rendered this version (the version is read before the board, so a cached
    body is never older than its key), and one access-log row per patient it shows, whoever
    rendered it. None: a poll that has nothing new to show yet.

    ``seen`` is the version the user's screen shows when the board refreshes itself: then only
    the patients the refresh adds to the screen are logged (the others were logged when they
    appeared; a board left open all day would otherwise log every patient four times a minute).
    A page the user opens logs every patient on it."""
    rendered = _rendered(request, query, version, poll=bool(seen))
    if rendered is None:
        return None
    shown = rendered["patients"]
    before = cache.get(_body_key(request, query, seen)) if seen else None
    if before is not None:
        on_screen = {pk for pk, _ in before["patients"]}
        shown = [(pk, mrn) for pk, mrn in shown if pk not in on_screen]
    access_record(
        user=request.user,
        # The log reads only a patient's id and MRN: the cached pairs stand in for the rows
        # (building a hundred model instances per page cost more than the log itself).
        patients=[PatientRef(pk, mrn) for pk, mrn in shown],
        action="scheduling.board",
        source=_web(request),
    )
    return BodyRender(
        html=rendered["html"],
        version=rendered["version"],
        minutes=rendered["minutes"],
        rooms=rendered["rooms"],
        freed=rendered["freed"],
    )


@server_timing
@page_requires(*BOARD_PERMS)
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    if not request.GET.get("site") and not Site.objects.exists():
        return render(request, "scheduling/board_empty.html")
    query = BoardQuery(request)
    version = selectors.board_version(site=query.site, day=query.day)
    body = _board_body(request, query, version=version)
    if body is None:  # only a poll is ever told "nothing new yet"
        raise RuntimeError("A page load always gets a board.")
    day = query.day
    context = {
        "site": query.site,
        "query": query,
        "body": body,
        "version": body.version,
        "can_move": request.user.has_perm(MOVE_PERM),
        "poll_seconds": POLL_SECONDS,
        "form": BoardFilterForm(
            {
                "site": query.site.code,
                "date": day.isoformat(),
                "modality": query.modality,
                "room": str(query.room_id or ""),
            },
            sites=list(Site.objects.order_by("name")),
            rooms=body.rooms,
        ),
        "previous_url": query.url(date=(day - timedelta(days=1)).isoformat()),
        "next_url": query.url(date=(day + timedelta(days=1)).isoformat()),
        "today_url": query.url(date=selectors.site_today(query.site).isoformat()),
        "day_length": body.minutes,
        "plan_url": query.url("scheduling:board_plan"),
        "can_set_status": request.user.has_perm(ROOM_STATUS_PERM),
        "room_statuses": RoomStatus.choices,
        "back": query.url(),
    }
    return render(request, "scheduling/board.html", context)


@server_timing
@page_requires(*BOARD_PERMS)
@require_GET
def board_plan(request: HttpRequest) -> HttpResponse:
    """The day-plan strip above the board: Re-plan (with why it is suggested) and the latest
    run. Loaded after the board and polled on its own: every few seconds while a plan solves."""
    query = BoardQuery(request)
    context = {**_replan(request, query), "query": query}
    run = context["run"]
    context["poll_seconds"] = PLAN_POLL_SECONDS if run is not None and not run.finished else 15
    context["plan_url"] = query.url("scheduling:board_plan")
    context["next"] = query.url()
    return render(request, "scheduling/_board_plan.html", context)


@server_timing
@page_requires(*BOARD_PERMS)
@require_GET
def board_body(request: HttpRequest) -> HttpResponse:
    """The polled body: 204 while the version is unchanged, else the fresh body."""
    query = BoardQuery(request)
    seen = request.GET.get("version", "")
    version = selectors.board_version(site=query.site, day=query.day)
    if seen == version:
        return HttpResponse(status=204)
    body = _board_body(request, query, version=version, seen=seen)
    if body is None or body.version == seen:
        return HttpResponse(status=204)
    response = HttpResponse(body.html)
    response["X-Board-Version"] = body.version
    return response


# --- a room's status, from its column ------------------------------------------------------


@page_requires(*BOARD_PERMS, ROOM_STATUS_PERM)
@require_POST
def room_status(request: HttpRequest) -> HttpResponse:
    """Mark a room down (or back in service) from the board, then return to the board."""
    room_id = _parse_uuid(request.POST.get("room", ""))
    room = Room.objects.select_related("site").filter(pk=room_id).first() if room_id else None
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("scheduling:board")
    if room is None:
        messages.error(request, "Choose the room to change.")
        return redirect(back)
    form = RoomStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"{room.name}: choose a status.")
        return redirect(back)
    try:
        updated = room_set_status(
            room=room,
            status=form.cleaned_data["status"],
            note=form.cleaned_data["note"],
            changed_by=request.user,  # type: ignore[arg-type]
        )
    except ValidationFailed as exc:
        text = " ".join(m for msgs in exc.errors.values() for m in msgs) or exc.message
        messages.error(request, f"{room.name} was not changed: {text}")
    else:
        messages.success(request, f"{room.name} is now {updated.get_status_display().lower()}.")
    return redirect(back)


# --- a room's week -----------------------------------------------------------------------------


@server_timing
@page_requires(*BOARD_PERMS)
@require_GET
def room_week(request: HttpRequest, pk: UUID) -> HttpResponse:
    room = selectors.room_for_week(pk)
    if room is None:
        raise Http404("No such room.")
    try:
        start = date.fromisoformat(request.GET.get("start", "").strip())
    except ValueError:
        start = selectors.site_today(room.site)
    start -= timedelta(days=start.weekday())
    week = selectors.room_week_audited(
        user=request.user, source=_web(request), room=room, start=start
    )
    for column in week.columns:
        column.blocks_html = column_html(column.blocks, can_move=request.user.has_perm(MOVE_PERM))
    base = reverse("scheduling:board_room_week", kwargs={"pk": room.pk})
    context = {
        "week": week,
        "room": room,
        "can_move": request.user.has_perm(MOVE_PERM),
        "previous_url": f"{base}?start={start - timedelta(days=7)}",
        "next_url": f"{base}?start={start + timedelta(days=7)}",
        "board_url": f"{reverse('scheduling:board')}?"
        + urlencode({"site": room.site.code, "date": start.isoformat(), "room": room.pk}),
    }
    return render(request, "scheduling/board_week.html", context)


# --- moving a booking --------------------------------------------------------------------------


class StaffChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    eligible: set[UUID] = set()  # replaced per form

    def label_from_instance(self, obj: Any) -> str:
        staff: StaffMember = obj
        mark = "" if staff.pk in self.eligible else " (not eligible for this exam that day)"
        return f"{staff}{mark}"


class MoveForm(ServiceErrorsMixin, forms.Form):
    """Where and when the booking should go. The dialog sends a date and a wall-clock time in the
    room's site zone; drag-and-drop sends the board's day and the real minute from midnight."""

    field_aliases = {"start": "time", "room_id": "room", "technologist": "staff", "at": "time"}

    room = forms.ModelChoiceField(queryset=Room.objects.none())
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    time = forms.TimeField(
        required=False, widget=forms.TimeInput(attrs={"type": "time", "step": 300})
    )
    minute = forms.IntegerField(
        required=False, min_value=0, max_value=25 * 60, widget=forms.HiddenInput
    )
    staff = StaffChoiceField(
        queryset=StaffMember.objects.none(),
        required=False,
        label="Sonographer / technologist",
        help_text="Leave empty to let the booking choose a free qualified person.",
    )
    reason_code = forms.ChoiceField(label="Reason for the change", required=False)
    reason = forms.CharField(label="Note", required=False, max_length=500)

    def __init__(self, data: Any = None, *, exam: Exam, eligible: set[UUID]) -> None:
        initial: dict[str, Any] = {}
        room = exam.room
        if room is not None and exam.scheduled_start is not None:
            local = exam.scheduled_start.astimezone(selectors.site_zone(room.site))
            initial = {"room": room.pk, "date": local.date(), "time": local.strftime("%H:%M")}
        super().__init__(data, initial=initial)
        self.exam = exam
        room_field: Any = self.fields["room"]
        rooms = Room.objects.select_related("site", "modality").order_by("site__name", "code")
        if room is not None:
            rooms = rooms.filter(site=room.site_id)
        room_field.queryset = rooms
        staff_field: Any = self.fields["staff"]
        staff_field.queryset = StaffMember.objects.filter(
            active=True, job_role__in=PERFORMER_ROLES
        ).order_by("family_name", "given_name")
        staff_field.eligible = eligible
        if exam.technologist is not None:
            staff_field.help_text = (
                f"Leave empty to keep {exam.technologist} if still free and qualified then "
                "(else a free qualified person is chosen)."
            )
        reason_field: Any = self.fields["reason_code"]
        reason_field.choices = [("", "None given"), *reason_choices(ReasonKind.RESCHEDULE)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        room: Room | None = data.get("room")
        day: date | None = data.get("date")
        if room is None or day is None:
            return data
        frame = selectors.day_frame(room.site, day)
        if data.get("minute") is not None:
            minute = int(data["minute"])
            if minute >= frame.minutes:
                raise forms.ValidationError("That time is past the end of the day.")
            data["start"] = frame.at_minute(minute - minute % SNAP_MINUTES)
        elif data.get("time") is not None:
            clock: time = data["time"]
            data["start"] = datetime.combine(day, clock, tzinfo=frame.zone)
        else:
            self.add_error("time", "Give the new start time.")
        return data


def _eligible(exam: Exam) -> set[UUID]:
    from radflow.credentials.selectors import eligible_staff

    if exam.scheduled_start is None or exam.room is None:
        return set()
    on = exam.scheduled_start.astimezone(selectors.site_zone(exam.room.site)).date()
    return {s.pk for s in eligible_staff(exam_type=exam.order.exam_type, on=on)}


def _move_page(
    request: HttpRequest,
    exam: Exam,
    form: MoveForm,
    status: int,
    options: list[booking.SlotOption] | None = None,
) -> HttpResponse:
    context = {
        "options": options or [],
        "exam": exam,
        "patient": exam.order.patient,
        "form": form,
        "movable": exam.state in selectors.MOVABLE_STATES,
        "board_url": _board_url_for(exam),
    }
    template = (
        "scheduling/_board_move_form.html" if _is_htmx(request) else "scheduling/board_move.html"
    )
    return render(request, template, context, status=status)


def _board_url_for(exam: Exam) -> str:
    if exam.room is None or exam.scheduled_start is None:
        return reverse("scheduling:board")
    local = exam.scheduled_start.astimezone(selectors.site_zone(exam.room.site))
    query = urlencode({"site": exam.room.site.code, "date": local.date().isoformat()})
    return f"{reverse('scheduling:board')}?{query}"


@server_timing
@page_requires(*BOARD_PERMS, MOVE_PERM)
@require_http_methods(["GET", "POST"])
def move(request: HttpRequest, pk: UUID) -> HttpResponse:
    """GET: the move dialog. POST: move the booking through ``booking.appointment_move``."""
    try:
        exam = exam_get_audited(
            user=request.user, exam_id=pk, action="scheduling.board_move", source=_web(request)
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    eligible = _eligible(exam)
    if request.method != "POST":
        return _move_page(request, exam, MoveForm(exam=exam, eligible=eligible), 200)
    form = MoveForm(request.POST, exam=exam, eligible=eligible)
    if not form.is_valid():
        return _move_page(request, exam, form, 422)
    data = form.cleaned_data
    try:
        moved = booking.appointment_move(
            exam=exam,
            by=request.user,
            room=data["room"],
            start=data["start"],
            staff=data.get("staff"),
            reason_code=data.get("reason_code") or "",
            reason=data.get("reason") or "",
        )
    except ValidationFailed as exc:
        form.add_service_errors(exc)
        return _move_page(request, exam, form, 422)
    except Conflict as exc:
        form.add_error(None, exc.message)
        # Lost a race for the slot: the booking service attaches fresh options to offer.
        return _move_page(request, exam, form, 409, getattr(exc, "options", None))
    except PermissionDenied as exc:
        form.add_error(None, exc.message)
        return _move_page(request, exam, form, 403)
    room = moved.room
    start = moved.scheduled_start or data["start"]
    when = selectors.day_frame(room.site, data["date"]).label(start) if room else ""
    message = f"Exam {moved.accession_number} moved to {room.code if room else '?'} at {when}."
    if _is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Trigger"] = json.dumps({"board-changed": {"message": message}})
        return response
    messages.success(request, message)
    return redirect(_board_url_for(moved))
