"""Re-planning the rest of a day from the plan in force: a room goes down at 10:00."""

from __future__ import annotations

from dataclasses import replace

import pytest

from radflow.core.scheduling.day import Day, Plan
from radflow.core.scheduling.diff import plan_diff
from radflow.core.scheduling.evaluate import objective, validate
from radflow.core.scheduling.generator import generate_day, with_room_down
from radflow.core.scheduling.optimizer import dispatch_greedy, optimize, replan

NOW = 10 * 60


def room_down_at_ten(day: Day, in_force: Plan, room: str) -> Day:
    """``room`` down 10:00-14:00, exams started before 10:00 fixed, ``in_force`` current."""
    exams = []
    for exam in day.exams:
        current = in_force.assignments.get(exam.id)
        exams.append(
            replace(exam, current=current, fixed=current is not None and current.start < NOW)
        )
    return replace(with_room_down(day, room, NOW, 14 * 60), exams=tuple(exams), now=NOW)


@pytest.fixture(scope="module")
def small_day_room_down() -> Day:
    """A day planned by the whole CP-SAT model: a good plan in force."""
    day = generate_day(7, exams=40, rooms=4, staff=6)
    return room_down_at_ten(day, optimize(day, seconds=2), "R02")


@pytest.fixture(scope="module")
def big_day_room_down() -> Day:
    """A day planned neighbourhood by neighbourhood, given little time: a plan in force that a
    greedy re-dispatch may beat."""
    day = generate_day(5, exams=120, rooms=6, staff=10)
    return room_down_at_ten(day, optimize(day, seconds=2), "R02")


@pytest.mark.parametrize("case", ["small_day_room_down", "big_day_room_down"])
def test_replan_keeps_fixed_exams_and_starts_nothing_before_now(case, request):
    day: Day = request.getfixturevalue(case)
    assert any(e.fixed for e in day.exams)

    plan = replan(day, seconds=1.5)

    assert validate(day, plan) == []
    assert plan.objective == objective(day, plan)
    assert plan.seconds < 2.5
    for exam in day.exams:
        if exam.fixed:
            assert plan.assignments[exam.id] == exam.current
        elif exam.id in plan.assignments:
            assert plan.assignments[exam.id].start >= NOW


def test_replan_changes_fewer_patients_times_than_a_greedy_redispatch(small_day_room_down):
    day = small_day_room_down

    replanned = replan(day, seconds=1.5)
    redispatched = dispatch_greedy(day)

    assert validate(day, redispatched) == []
    assert replanned.metrics.changed < redispatched.metrics.changed
    must_call = sum(c.must_call for c in plan_diff(day, replanned))
    assert must_call < sum(c.must_call for c in plan_diff(day, redispatched))
    assert replanned.objective < redispatched.objective


def test_replan_is_never_worse_than_a_greedy_redispatch(big_day_room_down):
    day = big_day_room_down

    assert replan(day, seconds=1.5).objective <= dispatch_greedy(day).objective
