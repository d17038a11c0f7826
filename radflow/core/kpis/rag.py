"""Red, amber, green against a KPI's thresholds, whichever way is better."""

from __future__ import annotations

import itertools

from radflow.core.kpis.types import Direction, Status


def check_thresholds(
    direction: Direction, target: float | None, amber: float | None, red: float | None
) -> list[str]:
    """Why these thresholds are out of order (empty when they are fine).

    Lower is better: target ≤ amber ≤ red; higher is better: target ≥ amber ≥ red. A missing
    value is not checked.
    """
    order = [("target", target), ("amber threshold", amber), ("red threshold", red)]
    given = [(name, value) for name, value in order if value is not None]
    problems = []
    for (name_a, a), (name_b, b) in itertools.pairwise(given):
        if direction is Direction.LOWER and a > b:
            problems.append(f"The {name_a} must not be above the {name_b} (lower is better).")
        if direction is Direction.HIGHER and a < b:
            problems.append(f"The {name_a} must not be below the {name_b} (higher is better).")
    return problems


def rag_status(
    value: float | None,
    direction: Direction,
    *,
    amber: float | None,
    red: float | None,
) -> Status:
    """GREEN while the value is at least as good as the amber threshold, AMBER while it is at
    least as good as the red one, RED beyond; NONE without a value or thresholds.

    The target itself is the line drawn on charts; the amber threshold defaults to it, so "on
    target" and "green" mean the same unless a department sets a tolerance band.
    """
    if value is None or (amber is None and red is None):
        return Status.NONE

    def at_least_as_good(limit: float) -> bool:
        return value <= limit if direction is Direction.LOWER else value >= limit

    if amber is not None and at_least_as_good(amber):
        return Status.GREEN
    if red is None:
        return Status.AMBER
    if at_least_as_good(red):
        return Status.AMBER if amber is not None else Status.GREEN
    return Status.RED
