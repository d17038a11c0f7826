"""The CP-SAT formulation of a roster problem, whole or as a neighbourhood of a known roster.

One builder serves three callers: the full model (a lower bound and first rosters), the
large-neighbourhood search (most people and days fixed to the current roster, so they enter as
constants and the sub-model stays small enough to solve to optimality in a second), and the
infeasibility explainer (every rule group guarded by an assumption literal).

Rosters are handled internally as ``Grid``: one row per employee in instance order, one shift index
per day, ``OFF`` for a day off. It is cheaper to copy and compare than ``Assignment`` dicts.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from radflow.core.rostering.instance import Assignment, Employee, Instance

OFF = -1
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

Grid = list[list[int]]
#: A literal of the model or a known truth value (0/1) when the cell is fixed.
Lit = cp_model.IntVar | int


def day_label(day: int) -> str:
    return f"day {day} ({DAY_NAMES[day % 7]})"


def grid_from_assignment(instance: Instance, assignment: Assignment) -> Grid:
    index = {shift.id: i for i, shift in enumerate(instance.shifts)}
    return [
        [index.get(assignment.get((employee.id, day), ""), OFF) for day in range(instance.horizon)]
        for employee in instance.employees
    ]


def assignment_from_grid(instance: Instance, grid: Grid) -> Assignment:
    return {
        (employee.id, day): instance.shifts[value].id
        for employee, row in zip(instance.employees, grid, strict=True)
        for day, value in enumerate(row)
        if value != OFF
    }


def grid_objective(instance: Instance, grid: Grid) -> int:
    """The objective of a roster, computed from scratch (the solver's value may carry slack)."""
    shift_index = {shift.id: i for i, shift in enumerate(instance.shifts)}
    employee_index = {employee.id: i for i, employee in enumerate(instance.employees)}
    total = 0
    for request in instance.shift_on:
        if grid[employee_index[request.employee]][request.day] != shift_index.get(request.shift):
            total += request.weight
    for request in instance.shift_off:
        if grid[employee_index[request.employee]][request.day] == shift_index.get(request.shift):
            total += request.weight
    for cover in instance.cover:
        s = shift_index.get(cover.shift)
        assigned = sum(
            1
            for e, employee in enumerate(instance.employees)
            if grid[e][cover.day] == s and (cover.skill is None or cover.skill in employee.skills)
        )
        if assigned < cover.requirement:
            total += cover.under_weight * (cover.requirement - assigned)
        else:
            total += cover.over_weight * (assigned - cover.requirement)
    for fairness in instance.fairness:
        shifts = {shift_index[s] for s in fairness.shifts if s in shift_index}
        days = fairness.days or range(instance.horizon)
        counts = [
            sum(1 for d in days if d < instance.horizon and grid[e][d] in shifts)
            for e, employee in enumerate(instance.employees)
            if employee.id in fairness.employees
        ]
        if counts:
            total += fairness.weight * (max(counts) - min(counts))
    if instance.change_weight:
        previous = grid_from_assignment(instance, dict(instance.previous))
        total += instance.change_weight * sum(
            1
            for e in range(len(instance.employees))
            for d in range(instance.horizon)
            if grid[e][d] != previous[e][d]
        )
    return total


@dataclass
class RosterModel:
    """A built CP-SAT model and the handles needed to read a roster back out of it."""

    instance: Instance
    model: cp_model.CpModel
    #: (employee, day) -> {shift index: literal or 0/1 constant}.
    cells: dict[tuple[int, int], dict[int, Lit]]
    #: Assumption literal index -> the rule it guards, in words (explain mode only).
    groups: dict[int, str] = field(default_factory=dict)

    def grid(self, solver: cp_model.CpSolver | cp_model.CpSolverSolutionCallback) -> Grid:
        instance = self.instance
        grid = [[OFF] * instance.horizon for _ in instance.employees]
        for (e, d), shifts in self.cells.items():
            for s, lit in shifts.items():
                if lit == 1 if isinstance(lit, int) else solver.boolean_value(lit):
                    grid[e][d] = s
        return grid

    def add_hint(self, grid: Grid) -> None:
        for (e, d), shifts in self.cells.items():
            for s, lit in shifts.items():
                if not isinstance(lit, int):
                    self.model.add_hint(lit, grid[e][d] == s)


class _Builder:
    def __init__(self, instance: Instance, explain: bool) -> None:
        self.instance = instance
        self.explain = explain
        self.model = cp_model.CpModel()
        self.groups: dict[int, str] = {}

    def guard(self, description: str) -> list[cp_model.IntVar]:
        """Enforcement literals for a rule group: one assumption per group when explaining."""
        if not self.explain:
            return []
        literal = self.model.new_bool_var(description)
        self.groups[literal.index] = description
        self.model.add_assumption(literal)
        return [literal]

    def clause(
        self, positive: Sequence[Lit], negative: Sequence[Lit], guard: list[cp_model.IntVar]
    ) -> None:
        """At least one of ``positive`` true or one of ``negative`` false; constants fold away."""
        literals: list[cp_model.LiteralT] = []
        for lit in positive:
            if isinstance(lit, int):
                if lit:
                    return
            else:
                literals.append(lit)
        for lit in negative:
            if isinstance(lit, int):
                if not lit:
                    return
            else:
                literals.append(lit.negated())
        if not literals and not guard:
            # Only reachable when a fixed part of the roster already breaks the rule.
            self.model.add_bool_or([self.model.new_constant(0)])
            return
        self.model.add_bool_or(literals).only_enforce_if(guard)

    def linear(self, terms: Sequence[tuple[int, Lit]]) -> tuple[cp_model.LinearExpr | int, bool]:
        constant = 0
        variables: list[cp_model.IntVar] = []
        coefficients: list[int] = []
        for coefficient, lit in terms:
            if isinstance(lit, int):
                constant += coefficient * lit
            else:
                variables.append(lit)
                coefficients.append(coefficient)
        if not variables:
            return constant, False
        return cp_model.LinearExpr.weighted_sum(variables, coefficients) + constant, True


SEQUENCE_AUTOMATON = False


def _add_sequence_automaton(
    model: cp_model.CpModel, row: Sequence[Lit], employee: Employee, horizon: int
) -> None:
    """Consecutive-day rules as one automaton over the day-on/day-off sequence.

    Equivalent to the clauses (including the horizon-edge rules: a run touching either edge is
    never too short) but its expansion gives CP-SAT a flow LP, much tighter than the clauses.
    """
    longest = max(1, min(employee.max_consecutive, horizon))
    shortest = employee.min_consecutive
    rest = max(1, employee.min_consecutive_off)
    states: dict[tuple[str, int, int], int] = {("start", 0, 0): 0}

    def state(kind: str, run: int, edge: int = 0) -> int:
        return states.setdefault((kind, run, edge), len(states))

    transitions: list[tuple[int, int, int]] = []
    transitions.append((0, 1, state("work", 1, 1)))
    transitions.append((0, 0, state("off", rest)))
    for edge in (0, 1):
        for run in range(1, longest + 1):
            here = state("work", run, edge)
            if run < longest:
                transitions.append((here, 1, state("work", run + 1, edge)))
            if edge or run >= shortest:
                transitions.append((here, 0, state("off", 1)))
    for run in range(1, rest + 1):
        here = state("off", run)
        transitions.append((here, 0, state("off", min(rest, run + 1))))
        if run >= rest:
            transitions.append((here, 1, state("work", 1, 0)))
    variables = [model.new_constant(v) if isinstance(v, int) else v for v in row]
    model.add_automaton(variables, 0, sorted(set(states.values()) - {0}), transitions)


def build_model(
    instance: Instance,
    *,
    base: Grid | None = None,
    free_employees: Collection[int] | None = None,
    free_days: Collection[int] | None = None,
    explain: bool = False,
) -> RosterModel:
    """Build the model; with ``base``, cells outside free employees x free days are fixed to it.

    Fixed cells are constants, not variables, and rules touching only fixed cells are dropped
    (``base`` is assumed to satisfy them), which keeps neighbourhood models small.
    """
    b = _Builder(instance, explain)
    model = b.model
    horizon = instance.horizon
    shifts = instance.shifts
    shift_index = {shift.id: i for i, shift in enumerate(shifts)}
    employees = instance.employees
    n_employees = len(employees)
    if base is None:
        free_e = set(range(n_employees))
        free_d = set(range(horizon))
    else:
        free_e = set(range(n_employees)) if free_employees is None else set(free_employees)
        free_d = set(range(horizon)) if free_days is None else set(free_days)
    previous = grid_from_assignment(instance, dict(instance.previous))
    on_duty: list[list[list[int]]] = [[[] for _ in shifts] for _ in range(horizon)]
    if base is not None:
        for e, row_values in enumerate(base):
            for d, value in enumerate(row_values):
                if value != OFF:
                    on_duty[d][value].append(e)

    cells: dict[tuple[int, int], dict[int, Lit]] = {}
    work: list[list[Lit]] = [[0] * horizon for _ in employees]
    for e, employee in enumerate(employees):
        for d in range(horizon):
            if base is not None and (e not in free_e or d not in free_d):
                value = base[e][d]
                cells[e, d] = {value: 1} if value != OFF else {}
                work[e][d] = 1 if value != OFF else 0
                continue
            cell: dict[int, Lit] = {}
            for s, shift in enumerate(shifts):
                allowed = employee.max_shifts.get(shift.id, 0) > 0
                if not explain:
                    if not allowed or d in employee.days_off:
                        continue
                    if d in instance.frozen_days and previous[e][d] != s:
                        continue
                cell[s] = model.new_bool_var(f"x_{e}_{d}_{s}")
            cells[e, d] = cell
            if not explain and d in instance.frozen_days and previous[e][d] != OFF:
                frozen = cell.get(previous[e][d])
                if isinstance(frozen, cp_model.IntVar):
                    model.add(frozen == 1)
                else:  # the published shift is no longer allowed (a day off, a lost skill)
                    model.add_bool_or([model.new_constant(0)])
            if not cell:
                continue
            if len(cell) == 1:
                work[e][d] = next(iter(cell.values()))
                continue
            w = model.new_bool_var(f"w_{e}_{d}")
            model.add(sum(v for v in cell.values() if not isinstance(v, int)) == w)
            work[e][d] = w

    for e, employee in enumerate(employees):
        if e not in free_e:
            continue
        name = employee.id
        row = work[e]

        def x(d: int, s: int, e: int = e) -> Lit:
            return cells[e, d].get(s, 0)

        if explain:
            for d in sorted(employee.days_off):
                if 0 <= d < horizon:
                    model.add(row[d] == 0).only_enforce_if(
                        b.guard(f"employee {name} day off on {day_label(d)}")
                    )
            for s, shift in enumerate(shifts):
                if employee.max_shifts.get(shift.id, 0) <= 0:
                    guard = b.guard(f"employee {name} may not work shift {shift.id}")
                    for d in range(horizon):
                        if not isinstance(x(d, s), int):
                            model.add(x(d, s) == 0).only_enforce_if(guard)
            for d in sorted(instance.frozen_days):
                if 0 <= d < horizon and d in free_d:
                    prev = previous[e][d]
                    what = "off" if prev == OFF else f"on shift {shifts[prev].id}"
                    guard = b.guard(f"employee {name} frozen on {day_label(d)}: stays {what}")
                    if prev == OFF:
                        model.add(row[d] == 0).only_enforce_if(guard)
                    else:
                        model.add(x(d, prev) == 1).only_enforce_if(guard)

        # One clique per shift and day: shift s today, or one of the shifts forbidden after it
        # tomorrow (at most one shift a day makes them a clique). Far fewer constraints than one
        # clause per forbidden pair (18 shift types: 136 pairs) and a tighter LP.
        rotation = [
            (s, [shift_index[t] for t in shift.forbidden_next if t in shift_index])
            for s, shift in enumerate(shifts)
        ]
        rotation = [(s, after) for s, after in rotation if after]
        if rotation:
            guard = b.guard(f"employee {name}: shift rotation (forbidden successions)")
            for d in range(horizon - 1):
                if d not in free_d and d + 1 not in free_d:
                    continue
                for s, after in rotation:
                    today = x(d, s)
                    if isinstance(today, int) and not today:
                        continue
                    following = [x(d + 1, t) for t in after]
                    tomorrow = [lit for lit in following if not isinstance(lit, int) or lit]
                    if not tomorrow:
                        continue
                    if len(tomorrow) == 1:
                        b.clause([], [today, tomorrow[0]], guard)
                        continue
                    expr, has_vars = b.linear([(1, today)] + [(1, lit) for lit in tomorrow])
                    if not has_vars:
                        if isinstance(expr, int) and expr > 1:
                            b.clause([], [1, 1], guard)  # a fixed part breaks the rule
                        continue
                    model.add(expr <= 1).only_enforce_if(guard)

        for s, shift in enumerate(shifts):
            limit = employee.max_shifts.get(shift.id, 0)
            if limit <= 0 or limit >= horizon:
                continue
            expr, has_vars = b.linear([(1, x(d, s)) for d in range(horizon)])
            if has_vars:
                model.add(expr <= limit).only_enforce_if(
                    b.guard(f"employee {name}: at most {limit} shifts {shift.id}")
                )

        minutes, has_vars = b.linear(
            [(shifts[s].minutes, x(d, s)) for d in range(horizon) for s in range(len(shifts))]
        )
        if has_vars:
            model.add(minutes <= employee.max_minutes).only_enforce_if(
                b.guard(f"employee {name}: max total minutes {employee.max_minutes}")
            )
            model.add(minutes >= employee.min_minutes).only_enforce_if(
                b.guard(f"employee {name}: min total minutes {employee.min_minutes}")
            )
            if not explain:
                # Redundant day-count bounds implied by minutes: they tighten the LP.
                lengths = [
                    shift.minutes for shift in shifts if employee.max_shifts.get(shift.id, 0) > 0
                ]
                if lengths and min(lengths) > 0:
                    days_expr, _ = b.linear([(1, row[d]) for d in range(horizon)])
                    model.add(days_expr <= employee.max_minutes // min(lengths))
                    model.add(days_expr >= -(-employee.min_minutes // max(lengths)))

        if SEQUENCE_AUTOMATON and not explain and any(not isinstance(v, int) for v in row):
            _add_sequence_automaton(model, row, employee, horizon)
        else:
            k = employee.max_consecutive
            if 0 <= k < horizon:
                guard = b.guard(f"employee {name}: max {k} consecutive working days")
                for start in range(horizon - k):
                    window = range(start, start + k + 1)
                    if not any(d in free_d for d in window):
                        continue
                    expr, has_vars = b.linear([(1, row[d]) for d in window])
                    if has_vars:
                        model.add(expr <= k).only_enforce_if(guard)

            c = employee.min_consecutive
            if c >= 2:
                guard = b.guard(f"employee {name}: min {c} consecutive working days")
                for start in range(1, horizon - 1):
                    for length in range(1, c):
                        end = start + length  # the day off closing the run
                        if end > horizon - 1:
                            break
                        if not any(d in free_d for d in range(start - 1, end + 1)):
                            continue
                        b.clause([row[start - 1], row[end]], row[start:end], guard)

            c = employee.min_consecutive_off
            if c >= 2:
                guard = b.guard(f"employee {name}: min {c} consecutive days off")
                for start in range(1, horizon - 1):
                    for length in range(1, c):
                        end = start + length
                        if end > horizon - 1:
                            break
                        if not any(d in free_d for d in range(start - 1, end + 1)):
                            continue
                        b.clause(row[start:end], [row[start - 1], row[end]], guard)

        weekends = instance.weekends
        if employee.max_weekends < len(weekends):
            worked: list[Lit] = []
            for saturday, sunday in weekends:
                days = [row[saturday]] + ([row[sunday]] if sunday < horizon else [])
                variables = [v for v in days if not isinstance(v, int)]
                if any(isinstance(v, int) and v == 1 for v in days):
                    worked.append(1)
                elif not variables:
                    worked.append(0)
                elif len(variables) == 1:
                    worked.append(variables[0])
                else:
                    weekend = model.new_bool_var(f"wk_{e}_{saturday}")
                    model.add_max_equality(weekend, variables)
                    worked.append(weekend)
            expr, has_vars = b.linear([(1, v) for v in worked])
            if has_vars:
                model.add(expr <= employee.max_weekends).only_enforce_if(
                    b.guard(f"employee {name}: max {employee.max_weekends} weekends")
                )

    objective: list[tuple[int, Lit]] = []
    constant = 0
    employee_index = {employee.id: i for i, employee in enumerate(employees)}
    for request in instance.shift_on:
        e = employee_index[request.employee]
        si = shift_index.get(request.shift)
        lit = cells[e, request.day].get(si, 0) if si is not None else 0
        constant += request.weight
        objective.append((-request.weight, lit))
    for request in instance.shift_off:
        e = employee_index[request.employee]
        si = shift_index.get(request.shift)
        if si is not None:
            objective.append((request.weight, cells[e, request.day].get(si, 0)))

    for cover in instance.cover:
        si = shift_index.get(cover.shift)
        if si is None:
            members: list[Lit] = []
        elif base is None or (cover.day in free_d and len(free_e) == n_employees):
            members = [
                cells[e, cover.day].get(si, 0)
                for e, employee in enumerate(employees)
                if cover.skill is None or cover.skill in employee.skills
            ]
        else:
            # Fixed people enter as one constant; only the few free ones are looked at.
            day = cover.day
            members = [
                1
                for e in on_duty[day][si]
                if not (e in free_e and day in free_d)
                and (cover.skill is None or cover.skill in employees[e].skills)
            ]
            if day in free_d:
                members += [
                    cells[e, day].get(si, 0)
                    for e in free_e
                    if cover.skill is None or cover.skill in employees[e].skills
                ]
        assigned, has_vars = b.linear([(1, lit) for lit in members])
        if isinstance(assigned, int):
            if assigned < cover.requirement:
                constant += cover.under_weight * (cover.requirement - assigned)
            else:
                constant += cover.over_weight * (assigned - cover.requirement)
            if assigned < cover.minimum:
                model.add_bool_or([model.new_constant(0)])
            continue
        if cover.minimum > 0:
            skill = f" skill {cover.skill}" if cover.skill else ""
            model.add(assigned >= cover.minimum).only_enforce_if(
                b.guard(
                    f"minimum cover of {cover.minimum} on {day_label(cover.day)}"
                    f" shift {cover.shift}{skill}"
                )
            )
        if cover.under_weight > 0 and cover.requirement > 0:
            under = model.new_int_var(0, cover.requirement, "under")
            model.add(under >= cover.requirement - assigned)
            objective.append((cover.under_weight, under))
        if cover.over_weight > 0:
            over = model.new_int_var(0, n_employees, "over")
            model.add(over >= assigned - cover.requirement)
            objective.append((cover.over_weight, over))

    for fairness in instance.fairness:
        if fairness.weight <= 0:
            continue
        chosen = {shift_index[s] for s in fairness.shifts if s in shift_index}
        fair_days = [d for d in (fairness.days or range(horizon)) if 0 <= d < horizon]
        counts = []
        for e, employee in enumerate(employees):
            if employee.id in fairness.employees:
                expr, _ = b.linear([(1, cells[e, d].get(k, 0)) for d in fair_days for k in chosen])
                counts.append(expr)
        if len(counts) < 2:
            continue
        high = model.new_int_var(0, len(fair_days), f"max_{fairness.name}")
        low = model.new_int_var(0, len(fair_days), f"min_{fairness.name}")
        for expr in counts:
            model.add(high >= expr)
            model.add(low <= expr)
        objective.append((fairness.weight, high))
        objective.append((-fairness.weight, low))

    if instance.change_weight:
        weight = instance.change_weight
        for e in range(n_employees):
            for d in range(horizon):
                prev = previous[e][d]
                if prev == OFF:
                    objective.append((weight, work[e][d]))
                else:
                    constant += weight
                    objective.append((-weight, cells[e, d].get(prev, 0)))

    expr, _ = b.linear(objective)
    if not explain:
        model.minimize(expr + constant)
    return RosterModel(instance=instance, model=model, cells=cells, groups=b.groups)
