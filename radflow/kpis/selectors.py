"""The KPI read API: values, trends, breakdowns and drill-downs (the contract in docs/kpis.md).

Everything but ``kpi_drilldown`` (and the documentation gaps by kind) reads rollup tables. One call
computes many KPIs from the same few queries: the measures of the period are added up by day
once, then each KPI is a formula over them (``registry.compute``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import QuerySet

from radflow.core.errors import ValidationFailed
from radflow.core.kpis.rag import rag_status
from radflow.core.kpis.stats import ratio
from radflow.core.kpis.types import (
    BreakdownRow,
    Dimension,
    Direction,
    Grain,
    KpiFilters,
    KpiValue,
    Status,
    TrendPoint,
)
from radflow.exams.models import Exam
from radflow.kpis import readers
from radflow.kpis.labels import labels_for
from radflow.kpis.models import KpiDefinition, KpiTarget
from radflow.kpis.registry import (
    REASON_KIND,
    SPECS,
    Computed,
    Kind,
    Totals,
    compute,
    note_for,
)
from radflow.scheduling.models import Department

#: The dashboards' KPI sets (suggested; each dashboard may show more).
DIRECTOR_SET: tuple[str, ...] = (
    "exams_performed",
    "orders_received",
    "tat_order_to_exam",
    "tat_end_to_report",
    "tat_report_to_sign",
    "sla_stat",
    "sla_urgent",
    "third_next_available",
    "no_show_rate",
    "same_day_cancel_rate",
    "completion_rate",
    "room_utilization",
    "exams_per_8h",
    "rvus_per_hour",
    "scanned_share",
    "override_rate",
    "documentation_findings",
    "qa_score",
    "peer_review_discrepancy_rate",
    "incidents",
    "complaints",
    "complaint_resolution_time",
    "patient_satisfaction",
)
COORDINATOR_SET: tuple[str, ...] = (
    "exams_performed",
    "tat_order_to_scheduled",
    "tat_order_to_exam",
    "tat_wait",
    "sla_stat",
    "sla_urgent",
    "third_next_available",
    "no_show_rate",
    "same_day_cancel_rate",
    "completion_rate",
    "room_utilization",
    "override_rate",
    "documentation_findings",
    "interpreter_requests_met",
)
MODALITY_LEAD_SET: tuple[str, ...] = (
    "exams_performed",
    "exam_duration",
    "tat_wait",
    "tat_end_to_report",
    "room_utilization",
    "exams_per_8h",
    "rvus_per_hour",
    "scanned_share",
    "qa_score",
    "peer_review_discrepancy_rate",
    "no_show_rate",
)


# --- definitions and targets ------------------------------------------------------------------


@dataclass(frozen=True)
class KpiDefinitionView:
    code: str
    name: str
    category: str
    formula: str
    unit: str
    direction: Direction
    headline: str
    target: float | None
    amber: float | None
    red: float | None
    reference_value: float | None
    reference_label: str
    source: str
    filters: tuple[str, ...]
    #: The department's own target applies (else the definition's default).
    customised: bool = False


def _department_for(filters: KpiFilters, department: Department | None) -> Department | None:
    """The department whose targets apply: the one given, or the one department of the one
    site filtered on."""
    if department is not None or len(filters.sites) != 1:
        return department
    found = list(Department.objects.filter(site_id__in=filters.sites)[:2])
    return found[0] if len(found) == 1 else None


def kpi_definitions(*, department: Department | None = None) -> list[KpiDefinitionView]:
    """Active definitions in display order, with the department's targets where it set any."""
    own = {}
    if department is not None:
        own = {t.definition_id: t for t in KpiTarget.objects.filter(department=department)}
    result = []
    for d in KpiDefinition.objects.filter(active=True):
        mine = own.get(d.code)
        source = mine or d
        result.append(
            KpiDefinitionView(
                code=d.code,
                name=d.name,
                category=d.category,
                formula=d.formula,
                unit=d.unit,
                direction=Direction(d.direction),
                headline=d.headline,
                target=source.target,
                amber=source.amber if source.amber is not None else source.target,
                red=source.red,
                reference_value=d.reference_value,
                reference_label=d.reference_label,
                source=d.source,
                filters=tuple(d.filters),
                customised=mine is not None,
            )
        )
    return result


def _definitions(codes: Sequence[str] | None, department: Department | None) -> list[Any]:
    views = kpi_definitions(department=department)
    if codes is None:
        return [v for v in views if v.code in SPECS]
    by_code = {v.code: v for v in views}
    unknown = [code for code in codes if code not in by_code or code not in SPECS]
    if unknown:
        raise ValidationFailed({"code": [f"Unknown KPI: {', '.join(unknown)}."]})
    return [by_code[code] for code in codes]


def _check_range(start: date, end: date) -> None:
    if end < start:
        raise ValidationFailed({"end": ["The end date is before the start date."]})


def _unsupported(definition: KpiDefinitionView, filters: KpiFilters) -> str:
    extra = sorted(d.value for d in filters.dimensions() if d.value not in definition.filters)
    if not extra:
        return ""
    words = ", ".join(name.replace("_", " ") for name in extra)
    return f"not available with a {words} filter"


# --- grouping helpers --------------------------------------------------------------------------


def period_of(day: date, grain: Grain) -> date:
    if grain is Grain.DAY:
        return day
    if grain is Grain.WEEK:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_period(period: date, grain: Grain) -> date:
    if grain is Grain.DAY:
        return period + timedelta(days=1)
    if grain is Grain.WEEK:
        return period + timedelta(days=7)
    return (period.replace(day=28) + timedelta(days=4)).replace(day=1)


def periods(start: date, end: date, grain: Grain) -> list[date]:
    """The starts of the periods that overlap ``[start, end]``."""
    result: list[date] = []
    current = period_of(start, grain)
    while current <= end:
        result.append(current)
        current = next_period(current, grain)
    return result


@dataclass
class _Load:
    """Everything one call needs, loaded once and folded by ``key`` (a period or one bucket)."""

    start: date
    end: date
    filters: KpiFilters
    key: Callable[[date], Any]
    #: The key is the same for every day of a month (totals, months): monthly histograms apply.
    months_fold: bool = True

    def __post_init__(self) -> None:
        self._exam: dict[Any, Totals] | None = None
        self._hist = False
        self._open: dict[Any, int] | None = None
        self._worked: dict[Any, int] | None = None
        self._backlog: dict[Any, tuple[float, int]] | None = None
        self._quality: dict[Any, Totals] | None = None
        self.quality_missing = False

    def exam(self, hist: bool) -> dict[Any, Totals]:
        if self._exam is None or (hist and not self._hist):
            self._exam = readers.totals_by(
                self.start,
                self.end,
                self.filters,
                key=lambda row: self.key(row["day"]),
                group=["day"],
                hist=hist,
                months_fold=self.months_fold,
            )
            self._hist = hist
        return self._exam

    def open_seconds(self) -> dict[Any, int]:
        if self._open is None:
            self._open = readers.open_seconds_by(
                self.start, self.end, self.filters, key=lambda r: self.key(r["day"]), group=["day"]
            )
        return self._open

    def worked_seconds(self) -> dict[Any, int]:
        if self._worked is None:
            self._worked = readers.worked_seconds_by(
                self.start, self.end, self.filters, key=lambda r: self.key(r["day"]), group=["day"]
            )
        return self._worked

    def backlog(self) -> dict[Any, tuple[float, int]]:
        if self._backlog is None:
            self._backlog = readers.backlog_by(
                self.start, self.end, self.filters, key=lambda r: self.key(r["day"]), group=["day"]
            )
        return self._backlog

    def quality(self) -> dict[Any, Totals]:
        if self._quality is None:
            points = readers.quality_points(self.start, self.end, self.filters)
            self.quality_missing = points is None
            self._quality = readers.quality_totals(points or [], self.key)
        return self._quality


def _counts_of(totals: Totals | None) -> Totals:
    """A copy of the counts alone, to add a denominator to: utilization and productivity read
    no histogram, and copying a year's histograms for each of them and each trend point was a
    fifth of a dashboard's time."""
    return Totals(counts=Counter(totals.counts if totals is not None else ()))


def _computed(code: str, load: _Load, bucket: Any) -> tuple[Computed, str]:
    """One KPI for one bucket of a load; the second value is a note (why no value)."""
    spec = SPECS[code]
    if spec.kind in (Kind.COUNT, Kind.RATE, Kind.TURNAROUND, Kind.DOCUMENTATION):
        totals = load.exam(hist=spec.kind is Kind.TURNAROUND).get(bucket, Totals())
        return compute(code, totals), ""
    if spec.kind is Kind.UTILIZATION:
        totals = _counts_of(load.exam(hist=False).get(bucket))
        totals.counts["open_s"] = load.open_seconds().get(bucket, 0)
        return compute(code, totals), ""
    if spec.kind is Kind.PRODUCTIVITY:
        totals = _counts_of(load.exam(hist=False).get(bucket))
        totals.counts["worked_s"] = load.worked_seconds().get(bucket, 0)
        computed = compute(code, totals)
        return computed, note_for(code, computed)
    if spec.kind is Kind.BACKLOG:
        total, n = load.backlog().get(bucket, (0.0, 0))
        return Computed(value=ratio(total, n), numerator=total, denominator=n, count=n), ""
    if spec.kind is Kind.QUALITY:
        totals = load.quality().get(bucket, Totals())
        note = "quality program not available yet" if load.quality_missing else ""
        return compute(code, totals), note
    raise ValueError(code)


def _value(
    definition: KpiDefinitionView, computed: Computed, *, note: str, source: str
) -> KpiValue:
    return KpiValue(
        code=definition.code,
        name=definition.name,
        unit=definition.unit,
        direction=definition.direction,
        value=computed.value,
        numerator=computed.numerator,
        denominator=computed.denominator,
        count=computed.count,
        p50=computed.p50,
        p90=computed.p90,
        mean=computed.mean,
        target=definition.target,
        amber=definition.amber,
        red=definition.red,
        reference=definition.reference_value,
        reference_label=definition.reference_label,
        status=rag_status(
            computed.value, definition.direction, amber=definition.amber, red=definition.red
        ),
        note=note,
        source=source,
    )


def _source(code: str, filters: KpiFilters) -> str:
    kind = SPECS[code].kind
    if kind is Kind.QUALITY:
        return "quality"
    if kind is Kind.BACKLOG:
        return "rollup:backlog"
    return readers.cube_name(readers.cube_for(filters))


# --- the API ------------------------------------------------------------------------------------


def kpi_values(
    *,
    start: date,
    end: date,
    filters: KpiFilters | None = None,
    codes: Sequence[str] | None = None,
    department: Department | None = None,
) -> list[KpiValue]:
    """Each KPI over ``[start, end]`` (department days, inclusive) with its RAG status."""
    _check_range(start, end)
    filters = filters or KpiFilters()
    definitions = _definitions(codes, _department_for(filters, department))
    load = _Load(start, end, filters, key=lambda day: None)
    result = []
    for definition in definitions:
        note = _unsupported(definition, filters)
        if note:
            result.append(_value(definition, Computed(value=None), note=note, source=""))
            continue
        computed, note = _computed(definition.code, load, None)
        result.append(
            _value(definition, computed, note=note, source=_source(definition.code, filters))
        )
    return result


def kpi_value(
    code: str,
    *,
    start: date,
    end: date,
    filters: KpiFilters | None = None,
    department: Department | None = None,
) -> KpiValue:
    return kpi_values(start=start, end=end, filters=filters, codes=[code], department=department)[0]


def kpi_trends(
    codes: Sequence[str],
    *,
    start: date,
    end: date,
    grain: Grain = Grain.MONTH,
    filters: KpiFilters | None = None,
    department: Department | None = None,
) -> dict[str, list[TrendPoint]]:
    """Each KPI per day, ISO week or month of ``[start, end]`` (the first and last periods may
    be partial: only days inside the range count)."""
    _check_range(start, end)
    grain = Grain(grain)
    filters = filters or KpiFilters()
    definitions = _definitions(codes, _department_for(filters, department))
    load = _Load(
        start,
        end,
        filters,
        key=lambda day: period_of(day, grain),
        months_fold=grain is Grain.MONTH,
    )
    buckets = periods(start, end, grain)
    result: dict[str, list[TrendPoint]] = {}
    for definition in definitions:
        points = []
        unsupported = _unsupported(definition, filters)
        for period in buckets:
            if unsupported:
                computed = Computed(value=None)
            else:
                computed, _ = _computed(definition.code, load, period)
            points.append(
                TrendPoint(
                    period=period,
                    value=computed.value,
                    numerator=computed.numerator,
                    denominator=computed.denominator,
                    count=computed.count,
                    status=rag_status(
                        computed.value,
                        definition.direction,
                        amber=definition.amber,
                        red=definition.red,
                    ),
                )
            )
        result[definition.code] = points
    return result


def kpi_trend(
    code: str,
    *,
    start: date,
    end: date,
    grain: Grain = Grain.MONTH,
    filters: KpiFilters | None = None,
    department: Department | None = None,
) -> list[TrendPoint]:
    return kpi_trends(
        [code], start=start, end=end, grain=grain, filters=filters, department=department
    )[code]


def kpi_breakdown(
    code: str,
    *,
    by: Dimension | str,
    start: date,
    end: date,
    filters: KpiFilters | None = None,
    limit: int | None = None,
) -> list[BreakdownRow]:
    """The KPI per value of one dimension (largest count first), or per reason code for the
    no-show and same-day cancellation rates (``by=REASON``)."""
    from radflow.kpis import documentation

    _check_range(start, end)
    by = Dimension(by)
    filters = filters or KpiFilters()
    definition = _definitions([code], None)[0]
    spec = SPECS[code]
    note = _unsupported(definition, filters)
    if note:
        raise ValidationFailed({"filters": [f"{definition.name} is {note}."]})
    if by is Dimension.REASON:
        if spec.kind is Kind.DOCUMENTATION:
            return documentation.findings_by_gap(start=start, end=end, filters=filters)
        if code not in REASON_KIND:
            raise ValidationFailed({"by": [f"{definition.name} has no reasons to break down by."]})
        return _by_reason(code, start, end, filters, limit)
    if by.value not in definition.filters or spec.kind is Kind.QUALITY:
        raise ValidationFailed({"by": [f"{definition.name} cannot be broken down by {by.value}."]})
    column = readers.COLUMN[by]
    rows = _breakdown_values(code, by, column, start, end, filters)
    labels = labels_for(by, [key for key in rows if key not in (None, "")])
    result = [
        BreakdownRow(
            key="" if key is None else str(key),
            label=labels.get(key, "(none)") if key not in (None, "") else "(none)",
            value=computed.value,
            numerator=computed.numerator,
            denominator=computed.denominator,
            count=computed.count,
        )
        for key, computed in rows.items()
    ]
    result.sort(key=lambda row: (-row.count, row.label))
    return result[:limit] if limit else result


def _breakdown_values(
    code: str, by: Dimension, column: str, start: date, end: date, filters: KpiFilters
) -> dict[Any, Computed]:
    spec = SPECS[code]
    if spec.kind is Kind.BACKLOG:
        values = readers.backlog_by(start, end, filters, key=lambda r: r[column], group=[column])
        return {
            k: Computed(value=ratio(total, n), numerator=total, denominator=n, count=n)
            for k, (total, n) in values.items()
        }
    totals = readers.totals_by(
        start,
        end,
        filters,
        key=lambda row: row[column],
        group=[column],
        by=by,
        hist=spec.kind is Kind.TURNAROUND,
    )
    if spec.kind is Kind.UTILIZATION:
        open_s = readers.open_seconds_by(
            start, end, filters, key=lambda r: r[column], group=[column]
        )
        for k in set(open_s) | set(totals):
            totals.setdefault(k, Totals()).counts["open_s"] = open_s.get(k, 0)
    if spec.kind is Kind.PRODUCTIVITY:
        staff_column = "staff" if column == "performer" else column
        worked = readers.worked_seconds_by(
            start, end, filters, key=lambda r: r[staff_column], group=[staff_column]
        )
        for k in set(worked) | set(totals):
            totals.setdefault(k, Totals()).counts["worked_s"] = worked.get(k, 0)
    return {k: compute(code, t) for k, t in totals.items()}


def _by_reason(
    code: str, start: date, end: date, filters: KpiFilters, limit: int | None
) -> list[BreakdownRow]:
    from radflow.exams.models import ReasonCode

    kind = REASON_KIND[code]
    counts = readers.reasons_by(
        start, end, filters, kind, key=lambda r: r["reason_code"], group=["reason_code"]
    )
    due = sum(
        t.counts["appt_due"]
        for t in readers.totals_by(start, end, filters, key=lambda r: None, group=["day"]).values()
    )
    labels = dict(ReasonCode.objects.filter(kind=kind).values_list("code", "label"))
    rows = [
        BreakdownRow(
            key=reason,
            label=labels.get(reason, reason or "(no reason given)"),
            value=ratio(n, due, scale=100),
            numerator=n,
            denominator=due,
            count=n,
        )
        for reason, n in counts.items()
    ]
    rows.sort(key=lambda row: (-row.count, row.label))
    return rows[:limit] if limit else rows


def kpi_drilldown(
    code: str,
    *,
    start: date,
    end: date,
    filters: KpiFilters | None = None,
    bucket: str | None = None,
) -> QuerySet[Exam]:
    """The exams behind a number (raw exams: the caller audits the patients it shows).

    ``bucket``: None for the KPI's whole population (the denominator: appointments due, exams
    begun ...), ``"numerator"`` for the counted ones (the no-shows, the STATs begun late are
    ``"breached"``), or a reason code for the no-show and same-day cancellation rates.
    """
    from radflow.kpis import raw

    _check_range(start, end)
    _definitions([code], None)
    return raw.drilldown(code, start=start, end=end, filters=filters or KpiFilters(), bucket=bucket)


__all__ = [
    "COORDINATOR_SET",
    "DIRECTOR_SET",
    "MODALITY_LEAD_SET",
    "BreakdownRow",
    "Dimension",
    "Grain",
    "KpiDefinitionView",
    "KpiFilters",
    "KpiValue",
    "Status",
    "TrendPoint",
    "kpi_breakdown",
    "kpi_definitions",
    "kpi_drilldown",
    "kpi_trend",
    "kpi_trends",
    "kpi_value",
    "kpi_values",
]
