"""The roster solver: benchmark values, agreement with the independent checker, stop, progress."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radflow.core.rostering.curtois import load_curtois
from radflow.core.rostering.evaluate import evaluate
from radflow.core.rostering.instance import (
    Cover,
    Employee,
    Fairness,
    Instance,
    Progress,
    Request,
    ShiftType,
)
from radflow.core.rostering.solve import solve

BENCHMARK = Path("/work/shared/benchmarks/shift-scheduling")
needs_benchmark = pytest.mark.skipif(
    not BENCHMARK.exists(), reason="benchmark instances not available"
)


def solve_until(instance: Instance, target: int, seconds: float) -> tuple[int | None, list[int]]:
    """Solve, stopping as soon as ``target`` is reached; returns the objective and the trace."""
    stop = threading.Event()
    seen: list[int] = []

    def progress(update: Progress) -> None:
        seen.append(update.objective)
        if update.objective <= target:
            stop.set()

    result = solve(instance, seconds=seconds, workers=2, on_progress=progress, stop=stop)
    return result.objective, seen


@needs_benchmark
@pytest.mark.parametrize(("number", "best_known"), [(1, 607), (2, 828), (3, 1001)])
def test_small_benchmark_instances_reach_their_best_known_values(number, best_known):
    instance = load_curtois(BENCHMARK / f"Instance{number}.txt")

    objective, seen = solve_until(instance, best_known, seconds=60)

    assert objective == best_known
    assert seen == sorted(seen, reverse=True)


@needs_benchmark
def test_benchmark_roster_passes_the_independent_checker_with_the_reported_objective():
    instance = load_curtois(BENCHMARK / "Instance4.txt")

    result = solve(instance, seconds=3)

    evaluation = evaluate(instance, result.assignment)
    assert result.status in ("feasible", "optimal")
    assert evaluation.violations == ()
    assert evaluation.objective == result.objective
    assert result.best_bound is not None and result.best_bound <= result.objective


def random_instance(seed: int) -> Instance:
    """A small department: 2 weeks, 3 shift types, skills, a hard minimum, fairness, a previous
    roster with change cost and frozen first days; usually feasible, sometimes not."""
    rng = random.Random(seed)
    horizon = 14
    shifts = (
        ShiftType("D", 480),
        ShiftType("L", 480, forbidden_next=frozenset({"D"})),
        ShiftType("N", 600, forbidden_next=frozenset({"D", "L"}), tags=frozenset({"night"})),
    )
    skills = ("CT", "MR", "US")
    employees = tuple(
        Employee(
            id=f"E{i}",
            max_shifts={s.id: rng.choice((0, 3, 14)) if s.id != "D" else 14 for s in shifts},
            max_minutes=rng.choice((4800, 6000)),
            min_minutes=rng.choice((0, 1920, 2880)),
            max_consecutive=rng.choice((4, 5)),
            min_consecutive=rng.choice((1, 2)),
            min_consecutive_off=rng.choice((1, 2)),
            max_weekends=rng.choice((1, 2)),
            days_off=frozenset(rng.sample(range(horizon), rng.randrange(3))),
            skills=frozenset(rng.sample(skills, rng.randrange(1, 3))),
        )
        for i in range(rng.randrange(4, 7))
    )
    ids = [e.id for e in employees]
    cover = tuple(
        Cover(
            day=d,
            shift=s.id,
            requirement=rng.randrange(3),
            under_weight=rng.choice((10, 100)),
            over_weight=rng.choice((1, 5)),
            minimum=1 if rng.random() < 0.1 else 0,
            skill=rng.choice((None, None, *skills)),
        )
        for d in range(horizon)
        for s in shifts
    )
    requests = [
        Request(rng.choice(ids), rng.randrange(horizon), rng.choice(shifts).id, rng.randrange(1, 4))
        for _ in range(8)
    ]
    previous = {
        (rng.choice(ids), d): rng.choice(("D", "D", "L")) for d in range(horizon) for _ in range(2)
    }
    return Instance(
        name=f"random-{seed}",
        horizon=horizon,
        shifts=shifts,
        employees=employees,
        shift_on=tuple(requests[:4]),
        shift_off=tuple(requests[4:]),
        cover=cover,
        fairness=(
            Fairness("nights", frozenset({"N"}), frozenset(ids), weight=3),
            Fairness(
                "weekend days", frozenset({"D", "L"}), frozenset(ids[:3]), 2, frozenset({5, 6})
            ),
        ),
        previous=previous,
        change_weight=rng.choice((0, 1, 2)),
        frozen_days=frozenset({0}) if rng.random() < 0.5 else frozenset(),
    )


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=10_000))
def test_every_roster_found_passes_the_checker_with_exactly_the_reported_objective(seed):
    instance = random_instance(seed)

    result = solve(instance, seconds=1.0, seed=seed)

    if result.status == "infeasible":
        assert result.conflicts
        return
    assert result.status in ("feasible", "optimal"), result.status
    evaluation = evaluate(instance, result.assignment)
    assert evaluation.violations == ()
    assert evaluation.objective == result.objective
    assert result.best_bound is not None and result.best_bound <= result.objective
    if result.trace:
        assert result.trace[-1].objective == result.objective


def short_staffed() -> Instance:
    shifts = (ShiftType("D", 480),)
    employees = tuple(
        Employee(
            id=f"E{i}",
            max_shifts={"D": 14},
            max_minutes=6720,
            min_minutes=0,
            max_consecutive=5,
            min_consecutive=1,
            min_consecutive_off=1,
            max_weekends=2,
        )
        for i in range(2)
    )
    cover = (
        *(
            Cover(day=d, shift="D", requirement=2, under_weight=100, over_weight=1, minimum=1)
            for d in range(14)
        ),
        Cover(day=4, shift="D", requirement=3, under_weight=100, over_weight=1, minimum=3),
    )
    return Instance(name="short", horizon=14, shifts=shifts, employees=employees, cover=cover)


def test_too_few_staff_for_a_minimum_cover_is_reported_infeasible_naming_the_cover():
    result = solve(short_staffed(), seconds=5)

    assert result.status == "infeasible"
    assert result.objective is None
    assert result.assignment == {}
    assert "minimum cover of 3 on day 4 (Fri) shift D" in result.conflicts


def test_a_stop_request_ends_the_solve_early_with_the_best_roster_so_far():
    instance = random_instance(7)
    stop = threading.Event()
    timer = threading.Timer(0.5, stop.set)
    started = time.monotonic()
    timer.start()

    result = solve(instance, seconds=60, stop=stop)

    assert time.monotonic() - started < 5
    timer.cancel()
    assert result.status in ("feasible", "optimal", "infeasible")


def test_progress_is_reported_for_each_improvement_and_each_better_bound_in_the_trace():
    staffed = short_staffed()
    instance = replace(staffed, cover=tuple(replace(c, minimum=0) for c in staffed.cover))
    seen: list[Progress] = []

    result = solve(instance, seconds=2, on_progress=seen.append)

    assert seen
    assert tuple(seen) == result.trace
    assert [p.objective for p in seen] == sorted((p.objective for p in seen), reverse=True)
    assert [p.best_bound for p in seen] == sorted(p.best_bound for p in seen)
    assert seen[-1].best_bound == result.best_bound
    improvements = [p for i, p in enumerate(seen) if i == 0 or p.objective < seen[i - 1].objective]
    assert result.first_feasible_seconds == seen[0].seconds
    assert result.best_seconds == improvements[-1].seconds


def test_a_hint_roster_is_never_made_worse():
    instance = random_instance(11)
    first = solve(instance, seconds=1)
    assert first.objective is not None

    again = solve(instance, seconds=0.5, hint=first.assignment)

    assert again.objective is not None and again.objective <= first.objective


def test_frozen_days_keep_the_previous_roster():
    base = random_instance(5)
    instance = Instance(
        name=base.name,
        horizon=base.horizon,
        shifts=base.shifts,
        employees=tuple(
            replace(e, days_off=frozenset(), max_shifts={"D": 14, "L": 14}, min_minutes=0)
            for e in base.employees
        ),
        cover=tuple(replace(c, minimum=0) for c in base.cover),
        previous={("E0", 3): "L", ("E1", 3): "D"},
        frozen_days=frozenset({3}),
    )

    result = solve(instance, seconds=1)

    assert result.status in ("feasible", "optimal")
    on_day_3 = {e: s for (e, d), s in result.assignment.items() if d == 3}
    assert on_day_3 == {"E0": "L", "E1": "D"}
