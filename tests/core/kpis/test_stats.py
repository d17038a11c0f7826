"""Percentiles from histograms: whole minutes below an hour, ~6 % buckets above, and always
within one bucket of the exact value."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radflow.core.kpis.stats import (
    bucket_bounds,
    bucket_of,
    histogram_of,
    merge_into,
    percentile,
    percentile_exact,
    ratio,
)


def test_every_minute_below_an_hour_has_its_own_bucket() -> None:
    assert [bucket_of(m) for m in (0, 0.5, 1, 14.9, 15, 59.99)] == [0, 0, 1, 14, 15, 59]
    assert bucket_bounds(14) == (14.0, 15.0)


def test_negative_times_count_as_zero() -> None:
    assert bucket_of(-3) == 0


def test_buckets_above_an_hour_are_a_twelfth_of_an_octave() -> None:
    assert bucket_of(60) == 60
    assert bucket_of(120) == 72  # one doubling later
    low, high = bucket_bounds(bucket_of(1440))
    assert low <= 1440 < high
    assert high / low == pytest.approx(2 ** (1 / 12))


@given(st.floats(min_value=0, max_value=2_000_000, allow_nan=False))
def test_a_value_lies_inside_its_buckets_bounds(minutes: float) -> None:
    low, high = bucket_bounds(bucket_of(minutes))
    assert low <= minutes < high or (minutes == 0 and low == 0)


def test_a_single_value_reads_as_the_middle_of_its_bucket() -> None:
    assert percentile({30: 1}, 0.5) == 30.5


def test_the_median_of_ten_waits_is_interpolated_inside_its_minute() -> None:
    waits = [2, 4, 5, 5, 6, 7, 9, 12, 20, 41]
    hist = histogram_of(waits)
    # The fifth of ten values is 6, alone in [6, 7): the estimate is that bucket's top, within
    # a minute of the exact median.
    assert percentile(hist, 0.5) == 7.0
    assert percentile_exact(waits, 0.5) == 6


def test_an_empty_histogram_has_no_percentile() -> None:
    assert percentile({}, 0.5) is None
    with pytest.raises(ValueError, match="q must be"):
        percentile({1: 1}, 0)


@given(
    st.lists(st.floats(min_value=0, max_value=300_000, allow_nan=False), min_size=1, max_size=200),
    st.sampled_from([0.5, 0.9]),
)
def test_the_estimate_is_within_the_exact_percentiles_bucket(values: list[float], q: float) -> None:
    estimate = percentile(histogram_of(values), q)
    exact = percentile_exact(values, q)
    assert estimate is not None and exact is not None
    low, high = bucket_bounds(bucket_of(exact))
    assert low <= estimate <= high


def test_histograms_merge_bucket_by_bucket_whatever_the_split() -> None:
    rng = random.Random(3)
    values = [rng.expovariate(1 / 90) for _ in range(500)]
    whole = histogram_of(values)
    merged: dict[int, int] = {}
    for start in range(0, 500, 37):
        merge_into(merged, {str(k): v for k, v in histogram_of(values[start : start + 37]).items()})
    assert merged == whole
    assert percentile(merged, 0.9) == percentile(whole, 0.9)


def test_a_ratio_without_a_denominator_is_none() -> None:
    assert ratio(3, 0) is None
    assert ratio(1, 4, scale=100) == 25.0
