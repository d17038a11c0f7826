"""A site's day as the day optimizer sees it, and the way back to rooms, people and times.

The optimizer (``radflow.core.scheduling``) counts time in REAL elapsed minutes from the local
midnight that starts the day: 1440 on most days, 1380 on the spring DST day and 1500 on the
autumn one. Every conversion goes through ``DayMapping.minute`` and ``DayMapping.at``, which work
in UTC: subtracting two aware datetimes that share a ``ZoneInfo`` gives wall-clock time in
Python, which would be an hour off on those two days.

What goes in (``build_day``):
- rooms of the site with their open windows (opening hours minus closures and downtime) and
  devices in service with theirs; staff who may do at least one of the day's exams, with their
  shifts (the published roster, else their standard hours); interpreters as resources;
- the day's exams at the site: scheduled, arrived, in progress or completed, each with its
  current assignment (in progress and completed ones fixed), booked outpatients with the time
  they were given; plus requests not yet booked that belong to the day (STAT orders and
  inpatient/ED requests, triaged or authorized): released when they came in, STAT and urgent
  ones due by their SLA clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils import timezone

from radflow.catalog.models import Prep
from radflow.core.exam_states import ExamState
from radflow.core.scheduling.day import (
    Assignment,
    Day,
    Device,
    Exam,
    Priority,
    Resource,
    Room,
    Staff,
    Weights,
    Window,
)
from radflow.exams.models import Exam as ExamRecord
from radflow.orders.models import OrderPatientClass
from radflow.orders.models import Priority as OrderPriority
from radflow.planning.models import DepartmentSchedulingSettings
from radflow.scheduling import availability, eligibility
from radflow.scheduling.booking import npo_latest_start
from radflow.scheduling.models import Device as DeviceRecord
from radflow.scheduling.models import Interpreter, Site
from radflow.scheduling.models import Room as RoomRecord
from radflow.staff.models import StaffMember

#: Exams that hold a place in the day; the first two may still move.
ON_THE_DAY = (
    ExamState.SCHEDULED,
    ExamState.ARRIVED,
    ExamState.IN_PROGRESS,
    ExamState.COMPLETED,
)
#: Exams the plan keeps exactly where they are booked: begun or done, and arrived ones (the
#: exam's life reschedules only an exam that is still ``scheduled``).
FIXED = (ExamState.ARRIVED, ExamState.IN_PROGRESS, ExamState.COMPLETED)
#: Nothing new starts sooner than this after the plan is made: the coordinator reviews it and
#: the patients are called. Starts are rounded up to ``STEP_MIN``.
LEAD_MIN = 10
STEP_MIN = 5
#: Bookings must lie inside opening hours and shifts (``booking.plan_booking`` refuses others),
#: so a plan that is to be applied runs no overtime.
BOOKABLE_OVERTIME = 0
#: Requests ready to book; a request pending the payer's answer waits for it.
READY_TO_BOOK = (ExamState.TRIAGED, ExamState.AUTHORIZED)
PRIORITY = {
    OrderPriority.STAT: Priority.STAT,
    OrderPriority.URGENT: Priority.URGENT,
    OrderPriority.ROUTINE: Priority.ROUTINE,
}
#: Prefix of the stand-in staff id of a booking that names nobody yet.
UNASSIGNED = "unassigned:"
#: Patient classes whose requests are planned into today without a booking.
SAME_DAY_CLASSES = (OrderPatientClass.INPATIENT, OrderPatientClass.EMERGENCY)


def scheduling_settings() -> DepartmentSchedulingSettings:
    """The department's one settings row, made with the defaults the first time it is asked."""
    found = DepartmentSchedulingSettings.objects.order_by("created_at").first()
    if found is None:
        found = DepartmentSchedulingSettings.objects.create()
    return found


def weights_from(item: DepartmentSchedulingSettings) -> Weights:
    return Weights(
        stat_lateness=item.stat_lateness_weight,
        urgent_lateness=item.urgent_lateness_weight,
        wait=item.wait_weight,
        overtime=item.overtime_weight,
        idle=item.idle_weight,
        change=item.change_weight,
    )


def local_midnight(on: date, zone: ZoneInfo) -> datetime:
    """The midnight that starts ``on`` at the site, as an aware UTC datetime."""
    return datetime.combine(on, time.min, tzinfo=zone).astimezone(UTC)


def day_minutes(on: date, zone: ZoneInfo) -> int:
    """Real minutes in ``on`` at the site: 1440, or 1380/1500 on a DST change day."""
    span = local_midnight(on + timedelta(days=1), zone) - local_midnight(on, zone)
    return int(span.total_seconds() // 60)


@dataclass
class DayMapping:
    """The way from the optimizer's ids and minutes back to the department's rows and times."""

    site: Site
    on: date
    zone: ZoneInfo
    #: The day's local midnight, in UTC.
    midnight: datetime
    horizon: int
    now: int
    #: The day is the site's today: booked patients come at their time, nothing starts before now.
    today: bool = False
    rooms: dict[str, RoomRecord] = field(default_factory=dict)
    devices: dict[str, DeviceRecord] = field(default_factory=dict)
    staff: dict[str, StaffMember] = field(default_factory=dict)
    interpreters: dict[str, Interpreter] = field(default_factory=dict)
    exams: dict[str, ExamRecord] = field(default_factory=dict)
    #: Why an exam had no eligible room or person, from the eligibility check.
    reasons: dict[str, list[str]] = field(default_factory=dict)

    def minute(self, moment: datetime) -> int:
        """Real minutes from the day's midnight to ``moment`` (may fall outside the day)."""
        if timezone.is_naive(moment):
            raise ValueError("an aware datetime is needed")
        return int((moment.astimezone(UTC) - self.midnight).total_seconds() // 60)

    def clamp(self, minute: int) -> int:
        return max(0, min(self.horizon, minute))

    def at(self, minute: int) -> datetime:
        """The aware local time ``minute`` real minutes after the day's midnight."""
        return (self.midnight + timedelta(minutes=minute)).astimezone(self.zone)

    def windows(self, spans: Iterable[tuple[datetime, datetime]]) -> tuple[Window, ...]:
        """Spans of the day as sorted, merged windows of minutes (clipped to the day)."""
        cut = sorted(
            (self.clamp(self.minute(start)), self.clamp(self.minute(end))) for start, end in spans
        )
        merged: list[list[int]] = []
        for start, end in cut:
            if end <= start:
                continue
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        return tuple(Window(start, end) for start, end in merged)

    def snapshot(self) -> dict[str, list[str]]:
        """What each exam of the day looked like when the plan was made (see ``exam_signature``)."""
        return {exam_id: exam_signature(exam) for exam_id, exam in self.exams.items()}


def exam_signature(exam: ExamRecord) -> list[str]:
    """The fields a plan depends on: if any differs at apply time, the plan is stale."""
    return [
        str(exam.state),
        str(exam.room_id or ""),
        exam.scheduled_start.isoformat() if exam.scheduled_start else "",
        exam.scheduled_end.isoformat() if exam.scheduled_end else "",
        str(exam.technologist_id or ""),
        str(exam.device_id or ""),
    ]


def day_exams(site: Site, on: date, *, today: date) -> list[ExamRecord]:
    """The exams a plan of ``site`` on ``on`` takes in: booked ones and same-day requests."""
    zone = ZoneInfo(site.time_zone)
    start, end = local_midnight(on, zone), local_midnight(on + timedelta(days=1), zone)
    booked = Q(
        state__in=ON_THE_DAY,
        room__site=site,
        scheduled_start__gte=start,
        scheduled_start__lt=end,
    )
    requests = Q(
        state__in=READY_TO_BOOK,
        order__received_at__lt=end,
    ) & (
        Q(order__site=site)
        | Q(order__site__isnull=True, order__exam_type__modality__rooms__site=site)
    )
    requests &= Q(order__priority=OrderPriority.STAT) | Q(order__patient_class__in=SAME_DAY_CLASSES)
    if on == today:
        requests &= Q(order__requested_date__isnull=True) | Q(order__requested_date__lte=on)
    else:
        requests &= Q(order__requested_date=on)
    return list(
        ExamRecord.objects.filter(booked | requests)
        .select_related(
            "order__exam_type",
            "order__patient",
            "room",
            "technologist",
            "device",
            "booked_interpreter",
        )
        .distinct()
        .order_by("scheduled_start", "order__received_at", "id")
    )


class _Eligibility:
    """The eligibility check, asked once per exam type and patient class.

    Without the per-person explanations (a credential check per person); those are asked only
    for an exam that no room or person can take, to say why.
    """

    def __init__(self, site: Site, on: date) -> None:
        self.site, self.on = site, on
        self.cache: dict[tuple[UUID, str, bool], Any] = {}

    def __call__(self, exam: ExamRecord, *, reasons: bool = False) -> Any:
        order = exam.order
        key = (order.exam_type_id, order.patient_class, reasons)
        if key not in self.cache:
            self.cache[key] = eligibility.exam_eligibility(
                exam_type=order.exam_type,
                patient_class=order.patient_class,
                on=self.on,
                site=self.site,
                with_reasons=reasons,
            )
        return self.cache[key]


def build_day(
    site: Site, on: date, *, now: datetime | None = None, lead: int = LEAD_MIN
) -> tuple[Day, DayMapping]:
    """The day of ``site`` on ``on`` as the optimizer's ``Day``, and the mapping back.

    ``now`` (default: the clock) matters on the current day only: nothing new starts before
    it plus ``lead`` minutes (rounded up to ``STEP_MIN``); a future day is planned from its
    midnight.
    """
    zone = ZoneInfo(site.time_zone)
    moment = now or timezone.now()
    today = moment.astimezone(zone).date()
    midnight = local_midnight(on, zone)
    horizon = day_minutes(on, zone)
    mapping = DayMapping(site=site, on=on, zone=zone, midnight=midnight, horizon=horizon, now=0)
    if on == today:
        earliest = mapping.minute(moment) + lead
        mapping.now = mapping.clamp(-(-earliest // STEP_MIN) * STEP_MIN)
        mapping.today = True
    elif on < today:
        mapping.now = horizon
    options = scheduling_settings()

    records = day_exams(site, on, today=today)
    mapping.exams = {str(exam.pk): exam for exam in records}
    eligible = _Eligibility(site, on)

    # Rooms and devices: every room of the site in a modality the day needs, open or not, so a
    # booking in a room that went down still points at a room the plan knows.
    modalities = {exam.order.exam_type.modality_id for exam in records}
    room_rows = list(
        RoomRecord.objects.filter(site=site, modality_id__in=modalities).order_by("code")
    )
    mapping.rooms = {str(room.pk): room for room in room_rows}
    rooms = tuple(
        Room(
            id=str(room.pk),
            open=mapping.windows(availability.room_windows(room=room, on=on)),
            name=room.code,
        )
        for room in room_rows
    )
    open_rooms = {room.id for room in rooms if room.open}
    device_rows = list(
        DeviceRecord.objects.filter(room__in=room_rows).order_by("room__code", "serial_number")
    )
    devices = []
    for device in device_rows:
        windows = mapping.windows(availability.device_windows(device=device, on=on))
        mapping.devices[str(device.pk)] = device
        devices.append(Device(id=str(device.pk), room_id=str(device.room_id), available=windows))

    # Staff: whoever may do one of the day's exams, plus whoever is on a booking already.
    staff_rows: dict[UUID, StaffMember] = {}
    for exam in records:
        for member in eligible(exam).staff:
            staff_rows.setdefault(member.pk, member)
        if exam.technologist is not None:
            staff_rows.setdefault(exam.technologist.pk, exam.technologist)
    shifts = availability.staff_windows(staff_ids=list(staff_rows), on=on, site=site)
    staff = tuple(
        Staff(
            id=str(pk),
            shifts=mapping.windows(shifts.get(pk, [])),
            name=f"{member.given_name} {member.family_name}",
        )
        for pk, member in sorted(staff_rows.items(), key=lambda item: str(item[0]))
    )
    mapping.staff = {str(pk): member for pk, member in staff_rows.items()}
    working = {member.id for member in staff if member.shifts}

    resources: dict[str, Resource] = {}
    by_language: dict[str, dict[UUID, list[tuple[datetime, datetime]]]] = {}

    def interpreter_for(exam: ExamRecord) -> frozenset[str]:
        patient = exam.order.patient
        if not patient.interpreter_needed:
            return frozenset()
        language = (patient.language or "").lower()
        if language not in by_language:
            by_language[language] = availability.interpreter_windows(language=language, on=on)
            for pk, spans in by_language[language].items():
                resources.setdefault(
                    str(pk), Resource(id=str(pk), available=mapping.windows(spans))
                )
        found = by_language[language]
        if not found:
            missing = f"no-interpreter:{language}"
            resources.setdefault(missing, Resource(id=missing, available=()))
            mapping.reasons.setdefault(str(exam.pk), []).append(
                f"No interpreter for the patient's language ({language}) is available that day."
            )
            return frozenset({missing})
        if exam.booked_interpreter_id in found:
            return frozenset({str(exam.booked_interpreter_id)})
        # The interpreter with the most time that day; the optimizer does not choose among them.
        best = max(sorted(found, key=str), key=lambda pk: _minutes(resources[str(pk)].available))
        return frozenset({str(best)})

    exams = tuple(
        _exam(exam, mapping, eligible, open_rooms, working, interpreter_for) for exam in records
    )
    wanted = [pk for pk in resources if not pk.startswith("no-interpreter:")]
    mapping.interpreters = {str(row.pk): row for row in Interpreter.objects.filter(pk__in=wanted)}
    day = Day(
        rooms=rooms,
        devices=tuple(devices),
        staff=staff,
        resources=tuple(resources.values()),
        exams=exams,
        weights=weights_from(options),
        horizon=horizon,
        now=mapping.now,
        max_overtime=BOOKABLE_OVERTIME,
    )
    return day, mapping


def _minutes(windows: Iterable[Window]) -> int:
    return sum(window.end - window.start for window in windows)


def _exam(
    exam: ExamRecord,
    mapping: DayMapping,
    eligible: _Eligibility,
    open_rooms: set[str],
    working: set[str],
    interpreter_for: Any,
) -> Exam:
    """One exam of the day for the optimizer (see the module docstring for the rules)."""
    allowed = eligible(exam)
    order = exam.order
    exam_type = order.exam_type
    exam_id = str(exam.pk)
    duration = exam_type.duration_for(order.patient_class)
    priority = PRIORITY[OrderPriority(order.priority)]
    fixed = exam.state in FIXED
    outpatient = order.patient_class == OrderPatientClass.OUTPATIENT
    booked = exam.room_id is not None and exam.scheduled_start is not None
    current: Assignment | None = None
    release = 0
    booked_start: int | None = None
    if booked and exam.scheduled_start is not None:
        start = mapping.minute(exam.scheduled_start)
        if fixed and exam.scheduled_end is not None:
            # Where it is booked: booked slots never overlap, actual times may (a late start).
            duration = max(1, mapping.minute(exam.scheduled_end) - start)
        current = Assignment(
            exam_id=exam_id,
            room_id=str(exam.room_id),
            device_id=str(exam.device_id) if exam.device_id else None,
            # Nobody named yet: an id of its own, so two such exams do not seem to share a person.
            staff_id=str(exam.technologist_id)
            if exam.technologist_id
            else f"{UNASSIGNED}{exam_id}",
            start=start,
        )
        if outpatient and not fixed:
            booked_start = start
            # A patient told a time on the day itself comes then, not earlier.
            release = mapping.clamp(start) if mapping.today else 0
    else:
        release = mapping.clamp(mapping.minute(order.received_at))
    if mapping.today and not fixed:
        release = max(release, mapping.now)
    target_start: int | None = None
    window_end: int | None = None
    due = order.sla_due_at
    if due is not None and priority in (Priority.STAT, Priority.URGENT):
        target_start = mapping.clamp(mapping.minute(due))
    elif due is not None and not booked and 0 <= mapping.minute(due) <= mapping.horizon:
        window_end = min(mapping.horizon, mapping.minute(due) + duration)
    if exam_type.prep == Prep.NPO:
        # Fasting patients start by the cut-off (the booking rule), so they must end by it + d.
        cutoff = datetime.combine(mapping.on, npo_latest_start(), tzinfo=mapping.zone)
        latest_end = mapping.clamp(mapping.minute(cutoff) + duration)
        window_end = latest_end if window_end is None else min(window_end, latest_end)
    rooms = frozenset(str(room.pk) for room in allowed.rooms if str(room.pk) in open_rooms)
    staff = frozenset(str(member.pk) for member in allowed.staff if str(member.pk) in working)
    if not fixed and (not rooms or not staff):
        why = mapping.reasons.setdefault(exam_id, [])
        if not rooms:
            why.append("No room that can do this exam is open at the site that day.")
        if not staff:
            why.append("Nobody qualified for this exam works at the site that day.")
        explained = eligible(exam, reasons=True).reasons
        for _, reasons in sorted(explained.items())[:6]:
            why.extend(reasons[:2])
    return Exam(
        id=exam_id,
        duration=max(1, duration),
        priority=priority,
        release=release,
        window_end=window_end,
        target_start=target_start,
        booked_start=booked_start,
        notified=booked and outpatient and not fixed,
        rooms=rooms,
        staff=staff,
        resources=interpreter_for(exam) if not fixed else frozenset(),
        turnover=exam_type.turnover_min,
        current=current,
        fixed=fixed,
        label=f"{exam.accession_number} {exam_type.name}",
    )
