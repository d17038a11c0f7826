"""Waitlist pages: the list with its add form, a freed slot's ranked candidates, and the
one-click Book and Remove buttons.

Views parse, authorise, call one service and render; every page that names patients records
one access-log row per patient shown.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from radflow.accounts.access import page_requires
from radflow.audit.models import AccessChannel
from radflow.audit.services import AccessSource
from radflow.core.errors import Conflict, NotFound, PermissionDenied, RadflowError, ValidationFailed
from radflow.exams.models import Exam
from radflow.scheduling.board import day_frame, site_zone
from radflow.scheduling.models import Room
from radflow.waitlist import selectors, services
from radflow.waitlist.forms import (
    WaitlistAddForm,
    WaitlistBookForm,
    WaitlistFilterForm,
    WaitlistRemoveForm,
)
from radflow.web.pages import paginate

VIEW = "waitlist.view_waitlistentry"
ADD = "waitlist.add_waitlistentry"
CHANGE = "waitlist.change_waitlistentry"
BOOK = ("waitlist.change_waitlistentry", "exams.schedule_exam")


def _web(request: HttpRequest) -> AccessSource:
    return AccessSource.from_request(request, AccessChannel.WEB)


def _list_page(
    request: HttpRequest, add_form: WaitlistAddForm | None = None, status: int = 200
) -> HttpResponse:
    form = WaitlistFilterForm(request.GET or None)
    chosen = form.cleaned_data if form.is_valid() else {}
    page = paginate(
        request, selectors.waitlist_rows(status=chosen.get("status", ""), q=chosen.get("q", ""))
    )
    rows = selectors.waitlist_page_audited(
        user=request.user,
        entries=list(page.object_list),
        action="waitlist.list",
        source=_web(request),
    )
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "add_form": add_form or (WaitlistAddForm() if request.user.has_perm(ADD) else None),
    }
    return render(request, "waitlist/list.html", context, status=status)


@page_requires(VIEW)
@require_GET
def waitlist(request: HttpRequest) -> HttpResponse:
    return _list_page(request)


@page_requires(VIEW, ADD)
@require_POST
def add(request: HttpRequest) -> HttpResponse:
    form = WaitlistAddForm(request.POST)
    if not form.is_valid():
        return _list_page(request, form, 422)
    data = form.cleaned_data
    exam = (
        Exam.objects.select_related("order")
        .filter(accession_number__iexact=data["accession"].strip())
        .first()
    )
    if exam is None:
        form.add_error("accession", "No exam has that accession number.")
        return _list_page(request, form, 422)
    try:
        entry = services.waitlist_add(
            order=exam.order,
            by=request.user,
            wanted_before=data.get("wanted_before"),
            preferred_site=data.get("preferred_site"),
            preferred_times=data.get("preferred_times", ""),
            notes=data.get("notes", ""),
        )
    except ValidationFailed as exc:
        form.add_service_errors(exc)
        return _list_page(request, form, 422)
    except Conflict as exc:
        form.add_error("accession", exc.message)
        return _list_page(request, form, 409)
    messages.success(
        request,
        f"Exam {exam.accession_number} is on the waitlist ({entry.get_priority_display()}).",
    )
    return redirect("waitlist:list")


@page_requires(VIEW, CHANGE)
@require_POST
def remove(request: HttpRequest, pk: UUID) -> HttpResponse:
    form = WaitlistRemoveForm(request.POST)
    reason = form.cleaned_data.get("reason", "") if form.is_valid() else ""
    try:
        entry = selectors.entry_get(entry_id=pk)
        services.waitlist_remove(entry=entry, by=request.user, reason=reason)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except RadflowError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Exam {entry.order.exam.accession_number} is off the waitlist.")
    return redirect("waitlist:list")


def _slot_params(request: HttpRequest) -> tuple[Room, datetime, datetime] | None:
    """The slot named in the query (room, aware start and end), or None if it names none."""
    try:
        room_id = UUID(request.GET.get("room", ""))
        start = datetime.fromisoformat(request.GET.get("start", ""))
        end = datetime.fromisoformat(request.GET.get("end", ""))
    except ValueError:
        return None
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        return None
    room = (
        Room.objects.select_related("site", "modality")
        .prefetch_related("capabilities")
        .filter(pk=room_id)
        .first()
    )
    return (room, start, end) if room is not None else None


def _slot_page(
    request: HttpRequest,
    room: Room,
    start: datetime,
    end: datetime,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    # Read first, then log (in its own transaction) before anything is shown: on SQLite a
    # transaction around the read would hold the database's write lock for all of it.
    candidates = selectors.candidates_audited(
        user=request.user,
        candidates=selectors.candidates_for_slot(room=room, start=start, end=end),
        action="waitlist.slot",
        source=_web(request),
    )
    zone = site_zone(room.site)
    local_start = start.astimezone(zone)
    frame = day_frame(room.site, local_start.date())
    board_url = f"{reverse('scheduling:board')}?" + urlencode(
        {"site": room.site.code, "date": local_start.date().isoformat()}
    )
    context: dict[str, Any] = {
        "room": room,
        "start": start,
        "end": end,
        "start_label": frame.label(start),
        "end_label": frame.label(end),
        "day": local_start.date(),
        "minutes": int((end - start).total_seconds() // 60),
        "candidates": candidates,
        "can_book": request.user.has_perms(BOOK),
        "error": error,
        "board_url": board_url,
    }
    return render(request, "waitlist/slot.html", context, status=status)


@page_requires(VIEW)
@require_GET
def slot(request: HttpRequest) -> HttpResponse:
    found = _slot_params(request)
    if found is None:
        messages.info(request, "Open a freed slot from the schedule board to see who fits it.")
        return redirect("waitlist:list")
    return _slot_page(request, *found)


@page_requires(VIEW, *BOOK)
@require_POST
def book(request: HttpRequest, pk: UUID) -> HttpResponse:
    """One-click booking of a freed slot for a waitlist entry."""
    form = WaitlistBookForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, "The slot to book was not understood; open it from the board again."
        )
        return redirect("waitlist:list")
    room = (
        Room.objects.select_related("site", "modality")
        .prefetch_related("capabilities")
        .filter(pk=form.cleaned_data["room"])
        .first()
    )
    if room is None:
        raise Http404("No such room.")
    start: datetime = form.cleaned_data["start"]
    end_raw = request.POST.get("end", "")
    try:
        entry = selectors.entry_get(entry_id=pk)
        exam = services.waitlist_book(entry=entry, by=request.user, room=room, start=start)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except (ValidationFailed, Conflict, PermissionDenied) as exc:
        message = exc.message
        if isinstance(exc, ValidationFailed):
            message = " ".join(m for msgs in exc.errors.values() for m in msgs) or exc.message
        try:
            end = datetime.fromisoformat(end_raw)
        except ValueError:
            end = start
        if end <= start or end.tzinfo is None:
            return redirect("waitlist:list")
        return _slot_page(request, room, start, end, error=message, status=exc.http_status)
    frame = day_frame(room.site, start.astimezone(site_zone(room.site)).date())
    messages.success(
        request,
        f"Exam {exam.accession_number} booked in {room.name} at {frame.label(start)} "
        "from the waitlist.",
    )
    query = urlencode({"site": room.site.code, "date": frame.day.isoformat()})
    return redirect(f"{reverse('scheduling:board')}?{query}")
