"""Writes to the department's calendars: holidays, room closures, device downtime, weekly booking
templates, room opening hours, staff standard hours and interpreters (issue 5, part 1).

The calendar pages, and later the API, call these; availability and slot search read the rows
(``radflow.scheduling.availability``). Every write is one transaction that first locks the row
it hangs off (the room, device, person or interpreter), so two coordinators adding overlapping
blocks to the same room serialise and the second one is told about the first.

Times: closures and downtime are instants (aware datetimes; the page turns what the coordinator
typed into the site's zone); weekly rows (opening hours, templates, working hours, interpreter
hours) are wall-clock times on a weekday, read in the site's zone (interpreters: the
department's zone) by availability, so 08:00 stays 08:00 across a DST change.

A room closure over booked exams is allowed: closing a room is a fact, not a wish. The closure
page then lists the bookings inside it (``calendar_selectors.bookings_inside``) for the
coordinator to move, and availability stops offering the time at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction

from radflow.catalog.models import ExamType
from radflow.core.errors import ValidationFailed
from radflow.patients.languages import ISO_639_1
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
from radflow.scheduling.services import full_clean_or_fail
from radflow.staff.models import StaffMember

logger = logging.getLogger(__name__)

__all__ = [
    "booking_template_remove",
    "booking_template_save",
    "device_downtime_add",
    "device_downtime_remove",
    "interpreter_hours_remove",
    "interpreter_hours_save",
    "interpreter_save",
    "room_closure_add",
    "room_closure_remove",
    "room_opening_hours_save",
    "site_closure_add",
    "site_closure_remove",
    "working_hours_remove",
    "working_hours_save",
]

#: Longest stretch one room closure or device downtime may cover; longer is a typo or a room
#: that should be marked down (its status) instead.
MAX_CLOSURE_DAYS = 366


# --- helpers -----------------------------------------------------------------------------------


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed({field: [message]})


def _user_id(by: Any) -> Any:
    return getattr(by, "pk", None)


def _hm(value: time) -> str:
    return f"{value:%H:%M}"


def _day_name(weekday: int) -> str:
    return str(Weekday(weekday).label)


def _when(value: datetime, zone: ZoneInfo) -> str:
    return f"{value.astimezone(zone):%a %d %b %Y %H:%M}"


def _require_text(field: str, value: str, what: str) -> str:
    cleaned = (value or "").strip()
    if not cleaned:
        raise _invalid(field, f"Say {what}.")
    return cleaned


def _check_stretch(start: datetime, end: datetime, zone: ZoneInfo) -> None:
    """Both ends aware, the end after the start, and not absurdly long."""
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise _invalid(name, "Give the time with its time zone (the site's local time).")
    if end <= start:
        raise _invalid(
            "end",
            f"The end ({_when(end, zone)}) must be after the start ({_when(start, zone)}).",
        )
    if (end - start).days > MAX_CLOSURE_DAYS:
        raise _invalid(
            "end",
            f"That is more than {MAX_CLOSURE_DAYS} days; set the room or device's status "
            "instead of a closure this long.",
        )


def _check_weekdays(weekdays: Iterable[int]) -> list[int]:
    days = sorted(set(weekdays))
    if not days:
        raise _invalid("weekdays", "Choose at least one weekday.")
    bad = [d for d in days if d not in Weekday.values]
    if bad:
        raise _invalid("weekdays", f"{bad[0]!r} is not a weekday (0 = Monday … 6 = Sunday).")
    return days


def _check_times(starts: time, ends: time) -> None:
    if ends <= starts:
        raise _invalid(
            "ends", f"The end ({_hm(ends)}) must be after the start ({_hm(starts)}) on the day."
        )


def _site_zone(site: Site) -> ZoneInfo:
    return ZoneInfo(site.time_zone)


def _device_zone(device: Device) -> ZoneInfo:
    from django.conf import settings

    if device.room is not None:
        return _site_zone(device.room.site)
    return ZoneInfo(settings.TIME_ZONE)


# --- site closures (holidays) ------------------------------------------------------------------


@transaction.atomic
def site_closure_add(*, site: Site, on: date, reason: str, by: Any) -> SiteClosure:
    """Close a whole site on a (local) day: a public holiday, a snow day.

    Bookings already on that day stay where they are; the page counts them so the coordinator
    moves them (the day's board shows the closure).
    """
    reason = _require_text("reason", reason, "why the site is closed (e.g. Thanksgiving Day)")
    Site.objects.select_for_update().filter(pk=site.pk).first()
    existing = SiteClosure.objects.filter(site=site, date=on).first()
    if existing is not None:
        raise _invalid(
            "date", f"{site.name} is already closed on {on:%A %d %B %Y} ({existing.reason})."
        )
    closure = SiteClosure(site=site, date=on, reason=reason)
    full_clean_or_fail(closure, exclude=["site"])
    closure.save()
    logger.info("site %s closed on %s by user %s", site.code, on, _user_id(by))
    return closure


@transaction.atomic
def site_closure_remove(*, closure: SiteClosure, by: Any) -> None:
    """Open the site again on that day (the opening hours apply once more)."""
    logger.info(
        "site closure of %s on %s removed by user %s",
        closure.site_id,
        closure.date,
        _user_id(by),
    )
    closure.delete()


# --- room closures -----------------------------------------------------------------------------


@transaction.atomic
def room_closure_add(
    *, room: Room, start: datetime, end: datetime, reason: str, by: Any
) -> RoomClosure:
    """Take a room out of booking from ``start`` to ``end`` (works, a deep clean, a session
    kept for teaching).

    Refused when it overlaps another closure of the same room (extend that one instead), so
    the room's closures never double-count. Booked exams inside it are not moved here: the
    closure page lists them.
    """
    zone = _site_zone(room.site)
    _check_stretch(start, end, zone)
    reason = _require_text("reason", reason, "why the room is closed")
    Room.objects.select_for_update().filter(pk=room.pk).first()
    clash = RoomClosure.objects.filter(room=room, start__lt=end, end__gt=start).first()
    if clash is not None:
        raise _invalid(
            "start",
            f"{room.code} is already closed from {_when(clash.start, zone)} to "
            f"{_when(clash.end, zone)} ({clash.reason}); change or remove that closure.",
        )
    closure = RoomClosure(room=room, start=start, end=end, reason=reason)
    full_clean_or_fail(closure, exclude=["room"])
    closure.save()
    logger.info("room %s closed %s-%s by user %s", room.code, start, end, _user_id(by))
    return closure


@transaction.atomic
def room_closure_remove(*, closure: RoomClosure, by: Any) -> None:
    logger.info("room closure %s removed by user %s", closure.pk, _user_id(by))
    closure.delete()


# --- device downtime ---------------------------------------------------------------------------


@transaction.atomic
def device_downtime_add(
    *, device: Device, start: datetime, end: datetime, reason: str, by: Any
) -> DeviceDowntime:
    """Record a scanner out of service for a known time (planned maintenance, a repair).

    The device's status is left alone: it says what is true now, the downtime what is planned.
    Overlapping another downtime of the same device is refused.
    """
    zone = _device_zone(device)
    _check_stretch(start, end, zone)
    reason = _require_text("reason", reason, "why the device is down (e.g. planned maintenance)")
    Device.objects.select_for_update().filter(pk=device.pk).first()
    clash = DeviceDowntime.objects.filter(device=device, start__lt=end, end__gt=start).first()
    if clash is not None:
        raise _invalid(
            "start",
            f"{device} is already down from {_when(clash.start, zone)} to "
            f"{_when(clash.end, zone)} ({clash.reason}); change or remove that downtime.",
        )
    downtime = DeviceDowntime(device=device, start=start, end=end, reason=reason)
    full_clean_or_fail(downtime, exclude=["device"])
    downtime.save()
    logger.info("device %s down %s-%s by user %s", device.pk, start, end, _user_id(by))
    return downtime


@transaction.atomic
def device_downtime_remove(*, downtime: DeviceDowntime, by: Any) -> None:
    logger.info("device downtime %s removed by user %s", downtime.pk, _user_id(by))
    downtime.delete()


# --- room opening hours ------------------------------------------------------------------------


def opening_field(weekday: int, n: int, part: str) -> str:
    """The name the opening-hours form gives interval ``n`` (1-based) of a weekday's ``part``
    ("opens"/"closes"), so a refusal lands on the right box: ``monday_1_closes``."""
    return f"{Weekday(weekday).name.lower()}_{n}_{part}"


@transaction.atomic
def room_opening_hours_save(
    *, room: Room, week: Mapping[int, Sequence[tuple[time, time]]], by: Any
) -> list[RoomOpeningHours]:
    """Replace a room's weekly opening hours. ``week`` maps weekday (0 = Monday) to its
    intervals in the site's local time; a weekday left out is closed.

    Intervals of a day may not overlap. Booking templates left outside the new hours are kept
    (the coordinator may be about to widen the hours again) and no longer bookable.
    """
    errors: dict[str, list[str]] = {}
    rows: list[RoomOpeningHours] = []
    for weekday, intervals in sorted(week.items()):
        if weekday not in Weekday.values:
            raise _invalid("week", f"{weekday!r} is not a weekday (0 = Monday … 6 = Sunday).")
        ordered = sorted(enumerate(intervals, start=1), key=lambda item: item[1][0])
        previous: tuple[int, time, time] | None = None
        for n, (opens, closes) in ordered:
            if closes <= opens:
                errors.setdefault(opening_field(weekday, n, "closes"), []).append(
                    f"{_day_name(weekday)}: closing ({_hm(closes)}) must be after opening "
                    f"({_hm(opens)})."
                )
                continue
            if previous is not None and opens < previous[2]:
                errors.setdefault(opening_field(weekday, n, "opens"), []).append(
                    f"{_day_name(weekday)}: {_hm(opens)}-{_hm(closes)} overlaps "
                    f"{_hm(previous[1])}-{_hm(previous[2])}."
                )
                continue
            previous = (n, opens, closes)
            rows.append(RoomOpeningHours(room=room, weekday=weekday, opens=opens, closes=closes))
    if errors:
        raise ValidationFailed(errors)
    Room.objects.select_for_update().filter(pk=room.pk).first()
    RoomOpeningHours.objects.filter(room=room).delete()
    created = RoomOpeningHours.objects.bulk_create(rows)
    logger.info("opening hours of room %s set by user %s", room.code, _user_id(by))
    return created


# --- booking templates -------------------------------------------------------------------------


def _inside_opening(room: Room, weekday: int, starts: time, ends: time) -> bool:
    return RoomOpeningHours.objects.filter(
        room=room, weekday=weekday, opens__lte=starts, closes__gte=ends
    ).exists()


def _opening_text(room: Room, weekday: int) -> str:
    hours = RoomOpeningHours.objects.filter(room=room, weekday=weekday).order_by("opens")
    text = ", ".join(f"{_hm(h.opens)}-{_hm(h.closes)}" for h in hours)
    return f"open {text}" if text else "closed all day"


@transaction.atomic
def booking_template_save(
    *,
    room: Room,
    weekdays: Iterable[int],
    starts: time,
    ends: time,
    label: str,
    exam_types: Iterable[ExamType] = (),
    by: Any,
    template: BookingTemplate | None = None,
) -> list[BookingTemplate]:
    """Keep a weekly block of a room for some exam types ("OB mornings", Monday to Friday
    08:00-12:00), one row per weekday; with ``template`` that one block is changed instead
    (then exactly one weekday).

    Refused, with nothing written, when the block is outside the room's opening hours on one
    of the days, overlaps another block of the same room and day, or names an exam type of
    another modality (the room could never take it).
    """
    days = _check_weekdays(weekdays)
    _check_times(starts, ends)
    label = _require_text("label", label, 'what the block is for (e.g. "OB mornings")')
    chosen = list(exam_types)
    foreign = [t.name for t in chosen if t.modality_id != room.modality_id]
    if foreign:
        raise _invalid(
            "exam_types",
            f"{room.code} is a {room.modality_id} room; {', '.join(sorted(foreign))} "
            "cannot be booked there.",
        )
    if template is not None and len(days) != 1:
        raise _invalid("weekdays", "A block is changed one weekday at a time.")
    Room.objects.select_for_update().filter(pk=room.pk).first()
    for day in days:
        if not _inside_opening(room, day, starts, ends):
            raise _invalid(
                "starts",
                f"{room.code} is {_opening_text(room, day)} on {_day_name(day)}s; "
                f"{_hm(starts)}-{_hm(ends)} does not fit.",
            )
        clash = BookingTemplate.objects.filter(
            room=room, weekday=day, starts__lt=ends, ends__gt=starts
        )
        if template is not None:
            clash = clash.exclude(pk=template.pk)
        found = clash.first()
        if found is not None:
            raise _invalid(
                "starts",
                f"{_hm(starts)}-{_hm(ends)} overlaps {found.label} "
                f"({_day_name(day)} {_hm(found.starts)}-{_hm(found.ends)}) in {room.code}.",
            )
    saved: list[BookingTemplate] = []
    for day in days:
        row = template or BookingTemplate(room=room)
        row.room, row.weekday, row.starts, row.ends, row.label = room, day, starts, ends, label
        full_clean_or_fail(row, exclude=["room"])
        row.save()
        row.exam_types.set(chosen)
        saved.append(row)
    logger.info("booking template %r in room %s saved by user %s", label, room.code, _user_id(by))
    return saved


@transaction.atomic
def booking_template_remove(*, template: BookingTemplate, by: Any) -> None:
    logger.info("booking template %s removed by user %s", template.pk, _user_id(by))
    template.delete()


# --- staff standard working hours --------------------------------------------------------------


def _weekly_clash(
    rows: Any, days: list[int], starts: time, ends: time, exclude_pk: Any = None
) -> Any:
    clash = rows.filter(weekday__in=days, starts__lt=ends, ends__gt=starts)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    return clash.order_by("weekday", "starts").first()


@transaction.atomic
def working_hours_save(
    *,
    staff: StaffMember,
    weekdays: Iterable[int],
    starts: time,
    ends: time,
    by: Any,
    site: Site | None = None,
) -> list[StaffWorkingHours]:
    """A person's standard weekly hours (one row per weekday), used on days no published
    roster covers and for people the roster does not plan. Hours at two sites on one day are
    fine; overlapping hours of the same person are not (one person, one place)."""
    days = _check_weekdays(weekdays)
    _check_times(starts, ends)
    StaffMember.objects.select_for_update().filter(pk=staff.pk).first()
    found = _weekly_clash(StaffWorkingHours.objects.filter(staff=staff), days, starts, ends)
    if found is not None:
        raise _invalid(
            "starts",
            f"{staff} already works {_day_name(found.weekday)} "
            f"{_hm(found.starts)}-{_hm(found.ends)}; {_hm(starts)}-{_hm(ends)} overlaps it.",
        )
    rows = [
        StaffWorkingHours(staff=staff, site=site, weekday=day, starts=starts, ends=ends)
        for day in days
    ]
    for row in rows:
        full_clean_or_fail(row, exclude=["staff", "site"])
    created = StaffWorkingHours.objects.bulk_create(rows)
    logger.info("working hours of staff %s saved by user %s", staff.pk, _user_id(by))
    return created


@transaction.atomic
def working_hours_remove(*, hours: StaffWorkingHours, by: Any) -> None:
    logger.info("working hours %s removed by user %s", hours.pk, _user_id(by))
    hours.delete()


# --- interpreters ------------------------------------------------------------------------------


def _languages(value: str) -> str:
    """``"ES, pt"`` → ``"es,pt"``; every code must be ISO 639-1 (as ``Patient.language``)."""
    codes = [code.strip().lower() for code in (value or "").replace(";", ",").split(",")]
    codes = list(dict.fromkeys(code for code in codes if code))
    if not codes:
        raise _invalid("languages", "Give at least one language (ISO 639-1 code, e.g. es).")
    unknown = [code for code in codes if code not in ISO_639_1]
    if unknown:
        raise _invalid(
            "languages",
            f"{', '.join(unknown)} is not an ISO 639-1 language code (e.g. es for Spanish).",
        )
    return ",".join(codes)


@transaction.atomic
def interpreter_save(
    *,
    name: str,
    languages: str,
    by: Any,
    phone: str = "",
    active: bool = True,
    interpreter: Interpreter | None = None,
) -> Interpreter:
    """Add or change an interpreter; languages are the codes patients' records use, so slot
    search can match a patient who needs Spanish to an interpreter who speaks it."""
    name = _require_text("name", name, "the interpreter's name")
    codes = _languages(languages)
    item = interpreter or Interpreter()
    if interpreter is not None:
        Interpreter.objects.select_for_update().filter(pk=interpreter.pk).first()
    duplicate = Interpreter.objects.filter(name__iexact=name)
    if interpreter is not None:
        duplicate = duplicate.exclude(pk=interpreter.pk)
    if duplicate.exists():
        raise _invalid("name", f"An interpreter called {name} is already listed.")
    item.name, item.languages, item.phone, item.active = name, codes, phone.strip(), active
    full_clean_or_fail(item)
    item.save()
    logger.info("interpreter %s saved by user %s", item.pk, _user_id(by))
    return item


@transaction.atomic
def interpreter_hours_save(
    *,
    interpreter: Interpreter,
    weekdays: Iterable[int],
    starts: time,
    ends: time,
    by: Any,
) -> list[InterpreterHours]:
    """When an interpreter can be booked each week (the department's time zone)."""
    days = _check_weekdays(weekdays)
    _check_times(starts, ends)
    Interpreter.objects.select_for_update().filter(pk=interpreter.pk).first()
    found = _weekly_clash(
        InterpreterHours.objects.filter(interpreter=interpreter), days, starts, ends
    )
    if found is not None:
        raise _invalid(
            "starts",
            f"{interpreter.name} is already available {_day_name(found.weekday)} "
            f"{_hm(found.starts)}-{_hm(found.ends)}; {_hm(starts)}-{_hm(ends)} overlaps it.",
        )
    rows = [
        InterpreterHours(interpreter=interpreter, weekday=day, starts=starts, ends=ends)
        for day in days
    ]
    for row in rows:
        full_clean_or_fail(row, exclude=["interpreter"])
    created = InterpreterHours.objects.bulk_create(rows)
    logger.info("hours of interpreter %s saved by user %s", interpreter.pk, _user_id(by))
    return created


@transaction.atomic
def interpreter_hours_remove(*, hours: InterpreterHours, by: Any) -> None:
    logger.info("interpreter hours %s removed by user %s", hours.pk, _user_id(by))
    hours.delete()
