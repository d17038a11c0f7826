"""The independent validator and the objective, on hand-made plans whose figures are known."""

from __future__ import annotations

from dataclasses import replace

import pytest

from radflow.core.scheduling.day import Assignment, Day, Device, Plan, Priority, Room, Staff, Window
from radflow.core.scheduling.evaluate import metrics, objective, validate
from tests.core.scheduling.days import H, at, exam, plan_of, two_room_day


def test_a_valid_plan_has_no_violations():
    day = two_room_day(exam("A"), exam("B", resources=frozenset({"INT"})))

    plan = plan_of(at("A", "R1", "S1", 8 * H), at("B", "R2", "S2", 8 * H))

    assert validate(day, plan) == []


def test_overtime_within_the_allowance_is_valid_and_counted():
    day = two_room_day(exam("A"))
    day = replace(day, staff=(Staff("S1", (Window(8 * H, 13 * H),)), day.staff[1]))

    plan = plan_of(at("A", "R1", "S1", 11 * H + 55))  # 11:55-12:25, the room closes at 12:00

    assert validate(day, plan) == []
    assert metrics(day, plan).overtime == 25


def _cases() -> list[tuple[str, Day, Plan, str]]:
    a, b = exam("A"), exam("B")
    late_shift = (Staff("S1", (Window(8 * H, 13 * H),)), Staff("S2", (Window(8 * H, 12 * H),)))
    return [
        (
            "room overlap including turnover",
            two_room_day(replace(a, turnover=10), b),
            plan_of(at("A", "R1", "S1", 480), at("B", "R1", "S2", 515)),
            "room R1: ",
        ),
        (
            "staff overlap",
            two_room_day(a, b),
            plan_of(at("A", "R1", "S1", 480), at("B", "R2", "S1", 490)),
            "staff member S1: ",
        ),
        (
            "resource overlap",
            two_room_day(
                replace(a, resources=frozenset({"INT"})), replace(b, resources=frozenset({"INT"}))
            ),
            plan_of(at("A", "R1", "S1", 480), at("B", "R2", "S2", 490)),
            "resource INT: ",
        ),
        (
            "ineligible room",
            two_room_day(replace(a, rooms=frozenset({"R1"}))),
            plan_of(at("A", "R2", "S1", 480)),
            "room R2 is not eligible",
        ),
        (
            "ineligible staff member",
            two_room_day(replace(a, staff=frozenset({"S1"}))),
            plan_of(at("A", "R2", "S2", 480)),
            "staff member S2 is not eligible",
        ),
        (
            "device of another room",
            two_room_day(a),
            plan_of(Assignment("A", "R2", "D1", "S1", 480)),
            "device D1 is not a device of room R2",
        ),
        (
            "device missing",
            two_room_day(a),
            plan_of(Assignment("A", "R1", None, "S1", 480)),
            "needs one of its devices",
        ),
        (
            "room closed beyond the overtime allowance",
            two_room_day(a, staff=late_shift),
            plan_of(at("A", "R1", "S1", 12 * H + 1)),  # ends 12:31, the allowance ends 12:30
            "room R1 is not open",
        ),
        (
            "staff member off shift",
            two_room_day(a, staff=(Staff("S1", (Window(9 * H, 12 * H),)), late_shift[1])),
            plan_of(at("A", "R2", "S1", 8 * H)),
            "not on shift",
        ),
        (
            "device out of service",
            two_room_day(
                a, devices=(Device("D1", "R1", (Window(0, 9 * H), Window(10 * H, 1440))),)
            ),
            plan_of(at("A", "R1", "S1", 8 * H + 50)),
            "is not in service",
        ),
        (
            "resource unavailable",
            two_room_day(replace(a, resources=frozenset({"INT"}))),
            plan_of(at("A", "R2", "S1", 9 * H + 50)),
            "INT is not available",
        ),
        (
            "start before release",
            two_room_day(replace(a, release=8 * H + 20)),
            plan_of(at("A", "R2", "S1", 8 * H)),
            "before its release",
        ),
        (
            "start before now",
            two_room_day(a, now=8 * H + 20),
            plan_of(at("A", "R2", "S1", 8 * H)),
            "before now",
        ),
        (
            "end after the exam's window",
            two_room_day(replace(a, window_end=8 * H + 20)),
            plan_of(at("A", "R2", "S1", 8 * H)),
            "after the end of its window",
        ),
        (
            "fixed exam moved",
            two_room_day(replace(a, fixed=True, current=at("A", "R1", "S1", 480))),
            plan_of(at("A", "R1", "S1", 490)),
            "was moved or dropped",
        ),
        (
            "exam missing from the plan",
            two_room_day(a, b),
            plan_of(at("A", "R1", "S1", 480)),
            "neither scheduled nor listed",
        ),
        (
            "past the end of the day",
            two_room_day(a, horizon=12 * H + 10),
            plan_of(at("A", "R2", "S1", 11 * H + 50)),
            "outside the day",
        ),
    ]


@pytest.mark.parametrize(
    ("case", "day", "plan", "fragment"), [pytest.param(*c, id=c[0]) for c in _cases()]
)
def test_the_validator_reports_each_kind_of_violation_once(case, day, plan, fragment):
    problems = validate(day, plan)

    assert [p for p in problems if fragment in p], f"{case}: {problems}"
    assert len(problems) == 1, f"{case}: {problems}"


def test_a_device_double_booked_is_reported_with_its_room():
    day = two_room_day(exam("A"), exam("B"))

    problems = validate(day, plan_of(at("A", "R1", "S1", 480), at("B", "R1", "S2", 490)))

    assert len([p for p in problems if p.startswith("device D1: ")]) == 1
    assert len([p for p in problems if p.startswith("room R1: ")]) == 1
    assert len(problems) == 2


def test_metrics_and_objective_are_recomputed_from_the_plan_alone():
    day = two_room_day(
        exam("U", priority=Priority.URGENT, target_start=8 * H),
        exam("S", priority=Priority.STAT, target_start=8 * H + 20),
        exam(
            "O",
            booked_start=8 * H,
            notified=True,
            current=at("O", "R2", "S2", 8 * H),
        ),
        exam("X"),
    )
    plan = plan_of(
        at("U", "R1", "S1", 8 * H + 10),  # 10 min late
        at("S", "R1", "S2", 8 * H + 50),  # 30 min late; R1 idle 08:40-08:50
        at("O", "R2", "S1", 11 * H + 40),  # waits 220; R2 and S1 10 min overtime; new time
        unscheduled={"X": "the day is full"},
    )

    m = metrics(day, plan)

    assert (m.urgent_lateness, m.stat_lateness) == (10, 30)
    assert (m.total_wait, m.mean_wait, m.p90_wait) == (220, 220.0, 220.0)
    assert (m.overtime, m.idle) == (20, 10)
    assert (m.changed, m.reassigned, m.unscheduled) == (1, 1, 1)
    assert objective(day, plan) == 50 * 30 + 10 * 10 + 2 * 220 + 5 * 20 + 10 + 30 + 1 + 10000


def test_a_closure_inside_a_rooms_day_is_not_idle_time():
    day = two_room_day(
        exam("A"),
        exam("B"),
        rooms=(Room("R1", (Window(8 * H, 10 * H), Window(11 * H, 12 * H))), Room("R2", ())),
    )

    plan = plan_of(at("A", "R1", "S1", 9 * H + 30), at("B", "R1", "S1", 11 * H))

    assert validate(day, plan) == []
    assert metrics(day, plan).idle == 0
