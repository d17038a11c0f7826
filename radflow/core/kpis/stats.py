"""Percentiles that survive being added up: fixed histogram buckets over minutes.

A median cannot be rolled up from daily medians, and keeping every value per day would grow with
the history. Each rollup row keeps a histogram instead: whole-minute buckets below an hour (a
wait or an exam duration reads to the minute) and, above that, buckets 2^(1/12) wide (about 6 %),
so a week's access time or a report's hours are within a few percent. Histograms add bucket by
bucket, so any range of days and any set of rows merge into one; the percentile is read by linear
interpolation inside the bucket that holds the rank. The raw path buckets the raw values the same
way, so both give the same number; ``percentile_exact`` is for the tests of the error bound.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

#: Below this many minutes every whole minute has its own bucket.
LINEAR_MINUTES = 60
#: Buckets per doubling above ``LINEAR_MINUTES``.
PER_OCTAVE = 12

Histogram = dict[int, int]


def bucket_of(minutes: float) -> int:
    """The bucket a value in minutes falls in (negative values count as 0)."""
    if minutes < LINEAR_MINUTES:
        return max(0, int(minutes))
    return LINEAR_MINUTES + math.floor(PER_OCTAVE * math.log2(minutes / LINEAR_MINUTES))


def bucket_bounds(bucket: int) -> tuple[float, float]:
    """The half-open range ``[low, high)`` of minutes a bucket holds."""
    if bucket < LINEAR_MINUTES:
        return float(bucket), float(bucket + 1)
    step = bucket - LINEAR_MINUTES
    return (
        LINEAR_MINUTES * 2 ** (step / PER_OCTAVE),
        LINEAR_MINUTES * 2 ** ((step + 1) / PER_OCTAVE),
    )


def histogram_of(values_minutes: Iterable[float]) -> Histogram:
    result: Histogram = {}
    for value in values_minutes:
        b = bucket_of(value)
        result[b] = result.get(b, 0) + 1
    return result


def merge_into(target: Histogram, other: Mapping[Any, int]) -> Histogram:
    """Add ``other`` (keys may be text, as JSON keeps them) into ``target``; returns target."""
    for key, n in other.items():
        b = int(key)
        target[b] = target.get(b, 0) + int(n)
    return target


def percentile(histogram: Mapping[int, int], q: float) -> float | None:
    """The ``q`` quantile (0 < q ≤ 1) in minutes, interpolated inside its bucket; None if empty.

    The rank is ``q · n`` counted from the bottom of the lowest bucket, so one value reads as the
    middle of its bucket and the median of values spread evenly over a bucket is its middle.
    """
    if not 0 < q <= 1:
        raise ValueError("q must be in (0, 1]")
    n = sum(histogram.values())
    if n <= 0:
        return None
    rank = q * n
    below = 0
    for b in sorted(histogram):
        count = histogram[b]
        if count <= 0:
            continue
        if below + count >= rank:
            low, high = bucket_bounds(b)
            return low + (high - low) * (rank - below) / count
        below += count
    low, high = bucket_bounds(max(histogram))  # only reached through rounding
    return high


def percentile_exact(values: Iterable[float], q: float) -> float | None:
    """The nearest-rank percentile of raw values (what the histogram approximates)."""
    ordered = sorted(values)
    if not ordered:
        return None
    index = max(0, math.ceil(q * len(ordered)) - 1)
    return ordered[index]


def ratio(numerator: float, denominator: float, *, scale: float = 1.0) -> float | None:
    """``numerator / denominator · scale``, or None when there is nothing to divide by."""
    if not denominator:
        return None
    return numerator / denominator * scale
