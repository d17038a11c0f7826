"""The CP-SAT formulation of a scheduling day.

One start variable per movable exam; one optional interval per eligible room (duration +
turnover), per eligible staff member and per device that can be out of service, and one per
required resource; exactly one room and one staff member when the exam is present. Each room,
staff member, device and resource has one NoOverlap, in which the time it is closed (gaps between
windows, before the first, after the last + max_overtime) and the time fixed exams hold it are
fixed intervals. Every exam is optional: leaving one out costs ``Weights.unscheduled``, so an
over-full day still gets a plan, with the exams that do not fit named.

Fixed exams are constants, not variables. Option pruning is exact: a room, staff member or device
is offered only if the exam fits in its free time somewhere between release and window end.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise

from ortools.sat.python import cp_model

from radflow.core.scheduling._calendar import (
    Calendars,
    Spans,
    complement,
    feasible_starts,
    full_reason,
    intersect_ranges,
    merge,
    start_bounds,
    starts_within,
    static_reason,
    subtract,
    union_ranges,
)
from radflow.core.scheduling.day import Assignment, Day, Exam, Priority

Var = cp_model.IntVar
Domain = cp_model.Domain


@dataclass
class ExamVars:
    exam: Exam
    start: Var
    present: Var
    lo: int
    hi: int
    rooms: dict[str, Var] = field(default_factory=dict)
    #: Device of each room option: a fixed id (never out of service when the room is open) or
    #: a literal per device that can be.
    room_device: dict[str, str | None] = field(default_factory=dict)
    device_lits: dict[str, dict[str, Var]] = field(default_factory=dict)
    staff: dict[str, Var] = field(default_factory=dict)
    lateness: Var | None = None
    wait: Var | None = None
    changed: Var | None = None


@dataclass
class _RoomVars:
    first: Var
    last: Var
    idle: Var
    overtime: Var
    close: int
    gaps: list[tuple[int, int, Var]]
    #: Occupancy (start, end) of fixed exams.
    fixed: list[tuple[int, int]]


class ScheduleModel:
    """A built model and what is needed to hint it and to read a plan back from it."""

    def __init__(
        self,
        day: Day,
        cal: Calendars | None = None,
        *,
        frozen: Mapping[str, Assignment] | None = None,
        frozen_out: Mapping[str, str] | None = None,
        within: Mapping[str, tuple[int, int]] | None = None,
        only: Mapping[str, tuple[frozenset[str], frozenset[str]]] | None = None,
        possible: frozenset[str] = frozenset(),
    ) -> None:
        """``frozen`` exams stay where they are (a neighbourhood of a known plan), like fixed
        ones; ``frozen_out`` exams stay unscheduled, with the reason given."""
        self.day = day
        self.cal = cal or Calendars.of(day)
        self._exams = {e.id: e for e in day.exams}
        self.model = cp_model.CpModel()
        self.vars: dict[str, ExamVars] = {}
        self.frozen = dict(frozen or {})
        #: Exam id -> (earliest, latest) start this model may give it (a neighbourhood's time
        #: window); the day's own limits apply on top.
        self.within = dict(within or {})
        #: Exam id -> (rooms, staff) this model may give it, within its eligible ones.
        self.only = dict(only or {})
        #: Exams already known to pass ``static_reason`` (a search checks them once).
        self.possible = possible
        #: Exams that cannot be placed whatever the others do, with the reason.
        self.forced_out: dict[str, str] = dict(frozen_out or {})
        self.fixed: dict[str, Assignment] = {}
        self.constant = 0
        self.terms: list[tuple[int, Var]] = []
        self._rooms: dict[str, _RoomVars] = {}
        self._staff_over: dict[str, Var] = {}
        self._staff_fixed_end: dict[str, int] = {}
        self._build()

    # -- building --------------------------------------------------------------------------

    def _build(self) -> None:
        day, cal, model = self.day, self.cal, self.model
        w = day.weights
        room_fixed: dict[str, Spans] = defaultdict(list)
        staff_fixed: dict[str, Spans] = defaultdict(list)
        device_fixed: dict[str, Spans] = defaultdict(list)
        resource_fixed: dict[str, Spans] = defaultdict(list)
        for exam in day.exams:
            if exam.fixed:
                if exam.current is None:
                    raise ValueError(f"exam {exam.id} is fixed but has no current assignment")
                a = exam.current
            elif exam.id in self.frozen:
                a = self.frozen[exam.id]
            else:
                continue
            self.fixed[exam.id] = a
            s, e = a.start, a.start + exam.duration
            room_fixed[a.room_id].append((s, e + exam.turnover))
            staff_fixed[a.staff_id].append((s, e))
            if a.device_id is not None:
                device_fixed[a.device_id].append((s, e))
            for res in exam.resources:
                resource_fixed[res].append((s, e))
            self.constant += own_cost(day, exam, a)
        free_room = _FreeTime(cal.room, room_fixed)
        free_staff = _FreeTime(cal.staff, staff_fixed)
        free_device = _FreeTime(cal.device, device_fixed)
        free_res = _FreeTime(cal.resource, resource_fixed)

        room_intervals: dict[str, list[cp_model.IntervalVar]] = defaultdict(list)
        staff_intervals: dict[str, list[cp_model.IntervalVar]] = defaultdict(list)
        device_intervals: dict[str, list[cp_model.IntervalVar]] = defaultdict(list)
        resource_intervals: dict[str, list[cp_model.IntervalVar]] = defaultdict(list)
        # (exam vars, literal, end offset) per room / staff member, for first/last/overtime.
        room_uses: dict[str, list[tuple[ExamVars, Var]]] = defaultdict(list)
        staff_uses: dict[str, list[tuple[ExamVars, Var]]] = defaultdict(list)

        for exam in day.exams:
            if exam.id in self.fixed:
                continue
            if exam.id in self.forced_out:
                self.constant += w.unscheduled
                continue
            reason = None if exam.id in self.possible else static_reason(day, cal, exam)
            if reason is not None:
                self.forced_out[exam.id] = reason
                self.constant += w.unscheduled
                continue
            lo, hi = start_bounds(day, exam)
            if exam.id in self.within:
                lo = max(lo, self.within[exam.id][0])
                hi = min(hi, self.within[exam.id][1])
            d, t = exam.duration, exam.turnover
            eligible_rooms, eligible_staff = exam.rooms, exam.staff
            if exam.id in self.only:
                eligible_rooms = eligible_rooms & self.only[exam.id][0]
                eligible_staff = eligible_staff & self.only[exam.id][1]
            room_ranges: dict[str, Spans] = {}
            room_device: dict[str, str | None] = {}
            device_ranges: dict[str, dict[str, Spans]] = {}
            for r in sorted(eligible_rooms):
                if r not in free_room:
                    continue
                ranges = starts_within(free_room[r], d + t, lo, hi)
                devices = cal.room_devices[r]
                if devices and ranges:
                    per_device = {
                        dev: intersect_ranges(ranges, starts_within(free_device[dev], d, lo, hi))
                        for dev in devices
                    }
                    dominating = [dev for dev in devices if per_device[dev] == ranges]
                    if dominating:
                        room_device[r] = dominating[0]
                    else:
                        usable = {dev: rg for dev, rg in per_device.items() if rg}
                        if not usable:
                            continue
                        device_ranges[r] = usable
                        ranges = union_ranges(x for rg in usable.values() for x in rg)
                elif not devices:
                    room_device[r] = None
                if ranges:
                    room_ranges[r] = ranges
            staff_ranges = {
                k: rg
                for k in sorted(eligible_staff)
                if k in free_staff and (rg := starts_within(free_staff[k], d, lo, hi))
            }
            domain = intersect_ranges(
                union_ranges(x for rg in room_ranges.values() for x in rg),
                union_ranges(x for rg in staff_ranges.values() for x in rg),
            )
            for res in sorted(exam.resources):
                domain = intersect_ranges(domain, starts_within(free_res[res], d, lo, hi))
            if not domain:
                self.forced_out[exam.id] = full_reason(exam)
                self.constant += w.unscheduled
                continue
            # Drop options that share no start with the exam's domain.
            room_ranges = _restricted(room_ranges, domain)
            staff_ranges = _restricted(staff_ranges, domain)
            start = model.new_int_var_from_domain(
                Domain.from_intervals([list(x) for x in domain]), f"s_{exam.id}"
            )
            present = model.new_bool_var(f"p_{exam.id}")
            ev = ExamVars(exam, start, present, domain[0][0], domain[-1][1])
            self.vars[exam.id] = ev
            self.constant += w.unscheduled
            self.terms.append((-w.unscheduled, present))

            for r, ranges in room_ranges.items():
                lit = present if len(room_ranges) == 1 else model.new_bool_var(f"x_{exam.id}_{r}")
                ev.rooms[r] = lit
                if ranges != domain:
                    model.add_linear_expression_in_domain(
                        start, Domain.from_intervals([list(x) for x in ranges])
                    ).only_enforce_if(lit)
                room_intervals[r].append(
                    model.new_optional_fixed_size_interval_var(
                        start, d + t, lit, f"r_{exam.id}_{r}"
                    )
                )
                room_uses[r].append((ev, lit))
                if r in device_ranges:
                    usable = device_ranges[r]
                    lits: dict[str, Var] = {}
                    for dev, rg in usable.items():
                        dlit = lit if len(usable) == 1 else model.new_bool_var(f"z_{exam.id}_{dev}")
                        lits[dev] = dlit
                        device_intervals[dev].append(
                            model.new_optional_fixed_size_interval_var(
                                start, d, dlit, f"d_{exam.id}_{dev}"
                            )
                        )
                        if len(usable) > 1 and rg != ranges:
                            model.add_linear_expression_in_domain(
                                start, Domain.from_intervals([list(x) for x in rg])
                            ).only_enforce_if(dlit)
                    if len(usable) > 1:
                        model.add(sum(lits.values()) == lit)
                    ev.device_lits[r] = lits
                else:
                    ev.room_device[r] = room_device[r]
            if len(room_ranges) > 1:
                model.add(sum(ev.rooms.values()) == present)

            for k, ranges in staff_ranges.items():
                lit = present if len(staff_ranges) == 1 else model.new_bool_var(f"y_{exam.id}_{k}")
                ev.staff[k] = lit
                if ranges != domain:
                    model.add_linear_expression_in_domain(
                        start, Domain.from_intervals([list(x) for x in ranges])
                    ).only_enforce_if(lit)
                staff_intervals[k].append(
                    model.new_optional_fixed_size_interval_var(start, d, lit, f"k_{exam.id}_{k}")
                )
                staff_uses[k].append((ev, lit))
            if len(staff_ranges) > 1:
                model.add(sum(ev.staff.values()) == present)

            for res in sorted(exam.resources):
                resource_intervals[res].append(
                    model.new_optional_fixed_size_interval_var(
                        start, d, present, f"q_{exam.id}_{res}"
                    )
                )
            self._exam_costs(ev)

        self._no_overlap(room_intervals, free_room)
        self._no_overlap(staff_intervals, free_staff)
        self._no_overlap(device_intervals, free_device)
        self._no_overlap(resource_intervals, free_res)
        self._room_costs(room_uses, room_fixed)
        self._staff_costs(staff_uses, staff_fixed)
        self.model.minimize(
            cp_model.LinearExpr.weighted_sum([v for _, v in self.terms], [c for c, _ in self.terms])
            + self.constant
        )

    def _no_overlap(
        self, intervals: Mapping[str, list[cp_model.IntervalVar]], free: _FreeTime
    ) -> None:
        for key, items in intervals.items():
            if not items:
                continue
            blocked = [
                self.model.new_fixed_size_interval_var(a, b - a, f"closed_{key}_{a}")
                for a, b in complement(free[key], self.day.horizon)
            ]
            if len(items) + len(blocked) > 1:
                self.model.add_no_overlap(items + blocked)

    def _exam_costs(self, ev: ExamVars) -> None:
        model, w, exam = self.model, self.day.weights, ev.exam
        weight = 0
        if exam.target_start is not None:
            if exam.priority == Priority.STAT:
                weight = w.stat_lateness
            elif exam.priority == Priority.URGENT:
                weight = w.urgent_lateness
        target = exam.target_start
        if weight and target is not None and ev.hi > target:
            ev.lateness = model.new_int_var(0, ev.hi - target, f"late_{exam.id}")
            model.add(ev.lateness >= ev.start - target).only_enforce_if(ev.present)
            self.terms.append((weight, ev.lateness))
        if exam.booked_start is not None and w.wait and ev.hi > exam.booked_start:
            booked = exam.booked_start
            ev.wait = model.new_int_var(0, ev.hi - booked, f"wait_{exam.id}")
            model.add(ev.wait >= ev.start - booked).only_enforce_if(ev.present)
            self.terms.append((w.wait, ev.wait))
        current = exam.current
        if current is None:
            return
        if exam.notified and w.change:
            if ev.lo <= current.start <= ev.hi:
                ev.changed = model.new_bool_var(f"moved_{exam.id}")
                model.add(ev.start == current.start).only_enforce_if(
                    [ev.present, ev.changed.negated()]
                )
                self.terms.append((w.change, ev.changed))
            else:
                self.terms.append((w.change, ev.present))
        if w.reassign:
            # (present - kept) per room and per staff member: linear and exact.
            self.terms.append((2 * w.reassign, ev.present))
            if current.room_id in ev.rooms:
                self.terms.append((-w.reassign, ev.rooms[current.room_id]))
            if current.staff_id in ev.staff:
                self.terms.append((-w.reassign, ev.staff[current.staff_id]))

    def _room_costs(
        self, uses: Mapping[str, list[tuple[ExamVars, Var]]], fixed: Mapping[str, Spans]
    ) -> None:
        """Idle (open minutes between a room's first start and last end not occupied) and
        overtime (minutes past its last close) per room."""
        model, day, w = self.model, self.day, self.day.weights
        for room in day.rooms:
            close = self.cal.room_close.get(room.id)
            if close is None or not (uses.get(room.id) or fixed.get(room.id)):
                continue
            held = fixed.get(room.id, [])
            horizon = day.horizon
            windows = merge((win.start, win.end) for win in room.open)
            if not uses.get(room.id):  # only exams that do not move here: a constant
                first_c, last_c = min(s for s, _ in held), max(e for _, e in held)
                closed = sum(
                    b - a for (_, a), (b, _) in pairwise(windows) if first_c <= a and b <= last_c
                )
                busy_c = sum(e - s for s, e in held)
                self.constant += w.idle * max(0, last_c - first_c - busy_c - closed)
                self.constant += w.overtime * max(0, last_c - close)
                continue
            first = model.new_int_var(0, min([horizon, *(s for s, _ in held)]), f"first_{room.id}")
            last = model.new_int_var(max([0, *(e for _, e in held)]), horizon, f"last_{room.id}")
            busy_terms: list[tuple[int, Var]] = []
            for ev, lit in uses.get(room.id, []):
                occupy = ev.exam.duration + ev.exam.turnover
                model.add(first <= ev.start).only_enforce_if(lit)
                model.add(last >= ev.start + occupy).only_enforce_if(lit)
                busy_terms.append((occupy, lit))
            fixed_busy = sum(e - s for s, e in held)
            gaps: list[tuple[int, int, Var]] = []
            for (_, a), (b, _) in pairwise(windows):
                g = model.new_bool_var(f"gap_{room.id}_{a}")
                model.add(first <= a).only_enforce_if(g)
                model.add(last >= b).only_enforce_if(g)
                gaps.append((a, b, g))
            idle = model.new_int_var(0, horizon, f"idle_{room.id}")
            busy = cp_model.LinearExpr.weighted_sum(
                [v for _, v in busy_terms], [c for c, _ in busy_terms]
            )
            gap_sum = cp_model.LinearExpr.weighted_sum(
                [g for *_, g in gaps], [b - a for a, b, _ in gaps]
            )
            model.add(idle >= last - first - busy - gap_sum - fixed_busy)
            overtime = model.new_int_var(0, max(0, horizon - close), f"over_{room.id}")
            model.add(overtime >= last - close)
            self.terms.append((w.idle, idle))
            self.terms.append((w.overtime, overtime))
            self._rooms[room.id] = _RoomVars(first, last, idle, overtime, close, gaps, list(held))

    def _staff_costs(
        self, uses: Mapping[str, list[tuple[ExamVars, Var]]], fixed: Mapping[str, Spans]
    ) -> None:
        model, day, w = self.model, self.day, self.day.weights
        for person in day.staff:
            close = self.cal.staff_close.get(person.id)
            if close is None:
                continue
            fixed_end = max((e for _, e in fixed.get(person.id, [])), default=None)
            floor = max(0, fixed_end - close) if fixed_end is not None else 0
            late_uses = [
                (ev, lit)
                for ev, lit in uses.get(person.id, [])
                if ev.hi + ev.exam.duration > close + floor
            ]
            if not late_uses:
                self.constant += w.overtime * floor
                continue
            over = model.new_int_var(floor, max(floor, day.horizon - close), f"over_{person.id}")
            for ev, lit in late_uses:
                model.add(over >= ev.start + ev.exam.duration - close).only_enforce_if(lit)
            self.terms.append((w.overtime, over))
            self._staff_over[person.id] = over
            if fixed_end is not None:
                self._staff_fixed_end[person.id] = fixed_end

    # -- plans in and out ------------------------------------------------------------------

    def values_of(self, assignments: Mapping[str, Assignment]) -> dict[int, int]:
        """Every variable's value for a plan, auxiliaries as tight as the plan allows.

        Options the model does not offer make the plan unrepresentable: KeyError.
        """
        values: dict[int, int] = {}
        for exam_id, ev in self.vars.items():
            a = assignments.get(exam_id)
            exam = ev.exam
            if a is not None and (a.room_id not in ev.rooms or a.staff_id not in ev.staff):
                raise KeyError(exam_id)
            on = a is not None
            start = a.start if a is not None else ev.lo
            values[ev.start.index] = start
            values[ev.present.index] = int(on)
            for r, lit in ev.rooms.items():
                values[lit.index] = int(on and a is not None and a.room_id == r)
            for r, lits in ev.device_lits.items():
                for dev, lit in lits.items():
                    values[lit.index] = int(a is not None and a.room_id == r and a.device_id == dev)
            for k, lit in ev.staff.items():
                values[lit.index] = int(on and a is not None and a.staff_id == k)
            if ev.lateness is not None and exam.target_start is not None:
                values[ev.lateness.index] = max(0, start - exam.target_start) if on else 0
            if ev.wait is not None and exam.booked_start is not None:
                values[ev.wait.index] = max(0, start - exam.booked_start) if on else 0
            if ev.changed is not None and exam.current is not None:
                values[ev.changed.index] = int(on and start != exam.current.start)
        exams = self._exams
        placed = dict(self.fixed)
        placed.update({i: a for i, a in assignments.items() if i in self.vars})
        by_room: dict[str, list[tuple[int, int]]] = defaultdict(list)
        staff_ends: dict[str, list[int]] = defaultdict(list)
        for i, a in placed.items():
            exam = exams[i]
            if a.room_id in self._rooms:
                by_room[a.room_id].append((a.start, a.start + exam.duration + exam.turnover))
            if a.staff_id in self._staff_over:
                staff_ends[a.staff_id].append(a.start + exam.duration)
        for room_id, rv in self._rooms.items():
            spans = by_room[room_id]
            if spans:
                first, last = min(s for s, _ in spans), max(e for _, e in spans)
            else:
                first = last = 0
            values[rv.first.index] = first
            values[rv.last.index] = last
            closed = 0
            for gap_start, gap_end, g in rv.gaps:
                inside = bool(spans) and first <= gap_start and last >= gap_end
                values[g.index] = int(inside)
                closed += (gap_end - gap_start) * inside
            busy = sum(e - s for s, e in spans)
            values[rv.idle.index] = max(0, last - first - busy - closed)
            values[rv.overtime.index] = max(0, last - rv.close)
        for person_id, over in self._staff_over.items():
            close = self.cal.staff_close[person_id] or 0  # set: it has an overtime variable
            values[over.index] = max([0, *(e - close for e in staff_ends[person_id])])
        return values

    def cost(self, values: Mapping[int, int]) -> int:
        """The objective at ``values`` (as ``values_of`` makes them)."""
        return self.constant + sum(c * values[v.index] for c, v in self.terms)

    def add_hint(self, assignments: Mapping[str, Assignment]) -> int:
        """Hint a whole plan; returns its objective under this model."""
        values = self.values_of(assignments)
        for index, value in values.items():
            self.model.add_hint(self.model.get_int_var_from_proto_index(index), value)
        return self.cost(values)

    def read(
        self, solver: cp_model.CpSolver | cp_model.CpSolverSolutionCallback
    ) -> tuple[dict[str, Assignment], dict[str, str]]:
        """The plan in a solution: assignments (fixed exams included) and unscheduled reasons."""
        assignments: dict[str, Assignment] = dict(self.fixed)
        unscheduled: dict[str, str] = dict(self.forced_out)
        for exam_id, ev in self.vars.items():
            if not solver.boolean_value(ev.present):
                unscheduled[exam_id] = full_reason(ev.exam)
                continue
            room = next(r for r, lit in ev.rooms.items() if solver.boolean_value(lit))
            staff = next(k for k, lit in ev.staff.items() if solver.boolean_value(lit))
            if room in ev.device_lits:
                device: str | None = next(
                    dev for dev, lit in ev.device_lits[room].items() if solver.boolean_value(lit)
                )
            else:
                device = ev.room_device[room]
            assignments[exam_id] = Assignment(exam_id, room, device, staff, solver.value(ev.start))
        return assignments, unscheduled


def _restricted(options: dict[str, Spans], domain: Spans) -> dict[str, Spans]:
    """Each option's start ranges within ``domain``; options left with none are dropped."""
    result: dict[str, Spans] = {}
    for key, ranges in options.items():
        inside = intersect_ranges(ranges, domain)
        if inside:
            result[key] = inside
    return result


def own_cost(day: Day, exam: Exam, a: Assignment) -> int:
    """An exam's own cost at ``a``: lateness, wait and changes against ``current`` (its
    overtime and idle are counted with its room's and staff member's)."""
    w = day.weights
    cost = 0
    if exam.target_start is not None:
        late = max(0, a.start - exam.target_start)
        if exam.priority == Priority.STAT:
            cost += w.stat_lateness * late
        elif exam.priority == Priority.URGENT:
            cost += w.urgent_lateness * late
    if exam.booked_start is not None:
        cost += w.wait * max(0, a.start - exam.booked_start)
    current = exam.current
    if current is not None:  # nil for a fixed exam, which is at ``current``
        if exam.notified and a.start != current.start:
            cost += w.change
        moved = int(a.room_id != current.room_id) + int(a.staff_id != current.staff_id)
        cost += w.reassign * moved
    return cost


def lower_bound(day: Day, cal: Calendars) -> int:
    """A valid lower bound on any plan's objective, cheap to compute: every exam alone in the
    day at its earliest possible start (or unscheduled if cheaper), plus the overtime that fixed
    exams already cause. Idle and all congestion are left out, so it is weak on full days."""
    w = day.weights
    total = 0
    room_end: dict[str, int] = {}
    staff_end: dict[str, int] = {}
    for exam in day.exams:
        if exam.fixed and exam.current is not None:
            a = exam.current
            total += own_cost(day, exam, a)
            end = a.start + exam.duration
            room_end[a.room_id] = max(room_end.get(a.room_id, 0), end + exam.turnover)
            staff_end[a.staff_id] = max(staff_end.get(a.staff_id, 0), end)
            continue
        starts = feasible_starts(day, cal, exam)
        if isinstance(starts, str):
            total += w.unscheduled
            continue
        first = starts[0][0]
        own = 0
        if exam.target_start is not None:
            late = max(0, first - exam.target_start)
            if exam.priority == Priority.STAT:
                own += w.stat_lateness * late
            elif exam.priority == Priority.URGENT:
                own += w.urgent_lateness * late
        if exam.booked_start is not None:
            own += w.wait * max(0, first - exam.booked_start)
        current = exam.current
        if (
            current is not None
            and exam.notified
            and not any(a <= current.start <= b for a, b in starts)
        ):
            own += w.change
        total += min(own, w.unscheduled)
    for room_id, end in room_end.items():
        close = cal.room_close.get(room_id)
        if close is not None:
            total += w.overtime * max(0, end - close)
    for staff_id, end in staff_end.items():
        close = cal.staff_close.get(staff_id)
        if close is not None:
            total += w.overtime * max(0, end - close)
    return total


def plan_cost(
    day: Day, cal: Calendars, assignments: Mapping[str, Assignment], unscheduled: Mapping[str, str]
) -> int:
    """The model's cost of a whole plan: every exam frozen, only the auxiliaries left."""
    model = ScheduleModel(day, cal, frozen=assignments, frozen_out=unscheduled)
    return model.add_hint({})


class _FreeTime:
    """Each resource's allowance minus the time fixed exams hold, computed on first use: a
    neighbourhood touches only a few of the day's resources."""

    def __init__(self, allowance: Mapping[str, Spans], held: Mapping[str, Spans]) -> None:
        self.allowance = allowance
        self.held = held
        self.cache: dict[str, Spans] = {}

    def __contains__(self, key: object) -> bool:
        return key in self.allowance

    def __getitem__(self, key: str) -> Spans:
        spans = self.cache.get(key)
        if spans is None:
            held = self.held.get(key)
            spans = subtract(self.allowance[key], merge(held)) if held else self.allowance[key]
            self.cache[key] = spans
        return spans
