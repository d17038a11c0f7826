"""Which period a dashboard compares with, and how it opens: plain dates, no database."""

from __future__ import annotations

from datetime import date

from radflow.core.kpis.types import Grain
from radflow.kpis.dashboards import Board, Period, default_period, fitted_grain, number_text


def test_whole_months_are_compared_with_as_many_months_before() -> None:
    assert Period(date(2026, 6, 1), date(2026, 11, 30)).previous() == Period(
        date(2025, 12, 1), date(2026, 5, 31)
    )
    assert Period(date(2026, 3, 1), date(2026, 3, 31)).previous() == Period(
        date(2026, 2, 1), date(2026, 2, 28)
    )


def test_other_ranges_are_compared_with_as_many_days_before() -> None:
    assert Period(date(2026, 3, 10), date(2026, 3, 16)).previous() == Period(
        date(2026, 3, 3), date(2026, 3, 9)
    )


def test_each_board_opens_on_its_own_period() -> None:
    today = date(2026, 12, 3)
    assert default_period(Board.DIRECTOR, today) == Period(date(2026, 6, 1), date(2026, 11, 30))
    assert default_period(Board.COORDINATOR, today) == Period(date(2026, 11, 6), today)
    # Thursday 3 December: the 13 weeks from Monday 31 August to Sunday 29 November.
    assert default_period(Board.MODALITY, today) == Period(date(2026, 8, 31), date(2026, 11, 29))


def test_a_long_range_by_day_is_drawn_by_week() -> None:
    three_years = Period(date(2024, 1, 1), date(2026, 12, 31))
    assert fitted_grain(three_years, Grain.DAY) is Grain.WEEK
    assert fitted_grain(Period(date(2026, 1, 1), date(2026, 3, 31)), Grain.DAY) is Grain.DAY


def test_numbers_read_in_their_units() -> None:
    assert number_text(4.708, "%") == "4.7 %"
    assert number_text(7411.0, "exams") == "7,411"
    assert number_text(1.0592, "per 8 h") == "1.06 per 8 h"
    assert number_text(None, "h") == "—"
