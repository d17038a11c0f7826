"""RAG: green while at least as good as the amber threshold, amber up to the red one."""

from __future__ import annotations

import pytest

from radflow.core.kpis.rag import check_thresholds, rag_status
from radflow.core.kpis.types import Direction, Status

LOWER, HIGHER = Direction.LOWER, Direction.HIGHER


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (4.0, Status.GREEN),
        (6.0, Status.GREEN),
        (6.01, Status.AMBER),
        (8.0, Status.AMBER),
        (8.5, Status.RED),
    ],
)
def test_a_no_show_rate_is_green_to_six_percent_and_red_past_eight(
    value: float, expected: Status
) -> None:
    assert rag_status(value, LOWER, amber=6.0, red=8.0) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(95.0, Status.GREEN), (90.0, Status.GREEN), (85.0, Status.AMBER), (79.9, Status.RED)],
)
def test_a_completion_rate_is_green_from_ninety_percent(value: float, expected: Status) -> None:
    assert rag_status(value, HIGHER, amber=90.0, red=80.0) is expected


def test_no_value_or_no_thresholds_has_no_status() -> None:
    assert rag_status(None, LOWER, amber=1, red=2) is Status.NONE
    assert rag_status(3.0, LOWER, amber=None, red=None) is Status.NONE


def test_with_only_a_red_threshold_anything_better_is_green() -> None:
    assert rag_status(3.0, LOWER, amber=None, red=5.0) is Status.GREEN
    assert rag_status(6.0, LOWER, amber=None, red=5.0) is Status.RED


def test_thresholds_must_run_from_target_to_red() -> None:
    assert check_thresholds(LOWER, 5, 6, 8) == []
    assert check_thresholds(HIGHER, 95, 90, 80) == []
    assert check_thresholds(LOWER, 5, 4, 8) == [
        "The target must not be above the amber threshold (lower is better)."
    ]
    assert check_thresholds(HIGHER, 90, 95, None) == [
        "The target must not be below the amber threshold (higher is better)."
    ]
