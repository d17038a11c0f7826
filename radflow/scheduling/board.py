"""Reads for the schedule board: one site's day with rooms as columns, and one room's week.

Positions are real minutes from the local midnight that starts the day, in the site's time zone,
so a daylight-saving change day is 23 or 25 hours long and an exam at 03:00 on the spring-forward
day sits two hours (not three) below midnight. Every aware datetime is turned into UTC before
subtracting: Python subtracts two datetimes that share a ``tzinfo`` by wall clock, not by
elapsed time, which is exactly the DST bug this avoids.

A board is a fixed number of queries whatever the number of rooms and exams (rooms, exams with
everything a block shows, the performers' credentials, closures, freed slots, the waitlist),
and ``board_version`` is two small aggregates so the board's poll can answer "unchanged" cheaply.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Exists, Max, OuterRef, Prefetch, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from radflow.audit.services import AccessSource, access_record
from radflow.catalog.models import Competency, ScreeningItem
from radflow.core.exam_states import ExamState
from radflow.credentials.rules import evaluate

# The credentials app answers "may this person perform this exam type" one exam type at a time;
# the board needs it for every (person, exam type) pair of a day in a fixed number of queries, so
# it uses the same loaders and the same rule (``evaluate``) directly.
from radflow.credentials.selectors import (
    _applicable,
    _held_competencies,
    _held_credentials,
    _requirements,
)
from radflow.exams.models import Exam, ExamTransition
from radflow.intake.models import ScreeningAnswer, ScreeningResult
from radflow.orders.models import Authorization, AuthStatus, OrderPatientClass, Priority
from radflow.patients.models import Patient
from radflow.scheduling.models import (
    DeviceDowntime,
    Room,
    RoomCapability,
    RoomClosure,
    RoomStatus,
    Site,
    SiteClosure,
)

Reader = AbstractBaseUser | AnonymousUser | None

S = ExamState
#: States shown on the board; the last two dimmed. Reported, signed and billed exams were
#: performed in their slot, so they show as completed.
ACTIVE_STATES = (S.SCHEDULED, S.ARRIVED, S.IN_PROGRESS)
DONE_STATES = (S.COMPLETED, S.REPORTED, S.SIGNED, S.BILLED)
DIMMED_STATES = (S.DISCONTINUED, S.NO_SHOW)
BOARD_STATES = (*ACTIVE_STATES, *DONE_STATES, *DIMMED_STATES)
#: What a booking may still be moved from (the services decide the rest).
MOVABLE_STATES = frozenset({S.SCHEDULED})
#: Warnings about the day ahead only matter before the exam begins (credentials: until it ends).
BEFORE_START = frozenset({S.SCHEDULED, S.ARRIVED})
#: The board shows this much of the day at least (local wall clock), widened to fit the rooms'
#: opening hours and every exam.
DEFAULT_FIRST_HOUR = 7
DEFAULT_LAST_HOUR = 19
#: Freed time shorter than this is not offered to the waitlist (nothing fits, it is turnover).
MIN_FREED_MINUTES = 10
#: No booking is longer than this: the lower bound that lets the (room, start) index answer
#: "what overlaps this day" without scanning the room's whole history.
LONGEST_EXAM = timedelta(hours=12)
#: How far back a cancellation or move counts as "recently freed" for the board's day.
FREED_LOOKBACK_DAYS = 30


# --- the day's time frame ----------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class DayFrame:
    """One local day of one site, as real minutes from its midnight."""

    day: date
    zone: ZoneInfo
    start: datetime  # local midnight, in UTC
    end: datetime  # the next local midnight, in UTC

    @property
    def minutes(self) -> int:
        """1440, or 1380 / 1500 on a daylight-saving change day."""
        return int((self.end - self.start).total_seconds() // 60)

    def minute_of(self, moment: datetime) -> int:
        return int((_utc(moment) - self.start).total_seconds() // 60)

    def at_minute(self, minute: int) -> datetime:
        return self.start + timedelta(minutes=minute)

    def wall(self, clock: time) -> int:
        """The minute at which the wall clock shows ``clock`` (the first time, on a fall-back)."""
        return self.minute_of(datetime.combine(self.day, clock, tzinfo=self.zone))

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def label(self, moment: datetime) -> str:
        return f"{self.local(moment):%H:%M}"


def site_zone(site: Site) -> ZoneInfo:
    return ZoneInfo(site.time_zone)


def day_frame(site: Site, day: date) -> DayFrame:
    zone = site_zone(site)
    start = _utc(datetime.combine(day, time.min, tzinfo=zone))
    end = _utc(datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone))
    return DayFrame(day=day, zone=zone, start=start, end=end)


def site_today(site: Site) -> date:
    return timezone.now().astimezone(site_zone(site)).date()


# --- what a block shows ------------------------------------------------------------------------


@dataclass(frozen=True)
class Warning:
    code: str
    text: str


@dataclass(frozen=True)
class Block:
    exam: Exam
    patient: Patient
    room_id: UUID
    #: Minutes from the top of the board (the first visible minute), and the length.
    top: int
    height: int
    #: Minutes from local midnight (real elapsed minutes): what tests and drag-and-drop read.
    minute: int
    start_label: str
    end_label: str
    status: str
    status_label: str
    priority: str
    priority_label: str
    dimmed: bool
    exam_type: str
    staff: str
    prep: str
    screening: str
    warnings: tuple[Warning, ...]
    movable: bool
    inpatient: bool
    detail_url: str = ""
    move_url: str = ""

    @property
    def warning_text(self) -> str:
        return "; ".join(w.text for w in self.warnings)


@dataclass(frozen=True)
class Shade:
    top: int
    height: int
    kind: str  # closed | closure | down
    label: str


@dataclass(frozen=True)
class HourMark:
    top: int
    label: str


@dataclass(frozen=True)
class FreedSlot:
    room: Room
    start: datetime
    end: datetime
    start_label: str
    end_label: str
    top: int
    height: int
    candidates: int

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


@dataclass
class Column:
    room: Room
    blocks: list[Block] = field(default_factory=list)
    shades: list[Shade] = field(default_factory=list)
    freed: list[FreedSlot] = field(default_factory=list)
    down: bool = False
    #: For the week view: the day this column is, and its label.
    day: date | None = None
    label: str = ""
    #: The blocks' HTML, filled in by the page (``board_html.column_html``).
    blocks_html: str = ""


@dataclass
class Board:
    site: Site
    frame: DayFrame
    first: int  # first visible minute (from local midnight)
    last: int
    columns: list[Column]
    hours: list[HourMark]
    rooms: list[Room]  # every room of the site (the filter's choices)
    modalities: list[tuple[str, str]]
    version: str
    freed: list[FreedSlot]
    closed: str = ""  # the site closure's reason, when the whole site is closed
    patients: list[Patient] = field(default_factory=list)

    @property
    def height(self) -> int:
        return self.last - self.first

    @property
    def blocks(self) -> list[Block]:
        return [block for column in self.columns for block in column.blocks]


# --- queries -----------------------------------------------------------------------------------


def _rooms(site: Site) -> list[Room]:
    return list(
        Room.objects.filter(site=site)
        .select_related("modality")
        .prefetch_related("opening_hours", Prefetch("capabilities", RoomCapability.objects.all()))
        .order_by("modality_id", "code")
    )


#: The columns a block reads (a board loads a hundred or more exams: each unused column costs).
BLOCK_FIELDS = (
    "id",
    "state",
    "accession_number",
    "room_id",
    "scheduled_start",
    "scheduled_end",
    "technologist_id",
    "pending_auth_at",
    "booked_interpreter_id",
    "transport_pickup_at",
    "order__id",
    "order__priority",
    "order__patient_class",
    "order__patient__id",
    "order__patient__mrn",
    "order__patient__family_name",
    "order__patient__given_name",
    "order__patient__middle_name",
    "order__patient__language",
    "order__patient__interpreter_needed",
    "order__exam_type__id",
    "order__exam_type__name",
    "order__exam_type__modality_id",
    "order__exam_type__prep_instructions",
    "technologist__id",
    "technologist__given_name",
    "technologist__family_name",
    "technologist__active",
    "prep_check__id",
    "prep_check__exam_id",
    "prep_check__prep_ok",
    "interpreter__id",
    "interpreter__exam_id",
)


def _exams(room_ids: Sequence[UUID], start: datetime, end: datetime, on: date) -> list[Exam]:
    """Every exam of these rooms overlapping [start, end), with all a block shows: one query
    plus four prefetches."""
    from radflow.interfaces.models import PerformedProcedureStep

    # Begun at the modality with intake stops unmet (MPPS), until the coordinator clears it.
    modality_flag = PerformedProcedureStep.objects.filter(exam=OuterRef("pk"), flagged=True)
    approved_on_day = Authorization.objects.filter(
        order=OuterRef("order"), status=AuthStatus.APPROVED
    ).filter(
        (Q(valid_from__isnull=True) | Q(valid_from__lte=on))
        & (Q(valid_to__isnull=True) | Q(valid_to__gte=on))
    )
    related = [
        "order",
        "order__patient",
        "order__exam_type",
        "technologist",
        "prep_check",
        "interpreter",
    ]
    return list(
        Exam.objects.filter(
            room_id__in=list(room_ids),
            state__in=[s.value for s in BOARD_STATES],
            scheduled_start__gte=start - LONGEST_EXAM,
            scheduled_start__lt=end,
            scheduled_end__gt=start,
        )
        .select_related(*related)
        .only(*BLOCK_FIELDS)
        .annotate(
            auth_approved=Exists(approved_on_day),
            auth_pending=Exists(
                Authorization.objects.filter(order=OuterRef("order"), status=AuthStatus.PENDING)
            ),
            auth_denied=Exists(
                Authorization.objects.filter(order=OuterRef("order"), status=AuthStatus.DENIED)
            ),
            mpps_missing=Subquery(modality_flag.order_by("-created_at").values("missing")[:1]),
        )
        .prefetch_related(
            Prefetch(
                "screening_answers",
                ScreeningAnswer.objects.only("id", "exam_id", "item_id", "result"),
            ),
            Prefetch("order__exam_type__required_screening", ScreeningItem.objects.only("code")),
            Prefetch(
                "order__exam_type__required_competencies",
                Competency.objects.only("code", "name"),
            ),
        )
        .order_by("scheduled_start", "accession_number")
    )


def performer_problems(
    exams: Iterable[Exam], *, on: date, day_of: Callable[[Exam], date] | None = None
) -> dict[UUID, tuple[str, ...]]:
    """Per exam, why its assigned performer may not perform it on ``on`` (or on ``day_of(exam)``):
    a missing or expired credential, a lapsed competency. Exams whose performer is fine are left
    out. Four queries."""
    checked = [
        e
        for e in exams
        if e.technologist_id is not None and e.state in (*BEFORE_START, S.IN_PROGRESS)
    ]
    if not checked:
        return {}
    staff_ids = {e.technologist_id for e in checked if e.technologist_id}
    requirements = _requirements()
    credentials = _held_credentials(staff_ids)
    signoffs = _held_competencies(staff_ids)
    problems: dict[UUID, tuple[str, ...]] = {}
    for exam in checked:
        staff = exam.technologist
        if staff is None:
            continue
        exam_type = exam.order.exam_type
        competencies = sorted(
            ((c.code, c.name) for c in exam_type.required_competencies.all()),
            key=lambda c: c[1],
        )
        verdict = evaluate(
            on=day_of(exam) if day_of is not None else on,
            active=staff.active,
            requirements=_applicable(
                requirements, exam_type.modality_id, {code for code, _ in competencies}
            ),
            credentials=credentials.get(staff.pk, []),
            competencies=competencies,
            signoffs=signoffs.get(staff.pk, {}),
        )
        if not verdict.ok:
            problems[exam.pk] = verdict.reasons
    return problems


# --- one block ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Links:
    """The exam page and move dialog addresses, reversed once per board instead of per block."""

    detail: str
    move: str

    @classmethod
    def make(cls) -> _Links:
        marker = UUID(int=0)

        def pattern(name: str) -> str:
            return reverse(name, kwargs={"pk": marker}).replace(str(marker), "{pk}")

        return cls(pattern("exams:detail"), pattern("scheduling:board_move"))

    def of(self, exam: Exam) -> tuple[str, str]:
        pk = str(exam.pk)
        return self.detail.replace("{pk}", pk), self.move.replace("{pk}", pk)


def _status(state: str) -> str:
    return S.COMPLETED.value if state in DONE_STATES else state


def _prep(exam: Exam) -> str:
    if not exam.order.exam_type.prep_instructions.strip():
        return ""
    check = getattr(exam, "prep_check", None) if hasattr(exam, "prep_check") else None
    if check is None:
        return "Prep to check"
    return "Prep OK" if check.prep_ok else "Prep not followed"


def _screening(exam: Exam) -> str:
    required = {item.code for item in exam.order.exam_type.required_screening.all()}
    answers = list(exam.screening_answers.all())
    if any(a.result == ScreeningResult.FAILED for a in answers):
        return "Screening failed"
    if not required:
        return ""
    answered = {a.item_id for a in answers}
    done = len(required & answered)
    return "Screened" if done == len(required) else f"Screening {done}/{len(required)}"


def _interpreter_warning(exam: Exam, patient: Patient) -> Warning | None:
    if not patient.interpreter_needed:
        return None
    if exam.booked_interpreter_id is not None:
        return None
    if hasattr(exam, "interpreter"):  # intake's log: an interpreter is with the patient already
        return None
    return Warning("interpreter", f"Interpreter ({patient.language.upper()}) needed, not booked")


def _transport_warning(exam: Exam, frame: DayFrame) -> Warning | None:
    if exam.order.patient_class != OrderPatientClass.INPATIENT:
        return None
    if exam.transport_pickup_at is None:
        return Warning("transport", "Inpatient: transport not booked")
    return Warning(
        "transport", f"Inpatient: transport pick-up {frame.label(exam.transport_pickup_at)}"
    )


def _auth_warning(exam: Exam) -> Warning | None:
    if exam.pending_auth_at is None or getattr(exam, "auth_approved", False):
        return None
    if getattr(exam, "auth_denied", False) and not getattr(exam, "auth_pending", False):
        return Warning("authorization", "Authorization denied")
    return Warning("authorization", "Authorization pending")


def _modality_warning(exam: Exam) -> Warning | None:
    missing = getattr(exam, "mpps_missing", None)
    if not missing or not isinstance(missing, list):
        return None
    codes = [str(item.get("code", "")) for item in missing if isinstance(item, dict)]
    return Warning("modality", "Begun at the modality: " + ", ".join(codes))


def _warnings(
    exam: Exam, patient: Patient, frame: DayFrame, problems: tuple[str, ...]
) -> tuple[Warning, ...]:
    found: list[Warning | None] = [_modality_warning(exam)]
    if problems:
        staff = str(exam.technologist)
        found.append(Warning("credential", f"{staff}: " + "; ".join(problems)))
    if exam.state in BEFORE_START:
        found += [
            _auth_warning(exam),
            _interpreter_warning(exam, patient),
            _transport_warning(exam, frame),
        ]
    return tuple(w for w in found if w is not None)


def _block(
    exam: Exam,
    frame: DayFrame,
    *,
    top_of: Callable[[datetime], int],
    first: int,
    problems: tuple[str, ...],
    links: _Links,
) -> Block:
    order = exam.order
    detail_url, move_url = links.of(exam)
    patient = order.patient
    start = exam.scheduled_start or frame.start
    end = exam.scheduled_end or start
    top = top_of(start)
    state = ExamState(exam.state)
    status = _status(exam.state)
    return Block(
        exam=exam,
        patient=patient,
        room_id=exam.room_id or UUID(int=0),
        top=max(0, top - first),
        height=max(5, top_of(end) - top),
        minute=top,
        start_label=frame.label(start),
        end_label=frame.label(end),
        status=status,
        status_label=ExamState(status).label,
        priority=order.priority,
        priority_label=Priority(order.priority).label,
        dimmed=state in DIMMED_STATES,
        exam_type=order.exam_type.name,
        staff=str(exam.technologist) if exam.technologist_id else "",
        prep=_prep(exam),
        screening=_screening(exam),
        warnings=_warnings(exam, patient, frame, problems),
        movable=state in MOVABLE_STATES,
        inpatient=order.patient_class == OrderPatientClass.INPATIENT,
        detail_url=detail_url,
        move_url=move_url,
    )


# --- shading: closed hours, closures, rooms down -----------------------------------------------


def _open_windows(room: Room, frame: DayFrame) -> list[tuple[int, int]]:
    weekday = frame.day.weekday()
    return sorted(
        (frame.wall(h.opens), frame.wall(h.closes))
        for h in room.opening_hours.all()
        if h.weekday == weekday
    )


def _closed_shades(windows: list[tuple[int, int]], minutes: int) -> list[Shade]:
    """The day outside the opening windows (``minutes`` long) as "closed" shades."""
    shades = []
    cursor = 0
    for opens, closes in windows:
        if opens > cursor:
            shades.append(Shade(cursor, opens - cursor, "closed", "Closed"))
        cursor = max(cursor, closes)
    if cursor < minutes:
        shades.append(Shade(cursor, minutes - cursor, "closed", "Closed"))
    return shades


def _closures(
    site: Site, rooms: Sequence[Room], frame: DayFrame
) -> tuple[str, dict[UUID, list[Shade]]]:
    """The site's closure reason for the day ("" when open) and, per room, its closures and its
    scanners' downtimes as shades. Three queries."""
    closure = SiteClosure.objects.filter(site=site, date=frame.day).first()
    by_room: dict[UUID, list[Shade]] = defaultdict(list)
    room_ids = [r.pk for r in rooms]

    def shade(room_id: UUID, start: datetime, end: datetime, kind: str, label: str) -> None:
        top = max(0, frame.minute_of(start))
        bottom = min(frame.minutes, frame.minute_of(end))
        if bottom > top:
            by_room[room_id].append(Shade(top, bottom - top, kind, label))

    for row in RoomClosure.objects.filter(
        room_id__in=room_ids, start__lt=frame.end, end__gt=frame.start
    ):
        shade(row.room_id, row.start, row.end, "closure", f"Closed: {row.reason}")
    downtimes = DeviceDowntime.objects.filter(
        device__room_id__in=room_ids, start__lt=frame.end, end__gt=frame.start
    ).values_list("device__room_id", "device__model_name", "start", "end", "reason")
    for room_id, model_name, start, end, reason in downtimes:
        shade(room_id, start, end, "down", f"{model_name} down: {reason}")
    return (closure.reason if closure is not None else ""), by_room


# --- freed slots -------------------------------------------------------------------------------


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _freed_intervals(
    rooms: Sequence[Room], frame: DayFrame
) -> dict[UUID, list[tuple[datetime, datetime]]]:
    """Time given back on this day: cancelled bookings, and bookings moved away (read from the
    reschedule rows of the exams' timelines). Two queries."""
    room_ids = [r.pk for r in rooms]
    by_code = {r.code: r.pk for r in rooms}
    freed: dict[UUID, list[tuple[datetime, datetime]]] = defaultdict(list)
    cancelled = Exam.objects.filter(
        room_id__in=room_ids,
        state=S.CANCELLED,
        scheduled_start__gte=frame.start - LONGEST_EXAM,
        scheduled_start__lt=frame.end,
        scheduled_end__gt=frame.start,
    ).values_list("room_id", "scheduled_start", "scheduled_end")
    for room_id, start, end in cancelled:
        if room_id is not None and start is not None and end is not None:
            freed[room_id].append((start, end))
    moves = ExamTransition.objects.filter(
        action="reschedule",
        at__gte=frame.start - timedelta(days=FREED_LOOKBACK_DAYS),
        at__lt=frame.end,
        details__from_room__in=list(by_code),
    ).values_list("details", "exam__scheduled_start", "exam__scheduled_end")
    for details, new_start, new_end in moves:
        from_room = by_code.get(details.get("from_room", ""))
        start = _parse(details.get("from_start"))
        if from_room is None or start is None:
            continue
        end = _parse(details.get("from_end"))
        if end is None and new_start is not None and new_end is not None:
            end = start + (new_end - new_start)  # same exam, same length
        if end is not None and start < frame.end and end > frame.start:
            freed[from_room].append((start, end))
    return freed


def _subtract(
    interval: tuple[datetime, datetime], busy: Iterable[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    pieces = [interval]
    for b_start, b_end in busy:
        next_pieces = []
        for start, end in pieces:
            if b_end <= start or b_start >= end:
                next_pieces.append((start, end))
                continue
            if b_start > start:
                next_pieces.append((start, b_start))
            if b_end < end:
                next_pieces.append((b_end, end))
        pieces = next_pieces
    return pieces


def _merge(intervals: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def freed_slots(
    *,
    rooms: Sequence[Room],
    frame: DayFrame,
    exams: Sequence[Exam],
    first: int,
    with_candidates: bool = True,
    now: datetime | None = None,
    blocked: dict[UUID, list[tuple[datetime, datetime]]] | None = None,
) -> list[FreedSlot]:
    """Freed time still free (no booking has taken it, not ``blocked`` by a closure or a room
    down) and not yet past, per room, with how many waitlist entries fit each piece."""
    from radflow.waitlist.selectors import open_entries, rank_candidates

    now = now or timezone.now()
    freed = _freed_intervals(rooms, frame)
    if not freed:
        return []
    busy: dict[UUID, list[tuple[datetime, datetime]]] = defaultdict(list)
    for room_id, spans in (blocked or {}).items():
        busy[room_id].extend(spans)
    for exam in exams:
        if exam.state in ACTIVE_STATES and exam.room_id and exam.scheduled_start:
            busy[exam.room_id].append((exam.scheduled_start, exam.scheduled_end or now))
    # Round "now" up to the next 5 minutes: a slot that already began cannot be offered whole.
    earliest = now + timedelta(minutes=(-now.minute) % 5, seconds=-now.second)
    entries = open_entries() if with_candidates else []
    slots = []
    for room in rooms:
        capabilities = [c.code for c in room.capabilities.all()]
        for interval in _merge(freed.get(room.pk, [])):
            start, end = max(interval[0], frame.start, earliest), min(interval[1], frame.end)
            if end <= start:
                continue
            for piece_start, piece_end in _subtract((start, end), busy.get(room.pk, [])):
                if (piece_end - piece_start) < timedelta(minutes=MIN_FREED_MINUTES):
                    continue
                count = len(
                    rank_candidates(
                        entries,
                        room=room,
                        capabilities=capabilities,
                        start=piece_start,
                        end=piece_end,
                        now=now,
                    )
                )
                top = frame.minute_of(piece_start)
                slots.append(
                    FreedSlot(
                        room=room,
                        start=piece_start,
                        end=piece_end,
                        start_label=frame.label(piece_start),
                        end_label=frame.label(piece_end),
                        top=max(0, top - first),
                        height=frame.minute_of(piece_end) - top,
                        candidates=count,
                    )
                )
    return sorted(slots, key=lambda s: (s.start, s.room.code))


# --- the day board -----------------------------------------------------------------------------


def board_version(*, site: Site, day: date) -> str:
    """A key that changes whenever anything the board shows changes: the day's exams (any
    state change, move in or out), the rooms (status), the waitlist and the closures."""
    frame = day_frame(site, day)
    rooms = sorted(Room.objects.filter(site=site).values_list("id", "updated_at"))
    exams = Exam.objects.filter(
        room_id__in=[pk for pk, _ in rooms],
        scheduled_start__gte=frame.start - LONGEST_EXAM,
        scheduled_start__lt=frame.end,
        scheduled_end__gt=frame.start,
    ).aggregate(n=Count("id"), last=Max("updated_at"))
    from radflow.waitlist.models import WaitlistEntry

    waitlist = WaitlistEntry.objects.aggregate(n=Count("id"), last=Max("updated_at"))
    parts = [
        site.pk,
        day,
        exams["n"],
        exams["last"],
        len(rooms),
        max((u for _, u in rooms), default=None),
    ]
    parts += [waitlist["n"], waitlist["last"], *_closure_version(site, frame)]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:20]


def _closure_version(site: Site, frame: DayFrame) -> list[Any]:
    rooms = RoomClosure.objects.filter(
        room__site=site, start__lt=frame.end, end__gt=frame.start
    ).aggregate(n=Count("id"), last=Max("id"))
    devices = DeviceDowntime.objects.filter(
        device__room__site=site, start__lt=frame.end, end__gt=frame.start
    ).aggregate(n=Count("id"), last=Max("id"))
    closed = SiteClosure.objects.filter(site=site, date=frame.day).values_list("id", flat=True)
    return [rooms["n"], rooms["last"], devices["n"], devices["last"], list(closed)]


def _hours(frame: DayFrame, first: int, last: int) -> list[HourMark]:
    """A mark at each real hour from midnight, labelled by the wall clock (so the spring-forward
    day has no 02:00 and the fall-back day has 01:00 twice)."""
    marks = []
    for minute in range(0, frame.minutes, 60):
        if first <= minute < last:
            marks.append(HourMark(minute - first, frame.label(frame.at_minute(minute))))
    return marks


def _visible_range(
    frame: DayFrame, windows: Iterable[tuple[int, int]], exams: Iterable[tuple[int, int]]
) -> tuple[int, int]:
    first = frame.wall(time(DEFAULT_FIRST_HOUR))
    last = frame.wall(time(DEFAULT_LAST_HOUR))
    for start, end in [*windows, *exams]:
        first, last = min(first, start), max(last, end)
    first = max(0, first - first % 60)
    last = min(frame.minutes, last + (-last) % 60)
    return first, last


def board_for(
    *,
    site: Site,
    day: date,
    modality: str = "",
    room_id: UUID | None = None,
    with_waitlist: bool = True,
    now: datetime | None = None,
    version: str | None = None,
) -> Board:
    """The day board of ``site``: the rooms (filtered by modality or one room) as columns.

    ``version`` is the ``board_version`` read before the board (so the board is at least as
    new as its version); it is read first here when not given."""
    version = version or board_version(site=site, day=day)
    frame = day_frame(site, day)
    all_rooms = _rooms(site)
    rooms = [
        r
        for r in all_rooms
        if (not modality or r.modality_id == modality) and (room_id is None or r.pk == room_id)
    ]
    exams = _exams([r.pk for r in rooms], frame.start, frame.end, day)
    problems = performer_problems(exams, on=day)
    windows = {room.pk: _open_windows(room, frame) for room in rooms}
    spans = [
        (frame.minute_of(e.scheduled_start), frame.minute_of(e.scheduled_end))
        for e in exams
        if e.scheduled_start and e.scheduled_end
    ]
    first, last = _visible_range(frame, [w for ws in windows.values() for w in ws], spans)
    site_closed, closures = _closures(site, rooms, frame)
    upcoming = day >= site_today(site)
    columns = []
    for room in rooms:
        down = upcoming and room.status != RoomStatus.IN_SERVICE
        shades = _closed_shades(windows[room.pk], frame.minutes) + closures.get(room.pk, [])
        if down:
            note = f": {room.status_note}" if room.status_note else ""
            shades.append(Shade(0, frame.minutes, "down", f"{room.get_status_display()}{note}"))
        if site_closed:
            shades.append(Shade(0, frame.minutes, "closure", f"Site closed: {site_closed}"))
        columns.append(Column(room=room, shades=_clip(shades, first, last), down=down))
    by_room = {column.room.pk: column for column in columns}
    links = _Links.make()
    for exam in exams:
        column = by_room.get(exam.room_id) if exam.room_id else None
        if column is not None:
            column.blocks.append(
                _block(
                    exam,
                    frame,
                    top_of=frame.minute_of,
                    first=first,
                    problems=problems.get(exam.pk, ()),
                    links=links,
                )
            )
    blocked = {
        column.room.pk: [
            (frame.at_minute(first + shade.top), frame.at_minute(first + shade.top + shade.height))
            for shade in column.shades
            if shade.kind != "closed"  # closures, site closures, rooms and scanners down
        ]
        for column in columns
    }
    freed = freed_slots(
        rooms=rooms,
        frame=frame,
        exams=exams,
        first=first,
        with_candidates=with_waitlist,
        now=now,
        blocked=blocked,
    )
    for slot in freed:
        by_room[slot.room.pk].freed.append(slot)
    modalities = sorted({(r.modality_id, r.modality.name) for r in all_rooms})
    return Board(
        site=site,
        frame=frame,
        first=first,
        last=last,
        columns=columns,
        hours=_hours(frame, first, last),
        rooms=all_rooms,
        modalities=modalities,
        version=version,
        freed=freed,
        closed=site_closed,
        patients=[e.order.patient for e in exams],
    )


def _clip(shades: Iterable[Shade], first: int, last: int) -> list[Shade]:
    """Shades cut to the visible range, positioned from its top."""
    clipped = []
    for shade in shades:
        top, bottom = max(shade.top, first), min(shade.top + shade.height, last)
        if bottom > top:
            clipped.append(Shade(top - first, bottom - top, shade.kind, shade.label))
    return clipped


def board_audited(
    *, user: Reader, source: AccessSource, action: str = "scheduling.board", **kwargs: Any
) -> Board:
    """``board_for`` plus one access-log row per patient it shows (one bulk insert).

    The reads run outside the audit's transaction on purpose: on SQLite a transaction takes the
    database's write lock at BEGIN, and holding it while a whole board is read would serialise
    every board of every user. The log is still written before anything is shown, so a board
    whose read cannot be logged is never sent.
    """
    board = board_for(**kwargs)
    access_record(user=user, patients=board.patients, action=action, source=source)
    return board


def site_for_board(code: str) -> Site | None:
    """The site named by ``code``, else the site with the most exams booked today."""
    if code:
        return Site.objects.filter(code=code).first()
    return busiest_site(on=timezone.localdate())


def busiest_site(*, on: date) -> Site | None:
    """The site with the most exams booked on ``on`` (department zone), else the first site."""
    start = timezone.make_aware(datetime.combine(on, time.min))
    end = timezone.make_aware(datetime.combine(on + timedelta(days=1), time.min))
    row = (
        Exam.objects.filter(room__isnull=False, scheduled_start__gte=start, scheduled_start__lt=end)
        .values("room__site")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    if row is not None:
        return Site.objects.filter(pk=row["room__site"]).first()
    return Site.objects.order_by("name").first()


# --- one room's week ---------------------------------------------------------------------------


@dataclass
class Week:
    room: Room
    start: date
    first: int
    last: int
    columns: list[Column]
    hours: list[HourMark]
    patients: list[Patient]

    @property
    def height(self) -> int:
        return self.last - self.first


def _clock_minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def room_week(*, room: Room, start: date) -> Week:
    """Seven days of one room. The days share one time axis, so here blocks sit at their wall
    clock time (a DST change only shifts the night hours, when rooms are closed); the day view
    is the one that counts real minutes."""
    frames = [day_frame(room.site, start + timedelta(days=i)) for i in range(7)]
    exams = _exams([room.pk], frames[0].start, frames[-1].end, start)
    zone = frames[0].zone
    problems = performer_problems(
        exams,
        on=start,
        day_of=lambda e: (e.scheduled_start or frames[0].start).astimezone(zone).date(),
    )
    hours = list(room.opening_hours.all())
    windows = [(_clock_minutes(h.opens), _clock_minutes(h.closes)) for h in hours]
    spans = []
    for exam in exams:
        if exam.scheduled_start and exam.scheduled_end:
            local_end = exam.scheduled_end.astimezone(zone)
            end = _clock_minutes(local_end.time()) or 24 * 60
            spans.append((_clock_minutes(exam.scheduled_start.astimezone(zone).time()), end))
    first = min([DEFAULT_FIRST_HOUR * 60, *(s for s, _ in windows + spans)])
    last = max([DEFAULT_LAST_HOUR * 60, *(e for _, e in windows + spans)])
    first, last = first - first % 60, min(24 * 60, last + (-last) % 60)
    columns = []
    links = _Links.make()
    for frame in frames:

        def wall(moment: datetime, frame: DayFrame = frame) -> int:
            local = frame.local(moment)
            if local.date() != frame.day:
                return 0 if local.date() < frame.day else 24 * 60
            return _clock_minutes(local.time())

        day_windows = sorted(
            (_clock_minutes(h.opens), _clock_minutes(h.closes))
            for h in hours
            if h.weekday == frame.day.weekday()
        )
        column = Column(
            room=room,
            shades=_clip(_closed_shades(day_windows, 24 * 60), first, last),
            day=frame.day,
            label=f"{frame.day:%a %d %b}",
        )
        for exam in exams:
            if exam.scheduled_start and frame.start <= _utc(exam.scheduled_start) < frame.end:
                column.blocks.append(
                    _block(
                        exam,
                        frame,
                        top_of=wall,
                        first=first,
                        problems=problems.get(exam.pk, ()),
                        links=links,
                    )
                )
        columns.append(column)
    return Week(
        room=room,
        start=start,
        first=first,
        last=last,
        columns=columns,
        hours=[HourMark(m - first, f"{m // 60:02d}:00") for m in range(first, last, 60)],
        patients=[e.order.patient for e in exams],
    )


def room_week_audited(*, user: Reader, source: AccessSource, room: Room, start: date) -> Week:
    """``room_week`` plus one access-log row per patient it shows (logged before it is shown,
    as ``board_audited`` explains)."""
    week = room_week(room=room, start=start)
    access_record(user=user, patients=week.patients, action="scheduling.board_week", source=source)
    return week


def room_for_week(room_id: UUID) -> Room | None:
    return (
        Room.objects.select_related("site", "modality")
        .prefetch_related("opening_hours")
        .filter(pk=room_id)
        .first()
    )
