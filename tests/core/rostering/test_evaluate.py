"""The independent roster checker on hand-made instances: every hard rule, every objective term.

Each instance is small enough to check by hand; each test breaks one rule once and asserts the rule
code, the person and the day a coordinator would be shown.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from radflow.core.rostering.curtois import load_curtois, read_solution
from radflow.core.rostering.evaluate import evaluate
from radflow.core.rostering.instance import (
    Assignment,
    Cover,
    Employee,
    Evaluation,
    Fairness,
    Instance,
    Request,
    ShiftType,
    Violation,
)

BENCHMARKS = Path("/work/shared/benchmarks/shift-scheduling")
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "rostering"

needs_benchmarks = pytest.mark.skipif(
    not BENCHMARKS.is_dir(), reason="the benchmark files are not on this machine"
)

EARLY = ShiftType("E", 480)
NIGHT = ShiftType("N", 600, forbidden_next=frozenset({"E"}))


def person(name: str = "A", **rules: Any) -> Employee:
    """Someone whom no rule binds, unless the test tightens one."""
    fields: dict[str, Any] = {
        "id": name,
        "max_shifts": {"E": 14, "N": 14},
        "max_minutes": 100_000,
        "min_minutes": 0,
        "max_consecutive": 14,
        "min_consecutive": 1,
        "min_consecutive_off": 1,
        "max_weekends": 2,
    }
    fields.update(rules)
    return Employee(**fields)


def two_weeks(*employees: Employee, **extra: Any) -> Instance:
    return Instance(
        name="tiny",
        horizon=extra.pop("horizon", 14),
        shifts=(EARLY, NIGHT),
        employees=employees or (person(),),
        **extra,
    )


def works(days: range | list[int], shift: str = "E", who: str = "A") -> Assignment:
    return {(who, day): shift for day in days}


def only(evaluation: Evaluation) -> Violation:
    assert len(evaluation.violations) == 1, evaluation.violations
    return evaluation.violations[0]


def test_a_roster_breaking_nothing_is_feasible_with_zero_cost() -> None:
    evaluation = evaluate(two_weeks(), works(range(14)))

    assert evaluation.feasible
    assert evaluation.objective == 0


def test_an_unknown_shift_is_reported_on_its_day() -> None:
    violation = only(evaluate(two_weeks(), {("A", 3): "X"}))

    assert (violation.rule, violation.employee, violation.day) == ("unknown_shift", "A", 3)
    assert "'X'" in violation.detail


def test_a_shift_on_a_day_off_is_reported() -> None:
    instance = two_weeks(person(days_off=frozenset({4})))

    violation = only(evaluate(instance, works([4])))

    assert (violation.rule, violation.employee, violation.day) == ("days_off", "A", 4)
    assert violation.detail == "A works E on day 4, a day off"


def test_a_forbidden_shift_the_day_after_is_reported_on_the_second_day() -> None:
    violation = only(evaluate(two_weeks(), {("A", 2): "N", ("A", 3): "E"}))

    assert (violation.rule, violation.employee, violation.day) == ("rotation", "A", 3)
    assert "E may not follow N" in violation.detail


def test_rotation_only_binds_the_next_day_and_the_stated_order() -> None:
    assert evaluate(two_weeks(), {("A", 2): "E", ("A", 3): "N"}).feasible
    assert evaluate(two_weeks(), {("A", 2): "N", ("A", 4): "E"}).feasible
    # Before day 0 and after the last day are days off: the horizon does not wrap around.
    assert evaluate(two_weeks(), {("A", 13): "N", ("A", 0): "E"}).feasible


def test_more_shifts_of_a_type_than_allowed_are_reported() -> None:
    instance = two_weeks(person(max_shifts={"E": 2, "N": 14}))

    violation = only(evaluate(instance, works([0, 1, 2])))

    assert (violation.rule, violation.employee) == ("max_shifts", "A")
    assert violation.detail == "A works 3 E shifts; at most 2"


def test_a_shift_type_absent_from_max_shifts_may_not_be_worked_at_all() -> None:
    instance = two_weeks(person(max_shifts={"E": 14}))

    violation = only(evaluate(instance, {("A", 5): "N"}))

    assert violation.rule == "max_shifts"
    assert violation.detail == "A works 1 N shift; at most 0"


def test_too_many_minutes_are_reported() -> None:
    instance = two_weeks(person(max_minutes=1000))

    violation = only(evaluate(instance, works([0, 1]) | {("A", 2): "N"}))

    assert violation.rule == "max_minutes"
    assert violation.detail == "A works 1560 minutes; at most 1000"


def test_too_few_minutes_are_reported() -> None:
    instance = two_weeks(person(min_minutes=1000))

    violation = only(evaluate(instance, works([0, 1])))

    assert violation.rule == "min_minutes"
    assert violation.detail == "A works 960 minutes; at least 1000"


def test_too_many_days_in_a_row_are_reported_where_the_run_starts() -> None:
    instance = two_weeks(person(max_consecutive=5))

    violation = only(evaluate(instance, works(range(3, 9))))

    assert (violation.rule, violation.employee, violation.day) == ("max_consecutive", "A", 3)
    assert violation.detail == "A works 6 days in a row (days 3\u20138); at most 5"


@pytest.mark.parametrize("days", [range(0, 5), range(9, 14)])
def test_a_full_run_at_either_edge_assumes_a_day_off_outside_the_horizon(days: range) -> None:
    instance = two_weeks(person(max_consecutive=5))

    assert evaluate(instance, works(days)).feasible


@pytest.mark.parametrize(("days", "first"), [(range(0, 6), 0), (range(8, 14), 8)])
def test_a_run_too_long_at_either_edge_is_still_too_long(days: range, first: int) -> None:
    instance = two_weeks(person(max_consecutive=5))

    violation = only(evaluate(instance, works(days)))

    assert (violation.rule, violation.day) == ("max_consecutive", first)


def test_a_run_of_shifts_too_short_inside_the_horizon_is_reported() -> None:
    instance = two_weeks(person(min_consecutive=2))

    violation = only(evaluate(instance, works([5])))

    assert (violation.rule, violation.employee, violation.day) == ("min_consecutive", "A", 5)
    assert violation.detail == "A works only 1 day in a row (day 5); at least 2"


@pytest.mark.parametrize("day", [0, 13])
def test_a_short_run_of_shifts_touching_an_edge_is_never_too_short(day: int) -> None:
    instance = two_weeks(person(min_consecutive=3))

    assert evaluate(instance, works([day])).feasible


def test_a_run_of_days_off_too_short_inside_the_horizon_is_reported() -> None:
    instance = two_weeks(person(min_consecutive_off=2))

    violation = only(evaluate(instance, works([*range(0, 4), *range(5, 14)])))

    assert (violation.rule, violation.employee, violation.day) == ("min_consecutive_off", "A", 4)
    assert violation.detail == "A has only 1 day off in a row (day 4); at least 2"


@pytest.mark.parametrize("day_off", [0, 13])
def test_a_short_run_of_days_off_touching_an_edge_is_never_too_short(day_off: int) -> None:
    instance = two_weeks(person(min_consecutive_off=3))

    assert evaluate(instance, works([d for d in range(14) if d != day_off])).feasible


def test_too_many_weekends_are_reported_from_the_first_one_over_the_limit() -> None:
    instance = two_weeks(person(max_weekends=1))

    violation = only(evaluate(instance, works([5, 13])))

    assert (violation.rule, violation.employee, violation.day) == ("max_weekends", "A", 12)
    assert violation.detail == "A works 2 weekends (days 5\u20136, days 12\u201313); at most 1"


def test_a_weekend_counts_once_however_many_of_its_days_are_worked() -> None:
    instance = two_weeks(person(max_weekends=1))

    assert evaluate(instance, works([5, 6])).feasible


def test_a_trailing_lone_saturday_is_a_weekend() -> None:
    instance = two_weeks(person(max_weekends=1), horizon=13)

    violation = only(evaluate(instance, works([6, 12])))

    assert (violation.rule, violation.day) == ("max_weekends", 12)


def test_a_cover_below_its_hard_minimum_is_reported_counting_only_the_skilled() -> None:
    instance = two_weeks(
        person("A"),
        person("B", skills=frozenset({"US"})),
        cover=(
            Cover(2, "E", requirement=2, under_weight=10, over_weight=1, minimum=1, skill="US"),
        ),
    )

    violation = only(evaluate(instance, works([2], who="A")))

    assert (violation.rule, violation.employee, violation.day) == ("min_cover", None, 2)
    assert violation.detail == "Day 2, shift E: 0 assigned with skill US; at least 1 needed"
    assert evaluate(instance, works([2], who="B")).feasible


def test_a_frozen_day_differing_from_the_published_roster_is_reported() -> None:
    instance = two_weeks(previous={("A", 0): "E", ("A", 1): "N"}, frozen_days=frozenset({0}))

    violation = only(evaluate(instance, {("A", 0): "N", ("A", 1): "N"}))

    assert (violation.rule, violation.employee, violation.day) == ("frozen", "A", 0)
    assert violation.detail == "A has N on day 0, a frozen day published as E"
    assert evaluate(instance, {("A", 0): "E"}).feasible


def test_every_broken_rule_is_reported_not_only_the_first() -> None:
    instance = two_weeks(person(max_consecutive=2, max_shifts={"E": 2}, days_off=frozenset({1})))

    rules = {v.rule for v in evaluate(instance, works(range(3))).violations}

    assert rules == {"days_off", "max_shifts", "max_consecutive"}


def test_the_objective_of_a_small_roster_is_the_sum_worked_out_by_hand() -> None:
    instance = two_weeks(
        person("A"),
        person("B"),
        shift_on=(
            Request("A", 0, "E", 3),  # granted: 0
            Request("A", 1, "N", 4),  # A works E that day: 4
            Request("B", 2, "E", 5),  # B is off: 5
        ),
        shift_off=(
            Request("A", 0, "E", 7),  # violated: 7
            Request("B", 0, "N", 2),  # B works E, not N: 0
        ),
        cover=(
            Cover(0, "E", requirement=1, under_weight=100, over_weight=1),  # 2 on: over 1
            Cover(1, "E", requirement=3, under_weight=100, over_weight=1),  # 1 on: under 200
            Cover(1, "N", requirement=0, under_weight=100, over_weight=20),  # 0 on: 0
        ),
    )
    roster = {("A", 0): "E", ("B", 0): "E", ("A", 1): "E"}

    evaluation = evaluate(instance, roster)

    assert evaluation.feasible
    assert dict(evaluation.breakdown) == {
        "shift_on": 9,
        "shift_off": 7,
        "cover_under": 200,
        "cover_over": 1,
        "fairness": 0,
        "change": 0,
    }
    assert evaluation.objective == 217


def test_one_person_counts_towards_every_cover_of_their_shift_whose_skill_they_hold() -> None:
    instance = two_weeks(
        person("A", skills=frozenset({"US", "US-VASC"})),
        person("B", skills=frozenset({"US"})),
        cover=(
            Cover(0, "E", requirement=1, under_weight=10, over_weight=3, skill="US"),
            Cover(0, "E", requirement=1, under_weight=10, over_weight=3, skill="US-VASC"),
            Cover(0, "E", requirement=3, under_weight=10, over_weight=3),
        ),
    )

    evaluation = evaluate(instance, {("A", 0): "E", ("B", 0): "E"})

    # US: 2 for 1 (over 3); US-VASC: 1 for 1; anyone: 2 for 3 (under 10).
    assert (evaluation.breakdown["cover_over"], evaluation.breakdown["cover_under"]) == (3, 10)


def test_fairness_costs_its_weight_per_unit_of_spread_over_its_people_and_days() -> None:
    instance = two_weeks(
        person("A"),
        person("B"),
        person("C"),
        fairness=(
            Fairness("nights", frozenset({"N"}), frozenset({"A", "B"}), weight=5),
            Fairness(
                "weekend",
                frozenset({"E", "N"}),
                frozenset({"A", "B", "C"}),
                2,
                days=frozenset({5, 6}),
            ),
        ),
    )
    roster = (
        works([0, 2, 4], "N", "A")  # A: 3 nights, no weekend day
        | works([1], "N", "B")  # B: 1 night
        | works([5, 6], "E", "C")  # C: not in the night rule; 2 weekend days
    )

    evaluation = evaluate(instance, roster)

    # nights: 5 x (3 - 1) = 10; weekend days: 2 x (2 - 0) = 4.
    assert evaluation.breakdown["fairness"] == 14
    assert evaluation.objective == 14


def test_each_day_changed_from_the_published_roster_costs_the_change_weight() -> None:
    instance = two_weeks(
        previous={("A", 0): "E", ("A", 1): "E", ("A", 2): "N"},
        change_weight=3,
    )

    evaluation = evaluate(instance, {("A", 0): "E", ("A", 1): "N", ("A", 5): "E"})

    # day 1 E -> N, day 2 N -> off, day 5 off -> E: three changes.
    assert evaluation.breakdown["change"] == 9
    assert evaluation.objective == 9


@needs_benchmarks
def test_instance1_tiny_variant_hand_checked_with_weights_from_the_file() -> None:
    """Instance1 with its real rules: one person alone, every term counted by hand."""
    instance = load_curtois(BENCHMARKS / "Instance1.txt")
    a = instance.employees[0]
    solo = replace(
        instance,
        employees=(a,),
        shift_on=tuple(r for r in instance.shift_on if r.employee == "A"),
        shift_off=(),
        cover=instance.cover[:2],
    )
    # A (day 0 off by DAYS_OFF) works days 1-5 then 8-9: 7 shifts = 3360 minutes (the minimum),
    # runs of 5 and 2, off runs of 2 and an edge run; one weekend (day 5).
    roster = works([1, 2, 3, 4, 5, 8, 9], "D")

    evaluation = evaluate(solo, roster)

    assert evaluation.feasible, evaluation.violations
    # Requests A,2,D and A,3,D granted: 0. Cover day 0: 0 of 5 = 500; day 1: 1 of 7 = 600.
    assert dict(evaluation.breakdown)["shift_on"] == 0
    assert evaluation.breakdown["cover_under"] == 1100
    assert evaluation.objective == 1100


@needs_benchmarks
def test_a_known_instance1_roster_evaluates_to_the_proven_optimum() -> None:
    """The fixture is what ``radflow roster-benchmark Instance1.txt --seconds 5`` wrote."""
    instance = load_curtois(BENCHMARKS / "Instance1.txt")
    roster = read_solution(instance, (FIXTURES / "Instance1.solution").read_text())

    evaluation = evaluate(instance, roster)

    assert evaluation.feasible
    assert evaluation.objective == 607
    assert dict(evaluation.breakdown) == {
        "shift_on": 4,
        "shift_off": 3,
        "cover_under": 600,
        "cover_over": 0,
        "fairness": 0,
        "change": 0,
    }
