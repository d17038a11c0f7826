"""Reads for rosters: the grid, calendars, the on-call rota, fairness and what waits for a decision.

What staff see is the published roster. When a newer roster superseded part of an older one, each
day is read from the newest published roster covering it, so the older roster's earlier days stay
visible (``effective_assignments``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from uuid import UUID

from django.apps import apps
from django.db.models import QuerySet
from django.utils import timezone

from radflow.db import get_or_not_found
from radflow.rostering.models import (
    LeaveRequest,
    PublicHoliday,
    RequestStatus,
    Roster,
    RosterAssignment,
    RosterRun,
    RosterStatus,
    RunKind,
    ShiftKind,
    ShiftType,
    SwapRequest,
    SwapStatus,
)
from radflow.staff.models import JobRole, StaffMember

SHOWN_STATUSES = (RosterStatus.PUBLISHED, RosterStatus.SUPERSEDED)


def roster_get(*, roster_id: UUID) -> Roster:
    return get_or_not_found(
        Roster.objects.select_related("created_by", "published_by"), pk=roster_id, label="roster"
    )


def roster_list() -> QuerySet[Roster]:
    return Roster.objects.select_related("created_by", "published_by").order_by("-start")


def run_get(*, run_id: UUID) -> RosterRun:
    return get_or_not_found(
        RosterRun.objects.select_related("roster", "requested_by"), pk=run_id, label="roster run"
    )


def latest_run(*, roster: Roster, kind: str | None = RunKind.GENERATE) -> RosterRun | None:
    runs = RosterRun.objects.filter(roster=roster)
    if kind is not None:
        runs = runs.filter(kind=kind)
    return runs.order_by("-created_at").first()


# --- published shifts ---------------------------------------------------------------------------


def _winners(start: date, end: date) -> dict[date, UUID]:
    """Per date, the newest published (or partly superseded) roster that covers it."""
    rosters = [
        roster
        for roster in Roster.objects.filter(status__in=SHOWN_STATUSES, start__lte=end)
        if roster.end >= start
    ]
    rosters.sort(key=lambda roster: roster.published_at or roster.created_at)
    winner: dict[date, UUID] = {}
    for roster in rosters:
        for on in roster.days:
            if start <= on <= end:
                winner[on] = roster.pk
    return winner


def effective_assignments(
    *, start: date, end: date, staff: StaffMember | None = None
) -> list[RosterAssignment]:
    """Published shifts between ``start`` and ``end`` (inclusive), one roster per day."""
    winner = _winners(start, end)
    if not winner:
        return []
    rows = RosterAssignment.objects.filter(
        roster_id__in=set(winner.values()), on_date__range=(start, end)
    ).select_related("shift_type__site", "shift_type__modality", "staff")
    if staff is not None:
        rows = rows.filter(staff=staff)
    return [row for row in rows if winner.get(row.on_date) == row.roster_id]


@dataclass(frozen=True)
class ShiftRow:
    assignment_id: int
    roster_id: UUID
    date: date
    shift_type: ShiftType
    site: str
    start: datetime
    end: datetime
    on_call: bool
    callback_minutes: int | None


def person_shifts(*, staff: StaffMember, start: date, end: date) -> list[ShiftRow]:
    """One person's published shifts, with aware start and end in the site's zone."""
    result = []
    for row in effective_assignments(start=start, end=end, staff=staff):
        shift = row.shift_type
        begins, ends = shift.bounds(row.on_date)
        result.append(
            ShiftRow(
                assignment_id=row.pk,
                roster_id=row.roster_id,
                date=row.on_date,
                shift_type=shift,
                site=shift.site.name,
                start=begins,
                end=ends,
                on_call=shift.kind == ShiftKind.ON_CALL,
                callback_minutes=shift.callback_minutes,
            )
        )
    result.sort(key=lambda item: (item.date, item.start))
    return result


@dataclass
class CalendarDay:
    date: date
    #: (shift type, people on it) for every shift type worked that day, by start time.
    shifts: list[tuple[ShiftType, list[StaffMember]]] = field(default_factory=list)


def modality_calendar(*, modality_code: str, start: date, end: date) -> list[CalendarDay]:
    """Days x shift types of one modality -> the people rostered (published)."""
    by_day: dict[date, dict[UUID, tuple[ShiftType, list[StaffMember]]]] = defaultdict(dict)
    for row in effective_assignments(start=start, end=end):
        if row.shift_type.modality_id != modality_code:
            continue
        slot = by_day[row.on_date].setdefault(row.shift_type_id, (row.shift_type, []))
        slot[1].append(row.staff)
    days = []
    on = start
    while on <= end:
        shifts = sorted(by_day.get(on, {}).values(), key=lambda item: (item[0].start, item[0].code))
        for _shift, people in shifts:
            people.sort(key=lambda person: (person.family_name, person.given_name))
        days.append(CalendarDay(date=on, shifts=list(shifts)))
        on += timedelta(days=1)
    return days


@dataclass(frozen=True)
class RotaEntry:
    shift_type: ShiftType
    staff: StaffMember
    callback_minutes: int | None


@dataclass
class RotaDay:
    date: date
    shifts: list[RotaEntry] = field(default_factory=list)


def on_call_rota(*, start: date, end: date) -> list[RotaDay]:
    """Who is on call each day, per on-call shift, with the call-back time (published)."""
    by_day: dict[date, list[RotaEntry]] = defaultdict(list)
    for row in effective_assignments(start=start, end=end):
        if row.shift_type.kind == ShiftKind.ON_CALL:
            by_day[row.on_date].append(
                RotaEntry(row.shift_type, row.staff, row.shift_type.callback_minutes)
            )
    days = []
    on = start
    while on <= end:
        entries = sorted(by_day.get(on, []), key=lambda entry: entry.shift_type.code)
        days.append(RotaDay(date=on, shifts=entries))
        on += timedelta(days=1)
    return days


# --- the roster grid ------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    date: date
    code: str | None = None
    kind: str | None = None
    #: The leave kind's label when the person is on approved leave that day.
    leave: str | None = None
    holiday: bool = False


@dataclass
class GridPerson:
    staff: StaffMember
    cells: list[Cell]
    minutes: int
    warnings: list[str] = field(default_factory=list)


@dataclass
class GridGroup:
    label: str
    people: list[GridPerson]


@dataclass(frozen=True)
class DayCover:
    date: date
    shift: str
    skill: str | None
    minimum: int
    preferred: int
    assigned: int

    @property
    def state(self) -> str:
        if self.assigned < self.minimum:
            return "short"
        return "under" if self.assigned < self.preferred else "ok"


@dataclass
class Grid:
    roster: Roster
    days: list[date]
    holidays: dict[date, str]
    groups: list[GridGroup]
    #: Per day, the cover the latest solve reached (empty before a solve).
    coverage: dict[date, list[DayCover]]


def _group_label(member: StaffMember, modalities: list[str]) -> str:
    if member.job_role == JobRole.RADIOLOGIST:
        return "Radiologists"
    if member.job_role == JobRole.NURSE:
        return "Nurses"
    return modalities[0] if modalities else "Other"


def _warnings(staff_ids: list[UUID], on: date) -> dict[UUID, list[str]]:
    if not apps.is_installed("radflow.credentials"):
        return {}
    from radflow.credentials.selectors import staff_warnings

    return staff_warnings(staff_ids=staff_ids, on=on)


def roster_grid(*, roster: Roster) -> Grid:
    """People (grouped by modality) x days: shift codes, leave, and the day's cover vs wanted.

    Shows the roster's own assignments, whatever its status (a draft being reviewed too).
    """
    days = roster.days
    assignments = list(RosterAssignment.objects.filter(roster=roster).select_related("shift_type"))
    people_ids = {row.staff_id for row in assignments}
    from radflow.rostering.models import StaffRosterRules

    people_ids |= set(
        StaffRosterRules.objects.filter(rostered=True, staff__active=True).values_list(
            "staff_id", flat=True
        )
    )
    people = list(
        StaffMember.objects.filter(pk__in=people_ids)
        .prefetch_related("modalities")
        .order_by("family_name", "given_name")
    )
    shifts: dict[tuple[UUID, date], ShiftType] = {
        (row.staff_id, row.on_date): row.shift_type for row in assignments
    }
    leave: dict[tuple[UUID, date], str] = {}
    for item in LeaveRequest.objects.filter(
        staff_id__in=people_ids,
        status=RequestStatus.APPROVED,
        start__lte=roster.end,
        end__gte=roster.start,
    ):
        on = max(item.start, roster.start)
        while on <= min(item.end, roster.end):
            leave[item.staff_id, on] = item.get_kind_display()
            on += timedelta(days=1)
    holidays = dict(
        PublicHoliday.objects.filter(on_date__range=(roster.start, roster.end)).values_list(
            "on_date", "name"
        )
    )
    warnings = _warnings([person.pk for person in people], max(roster.start, timezone.localdate()))
    groups: dict[str, list[GridPerson]] = defaultdict(list)
    for person in people:
        codes = sorted(m.code for m in person.modalities.all())
        cells = []
        minutes = 0
        for on in days:
            shift = shifts.get((person.pk, on))
            if shift is not None:
                minutes += shift.paid_minutes
            cells.append(
                Cell(
                    date=on,
                    code=shift.code if shift else None,
                    kind=shift.kind if shift else None,
                    leave=leave.get((person.pk, on)),
                    holiday=on in holidays,
                )
            )
        groups[_group_label(person, codes)].append(
            GridPerson(person, cells, minutes, warnings.get(person.pk, []))
        )
    order = {"Radiologists": 2, "Nurses": 3, "Other": 4}
    grouped = [
        GridGroup(label, members)
        for label, members in sorted(
            groups.items(), key=lambda item: (order.get(item[0], 1), item[0])
        )
    ]
    coverage: dict[date, list[DayCover]] = defaultdict(list)
    run = latest_run(roster=roster)
    for row in (run.coverage if run else []) or []:
        on = date.fromisoformat(str(row["date"]))
        coverage[on].append(
            DayCover(
                date=on,
                shift=str(row["shift"]),
                skill=row.get("skill"),
                minimum=int(row["minimum"]),
                preferred=int(row["preferred"]),
                assigned=int(row["assigned"]),
            )
        )
    return Grid(roster, days, holidays, grouped, dict(coverage))


# --- fairness ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FairnessRow:
    staff: StaffMember
    nights: int
    weekends: int
    holidays: int
    on_call: int


@dataclass
class FairnessTable:
    rows: list[FairnessRow]
    #: Per count ("nights", "weekends", "holidays", "on_call"): the largest max - min among the
    #: people working the same site and modality, as the solver weighs it (a CT night is not
    #: compared with an ultrasound night).
    spread: dict[str, int]


KINDS = ("nights", "weekends", "holidays", "on_call")


def fairness(*, roster: Roster) -> FairnessTable:
    """Per person: nights, weekend days, public holidays and on-call worked in this roster."""
    holidays = set(
        PublicHoliday.objects.filter(on_date__range=(roster.start, roster.end)).values_list(
            "on_date", flat=True
        )
    )
    counts: dict[UUID, dict[str, int]] = defaultdict(lambda: dict.fromkeys(KINDS, 0))
    #: (site, modality) -> person -> counts within that group
    groups: dict[tuple[UUID, str | None], dict[UUID, dict[str, int]]] = defaultdict(
        lambda: defaultdict(lambda: dict.fromkeys(KINDS, 0))
    )
    members: dict[UUID, StaffMember] = {}
    for row in RosterAssignment.objects.filter(roster=roster).select_related("shift_type", "staff"):
        members[row.staff_id] = row.staff
        mine = counts[row.staff_id]
        shift = row.shift_type
        hits = {
            "nights": shift.kind == ShiftKind.NIGHT,
            "on_call": shift.kind == ShiftKind.ON_CALL,
            "weekends": row.on_date.weekday() >= 5,
            "holidays": row.on_date in holidays,
        }
        group = groups[shift.site_id, shift.modality_id][row.staff_id]
        for name, hit in hits.items():
            if hit:
                mine[name] += 1
                group[name] += 1
    rows = [
        FairnessRow(members[pk], **values)
        for pk, values in sorted(
            counts.items(),
            key=lambda item: (members[item[0]].family_name, members[item[0]].given_name),
        )
    ]
    spread = dict.fromkeys(KINDS, 0)
    for people in groups.values():
        for name in KINDS:
            values = [mine[name] for mine in people.values()]
            if len(values) >= 2 and max(values) > 0:
                spread[name] = max(spread[name], max(values) - min(values))
    return FairnessTable(rows, spread)


# --- waiting for a decision ------------------------------------------------------------------


def swaps_pending() -> list[SwapRequest]:
    return list(
        SwapRequest.objects.filter(status=SwapStatus.REQUESTED)
        .select_related("roster", "requester", "partner")
        .order_by("give_date", "created_at")
    )


def leave_pending() -> list[LeaveRequest]:
    return list(
        LeaveRequest.objects.filter(status=RequestStatus.REQUESTED)
        .select_related("staff")
        .order_by("start", "staff__family_name")
    )
