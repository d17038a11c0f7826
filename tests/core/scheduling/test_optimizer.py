"""The greedy dispatcher and the CP-SAT optimizer: valid plans, honest objectives, full days."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radflow.core.scheduling.day import Day, Plan, Priority, Room, Staff, Window
from radflow.core.scheduling.evaluate import objective, validate
from radflow.core.scheduling.generator import dst_day, generate_day, local_minute, real_minute
from radflow.core.scheduling.optimizer import (
    WHOLE_MODEL_LIMIT,
    dispatch_greedy,
    model_size,
    optimize,
)
from tests.core.scheduling.days import H, at, exam, two_room_day


def assert_sound(day: Day, plan: Plan) -> None:
    """Valid, every exam accounted for, and the objective it claims is the one it has."""
    assert validate(day, plan) == []
    assert set(plan.assignments) | set(plan.unscheduled) == {e.id for e in day.exams}
    assert plan.objective == objective(day, plan)


@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    seed=st.integers(min_value=0, max_value=10_000),
    exams=st.integers(min_value=20, max_value=40),
    rooms=st.integers(min_value=3, max_value=4),
)
def test_greedy_and_optimized_plans_of_random_days_pass_the_independent_validator(
    seed, exams, rooms
):
    day = generate_day(seed, exams=exams, rooms=rooms, staff=rooms + 2)

    greedy = dispatch_greedy(day)
    optimized = optimize(day, seconds=2, workers=2, seed=seed)

    assert_sound(day, greedy)
    assert_sound(day, optimized)
    assert optimized.objective <= greedy.objective
    assert optimized.best_bound is not None
    assert optimized.best_bound <= optimized.objective


def test_the_optimizer_reports_its_bound_gap_and_each_improvement():
    day = generate_day(3, exams=30, rooms=4, staff=6)
    seen: list[tuple[float, int, int | None]] = []

    plan = optimize(day, seconds=2, progress=lambda t, o, b: seen.append((t, o, b)))

    objectives = [o for _, o, _ in seen]
    assert objectives == sorted(objectives, reverse=True)
    assert objectives[-1] == plan.objective
    assert plan.status in ("optimal", "feasible")
    assert plan.gap is not None
    assert plan.best_bound is not None
    assert plan.gap == (plan.objective - plan.best_bound) / plan.objective
    assert plan.seconds < 3


def test_a_big_day_is_searched_by_neighbourhoods_and_still_validates():
    day = generate_day(5, exams=120, rooms=6, staff=10)
    assert model_size(day) > WHOLE_MODEL_LIMIT
    greedy = dispatch_greedy(day)

    plan = optimize(day, seconds=3, workers=2)

    assert_sound(day, plan)
    assert plan.objective < greedy.objective


def test_an_over_full_day_gets_a_plan_naming_what_does_not_fit_and_why():
    day = Day(
        rooms=(Room("R1", (Window(8 * H, 9 * H),)),),
        devices=(),
        staff=(Staff("S1", (Window(8 * H, 9 * H),)),),
        resources=(),
        exams=(
            *(exam(f"E{i}", rooms=frozenset({"R1"}), staff=frozenset({"S1"})) for i in range(4)),
            exam("SHORT", rooms=frozenset({"R1"}), staff=frozenset({"S1"}), window_end=8 * H + 20),
            exam("NOBODY", rooms=frozenset({"R1"}), staff=frozenset({"S9"})),
        ),
        max_overtime=0,
    )

    for plan in (dispatch_greedy(day), optimize(day, seconds=1)):
        assert_sound(day, plan)
        assert len(plan.assignments) == 2
        assert "shorter than the exam" in plan.unscheduled["SHORT"]
        assert "no eligible staff member" in plan.unscheduled["NOBODY"]
        full = [i for i in plan.unscheduled if i.startswith("E")]
        assert len(full) == 2
        assert all("the day is full" in plan.unscheduled[i] for i in full)


def test_stats_go_first_in_the_greedy_dispatch():
    day = two_room_day(
        exam("ROUTINE", rooms=frozenset({"R2"}), staff=frozenset({"S2"})),
        exam(
            "STAT",
            priority=Priority.STAT,
            target_start=9 * H,
            release=8 * H + 5,
            rooms=frozenset({"R2"}),
            staff=frozenset({"S2"}),
        ),
    )

    plan = dispatch_greedy(day)

    assert plan.assignments["STAT"].start == 8 * H + 5
    assert plan.assignments["ROUTINE"].start == 8 * H + 35
    assert plan.status == "greedy"


def test_fixed_exams_keep_their_assignment_and_others_fit_around_them():
    fixed = at("F", "R2", "S2", 8 * H + 10)
    day = two_room_day(
        exam("F", fixed=True, current=fixed, rooms=frozenset({"R1"})),  # no longer eligible
        exam("A", rooms=frozenset({"R2"}), staff=frozenset({"S2"})),
    )

    for plan in (dispatch_greedy(day), optimize(day, seconds=1)):
        assert_sound(day, plan)
        assert plan.assignments["F"] == fixed
        assert plan.assignments["A"].start == 8 * H + 40


def test_a_23_hour_day_puts_an_exam_at_its_real_minute_count():
    day = Day(
        rooms=(Room("R1", (Window(real_minute(7 * H, 1380), real_minute(19 * H, 1380)),)),),
        devices=(),
        staff=(Staff("S1", (Window(real_minute(7 * H, 1380), real_minute(19 * H, 1380)),)),),
        resources=(),
        exams=(
            exam(
                "NOON",
                rooms=frozenset({"R1"}),
                staff=frozenset({"S1"}),
                release=real_minute(12 * H, 1380),
                booked_start=real_minute(12 * H, 1380),
                notified=True,
            ),
        ),
        horizon=1380,
    )

    plan = optimize(day, seconds=1)

    assert_sound(day, plan)
    assert plan.assignments["NOON"].start == 11 * H  # 12:00 local is 660 real minutes in
    assert local_minute(plan.assignments["NOON"].start, 1380) == 12 * H


def test_a_25_hour_day_has_room_for_an_exam_in_its_last_hour():
    late = (Window(real_minute(22 * H, 1500), 1500),)
    day = Day(
        rooms=(Room("R1", late),),
        devices=(),
        staff=(Staff("S1", late),),
        resources=(),
        exams=(
            exam(
                "LATE",
                duration=60,
                rooms=frozenset({"R1"}),
                staff=frozenset({"S1"}),
                release=real_minute(23 * H, 1500),
                booked_start=real_minute(23 * H, 1500),
            ),
        ),
        horizon=1500,
        max_overtime=0,
    )

    plan = optimize(day, seconds=1)

    assert_sound(day, plan)
    assert plan.assignments["LATE"].start == 24 * H  # 23:00 local, the 25th hour ends at 1500
    assert validate(replace(day, horizon=1440), plan) != []


def test_generated_daylight_saving_days_schedule_inside_their_shifted_hours():
    for horizon in (1380, 1500):
        day = dst_day(11, horizon=horizon, exams=30, rooms=3, staff=5)
        opening = real_minute(7 * H, horizon)

        for plan in (dispatch_greedy(day), optimize(day, seconds=1)):
            assert_sound(day, plan)
            assert min(a.start for a in plan.assignments.values()) >= opening
            assert max(a.start for a in plan.assignments.values()) < horizon
