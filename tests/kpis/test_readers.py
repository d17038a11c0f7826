"""One read of the quality program serves a dashboard's period, the one before and the trend."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from radflow.core.kpis.types import Dimension, KpiFilters, QualityPoint
from radflow.kpis import readers
from radflow.kpis.models import KpiDaily, KpiDailySite, KpiHistMonth

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


@pytest.mark.django_db
def test_inside_the_block_a_rollup_read_asked_again_is_folded_from_the_first_rows(
    django_assert_num_queries: Any,
) -> None:
    everything = KpiFilters()
    KpiDailySite.objects.create(
        day=date(2026, 2, 27), modality="US", orders=2, hist={"access": {"3": 1}}
    )
    KpiDailySite.objects.create(day=date(2026, 3, 2), modality="US", orders=3)
    KpiDailySite.objects.create(day=date(2026, 3, 20), modality="CT", orders=4)
    KpiHistMonth.objects.create(
        month=date(2026, 3, 1), modality="US", measure="access", bucket=5, n=2
    )
    span = (date(2026, 2, 27), date(2026, 3, 31))

    def by_day(row: dict[str, Any]) -> date:
        return date(row["day"].year, row["day"].month, 1)

    outside = readers.totals_by(*span, everything, key=by_day, group=["day"], hist=True)
    with readers.rollup_reads_once():
        total = readers.totals_by(*span, everything, key=lambda row: None, group=["day"], hist=True)
        with django_assert_num_queries(0):
            monthly = readers.totals_by(*span, everything, key=by_day, group=["day"], hist=True)

    assert total[None].counts["orders"] == 9
    assert total[None].hist == {"access": {3: 1, 5: 2}}
    assert monthly == outside
    assert monthly[date(2026, 3, 1)].counts["orders"] == 7
    assert monthly[date(2026, 3, 1)].hist == {"access": {5: 2}}


@pytest.mark.django_db
def test_breakdowns_by_fine_columns_read_the_rows_once_and_add_up_the_same(
    django_assert_num_queries: Any,
) -> None:
    rooms, people = (uuid.uuid4(), uuid.uuid4()), (uuid.uuid4(), uuid.uuid4())
    for day, room, person, completed in [
        (2, rooms[0], people[0], 3),
        (3, rooms[0], people[1], 4),
        (4, rooms[1], people[1], 5),
        (5, rooms[1], None, 6),
    ]:
        KpiDaily.objects.create(
            day=date(2026, 3, day), modality="US", room=room, performer=person, completed=completed
        )
    ultrasound = KpiFilters(modalities=frozenset({"US"}))
    dimension = {"room": Dimension.ROOM, "performer": Dimension.STAFF}

    def by_column(column: str) -> dict[Any, Any]:
        totals = readers.totals_by(
            *MARCH, ultrasound, key=lambda row: row[column], group=[column], by=dimension[column]
        )
        return {k: t.counts for k, t in totals.items()}

    outside = {column: by_column(column) for column in dimension}
    with readers.rollup_reads_once(together=["room", "performer"]), django_assert_num_queries(1):
        inside = {column: by_column(column) for column in dimension}

    assert inside == outside
    assert inside["room"][rooms[1]]["completed"] == 11
    assert inside["performer"][people[1]]["completed"] == 9
    assert inside["performer"][None]["completed"] == 6
