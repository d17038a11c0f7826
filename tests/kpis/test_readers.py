"""One read of the quality program serves a dashboard's period, the one before and the trend."""

from __future__ import annotations

from datetime import date

import pytest

from radflow.core.kpis.types import KpiFilters, QualityPoint
from radflow.kpis import readers

MARCH = (date(2026, 3, 1), date(2026, 3, 31))
POINTS = [QualityPoint(date(2026, 3, d), "qa_score", 90.0, 1) for d in (1, 10, 20)]


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[date, date, KpiFilters]]:
    calls: list[tuple[date, date, KpiFilters]] = []

    def fake(start: date, end: date, filters: KpiFilters) -> list[QualityPoint]:
        calls.append((start, end, filters))
        return [point for point in POINTS if start <= point.day <= end]

    monkeypatch.setattr(readers, "_quality_points_read", fake)
    return calls


def test_inside_the_block_each_part_of_the_range_comes_from_one_read(
    reads: list[tuple[date, date, KpiFilters]],
) -> None:
    everything = KpiFilters()
    with readers.quality_read_once(*MARCH, everything):
        assert readers.quality_points(date(2026, 3, 5), date(2026, 3, 15), everything) == [
            POINTS[1]
        ]
        assert readers.quality_points(*MARCH, everything) == POINTS
        assert readers.quality_points(date(2026, 3, 21), date(2026, 3, 31), everything) == []
    assert reads == [(*MARCH, everything)]


def test_other_filters_or_ranges_and_reads_outside_the_block_read_again(
    reads: list[tuple[date, date, KpiFilters]],
) -> None:
    everything, ultrasound = KpiFilters(), KpiFilters.of(modalities="US")
    with readers.quality_read_once(*MARCH, everything):
        readers.quality_points(*MARCH, ultrasound)
        readers.quality_points(date(2026, 2, 1), date(2026, 3, 31), everything)
    readers.quality_points(*MARCH, everything)
    assert [call[2] for call in reads] == [ultrasound, everything, everything]
    assert reads[1][0] == date(2026, 2, 1)
