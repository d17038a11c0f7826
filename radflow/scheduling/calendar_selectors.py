"""Reads for the calendar pages and the eligibility page (issue 5, parts 1 and 2).

Each page costs a fixed number of queries whatever the number of rooms, people or closures:
rows are fetched per kind and grouped here. Nothing here reads a patient: bookings are shown by
accession number, exam type and time (the move dialog they link to is audited).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from radflow.catalog.models import ExamType
from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam
from radflow.scheduling import availability
from radflow.scheduling.availability import Window
from radflow.scheduling.eligibility import exam_eligibility
from radflow.scheduling.models import (
    BookingTemplate,
    Device,
    DeviceDowntime,
    Interpreter,
    InterpreterHours,
    Room,
    RoomClosure,
    RoomOpeningHours,
    Site,
    SiteClosure,
    StaffWorkingHours,
    Weekday,
)
from radflow.staff.models import StaffMember

#: Exams that hold a room's time: booked and not yet begun.
BOOKED = (ExamState.SCHEDULED, ExamState.ARRIVED)

SHORT_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _zone(site: Site) -> ZoneInfo:
    return ZoneInfo(site.time_zone)


def hhmm_windows(windows: list[Window], zone: ZoneInfo) -> str:
    """``07:00-12:00, 13:00-19:00`` in ``zone`` (a window running past midnight says so)."""
    parts = []
    for start, end in windows:
        local_start, local_end = start.astimezone(zone), end.astimezone(zone)
        suffix = " (+1 day)" if local_end.date() > local_start.date() else ""
        parts.append(f"{local_start:%H:%M}-{local_end:%H:%M}{suffix}")
    return ", ".join(parts)


# --- bookings inside a closure -------------------------------------------------------------------


def bookings_inside(*, room: Room, start: datetime, end: datetime) -> QuerySet[Exam]:
    """Booked exams in ``room`` that overlap ``[start, end)``: what a closure leaves to move."""
    return (
        Exam.objects.filter(
            room=room, state__in=BOOKED, scheduled_start__lt=end, scheduled_end__gt=start
        )
        .select_related("order__exam_type", "technologist", "device")
        .order_by("scheduled_start")
    )


def bookings_on_day(*, site: Site, on: date) -> QuerySet[Exam]:
    """Booked exams at ``site`` on the local day ``on`` (what a holiday leaves to move)."""
    begin, end = availability.day_bounds(on, _zone(site))
    return (
        Exam.objects.filter(
            room__site=site,
            state__in=BOOKED,
            scheduled_start__lt=end,
            scheduled_end__gt=begin,
        )
        .select_related("order__exam_type", "room")
        .order_by("scheduled_start")
    )


# --- the site calendar page --------------------------------------------------------------------


@dataclass(frozen=True)
class DayCell:
    weekday: int
    label: str
    hours: list[RoomOpeningHours]
    templates: list[BookingTemplate]


@dataclass(frozen=True)
class ClosureRow:
    closure: Any  # RoomClosure or DeviceDowntime
    affected: int


@dataclass
class RoomCalendar:
    room: Room
    days: list[DayCell]
    closures: list[ClosureRow] = field(default_factory=list)
    downtimes: list[ClosureRow] = field(default_factory=list)

    @property
    def templates(self) -> int:
        return sum(len(day.templates) for day in self.days)


@dataclass(frozen=True)
class HolidayRow:
    closure: SiteClosure
    affected: int


@dataclass(frozen=True)
class PersonWeek:
    person: Any  # StaffMember or Interpreter
    days: list[list[Any]]  # seven lists of hour rows, Monday first


@dataclass(frozen=True)
class RosterSpan:
    start: date
    end: date
    status: str


@dataclass
class SiteCalendar:
    site: Site
    today: date
    holidays: list[HolidayRow]
    rooms: list[RoomCalendar]
    exam_types: list[ExamType]
    staff: list[PersonWeek]
    interpreters: list[PersonWeek]
    rosters: list[RosterSpan]
    weekdays: tuple[str, ...] = SHORT_DAYS


def _week(rows: list[Any]) -> list[list[Any]]:
    days: list[list[Any]] = [[] for _ in Weekday]
    for row in rows:
        days[row.weekday].append(row)
    for day in days:
        day.sort(key=lambda r: r.starts if hasattr(r, "starts") else r.opens)
    return days


def _count_inside(spans: list[tuple[datetime, datetime]], start: datetime, end: datetime) -> int:
    return sum(1 for s, e in spans if s < end and e > start)


def site_calendar(site: Site) -> SiteCalendar:
    """Everything the site's calendar page shows, from today on (about a dozen queries)."""
    zone = _zone(site)
    now = timezone.now()
    today = now.astimezone(zone).date()
    rooms = list(
        Room.objects.filter(site=site)
        .select_related("modality")
        .prefetch_related(
            Prefetch("opening_hours", queryset=RoomOpeningHours.objects.order_by("opens")),
            Prefetch(
                "templates",
                queryset=BookingTemplate.objects.order_by("starts").prefetch_related("exam_types"),
            ),
            Prefetch(
                "closures",
                queryset=RoomClosure.objects.filter(end__gt=now).order_by("start"),
            ),
            Prefetch("devices", queryset=Device.objects.order_by("serial_number")),
        )
        .order_by("code")
    )
    downtimes: dict[UUID, list[DeviceDowntime]] = defaultdict(list)
    for downtime in (
        DeviceDowntime.objects.filter(device__room__site=site, end__gt=now)
        .select_related("device")
        .order_by("start")
    ):
        if downtime.device.room_id is not None:
            downtimes[downtime.device.room_id].append(downtime)
    holidays = list(SiteClosure.objects.filter(site=site, date__gte=today).order_by("date"))
    # One query for the bookings every closure, downtime and holiday could touch.
    horizon_end = max(
        [c.end for r in rooms for c in r.closures.all()]
        + [d.end for rows in downtimes.values() for d in rows]
        + [availability.day_bounds(h.date, zone)[1] for h in holidays]
        + [now]
    )
    booked: dict[Any, list[tuple[datetime, datetime]]] = defaultdict(list)
    if horizon_end > now:
        for room_id, device_id, start, end in Exam.objects.filter(
            room__site=site,
            state__in=BOOKED,
            scheduled_end__gt=now,
            scheduled_start__lt=horizon_end,
        ).values_list("room_id", "device_id", "scheduled_start", "scheduled_end"):
            if start is None or end is None:
                continue
            booked[("room", room_id)].append((start, end))
            booked[("device", device_id)].append((start, end))
            booked[("site", None)].append((start, end))
    calendars = []
    for room in rooms:
        hours, blocks = _week(list(room.opening_hours.all())), _week(list(room.templates.all()))
        days = [
            DayCell(weekday=d.value, label=SHORT_DAYS[d.value], hours=hours[d], templates=blocks[d])
            for d in Weekday
        ]
        calendars.append(
            RoomCalendar(
                room=room,
                days=days,
                closures=[
                    ClosureRow(c, _count_inside(booked[("room", room.pk)], c.start, c.end))
                    for c in room.closures.all()
                ],
                downtimes=[
                    ClosureRow(d, _count_inside(booked[("device", d.device_id)], d.start, d.end))
                    for d in downtimes[room.pk]
                ],
            )
        )
    holiday_rows = [
        HolidayRow(h, _count_inside(booked[("site", None)], *availability.day_bounds(h.date, zone)))
        for h in holidays
    ]
    modalities = {room.modality_id for room in rooms}
    exam_types = list(
        ExamType.objects.filter(active=True, modality_id__in=modalities)
        .select_related("modality")
        .order_by("modality_id", "name")
    )
    staff = list(
        StaffMember.objects.filter(active=True)
        .filter(Q(home_site=site) | Q(working_hours__site=site))
        .distinct()
        .prefetch_related(
            Prefetch(
                "working_hours",
                queryset=StaffWorkingHours.objects.select_related("site").order_by("starts"),
            )
        )
        .order_by("family_name", "given_name", "employee_number")
    )
    interpreters = list(
        Interpreter.objects.prefetch_related(
            Prefetch("hours", queryset=InterpreterHours.objects.order_by("starts"))
        ).order_by("-active", "name")
    )
    return SiteCalendar(
        site=site,
        today=today,
        holidays=holiday_rows,
        rooms=calendars,
        exam_types=exam_types,
        staff=[PersonWeek(s, _week(list(s.working_hours.all()))) for s in staff],
        interpreters=[PersonWeek(i, _week(list(i.hours.all()))) for i in interpreters],
        rosters=_rosters_ahead(today),
    )


def _rosters_ahead(today: date) -> list[RosterSpan]:
    """Published rosters that end today or later: on their days the roster, not the standard
    hours, says who works."""
    from radflow.rostering.models import Roster
    from radflow.rostering.selectors import SHOWN_STATUSES

    spans = []
    for roster in Roster.objects.filter(
        status__in=SHOWN_STATUSES, start__gt=today - timedelta(weeks=9)
    ).order_by("start"):
        if roster.end >= today:
            spans.append(RosterSpan(roster.start, roster.end, roster.get_status_display()))
    return spans


def site_summaries() -> list[tuple[Site, int, int, int]]:
    """Each site with its rooms, upcoming holidays and upcoming room closures (for the index)."""
    now = timezone.now()
    result = []
    rooms: dict[UUID, int] = defaultdict(int)
    for site_id in Room.objects.values_list("site_id", flat=True):
        rooms[site_id] += 1
    holidays: dict[UUID, int] = defaultdict(int)
    for site_id in SiteClosure.objects.filter(date__gte=timezone.localdate()).values_list(
        "site_id", flat=True
    ):
        holidays[site_id] += 1
    closures: dict[UUID, int] = defaultdict(int)
    for site_id in RoomClosure.objects.filter(end__gt=now).values_list("room__site_id", flat=True):
        closures[site_id] += 1
    for site in Site.objects.order_by("name"):
        result.append((site, rooms[site.pk], holidays[site.pk], closures[site.pk]))
    return result


# --- eligibility --------------------------------------------------------------------------------


@dataclass
class DeviceOption:
    device: Device
    hours: str
    notes: list[str] = field(default_factory=list)


@dataclass
class RoomOption:
    room: Room
    hours: str
    notes: list[str] = field(default_factory=list)
    devices: list[DeviceOption] = field(default_factory=list)


@dataclass(frozen=True)
class StaffOption:
    staff: StaffMember
    hours: str


@dataclass(frozen=True)
class Excluded:
    label: str
    reasons: list[str]
    obj: Any = None


@dataclass
class EligibilityReport:
    exam_type: ExamType
    on: date
    site: Site | None
    patient_class: str
    duration: int
    needs: list[str]
    rooms: list[RoomOption]
    staff: list[StaffOption]
    excluded_rooms: list[Excluded]
    excluded_devices: list[Excluded]
    excluded_staff: list[Excluded]


def _span_text(start: datetime, end: datetime, on: date, zone: ZoneInfo) -> str:
    begin, finish = availability.day_bounds(on, zone)
    if start <= begin and end >= finish:
        return "all day"
    a = max(start, begin).astimezone(zone)
    b = min(end, finish).astimezone(zone)
    return f"{a:%H:%M}-{b:%H:%M}" if b.date() == on else f"{a:%H:%M}-24:00"


def _why_closed(
    room: Room, on: date, holiday: SiteClosure | None, closures: list[RoomClosure]
) -> str:
    """Why ``room`` has no bookable time on ``on`` (its status is exam_eligibility's check)."""
    zone = _zone(room.site)
    if holiday is not None:
        return f"{room.site.name} is closed on {on:%a %d %b %Y}: {holiday.reason}."
    if not any(h.weekday == on.weekday() for h in room.opening_hours.all()):
        return f"{room.name} is not open on {on:%A}s."
    if closures:
        text = "; ".join(f"{_span_text(c.start, c.end, on, zone)} ({c.reason})" for c in closures)
        return f"{room.name} is closed on {on:%a %d %b %Y}: {text}."
    return f"{room.name} has no bookable time on {on:%a %d %b %Y}."


def eligibility_report(
    *, exam_type: ExamType, on: date, site: Site | None, patient_class: str
) -> EligibilityReport:
    """``exam_eligibility`` for the coordinator, with the day itself taken into account: a room
    closed that day (holiday, closure, no hours) or a device down all its room's hours is
    excluded with the reason; part-day closures and downtime are noted on the eligible ones;
    each eligible person's working hours that day are shown (roster or standard hours)."""
    verdict = exam_eligibility(exam_type=exam_type, patient_class=patient_class, on=on, site=site)
    eligible_rooms = list(
        Room.objects.filter(pk__in=[r.pk for r in verdict.rooms])
        .select_related("site", "modality")
        .prefetch_related("opening_hours")
        .order_by("site__code", "code")
    )
    devices = list(
        Device.objects.filter(pk__in=[d.pk for d in verdict.devices])
        .select_related("room__site", "modality")
        .order_by("serial_number")
    )
    room_days = availability.rooms_calendar(eligible_rooms, [on]) if eligible_rooms else {}
    device_days = availability.devices_calendar(devices, [on], room_days) if devices else {}
    day_spans: dict[UUID, tuple[datetime, datetime]] = {
        r.pk: availability.day_bounds(on, _zone(r.site)) for r in eligible_rooms
    }
    lo = min((span[0] for span in day_spans.values()), default=None)
    hi = max((span[1] for span in day_spans.values()), default=None)
    closures: dict[UUID, list[RoomClosure]] = defaultdict(list)
    downtimes: dict[UUID, list[DeviceDowntime]] = defaultdict(list)
    holidays: dict[UUID, SiteClosure] = {}
    if lo is not None and hi is not None:
        for closure in RoomClosure.objects.filter(
            room__in=eligible_rooms, start__lt=hi, end__gt=lo
        ).order_by("start"):
            closures[closure.room_id].append(closure)
        for downtime in DeviceDowntime.objects.filter(
            device__in=devices, start__lt=hi, end__gt=lo
        ).order_by("start"):
            downtimes[downtime.device_id].append(downtime)
        holidays = {
            h.site_id: h
            for h in SiteClosure.objects.filter(
                site_id__in={r.site_id for r in eligible_rooms}, date=on
            )
        }
    excluded_rooms: list[Excluded] = []
    excluded_devices: list[Excluded] = []
    options: list[RoomOption] = []
    by_room: dict[UUID, list[Device]] = defaultdict(list)
    for device in devices:
        if device.room_id is not None:
            by_room[device.room_id].append(device)
    for room in eligible_rooms:
        zone = _zone(room.site)
        windows = room_days.get((room.pk, on), [])
        if not windows:
            reason = _why_closed(room, on, holidays.get(room.site_id), closures[room.pk])
            excluded_rooms.append(Excluded(f"{room.code} {room.name}", [reason], room))
            continue
        option = RoomOption(room=room, hours=hhmm_windows(windows, zone))
        option.notes = [
            f"Closed {_span_text(c.start, c.end, on, zone)}: {c.reason}." for c in closures[room.pk]
        ]
        for device in by_room[room.pk]:
            free = device_days.get((device.pk, on), [])
            down = [
                f"Down {_span_text(d.start, d.end, on, zone)}: {d.reason}."
                for d in downtimes[device.pk]
            ]
            if not free:
                whole = f"In downtime for all of {room.code}'s hours on {on:%a %d %b %Y}."
                excluded_devices.append(Excluded(str(device), [whole, *down], device))
                continue
            option.devices.append(DeviceOption(device, hhmm_windows(free, zone), down))
        if by_room[room.pk] and not option.devices:
            excluded_rooms.append(
                Excluded(
                    f"{room.code} {room.name}",
                    [f"No device of {room.name} is available on {on:%a %d %b %Y}."],
                    room,
                )
            )
            continue
        options.append(option)
    # exam_eligibility's own exclusions: capability, modality, status, credentials.
    codes: dict[str, list[str]] = defaultdict(list)
    for key in verdict.reasons:
        kind, _, value = key.partition(":")
        codes[kind].append(value)
    rooms_by_code = {
        r.code: r for r in Room.objects.filter(code__in=codes["room"]).select_related("site")
    }
    for code in codes["room"]:
        room_obj = rooms_by_code.get(code)
        label = f"{code} {room_obj.name}" if room_obj else code
        excluded_rooms.append(Excluded(label, verdict.reasons[f"room:{code}"], room_obj))
    devices_by_serial = {
        d.serial_number: d for d in Device.objects.filter(serial_number__in=codes["device"])
    }
    for serial in codes["device"]:
        device_obj = devices_by_serial.get(serial)
        label = str(device_obj) if device_obj else serial
        excluded_devices.append(Excluded(label, verdict.reasons[f"device:{serial}"], device_obj))
    people = {
        s.employee_number: s for s in StaffMember.objects.filter(employee_number__in=codes["staff"])
    }
    excluded_staff = [
        Excluded(
            str(people[number]) if number in people else number,
            verdict.reasons[f"staff:{number}"],
            people.get(number),
        )
        for number in codes["staff"]
    ]
    excluded_staff.sort(key=lambda e: e.label)
    excluded_rooms.sort(key=lambda e: e.label)
    shifts = availability.staff_windows(staff_ids=[s.pk for s in verdict.staff], on=on, site=site)
    zone = _zone(site) if site is not None else availability.department_zone()
    staff = [StaffOption(s, hhmm_windows(shifts.get(s.pk, []), zone)) for s in verdict.staff]
    return EligibilityReport(
        exam_type=exam_type,
        on=on,
        site=site,
        patient_class=patient_class,
        duration=exam_type.duration_for(patient_class),
        needs=verdict.needs,
        rooms=options,
        staff=staff,
        excluded_rooms=excluded_rooms,
        excluded_devices=excluded_devices,
        excluded_staff=excluded_staff,
    )
