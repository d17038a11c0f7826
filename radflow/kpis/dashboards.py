"""The three KPI dashboards: which KPIs each shows, and what a page needs from the read API.

Director: the department as a whole, every KPI. Coordinator: the day-to-day operation (volumes,
turnaround and wait, SLA, no-shows and same-day cancellations, utilization, backlog). Modality
lead: one modality's volume, utilization, productivity against the CADTH reference, exam
duration, image-quality audits and peer review.

Everything is read through ``radflow.kpis.selectors`` (rollup tables only); the exams behind a
number are listed by the drill-down (``exams_behind``), the one raw read, which its page audits.
Each number and chart point carries the drill-down URL of the exams behind it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse

from radflow.audit.services import AccessSource, access_record
from radflow.core.errors import ValidationFailed
from radflow.core.exam_states import ExamState
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
from radflow.kpis import readers, selectors
from radflow.kpis.export import DATETIME, DECIMAL_1, DECIMAL_2, INTEGER, Column, Formatted, Table
from radflow.kpis.registry import REASON_KIND, SPECS, Kind
from radflow.web.pages import PAGE_SIZE


class Board(StrEnum):
    DIRECTOR = "director"
    COORDINATOR = "coordinator"
    MODALITY = "modality"


@dataclass(frozen=True)
class BreakdownSpec:
    key: str
    code: str
    by: Dimension
    title: str
    #: Bars show the KPI's value, or (reasons) how many.
    show_count: bool = False
    limit: int = 15


@dataclass(frozen=True)
class BoardSpec:
    board: Board
    title: str
    summary: str
    #: KPI tiles in order; None: every KPI.
    tiles: tuple[str, ...] | None
    trends: tuple[str, ...]
    breakdowns: tuple[BreakdownSpec, ...]
    grain: Grain
    modality_required: bool = False


BOARDS: dict[Board, BoardSpec] = {
    Board.DIRECTOR: BoardSpec(
        Board.DIRECTOR,
        "Director's dashboard",
        "The department as a whole: every KPI against its target.",
        tiles=None,
        trends=(
            "exams_performed",
            "tat_order_to_exam",
            "tat_end_to_report",
            "sla_stat",
            "no_show_rate",
            "room_utilization",
            "exams_per_8h",
            "qa_score",
        ),
        breakdowns=(
            BreakdownSpec("volume_by_site", "exams_performed", Dimension.SITE, "Exams by site"),
            BreakdownSpec(
                "volume_by_modality", "exams_performed", Dimension.MODALITY, "Exams by modality"
            ),
            BreakdownSpec(
                "no_show_by_reason",
                "no_show_rate",
                Dimension.REASON,
                "No-shows by reason",
                show_count=True,
            ),
            BreakdownSpec(
                "no_show_by_modality",
                "no_show_rate",
                Dimension.MODALITY,
                "No-show rate by modality",
            ),
        ),
        grain=Grain.MONTH,
    ),
    Board.COORDINATOR: BoardSpec(
        Board.COORDINATOR,
        "Coordinator's dashboard",
        "Today's operation: volumes, waits and turnaround, service levels, no-shows and "
        "same-day cancellations, room use and the backlog.",
        tiles=(
            "exams_performed",
            "orders_received",
            "tat_order_to_scheduled",
            "tat_order_to_exam",
            "tat_wait",
            "exam_duration",
            "tat_end_to_report",
            "tat_report_to_sign",
            "sla_stat",
            "sla_urgent",
            "no_show_rate",
            "same_day_cancel_rate",
            "completion_rate",
            "room_utilization",
            "third_next_available",
        ),
        trends=(
            "exams_performed",
            "tat_wait",
            "tat_end_to_report",
            "no_show_rate",
            "same_day_cancel_rate",
            "room_utilization",
        ),
        breakdowns=(
            BreakdownSpec(
                "no_show_by_reason",
                "no_show_rate",
                Dimension.REASON,
                "No-shows by reason",
                show_count=True,
            ),
            BreakdownSpec(
                "cancel_by_reason",
                "same_day_cancel_rate",
                Dimension.REASON,
                "Same-day cancellations by reason",
                show_count=True,
            ),
            BreakdownSpec("volume_by_room", "exams_performed", Dimension.ROOM, "Exams by room"),
            BreakdownSpec(
                "utilization_by_room", "room_utilization", Dimension.ROOM, "Utilization by room"
            ),
        ),
        grain=Grain.DAY,
    ),
    Board.MODALITY: BoardSpec(
        Board.MODALITY,
        "Modality lead's dashboard",
        "One modality: volume, room use, productivity against the CADTH reference, exam "
        "duration, image-quality audits and peer review.",
        tiles=(
            "exams_performed",
            "room_utilization",
            "exams_per_8h",
            "rvus_per_hour",
            "scanned_share",
            "exam_duration",
            "qa_score",
            "peer_review_discrepancy_rate",
        ),
        trends=(
            "exams_performed",
            "room_utilization",
            "exams_per_8h",
            "qa_score",
            "peer_review_discrepancy_rate",
        ),
        breakdowns=(
            BreakdownSpec(
                "productivity_by_staff",
                "exams_per_8h",
                Dimension.STAFF,
                "Exams per 8 worked hours by person",
                limit=30,
            ),
            BreakdownSpec(
                "volume_by_exam_type", "exams_performed", Dimension.EXAM_TYPE, "Exams by exam type"
            ),
            BreakdownSpec(
                "utilization_by_room", "room_utilization", Dimension.ROOM, "Utilization by room"
            ),
            BreakdownSpec("volume_by_site", "exams_performed", Dimension.SITE, "Exams by site"),
        ),
        grain=Grain.WEEK,
        modality_required=True,
    ),
}

#: The modality lead's dashboard opens on this modality when none is chosen.
DEFAULT_MODALITY = "US"
#: A trend line with more points than this is drawn at the next coarser grain.
MAX_TREND_POINTS = 370


# --- periods --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def whole_months(self) -> int:
        """How many calendar months the period is, when it is whole months (else 0)."""
        if self.start.day != 1 or (self.end + timedelta(days=1)).day != 1:
            return 0
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1

    def previous(self) -> Period:
        """The period just before, as long: the same number of months when this one is whole
        months (June-November, then December-May), else the same number of days."""
        months = self.whole_months()
        if months:
            return Period(_month_back(self.start, months), self.start - timedelta(days=1))
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))


def _month_back(day: date, months: int) -> date:
    first = day.replace(day=1)
    for _ in range(months):
        first = (first - timedelta(days=1)).replace(day=1)
    return first


#: Whole ISO weeks the modality lead's dashboard opens on.
MODALITY_WEEKS = 13


def default_period(board: Board, today: date) -> Period:
    """Director: the last six whole months; coordinator: the last 28 days to today; modality
    lead: the last 13 whole weeks (Monday to Sunday), so no trend point is a part-week."""
    if board is Board.COORDINATOR:
        return Period(today - timedelta(days=27), today)
    if board is Board.MODALITY:
        last_sunday = today - timedelta(days=today.weekday() + 1)
        return Period(last_sunday - timedelta(days=7 * MODALITY_WEEKS - 1), last_sunday)
    this_month = today.replace(day=1)
    return Period(_month_back(this_month, 6), this_month - timedelta(days=1))


def fitted_grain(period: Period, grain: Grain) -> Grain:
    """``grain``, or a coarser one when it would draw too many points."""
    order = [Grain.DAY, Grain.WEEK, Grain.MONTH]
    for candidate in order[order.index(grain) :]:
        if len(selectors.periods(period.start, period.end, candidate)) <= MAX_TREND_POINTS:
            return candidate
    return Grain.MONTH


# --- the query: filters as parameters -------------------------------------------------------

#: GET parameter of each filter dimension (the filter form's fields).
PARAM: dict[Dimension, str] = {
    Dimension.SITE: "site",
    Dimension.MODALITY: "modality",
    Dimension.ROOM: "room",
    Dimension.STAFF: "staff",
    Dimension.EXAM_TYPE: "exam_type",
}


@dataclass(frozen=True)
class Query:
    """One dashboard request: a board, a period, a grain and the filters (one value each)."""

    board: Board
    period: Period
    grain: Grain
    choices: dict[Dimension, str] = field(default_factory=dict)

    @property
    def filters(self) -> KpiFilters:
        return KpiFilters.of(
            sites=self.choices.get(Dimension.SITE),
            modalities=self.choices.get(Dimension.MODALITY),
            rooms=self.choices.get(Dimension.ROOM),
            staff=self.choices.get(Dimension.STAFF),
            exam_types=self.choices.get(Dimension.EXAM_TYPE),
        )

    @property
    def spec(self) -> BoardSpec:
        return BOARDS[self.board]

    def params(self) -> dict[str, str]:
        """The filters as GET parameters (links to the drill-down and the exports)."""
        params = {"start": self.period.start.isoformat(), "end": self.period.end.isoformat()}
        params.update({PARAM[dim]: value for dim, value in self.choices.items() if value})
        return params

    @classmethod
    def from_cleaned(cls, board: Board, data: dict[str, Any]) -> Query:
        choices: dict[Dimension, str] = {}
        for dim, name in PARAM.items():
            value = data.get(name)
            if value is not None and value != "":
                key = getattr(value, "code", None) if dim is Dimension.MODALITY else None
                choices[dim] = str(key or getattr(value, "pk", value))
        period = Period(data["start"], data["end"])
        return cls(board, period, fitted_grain(period, Grain(data["grain"])), choices)


def drill_url(
    code: str,
    *,
    period: Period,
    choices: dict[Dimension, str],
    bucket: str | None = None,
    narrow: tuple[Dimension, str] | None = None,
) -> str:
    """The drill-down page listing the exams behind a number."""
    params: dict[str, str] = {"kpi": code}
    if bucket:
        params["bucket"] = bucket
    params["start"], params["end"] = period.start.isoformat(), period.end.isoformat()
    chosen = dict(choices)
    if narrow is not None:
        chosen[narrow[0]] = narrow[1]
    params.update({PARAM[dim]: value for dim, value in chosen.items() if value})
    return f"{reverse('kpis:drilldown')}?{urlencode(params)}"


# --- what each KPI's numbers drill down to ----------------------------------------------------

#: Kinds whose numbers are counted from exams (quality and the backlog are not).
EXAM_KINDS = frozenset(
    {
        Kind.COUNT,
        Kind.RATE,
        Kind.TURNAROUND,
        Kind.UTILIZATION,
        Kind.PRODUCTIVITY,
        Kind.DOCUMENTATION,
    }
)
NUMERATOR = "numerator"
BREACHED = "breached"
#: The drill-down bucket of the no-shows or cancellations recorded without a reason.
NO_REASON = "(none)"

#: What the whole population of each drillable KPI is, in words.
POPULATION: dict[str, str] = {
    "exams_performed": "exams performed",
    "orders_received": "orders received",
    "tat_order_to_scheduled": "exams first booked",
    "tat_order_to_exam": "exams begun",
    "tat_wait": "exams begun after a check-in",
    "exam_duration": "exams completed",
    "tat_end_to_report": "reports written",
    "tat_report_to_sign": "reports signed",
    "sla_stat": "STAT exams begun",
    "sla_urgent": "urgent exams begun",
    "no_show_rate": "appointments due",
    "same_day_cancel_rate": "appointments due",
    "completion_rate": "appointments due",
    "override_rate": "exams begun",
    "room_utilization": "exams scanned",
    "exams_per_8h": "exams completed",
    "rvus_per_hour": "exams completed",
    "scanned_share": "exams scanned",
    "documentation_findings": "exams performed",
}
#: What the counted part of a rate is, in words.
COUNTED: dict[str, str] = {
    "sla_stat": "begun within target",
    "sla_urgent": "begun within target",
    "no_show_rate": "no-shows",
    "same_day_cancel_rate": "same-day cancellations",
    "completion_rate": "completed",
    "override_rate": "exams with a hard-stop override",
    "documentation_findings": "exams with a documentation gap",
}


def drillable(code: str) -> bool:
    return code in SPECS and SPECS[code].kind in EXAM_KINDS


def value_bucket(code: str) -> str | None:
    """The exams behind a KPI's headline value: the counted ones of a rate, else all."""
    return NUMERATOR if code in COUNTED else None


def bucket_allowed(code: str, bucket: str) -> bool:
    """Whether ``bucket`` names a part of ``code``'s exams: the counted ones, the SLA's late
    ones, a no-show or cancellation reason (or none recorded), a documentation gap."""
    if not bucket:
        return True
    if bucket == NUMERATOR:
        return code in COUNTED
    if bucket == BREACHED:
        return code in ("sla_stat", "sla_urgent")
    if code in REASON_KIND:
        from radflow.exams.models import ReasonCode

        kind = REASON_KIND[code]
        return bucket == NO_REASON or ReasonCode.objects.filter(kind=kind, code=bucket).exists()
    if code == "documentation_findings":
        from radflow.exams.selectors import Gap

        return bucket in Gap.values
    return False


def bucket_label(code: str, bucket: str | None) -> str:
    if not bucket:
        return POPULATION.get(code, "exams")
    if bucket == NUMERATOR:
        return COUNTED.get(code, POPULATION.get(code, "exams"))
    if bucket == BREACHED:
        return "begun late"
    if bucket == NO_REASON:
        return "no reason recorded"
    if code in REASON_KIND:
        from radflow.exams.models import ReasonCode

        label = (
            ReasonCode.objects.filter(kind=REASON_KIND[code], code=bucket)
            .values_list("label", flat=True)
            .first()
        )
        return f"reason: {label or bucket}"
    if code == "documentation_findings":
        from radflow.exams.selectors import Gap

        return f"missing: {Gap(bucket).label}" if bucket in Gap.values else bucket
    return bucket


def exams_behind(
    code: str, *, period: Period, filters: KpiFilters, bucket: str | None
) -> QuerySet[Exam]:
    """The exams behind a number (``selectors.kpi_drilldown``, plus the no-reason bucket)."""
    if bucket == NO_REASON and code in REASON_KIND:
        counted = selectors.kpi_drilldown(
            code, start=period.start, end=period.end, filters=filters, bucket=NUMERATOR
        )
        return counted.filter(reason_code="")
    return selectors.kpi_drilldown(
        code, start=period.start, end=period.end, filters=filters, bucket=bucket
    )


# --- numbers as text --------------------------------------------------------------------------

#: Digits after the point per unit (counts are whole).
DECIMALS: dict[str, int] = {"exams": 0, "count": 0, "per 8 h": 2, "RVU/h": 2, "per 100": 2}


def decimals_for(unit: str) -> int:
    return DECIMALS.get(unit, 1)


def number_text(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    text = f"{value:,.{decimals_for(unit)}f}"
    if unit in ("exams", "count"):
        return text
    return f"{text} %" if unit == "%" else f"{text} {unit}"


def excel_format(unit: str) -> str:
    return {0: INTEGER, 1: DECIMAL_1}.get(decimals_for(unit), DECIMAL_2)


# --- tiles ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    text: str
    url: str = ""
    label: str = ""


@dataclass(frozen=True)
class Tile:
    kpi: KpiValue
    category: str
    previous: KpiValue | None
    value_url: str
    #: "12 of 240" and the like, each number linked to its exams.
    details: tuple[Link, ...]
    #: "better", "worse" or "same" than the previous period ("" without both values).
    change: str
    change_text: str

    @property
    def value_text(self) -> str:
        return number_text(self.kpi.value, self.kpi.unit)

    @property
    def target_text(self) -> str:
        return number_text(self.kpi.target, self.kpi.unit) if self.kpi.target is not None else ""

    @property
    def previous_text(self) -> str:
        return number_text(self.previous.value if self.previous else None, self.kpi.unit)


def _change(value: KpiValue, previous: KpiValue | None) -> tuple[str, str]:
    if previous is None or value.value is None or previous.value is None:
        return "", ""
    delta = value.value - previous.value
    shown = round(delta, decimals_for(value.unit))
    if shown == 0:
        return "same", "same as the previous period"
    better = (delta < 0) if value.direction is Direction.LOWER else (delta > 0)
    arrow = "▲" if delta > 0 else "▼"
    text = f"{arrow} {number_text(abs(delta), value.unit)} vs the previous period"
    return ("better" if better else "worse"), text


def _count_text(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _tile(value: KpiValue, previous: KpiValue | None, category: str, query: Query) -> Tile:
    code = value.code
    url = ""
    details: list[Link] = []
    if drillable(code) and not value.note:

        def link(bucket: str | None) -> str:
            return drill_url(code, period=query.period, choices=query.choices, bucket=bucket)

        url = link(value_bucket(code))
        kind = SPECS[code].kind
        if code in COUNTED:
            details.append(Link(_count_text(value.numerator), link(NUMERATOR), COUNTED[code]))
            details.append(Link(_count_text(value.denominator), link(None), POPULATION[code]))
            if code in ("sla_stat", "sla_urgent") and value.denominator:
                late = (value.denominator or 0) - (value.numerator or 0)
                details.append(Link(_count_text(late), link(BREACHED), "begun late"))
        elif kind is Kind.TURNAROUND:
            details.append(Link(_count_text(value.count), link(None), POPULATION[code]))
            if value.p90 is not None:
                details.append(Link(number_text(value.p90, value.unit), "", "90th percentile"))
        elif kind in (Kind.UTILIZATION, Kind.PRODUCTIVITY):
            details.append(Link(_count_text(value.count), link(None), POPULATION[code]))
    elif not value.note and value.count:
        details.append(Link(_count_text(value.count), "", "counted"))
    change, change_text = _change(value, previous)
    return Tile(value, category, previous, url, tuple(details), change, change_text)


# --- the dashboard ----------------------------------------------------------------------------


@dataclass
class Breakdown:
    spec: BreakdownSpec
    rows: list[BreakdownRow]
    urls: list[str]
    unit: str
    note: str = ""
    target: float | None = None
    reference: float | None = None
    reference_label: str = ""

    def shown(self, row: BreakdownRow) -> float | None:
        return float(row.count) if self.spec.show_count else row.value

    @property
    def shown_unit(self) -> str:
        return "count" if self.spec.show_count else self.unit

    def lines(self) -> list[tuple[BreakdownRow, str, str]]:
        """(row, its value as text, the URL of its exams) for the table under the chart."""
        return [
            (row, number_text(row.value, self.unit), url)
            for row, url in zip(self.rows, self.urls, strict=True)
        ]


@dataclass
class Dashboard:
    query: Query
    previous_period: Period
    tiles: list[Tile]
    trends: dict[str, list[TrendPoint]]
    definitions: dict[str, selectors.KpiDefinitionView]
    breakdowns: list[Breakdown]

    @property
    def spec(self) -> BoardSpec:
        return self.query.spec

    @property
    def shows_categories(self) -> bool:
        """Each tile names its category on the director's full set (the boards' subsets are
        one kind of number each)."""
        return self.spec.tiles is None

    def trend_value(self, code: str) -> KpiValue | None:
        return next((tile.kpi for tile in self.tiles if tile.kpi.code == code), None)

    def trend_headers(self) -> list[str]:
        return [self.definitions[code].name for code in self.spec.trends]

    def trend_lines(self) -> list[tuple[str, list[str]]]:
        """(period, each charted KPI's value as text) for the table under the trend charts."""
        codes = self.spec.trends
        first = self.trends.get(codes[0], []) if codes else []
        lines = []
        for index, point in enumerate(first):
            texts = []
            for code in codes:
                series = self.trends.get(code, [])
                value = series[index].value if index < len(series) else None
                texts.append(number_text(value, self.definitions[code].unit))
            lines.append((period_label(point.period, self.query.grain), texts))
        return lines


def _hist_first(codes: Sequence[str]) -> list[str]:
    """Turnaround KPIs first: the first KPI decides whether a load reads the histograms, and a
    later one that needs them would read the day rows again."""
    return sorted(codes, key=lambda code: SPECS[code].kind is not Kind.TURNAROUND)


def _values(codes: Sequence[str], period: Period, query: Query) -> dict[str, KpiValue]:
    values = selectors.kpi_values(
        start=period.start, end=period.end, filters=query.filters, codes=_hist_first(codes)
    )
    return {value.code: value for value in values}


def _breakdown(spec: BreakdownSpec, query: Query, unit: str, kpi: KpiValue | None) -> Breakdown:
    try:
        rows = selectors.kpi_breakdown(
            spec.code,
            by=spec.by,
            start=query.period.start,
            end=query.period.end,
            filters=query.filters,
            limit=spec.limit,
        )
    except ValidationFailed as exc:
        note = " ".join(m for messages in exc.errors.values() for m in messages) or exc.message
        return Breakdown(spec, [], [], unit, note=note)
    urls = []
    for row in rows:
        url = ""
        if spec.by is Dimension.REASON:
            url = drill_url(
                spec.code,
                period=query.period,
                choices=query.choices,
                bucket=row.key or NO_REASON,
            )
        elif row.key and spec.by in PARAM:
            url = drill_url(
                spec.code,
                period=query.period,
                choices=query.choices,
                bucket=value_bucket(spec.code),
                narrow=(spec.by, row.key),
            )
        urls.append(url)
    return Breakdown(
        spec,
        rows,
        urls,
        unit,
        target=None if spec.show_count or kpi is None else kpi.target,
        reference=None if spec.show_count or kpi is None else kpi.reference,
        reference_label="" if kpi is None else kpi.reference_label,
    )


def dashboard_build(query: Query) -> Dashboard:
    """Tiles (this period and the previous one), trend lines and breakdowns of a board."""
    spec = query.spec
    definitions = {d.code: d for d in selectors.kpi_definitions() if d.code in SPECS}
    codes = list(spec.tiles) if spec.tiles is not None else list(definitions)
    previous_period = query.period.previous()
    fine_columns = [
        readers.COLUMN[b.by]
        for b in spec.breakdowns
        if b.by in readers.COLUMN and b.by not in readers.COARSE
    ]
    with (
        readers.rollup_reads_once(together=fine_columns),
        readers.quality_read_once(previous_period.start, query.period.end, query.filters),
    ):
        current = _values(codes, query.period, query)
        previous = _values(codes, previous_period, query)
        trends = selectors.kpi_trends(
            _hist_first(spec.trends),
            start=query.period.start,
            end=query.period.end,
            grain=query.grain,
            filters=query.filters,
        )
        breakdowns = [
            _breakdown(b, query, definitions[b.code].unit, current.get(b.code))
            for b in spec.breakdowns
        ]
    tiles = [
        _tile(current[code], previous.get(code), definitions[code].category, query)
        for code in codes
    ]
    return Dashboard(query, previous_period, tiles, trends, definitions, breakdowns)


# --- charts (the JSON the page hands to Plotly) -----------------------------------------------


def period_label(period: date, grain: Grain) -> str:
    if grain is Grain.MONTH:
        return period.strftime("%b %Y")
    if grain is Grain.WEEK:
        return f"Week of {period.isoformat()}"
    return period.isoformat()


def _point_period(point: date, query: Query) -> Period:
    last = selectors.next_period(point, query.grain) - timedelta(days=1)
    return Period(max(point, query.period.start), min(last, query.period.end))


def charts(dashboard: Dashboard) -> dict[str, Any]:
    """Each chart's data: trend lines with their target (and reference) lines, and breakdown
    bars, every point with the URL of the exams behind it (``urls``)."""
    query = dashboard.query
    result: list[dict[str, Any]] = []
    for code in dashboard.spec.trends:
        points = dashboard.trends.get(code, [])
        kpi = dashboard.trend_value(code)
        definition = dashboard.definitions[code]
        target = kpi.target if kpi is not None else definition.target
        unit = definition.unit
        urls = []
        for point in points:
            url = ""
            if drillable(code) and point.count:
                url = drill_url(
                    code,
                    period=_point_period(point.period, query),
                    choices=query.choices,
                    bucket=value_bucket(code),
                )
            urls.append(url)
        result.append(
            {
                "id": f"trend-{code}",
                "kind": "trend",
                "code": code,
                "title": definition.name,
                "unit": unit,
                "x": [point.period.isoformat() for point in points],
                "labels": [period_label(point.period, query.grain) for point in points],
                "y": [_rounded(point.value, unit) for point in points],
                "text": [number_text(point.value, unit) for point in points],
                "status": [str(point.status) for point in points],
                "target": target,
                "reference": definition.reference_value,
                "referenceLabel": definition.reference_label,
                "urls": urls,
            }
        )
    for breakdown in dashboard.breakdowns:
        unit = breakdown.shown_unit
        result.append(
            {
                "id": f"breakdown-{breakdown.spec.key}",
                "kind": "bar",
                "code": breakdown.spec.code,
                "title": breakdown.spec.title,
                "unit": unit,
                "x": [row.label for row in breakdown.rows],
                "y": [_rounded(breakdown.shown(row), unit) for row in breakdown.rows],
                "text": [number_text(breakdown.shown(row), unit) for row in breakdown.rows],
                "target": breakdown.target,
                "reference": breakdown.reference,
                "referenceLabel": breakdown.reference_label,
                "urls": breakdown.urls,
                "note": breakdown.note,
            }
        )
    return {"grain": str(query.grain), "charts": result}


def _rounded(value: float | None, unit: str) -> float | None:
    return None if value is None else round(value, decimals_for(unit) + 2)


# --- tables (shown under the charts, exported as CSV and XLSX) --------------------------------

STATUS_TEXT = {Status.GREEN: "green", Status.AMBER: "amber", Status.RED: "red", Status.NONE: ""}


def kpi_table(tiles: Sequence[Tile], name: str = "KPIs") -> Table:
    """One row per KPI: this period, its target and status, the previous period and the counts
    behind it (the report pack's KPI sheet has the same columns)."""
    columns = [
        Column("KPI"),
        Column("Category"),
        Column("Value"),
        Column("Unit"),
        Column("Target"),
        Column("Status"),
        Column("Previous period"),
        Column("Change"),
        Column("Numerator"),
        Column("Denominator"),
        Column("Count", INTEGER),
        Column("Median"),
        Column("90th percentile"),
        Column("Note"),
    ]
    rows = []
    for tile in tiles:
        kpi = tile.kpi
        fmt = excel_format(kpi.unit)
        previous = tile.previous.value if tile.previous else None
        change = None if kpi.value is None or previous is None else kpi.value - previous
        rows.append(
            (
                kpi.name,
                tile.category,
                Formatted(kpi.value, fmt),
                kpi.unit,
                Formatted(kpi.target, fmt),
                STATUS_TEXT[kpi.status],
                Formatted(previous, fmt),
                Formatted(change, fmt),
                Formatted(kpi.numerator, DECIMAL_2 if _fractional(kpi.numerator) else INTEGER),
                Formatted(kpi.denominator, DECIMAL_2 if _fractional(kpi.denominator) else INTEGER),
                kpi.count,
                Formatted(kpi.p50, fmt),
                Formatted(kpi.p90, fmt),
                kpi.note,
            )
        )
    return Table(name, columns, rows)


def _fractional(value: float | None) -> bool:
    return value is not None and float(value) != int(value)


def trend_table(dashboard: Dashboard) -> Table:
    """One row per period, one column per KPI charted."""
    codes = list(dashboard.spec.trends)
    definitions = dashboard.definitions
    columns = [Column("Period"), Column("Period start", "yyyy-mm-dd")]
    columns += [
        Column(f"{definitions[c].name} ({definitions[c].unit})", excel_format(definitions[c].unit))
        for c in codes
    ]
    first = dashboard.trends.get(codes[0], []) if codes else []
    rows = []
    for index, point in enumerate(first):
        row: list[Any] = [period_label(point.period, dashboard.query.grain), point.period]
        for code in codes:
            series = dashboard.trends.get(code, [])
            row.append(series[index].value if index < len(series) else None)
        rows.append(tuple(row))
    return Table("Trends", columns, rows)


def breakdown_table(breakdown: Breakdown) -> Table:
    spec = breakdown.spec
    dimension = "Reason" if spec.by is Dimension.REASON else spec.by.value.replace("_", " ")
    fmt = excel_format(breakdown.unit)
    columns = [
        Column(dimension.capitalize()),
        Column(f"Value ({breakdown.unit})", fmt),
        Column("Numerator", DECIMAL_2 if breakdown.unit not in ("exams", "count", "%") else ""),
        Column("Denominator"),
        Column("Count", INTEGER),
    ]
    rows = [
        (
            row.label,
            row.value,
            Formatted(row.numerator, DECIMAL_2 if _fractional(row.numerator) else INTEGER),
            Formatted(row.denominator, DECIMAL_2 if _fractional(row.denominator) else INTEGER),
            row.count,
        )
        for row in breakdown.rows
    ]
    return Table(spec.title, columns, rows)


def tables(dashboard: Dashboard) -> dict[str, Table]:
    """Every table of the page by its export name."""
    result = {"kpis": kpi_table(dashboard.tiles), "trends": trend_table(dashboard)}
    for breakdown in dashboard.breakdowns:
        result[breakdown.spec.key] = breakdown_table(breakdown)
    return result


# --- the drill-down list (patients: every read audited) -------------------------------------

#: Columns of the drill-down export (the page shows the same).
EXAM_COLUMNS = (
    Column("Accession"),
    Column("MRN"),
    Column("Patient"),
    Column("Exam type"),
    Column("Modality"),
    Column("Site"),
    Column("Room"),
    Column("Performed by"),
    Column("Ordered", DATETIME),
    Column("Scheduled for", DATETIME),
    Column("Arrived", DATETIME),
    Column("Begun", DATETIME),
    Column("Completed", DATETIME),
    Column("Reported", DATETIME),
    Column("State"),
    Column("Reason"),
)


def exam_row(exam: Exam) -> tuple[Any, ...]:
    order = exam.order
    patient = order.patient
    room = exam.room
    return (
        exam.accession_number,
        patient.mrn,
        patient.display_name,
        order.exam_type.name,
        order.exam_type.modality_id,
        room.site.name if room is not None else "",
        room.code if room is not None else "",
        str(exam.technologist) if exam.technologist is not None else "",
        exam.requested_at,
        exam.scheduled_start,
        exam.arrived_at,
        exam.in_progress_at,
        exam.completed_at,
        exam.reported_at,
        ExamState(exam.state).label,
        exam.reason_code,
    )


@transaction.atomic
def exams_page_audited(
    exams: QuerySet[Exam], *, page: Any, user: Any, source: AccessSource, action: str
) -> Page[Exam]:
    """One page of the exams behind a number; one access row per patient on it."""
    shown = Paginator(exams, PAGE_SIZE).get_page(page)
    access_record(
        user=user,
        patients=[exam.order.patient for exam in shown.object_list],
        action=action,
        source=source,
    )
    return shown


@transaction.atomic
def exams_table_audited(
    exams: QuerySet[Exam], *, name: str, user: Any, source: AccessSource, action: str
) -> Table:
    """Every exam behind a number as a table (the export); every patient in it audited."""
    listed = list(exams.iterator(chunk_size=2000))  # prefetched a chunk at a time
    access_record(
        user=user, patients=[exam.order.patient for exam in listed], action=action, source=source
    )
    return Table(name, EXAM_COLUMNS, [exam_row(exam) for exam in listed])
