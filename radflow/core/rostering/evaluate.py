"""Check a roster against its instance, independently of the solver.

Written from the benchmark's README and the ``instance`` docstrings alone, sharing no code with
the CP-SAT model: when both agree on a roster's objective, a rule read wrong in one of them shows up
as a disagreement instead of as a suspiciously good benchmark number.

Horizon edges follow the benchmark: for shift rotation and maximum consecutive shifts a day off is
assumed before day 0 and after the last day; a run of shifts or of days off that touches either
edge is never too short (the roster may continue it outside the horizon).
"""

from __future__ import annotations

from collections.abc import Iterator

from radflow.core.rostering.instance import (
    Assignment,
    Employee,
    Evaluation,
    Instance,
    Violation,
)

#: Stable codes of the hard rules (``Violation.rule``).
RULES = (
    "unknown_employee",
    "outside_horizon",
    "unknown_shift",
    "days_off",
    "rotation",
    "max_shifts",
    "max_minutes",
    "min_minutes",
    "max_consecutive",
    "min_consecutive",
    "min_consecutive_off",
    "max_weekends",
    "min_cover",
    "frozen",
)

TERMS = ("shift_on", "shift_off", "cover_under", "cover_over", "fairness", "change")

DASH = "\u2013"


def _days(first: int, last: int) -> str:
    return f"day {first}" if first == last else f"days {first}{DASH}{last}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _runs(row: list[bool]) -> Iterator[tuple[int, int]]:
    """(first, last) day of every maximal run of True in ``row``."""
    start: int | None = None
    for day, value in enumerate(row):
        if value and start is None:
            start = day
        elif not value and start is not None:
            yield start, day - 1
            start = None
    if start is not None:
        yield start, len(row) - 1


def _employee_rules(
    instance: Instance, employee: Employee, row: list[str | None]
) -> Iterator[Violation]:
    """Every rule of one person's row of the roster; ``row[day]`` is a shift id or None."""
    who = employee.id
    horizon = instance.horizon
    shifts = {shift.id: shift for shift in instance.shifts}
    working = [shift is not None for shift in row]

    for day in sorted(employee.days_off):
        if 0 <= day < horizon and row[day] is not None:
            yield Violation("days_off", f"{who} works {row[day]} on day {day}, a day off", who, day)

    # Rotation: the day before day 0 and the day after the last are off, so only inside pairs.
    for day in range(1, horizon):
        before, after = row[day - 1], row[day]
        if before in shifts and after is not None and after in shifts[before].forbidden_next:
            yield Violation(
                "rotation",
                f"{who} works {after} on day {day} right after {before} on day {day - 1}; "
                f"{after} may not follow {before}",
                who,
                day,
            )

    counts: dict[str, int] = {}
    for shift_id in row:
        if shift_id is not None:
            counts[shift_id] = counts.get(shift_id, 0) + 1
    for shift in instance.shifts:
        count = counts.get(shift.id, 0)
        allowed = employee.max_shifts.get(shift.id, 0)
        if count > allowed:
            yield Violation(
                "max_shifts",
                f"{who} works {_plural(count, shift.id + ' shift')}; at most {allowed}",
                who,
            )

    minutes = sum(shifts[shift_id].minutes for shift_id in row if shift_id in shifts)
    if minutes > employee.max_minutes:
        yield Violation(
            "max_minutes",
            f"{who} works {minutes} minutes; at most {employee.max_minutes}",
            who,
        )
    if minutes < employee.min_minutes:
        yield Violation(
            "min_minutes",
            f"{who} works {minutes} minutes; at least {employee.min_minutes}",
            who,
        )

    for first, last in _runs(working):
        length = last - first + 1
        if length > employee.max_consecutive:
            yield Violation(
                "max_consecutive",
                f"{who} works {length} days in a row ({_days(first, last)}); "
                f"at most {employee.max_consecutive}",
                who,
                first,
            )
        touches_edge = first == 0 or last == horizon - 1
        if length < employee.min_consecutive and not touches_edge:
            yield Violation(
                "min_consecutive",
                f"{who} works only {_plural(length, 'day')} in a row ({_days(first, last)}); "
                f"at least {employee.min_consecutive}",
                who,
                first,
            )

    for first, last in _runs([not value for value in working]):
        length = last - first + 1
        touches_edge = first == 0 or last == horizon - 1
        if length < employee.min_consecutive_off and not touches_edge:
            yield Violation(
                "min_consecutive_off",
                f"{who} has only {_plural(length, 'day')} off in a row ({_days(first, last)}); "
                f"at least {employee.min_consecutive_off}",
                who,
                first,
            )

    worked = [
        (saturday, sunday)
        for saturday, sunday in instance.weekends
        if working[saturday] or (sunday < horizon and working[sunday])
    ]
    if len(worked) > employee.max_weekends:
        listed = ", ".join(f"{_days(sat, min(sun, horizon - 1))}" for sat, sun in worked)
        yield Violation(
            "max_weekends",
            f"{who} works {_plural(len(worked), 'weekend')} ({listed}); "
            f"at most {employee.max_weekends}",
            who,
            worked[employee.max_weekends][0],
        )


def evaluate(instance: Instance, assignment: Assignment) -> Evaluation:
    """Every broken hard rule of ``assignment`` and its objective, term by term."""
    horizon = instance.horizon
    shift_ids = {shift.id for shift in instance.shifts}
    employee_ids = {employee.id for employee in instance.employees}
    violations: list[Violation] = []

    for (who, day), shift_id in sorted(
        assignment.items(), key=lambda item: (item[0][1], item[0][0])
    ):
        if who not in employee_ids:
            violations.append(
                Violation(
                    "unknown_employee",
                    f"The roster gives {shift_id} on day {day} to {who}, who is not on the staff",
                    who,
                    day,
                )
            )
        elif not 0 <= day < horizon:
            violations.append(
                Violation(
                    "outside_horizon",
                    f"{who} has {shift_id} on day {day}, outside the {horizon} days",
                    who,
                    day,
                )
            )
        elif shift_id not in shift_ids:
            violations.append(
                Violation(
                    "unknown_shift",
                    f"{who} has an unknown shift {shift_id!r} on day {day}",
                    who,
                    day,
                )
            )

    rows: dict[str, list[str | None]] = {
        employee.id: [assignment.get((employee.id, day)) for day in range(horizon)]
        for employee in instance.employees
    }
    for employee in instance.employees:
        violations.extend(_employee_rules(instance, employee, rows[employee.id]))

    def covered(day: int, shift_id: str, skill: str | None) -> int:
        return sum(
            1
            for employee in instance.employees
            if rows[employee.id][day] == shift_id and (skill is None or skill in employee.skills)
        )

    cover_under = cover_over = 0
    for cover in instance.cover:
        if not 0 <= cover.day < horizon:
            continue
        count = covered(cover.day, cover.shift, cover.skill)
        if count < cover.minimum:
            skill = f" with skill {cover.skill}" if cover.skill else ""
            violations.append(
                Violation(
                    "min_cover",
                    f"Day {cover.day}, shift {cover.shift}: {count} assigned{skill}; "
                    f"at least {cover.minimum} needed",
                    None,
                    cover.day,
                )
            )
        cover_under += cover.under_weight * max(0, cover.requirement - count)
        cover_over += cover.over_weight * max(0, count - cover.requirement)

    for who in (employee.id for employee in instance.employees):
        for day in sorted(instance.frozen_days):
            if not 0 <= day < horizon:
                continue
            was, now = instance.previous.get((who, day)), assignment.get((who, day))
            if was != now:
                violations.append(
                    Violation(
                        "frozen",
                        f"{who} has {now or 'a day off'} on day {day}, a frozen day published as "
                        f"{was or 'a day off'}",
                        who,
                        day,
                    )
                )

    shift_on = sum(
        request.weight
        for request in instance.shift_on
        if assignment.get((request.employee, request.day)) != request.shift
    )
    shift_off = sum(
        request.weight
        for request in instance.shift_off
        if assignment.get((request.employee, request.day)) == request.shift
    )

    fairness = 0
    for rule in instance.fairness:
        days = [day for day in range(horizon) if not rule.days or day in rule.days]
        counts = [
            sum(1 for day in days if rows[employee.id][day] in rule.shifts)
            for employee in instance.employees
            if employee.id in rule.employees
        ]
        if counts:
            fairness += rule.weight * (max(counts) - min(counts))

    change = 0
    if instance.change_weight:
        differing = sum(
            1
            for employee in instance.employees
            for day in range(horizon)
            if instance.previous.get((employee.id, day)) != assignment.get((employee.id, day))
        )
        change = instance.change_weight * differing

    breakdown = {
        "shift_on": shift_on,
        "shift_off": shift_off,
        "cover_under": cover_under,
        "cover_over": cover_over,
        "fairness": fairness,
        "change": change,
    }
    return Evaluation(
        violations=tuple(violations),
        objective=sum(breakdown.values()),
        breakdown=breakdown,
    )
