"""The eligibility and CE arithmetic on plain values (no database)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from radflow.credentials.rules import (
    HeldCredential,
    Requirement,
    add_years,
    alert_thresholds,
    ce_cycle,
    requirement_problem,
)

REGISTRY = Requirement(
    "sonography registry", frozenset({"rdms", "arrt-s"}), ("ARDMS RDMS", "ARRT (S)")
)


def held(code: str = "rdms", **kwargs: object) -> HeldCredential:
    values: dict[str, object] = {
        "type_code": code,
        "type_name": "ARDMS RDMS" if code == "rdms" else "ARRT (S)",
        "issued_on": dt.date(2020, 1, 1),
        "expires_on": dt.date(2026, 11, 24),
        "verified": True,
        **kwargs,
    }
    return HeldCredential(**values)  # type: ignore[arg-type]


def test_a_credential_counts_through_its_expiry_date_and_not_a_day_more() -> None:
    assert requirement_problem(REGISTRY, [held()], dt.date(2026, 11, 24)) is None
    assert (
        requirement_problem(REGISTRY, [held()], dt.date(2026, 11, 25))
        == "ARDMS RDMS expired on 2026-11-24"
    )


def test_an_expired_card_with_an_unverified_renewal_says_both() -> None:
    renewal = held(
        issued_on=dt.date(2026, 11, 20), expires_on=dt.date(2027, 11, 24), verified=False
    )
    assert (
        requirement_problem(REGISTRY, [held(), renewal], dt.date(2026, 12, 1))
        == "ARDMS RDMS expired on 2026-11-24 (renewal not verified yet)"
    )


def test_nothing_held_names_what_would_do() -> None:
    assert (
        requirement_problem(REGISTRY, [], dt.date(2026, 1, 1))
        == "no sonography registry credential (ARDMS RDMS or ARRT (S))"
    )


def test_a_card_issued_later_does_not_count_before_its_issue_date() -> None:
    assert (
        requirement_problem(REGISTRY, [held()], dt.date(2019, 6, 1))
        == "ARDMS RDMS not valid before 2020-01-01"
    )


def test_ce_counts_the_credits_inside_the_current_cycle_and_shows_the_shortfall() -> None:
    cycle = ce_cycle(
        issued_on=dt.date(2020, 1, 15),
        cycle_years=3,
        required=Decimal(30),
        credits=[
            (dt.date(2025, 12, 31), Decimal("5.5")),  # previous cycle
            (dt.date(2026, 1, 15), Decimal(10)),  # first day of this one
            (dt.date(2026, 5, 30), Decimal("4.25")),
        ],
        on=dt.date(2026, 6, 1),
    )
    assert (cycle.start, cycle.last_day) == (dt.date(2026, 1, 15), dt.date(2029, 1, 14))
    assert cycle.earned == Decimal("14.25")
    assert cycle.shortfall == Decimal("15.75")


def test_more_credits_than_needed_is_no_shortfall_not_a_negative_one() -> None:
    cycle = ce_cycle(
        issued_on=dt.date(2024, 3, 1),
        cycle_years=2,
        required=Decimal(24),
        credits=[(dt.date(2024, 5, 1), Decimal(30))],
        on=dt.date(2025, 1, 1),
    )
    assert cycle.shortfall == Decimal(0)


def test_a_leap_day_anniversary_falls_on_the_28th() -> None:
    assert add_years(dt.date(2024, 2, 29), 1) == dt.date(2025, 2, 28)


def test_alert_thresholds_reached_are_listed_most_urgent_first() -> None:
    assert alert_thresholds(91) == []
    assert alert_thresholds(90) == [90]
    assert alert_thresholds(45) == [60, 90]
    assert alert_thresholds(0) == [30, 60, 90]
    assert alert_thresholds(-1) == [0, 30, 60, 90]
