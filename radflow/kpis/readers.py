"""Reading the rollups: which table answers a question, and its measures added up by day or by
a dimension. Nothing here reads an exam.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db import models
from django.db.models import Count, Q, Sum

from radflow.core.kpis.rollup import COUNT_FIELDS
from radflow.core.kpis.types import FILTER_FIELD, Dimension, KpiFilters, QualityPoint
from radflow.kpis.models import (
    KpiBacklogSnapshot,
    KpiDaily,
    KpiDailySite,
    KpiHistMonth,
    KpiReasonDaily,
    KpiRoomDay,
    KpiStaffDay,
)
from radflow.kpis.registry import Totals
from radflow.kpis.rollups import next_month

#: Rollup column of each dimension (the fine table has them all).
COLUMN: dict[Dimension, str] = {
    Dimension.SITE: "site",
    Dimension.MODALITY: "modality",
    Dimension.ROOM: "room",
    Dimension.STAFF: "performer",
    Dimension.EXAM_TYPE: "exam_type",
    Dimension.REFERRER: "referrer",
    Dimension.PAYER: "payer",
    Dimension.PATIENT_CLASS: "patient_class",
    Dimension.PRIORITY: "priority",
}
#: What the coarse table (day x site x modality) can answer.
COARSE = frozenset({Dimension.SITE, Dimension.MODALITY})


def cube_for(filters: KpiFilters, by: Dimension | None = None) -> type[KpiDaily | KpiDailySite]:
    """The smallest rollup that has every dimension asked for."""
    wanted = filters.dimensions() | ({by} if by is not None else set())
    return KpiDailySite if wanted <= COARSE else KpiDaily


def cube_name(model: type[models.Model]) -> str:
    return "rollup:site" if model is KpiDailySite else "rollup:fine"


def filter_q(filters: KpiFilters, columns: dict[Dimension, str] = COLUMN) -> Q:
    q = Q()
    for dim, name in FILTER_FIELD.items():
        values = getattr(filters, name)
        if values and dim in columns:
            q &= Q(**{f"{columns[dim]}__in": list(values)})
    return q


def _span(start: date, end: date) -> Q:
    return Q(day__gte=start, day__lte=end)


def _sums() -> dict[str, Sum]:
    return {name: Sum(name) for name in COUNT_FIELDS}


def full_months(start: date, end: date) -> list[date]:
    """The months wholly inside ``[start, end]``."""
    months = []
    month = start if start.day == 1 else next_month(start.replace(day=1))
    while next_month(month) - timedelta(days=1) <= end:
        months.append(month)
        month = next_month(month)
    return months


@dataclass
class _SharedRows:
    #: Fine-table columns that single-column reads of the block get from one read of them all.
    together: tuple[str, ...]
    rows: dict[tuple[Any, ...], list[dict[str, Any]]] = field(default_factory=dict)


_SHARED_ROWS: ContextVar[_SharedRows | None] = ContextVar("kpi_shared_rollup_rows", default=None)


@contextmanager
def rollup_reads_once(together: Iterable[str] = ()) -> Iterator[None]:
    """Inside the block, a rollup read asked for again (same table, days, filters and columns)
    is answered from the first one.

    A dashboard's tiles and its trend read the same days of the same rollup, folded two ways
    (one total, one per month): the rows are the same, only the folding differs. Its
    breakdowns by several of the fine table's columns (``together``: room, performer, exam
    type...) each read the same rows of the period too: one read grouped by all of them is
    folded per column instead (counts and sums add up the same either way). The rows are held
    for one request only: nothing outlives the block.
    """
    token = _SHARED_ROWS.set(_SharedRows(tuple(dict.fromkeys(together))))
    try:
        yield
    finally:
        _SHARED_ROWS.reset(token)


def _rows(
    key: tuple[Any, ...], read: Callable[[], Iterable[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The rows of ``read``, shared inside ``rollup_reads_once`` (callers must not change them)."""
    shared = _SHARED_ROWS.get()
    if shared is None:
        return list(read())
    if key not in shared.rows:
        shared.rows[key] = list(read())
    return shared.rows[key]


def _sum_rows(
    model: type[KpiDaily | KpiDailySite],
    rows: models.QuerySet[Any],
    read: tuple[Any, ...],
    group: list[str],
) -> Iterable[dict[str, Any]]:
    """The measures summed per ``group``: from a shared read of the block's ``together``
    columns when ``group`` is one of them, else read as asked."""
    shared = _SHARED_ROWS.get()
    together = shared.together if shared is not None else ()
    if model is not KpiDaily or len(together) < 2 or len(group) != 1 or group[0] not in together:
        return _rows(("sums", *read), lambda: rows.values(*group).annotate(**_sums()).order_by())
    wide = _rows(
        ("sums", *read[:-1], together),
        lambda: rows.values(*together).annotate(**_sums()).order_by(),
    )
    column = group[0]
    folded: dict[Any, dict[str, Any]] = {}
    for row in wide:
        cell = folded.get(row[column])
        if cell is None:
            folded[row[column]] = {column: row[column]} | {n: row[n] or 0 for n in COUNT_FIELDS}
        else:
            for name in COUNT_FIELDS:
                cell[name] += row[name] or 0
    return folded.values()


def totals_by(
    start: date,
    end: date,
    filters: KpiFilters,
    *,
    key: Callable[[dict[str, Any]], Any],
    group: Iterable[str],
    by: Dimension | None = None,
    hist: bool = False,
    months_fold: bool = True,
) -> dict[Any, Totals]:
    """Rollup measures grouped by ``group`` columns and folded by ``key`` (a period, a
    dimension value); histograms too when ``hist``.

    ``months_fold``: ``key`` gives one answer for every day of a month (months, totals,
    breakdowns), so whole months of the coarse table's histograms come from ``KpiHistMonth``.
    """
    model = cube_for(filters, by)
    rows = model.objects.filter(_span(start, end) & filter_q(filters))
    group = list(group)
    read = (model, start, end, filters, tuple(group))
    result: dict[Any, Totals] = defaultdict(Totals)
    for row in _sum_rows(model, rows, read, group):
        totals = result[key(row)]
        totals.counts.update({name: row[name] or 0 for name in COUNT_FIELDS})
    if not hist:
        return dict(result)
    months = full_months(start, end) if model is KpiDailySite and months_fold else []
    daily = rows
    if months:
        daily = rows.filter(Q(day__lt=months[0]) | Q(day__gte=next_month(months[-1])))
        month_group = ["month" if name == "day" else name for name in group]
        monthly = KpiHistMonth.objects.filter(
            Q(month__gte=months[0], month__lte=months[-1])
            & filter_q(filters, {Dimension.SITE: "site", Dimension.MODALITY: "modality"})
        )
        for row in _rows(
            ("months", *read, tuple(months)),
            lambda: (
                monthly.values(*month_group, "measure", "bucket")
                .annotate(total=Sum("n"))
                .order_by()
            ),
        ):
            if "month" in row:
                row = {("day" if name == "month" else name): value for name, value in row.items()}
            buckets = result[key(row)].hist.setdefault(row["measure"], {})
            buckets[row["bucket"]] = buckets.get(row["bucket"], 0) + (row["total"] or 0)
    for row in _rows(
        ("hist", *read, tuple(months)),
        lambda: daily.exclude(hist={}).values(*group, "hist").order_by(),
    ):
        result[key(row)].add_hist(row["hist"])
    return dict(result)


def reasons_by(
    start: date,
    end: date,
    filters: KpiFilters,
    kind: str,
    *,
    key: Callable[[dict[str, Any]], Any],
    group: Iterable[str],
) -> dict[Any, int]:
    rows = KpiReasonDaily.objects.filter(_span(start, end) & filter_q(filters), kind=kind)
    result: dict[Any, int] = defaultdict(int)
    for row in rows.values(*group).annotate(total=Sum("n")).order_by():
        result[key(row)] += row["total"] or 0
    return dict(result)


def open_seconds_by(
    start: date,
    end: date,
    filters: KpiFilters,
    *,
    key: Callable[[dict[str, Any]], Any],
    group: Iterable[str],
) -> dict[Any, int]:
    columns = {Dimension.SITE: "site", Dimension.MODALITY: "modality", Dimension.ROOM: "room"}
    rows = KpiRoomDay.objects.filter(_span(start, end) & filter_q(filters, columns))
    result: dict[Any, int] = defaultdict(int)
    for row in rows.values(*group).annotate(total=Sum("open_s")).order_by():
        result[key(row)] += row["total"] or 0
    return dict(result)


def worked_seconds_by(
    start: date,
    end: date,
    filters: KpiFilters,
    *,
    key: Callable[[dict[str, Any]], Any],
    group: Iterable[str],
) -> dict[Any, int]:
    columns = {Dimension.SITE: "site", Dimension.MODALITY: "modality", Dimension.STAFF: "staff"}
    rows = KpiStaffDay.objects.filter(_span(start, end) & filter_q(filters, columns))
    result: dict[Any, int] = defaultdict(int)
    for row in rows.values(*group).annotate(total=Sum("worked_s")).order_by():
        result[key(row)] += row["total"] or 0
    return dict(result)


def backlog_by(
    start: date,
    end: date,
    filters: KpiFilters,
    *,
    key: Callable[[dict[str, Any]], Any],
    group: Iterable[str],
) -> dict[Any, tuple[float, int]]:
    """Sum and count of the third-next-available snapshots (days), added up in the database."""
    columns = {
        Dimension.SITE: "site",
        Dimension.MODALITY: "modality",
        Dimension.EXAM_TYPE: "exam_type",
    }
    rows = KpiBacklogSnapshot.objects.filter(
        _span(start, end) & filter_q(filters, columns), days__isnull=False
    )
    result: dict[Any, tuple[float, int]] = {}
    for row in rows.values(*group).annotate(total=Sum("days"), n=Count("days")).order_by():
        total, n = result.get(key(row), (0.0, 0))
        result[key(row)] = (total + float(row["total"] or 0), n + int(row["n"] or 0))
    return result


@dataclass
class _SharedQualityRead:
    start: date
    end: date
    filters: KpiFilters
    points: list[QualityPoint] | None = None
    done: bool = False


_SHARED_QUALITY: ContextVar[_SharedQualityRead | None] = ContextVar(
    "kpi_shared_quality_read", default=None
)


@contextmanager
def quality_read_once(start: date, end: date, filters: KpiFilters) -> Iterator[None]:
    """Inside the block, the quality points of any part of ``[start, end]`` with ``filters``
    come from one read of the whole range, made when first needed.

    A dashboard reads a period, the period before it and the period's trend: three reads of
    the quality program, each as slow as the whole range (its queries are not day-bounded
    rollups). Each point belongs to one day, so a part of the range is its points of those
    days. The block holds the points for one request only: nothing outlives it.
    """
    token = _SHARED_QUALITY.set(_SharedQualityRead(start, end, filters))
    try:
        yield
    finally:
        _SHARED_QUALITY.reset(token)


def quality_points(start: date, end: date, filters: KpiFilters) -> list[QualityPoint] | None:
    """The quality program's daily points (the contract's seam); None until it exists."""
    shared = _SHARED_QUALITY.get()
    if (
        shared is not None
        and shared.filters == filters
        and shared.start <= start
        and end <= shared.end
    ):
        if not shared.done:
            shared.points = _quality_points_read(shared.start, shared.end, filters)
            shared.done = True
        if shared.points is None:
            return None
        return [point for point in shared.points if start <= point.day <= end]
    return _quality_points_read(start, end, filters)


def _quality_points_read(start: date, end: date, filters: KpiFilters) -> list[QualityPoint] | None:
    try:
        from radflow.quality import selectors as quality_selectors
    except ImportError:
        return None
    reader = getattr(quality_selectors, "kpi_quality_points", None)
    if reader is None:
        return None
    points: list[QualityPoint] = reader(start=start, end=end, filters=filters)
    return points


def quality_totals(points: Iterable[QualityPoint], key: Callable[[date], Any]) -> dict[Any, Totals]:
    result: dict[Any, Totals] = defaultdict(Totals)
    for point in points:
        counts = result[key(point.day)].counts
        counts[f"{point.measure}:total"] += round(point.total * 1000)
        counts[f"{point.measure}:count"] += int(point.count)
    return dict(result)
