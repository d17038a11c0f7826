"""Explaining an infeasible roster problem with a small set of rules people can act on."""

from __future__ import annotations

from radflow.core.rostering.explain import explain_infeasible
from radflow.core.rostering.instance import Cover, Employee, Instance, ShiftType

DAY = ShiftType("D", 480)


def person(name: str, **rules: object) -> Employee:
    defaults: dict[str, object] = {
        "max_shifts": {"D": 14},
        "max_minutes": 6720,
        "min_minutes": 0,
        "max_consecutive": 5,
        "min_consecutive": 1,
        "min_consecutive_off": 1,
        "max_weekends": 2,
    }
    defaults.update(rules)
    return Employee(id=name, **defaults)  # type: ignore[arg-type]


def week(*employees: Employee, cover: tuple[Cover, ...] = ()) -> Instance:
    return Instance(name="t", horizon=7, shifts=(DAY,), employees=employees, cover=cover)


def test_a_minimum_cover_larger_than_the_staff_is_named_alone():
    instance = week(
        person("E1"),
        person("E2"),
        cover=(Cover(day=2, shift="D", requirement=3, under_weight=1, over_weight=1, minimum=3),),
    )

    assert explain_infeasible(instance, seconds=5) == ("minimum cover of 3 on day 2 (Wed) shift D",)


def test_a_minimum_cover_blocked_by_a_day_off_names_both():
    instance = week(
        person("E1", days_off=frozenset({4})),
        person("E2"),
        cover=(Cover(day=4, shift="D", requirement=2, under_weight=1, over_weight=1, minimum=2),),
    )

    conflicts = explain_infeasible(instance, seconds=5)

    assert set(conflicts) == {
        "minimum cover of 2 on day 4 (Fri) shift D",
        "employee E1 day off on day 4 (Fri)",
    }


def test_minimum_minutes_beyond_the_days_available_names_the_rules_involved():
    instance = week(
        person("E3", min_minutes=6 * 480, max_consecutive=3, min_consecutive_off=2),
        person("E4"),
    )

    conflicts = explain_infeasible(instance, seconds=5)

    assert "employee E3: min total minutes 2880" in conflicts
    assert "employee E3: max 3 consecutive working days" in conflicts
    assert all(c.startswith("employee E3") for c in conflicts)


def test_a_feasible_problem_has_nothing_to_explain():
    instance = week(person("E1"), person("E2"))

    assert explain_infeasible(instance, seconds=5) == ()
