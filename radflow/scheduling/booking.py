"""Slot search and booking: a room, its device, a qualified performer and an interpreter together.

Services here are what pages, the API and (later) HL7 SIU / FHIR ``$find``/``$hold``/``$book``
call. State changes go through ``radflow.exams.services`` (one path for transitions and their
history), which writes the resources' time through ``claim`` below.

Double booking is refused twice over:

* inside the booking transaction, after releasing expired holds of the resources touched, a
  query looks for an active reservation that overlaps (on SQLite the IMMEDIATE transaction makes
  this check-then-insert atomic: one writer at a time);
* on PostgreSQL, exclusion constraints (migration 0003) refuse overlapping active reservations
  of one room, device, person or interpreter, whatever wrote them; a writer that loses that race
  gets an ``IntegrityError`` which becomes the same ``Conflict(code="slot_taken")``.

``appointment_book`` and ``appointment_move`` attach fresh options (``exc.options``) to a
``slot_taken`` conflict, computed after the failed transaction has been rolled back.

Ranking of ``slot_find`` options (higher score is better; 100 is a slot with no penalty):

* waiting: minus 4 points per day between the earliest allowed start and the slot;
* site: minus 15 when the room is not at the preferred site (``site`` filter aside, the order's
  site is the patient's preferred site);
* time of day: minus 10 when a preferred time (morning < 12:00, afternoon 12:00-17:00, evening
  after 17:00, local) is asked for and the slot starts outside it;
* fragmentation of the room's free time: a gap left before or after the exam that is shorter
  than ``SCHEDULING_MIN_USEFUL_GAP_MIN`` (20) minutes is wasted: minus 0.2 per wasted minute and
  3 per gap split off, at most 20;
* templates: plus 5 inside a block kept for this exam type; a block kept for other exam types is
  offered only on a day when the room has no block-free time left that fits the exam, at minus 10.

Only the best two options per room and day are kept, so the list shows a spread of rooms and days.
"""

from __future__ import annotations

import logging
import time as time_module
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from radflow.catalog.models import ExamType, Prep
from radflow.core.errors import Conflict, ValidationFailed
from radflow.core.exam_states import ExamState
from radflow.scheduling import availability as av
from radflow.scheduling.availability import Window
from radflow.scheduling.eligibility import (
    device_problem,
    eligible_performers,
    exam_eligibility,
    required_capabilities,
    room_problems,
    staff_problem,
)
from radflow.scheduling.models import (
    BookingTemplate,
    Device,
    DeviceDowntime,
    DeviceStatus,
    Hold,
    Interpreter,
    Reservation,
    Room,
    RoomClosure,
    RoomOpeningHours,
    SiteClosure,
)
from radflow.staff.models import StaffMember

logger = logging.getLogger("radflow.scheduling")

T = TypeVar("T")

#: Slots start on this grid (minutes).
STEP_MIN = 5
#: Exam states in which an exam may be booked or moved.
BOOKABLE = (ExamState.AUTHORIZED, ExamState.PENDING_AUTH)
ENDED = (ExamState.CANCELLED, ExamState.NO_SHOW, ExamState.DISCONTINUED)
#: Time-of-day bands for ``preferred_time``, local wall-clock hours [from, to).
BANDS: dict[str, tuple[int, int]] = {"morning": (0, 12), "afternoon": (12, 17), "evening": (17, 24)}
RESOURCES = ("room", "device", "staff", "interpreter")

W_WAIT_PER_DAY = 4.0
W_SITE = 15.0
W_TIME = 10.0
W_GAP_MINUTE = 0.2
W_GAP_SPLIT = 3.0
MAX_FRAGMENTATION = 20.0
BONUS_TEMPLATE = 5.0
W_FOREIGN_TEMPLATE = 10.0


def _setting(name: str, default: T) -> T:
    return getattr(settings, name, default)


def npo_latest_start() -> time:
    """Fasting exams start by this local time (``SCHEDULING_NPO_LATEST_START``, "11:00")."""
    value: Any = _setting("SCHEDULING_NPO_LATEST_START", "11:00")
    return value if isinstance(value, time) else time.fromisoformat(str(value))


def transport_lead() -> int:
    return int(_setting("SCHEDULING_TRANSPORT_LEAD_MIN", 30))


def search_days() -> int:
    return int(_setting("SCHEDULING_SEARCH_DAYS", 14))


def min_useful_gap() -> int:
    return int(_setting("SCHEDULING_MIN_USEFUL_GAP_MIN", 20))


def _hhmm(value: datetime, zone: ZoneInfo) -> str:
    return f"{value.astimezone(zone):%H:%M}"


def _span(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """``09:00`` to ``09:45`` joined by an en dash, in ``zone``."""
    return f"{_hhmm(start, zone)}\u2013{_hhmm(end, zone)}"


def _ceil(value: datetime) -> datetime:
    """Up to the next ``STEP_MIN`` grid point (in UTC; every real zone offset is on the grid)."""
    value = value.astimezone(UTC)
    base = value.replace(second=0, microsecond=0)
    if base < value:
        base += timedelta(minutes=1)
    extra = -base.minute % STEP_MIN
    return base + timedelta(minutes=extra)


def _floor(value: datetime) -> datetime:
    value = value.astimezone(UTC).replace(second=0, microsecond=0)
    return value - timedelta(minutes=value.minute % STEP_MIN)


# --- what an order needs ----------------------------------------------------------------------


@dataclass(frozen=True)
class Need:
    exam_type: ExamType
    patient_class: str
    duration: int
    turnover: int
    prep: str
    language: str | None
    inpatient: bool

    @classmethod
    def of(cls, order: Any) -> Need:
        exam_type = order.exam_type
        patient = order.patient
        language = None
        if patient.interpreter_needed:
            language = (patient.language or "").strip().lower() or None
        return cls(
            exam_type=exam_type,
            patient_class=order.patient_class,
            duration=exam_type.duration_for(order.patient_class),
            turnover=exam_type.turnover_min,
            prep=exam_type.prep,
            language=language,
            inpatient=order.patient_class == "inpatient",
        )


# --- reserving time ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """One resource's time: ``kind`` is room, device, staff or interpreter."""

    kind: str
    obj: models.Model
    start: datetime
    end: datetime


def claims_for(
    *,
    room: Room,
    start: datetime,
    end: datetime,
    turnover: int,
    staff: StaffMember | None = None,
    device: Device | None = None,
    interpreter: Interpreter | None = None,
) -> list[Claim]:
    """The room runs to the end plus turnover (cleaning); the others to the exam's end."""
    claims = [Claim("room", room, start, av.add_minutes(end, turnover))]
    if device is not None:
        claims.append(Claim("device", device, start, end))
    if staff is not None:
        claims.append(Claim("staff", staff, start, end))
    if interpreter is not None:
        claims.append(Claim("interpreter", interpreter, start, end))
    return claims


def _overlapping(claim: Claim) -> Q:
    return Q(**{f"{claim.kind}_id": claim.obj.pk}, start__lt=claim.end, end__gt=claim.start)


def _live() -> Q:
    """Active reservations whose hold (if any) has not expired."""
    return Q(active=True) & (Q(hold__isnull=True) | Q(hold__expires_at__gt=timezone.now()))


def release_expired_holds(claims: Sequence[Claim]) -> int:
    """Expired holds' reservations on the claimed resources and times stop counting."""
    if not claims:
        return 0
    touching = Q()
    for claim in claims:
        touching |= _overlapping(claim)
    now = timezone.now()
    stale = Reservation.objects.filter(touching, active=True, hold__expires_at__lte=now)
    hold_ids = set(stale.values_list("hold_id", flat=True))
    if not hold_ids:
        return 0
    Reservation.objects.filter(hold_id__in=hold_ids, active=True).update(active=False)
    Hold.objects.filter(pk__in=hold_ids, released_at__isnull=True).update(released_at=now)
    return len(hold_ids)


def _describe(
    row: Reservation, claim: Claim, requested_at: datetime | None, *, race: bool = False
) -> str:
    """The clash, named: what is booked when (and for which exam's room)."""
    zone = av.site_zone(row.room.site) if row.room is not None else av.department_zone()
    exam = row.exam
    start, end = row.start, row.end
    if exam is not None and exam.scheduled_start and exam.scheduled_end:
        start, end = exam.scheduled_start, exam.scheduled_end
    label = claim.obj.name if claim.kind == "room" else str(claim.obj)  # type: ignore[attr-defined]
    where = ""
    if claim.kind != "room" and exam is not None and exam.room is not None:
        where = f" ({exam.room.name})"
    if race or (requested_at is not None and row.created_at > requested_at):
        return f"That slot was just taken: {label} is booked {_span(start, end, zone)}{where}."
    day = start.astimezone(zone).date()
    if row.hold_id is not None and exam is None:
        until = _hhmm(row.hold.expires_at, zone) if row.hold else ""
        return (
            f"{label} is held for another patient {_hhmm(start, zone)}-{_hhmm(end, zone)} "
            f"on {day} (until {until})."
        )
    return f"{label} is already booked {_hhmm(start, zone)}-{_hhmm(end, zone)} on {day}{where}."


def _first_clash(
    claims: Sequence[Claim], *, ignore_exam: Any = None, ignore_hold: Any = None
) -> tuple[Claim, Reservation] | None:
    for claim in claims:
        rows = Reservation.objects.filter(_live(), _overlapping(claim)).select_related(
            "exam", "exam__room", "hold", "room__site"
        )
        if ignore_exam is not None:
            rows = rows.exclude(exam_id=ignore_exam)
        if ignore_hold is not None:
            rows = rows.exclude(hold_id=ignore_hold)
        row = rows.order_by("start").first()
        if row is not None:
            return claim, row
    return None


def claim(
    *,
    claims: Sequence[Claim],
    exam: Any = None,
    hold: Hold | None = None,
    requested_at: datetime | None = None,
) -> list[Reservation]:
    """Reserve every claim for ``exam`` (or ``hold``), or raise ``Conflict(slot_taken)``.

    With both, the hold is the order's own and is converted into the exam's reservations.

    Precondition: the caller's transaction is open and, for an exam, holds the exam's row lock.
    The exam's own earlier reservations are released first (a move), then expired holds on the
    same resources; a live overlap left is a clash named in the message. On PostgreSQL the
    insert itself can still lose a race to a concurrent transaction: the exclusion constraint
    refuses it and the clash is named the same way.
    """
    if exam is not None:
        Reservation.objects.filter(exam=exam, active=True).update(active=False)
        if hold is not None:  # the order's own hold becomes the booking
            Reservation.objects.filter(hold=hold, active=True).update(active=False)
    release_expired_holds(claims)
    clash = _first_clash(claims, ignore_hold=hold.pk if hold is not None else None)
    if clash is not None:
        message = _describe(clash[1], clash[0], requested_at)
        raise Conflict(message, field="start", code="slot_taken")
    rows = [
        Reservation(
            **{c.kind: c.obj},
            start=c.start.astimezone(UTC),
            end=c.end.astimezone(UTC),
            exam=exam,
            hold=hold if exam is None else None,
        )
        for c in claims
    ]
    try:
        with transaction.atomic():
            Reservation.objects.bulk_create(rows)
    except IntegrityError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != "23P01":  # exclusion_violation
            raise
        # Identifiers only (no PHI): how often the database, not the check, refused a booking.
        logger.info("booking refused by an exclusion constraint (exam %s)", getattr(exam, "pk", ""))
        clash = _first_clash(claims, ignore_hold=hold.pk if hold is not None else None)
        if clash is None:
            message = "That slot was just taken by another booking; choose another time."
        else:
            message = _describe(clash[1], clash[0], requested_at, race=True)
        raise Conflict(message, field="start", code="slot_taken") from exc
    return rows


def free_device(room: Room, start: datetime, end: datetime, exam: Any = None) -> Device | None:
    """The room's first scanner in service, not in downtime and free then (None: no such one).

    For ``exams.services.exam_schedule`` callers that name no device: the booking still takes
    the scanner that stands in the room.
    """
    for device in room.devices.filter(status=DeviceStatus.IN_SERVICE).order_by("serial_number"):
        if DeviceDowntime.objects.filter(device=device, start__lt=end, end__gt=start).exists():
            continue
        if _free_in("device", device, start, end, exam):
            return device
    return None


def release_for_exam(exam: Any) -> int:
    """An exam that no longer holds its room gives its time back."""
    return Reservation.objects.filter(exam=exam, active=True).update(active=False)


@transaction.atomic
def hold_release_expired() -> int:
    """Worker job: release every hold past its expiry; returns how many."""
    now = timezone.now()
    expired = list(
        Hold.objects.filter(released_at__isnull=True, expires_at__lte=now).values_list(
            "pk", flat=True
        )
    )
    if not expired:
        return 0
    Reservation.objects.filter(hold_id__in=expired, active=True).update(active=False)
    Hold.objects.filter(pk__in=expired).update(released_at=now)
    return len(expired)


# --- slot search ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotOption:
    """One bookable combination; ``start``/``end`` are UTC (show them in the room's zone)."""

    start: datetime
    end: datetime
    room: Room
    device: Device | None
    staff: StaffMember | None
    interpreter: Interpreter | None
    score: float
    why: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "room": {"id": self.room.pk, "code": self.room.code, "name": self.room.name},
            "device": ({"id": self.device.pk, "name": str(self.device)} if self.device else None),
            "staff": ({"id": self.staff.pk, "name": str(self.staff)} if self.staff else None),
            "interpreter": (
                {"id": self.interpreter.pk, "name": self.interpreter.name}
                if self.interpreter
                else None
            ),
            "score": self.score,
            "why": self.why,
        }


#: Allowed start instants as closed intervals [lo, hi].
Starts = list[tuple[datetime, datetime]]


def _starts_within(windows: Sequence[Window], length: int) -> Starts:
    """Starts s with [s, s + length) inside one of ``windows``."""
    result = []
    for start, end in windows:
        last = av.add_minutes(end, -length)
        if last >= start:
            result.append((start.astimezone(UTC), last))
    return result


def _starts_minus(starts: Starts, busy: Sequence[Window], length: int) -> Starts:
    """Remove starts whose [s, s + length) overlaps a busy window: s in (x - length, y)."""
    result = list(starts)
    for x, y in busy:
        first_bad = av.add_minutes(x, -length)
        pieces: Starts = []
        for lo, hi in result:
            if hi <= first_bad or lo >= y:
                pieces.append((lo, hi))
                continue
            if lo <= first_bad:
                pieces.append((lo, first_bad))
            if y <= hi:
                pieces.append((y, hi))
        result = pieces
    return result


def _starts_and(a: Starts, b: Starts) -> Starts:
    result = []
    for a_lo, a_hi in a:
        for b_lo, b_hi in b:
            lo, hi = max(a_lo, b_lo), min(a_hi, b_hi)
            if lo <= hi:
                result.append((lo, hi))
    return sorted(result)


def _starts_or(parts: Sequence[Starts]) -> Starts:
    merged: Starts = []
    for lo, hi in sorted(x for part in parts for x in part):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def _contains(starts: Starts, at: datetime) -> bool:
    return any(lo <= at <= hi for lo, hi in starts)


@dataclass
class _Search:
    """Everything the search loads once for all days (a fixed number of queries)."""

    need: Need
    order: Any
    rooms: list[Room]
    devices: dict[UUID, list[Device]]
    days: list[date]
    room_cal: dict[tuple[UUID, date], list[Window]]
    device_cal: dict[tuple[UUID, date], list[Window]]
    busy: dict[tuple[str, UUID], list[Window]]
    templates: dict[tuple[UUID, int], list[tuple[time, time, str, bool]]]
    interpreters: list[Interpreter]
    interpreter_cal: dict[tuple[UUID, date], list[Window]]
    staff_by_id: dict[UUID, StaffMember] = field(default_factory=dict)


def _busy_map(
    rooms: list[Room],
    devices: list[Device],
    staff_ids: list[UUID],
    interpreter_ids: list[UUID],
    lo: datetime,
    hi: datetime,
    order: Any,
) -> dict[tuple[str, UUID], list[Window]]:
    """Live reservations by resource, the order's own exam and holds left out."""
    rows = Reservation.objects.filter(_live(), start__lt=hi, end__gt=lo).filter(
        Q(room_id__in=[r.pk for r in rooms])
        | Q(device_id__in=[d.pk for d in devices])
        | Q(staff_id__in=staff_ids)
        | Q(interpreter_id__in=interpreter_ids)
    )
    exam = getattr(order, "exam", None)
    if exam is not None:
        rows = rows.exclude(exam_id=exam.pk)
    rows = rows.exclude(hold__order_id=order.pk)
    busy: dict[tuple[str, UUID], list[Window]] = defaultdict(list)
    for values in rows.values_list(
        "room_id", "device_id", "staff_id", "interpreter_id", "start", "end"
    ):
        start, end = values[4], values[5]
        for kind, pk in zip(RESOURCES, values[:4], strict=True):
            if pk is not None:
                busy[(kind, pk)].append((start, end))
    return {key: av.union(value) for key, value in busy.items()}


def _templates(rooms: list[Room], exam_type: ExamType) -> dict[tuple[UUID, int], Any]:
    result: dict[tuple[UUID, int], list[tuple[time, time, str, bool]]] = defaultdict(list)
    blocks = BookingTemplate.objects.filter(room__in=rooms).prefetch_related("exam_types")
    for block in blocks:
        types = {t.pk for t in block.exam_types.all()}
        mine = not types or exam_type.pk in types
        result[(block.room_id, block.weekday)].append((block.starts, block.ends, block.label, mine))
    return result


def _days(earliest: datetime, latest: datetime, zone: ZoneInfo) -> list[date]:
    first = earliest.astimezone(zone).date()
    last = latest.astimezone(zone).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _band(start: datetime, zone: ZoneInfo) -> str:
    hour = start.astimezone(zone).hour
    return next(name for name, (lo, hi) in BANDS.items() if lo <= hour < hi)


def _pick(
    candidates: Sequence[Any],
    starts_of: Callable[[Any], Starts],
    at: datetime,
) -> Any:
    for candidate in candidates:
        if _contains(starts_of(candidate), at):
            return candidate
    return None


def slot_find(
    *,
    order: Any,
    earliest: datetime | None = None,
    latest: datetime | None = None,
    site: Any = None,
    preferred_time: str | None = None,
    limit: int = 10,
    windows: Sequence[Window] | None = None,
) -> list[SlotOption]:
    """Ranked options for ``order``: a room (and its device), a qualified performer on shift and,
    when the patient needs one, an interpreter, all free for the whole exam.

    ``site`` limits the search to one site; ``windows`` are the patient's availability (the exam
    must fit inside one); fasting (NPO) exams start by ``SCHEDULING_NPO_LATEST_START``. The
    score is explained in the module docstring and, per option, in ``why``.
    """
    if preferred_time is not None and preferred_time not in BANDS:
        raise ValidationFailed({"preferred_time": [f"Choose one of {', '.join(BANDS)} (or none)."]})
    for name, value in (("earliest", earliest), ("latest", latest)):
        if value is not None and timezone.is_naive(value):
            raise ValidationFailed({name: ["The time must carry a time zone."]})
    for window in windows or ():
        if timezone.is_naive(window[0]) or timezone.is_naive(window[1]):
            raise ValidationFailed({"windows": ["Availability times must carry a time zone."]})
    need = Need.of(order)
    now = timezone.now()
    lead = transport_lead() if need.inpatient else 0
    earliest = max(earliest or now, now + timedelta(minutes=lead))
    latest = latest or earliest + timedelta(days=search_days())
    if latest <= earliest:
        return []
    zone = av.department_zone()
    all_days = _days(earliest, latest, zone)

    elig = exam_eligibility(
        exam_type=need.exam_type,
        patient_class=need.patient_class,
        on=all_days[0],
        site=site,
        with_reasons=False,
    )
    rooms = elig.rooms
    if not rooms:
        return []
    devices = {room.pk: elig.devices_in(room) for room in rooms}
    all_devices = [d for ds in devices.values() for d in ds]
    for device in all_devices:
        device.room = next(r for r in rooms if r.pk == device.room_id)
    room_cal = av.rooms_calendar(rooms, all_days)
    device_cal = av.devices_calendar(all_devices, all_days, room_cal)
    interpreters: list[Interpreter] = []
    interpreter_cal: dict[tuple[UUID, date], list[Window]] = {}
    if need.language:
        interpreters, interpreter_cal = av.interpreters_calendar(need.language, all_days)
        if not interpreters:
            return []
    staff_by_day = _performers_by_day(need.exam_type, all_days, elig.staff)
    everyone = {s.pk: s for day in staff_by_day.values() for s in day}
    # Working time counts at the room's site: one calendar per site searched.
    sites = {room.site_id: room.site for room in rooms}
    staff_cal = {
        site_id: av.staff_calendar(list(everyone), all_days, where)
        for site_id, where in sites.items()
    }
    lo = av.day_bounds(all_days[0], zone)[0] - timedelta(days=1)
    hi = av.day_bounds(all_days[-1], zone)[1] + timedelta(days=1)
    search = _Search(
        need=need,
        order=order,
        rooms=rooms,
        devices=devices,
        days=all_days,
        room_cal=room_cal,
        device_cal=device_cal,
        busy=_busy_map(
            rooms, all_devices, list(everyone), [i.pk for i in interpreters], lo, hi, order
        ),
        templates=_templates(rooms, need.exam_type),
        interpreters=interpreters,
        interpreter_cal=interpreter_cal,
        staff_by_id=everyone,
    )
    preferred_site = getattr(order, "site", None)
    options: list[SlotOption] = []
    for index, on in enumerate(all_days):
        # Best score a later day can still reach: stop once ``limit`` options beat it.
        ceiling = 100 + BONUS_TEMPLATE - W_WAIT_PER_DAY * max(0, index - 1)
        if len(options) >= limit and sorted(o.score for o in options)[-limit] > ceiling:
            break
        options.extend(
            _day_options(
                search,
                on=on,
                staff=staff_by_day[on],
                staff_cal=staff_cal,
                earliest=earliest,
                latest=latest,
                windows=windows,
                preferred_site=preferred_site,
                preferred_time=preferred_time,
            )
        )
    options.sort(key=lambda o: (-o.score, o.start, o.room.code))
    chosen = options[:limit]
    if chosen:
        first = min(o.start for o in options)
        chosen = [
            replace(o, why=o.why[:-1] + "; the earliest free time found.")
            if o.start == first
            else o
            for o in chosen
        ]
    return chosen


def _performers_by_day(
    exam_type: ExamType, days: list[date], first: list[StaffMember]
) -> dict[date, list[StaffMember]]:
    """Who may perform the exam type on each day, in two evaluations for any number of days.

    A credential and a competency sign-off are each valid over one stretch of days, so a person
    eligible on the first and the last day is taken as eligible in between (a gap between an
    expiry and a renewal is still refused when booking, which checks the exact day). People
    eligible at one end only are checked day by day.
    """
    if len(days) == 1:
        return {days[0]: first}
    last = eligible_performers(exam_type=exam_type, on=days[-1])
    first_ids, last_ids = {s.pk for s in first}, {s.pk for s in last}
    steady = [s for s in first if s.pk in last_ids]
    changing = {s.pk: s for s in [*first, *last] if (s.pk in first_ids) != (s.pk in last_ids)}
    result: dict[date, list[StaffMember]] = {}
    for on in days:
        extra = []
        if changing:
            extra = [
                s
                for s in changing.values()
                if staff_problem(staff=s, exam_type=exam_type, on=on) is None
            ]
        result[on] = sorted(
            [*steady, *extra], key=lambda s: (s.family_name, s.given_name, s.employee_number)
        )
    return result


def _day_options(
    search: _Search,
    *,
    on: date,
    staff: list[StaffMember],
    staff_cal: dict[UUID, dict[tuple[UUID, date], list[Window]]],
    earliest: datetime,
    latest: datetime,
    windows: Sequence[Window] | None,
    preferred_site: Any,
    preferred_time: str | None,
) -> list[SlotOption]:
    need = search.need
    duration = need.duration
    room_length = duration + need.turnover
    bounds: Starts = [(_ceil(earliest), av.add_minutes(latest, -duration))]
    patient: Starts | None = _starts_within(windows, duration) if windows is not None else None

    site_cal: dict[tuple[UUID, date], list[Window]] = {}

    def staff_starts(member: StaffMember) -> Starts:
        free = _starts_within(site_cal.get((member.pk, on), []), duration)
        return _starts_minus(free, search.busy.get(("staff", member.pk), []), duration)

    def device_starts(device: Device) -> Starts:
        free = _starts_within(search.device_cal.get((device.pk, on), []), duration)
        return _starts_minus(free, search.busy.get(("device", device.pk), []), duration)

    def interpreter_starts(interpreter: Interpreter) -> Starts:
        free = _starts_within(search.interpreter_cal.get((interpreter.pk, on), []), duration)
        return _starts_minus(free, search.busy.get(("interpreter", interpreter.pk), []), duration)

    if not staff:
        return []
    staff_any_at: dict[UUID, Starts] = {}
    interp_any: Starts | None = None
    if need.language:
        interp_any = _starts_or([interpreter_starts(i) for i in search.interpreters])
        if not interp_any:
            return []

    options: list[SlotOption] = []
    for room in search.rooms:
        zone = av.site_zone(room.site)
        open_windows = search.room_cal.get((room.pk, on), [])
        if not open_windows:
            continue
        site_cal = staff_cal[room.site_id]
        if room.site_id not in staff_any_at:
            staff_any_at[room.site_id] = _starts_or([staff_starts(m) for m in staff])
        staff_any = staff_any_at[room.site_id]
        if not staff_any:
            continue
        room_busy = search.busy.get(("room", room.pk), [])
        starts = _starts_minus(_starts_within(open_windows, duration), room_busy, room_length)
        starts = _starts_and(starts, bounds)
        if need.prep == Prep.NPO:
            cutoff = av.local_at(on, npo_latest_start(), zone)
            starts = _starts_and(starts, [(av.day_bounds(on, zone)[0], cutoff)])
        if patient is not None:
            starts = _starts_and(starts, patient)
        room_devices = search.devices.get(room.pk, [])
        if room_devices:
            starts = _starts_and(starts, _starts_or([device_starts(d) for d in room_devices]))
        starts = _starts_and(starts, staff_any)
        if interp_any is not None:
            starts = _starts_and(starts, interp_any)
        if not starts:
            continue
        blocks = search.templates.get((room.pk, on.weekday()), [])
        foreign = [
            (av.local_at(on, a, zone), av.local_at(on, b, zone), label)
            for a, b, label, mine in blocks
            if not mine
        ]
        own = [
            (av.local_at(on, a, zone), av.local_at(on, b, zone), label)
            for a, b, label, mine in blocks
            if mine
        ]
        free_of_blocks = _starts_minus(starts, [(a, b) for a, b, _ in foreign], duration)
        use_blocks = not free_of_blocks
        pool = starts if use_blocks else free_of_blocks
        picks: list[datetime] = []
        for lo_, hi_ in pool:
            first, last = _ceil(lo_), _floor(hi_)
            if first <= hi_:
                picks.append(first)
            if last >= lo_ and last != first:
                picks.append(last)
            if preferred_time is not None:
                band_from = av.local_at(on, time(BANDS[preferred_time][0]), zone)
                band_at = _ceil(max(lo_, band_from))
                if band_at <= hi_ and band_at not in picks:
                    picks.append(band_at)
        room_free = av.subtract(open_windows, room_busy)
        scored: list[SlotOption] = []
        for start in sorted(set(picks)):
            end = av.add_minutes(start, duration)
            member = _pick(staff, staff_starts, start)
            device = _pick(room_devices, device_starts, start) if room_devices else None
            interpreter = (
                _pick(search.interpreters, interpreter_starts, start) if need.language else None
            )
            if member is None or (room_devices and device is None):
                continue
            if need.language and interpreter is None:
                continue
            in_foreign = next((label for a, b, label in foreign if start < b and end > a), "")
            in_own = next((label for a, b, label in own if a <= start and end <= b), "")
            scored.append(
                _score(
                    search,
                    room=room,
                    start=start,
                    end=end,
                    zone=zone,
                    device=device,
                    staff=member,
                    interpreter=interpreter,
                    earliest=earliest,
                    room_free=room_free,
                    preferred_site=preferred_site,
                    preferred_time=preferred_time,
                    foreign_block=in_foreign,
                    own_block=in_own,
                )
            )
        scored.sort(key=lambda o: (-o.score, o.start))
        options.extend(scored[:2])
    return options


def _score(
    search: _Search,
    *,
    room: Room,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    device: Device | None,
    staff: StaffMember,
    interpreter: Interpreter | None,
    earliest: datetime,
    room_free: list[Window],
    preferred_site: Any,
    preferred_time: str | None,
    foreign_block: str,
    own_block: str,
) -> SlotOption:
    need = search.need
    score = 100.0
    why: list[str] = [f"{start.astimezone(zone):%a %d %b %H:%M} in {room.name} ({room.site.code})"]
    wait_days = max(0.0, (start - earliest).total_seconds() / 86400)
    score -= W_WAIT_PER_DAY * wait_days
    if preferred_site is not None:
        if room.site_id == preferred_site.pk:
            why.append("at the preferred site")
        else:
            score -= W_SITE
            why.append(f"not at the preferred site ({preferred_site.code})")
    if preferred_time is not None:
        if _band(start, zone) == preferred_time:
            why.append(f"in the {preferred_time} as preferred")
        else:
            score -= W_TIME
            why.append(f"not in the {preferred_time}")
    room_end = av.add_minutes(end, need.turnover)
    window = next(((a, b) for a, b in room_free if a <= start and end <= b), None)
    if window is not None:
        useful = min_useful_gap()
        gaps = [
            (start - window[0]).total_seconds() / 60,
            max(0.0, (window[1] - room_end).total_seconds() / 60),
        ]
        wasted = [g for g in gaps if 0 < g < useful]
        penalty = min(MAX_FRAGMENTATION, W_GAP_MINUTE * sum(wasted) + W_GAP_SPLIT * len(wasted))
        score -= penalty
        if not wasted:
            if gaps[0] == 0 or gaps[1] == 0:
                why.append("fits against the next booking or the opening edge (no gap left)")
            else:
                why.append("the gaps left before and after are long enough to use")
        else:
            why.append(f"leaves {int(sum(wasted))} min too short to use")
    if own_block:
        score += BONUS_TEMPLATE
        why.append(f"in the {own_block} block")
    if foreign_block:
        score -= W_FOREIGN_TEMPLATE
        why.append(f"in the {foreign_block} block (no other time left that day)")
    if need.prep == Prep.NPO:
        why.append("a morning slot for the fasting prep")
    if interpreter is not None:
        why.append(f"interpreter {interpreter.name}")
    return SlotOption(
        start=start.astimezone(UTC),
        end=end.astimezone(UTC),
        room=room,
        device=device,
        staff=staff,
        interpreter=interpreter,
        score=round(score, 1),
        why="; ".join(why) + ".",
    )


# --- checking one booking ----------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    start: datetime
    end: datetime
    room: Room
    device: Device | None
    staff: StaffMember | None
    interpreter: Interpreter | None
    pickup: datetime | None
    turnover: int

    def claims(self) -> list[Claim]:
        return claims_for(
            room=self.room,
            start=self.start,
            end=self.end,
            turnover=self.turnover,
            staff=self.staff,
            device=self.device,
            interpreter=self.interpreter,
        )


def _window_text(windows: Sequence[Window], zone: ZoneInfo) -> str:
    return ", ".join(f"{_span(a, b, zone)}" for a, b in windows)


def _inside(windows: Sequence[Window], start: datetime, end: datetime) -> bool:
    return any(a <= start and end <= b for a, b in windows)


def _free_in(kind: str, obj: models.Model, start: datetime, end: datetime, exam: Any) -> bool:
    rows = Reservation.objects.filter(
        _live(), **{f"{kind}_id": obj.pk}, start__lt=end, end__gt=start
    )
    if exam is not None:
        rows = rows.exclude(exam_id=exam.pk)
    return not rows.exists()


def _check_room(room: Room, need: Need, start: datetime, end: datetime) -> None:
    """Modality, capabilities, status, site closures, room closures, opening hours."""
    zone = av.site_zone(room.site)
    on = start.astimezone(zone).date()
    problems = room_problems(
        room, need.exam_type, required_capabilities(need.exam_type, need.patient_class)
    )
    if problems:
        raise ValidationFailed({"room": problems})
    closure = SiteClosure.objects.filter(site_id=room.site_id, date=on).first()
    if closure is not None:
        raise ValidationFailed(
            {"start": [f"{room.site.name} is closed on {on} ({closure.reason})."]}
        )
    shut = (
        RoomClosure.objects.filter(room=room, start__lt=end, end__gt=start)
        .order_by("start")
        .first()
    )
    if shut is not None:
        raise ValidationFailed(
            {
                "start": [
                    f"{room.name} is closed {_span(shut.start, shut.end, zone)} "
                    f"on {shut.start.astimezone(zone).date()} ({shut.reason})."
                ]
            }
        )
    hours = list(
        RoomOpeningHours.objects.filter(room=room, weekday=on.weekday()).values_list(
            "opens", "closes"
        )
    )
    windows = av.union((av.local_at(on, a, zone), av.local_at(on, b, zone)) for a, b in hours)
    if not _inside(windows, start, end):
        weekday = f"{on:%A}s"
        if not windows:
            text = f"{room.name} is not open on {weekday}."
        else:
            text = f"{room.name} is open {_window_text(windows, zone)} on {weekday}; "
            text += f"{_span(start, end, zone)} is outside its hours."
        raise ValidationFailed({"start": [text]})


def _choose_device(
    room: Room, device: Device | None, start: datetime, end: datetime, exam: Any
) -> Device | None:
    """The given device checked, or the room's first in-service device free at that time."""
    zone = av.site_zone(room.site)
    if device is not None:
        if device.room_id != room.pk:
            raise ValidationFailed({"device": [f"{device} is not in {room.name}."]})
        problem = device_problem(device)
        if problem:
            raise ValidationFailed({"device": [problem]})
        down = (
            DeviceDowntime.objects.filter(device=device, start__lt=end, end__gt=start)
            .order_by("start")
            .first()
        )
        if down is not None:
            raise ValidationFailed(
                {
                    "device": [
                        f"{device} is down {_span(down.start, down.end, zone)} "
                        f"on {down.start.astimezone(zone).date()} ({down.reason})."
                    ]
                }
            )
        return device
    room_devices = list(room.devices.all().order_by("serial_number"))
    if not room_devices:
        return None
    reasons = []
    usable = []
    for candidate in room_devices:
        problem = device_problem(candidate)
        if problem:
            reasons.append(problem)
            continue
        down = DeviceDowntime.objects.filter(device=candidate, start__lt=end, end__gt=start).first()
        if down is not None:
            reasons.append(
                f"{candidate} is down {_span(down.start, down.end, zone)} ({down.reason})."
            )
            continue
        if _free_in("device", candidate, start, end, exam):
            return candidate
        usable.append(candidate)
    if usable:
        return usable[0]  # booked then: the claim names the clash as "slot taken"
    raise ValidationFailed({"device": [f"No device of {room.name} can be used:", *reasons]})


def _check_staff(
    staff: StaffMember, need: Need, room: Room, start: datetime, end: datetime
) -> None:
    zone = av.site_zone(room.site)
    on = start.astimezone(zone).date()
    problem = staff_problem(staff=staff, exam_type=need.exam_type, on=on)
    if problem:
        raise ValidationFailed({"staff": [problem]})
    windows = av.staff_windows(staff_ids=[staff.pk], on=on, site=room.site)[staff.pk]
    if not _inside(windows, start, end):
        if not windows:
            text = f"{staff} is not working at {room.site.name} on {on}."
        else:
            text = (
                f"{staff} works {_window_text(windows, zone)} at {room.site.name} on {on}; "
                f"{_span(start, end, zone)} is outside that."
            )
        raise ValidationFailed({"staff": [text]})


def _choose_interpreter(
    need: Need, interpreter: Interpreter | None, start: datetime, end: datetime, exam: Any
) -> Interpreter | None:
    if not need.language:
        return interpreter
    zone = av.department_zone()
    on = start.astimezone(zone).date()
    windows = av.interpreter_windows(language=need.language, on=on)
    if interpreter is not None:
        if not interpreter.active or not interpreter.speaks(need.language):
            raise ValidationFailed(
                {"interpreter": [f"{interpreter.name} does not interpret {need.language}."]}
            )
        if not _inside(windows.get(interpreter.pk, []), start, end):
            raise ValidationFailed(
                {
                    "interpreter": [
                        f"{interpreter.name} is not available {_span(start, end, zone)} on {on}."
                    ]
                }
            )
        return interpreter
    found = Interpreter.objects.filter(pk__in=list(windows)).order_by("name")
    for candidate in found:
        if _inside(windows[candidate.pk], start, end) and _free_in(
            "interpreter", candidate, start, end, exam
        ):
            return candidate
    raise ValidationFailed(
        {
            "interpreter": [
                f"The patient needs a {need.language} interpreter and none is free "
                f"{_span(start, end, zone)} on {on}; choose another time."
            ]
        }
    )


def _check_exam(exam: Any) -> None:
    state = ExamState(exam.state)
    if state in ENDED:
        when = exam.cancelled_at or exam.no_show_at or exam.discontinued_at
        day = f" on {timezone.localtime(when):%Y-%m-%d}" if when else ""
        raise Conflict(
            f"Exam {exam.accession_number} was {state.value.replace('_', ' ')}{day}; "
            "it cannot be booked. Place a new order instead.",
            field="exam",
            code="exam_closed",
        )


def plan_booking(
    *,
    exam: Any,
    room: Room,
    start: datetime,
    staff: StaffMember | None = None,
    device: Device | None = None,
    interpreter: Interpreter | None = None,
    keep_staff: bool = False,
) -> Plan:
    """Every calendar and eligibility rule of one booking, checked; the resources chosen.

    Nothing is written. Raises ``ValidationFailed`` / ``Conflict`` naming what is wrong. With
    ``keep_staff`` and no ``staff`` the exam's technologist is kept when still possible, else a
    free qualified person on shift is chosen (a move on the board).
    """
    _check_exam(exam)
    if timezone.is_naive(start):
        raise ValidationFailed({"start": ["The start time must carry a time zone."]})
    if start < timezone.now():
        raise ValidationFailed({"start": ["A new booking cannot start in the past."]})
    order = exam.order
    need = Need.of(order)
    start = start.astimezone(UTC)
    end = av.add_minutes(start, need.duration)
    zone = av.site_zone(room.site)
    _check_room(room, need, start, end)
    if need.prep == Prep.NPO:
        cutoff = npo_latest_start()
        if start.astimezone(zone).time() > cutoff:
            raise ValidationFailed(
                {
                    "start": [
                        f"{need.exam_type.name} needs fasting (NPO): book it to start by "
                        f"{cutoff:%H:%M}."
                    ]
                }
            )
    chosen_device = _choose_device(room, device, start, end, exam)
    if staff is not None:
        _check_staff(staff, need, room, start, end)
    elif keep_staff:
        staff = _keep_or_find_staff(exam, need, room, start, end)
    chosen_interpreter = _choose_interpreter(need, interpreter, start, end, exam)
    pickup = av.add_minutes(start, -transport_lead()) if need.inpatient else None
    return Plan(
        start=start,
        end=end,
        room=room,
        device=chosen_device,
        staff=staff,
        interpreter=chosen_interpreter,
        pickup=pickup,
        turnover=need.turnover,
    )


def _keep_or_find_staff(
    exam: Any, need: Need, room: Room, start: datetime, end: datetime
) -> StaffMember | None:
    current = exam.technologist
    if current is not None:
        try:
            _check_staff(current, need, room, start, end)
        except ValidationFailed:
            pass
        else:
            if _free_in("staff", current, start, end, exam):
                return current  # type: ignore[no-any-return]
    on = start.astimezone(av.site_zone(room.site)).date()
    elig = exam_eligibility(
        exam_type=need.exam_type, patient_class=need.patient_class, on=on, with_reasons=False
    )
    windows = av.staff_windows(staff_ids=[s.pk for s in elig.staff], on=on, site=room.site)
    for member in elig.staff:
        if _inside(windows[member.pk], start, end) and _free_in("staff", member, start, end, exam):
            return member
    return None


# --- the services ------------------------------------------------------------------------------


def _retrying(run: Callable[[], T]) -> T:
    """Run a write, retrying while SQLite reports its lock busy.

    A file database waits on its busy timeout; the shared-cache in-memory database the tests use
    answers "table is locked" at once instead. Only the outermost call retries (inside a
    caller's transaction the lock is already held).
    """
    attempts = 0
    while True:
        try:
            return run()
        except OperationalError as exc:
            locked = "locked" in str(exc)
            if not locked or connection.in_atomic_block or attempts >= 400:
                raise
            attempts += 1
            time_module.sleep(0.005 + 0.001 * (attempts % 20))


def _with_options(order: Any, start: datetime, run: Callable[[], T]) -> T:
    """Run ``run``; a ``slot_taken`` conflict leaves with fresh options (searched afterwards,
    outside the transaction that failed)."""
    try:
        return _retrying(run)
    except Conflict as exc:
        if exc.code != "slot_taken":
            raise
        day_start = max(start - timedelta(hours=12), timezone.now())
        exc.options = _retrying(  # type: ignore[attr-defined]
            lambda: slot_find(order=order, earliest=day_start, limit=5)
        )
        raise


def _plan_details(plan: Plan) -> dict[str, Any]:
    return {
        "device": plan.device.serial_number if plan.device else "",
        "staff": plan.staff.employee_number if plan.staff else "",
        "interpreter": plan.interpreter.name if plan.interpreter else "",
        "transport_pickup_at": plan.pickup.isoformat() if plan.pickup else "",
    }


def appointment_book(
    *,
    exam: Any,
    by: Any,
    room: Room,
    start: datetime,
    staff: StaffMember | None = None,
    device: Device | None = None,
    interpreter: Interpreter | None = None,
    hold: Hold | None = None,
    override_reason: str = "",
) -> Any:
    """Book the exam: room (its device), performer and interpreter in one transaction.

    Every rule is checked first (opening hours, closures, eligibility, working time, prep,
    interpreter); the exam then moves to ``scheduled`` through ``exams.services.exam_schedule``,
    which reserves the time. ``hold`` (the order's own) is converted: its reservations end as the
    exam's begin.
    """
    requested_at = timezone.now()

    @transaction.atomic
    def run() -> Any:
        from radflow.exams import services as exam_services

        locked = type(exam).objects.select_for_update().select_related("order").get(pk=exam.pk)
        if hold is not None:
            _check_hold(hold, locked.order)
        plan = plan_booking(
            exam=locked,
            room=room,
            start=start,
            staff=staff,
            device=device,
            interpreter=interpreter,
        )
        return exam_services.exam_schedule(
            exam=locked,
            by=by,
            room=room,
            start=plan.start,
            technologist=plan.staff,
            device=plan.device,
            interpreter=plan.interpreter,
            transport_pickup_at=plan.pickup,
            hold=hold,
            override_reason=override_reason,
            requested_at=requested_at,
        )

    return _with_options(exam.order, start, run)


def _check_hold(hold: Hold, order: Any) -> None:
    if hold.order_id != order.pk:
        raise ValidationFailed({"hold": ["That hold was made for another order."]})
    if hold.released_at is not None or hold.expires_at <= timezone.now():
        raise Conflict(
            "The hold has expired; search again and book a free slot.",
            field="hold",
            code="hold_expired",
        )


def appointment_move(
    *,
    exam: Any,
    by: Any,
    room: Room,
    start: datetime,
    staff: StaffMember | None = None,
    device: Device | None = None,
    reason_code: str = "",
    reason: str = "",
    notify: bool = True,
) -> Any:
    """Move a booked exam (another time and/or room) through ``exams.services.exam_reschedule``.

    Without ``staff`` the exam's technologist is kept when still qualified, working and free,
    else another qualified person free then is chosen (none: the exam goes without). ``notify``
    is recorded on the transition for the outbox (the patient must be told of a time change).
    """
    requested_at = timezone.now()

    @transaction.atomic
    def run() -> Any:
        from radflow.exams import services as exam_services

        locked = (
            type(exam)
            .objects.select_for_update(of=("self",))
            .select_related("order", "technologist", "booked_interpreter")
            .get(pk=exam.pk)
        )
        interpreter = locked.booked_interpreter
        if interpreter is not None:
            need = Need.of(locked.order)
            end = av.add_minutes(start, need.duration)
            on = start.astimezone(av.department_zone()).date()
            hours = av.interpreter_windows(language=need.language or "", on=on)
            if not _inside(hours.get(interpreter.pk, []), start, end) or not _free_in(
                "interpreter", interpreter, start, end, locked
            ):
                interpreter = None  # another interpreter is chosen if one is free
        plan = plan_booking(
            exam=locked,
            room=room,
            start=start,
            staff=staff,
            device=device,
            interpreter=interpreter,
            keep_staff=staff is None,
        )
        return exam_services.exam_reschedule(
            exam=locked,
            by=by,
            room=room,
            start=plan.start,
            reason_code=reason_code,
            reason=reason,
            technologist=plan.staff,
            device=plan.device,
            interpreter=plan.interpreter,
            transport_pickup_at=plan.pickup,
            requested_at=requested_at,
            details={"notify": notify, **_plan_details(plan)},
        )

    return _with_options(exam.order, start, run)


def appointment_cancel(*, exam: Any, by: Any, reason_code: str, reason: str = "") -> Any:
    """Cancel with a coded reason; the exam's reservations are released with the transition."""
    from radflow.exams import services as exam_services

    return _retrying(
        lambda: exam_services.exam_cancel(exam=exam, by=by, reason_code=reason_code, reason=reason)
    )


def slot_hold(*, order: Any, option: SlotOption, by: Any, minutes: int = 10) -> Hold:
    """Keep ``option`` for ``order`` for ``minutes``: its resources are reserved until then.

    The option is checked again (it may be stale); a clash is the same ``slot_taken``.
    """
    if minutes < 1 or minutes > 60:
        raise ValidationFailed({"minutes": ["A hold lasts 1 to 60 minutes."]})
    requested_at = timezone.now()

    @transaction.atomic
    def run() -> Hold:
        exam = getattr(order, "exam", None)
        if exam is None:
            raise ValidationFailed({"order": ["The order has no exam to book."]})
        _check_exam(exam)
        plan = plan_booking(
            exam=exam,
            room=option.room,
            start=option.start,
            staff=option.staff,
            device=option.device,
            interpreter=option.interpreter,
        )
        user = getattr(by, "user", by)
        hold = Hold.objects.create(
            order=order,
            expires_at=timezone.now() + timedelta(minutes=minutes),
            created_by=user if getattr(user, "pk", None) else None,
        )
        claim(claims=plan.claims(), hold=hold, requested_at=requested_at)
        return hold

    return _with_options(order, option.start, run)


def option_from(
    *,
    order: Any,
    room: Room,
    start: datetime,
    staff: StaffMember | None = None,
    device: Device | None = None,
    interpreter: Interpreter | None = None,
) -> SlotOption:
    """An option named by ids (API, HL7): checked like a booking, scored neutrally."""
    exam = order.exam
    plan = plan_booking(
        exam=exam, room=room, start=start, staff=staff, device=device, interpreter=interpreter
    )
    return SlotOption(
        start=plan.start,
        end=plan.end,
        room=room,
        device=plan.device,
        staff=plan.staff,
        interpreter=plan.interpreter,
        score=0.0,
        why="Chosen by hand.",
    )


def next_free_start(after: datetime) -> datetime:
    """The next grid point at or after ``after`` (helpers for pages)."""
    return _ceil(after)


__all__ = [
    "Claim",
    "Need",
    "Plan",
    "SlotOption",
    "appointment_book",
    "appointment_cancel",
    "appointment_move",
    "claim",
    "claims_for",
    "free_device",
    "hold_release_expired",
    "next_free_start",
    "option_from",
    "plan_booking",
    "release_expired_holds",
    "release_for_exam",
    "slot_find",
    "slot_hold",
]
