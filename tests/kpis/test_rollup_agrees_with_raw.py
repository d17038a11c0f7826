"""On the seeded demo history the rollups give exactly what a direct count of the exams gives,
for every KPI, whatever the filters and dates (a hypothesis property)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pytest_django import DjangoDbBlocker

from radflow.core.kpis.types import Dimension, Grain, KpiFilters, KpiValue
from radflow.demo import demo_generate
from radflow.exams import demo as exam_demo
from radflow.exams.models import Exam
from radflow.kpis.models import KpiDaily, KpiDailySite
from radflow.kpis.raw import kpi_trends_raw, kpi_values_raw
from radflow.kpis.registry import SPECS, Kind
from radflow.kpis.rollups import referrer_key, rollups_rebuild
from radflow.kpis.selectors import kpi_breakdown, kpi_trends, kpi_values

pytestmark = pytest.mark.django_db

#: Six weeks of history around the spring DST change (8 March 2026).
TODAY = date(2026, 3, 20)
FIRST = TODAY - timedelta(days=42)
LAST = TODAY + timedelta(days=14)
#: Every KPI but the quality program's (which both paths read from the same seam).
EXAM_KPIS = [code for code, spec in SPECS.items() if spec.kind not in (Kind.QUALITY,)]


@dataclass(frozen=True)
class Choices:
    sites: list[Any]
    modalities: list[str]
    rooms: list[Any]
    staff: list[Any]
    exam_types: list[Any]
    referrers: list[str]
    payers: list[Any]
    patient_classes: list[str]
    priorities: list[str]


@pytest.fixture(scope="module")
def choices(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[Choices]:
    with pytest.MonkeyPatch.context() as patch, django_db_blocker.unblock():
        patch.setattr(exam_demo, "HISTORY_DAYS", 42)
        patch.setattr(exam_demo, "SCALE", 0.12)
        with transaction.atomic():
            demo_generate(seed=1, patients=200, today=TODAY)
            # The demo counted documentation gaps at its own "now"; the raw audit reads the clock.
            rollups_rebuild()
            exams = Exam.objects.exclude(room__isnull=True)

            def distinct(field: str) -> list[Any]:
                values = exams.order_by().values_list(field, flat=True).distinct()
                return sorted({v for v in values if v not in (None, "")}, key=str)

            referrers = sorted(
                {
                    referrer_key(npi, name)
                    for npi, name in Exam.objects.values_list(
                        "order__ordering_provider_npi", "order__ordering_provider"
                    )
                }
                - {""}
            )
            yield Choices(
                sites=distinct("room__site_id"),
                modalities=distinct("order__exam_type__modality_id"),
                rooms=distinct("room_id"),
                staff=distinct("technologist_id"),
                exam_types=distinct("order__exam_type_id"),
                referrers=referrers,
                payers=distinct("order__payer_id"),
                patient_classes=["outpatient", "inpatient", "emergency"],
                priorities=["stat", "urgent", "routine"],
            )
            transaction.set_rollback(True)


def filters_from(data: st.DataObject, choices: Choices) -> KpiFilters:
    chosen: dict[str, Any] = {}
    for f in fields(Choices):
        options = getattr(choices, f.name)
        if options and data.draw(st.integers(0, 3), label=f"use {f.name}") == 0:
            chosen[f.name] = data.draw(
                st.lists(st.sampled_from(options), min_size=1, max_size=2, unique=True),
                label=f.name,
            )
    return KpiFilters.of(**chosen)


def assert_same(rollup: KpiValue, raw: KpiValue) -> None:
    for name in ("value", "numerator", "denominator", "count", "p50", "p90", "mean", "note"):
        a, b = getattr(rollup, name), getattr(raw, name)
        if isinstance(a, float) and isinstance(b, float | int):
            assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), (rollup.code, name, a, b)
        else:
            assert a == b, (rollup.code, name, a, b)
    assert rollup.status == raw.status, rollup.code


def test_the_demo_history_has_rollups_at_both_grains(choices: Choices) -> None:
    assert KpiDaily.objects.count() > KpiDailySite.objects.count() > 0
    assert len(choices.sites) == 3 and len(choices.referrers) > 10


@settings(
    max_examples=25,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # each example is slow to shrink
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_kpi_from_the_rollups_equals_the_raw_count(
    choices: Choices, data: st.DataObject
) -> None:
    filters = filters_from(data, choices)
    start = data.draw(st.dates(FIRST, LAST), label="start")
    end = data.draw(st.dates(start, min(LAST, start + timedelta(days=40))), label="end")
    rollup = kpi_values(start=start, end=end, filters=filters, codes=EXAM_KPIS)
    raw = kpi_values_raw(start=start, end=end, filters=filters, codes=EXAM_KPIS)
    for a, b in zip(rollup, raw, strict=True):
        assert_same(a, b)


@pytest.mark.parametrize("filters", [KpiFilters(), KpiFilters.of(modalities="US")])
def test_weekly_trends_equal_the_raw_count_week_by_week(
    choices: Choices, filters: KpiFilters
) -> None:
    codes = ["exams_performed", "no_show_rate", "tat_end_to_report", "room_utilization"]
    rollup = kpi_trends(codes, start=FIRST, end=TODAY, grain=Grain.WEEK, filters=filters)
    raw = kpi_trends_raw(codes, start=FIRST, end=TODAY, grain=Grain.WEEK, filters=filters)
    for code in codes:
        assert [p.period for p in rollup[code]] == [p.period for p in raw[code]]
        for a, b in zip(rollup[code], raw[code], strict=True):
            assert (a.count, a.numerator, a.denominator) == (b.count, b.numerator, b.denominator)
            assert a.value == pytest.approx(b.value), (code, a.period)


@pytest.mark.parametrize(
    "by", [Dimension.SITE, Dimension.MODALITY, Dimension.ROOM, Dimension.STAFF, Dimension.PAYER]
)
def test_a_breakdown_adds_up_to_the_total(choices: Choices, by: Dimension) -> None:
    (total,) = kpi_values(start=FIRST, end=TODAY, codes=["exams_performed"])
    rows = kpi_breakdown("exams_performed", by=by, start=FIRST, end=TODAY)
    assert sum(row.count for row in rows) == total.count > 0
    assert all(row.label for row in rows)
    (no_shows,) = kpi_values(start=FIRST, end=TODAY, codes=["no_show_rate"])
    reasons = kpi_breakdown("no_show_rate", by=Dimension.REASON, start=FIRST, end=TODAY)
    assert sum(row.count for row in reasons) == no_shows.numerator


def rollup_rows() -> dict[str, list[tuple[str, ...]]]:
    import json

    from radflow.kpis.models import KpiHistMonth, KpiReasonDaily

    result = {}
    for model in (KpiDaily, KpiDailySite, KpiReasonDaily, KpiHistMonth):
        names = [f.attname for f in model._meta.concrete_fields if f.attname != "id"]
        result[model.__name__] = sorted(
            tuple(json.dumps(v, sort_keys=True, default=str) for v in row)
            for row in model.objects.values_list(*names)
        )
    return result


@pytest.mark.database("postgresql")
def test_the_set_based_sql_rebuild_writes_the_rows_the_python_rules_write(
    choices: Choices, settings: Any
) -> None:
    import time_machine

    with time_machine.travel(TODAY + timedelta(days=1), tick=False):
        settings.KPI_REBUILD_SQL = False
        rollups_rebuild()
        by_python = rollup_rows()
        settings.KPI_REBUILD_SQL = True
        rollups_rebuild()
        by_sql = rollup_rows()
    assert len(by_python["KpiDaily"]) > 1000
    for table, rows in by_python.items():
        assert by_sql[table] == rows, table
