"""When rooms, devices, staff and interpreters can be booked on a day (selectors).

Every window is a pair of aware datetimes in UTC. Wall-clock times (opening hours, shifts,
working hours) are turned into instants one by one with ``datetime.combine(day, time,
tzinfo=zone)``, never by adding a timedelta to a local midnight, so on the 23-hour spring day and
the 25-hour autumn day an 07:00-19:00 opening is 07:00-19:00 on the clock. Show a window with
``.astimezone(zone)``; do arithmetic on the UTC values. (Python subtracts and compares two
datetimes that share one ``ZoneInfo`` by their wall-clock fields: across a change that is an
hour off, which is why nothing here keeps local datetimes.) Durations are real elapsed time:
``add_minutes`` adds them in UTC.

Calendars only: what is already reserved is the booking service's business
(``radflow.scheduling.booking``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q

from radflow.scheduling.models import (
    Device,
    DeviceDowntime,
    DeviceStatus,
    Interpreter,
    InterpreterHours,
    Room,
    RoomClosure,
    RoomOpeningHours,
    RoomStatus,
    Site,
    SiteClosure,
    StaffWorkingHours,
)

Window = tuple[datetime, datetime]

__all__ = [
    "Window",
    "add_minutes",
    "clip",
    "day_bounds",
    "department_zone",
    "device_windows",
    "devices_calendar",
    "interpreter_windows",
    "interpreters_calendar",
    "intersect",
    "local_at",
    "room_windows",
    "rooms_calendar",
    "site_zone",
    "staff_calendar",
    "staff_windows",
    "subtract",
    "union",
]


# --- time helpers -------------------------------------------------------------------------------


def site_zone(site: Site) -> ZoneInfo:
    return ZoneInfo(site.time_zone)


def department_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_at(on: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant (UTC) the clocks in ``zone`` show ``at`` on ``on``.

    A wall time skipped by the spring change (02:30) resolves with the offset before the change
    (fold=0), i.e. to 03:30 summer time; an autumn repeated time to its first occurrence.
    """
    return datetime.combine(on, at, tzinfo=zone).astimezone(UTC)


def day_bounds(on: date, zone: ZoneInfo) -> Window:
    """Local midnight to the next local midnight (UTC instants): 23, 24 or 25 real hours."""
    return local_at(on, time(0), zone), local_at(on + timedelta(days=1), time(0), zone)


def add_minutes(instant: datetime, minutes: int, zone: ZoneInfo | None = None) -> datetime:
    """``instant`` plus real elapsed minutes (done in UTC: local arithmetic is wall-clock)."""
    result = instant.astimezone(UTC) + timedelta(minutes=minutes)
    return result.astimezone(zone) if zone is not None else result


# --- interval arithmetic (half-open [start, end)) -------------------------------------------------


def union(windows: Iterable[Window]) -> list[Window]:
    """Sorted, overlapping or touching windows merged."""
    merged: list[Window] = []
    for start, end in sorted(_utc(windows)):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def subtract(windows: Iterable[Window], busy: Iterable[Window]) -> list[Window]:
    """``windows`` with every ``busy`` stretch taken out."""
    result = union(windows)
    for b_start, b_end in union(busy):  # both in UTC: real-time comparisons
        pieces: list[Window] = []
        for start, end in result:
            if b_end <= start or b_start >= end:
                pieces.append((start, end))
                continue
            if start < b_start:
                pieces.append((start, b_start))
            if b_end < end:
                pieces.append((b_end, end))
        result = pieces
    return result


def intersect(a: Sequence[Window], b: Sequence[Window]) -> list[Window]:
    result: list[Window] = []
    for a_start, a_end in union(a):
        for b_start, b_end in union(b):
            start, end = max(a_start, b_start), min(a_end, b_end)
            if start < end:
                result.append((start, end))
    return union(result)


def clip(windows: Iterable[Window], start: datetime, end: datetime) -> list[Window]:
    return intersect(list(windows), [(start, end)])


def _utc(windows: Iterable[Window]) -> list[Window]:
    return [(start.astimezone(UTC), end.astimezone(UTC)) for start, end in windows]


# --- rooms and devices ----------------------------------------------------------------------------


def _weekly(rows: Iterable[tuple[time, time]], on: date, zone: ZoneInfo) -> list[Window]:
    return union((local_at(on, opens, zone), local_at(on, closes, zone)) for opens, closes in rows)


def _span(days: Sequence[date], zone: ZoneInfo) -> Window:
    return day_bounds(min(days), zone)[0], day_bounds(max(days), zone)[1]


def rooms_calendar(
    rooms: Sequence[Room], days: Sequence[date]
) -> dict[tuple[UUID, date], list[Window]]:
    """``room_windows`` for many rooms and days in four queries (slot search uses this)."""
    result: dict[tuple[UUID, date], list[Window]] = {}
    if not rooms or not days:
        return result
    ids = [room.pk for room in rooms]
    site_ids = {room.site_id for room in rooms}
    closed_days = set(
        SiteClosure.objects.filter(site_id__in=site_ids, date__in=list(days)).values_list(
            "site_id", "date"
        )
    )
    hours: dict[tuple[UUID, int], list[tuple[time, time]]] = defaultdict(list)
    for room_id, weekday, opens, closes in RoomOpeningHours.objects.filter(
        room_id__in=ids, weekday__in={d.weekday() for d in days}
    ).values_list("room_id", "weekday", "opens", "closes"):
        hours[(room_id, weekday)].append((opens, closes))
    zones = {room.pk: ZoneInfo(room.site.time_zone) for room in rooms}
    lo = min(_span(days, zone)[0] for zone in zones.values())
    hi = max(_span(days, zone)[1] for zone in zones.values())
    closures: dict[UUID, list[Window]] = defaultdict(list)
    for room_id, start, end in RoomClosure.objects.filter(
        room_id__in=ids, start__lt=hi, end__gt=lo
    ).values_list("room_id", "start", "end"):
        closures[room_id].append((start, end))
    for room in rooms:
        zone = zones[room.pk]
        for on in days:
            if room.status != RoomStatus.IN_SERVICE or (room.site_id, on) in closed_days:
                result[(room.pk, on)] = []
                continue
            windows = _weekly(hours.get((room.pk, on.weekday()), []), on, zone)
            result[(room.pk, on)] = subtract(windows, closures[room.pk])
    return result


def devices_calendar(
    devices: Sequence[Device],
    days: Sequence[date],
    rooms: dict[tuple[UUID, date], list[Window]] | None = None,
) -> dict[tuple[UUID, date], list[Window]]:
    """``device_windows`` for many devices and days (``rooms``: a ``rooms_calendar`` to reuse)."""
    result: dict[tuple[UUID, date], list[Window]] = {}
    if not devices or not days:
        return result
    placed = [d for d in devices if d.room is not None]
    if rooms is None:
        rooms = rooms_calendar(list({d.room.pk: d.room for d in placed if d.room}.values()), days)
    zones = {d.pk: ZoneInfo(d.room.site.time_zone) for d in placed if d.room}
    down: dict[UUID, list[Window]] = defaultdict(list)
    if zones:
        lo = min(_span(days, zone)[0] for zone in zones.values())
        hi = max(_span(days, zone)[1] for zone in zones.values())
        for device_id, start, end in DeviceDowntime.objects.filter(
            device_id__in=list(zones), start__lt=hi, end__gt=lo
        ).values_list("device_id", "start", "end"):
            down[device_id].append((start, end))
    for device in devices:
        for on in days:
            if device.status != DeviceStatus.IN_SERVICE or device.room is None:
                result[(device.pk, on)] = []
                continue
            windows = rooms.get((device.room.pk, on), [])
            result[(device.pk, on)] = subtract(windows, down[device.pk])
    return result


def room_windows(*, room: Room, on: date) -> list[Window]:
    """The room's opening hours on ``on``, less room closures and the site's closed days.

    A room that is down or in maintenance now has no windows: its status is what the
    coordinator set, and holds until they set it back.
    """
    return rooms_calendar([room], [on])[(room.pk, on)]


def device_windows(*, device: Device, on: date) -> list[Window]:
    """The device's room's windows less its downtimes; none when it is not in service or has no
    room (a device is booked where it stands)."""
    return devices_calendar([device], [on])[(device.pk, on)]


# --- staff ---------------------------------------------------------------------------------------


def _covered_days(days: Sequence[date]) -> set[date]:
    """Days a published roster (or the part of one a newer roster left) covers."""
    from radflow.rostering.models import Roster
    from radflow.rostering.selectors import SHOWN_STATUSES

    first, last = min(days), max(days)
    covered: set[date] = set()
    for roster in Roster.objects.filter(
        status__in=SHOWN_STATUSES, start__lte=last, start__gt=first - timedelta(weeks=9)
    ):
        covered.update(d for d in days if roster.start <= d <= roster.end)
    return covered


def _unrostered(staff_ids: Iterable[UUID]) -> set[UUID]:
    """People the roster does not plan (``StaffRosterRules.rostered`` off): standard hours apply."""
    from radflow.rostering.models import StaffRosterRules

    return set(
        StaffRosterRules.objects.filter(staff_id__in=list(staff_ids), rostered=False).values_list(
            "staff_id", flat=True
        )
    )


def _roster_windows(
    staff_ids: set[UUID], days: Sequence[date], site: Site | None
) -> dict[tuple[UUID, date], list[Window]]:
    """Published shifts worked on each day (and last night's shifts running into it), on-call
    left out (the person is at home), clipped to the day."""
    from radflow.rostering.models import ShiftKind
    from radflow.rostering.selectors import effective_assignments

    wanted = set(days)
    result: dict[tuple[UUID, date], list[Window]] = defaultdict(list)
    rows = effective_assignments(start=min(days) - timedelta(days=1), end=max(days))
    for row in rows:
        if row.staff_id not in staff_ids or row.shift_type.kind == ShiftKind.ON_CALL:
            continue
        if site is not None and row.shift_type.site_id != site.pk:
            continue
        zone = ZoneInfo(row.shift_type.site.time_zone)
        begins, ends = _utc([row.shift_type.bounds(row.on_date)])[0]
        for on in (row.on_date, row.on_date + timedelta(days=1)):
            if on not in wanted or (on != row.on_date and not row.shift_type.overnight):
                continue
            part = clip([(begins, ends)], *day_bounds(on, zone))
            result[(row.staff_id, on)].extend(part)
    return result


def _standard_windows(
    staff_ids: set[UUID], days: Sequence[date], site: Site | None
) -> dict[tuple[UUID, date], list[Window]]:
    """Standard weekly hours at ``site`` (blank site = home site), none on approved leave."""
    from radflow.rostering.models import LeaveRequest, RequestStatus

    leave = list(
        LeaveRequest.objects.filter(
            staff_id__in=staff_ids,
            status=RequestStatus.APPROVED,
            start__lte=max(days),
            end__gte=min(days),
        ).values_list("staff_id", "start", "end")
    )
    rows = StaffWorkingHours.objects.filter(
        staff_id__in=staff_ids,
        weekday__in={d.weekday() for d in days},
        staff__active=True,
    ).select_related("site", "staff__home_site")
    if site is not None:
        rows = rows.filter(Q(site=site) | Q(site__isnull=True, staff__home_site=site))
    by_weekday: dict[int, list[StaffWorkingHours]] = defaultdict(list)
    for row in rows:
        by_weekday[row.weekday].append(row)
    result: dict[tuple[UUID, date], list[Window]] = defaultdict(list)
    for on in days:
        away = {pk for pk, first, last in leave if first <= on <= last}
        for row in by_weekday.get(on.weekday(), []):
            if row.staff_id in away:
                continue
            zone = ZoneInfo((row.site or row.staff.home_site).time_zone)
            result[(row.staff_id, on)].append(
                (local_at(on, row.starts, zone), local_at(on, row.ends, zone))
            )
    return result


def staff_calendar(
    staff_ids: Iterable[UUID], days: Sequence[date], site: Site | None = None
) -> dict[tuple[UUID, date], list[Window]]:
    """``staff_windows`` for many days in a fixed number of queries."""
    ids = set(staff_ids)
    result: dict[tuple[UUID, date], list[Window]] = {(pk, on): [] for pk in ids for on in days}
    if not ids or not days:
        return result
    covered = _covered_days(days)
    standard_people = _unrostered(ids) if covered else set()
    found: dict[tuple[UUID, date], list[Window]] = {}
    if covered:
        rostered = ids - standard_people
        found.update(
            (key, value) for key, value in _roster_windows(rostered, sorted(covered), site).items()
        )
    plain_days = [d for d in days if d not in covered]
    if plain_days:
        found.update(_standard_windows(ids, plain_days, site))
    if covered and standard_people:
        found.update(_standard_windows(standard_people, sorted(covered), site))
    for key, windows in found.items():
        if key in result:
            result[key] = union(windows)
    return result


def staff_windows(
    *, staff_ids: Iterable[UUID], on: date, site: Site | None = None
) -> dict[UUID, list[Window]]:
    """When each person works on ``on`` (at ``site`` when given).

    The published roster decides on a day it covers, for everyone it plans; on other days, and
    for people the roster does not plan, their standard working hours apply (none on approved
    leave). Every id asked for is in the answer (an empty list: not working).
    """
    ids = list(dict.fromkeys(staff_ids))
    calendar = staff_calendar(ids, [on], site)
    return {pk: calendar[(pk, on)] for pk in ids}


# --- interpreters -------------------------------------------------------------------------------


def interpreters_calendar(
    language: str, days: Sequence[date]
) -> tuple[list[Interpreter], dict[tuple[UUID, date], list[Window]]]:
    """Active interpreters of ``language`` (ISO 639-1) and their hours on each day (2 queries)."""
    zone = department_zone()
    wanted = language.strip().lower()
    interpreters = [
        i for i in Interpreter.objects.filter(active=True).order_by("name") if i.speaks(wanted)
    ]
    result: dict[tuple[UUID, date], list[Window]] = {
        (i.pk, on): [] for i in interpreters for on in days
    }
    hours: dict[int, list[tuple[UUID, time, time]]] = defaultdict(list)
    for interpreter_id, weekday, starts, ends in InterpreterHours.objects.filter(
        interpreter_id__in=[i.pk for i in interpreters],
        weekday__in={d.weekday() for d in days},
    ).values_list("interpreter_id", "weekday", "starts", "ends"):
        hours[weekday].append((interpreter_id, starts, ends))
    for on in days:
        for interpreter_id, starts, ends in hours.get(on.weekday(), []):
            result[(interpreter_id, on)].append(
                (local_at(on, starts, zone), local_at(on, ends, zone))
            )
    return interpreters, {key: union(windows) for key, windows in result.items()}


def interpreter_windows(*, language: str, on: date) -> dict[UUID, list[Window]]:
    """Active interpreters of ``language`` (ISO 639-1) and their hours on ``on``."""
    interpreters, calendar = interpreters_calendar(language, [on])
    return {i.pk: calendar[(i.pk, on)] for i in interpreters}
