"""Third next available: slots of the exam's length laid end to end in each free window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from radflow.core.kpis.backlog import slot_starts, third_next_available

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def test_the_third_slot_may_sit_in_a_later_window() -> None:
    free = [(at(3, 9), at(3, 10)), (at(5, 14), at(5, 16))]  # 2 slots of 30 min, then 4
    assert slot_starts(free, 30, after=NOW, limit=3) == [at(3, 9), at(3, 9, 30), at(5, 14)]
    assert third_next_available(free, 30, now=NOW) == pytest.approx(3 + 6 / 24)


def test_two_rooms_free_at_once_give_two_slots() -> None:
    free = [(at(4, 9), at(4, 9, 45)), (at(4, 9), at(4, 9, 45)), (at(4, 13), at(4, 14))]
    # each 45-minute window holds one 40-minute slot
    assert third_next_available(free, 40, now=NOW) == pytest.approx(2 + 5 / 24)


def test_time_already_past_is_not_offered() -> None:
    free = [(NOW - timedelta(hours=2), NOW + timedelta(hours=1))]
    assert slot_starts(free, 20, after=NOW, limit=5) == [
        NOW,
        NOW + timedelta(minutes=20),
        NOW + timedelta(minutes=40),
    ]


def test_fewer_than_three_slots_have_no_answer() -> None:
    assert third_next_available([(at(3, 9), at(3, 10))], 30, now=NOW) is None


def test_a_window_shorter_than_the_exam_holds_no_slot() -> None:
    assert slot_starts([(at(3, 9), at(3, 9, 20))], 30, after=NOW, limit=3) == []
    with pytest.raises(ValueError, match="at least one minute"):
        slot_starts([], 0, after=NOW, limit=3)
