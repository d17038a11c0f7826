"""The denominators that do not come from exams: open room time, worked staff time, and the
nightly third-next-available snapshot. All from the scheduling calendars and the roster.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from radflow.catalog.models import ExamType
from radflow.core.kpis.backlog import third_next_available
from radflow.exams.models import Exam
from radflow.kpis.models import KpiBacklogSnapshot, KpiRoomDay, KpiStaffDay
from radflow.kpis.rollups import db_date, db_datetime, db_uuid, delete_days, write_rows
from radflow.scheduling import availability as av
from radflow.scheduling.models import Reservation, Room, RoomStatus
from radflow.staff.models import JobRole, StaffMember

#: Who counts towards productivity: the people who perform exams.
PERFORMING_ROLES = (JobRole.SONOGRAPHER, JobRole.TECHNOLOGIST)
#: How far ahead the third-next-available search looks.
BACKLOG_HORIZON_DAYS = 90


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _seconds(windows: list[av.Window]) -> int:
    return int(sum((end - start).total_seconds() for start, end in windows))


@transaction.atomic
def room_days_rebuild(*, first: date, last: date) -> int:
    """Open seconds of every room on each day: opening hours less site and room closures.

    A room's current status (down, in maintenance) says nothing about last year, so the calendar
    is read as if every room were in service; the closures record real time out of use.
    """
    rooms = list(Room.objects.select_related("site"))
    for room in rooms:
        room.status = RoomStatus.IN_SERVICE  # history: see the docstring (never saved)
    days = _days(first, last)
    calendar = av.rooms_calendar(rooms, days) if rooms else {}
    rows = []
    for room in rooms:
        for day in days:
            seconds = _seconds(calendar.get((room.pk, day), []))
            if seconds:
                rows.append(
                    [
                        db_date(day),
                        db_uuid(room.pk),
                        db_uuid(room.site_id),
                        room.modality_id,
                        seconds,
                    ]
                )
    delete_days(KpiRoomDay, None, (first, last))
    return write_rows(KpiRoomDay, ["day", "room", "site", "modality", "open_s"], rows)


def main_modalities(staff: list[StaffMember]) -> dict[UUID, str]:
    """Each performer's main modality: where most of their exams of the last year were, else
    the first of their modalities (worked time is counted there)."""
    since = timezone.now() - timedelta(days=365)
    counts: dict[UUID, Counter[str]] = defaultdict(Counter)
    rows = (
        Exam.objects.filter(technologist__in=staff, in_progress_at__gte=since)
        .values_list("technologist_id", "order__exam_type__modality_id")
        .order_by()
    )
    for staff_id, modality in rows:
        counts[staff_id][modality] += 1
    result: dict[UUID, str] = {}
    for member in staff:
        if counts[member.pk]:
            result[member.pk] = counts[member.pk].most_common(1)[0][0]
        else:
            codes = sorted(m.code for m in member.modalities.all())
            result[member.pk] = codes[0] if codes else ""
    return result


@transaction.atomic
def staff_days_rebuild(*, first: date, last: date) -> int:
    """Seconds each performer worked on each day: the published roster where one covers the
    day, else standard working hours, none on approved leave (``availability.staff_calendar``)."""
    staff = list(
        StaffMember.objects.filter(job_role__in=PERFORMING_ROLES).prefetch_related("modalities")
    )
    days = _days(first, last)
    main = main_modalities(staff)
    rows = []
    for chunk_start in range(0, len(days), 31):  # a month at a time keeps the calendar small
        chunk = days[chunk_start : chunk_start + 31]
        calendar = av.staff_calendar([m.pk for m in staff], chunk)
        for member in staff:
            for day in chunk:
                seconds = _seconds(calendar.get((member.pk, day), []))
                if seconds:
                    rows.append(
                        [
                            db_date(day),
                            db_uuid(member.pk),
                            db_uuid(member.home_site_id),
                            main[member.pk],
                            seconds,
                        ]
                    )
    delete_days(KpiStaffDay, None, (first, last))
    return write_rows(KpiStaffDay, ["day", "staff", "site", "modality", "worked_s"], rows)


def _rooms_for(exam_type: ExamType, rooms: list[Room], caps: dict[Any, set[str]]) -> list[Room]:
    needed = {c.code for c in exam_type.required_capabilities.all()}
    return [r for r in rooms if r.modality_id == exam_type.modality_id and needed <= caps[r.pk]]


@transaction.atomic
def backlog_snapshot(*, now: datetime | None = None) -> int:
    """Days to the third next available slot, per site and active exam type, measured now.

    Free time is each room's calendar (opening hours less closures) less its live reservations;
    a slot is the exam type's default length plus the room's turnover. Staff cover is left out:
    this measures room capacity, the constraint a new booking meets first.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    days = _days(today, today + timedelta(days=BACKLOG_HORIZON_DAYS))
    rooms = [
        r
        for r in Room.objects.select_related("site").prefetch_related("capabilities")
        if r.status == RoomStatus.IN_SERVICE
    ]
    caps = {r.pk: {c.code for c in r.capabilities.all()} for r in rooms}
    calendar = av.rooms_calendar(rooms, days) if rooms else {}
    lo, hi = av.day_bounds(days[0], av.department_zone())[0], now + timedelta(days=len(days) + 1)
    busy: dict[Any, list[av.Window]] = defaultdict(list)
    for room_id, start, end in Reservation.objects.filter(
        active=True, room__isnull=False, start__lt=hi, end__gt=lo
    ).values_list("room_id", "start", "end"):
        busy[room_id].append((start, end))
    free = {
        r.pk: av.subtract([w for d in days for w in calendar.get((r.pk, d), [])], busy[r.pk])
        for r in rooms
    }
    rows = []
    types = ExamType.objects.filter(active=True).prefetch_related("required_capabilities")
    for exam_type in types:
        candidates = _rooms_for(exam_type, rooms, caps)
        for site_id in sorted({r.site_id for r in candidates}, key=str):
            windows = [w for r in candidates if r.site_id == site_id for w in free[r.pk]]
            minutes = exam_type.default_duration_min + exam_type.turnover_min
            value = third_next_available(windows, minutes, now=now)
            rows.append(
                [
                    db_date(today),
                    db_uuid(site_id),
                    db_uuid(exam_type.pk),
                    exam_type.modality_id,
                    None if value is None else round(value, 2),
                    db_datetime(now),
                ]
            )
    KpiBacklogSnapshot.objects.filter(day=today).delete()
    columns = ["day", "site", "exam_type", "modality", "days", "computed_at"]
    return write_rows(KpiBacklogSnapshot, columns, rows)
