"""The peer: the same roster problem as a plain MIP, solved by CBC through PuLP.

A textbook formulation on purpose (one binary per employee, day and shift; every hard rule as
linear constraints; cover deviations as continuous variables), so the benchmark shows what RadFlow's
CP-SAT model adds over what anyone would write first. It reads the same ``Instance`` and returns an
``Assignment``, so its rosters are checked by the same independent evaluator.

Run alone: ``python bench/peers/cbc_roster.py Instance1.txt --seconds 10``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pulp  # type: ignore[import-untyped]

from radflow.core.rostering.instance import Assignment, Instance

#: CBC's threads; RadFlow's solver runs with 2 workers on the same 2-core machine.
THREADS = 2


@dataclass(frozen=True)
class CbcResult:
    #: "optimal", "feasible", "infeasible" or "unknown" (no roster within the time).
    status: str
    objective: int | None
    bound: float | None
    seconds: float
    assignment: Assignment = field(default_factory=dict)
    threads: int = THREADS


def build(instance: Instance) -> tuple[pulp.LpProblem, dict[tuple[str, int, str], pulp.LpVariable]]:
    """The MIP: binaries x[e, d, s], only where the person may work that shift that day."""
    horizon = instance.horizon
    problem = pulp.LpProblem(f"roster_{instance.name}", pulp.LpMinimize)
    shifts = {shift.id: shift for shift in instance.shifts}
    x: dict[tuple[str, int, str], pulp.LpVariable] = {}
    for e_index, employee in enumerate(instance.employees):
        for day in range(horizon):
            if day in employee.days_off:
                continue
            for s_index, shift in enumerate(instance.shifts):
                if employee.max_shifts.get(shift.id, 0) > 0:
                    x[(employee.id, day, shift.id)] = pulp.LpVariable(
                        f"x_{e_index}_{day}_{s_index}", cat=pulp.LpBinary
                    )

    def works(who: str, day: int) -> pulp.LpAffineExpression:
        return pulp.lpSum(x[(who, day, s)] for s in shifts if (who, day, s) in x)

    objective: list[pulp.LpAffineExpression | pulp.LpVariable] = []
    for e_index, employee in enumerate(instance.employees):
        who = employee.id
        w = [works(who, day) for day in range(horizon)]
        for day in range(horizon):
            if len(w[day]) > 1:
                problem += w[day] <= 1
        # Rotation; the days outside the horizon are off, so only pairs inside.
        for day in range(horizon - 1):
            for shift in instance.shifts:
                for nxt in shift.forbidden_next:
                    a, b = (who, day, shift.id), (who, day + 1, nxt)
                    if a in x and b in x:
                        problem += x[a] + x[b] <= 1
        for shift in instance.shifts:
            limit = employee.max_shifts.get(shift.id, 0)
            terms = [x[(who, d, shift.id)] for d in range(horizon) if (who, d, shift.id) in x]
            if limit < len(terms):
                problem += pulp.lpSum(terms) <= limit
        minutes = pulp.lpSum(shifts[s].minutes * var for (e, _d, s), var in x.items() if e == who)
        problem += minutes <= employee.max_minutes
        problem += minutes >= employee.min_minutes
        # Max consecutive: every window of max+1 days holds a day off.
        k = employee.max_consecutive
        for start in range(horizon - k):
            problem += pulp.lpSum(w[start : start + k + 1]) <= k
        # Min consecutive shifts: forbid off, l days on, off strictly inside the horizon.
        for length in range(1, employee.min_consecutive):
            for start in range(1, horizon - length):
                problem += (
                    w[start - 1]
                    + pulp.lpSum(1 - w[j] for j in range(start, start + length))
                    + w[start + length]
                    >= 1
                )
        # Min consecutive days off: forbid on, l days off, on strictly inside the horizon.
        for length in range(1, employee.min_consecutive_off):
            for start in range(1, horizon - length):
                problem += (1 - w[start - 1]) + pulp.lpSum(
                    w[j] for j in range(start, start + length)
                ) + (1 - w[start + length]) >= 1
        weekend_vars = []
        for index, (saturday, sunday) in enumerate(instance.weekends):
            worked = pulp.LpVariable(f"wk_{e_index}_{index}", cat=pulp.LpBinary)
            problem += worked >= w[saturday]
            if sunday < horizon:
                problem += worked >= w[sunday]
            weekend_vars.append(worked)
        if len(weekend_vars) > employee.max_weekends:
            problem += pulp.lpSum(weekend_vars) <= employee.max_weekends
        # Frozen days and the cost of changing the published roster.
        for day in range(horizon):
            was = instance.previous.get((who, day))
            if day in instance.frozen_days:
                for s in shifts:
                    if (who, day, s) in x:
                        problem += x[(who, day, s)] == (1 if s == was else 0)
            if instance.change_weight:
                if was is None:
                    objective.append(instance.change_weight * w[day])
                elif (who, day, was) in x:
                    objective.append(instance.change_weight * (1 - x[(who, day, was)]))
                else:
                    objective.append(pulp.LpAffineExpression(constant=instance.change_weight))

    for request in instance.shift_on:
        key = (request.employee, request.day, request.shift)
        objective.append(
            request.weight * (1 - x[key])
            if key in x
            else pulp.LpAffineExpression(constant=request.weight)
        )
    for request in instance.shift_off:
        key = (request.employee, request.day, request.shift)
        if key in x:
            objective.append(request.weight * x[key])

    skills = {employee.id: employee.skills for employee in instance.employees}
    for index, cover in enumerate(instance.cover):
        assigned = pulp.lpSum(
            x[(employee.id, cover.day, cover.shift)]
            for employee in instance.employees
            if (employee.id, cover.day, cover.shift) in x
            and (cover.skill is None or cover.skill in skills[employee.id])
        )
        under = pulp.LpVariable(f"under_{index}", lowBound=0)
        over = pulp.LpVariable(f"over_{index}", lowBound=0)
        problem += assigned - cover.requirement == over - under
        if cover.minimum:
            problem += assigned >= cover.minimum
        objective.append(cover.under_weight * under + cover.over_weight * over)

    for index, rule in enumerate(instance.fairness):
        members = [e for e in instance.employees if e.id in rule.employees]
        if not members:
            continue
        days = [d for d in range(horizon) if not rule.days or d in rule.days]
        high = pulp.LpVariable(f"fair_max_{index}", lowBound=0)
        low = pulp.LpVariable(f"fair_min_{index}", lowBound=0)
        for employee in members:
            count = pulp.lpSum(
                x[(employee.id, d, s)]
                for d in days
                for s in rule.shifts
                if (employee.id, d, s) in x
            )
            problem += high >= count
            problem += low <= count
        objective.append(rule.weight * (high - low))

    problem += pulp.lpSum(objective)
    return problem, x


def _log_bound(log: str) -> float | None:
    match = re.search(r"^Lower bound:\s*(-?[\d.eE+-]+)", log, re.MULTILINE)
    return float(match.group(1)) if match else None


def solve_cbc(instance: Instance, *, seconds: float, threads: int = THREADS) -> CbcResult:
    """Solve with CBC for at most ``seconds``; the bound is read from CBC's log."""
    started = time.monotonic()
    problem, x = build(instance)
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "cbc.log"
        solver = pulp.PULP_CBC_CMD(
            msg=False, timeLimit=seconds, threads=threads, logPath=str(log_path)
        )
        problem.solve(solver)
        log = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
    elapsed = time.monotonic() - started
    # The log, not PuLP's status, says whether infeasibility was proven: CBC stopped by the time
    # limit before its first roster may write "Infeasible" in its solution file.
    result_line = re.search(r"^Result - (.*)$", log, re.MULTILINE)
    outcome = result_line.group(1).lower() if result_line else ""
    if "infeasible" in outcome:
        return CbcResult("infeasible", None, None, elapsed)
    if problem.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        return CbcResult("unknown", None, _log_bound(log), elapsed)
    assignment: Assignment = {
        (who, day): shift for (who, day, shift), var in x.items() if (var.value() or 0) > 0.5
    }
    objective = round(pulp.value(problem.objective) or 0)
    optimal = problem.sol_status == pulp.LpSolutionOptimal and "optimal" in outcome
    bound = float(objective) if optimal else _log_bound(log)
    return CbcResult("optimal" if optimal else "feasible", objective, bound, elapsed, assignment)


def main(argv: list[str] | None = None) -> int:
    from radflow.core.rostering.curtois import load_curtois
    from radflow.core.rostering.evaluate import evaluate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--threads", type=int, default=THREADS)
    args = parser.parse_args(argv)
    instance = load_curtois(args.file)
    result = solve_cbc(instance, seconds=args.seconds, threads=args.threads)
    evaluation = evaluate(instance, result.assignment) if result.objective is not None else None
    print(
        json.dumps(
            {
                "instance": instance.name,
                "status": result.status,
                "objective": result.objective,
                "bound": result.bound,
                "seconds": round(result.seconds, 2),
                "threads": result.threads,
                "evaluated_ok": evaluation is not None
                and evaluation.feasible
                and evaluation.objective == result.objective,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
