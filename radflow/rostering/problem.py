"""The department's roster as a core ``Instance``, and the solver's answer back as rows.

Everything the CP-SAT model needs is read here, once: who is rostered and with which rules,
what they may work, their leave and wishes, the cover per shift x day x skill and the fairness
groups. ``Problem`` keeps the maps back (employee id -> staff, shift id -> ShiftType, day index ->
date) so results, conflicts and rule violations can be shown in the department's words.

Mapping decisions (each one explained where it is made):

* Employee ids are "Given Family (E12345)" and shift ids the ShiftType codes, so the core's own
  messages ("... works 6 days in a row") already name people; ``humanize`` turns day indexes into
  dates.
* Forbidden successions come from the minimum rest: shift A may not be followed the next day by
  B when B's start minus A's end, in wall-clock time, is below ``RosterSettings.min_rest_hours``.
* The core limits shifts per shift type only; a per-4-weeks limit on nights (or on-call) is
  split across a person's night (on-call) shift types so that their sum never exceeds it.
* A shift type with no cover requirement on a day is not offered that day: it gets a cover of 0
  whose over-cover weight is ``CLOSED_WEIGHT``, so the solver uses it only if nothing else can
  satisfy a hard rule (the core has no "shift not offered on day" constraint).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from uuid import UUID

from django.apps import apps
from django.db.models import Q

from radflow.core.rostering.instance import (
    Assignment,
    Cover,
    Employee,
    Evaluation,
    Fairness,
    Instance,
    Request,
    Violation,
)
from radflow.core.rostering.instance import ShiftType as CoreShift
from radflow.rostering.models import (
    CoverageRequirement,
    LeaveRequest,
    PublicHoliday,
    RequestStatus,
    Roster,
    RosterSettings,
    ShiftKind,
    ShiftPreference,
    ShiftType,
    StaffRosterRules,
)
from radflow.staff.models import JobRole, StaffMember

#: Over-cover weight of a shift on a day it is not offered (no cover requirement that day).
CLOSED_WEIGHT = 10_000
#: Weight of keeping someone off a shift whose modality credential lapsed mid-roster (soft in the
#: core, so it is made far costlier than any cover shortfall).
LAPSED_WEIGHT = 5_000

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def roster_settings() -> RosterSettings:
    """The department's one settings row, made with the defaults the first time it is asked for."""
    found = RosterSettings.objects.order_by("created_at").first()
    if found is None:
        found = RosterSettings.objects.create()
    return found


@dataclass(frozen=True)
class RequestOrigin:
    """Where a core request came from, to tell the coordinator which wish was not granted."""

    wants: bool  # True: shift_on
    employee: str
    day: int
    shift: str
    weight: int
    #: "leave" (an undecided leave request), "preference" or "credential".
    source: str
    source_id: UUID | None
    label: str


@dataclass
class Problem:
    instance: Instance
    roster: Roster
    days: list[date]
    staff_of: dict[str, UUID]
    employee_of: dict[UUID, str]
    shift_types: dict[str, ShiftType]
    #: The staff members in the instance, by id (names for messages and pages).
    staff: dict[UUID, StaffMember]
    #: Shift types each employee may work (max_shifts > 0).
    allowed: dict[str, frozenset[str]]
    origins: list[RequestOrigin] = field(default_factory=list)
    #: (day, shift id) pairs no cover requirement asks for.
    closed: frozenset[tuple[int, str]] = frozenset()
    #: Notes for the coordinator about the mapping (people with no shift types, lapsed skills).
    notes: list[str] = field(default_factory=list)

    # --- maps ------------------------------------------------------------------------------

    def day_of(self, on: date) -> int:
        return (on - self.roster.start).days

    def date_of(self, day: int) -> date:
        return self.roster.start + timedelta(days=day)

    def rows(self, assignment: Mapping[tuple[str, int], str]) -> list[tuple[UUID, date, UUID]]:
        """The roster as (staff id, date, shift type id), sorted by date then person."""
        result = [
            (self.staff_of[who], self.date_of(day), self.shift_types[shift].id)
            for (who, day), shift in assignment.items()
            if who in self.staff_of and shift in self.shift_types
        ]
        result.sort(key=lambda row: (row[1], str(row[0])))
        return result

    def assignment_from_rows(self, rows: Iterable[tuple[UUID, date, UUID]]) -> Assignment:
        """Rows (staff id, date, shift type id) inside the roster as a core ``Assignment``.

        People or shift types the instance does not know are kept under their raw ids, so the
        evaluator reports them instead of them silently disappearing.
        """
        codes = {shift.id: code for code, shift in self.shift_types.items()}
        result: Assignment = {}
        for staff_id, on, shift_type_id in rows:
            day = self.day_of(on)
            if not 0 <= day < len(self.days):
                continue
            who = self.employee_of.get(staff_id, str(staff_id))
            result[who, day] = codes.get(shift_type_id, str(shift_type_id))
        return result

    def format_day(self, day: int) -> str:
        on = self.date_of(day)
        return f"{WEEKDAY_NAMES[on.weekday()]} {on.isoformat()}"

    def humanize(self, text: str) -> str:
        """The core's "day 3 (Thu)" / "days 3-8" (en dash) / "Day 3" as dates of this roster."""

        def one(match: re.Match[str]) -> str:
            first = int(match.group(2))
            last = match.group(3)
            word = match.group(1)
            if last is None:
                return self.format_day(first)
            del word
            return f"{self.format_day(first)} to {self.format_day(int(last))}"

        return _DAY_PATTERN.sub(one, text)


_DAY_PATTERN = re.compile(
    r"\b([Dd]ays?) (\d+)(?:\u2013(\d+))?(?: \((?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\))?"
)


def employee_id(member: StaffMember) -> str:
    return f"{member.given_name} {member.family_name} ({member.employee_number})"


def _scaled(per_four_weeks: int, weeks: int) -> int:
    """A per-4-weeks limit for ``weeks`` weeks, rounded half up."""
    return (per_four_weeks * weeks * 2 + 4) // 8


def _split(limit: int, shifts: list[str]) -> dict[str, int]:
    """``limit`` shared out over ``shifts`` so the parts never add up to more than ``limit``."""
    if not shifts:
        return {}
    base, extra = divmod(limit, len(shifts))
    return {code: base + (1 if i < extra else 0) for i, code in enumerate(sorted(shifts))}


def _wall_minutes(shift: ShiftType) -> tuple[int, int]:
    """Start and end in minutes from the start of the shift's first day (end may exceed 24 h)."""
    start = shift.start.hour * 60 + shift.start.minute
    end = shift.end.hour * 60 + shift.end.minute
    if shift.overnight:
        end += 24 * 60
    return start, end


def forbidden_successions(shifts: Iterable[ShiftType], min_rest_hours: int) -> dict[str, set[str]]:
    """Shift A -> the shifts B that may not be worked the day after A (rest below the minimum)."""
    listed = list(shifts)
    result: dict[str, set[str]] = {shift.code: set() for shift in listed}
    for first in listed:
        _, first_end = _wall_minutes(first)
        for second in listed:
            second_start, _ = _wall_minutes(second)
            rest = 24 * 60 + second_start - first_end
            if rest < min_rest_hours * 60:
                result[first.code].add(second.code)
    return result


def _tags(shift: ShiftType) -> frozenset[str]:
    tags = {shift.kind}
    if shift.weekend_only:
        tags.add("weekend")
    if shift.kind == ShiftKind.ON_CALL:
        tags.add("on_call")
    return frozenset(tags)


def _skills_by_day(staff_ids: list[UUID], days: list[date]) -> dict[UUID, list[frozenset[str]]]:
    """Each person's skills on each roster day: credentials when that app is installed, else the
    modalities on their staff record (no competencies)."""
    if apps.is_installed("radflow.credentials"):
        from radflow.credentials.selectors import staff_skills

        by_day = [staff_skills(staff_ids=staff_ids, on=on) for on in days]
        return {pk: [day.get(pk, frozenset()) for day in by_day] for pk in staff_ids}
    through = StaffMember.modalities.through.objects.filter(staffmember_id__in=staff_ids)
    found: dict[UUID, set[str]] = defaultdict(set)
    for staff_id, code in through.values_list("staffmember_id", "modality_id"):
        found[staff_id].add(code)
    return {pk: [frozenset(found[pk])] * len(days) for pk in staff_ids}


def _default_shift_types(
    member: StaffMember, modalities: set[str], shifts: list[ShiftType]
) -> list[ShiftType]:
    """What a person may work when their rules list no shift types.

    Technologists and sonographers: the shift types at their home site of one of their
    modalities. Staff without modalities (nurses): the home site's shift types of no modality.
    Radiologists: none by default, since their reading and on-call shifts are not told apart
    from the technologists' by modality alone; their rules list them.
    """
    if member.job_role == JobRole.RADIOLOGIST:
        return []
    home = [shift for shift in shifts if shift.site_id == member.home_site_id]
    if not modalities:
        return [shift for shift in home if shift.modality_id is None]
    return [shift for shift in home if shift.modality_id in modalities]


def build_problem(
    *,
    roster: Roster,
    previous: Mapping[tuple[UUID, date], UUID] | None = None,
    frozen: set[date] | None = None,
    extra_days_off: Mapping[UUID, set[date]] | None = None,
    settings: RosterSettings | None = None,
) -> Problem:
    """Read the roster's people, rules, wishes and cover into a core ``Instance``.

    ``previous`` is a published roster, (staff id, date) -> shift type id; with it each changed
    person-day costs ``change_weight`` and ``frozen`` days must stay as published.
    ``extra_days_off`` adds hard days off (a sick call not yet recorded as leave).
    """
    config = settings or roster_settings()
    days = roster.days
    horizon = len(days)
    day_index = {on: i for i, on in enumerate(days)}
    frozen_dates = {on for on in (frozen or set()) if on in day_index}
    weeks = roster.weeks

    shift_rows = list(
        ShiftType.objects.filter(active=True).select_related("site", "modality").order_by("code")
    )
    if previous:
        # A published shift type made inactive since stays known, so the roster can be read back.
        used = set(previous.values()) - {shift.id for shift in shift_rows}
        shift_rows += list(ShiftType.objects.filter(pk__in=used).select_related("site"))
    shifts_by_code = {shift.code: shift for shift in shift_rows}
    codes_by_id = {shift.id: shift.code for shift in shift_rows}
    forbidden = forbidden_successions(shift_rows, config.min_rest_hours)
    core_shifts = tuple(
        CoreShift(
            id=shift.code,
            minutes=shift.paid_minutes,
            forbidden_next=frozenset(forbidden[shift.code]),
            tags=_tags(shift),
        )
        for shift in shift_rows
    )

    rules = list(
        StaffRosterRules.objects.filter(rostered=True, staff__active=True)
        .select_related("staff")
        .prefetch_related("shift_types", "staff__modalities")
        .order_by("staff__family_name", "staff__given_name", "staff__employee_number")
    )
    members = {rule.staff_id: rule.staff for rule in rules}
    staff_ids = list(members)
    employee_of = {pk: employee_id(member) for pk, member in members.items()}
    staff_of = {name: pk for pk, name in employee_of.items()}
    notes: list[str] = []

    # Approved leave (any kind, sick included) is a hard day off, except on frozen days: those
    # stay as published (the past cannot change).
    leave_days: dict[UUID, set[int]] = defaultdict(set)
    paid_leave: dict[UUID, set[int]] = defaultdict(set)
    pending: list[LeaveRequest] = []
    for leave in LeaveRequest.objects.filter(
        staff_id__in=staff_ids, start__lte=roster.end, end__gte=roster.start
    ).exclude(status=RequestStatus.DECLINED):
        if leave.status == RequestStatus.APPROVED:
            on = max(leave.start, roster.start)
            while on <= min(leave.end, roster.end):
                # The contract shrinks for every leave day, frozen or not.
                paid_leave[leave.staff_id].add(day_index[on])
                if on not in frozen_dates:
                    leave_days[leave.staff_id].add(day_index[on])
                on += timedelta(days=1)
        else:
            pending.append(leave)
    for staff_id, extra in (extra_days_off or {}).items():
        for on in extra:
            if on in day_index and on not in frozen_dates:
                leave_days[staff_id].add(day_index[on])

    skills_by_day = _skills_by_day(staff_ids, days)
    holiday_days = {
        day_index[on]
        for on in PublicHoliday.objects.filter(
            on_date__range=(roster.start, roster.end)
        ).values_list("on_date", flat=True)
    }

    employees: list[Employee] = []
    allowed: dict[str, frozenset[str]] = {}
    origins: list[RequestOrigin] = []
    shift_on: list[Request] = []
    shift_off: list[Request] = []
    for rule in rules:
        member = rule.staff
        who = employee_of[member.id]
        modalities = {m.code for m in member.modalities.all()}
        listed = [shift for shift in rule.shift_types.all() if shift.active]
        mine = listed or _default_shift_types(member, modalities, shift_rows)
        if not mine:
            notes.append(f"{who} has no shift types they may work; rostered for none.")
        mine_codes = sorted(shift.code for shift in mine)
        max_shifts = {code: horizon for code in mine_codes}
        for kind, per_four in (
            (ShiftKind.NIGHT, rule.max_nights_per_4_weeks),
            (ShiftKind.ON_CALL, rule.max_on_call_per_4_weeks),
        ):
            group = [shift.code for shift in mine if shift.kind == kind]
            max_shifts.update(_split(_scaled(per_four, weeks), group))

        daily = skills_by_day[member.id]
        # A skill counts for the roster only if held on every day: a person never counts towards
        # a cover on a day they lack its skill (conservative for a credential gained mid-roster).
        skills = frozenset.intersection(*daily) if daily else frozenset()
        off_days = set(leave_days.get(member.id, set()))
        lapsed = sorted({code for day_skills in daily for code in day_skills} - skills)
        for code in lapsed:
            missing = [i for i, day_skills in enumerate(daily) if code not in day_skills]
            needing = [shift for shift in mine if shift.modality_id == code]
            if not needing:
                continue
            if len(needing) == len(mine):
                off_days.update(missing)
                notes.append(
                    f"{who}: {code} not current on {len(missing)} day(s) of the roster; "
                    "off those days."
                )
            else:
                for day in missing:
                    for shift in needing:
                        request = Request(who, day, shift.code, LAPSED_WEIGHT)
                        shift_off.append(request)
                        origins.append(
                            RequestOrigin(
                                False,
                                who,
                                day,
                                shift.code,
                                LAPSED_WEIGHT,
                                "credential",
                                None,
                                f"{code} credential not current",
                            )
                        )

        # Contract minutes for the weeks rostered, less a weekday's share for each weekday off
        # (leave, sick) or public holiday: a holiday is paid, not owed back in other shifts.
        per_day = rule.contracted_minutes_per_week / 5
        not_owed = off_days | paid_leave.get(member.id, set()) | holiday_days
        off_weekdays = sum(1 for day in not_owed if days[day].weekday() < 5)
        contract = rule.contracted_minutes_per_week * weeks - round(per_day * off_weekdays)
        flex = rule.flex_minutes_per_week * weeks
        min_minutes = max(0, contract - flex) if mine else 0
        max_minutes = max(min_minutes, contract + flex) if mine else 0
        employees.append(
            Employee(
                id=who,
                max_shifts=max_shifts,
                max_minutes=max_minutes,
                min_minutes=min_minutes,
                max_consecutive=rule.max_consecutive_days,
                min_consecutive=rule.min_consecutive_days,
                min_consecutive_off=rule.min_consecutive_days_off,
                max_weekends=_scaled(rule.max_weekends_per_4_weeks, weeks),
                days_off=frozenset(off_days),
                skills=skills,
            )
        )
        allowed[who] = frozenset(mine_codes)

    # Undecided leave: a wish to be off every shift of those days, at the leave request weight.
    for leave in pending:
        who = employee_of[leave.staff_id]
        on = max(leave.start, roster.start)
        while on <= min(leave.end, roster.end):
            for code in sorted(allowed[who]):
                request = Request(who, day_index[on], code, config.leave_request_weight)
                shift_off.append(request)
                origins.append(
                    RequestOrigin(
                        False,
                        who,
                        request.day,
                        code,
                        request.weight,
                        "leave",
                        leave.id,
                        f"{leave.get_kind_display()} requested {leave.start}\u2013{leave.end}",
                    )
                )
            on += timedelta(days=1)

    preferences = ShiftPreference.objects.filter(staff_id__in=staff_ids).filter(
        Q(on_date__isnull=True) | Q(on_date__range=(roster.start, roster.end))
    )
    for preference in preferences.select_related("shift_type"):
        who = employee_of[preference.staff_id]
        if preference.on_date is not None:
            when = [day_index[preference.on_date]]
        else:
            when = [i for i, on in enumerate(days) if on.weekday() == preference.weekday]
        wanted_shift = preference.shift_type
        if wanted_shift is None:
            if preference.wants:
                # "Any shift that day" is not a core request; rostering the day is not asked.
                continue
            codes = sorted(allowed[who])
        else:
            codes = [wanted_shift.code]
        target = wanted_shift.code if wanted_shift else "all day"
        what = f"{'work' if preference.wants else 'off'} {target}"
        for day in when:
            for code in codes:
                request = Request(who, day, code, preference.weight)
                (shift_on if preference.wants else shift_off).append(request)
                origins.append(
                    RequestOrigin(
                        preference.wants,
                        who,
                        day,
                        code,
                        preference.weight,
                        "preference",
                        preference.id,
                        f"Preference: {what}",
                    )
                )

    cover, closed = _cover(roster, shift_rows, day_index, config)
    fairness = _fairness(shift_rows, employees, allowed, days, cover, config)

    previous_core: dict[tuple[str, int], str] = {}
    for (staff_id, on), shift_type_id in (previous or {}).items():
        if on in day_index and staff_id in employee_of and shift_type_id in codes_by_id:
            previous_core[employee_of[staff_id], day_index[on]] = codes_by_id[shift_type_id]

    instance = Instance(
        name=f"roster-{roster.start.isoformat()}",
        horizon=horizon,
        shifts=core_shifts,
        employees=tuple(employees),
        shift_on=tuple(shift_on),
        shift_off=tuple(shift_off),
        cover=tuple(cover),
        fairness=tuple(fairness),
        previous=previous_core,
        change_weight=config.change_weight if previous is not None else 0,
        frozen_days=frozenset(day_index[on] for on in frozen_dates),
    )
    return Problem(
        instance=instance,
        roster=roster,
        days=days,
        staff_of=staff_of,
        employee_of=employee_of,
        shift_types=shifts_by_code,
        staff=members,
        allowed=allowed,
        origins=origins,
        closed=frozenset(closed),
        notes=notes,
    )


def _cover(
    roster: Roster,
    shifts: list[ShiftType],
    day_index: dict[date, int],
    config: RosterSettings,
) -> tuple[list[Cover], set[tuple[int, str]]]:
    """Cover per day x shift x skill; a date-specific requirement replaces the weekday ones of
    that shift type on that date (a holiday's reduced cover)."""
    rows = CoverageRequirement.objects.filter(shift_type__in=shifts).filter(
        Q(on_date__isnull=True) | Q(on_date__range=(roster.start, roster.end))
    )
    by_weekday: dict[tuple[str, int], list[CoverageRequirement]] = defaultdict(list)
    by_date: dict[tuple[str, date], list[CoverageRequirement]] = defaultdict(list)
    codes = {shift.id: shift.code for shift in shifts}
    for row in rows:
        code = codes[row.shift_type_id]
        if row.on_date is not None:
            by_date[code, row.on_date].append(row)
        elif row.weekday is not None:
            by_weekday[code, row.weekday].append(row)
    cover: list[Cover] = []
    closed: set[tuple[int, str]] = set()
    for on, day in day_index.items():
        for shift in shifts:
            wanted = by_date.get((shift.code, on)) or (
                []
                if shift.weekend_only and on.weekday() < 5
                else by_weekday.get((shift.code, on.weekday()), [])
            )
            # A requirement of 0/0 closes the shift that day (a clinic shut on a holiday).
            if not shift.active or not any(row.preferred or row.minimum for row in wanted):
                closed.add((day, shift.code))
                cover.append(Cover(day, shift.code, 0, 0, CLOSED_WEIGHT))
                continue
            for row in wanted:
                cover.append(
                    Cover(
                        day=day,
                        shift=shift.code,
                        requirement=row.preferred,
                        under_weight=config.under_cover_weight,
                        over_weight=config.over_cover_weight,
                        minimum=row.minimum,
                        skill=row.competency_id or row.modality_id or None,
                    )
                )
    return cover, closed


def _fairness(
    shifts: list[ShiftType],
    employees: list[Employee],
    allowed: dict[str, frozenset[str]],
    days: list[date],
    cover: list[Cover],
    config: RosterSettings,
) -> list[Fairness]:
    """Nights, weekend days, public holidays and on-call shared evenly among the people who may
    work them, one group per site and modality so that a CT night is not weighed against a US
    night."""
    holidays = set(
        PublicHoliday.objects.filter(on_date__range=(days[0], days[-1])).values_list(
            "on_date", flat=True
        )
    )
    weekend_days = frozenset(i for i, on in enumerate(days) if on.weekday() >= 5)
    holiday_days = frozenset(i for i, on in enumerate(days) if on in holidays)
    offered: dict[str, set[int]] = defaultdict(set)
    for item in cover:
        if item.requirement > 0 or item.minimum > 0:
            offered[item.shift].add(item.day)

    groups: dict[tuple[str, str], list[ShiftType]] = defaultdict(list)
    for shift in shifts:
        groups[shift.site.code, shift.modality_id or "general"].append(shift)

    result: list[Fairness] = []
    for (site, modality), members in sorted(groups.items()):
        label = f"{modality} at {site}"
        terms: list[tuple[str, set[str], frozenset[int], int]] = [
            (
                f"nights {label}",
                {s.code for s in members if s.kind == ShiftKind.NIGHT},
                frozenset(),
                config.fairness_nights_weight,
            ),
            (
                f"on-call {label}",
                {s.code for s in members if s.kind == ShiftKind.ON_CALL},
                frozenset(),
                config.fairness_on_call_weight,
            ),
            (
                f"weekends {label}",
                {s.code for s in members if offered[s.code] & weekend_days},
                weekend_days,
                config.fairness_weekends_weight,
            ),
            (
                f"holidays {label}",
                {s.code for s in members if offered[s.code] & holiday_days},
                holiday_days,
                config.fairness_holidays_weight,
            ),
        ]
        for name, codes, on_days, weight in terms:
            if not codes or weight <= 0 or (name.startswith("holidays") and not holiday_days):
                continue
            people = frozenset(e.id for e in employees if allowed[e.id] & codes)
            if len(people) < 2:
                continue
            result.append(Fairness(name, frozenset(codes), people, weight, on_days))
    return result


def fairness_kind(name: str) -> str:
    """The fairness category of a term built here: nights, on-call, weekends or holidays."""
    return name.split(" ", 1)[0]


def minutes_label(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{hours} h" if not rest else f"{hours} h {rest:02d}"


# --- reading a solved roster back ------------------------------------------------------------


def coverage_report(problem: Problem, assignment: Assignment) -> list[dict[str, object]]:
    """Per date x shift x skill: minimum, preferred and assigned, as the run stores it.

    Shifts not offered that day are left out unless someone was put on one anyway.
    """
    instance = problem.instance
    skills = {employee.id: employee.skills for employee in instance.employees}
    on_shift: dict[tuple[int, str], list[str]] = defaultdict(list)
    for (who, day), shift in assignment.items():
        on_shift[day, shift].append(who)
    result: list[dict[str, object]] = []
    for cover in instance.cover:
        people = on_shift.get((cover.day, cover.shift), [])
        assigned = sum(
            1 for who in people if cover.skill is None or cover.skill in skills.get(who, ())
        )
        closed = (cover.day, cover.shift) in problem.closed
        if closed and not assigned:
            continue
        shift_type = problem.shift_types[cover.shift]
        result.append(
            {
                "date": problem.date_of(cover.day).isoformat(),
                "shift": cover.shift,
                "shift_type_id": str(shift_type.id),
                "kind": shift_type.kind,
                "skill": cover.skill,
                "minimum": cover.minimum,
                "preferred": cover.requirement,
                "assigned": assigned,
                "closed": closed,
            }
        )
    result.sort(key=lambda row: (str(row["date"]), str(row["shift"]), str(row["skill"] or "")))
    return result


def minimum_met(coverage: Iterable[Mapping[str, object]]) -> bool:
    return all(int(str(row["assigned"])) >= int(str(row["minimum"])) for row in coverage)


def obvious_conflicts(problem: Problem) -> list[str]:
    """Minimum covers that too few people could ever fill, found without the solver.

    These are the commonest reason a roster cannot be met, and saying "only 1 person with US may
    work US-N on Sat" is more useful than any solver explanation.
    """
    instance = problem.instance
    found: list[str] = []
    for cover in instance.cover:
        if cover.minimum <= 0:
            continue
        candidates = [
            employee.id
            for employee in instance.employees
            if employee.max_shifts.get(cover.shift, 0) > 0
            and cover.day not in employee.days_off
            and (cover.skill is None or cover.skill in employee.skills)
        ]
        if len(candidates) < cover.minimum:
            skill = f" with skill {cover.skill}" if cover.skill else ""
            who = ", ".join(candidates) if candidates else "nobody"
            found.append(
                f"Minimum cover of {cover.minimum} on {problem.format_day(cover.day)} shift "
                f"{cover.shift}{skill}: only {len(candidates)} may work it ({who})"
            )
    return found


def _describe_cost(problem: Problem, before: Evaluation, after: Evaluation, day: int) -> str:
    parts: list[str] = []
    for term, words in (
        ("cover_under", "leave a shift that day below its preferred cover"),
        ("cover_over", "put more people on a shift than it wants"),
        ("fairness", "make nights, weekends, holidays or on-call less evenly shared"),
        ("shift_on", "cost someone else's wish to work"),
        ("shift_off", "cost someone else's wish to be off"),
        ("change", "change more of the published roster"),
    ):
        delta = after.breakdown.get(term, 0) - before.breakdown.get(term, 0)
        if delta > 0:
            parts.append(f"{words} (+{delta})")
    if not parts:
        return "Granting it alone would cost nothing more; the solver did not reach it in time."
    del day
    return "Granting it would " + "; ".join(parts) + "."


RULE_NAMES = {
    "days_off": "day off (leave)",
    "rotation": "minimum rest between shifts",
    "max_shifts": "shift type allowed / nights and on-call limit",
    "max_minutes": "maximum working time",
    "min_minutes": "contracted minimum working time",
    "max_consecutive": "maximum consecutive working days",
    "min_consecutive": "minimum consecutive working days",
    "min_consecutive_off": "minimum consecutive days off",
    "max_weekends": "maximum weekends worked",
    "min_cover": "minimum cover",
    "frozen": "frozen day",
}


def rule_words(problem: Problem, violation: Violation) -> str:
    """A broken rule as the coordinator reads it: its name, then the core's detail with dates."""
    name = RULE_NAMES.get(violation.rule, violation.rule)
    return f"{name}: {problem.humanize(violation.detail)}"


def unmet_requests(problem: Problem, assignment: Assignment) -> list[dict[str, object]]:
    """Each wish the roster does not grant, with what granting it alone would have broken or cost.

    The reason is a counterfactual on the solved roster: only that one person-day changed, every
    hard rule checked by the core evaluator and the objective compared term by term. It is honest
    about what the request conflicts with, not a claim that no other roster could grant it.
    """
    from radflow.core.rostering.evaluate import evaluate

    instance = problem.instance
    result: list[dict[str, object]] = []
    by_day: dict[int, Instance] = {}
    for origin in problem.origins:
        current = assignment.get((origin.employee, origin.day))
        granted = current == origin.shift if origin.wants else current != origin.shift
        if granted:
            continue
        if origin.wants and origin.shift not in problem.allowed.get(origin.employee, ()):
            why = f"{origin.shift} is not one of the shifts they may work."
        elif origin.wants and origin.day in _days_off(problem, origin.employee):
            why = "They are on approved leave that day."
        else:
            local = by_day.get(origin.day)
            if local is None:
                local = _replace_cover(instance, origin.day)
                by_day[origin.day] = local
            changed = dict(assignment)
            if origin.wants:
                changed[origin.employee, origin.day] = origin.shift
            else:
                changed.pop((origin.employee, origin.day), None)
            before = evaluate(local, assignment)
            after = evaluate(local, changed)
            seen = {violation.detail for violation in before.violations}
            broken = [v for v in after.violations if v.detail not in seen]
            if broken:
                why = "Granting it would break " + "; ".join(
                    rule_words(problem, v) for v in broken[:3]
                )
            else:
                why = _describe_cost(problem, before, after, origin.day)
        result.append(
            {
                "staff_id": str(problem.staff_of[origin.employee]),
                "name": origin.employee,
                "date": problem.date_of(origin.day).isoformat(),
                "shift": origin.shift,
                "wants": origin.wants,
                "what": origin.label,
                "source": origin.source,
                "weight": origin.weight,
                "assigned": current,
                "why": why,
            }
        )
    return result


def _days_off(problem: Problem, who: str) -> frozenset[int]:
    for employee in problem.instance.employees:
        if employee.id == who:
            return employee.days_off
    return frozenset()


def _replace_cover(instance: Instance, day: int) -> Instance:
    """The instance with only one day's cover: a change on that day touches no other cover."""
    from dataclasses import replace

    return replace(instance, cover=tuple(c for c in instance.cover if c.day == day))


# --- independent parts ------------------------------------------------------------------------


def split_instance(instance: Instance) -> list[Instance]:
    """The instance as independent parts: people who can never share a shift, a cover or a
    fairness term do not constrain each other, so each group is solved alone.

    A department roster falls apart this way into teams (Main ultrasound, Main CT and X-ray,
    the outpatient centre's MR ...) of a dozen people at most; CP-SAT finds rosters for those in
    a fraction of the time it needs for the whole department at once.
    """
    from dataclasses import replace

    parent = {employee.id: employee.id for employee in instance.employees}

    def find(item: str) -> str:
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    def union(a: str, b: str) -> None:
        parent[find(a)] = find(b)

    by_shift: dict[str, list[str]] = defaultdict(list)
    for employee in instance.employees:
        for shift, limit in employee.max_shifts.items():
            if limit > 0:
                by_shift[shift].append(employee.id)
    for people in by_shift.values():
        for other in people[1:]:
            union(people[0], other)
    for term in instance.fairness:
        members = sorted(term.employees)
        for other in members[1:]:
            union(members[0], other)

    groups: dict[str, list[Employee]] = defaultdict(list)
    for employee in instance.employees:
        groups[find(employee.id)].append(employee)
    owner = {shift: find(people[0]) for shift, people in by_shift.items()}
    parts: list[Instance] = []
    for root, employees in sorted(groups.items(), key=lambda item: item[0]):
        ids = {employee.id for employee in employees}
        parts.append(
            replace(
                instance,
                name=f"{instance.name}:{len(parts)}",
                employees=tuple(employees),
                shift_on=tuple(r for r in instance.shift_on if r.employee in ids),
                shift_off=tuple(r for r in instance.shift_off if r.employee in ids),
                cover=tuple(c for c in instance.cover if owner.get(c.shift) == root),
                fairness=tuple(f for f in instance.fairness if f.employees & ids),
                previous={key: value for key, value in instance.previous.items() if key[0] in ids},
            )
        )
    return parts
