"""Reads for day plans: the latest plan of a day, why a re-plan is suggested, a plan's review.

The board (``radflow.scheduling.board``) asks ``latest_run`` and ``replan_suggestion`` on every
load, so both are a handful of indexed queries.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils import timezone

from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam
from radflow.orders.models import Priority
from radflow.patients.models import Patient
from radflow.planning.models import DayPlanRun, PlanStatus
from radflow.planning.planning import READY_TO_BOOK, local_midnight
from radflow.scheduling.models import DeviceDowntime, Room, RoomClosure, RoomStatus, Site
from radflow.staff.models import StaffMember

#: Booked exams that a re-plan may still move.
MOVABLE = (ExamState.SCHEDULED, ExamState.ARRIVED)
#: A plan in these states is the board's news: no new suggestion until it is decided.
OPEN = (PlanStatus.QUEUED, PlanStatus.RUNNING, PlanStatus.DONE)


def latest_run(site: Site, on: date) -> DayPlanRun | None:
    """The newest plan of the site's day, whatever its status."""
    return (
        DayPlanRun.objects.filter(site=site, date=on)
        .select_related("created_by", "decided_by")
        .order_by("-created_at")
        .first()
    )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def replan_suggestion(site: Site, on: date, *, now: datetime | None = None) -> str | None:
    """Why the coordinator should re-plan the site's day, or None.

    Suggested when bookings still ahead sit in a room that is down or closed, on a device that
    is down, or with a person who called in sick, or when a STAT request is waiting to be
    booked. Not while a plan of the day is being made or waits for a decision.
    """
    zone = ZoneInfo(site.time_zone)
    moment = now or timezone.now()
    today = moment.astimezone(zone).date()
    if on < today:
        return None
    latest = latest_run(site, on)
    if latest is not None and latest.status in OPEN:
        return None
    begin = max(local_midnight(on, zone), moment)
    end = local_midnight(on + timedelta(days=1), zone)
    ahead = Exam.objects.filter(
        room__site=site, state__in=MOVABLE, scheduled_end__gt=begin, scheduled_start__lt=end
    )
    reasons: list[str] = []

    down = Counter(
        ahead.filter(room__status__in=(RoomStatus.DOWN, RoomStatus.MAINTENANCE)).values_list(
            "room__code", flat=True
        )
    )
    for code, count in sorted(down.items()):
        room = Room.objects.filter(code=code).only("status", "status_note").first()
        state = room.get_status_display().lower() if room else "down"
        note = f" ({room.status_note})" if room and room.status_note else ""
        reasons.append(f"Room {code} is {state}{note}: {_plural(count, 'booking')} still in it.")

    for closure in RoomClosure.objects.filter(
        room__site=site, start__lt=end, end__gt=begin
    ).select_related("room"):
        count = ahead.filter(
            room=closure.room, scheduled_start__lt=closure.end, scheduled_end__gt=closure.start
        ).count()
        if count:
            span = f"{closure.start.astimezone(zone):%H:%M}-{closure.end.astimezone(zone):%H:%M}"
            reasons.append(
                f"Room {closure.room.code} closed {span} ({closure.reason}): "
                f"{_plural(count, 'booking')} in that time."
            )

    for downtime in DeviceDowntime.objects.filter(
        device__room__site=site, start__lt=end, end__gt=begin
    ).select_related("device"):
        count = ahead.filter(
            device=downtime.device,
            scheduled_start__lt=downtime.end,
            scheduled_end__gt=downtime.start,
        ).count()
        if count:
            reasons.append(
                f"{downtime.device} is down ({downtime.reason}): {_plural(count, 'booking')} on it."
            )

    reasons.extend(_sick_reasons(ahead, on))

    stat = Exam.objects.filter(
        Q(order__site=site) | Q(order__site__isnull=True),
        state__in=READY_TO_BOOK,
        order__priority=Priority.STAT,
        order__received_at__lt=end,
        order__exam_type__modality__rooms__site=site,
    ).distinct()
    if on == today:
        waiting = stat.count()
        if waiting:
            reasons.append(f"{_plural(waiting, 'STAT request')} waiting to be booked.")
    return " ".join(reasons) or None


def _sick_reasons(ahead: Any, on: date) -> list[str]:
    from radflow.rostering.models import SickCall

    sick = SickCall.objects.filter(start__lte=on, end__gte=on).values_list("staff_id", flat=True)
    counts = Counter(
        ahead.filter(technologist_id__in=sick).values_list("technologist_id", flat=True)
    )
    if not counts:
        return []
    people = StaffMember.objects.in_bulk(list(counts))
    return [
        f"{people[pk].given_name} {people[pk].family_name} called in sick: "
        f"{_plural(count, 'booking')} with them."
        for pk, count in sorted(counts.items(), key=lambda item: str(item[0]))
        if pk in people
    ]


# --- a plan's review --------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    room: str
    staff: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class ChangeRow:
    exam: Exam
    patient: Patient
    before: Slot | None
    after: Slot | None
    kind: str
    time_changed: bool
    room_changed: bool
    staff_changed: bool
    must_call: bool


@dataclass
class Review:
    """A plan as the coordinator reviews it: changes, who to call, what did not fit, figures."""

    changes: list[ChangeRow] = field(default_factory=list)
    unscheduled: list[tuple[Exam, Patient, str]] = field(default_factory=list)
    #: (label, before, after, greedy) per figure.
    figures: list[tuple[str, Any, Any, Any]] = field(default_factory=list)

    @property
    def patients(self) -> list[Patient]:
        shown = [row.patient for row in self.changes] + [p for _, p, _ in self.unscheduled]
        return list({patient.pk: patient for patient in shown}.values())

    @property
    def to_call(self) -> list[ChangeRow]:
        return [row for row in self.changes if row.must_call]

    @property
    def moved(self) -> int:
        return sum(1 for row in self.changes if row.time_changed)


def _change_order(row: ChangeRow) -> tuple[bool, datetime]:
    """Patients to call first, then by time."""
    slot = row.before or row.after
    return (not row.must_call, slot.start if slot else datetime.max.replace(tzinfo=UTC))


FIGURES = (
    ("objective", "Cost (objective)"),
    ("broken", "Bookings that no longer fit (room down, closed, off shift)"),
    ("stat_lateness", "STAT lateness (min)"),
    ("urgent_lateness", "Urgent lateness (min)"),
    ("mean_wait", "Mean wait past booked time (min)"),
    ("p90_wait", "90th percentile wait (min)"),
    ("overtime", "Overtime (min)"),
    ("idle", "Idle room time (min)"),
    ("changed", "Patients whose time changes"),
    ("unscheduled", "Exams not placed"),
)


def _figure(block: dict[str, Any], name: str) -> Any:
    if not block:
        return None
    if name in ("objective", "broken"):
        return block.get(name)
    value = block.get("metrics", {}).get(name)
    return round(value, 1) if isinstance(value, float) else value


def run_review(run: DayPlanRun) -> Review:
    """The run's changes with the exams, patients, rooms and people they name."""
    result = run.result or {}
    changes = result.get("changes", [])
    unscheduled: dict[str, str] = result.get("unscheduled", {})
    exam_ids = {c["exam"] for c in changes} | set(unscheduled)
    exams = Exam.objects.select_related("order__patient", "order__exam_type").in_bulk(
        [UUID(pk) for pk in exam_ids]
    )
    slots = [c[side] for c in changes for side in ("before", "after") if c[side]]
    rooms = Room.objects.in_bulk([UUID(s["room"]) for s in slots])
    staff = StaffMember.objects.in_bulk([UUID(s["staff"]) for s in slots if s.get("staff")])
    zone = ZoneInfo(run.site.time_zone)

    def slot(raw: dict[str, Any] | None) -> Slot | None:
        if raw is None:
            return None
        room = rooms.get(UUID(raw["room"]))
        person = staff.get(UUID(raw["staff"])) if raw.get("staff") else None
        return Slot(
            room=room.code if room else "?",
            staff=f"{person.given_name} {person.family_name}" if person else "—",
            start=datetime.fromisoformat(raw["start"]).astimezone(zone),
            end=datetime.fromisoformat(raw["end"]).astimezone(zone),
        )

    review = Review()
    for change in changes:
        exam = exams.get(UUID(change["exam"]))
        if exam is None:
            continue
        review.changes.append(
            ChangeRow(
                exam=exam,
                patient=exam.order.patient,
                before=slot(change["before"]),
                after=slot(change["after"]),
                kind=change["kind"],
                time_changed=change["time_changed"],
                room_changed=change["room_changed"],
                staff_changed=change["staff_changed"],
                must_call=change["must_call"],
            )
        )
    review.changes.sort(key=_change_order)
    for exam_id, why in unscheduled.items():
        exam = exams.get(UUID(exam_id))
        if exam is not None:
            review.unscheduled.append((exam, exam.order.patient, why))
    before, greedy = result.get("before", {}), result.get("greedy", {})
    review.figures = [
        (label, _figure(before, name), _figure(result, name), _figure(greedy, name))
        for name, label in FIGURES
    ]
    return review


__all__ = ["Review", "latest_run", "replan_suggestion", "run_review"]
