"""Calendar pages (issue 5, part 1) and the eligibility page (part 2).

The coordinator (and the admin) keep a site's calendars: holidays, room opening hours, weekly
booking templates, room closures, staff standard hours and interpreters; biomed (and the
coordinator) record device downtime; the scheduler and the director read them. Views parse,
authorise, call one service from ``radflow.scheduling.calendars`` and render; a refused form
is shown again on the page it came from with the service's message on the field, and status 422.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from radflow.accounts.access import page_requires
from radflow.scheduling import calendar_selectors as reads
from radflow.scheduling import calendars
from radflow.scheduling.calendar_forms import (
    DowntimeForm,
    EligibilityForm,
    HolidayForm,
    InterpreterForm,
    InterpreterHoursForm,
    OpeningHoursForm,
    RoomClosureForm,
    TemplateForm,
    WorkingHoursForm,
)
from radflow.scheduling.models import (
    BookingTemplate,
    Device,
    DeviceDowntime,
    Interpreter,
    InterpreterHours,
    Room,
    RoomClosure,
    Site,
    SiteClosure,
    StaffWorkingHours,
)
from radflow.staff.models import StaffMember
from radflow.web.forms import status_of, submit

#: Reading the calendars (every calendar reader holds every view permission below).
VIEW = "scheduling.view_siteclosure"
VIEW_DOWNTIME = "scheduling.view_devicedowntime"
#: The eligibility page names staff and their credential gaps: the credential readers' right.
CHECK_ELIGIBILITY = "credentials.check_eligibility"


def _zone_of(device: Device) -> ZoneInfo:
    if device.room is not None:
        return ZoneInfo(device.room.site.time_zone)
    return ZoneInfo(settings.TIME_ZONE)


def _site(pk: UUID) -> Site:
    return get_object_or_404(Site, pk=pk)


# --- index and the site page ---------------------------------------------------------------------


@page_requires(VIEW)
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """Every site with its calendar at a glance; one site goes straight to its page."""
    sites = reads.site_summaries()
    if len(sites) == 1:
        return redirect("scheduling:calendars_site", pk=sites[0][0].pk)
    return render(request, "scheduling/calendars/index.html", {"sites": sites})


def _site_page(request: HttpRequest, site: Site, status: int = 200, **forms: Any) -> HttpResponse:
    context: dict[str, Any] = {
        "calendar": reads.site_calendar(site),
        "holiday_form": forms.get("holiday_form") or HolidayForm(),
        "closure_form": forms.get("closure_form") or RoomClosureForm(site=site),
        "template_form": forms.get("template_form") or TemplateForm(site=site),
    }
    return render(request, "scheduling/calendars/site.html", context, status=status)


@page_requires(VIEW)
@require_GET
def site_page(request: HttpRequest, pk: UUID) -> HttpResponse:
    return _site_page(request, _site(pk))


def _back_to_site(site: Site, anchor: str) -> HttpResponse:
    return redirect(reverse("scheduling:calendars_site", kwargs={"pk": site.pk}) + anchor)


# --- holidays -------------------------------------------------------------------------------------


@page_requires(VIEW, "scheduling.add_siteclosure")
@require_POST
def holiday_add(request: HttpRequest, pk: UUID) -> HttpResponse:
    site = _site(pk)
    form = HolidayForm(request.POST)
    done = submit(
        form,
        lambda data: calendars.site_closure_add(
            site=site, on=data["date"], reason=data["reason"], by=request.user
        ),
    )
    if done is None:
        return _site_page(request, site, 422, holiday_form=form)
    closure = done.value
    moved = reads.bookings_on_day(site=site, on=closure.date).count()
    note = f" {moved} booked exam(s) that day need moving." if moved else ""
    messages.success(request, f"{site.name} is closed on {closure.date:%a %d %b %Y}.{note}")
    return _back_to_site(site, "#holidays")


@page_requires(VIEW, "scheduling.delete_siteclosure")
@require_POST
def holiday_remove(request: HttpRequest, pk: int) -> HttpResponse:
    closure = get_object_or_404(SiteClosure.objects.select_related("site"), pk=pk)
    site = closure.site
    calendars.site_closure_remove(closure=closure, by=request.user)
    messages.success(request, f"{site.name} is open again on {closure.date:%a %d %b %Y}.")
    return _back_to_site(site, "#holidays")


# --- opening hours --------------------------------------------------------------------------------


@page_requires(VIEW, "scheduling.change_roomopeninghours")
@require_http_methods(["GET", "POST"])
def room_hours(request: HttpRequest, pk: UUID) -> HttpResponse:
    room = get_object_or_404(Room.objects.select_related("site"), pk=pk)
    form = OpeningHoursForm(request.POST or None, room=room)
    if submit(
        form,
        lambda _: calendars.room_opening_hours_save(room=room, week=form.week(), by=request.user),
    ):
        messages.success(request, f"Opening hours of {room.code} saved.")
        return _back_to_site(room.site, f"#room-{room.code}")
    context = {"room": room, "form": form}
    return render(request, "scheduling/calendars/room_hours.html", context, status=status_of(form))


# --- booking templates ----------------------------------------------------------------------------


@page_requires(VIEW, "scheduling.add_bookingtemplate")
@require_POST
def template_add(request: HttpRequest, pk: UUID) -> HttpResponse:
    site = _site(pk)
    form = TemplateForm(request.POST, site=site)
    saved = submit(form, lambda data: calendars.booking_template_save(by=request.user, **data))
    if saved is None:
        return _site_page(request, site, 422, template_form=form)
    room, label = form.cleaned_data["room"], form.cleaned_data["label"]
    messages.success(request, f"{label} kept in {room.code} on {len(saved.value)} weekday(s).")
    return _back_to_site(site, f"#room-{room.code}")


@page_requires(VIEW, "scheduling.delete_bookingtemplate")
@require_POST
def template_remove(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_object_or_404(BookingTemplate.objects.select_related("room__site"), pk=pk)
    room = template.room
    calendars.booking_template_remove(template=template, by=request.user)
    messages.success(request, f"{template} removed from {room.code}.")
    return _back_to_site(room.site, f"#room-{room.code}")


# --- room closures --------------------------------------------------------------------------------


@page_requires(VIEW, "scheduling.add_roomclosure")
@require_POST
def closure_add(request: HttpRequest, pk: UUID) -> HttpResponse:
    site = _site(pk)
    form = RoomClosureForm(request.POST, site=site)
    done = submit(form, lambda data: calendars.room_closure_add(by=request.user, **data))
    if done is None:
        return _site_page(request, site, 422, closure_form=form)
    closure = done.value
    messages.success(request, f"{closure.room.code} closed: {closure.reason}.")
    return redirect("scheduling:calendars_closure", pk=closure.pk)


@page_requires(VIEW, "scheduling.view_roomclosure")
@require_GET
def closure_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The closure and the booked exams inside it, each with a link to move it."""
    closure = get_object_or_404(RoomClosure.objects.select_related("room__site"), pk=pk)
    zone = ZoneInfo(closure.room.site.time_zone)
    bookings = list(reads.bookings_inside(room=closure.room, start=closure.start, end=closure.end))
    days = sorted(
        {exam.scheduled_start.astimezone(zone).date() for exam in bookings if exam.scheduled_start}
    )
    context = {
        "closure": closure,
        "room": closure.room,
        "site": closure.room.site,
        "start": closure.start.astimezone(zone),
        "end": closure.end.astimezone(zone),
        "bookings": bookings,
        "days": days,
        "zone": zone,
    }
    return render(request, "scheduling/calendars/closure.html", context)


@page_requires(VIEW, "scheduling.delete_roomclosure")
@require_POST
def closure_remove(request: HttpRequest, pk: int) -> HttpResponse:
    closure = get_object_or_404(RoomClosure.objects.select_related("room__site"), pk=pk)
    room = closure.room
    calendars.room_closure_remove(closure=closure, by=request.user)
    messages.success(request, f"Closure of {room.code} removed: the time is bookable again.")
    return _back_to_site(room.site, f"#room-{room.code}")


# --- staff standard hours -------------------------------------------------------------------------


@page_requires(VIEW, "scheduling.add_staffworkinghours")
@require_http_methods(["GET", "POST"])
def staff_hours(request: HttpRequest, pk: UUID) -> HttpResponse:
    staff = get_object_or_404(StaffMember.objects.select_related("home_site"), pk=pk)
    form = WorkingHoursForm(request.POST or None)
    if submit(
        form, lambda data: calendars.working_hours_save(staff=staff, by=request.user, **data)
    ):
        messages.success(request, f"Standard hours of {staff} saved.")
        return redirect("scheduling:calendars_staff_hours", pk=staff.pk)
    rows = staff.working_hours.select_related("site").order_by("weekday", "starts")
    context = {"staff": staff, "form": form, "rows": rows}
    return render(request, "scheduling/calendars/staff_hours.html", context, status=status_of(form))


@page_requires(VIEW, "scheduling.delete_staffworkinghours")
@require_POST
def hours_remove(request: HttpRequest, pk: int) -> HttpResponse:
    hours = get_object_or_404(StaffWorkingHours.objects.select_related("staff"), pk=pk)
    staff = hours.staff
    calendars.working_hours_remove(hours=hours, by=request.user)
    messages.success(request, f"{hours} removed from {staff}'s standard hours.")
    return redirect("scheduling:calendars_staff_hours", pk=staff.pk)


# --- interpreters ---------------------------------------------------------------------------------


@page_requires(VIEW, "scheduling.add_interpreter")
@require_http_methods(["GET", "POST"])
def interpreters(request: HttpRequest) -> HttpResponse:
    form = InterpreterForm(request.POST or None)
    done = submit(form, lambda data: calendars.interpreter_save(by=request.user, **data))
    if done is not None:
        interpreter = done.value
        messages.success(request, f"{interpreter.name} added: now give their hours.")
        return redirect("scheduling:calendars_interpreter", pk=interpreter.pk)
    rows = Interpreter.objects.prefetch_related("hours").order_by("-active", "name")
    context = {"form": form, "interpreters": rows}
    return render(
        request, "scheduling/calendars/interpreters.html", context, status=status_of(form)
    )


@page_requires(VIEW, "scheduling.change_interpreter")
@require_http_methods(["GET", "POST"])
def interpreter_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Change the interpreter (form ``details``) or add weekly hours (form ``hours``)."""
    interpreter = get_object_or_404(Interpreter, pk=pk)
    initial = {
        "name": interpreter.name,
        "languages": ", ".join(interpreter.language_codes),
        "phone": interpreter.phone,
        "active": interpreter.active,
    }
    which = request.POST.get("form") if request.method == "POST" else None
    details = InterpreterForm(request.POST if which == "details" else None, initial=initial)
    hours_form = InterpreterHoursForm(request.POST if which == "hours" else None)
    if which == "details" and submit(
        details,
        lambda data: calendars.interpreter_save(interpreter=interpreter, by=request.user, **data),
    ):
        messages.success(request, f"{details.cleaned_data['name']} saved.")
        return redirect("scheduling:calendars_interpreter", pk=interpreter.pk)
    if which == "hours" and submit(
        hours_form,
        lambda data: calendars.interpreter_hours_save(
            interpreter=interpreter, by=request.user, **data
        ),
    ):
        messages.success(request, f"Hours of {interpreter.name} added.")
        return redirect("scheduling:calendars_interpreter", pk=interpreter.pk)
    rows = interpreter.hours.order_by("weekday", "starts")
    status = max(status_of(details), status_of(hours_form))
    context = {
        "interpreter": interpreter,
        "details": details,
        "hours_form": hours_form,
        "rows": rows,
        "zone": settings.TIME_ZONE,
    }
    return render(request, "scheduling/calendars/interpreter.html", context, status=status)


@page_requires(VIEW, "scheduling.delete_interpreterhours")
@require_POST
def interpreter_hours_remove(request: HttpRequest, pk: int) -> HttpResponse:
    hours = get_object_or_404(InterpreterHours.objects.select_related("interpreter"), pk=pk)
    interpreter = hours.interpreter
    calendars.interpreter_hours_remove(hours=hours, by=request.user)
    messages.success(request, f"{hours} removed from {interpreter.name}'s hours.")
    return redirect("scheduling:calendars_interpreter", pk=interpreter.pk)


# --- device downtime ------------------------------------------------------------------------------


def _device(pk: UUID) -> Device:
    return get_object_or_404(Device.objects.select_related("room__site", "modality"), pk=pk)


def _downtime_page(
    request: HttpRequest, device: Device, form: DowntimeForm, status: int = 200
) -> HttpResponse:
    zone = _zone_of(device)
    downtimes = list(device.downtimes.order_by("-start")[:50])
    booked = list(
        device.exams.filter(state__in=reads.BOOKED).values_list("scheduled_start", "scheduled_end")
    )
    rows = [
        reads.ClosureRow(d, sum(1 for s, e in booked if s and e and s < d.end and e > d.start))
        for d in downtimes
    ]
    context = {"device": device, "form": form, "rows": rows, "zone": zone}
    return render(request, "scheduling/calendars/downtime.html", context, status=status)


@page_requires(VIEW_DOWNTIME)
@require_GET
def device_downtime(request: HttpRequest, pk: UUID) -> HttpResponse:
    device = _device(pk)
    return _downtime_page(request, device, DowntimeForm(zone=_zone_of(device)))


@page_requires(VIEW_DOWNTIME, "scheduling.add_devicedowntime")
@require_POST
def device_downtime_add(request: HttpRequest, pk: UUID) -> HttpResponse:
    device = _device(pk)
    form = DowntimeForm(request.POST, zone=_zone_of(device))
    if not submit(
        form, lambda data: calendars.device_downtime_add(device=device, by=request.user, **data)
    ):
        return _downtime_page(request, device, form, 422)
    messages.success(request, f"Downtime of {device} recorded.")
    return redirect("scheduling:device_downtime", pk=device.pk)


@page_requires(VIEW_DOWNTIME, "scheduling.delete_devicedowntime")
@require_POST
def downtime_remove(request: HttpRequest, pk: int) -> HttpResponse:
    downtime = get_object_or_404(DeviceDowntime.objects.select_related("device"), pk=pk)
    device = downtime.device
    calendars.device_downtime_remove(downtime=downtime, by=request.user)
    messages.success(request, f"Downtime of {device} removed.")
    return redirect("scheduling:device_downtime", pk=device.pk)


# --- eligibility ----------------------------------------------------------------------------------


@page_requires("scheduling.view_room", CHECK_ELIGIBILITY)
@require_GET
def eligibility(request: HttpRequest) -> HttpResponse:
    """Who and what may take an exam type on a day, and why each other one may not.

    No patient is involved (the question is an exam type, a day and a site), so nothing here
    is audited as a patient read.
    """
    form = EligibilityForm(request.GET if request.GET else None)
    question = form.question()
    report = reads.eligibility_report(**question) if question is not None else None
    context = {"form": form, "report": report}
    return render(request, "scheduling/calendars/eligibility.html", context, status=status_of(form))
