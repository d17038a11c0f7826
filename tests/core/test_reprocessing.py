"""Probe reprocessing rules without a database: what a cycle counts for, the stop, the look-back,
turnaround and the QC schedules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radflow.core.reprocessing import (
    Cycle,
    CycleFacts,
    Frequency,
    Level,
    Method,
    QcState,
    Use,
    agent_problems,
    cycle_outcome,
    exposed_uses,
    qc_status,
    summarise,
    turnarounds,
    uses_since_clear,
    window_around,
)

MONDAY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return MONDAY + timedelta(minutes=minutes)


def use(name: str, minutes: int, ended: int | None = None) -> Use:
    return Use(ref=name, exam=f"exam-{name}", at=at(minutes), ended=at(ended) if ended else None)


def cycle(name: str, minutes: int, level: Level = Level.HIGH) -> Cycle:
    return Cycle(ref=name, at=at(minutes), level=level)


# --- one cycle ----------------------------------------------------------------------------------

PASSING_HLD = CycleFacts(
    method=Method.HLD_AUTOMATED, result_passed=True, indicator="pass", exposure_met=True
)


def test_a_cycle_with_everything_passing_reaches_its_methods_level() -> None:
    assert cycle_outcome(PASSING_HLD).level == Level.HIGH
    assert cycle_outcome(PASSING_HLD).passed
    wipe = CycleFacts(Method.LLD_WIPE, result_passed=True, indicator="not_read", exposure_met=True)
    assert cycle_outcome(wipe).level == Level.LOW
    steril = CycleFacts(Method.STERILIZATION, True, "pass", True)
    assert cycle_outcome(steril).level == Level.STERILE


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"result_passed": False}, "the cycle failed"),
        ({"indicator": "fail"}, "the chemical indicator / test strip failed"),
        ({"indicator": "not_read"}, "no chemical indicator / test strip was read"),
        ({"exposure_met": False}, "the minimum exposure time was not met"),
        ({"agent_problems": ("Cidex OPA lot 7 expired on 2026-03-01",)}, "Cidex OPA lot 7"),
    ],
)
def test_any_failing_part_makes_the_cycle_count_for_nothing(
    change: dict[str, Any], problem: str
) -> None:
    facts = replace(PASSING_HLD, **change)
    outcome = cycle_outcome(facts)
    assert outcome.level == Level.NONE
    assert any(p.startswith(problem) for p in outcome.problems)


def test_an_agent_is_unusable_when_expired_discarded_or_past_its_use_life() -> None:
    def problems(**kwargs: object) -> tuple[str, ...]:
        base: dict[str, object] = {
            "label": "Cidex OPA lot A1",
            "expires_on": date(2026, 6, 30),
            "opened_on": None,
            "use_life_days": None,
            "discarded_at": None,
            "at": MONDAY,
            "on": MONDAY.date(),
        }
        return agent_problems(**{**base, **kwargs})  # type: ignore[arg-type]

    assert problems() == ()
    assert problems(expires_on=date(2026, 3, 1)) == ("Cidex OPA lot A1 expired on 2026-03-01",)
    assert problems(expires_on=date(2026, 3, 2)) == ()  # usable through its expiry day
    # Opened 17 February with a 14-day use life: last usable day 2 March, not 3 March.
    assert problems(opened_on=date(2026, 2, 17), use_life_days=14) == ()
    late = problems(opened_on=date(2026, 2, 16), use_life_days=14)
    assert late == (
        "Cidex OPA lot A1 was opened on 2026-02-16: its 14-day use life ended on 2026-03-01",
    )
    assert problems(discarded_at=at(-5)) == ("Cidex OPA lot A1 was discarded",)
    assert problems(discarded_at=at(5)) == ()


# --- the stop -----------------------------------------------------------------------------------


def test_a_use_after_the_last_passing_hld_blocks_the_next_patient() -> None:
    uses = [use("a", 0), use("b", 60)]
    cycles = [cycle("c1", 30)]
    assert [u.ref for u in uses_since_clear(uses, cycles, Level.HIGH)] == ["b"]
    assert uses_since_clear(uses, [*cycles, cycle("c2", 90)], Level.HIGH) == []


def test_a_failed_or_low_level_cycle_does_not_clear_a_semi_critical_probe() -> None:
    uses = [use("a", 0)]
    assert uses_since_clear(uses, [cycle("fail", 30, Level.NONE)], Level.HIGH) == uses
    assert uses_since_clear(uses, [cycle("wipe", 30, Level.LOW)], Level.HIGH) == uses
    assert uses_since_clear(uses, [cycle("wipe", 30, Level.LOW)], Level.LOW) == []


def test_a_critical_probe_needs_sterilization() -> None:
    uses = [use("a", 0)]
    assert uses_since_clear(uses, [cycle("hld", 30, Level.HIGH)], Level.STERILE) == uses
    assert uses_since_clear(uses, [cycle("st", 30, Level.STERILE)], Level.STERILE) == []


def test_the_exam_itself_and_an_override_are_left_out() -> None:
    uses = [use("a", 0), use("b", 60)]
    assert [u.ref for u in uses_since_clear(uses, [], Level.HIGH, exclude_exam="exam-a")] == ["b"]
    assert uses_since_clear(uses, [], Level.HIGH, since=at(61)) == []
    assert [u.ref for u in uses_since_clear(uses, [], Level.HIGH, since=at(30))] == ["b"]


# --- the look-back ------------------------------------------------------------------------------


def test_the_look_back_lists_the_uses_between_the_two_passing_cycles() -> None:
    uses = [use("u1", 0), use("u2", 100), use("u3", 200), use("u4", 300)]
    cycles = [
        cycle("p1", 50),
        cycle("f1", 150, Level.NONE),  # failed: u2 and u3 shared the probe
        cycle("p2", 250),
    ]
    window, exposed = exposed_uses(uses, cycles, Level.HIGH, at(150))
    assert (window.opened_by, window.closed_by) == (cycles[0], cycles[2])
    assert [u.ref for u in exposed] == ["u2", "u3"]
    # From a patient: the same window around their own use.
    assert [u.ref for u in exposed_uses(uses, cycles, Level.HIGH, at(200))[1]] == ["u2", "u3"]
    # The first use has no passing cycle before it; the last none after it.
    assert window_around(cycles, Level.HIGH, at(0)).opened_by is None
    assert [u.ref for u in exposed_uses(uses, cycles, Level.HIGH, at(300))[1]] == ["u4"]


@given(
    use_minutes=st.lists(st.integers(0, 10_000), min_size=1, max_size=30, unique=True),
    cycle_specs=st.lists(
        st.tuples(st.integers(0, 10_000), st.sampled_from(list(Level))), max_size=20
    ),
    index=st.integers(0, 29),
)
def test_every_use_is_in_exactly_one_window_and_windows_partition_the_uses(
    use_minutes: list[int], cycle_specs: list[tuple[int, Level]], index: int
) -> None:
    cycle_minutes = {m for m, _ in cycle_specs}
    uses = [use(str(m), m) for m in use_minutes if m not in cycle_minutes]
    if not uses:
        return
    cycles = [cycle(f"c{i}", m, level) for i, (m, level) in enumerate(cycle_specs)]
    target = uses[index % len(uses)]
    _, exposed = exposed_uses(uses, cycles, Level.HIGH, target.at)
    assert target in exposed
    passing = sorted(c.at for c in cycles if c.level in (Level.HIGH, Level.STERILE))
    for other in uses:
        # Two uses share a window exactly when no passing cycle lies between them.
        low, high = sorted((other.at, target.at))
        between = any(low < t < high for t in passing)
        assert (other in exposed) is (not between)


# --- turnaround and QC schedules -------------------------------------------------------------


def test_turnaround_runs_from_the_end_of_the_exam_to_the_next_passing_cycle() -> None:
    uses = [use("a", 0, ended=20), use("b", 100), use("c", 300)]
    cycles = [cycle("fail", 40, Level.NONE), cycle("p1", 60), cycle("p2", 130)]
    found = {u.ref: d for u, d in turnarounds(uses, cycles, Level.HIGH)}
    assert found == {"a": timedelta(minutes=40), "b": timedelta(minutes=30)}  # c still waits
    summary = summarise(list(found.values()))
    assert summary.count == 2 and summary.median == timedelta(minutes=35)
    assert summarise([]).median is None


@pytest.mark.parametrize(
    ("frequency", "last_done", "state", "due_on"),
    [
        (Frequency.DAILY, date(2026, 3, 2), QcState.OK, date(2026, 3, 3)),
        (Frequency.DAILY, date(2026, 3, 1), QcState.DUE, date(2026, 3, 2)),
        (Frequency.DAILY, date(2026, 2, 27), QcState.OVERDUE, date(2026, 2, 28)),
        (Frequency.WEEKLY, date(2026, 2, 24), QcState.OK, date(2026, 3, 3)),
        (Frequency.WEEKLY, date(2026, 2, 23), QcState.DUE, date(2026, 3, 2)),
        (Frequency.MONTHLY, date(2026, 1, 1), QcState.OVERDUE, date(2026, 1, 31)),
        (Frequency.WEEKLY, None, QcState.OVERDUE, date(2026, 3, 2)),
    ],
)
def test_scheduled_checks_are_due_on_their_day_and_overdue_after(
    frequency: Frequency, last_done: date | None, state: QcState, due_on: date
) -> None:
    status = qc_status(frequency, last_done=last_done, today=date(2026, 3, 2))
    assert (status.state, status.due_on) == (state, due_on)


def test_a_per_cycle_test_is_overdue_once_a_cycle_ran_without_one() -> None:
    today = date(2026, 3, 2)
    assert qc_status("per_cycle", last_done=None, today=today).state == QcState.OK
    late = qc_status("per_cycle", last_done=None, today=today, cycles_since_last=2)
    assert late.state == QcState.OVERDUE and late.detail == "2 cycles ran without a test."
    assert qc_status("not_required", last_done=None, today=today).state == QcState.OK
