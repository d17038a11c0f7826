"""SLA clocks alone, without a database: where a clock stands and how the board words it."""

from __future__ import annotations

import datetime as dt

import pytest

from radflow.core.sla import Clock, ClockState, format_remaining

RECEIVED = dt.datetime(2026, 3, 8, 6, 30, tzinfo=dt.UTC)


def stat_clock() -> Clock:
    """STAT as shipped: start within 60 minutes, warn at 45."""
    return Clock.from_policy(RECEIVED, target_min=60, warning_min=45)


def test_a_clock_is_due_and_warns_minutes_after_receipt() -> None:
    clock = stat_clock()
    assert clock.due_at == RECEIVED + dt.timedelta(minutes=60)
    assert clock.warn_at == RECEIVED + dt.timedelta(minutes=45)


def test_a_warning_later_than_the_target_is_brought_back_to_the_target() -> None:
    clock = Clock.from_policy(RECEIVED, target_min=30, warning_min=90)
    assert clock.warn_at == clock.due_at == RECEIVED + dt.timedelta(minutes=30)


@pytest.mark.parametrize(
    ("minutes_after_receipt", "expected"),
    [
        (0, ClockState.ON_TRACK),
        (44, ClockState.ON_TRACK),
        (45, ClockState.WARNING),
        (59, ClockState.WARNING),
        (60, ClockState.BREACHED),
        (60 * 24, ClockState.BREACHED),
    ],
)
def test_the_clock_is_on_track_then_warning_then_breached(
    minutes_after_receipt: int, expected: ClockState
) -> None:
    now = RECEIVED + dt.timedelta(minutes=minutes_after_receipt)
    assert stat_clock().state(now) is expected


def test_a_stopped_clock_stays_stopped_even_past_its_due_time() -> None:
    clock = stat_clock()
    assert clock.state(RECEIVED + dt.timedelta(days=3), stopped=True) is ClockState.STOPPED
    assert clock.state(RECEIVED, stopped=True) is ClockState.STOPPED


def test_remaining_time_turns_negative_once_breached() -> None:
    clock = stat_clock()
    assert clock.remaining(RECEIVED + dt.timedelta(minutes=18)) == dt.timedelta(minutes=42)
    assert clock.remaining(RECEIVED + dt.timedelta(minutes=72)) == dt.timedelta(minutes=-12)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (dt.timedelta(0), "0 min"),
        (dt.timedelta(seconds=59), "0 min"),
        (dt.timedelta(minutes=42), "42 min"),
        (dt.timedelta(minutes=59, seconds=59), "59 min"),
        (dt.timedelta(hours=1), "1 h 00 min"),
        (dt.timedelta(hours=3, minutes=5), "3 h 05 min"),
        (dt.timedelta(hours=23, minutes=59), "23 h 59 min"),
        (dt.timedelta(days=1), "1 d 0 h"),
        (dt.timedelta(days=2, hours=4, minutes=30), "2 d 4 h"),
        (dt.timedelta(days=14), "14 d 0 h"),
        (dt.timedelta(minutes=-12), "overdue 12 min"),
        (dt.timedelta(minutes=-12, seconds=-30), "overdue 12 min"),
        (dt.timedelta(hours=-2, minutes=-7), "overdue 2 h 07 min"),
        (dt.timedelta(days=-3, hours=-1), "overdue 3 d 1 h"),
    ],
)
def test_remaining_time_reads_as_the_board_shows_it(delta: dt.timedelta, text: str) -> None:
    assert format_remaining(delta) == text


def test_the_board_text_of_a_breached_clock_says_overdue() -> None:
    clock = stat_clock()
    now = RECEIVED + dt.timedelta(hours=2, minutes=15)
    assert clock.state(now) is ClockState.BREACHED
    assert format_remaining(clock.remaining(now)) == "overdue 1 h 15 min"
