"""The numbers of a monthly report pack, computed once and frozen into its version as JSON.

Everything comes from the read APIs the dashboards use (``radflow.kpis.selectors``: values,
trends, breakdowns, drill-downs; ``radflow.quality.selectors.quality_month_summary``), so the
pack and a dashboard set to the same month and scope show the same numbers. The exceptions list
exams by accession number only: no patient names or record numbers reach a pack, which is meant
to be printed and handed round a management meeting.

The flat exam sheet of the workbook (``exam_rows``) reads the raw exams through the same
populations the KPI oracle counts (``radflow.kpis.raw``), so its flags add up to the KPIs.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db.models import DurationField, ExpressionWrapper, F, QuerySet
from django.utils import timezone

from radflow.core.kpis.types import Dimension, Direction, Grain, KpiFilters, Status
from radflow.exams.models import Exam
from radflow.kpis import selectors
from radflow.kpis.registry import SPECS
from radflow.scheduling.models import Department

#: The KPIs drawn as 12-month trend charts.
TREND_CODES: tuple[str, ...] = (
    "exams_performed",
    "tat_order_to_exam",
    "tat_end_to_report",
    "sla_stat",
    "no_show_rate",
    "room_utilization",
    "exams_per_8h",
    "qa_score",
)
PRODUCTIVITY_CODES: tuple[str, ...] = ("exams_per_8h", "rvus_per_hour", "scanned_share")
#: Rows per exception list.
EXCEPTIONS_LIMIT = 10
TREND_MONTHS = 12

Progress = Callable[[int, str], None]


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def previous_month(month: date) -> date:
    return (month.replace(day=1) - timedelta(days=1)).replace(day=1)


def months_back(month: date, count: int) -> date:
    for _ in range(count):
        month = previous_month(month)
    return month


@dataclass(frozen=True)
class Scope:
    """A month and a department (None: every site)."""

    month: date
    department: Department | None = None

    @property
    def start(self) -> date:
        return self.month

    @property
    def end(self) -> date:
        return next_month(self.month) - timedelta(days=1)

    @property
    def filters(self) -> KpiFilters:
        if self.department is None:
            return KpiFilters()
        return KpiFilters.of(sites=self.department.site_id)

    @property
    def label(self) -> str:
        return str(self.department) if self.department is not None else "All sites"


# --- formatting ------------------------------------------------------------------------------


def format_value(value: float | None, unit: str) -> str:
    """A KPI's value as the pack prints it, with its unit."""
    if value is None:
        return "—"
    if unit in ("exams", "count"):
        return f"{value:,.0f}"
    if unit == "%":
        return f"{value:.1f} %"
    if unit == "min":
        return f"{value:.0f} min"
    if unit == "h":
        return f"{value:.1f} h"
    if unit == "days":
        return f"{value:.1f} days"
    if unit == "per 8 h":
        return f"{value:.2f} per 8 h"
    if unit == "RVU/h":
        return f"{value:.2f} RVU/h"
    return f"{value:.2f} {unit}".strip()


def _change(
    current: float | None, before: float | None, direction: Direction, unit: str
) -> dict[str, Any]:
    """The change on the month before, as printed: an arrow and the amount in the KPI's unit
    (whole for counts), ``=`` when it rounds to nothing; ``change_better`` colours it."""
    if current is None or before is None:
        return {"change": None, "change_display": "", "change_better": None}
    delta = current - before
    places = 0 if unit in ("exams", "count") else 2 if unit in ("per 8 h", "RVU/h") else 1
    amount = f"{abs(delta):,.{places}f}"
    if float(amount.replace(",", "")) == 0:
        return {"change": delta, "change_display": "=", "change_better": None}
    better = delta > 0 if direction is Direction.HIGHER else delta < 0
    return {
        "change": delta,
        "change_display": f"{'▲' if delta > 0 else '▼'} {amount}",
        "change_better": better,
    }


def jsonable(value: Any) -> Any:
    """Dates, datetimes, decimals, UUIDs, enums and dataclasses as JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat() if timezone.is_aware(value) else value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _local(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


# --- the sections ------------------------------------------------------------------------------


def _kpi_rows(scope: Scope) -> list[dict[str, Any]]:
    department = scope.department
    definitions = {d.code: d for d in selectors.kpi_definitions(department=department)}
    values = selectors.kpi_values(
        start=scope.start, end=scope.end, filters=scope.filters, department=department
    )
    before_month = previous_month(scope.month)
    before = {
        v.code: v
        for v in selectors.kpi_values(
            start=before_month,
            end=scope.month - timedelta(days=1),
            filters=scope.filters,
            department=department,
        )
    }
    rows = []
    for value in values:
        definition = definitions[value.code]
        previous = before.get(value.code)
        rows.append(
            {
                **jsonable(value),
                "category": definition.category,
                "display": format_value(value.value, value.unit),
                "target_display": format_value(value.target, value.unit)
                if value.target is not None
                else "—",
                "previous": previous.value if previous else None,
                "previous_display": format_value(previous.value if previous else None, value.unit),
                **_change(
                    value.value, previous.value if previous else None, value.direction, value.unit
                ),
            }
        )
    return rows


def _trends(scope: Scope, kpis: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    first = months_back(scope.month, TREND_MONTHS - 1)
    codes = [code for code in TREND_CODES if code in kpis]
    series = selectors.kpi_trends(
        codes,
        start=first,
        end=scope.end,
        grain=Grain.MONTH,
        filters=scope.filters,
        department=scope.department,
    )
    return [
        {
            "code": code,
            "name": kpis[code]["name"],
            "unit": kpis[code]["unit"],
            "direction": kpis[code]["direction"],
            "target": kpis[code]["target"],
            "reference": kpis[code]["reference"],
            "reference_label": kpis[code]["reference_label"],
            "points": [
                {
                    "period": p.period.isoformat(),
                    "label": p.period.strftime("%b %y"),
                    "value": p.value,
                    "status": p.status.value,
                }
                for p in series[code]
            ],
        }
        for code in codes
    ]


def _daily(scope: Scope) -> list[dict[str, Any]]:
    """Every KPI per day of the month: the workbook's pivot-ready KPI x day sheet."""
    series = selectors.kpi_trends(
        [d.code for d in selectors.kpi_definitions() if d.code in SPECS],
        start=scope.start,
        end=scope.end,
        grain=Grain.DAY,
        filters=scope.filters,
        department=scope.department,
    )
    return [
        {
            "day": p.period.isoformat(),
            "code": code,
            "value": p.value,
            "numerator": p.numerator,
            "denominator": p.denominator,
            "count": p.count,
            "status": p.status.value,
        }
        for code, points in series.items()
        for p in points
    ]


def _breakdown(code: str, by: Dimension, scope: Scope, limit: int | None = None) -> list[Any]:
    rows = selectors.kpi_breakdown(
        code, by=by, start=scope.start, end=scope.end, filters=scope.filters, limit=limit
    )
    total = sum(row.count for row in rows) or 0
    return [
        {
            **jsonable(row),
            "share": round(100 * row.count / total, 1) if total else None,
        }
        for row in rows
    ]


def _volume(scope: Scope) -> dict[str, Any]:
    dims = [Dimension.MODALITY, Dimension.EXAM_TYPE, Dimension.PRIORITY, Dimension.PATIENT_CLASS]
    if scope.department is None:
        dims.insert(0, Dimension.SITE)
    by = {
        dim.value: _breakdown(
            "exams_performed", dim, scope, limit=10 if dim is Dimension.EXAM_TYPE else None
        )
        for dim in dims
    }
    reasons = {
        code: _breakdown(code, Dimension.REASON, scope)
        for code in ("no_show_rate", "same_day_cancel_rate")
    }
    return {"by": by, "reasons": reasons}


def _exam_row(exam: Exam, measure_minutes: float | None, **extra: Any) -> dict[str, Any]:
    room = exam.room
    return {
        "accession": exam.accession_number,
        "exam_type": exam.order.exam_type.name,
        "modality": exam.order.exam_type.modality_id,
        "site": room.site.code if room is not None else "",
        "room": room.code if room is not None else "",
        "priority": exam.order.get_priority_display(),
        "minutes": None if measure_minutes is None else round(measure_minutes, 1),
        **extra,
    }


def _minutes(delta: timedelta | None) -> float | None:
    return None if delta is None else delta.total_seconds() / 60


def _ranked(exams: QuerySet[Exam], later: str, earlier: str) -> QuerySet[Exam]:
    return (
        exams.annotate(gap=ExpressionWrapper(F(later) - F(earlier), output_field=DurationField()))
        .exclude(gap__isnull=True)
        .order_by("-gap", "accession_number")
    )


def _exceptions(scope: Scope, now: datetime) -> dict[str, Any]:
    kw: dict[str, Any] = {"start": scope.start, "end": scope.end, "filters": scope.filters}
    sla: list[dict[str, Any]] = []
    breached = 0
    for code in ("sla_stat", "sla_urgent"):
        late = selectors.kpi_drilldown(code, bucket="breached", **kw)
        breached += late.count()
        for exam in _ranked(late, "in_progress_at", "order__sla_due_at")[:EXCEPTIONS_LIMIT]:
            sla.append(
                _exam_row(
                    exam,
                    _minutes(exam.gap),  # type: ignore[attr-defined]
                    due=_local(exam.order.sla_due_at),
                    begun=_local(exam.in_progress_at),
                )
            )
    sla.sort(key=lambda row: (-(row["minutes"] or 0), row["accession"]))
    waits = [
        _exam_row(
            exam,
            _minutes(exam.gap),  # type: ignore[attr-defined]
            arrived=_local(exam.arrived_at),
            begun=_local(exam.in_progress_at),
        )
        for exam in _ranked(
            selectors.kpi_drilldown("tat_wait", **kw), "in_progress_at", "arrived_at"
        )[:EXCEPTIONS_LIMIT]
    ]
    slow_reports = [
        _exam_row(
            exam,
            _minutes(exam.gap),  # type: ignore[attr-defined]
            completed=_local(exam.completed_at),
            reported=_local(exam.reported_at),
        )
        for exam in _ranked(
            selectors.kpi_drilldown("tat_end_to_report", **kw), "reported_at", "completed_at"
        )[:EXCEPTIONS_LIMIT]
    ]
    unreported = (
        selectors.kpi_drilldown("exams_performed", **kw)
        .filter(reported_at__isnull=True)
        .order_by("completed_at", "accession_number")
    )
    outstanding = [
        _exam_row(
            exam,
            _minutes(now - exam.completed_at) if exam.completed_at else None,
            completed=_local(exam.completed_at),
        )
        for exam in unreported[:EXCEPTIONS_LIMIT]
    ]
    return {
        "sla_misses": sla[:EXCEPTIONS_LIMIT],
        "sla_breached": breached,
        "longest_waits": waits,
        "slowest_reports": slow_reports,
        "reports_outstanding": outstanding,
        "reports_outstanding_count": unreported.count(),
    }


def _quality(scope: Scope, now: datetime) -> dict[str, Any]:
    from radflow.quality.selectors import quality_month_summary

    summary = quality_month_summary(month=scope.month, today=timezone.localdate(now))
    result: dict[str, Any] = jsonable(summary)
    result["peer_review"]["discrepancies"] = summary.peer_review.discrepancies
    result["peer_review"]["significant"] = summary.peer_review.significant
    result["peer_review"]["discrepancy_rate"] = summary.peer_review.discrepancy_rate
    result["interpreter"]["met_rate"] = summary.interpreter.met_rate
    result["accessibility"]["met_rate"] = summary.accessibility.met_rate
    result["all_sites"] = scope.department is not None
    return result


def _productivity_by(dim: Dimension, scope: Scope) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for code in PRODUCTIVITY_CODES:
        for row in selectors.kpi_breakdown(
            code, by=dim, start=scope.start, end=scope.end, filters=scope.filters
        ):
            cell = rows.setdefault(row.key, {"key": row.key, "label": row.label})
            cell[code] = row.value
            if code == "exams_per_8h":
                cell["exams"] = int(row.numerator or 0)
                cell["worked_hours"] = round((row.denominator or 0) / 3600, 1)
    result = [r for r in rows.values() if r.get("exams") or r.get("worked_hours")]
    result.sort(key=lambda r: (-(r.get("exams") or 0), r["label"]))
    return result


def _staffing(scope: Scope, kpis: dict[str, dict[str, Any]]) -> dict[str, Any]:
    per_8h = kpis.get("exams_per_8h", {})
    rvus = kpis.get("rvus_per_hour", {})
    by_person = _productivity_by(Dimension.STAFF, scope)
    result: dict[str, Any] = {
        "exams": int(per_8h.get("numerator") or 0),
        "worked_hours": round((per_8h.get("denominator") or 0) / 3600, 1),
        "rvus": round((rvus.get("numerator") or 0) / 1000, 1),
        "exams_per_8h": per_8h.get("value"),
        "rvus_per_hour": rvus.get("value"),
        "scanned_share": kpis.get("scanned_share", {}).get("value"),
        "reference": per_8h.get("reference"),
        "reference_label": per_8h.get("reference_label", ""),
        "target": per_8h.get("target"),
        "headcount": sum(1 for row in by_person if row.get("worked_hours")),
        "by_modality": _productivity_by(Dimension.MODALITY, scope),
        "by_person": by_person,
    }
    if scope.department is None:
        result["by_site"] = _productivity_by(Dimension.SITE, scope)
    return result


def _status_counts(rows: Iterable[dict[str, Any]]) -> dict[str, int]:
    counts = {s.value: 0 for s in Status}
    for row in rows:
        counts[row["status"]] += 1
    return counts


def pack_data(
    *,
    month: date,
    department: Department | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Every number of the pack of ``month`` (any day of it) for ``department`` (None: every
    site), JSON-ready. ``progress(percent, step)`` hears of each section as it starts."""
    step = progress or (lambda percent, name: None)
    now = now or timezone.now()
    scope = Scope(month=month_start(month), department=department)
    step(5, "Computing the KPIs")
    rows = _kpi_rows(scope)
    kpis = {row["code"]: row for row in rows}
    step(20, "Computing 12-month trends")
    trends = _trends(scope, kpis)
    step(30, "Computing the KPIs day by day")
    daily = _daily(scope)
    step(40, "Breaking down the volume")
    volume = _volume(scope)
    step(50, "Finding the exceptions")
    exceptions = _exceptions(scope, now)
    step(58, "Summarising the quality program")
    quality = _quality(scope, now)
    step(64, "Computing staffing and productivity")
    staffing = _staffing(scope, kpis)
    return {
        "meta": {
            "month": scope.month.isoformat(),
            "month_label": scope.month.strftime("%B %Y"),
            "start": scope.start.isoformat(),
            "end": scope.end.isoformat(),
            "scope": scope.label,
            "department_id": str(department.pk) if department else None,
            "department": department.name if department else "All sites",
            "site": department.site.name if department else "",
            "computed_at": timezone.localtime(now).isoformat(),
            "computed_at_display": _local(now),
            "time_zone": timezone.get_current_timezone_name(),
        },
        "kpis": rows,
        "status_counts": _status_counts(rows),
        "trends": trends,
        "daily": daily,
        "volume": volume,
        "exceptions": exceptions,
        "quality": quality,
        "staffing": staffing,
    }


# --- the flat exam sheet -------------------------------------------------------------------------

#: Flags of the flat sheet: (column, population in ``raw.populations``).
EXAM_FLAGS: tuple[tuple[str, str], ...] = (
    ("Ordered", "orders"),
    ("Booked", "sched"),
    ("Begun", "access"),
    ("Performed", "duration"),
    ("Discontinued", "discontinued"),
    ("Appointment due", "appt_due"),
    ("No-show", "no_show"),
    ("Same-day cancellation", "same_day_cancel"),
    ("Appointment completed", "appt_completed"),
    ("STAT counted", "stat"),
    ("Urgent counted", "urgent"),
    ("Report written", "report"),
    ("Report signed", "sign"),
    ("Override", "overridden"),
)


def _naive(value: datetime | None) -> datetime | None:
    """Local wall-clock time without a zone: what a spreadsheet cell holds."""
    return timezone.localtime(value).replace(tzinfo=None) if value else None


def exam_rows(*, month: date, department: Department | None = None) -> list[dict[str, Any]]:
    """One row per exam with an event counted in the month: its dimensions, its timestamps (local
    time) and a 0/1 flag per KPI population, so a pivot of the flags gives the KPIs back."""
    from radflow.kpis.raw import populations

    scope = Scope(month=month_start(month), department=department)
    pops = populations(scope.start, scope.end, scope.filters)
    members: dict[str, set[Any]] = {
        name: set(pops[name].values_list("pk", flat=True)) for _, name in EXAM_FLAGS
    }
    stat_met = set(
        pops["stat"].filter(in_progress_at__lte=F("order__sla_due_at")).values_list("pk", flat=True)
    )
    urgent_met = set(
        pops["urgent"]
        .filter(in_progress_at__lte=F("order__sla_due_at"))
        .values_list("pk", flat=True)
    )
    everyone: set[Any] = set().union(*members.values())
    result: list[dict[str, Any]] = []
    ids = sorted(everyone, key=str)
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start : chunk_start + 500]
        for values in Exam.objects.filter(pk__in=chunk).values(*_FLAT_FIELDS):
            result.append(_flat_row(values, members, stat_met, urgent_met))
    result.sort(key=lambda row: row["Accession"])
    return result


#: What the flat sheet reads of each exam (values, not model instances: thousands of rows).
_FLAT_FIELDS = (
    "pk",
    "accession_number",
    "state",
    "reason_code",
    "room__code",
    "room__site__name",
    "order__site__name",
    "order__exam_type__modality_id",
    "order__exam_type__name",
    "order__priority",
    "order__patient_class",
    "order__payer__name",
    "order__payer__plan",
    "order__ordering_provider",
    "order__ordering_provider_npi",
    "technologist__given_name",
    "technologist__family_name",
    "requested_at",
    "scheduled_at",
    "scheduled_start",
    "arrived_at",
    "in_progress_at",
    "completed_at",
    "reported_at",
    "signed_at",
    "cancelled_at",
    "no_show_at",
    "order__sla_due_at",
)


def _span(later: datetime | None, earlier: datetime | None) -> timedelta | None:
    return later - earlier if later and earlier else None


def _flat_row(
    e: dict[str, Any], members: dict[str, set[Any]], stat_met: set[Any], urgent_met: set[Any]
) -> dict[str, Any]:
    from radflow.core.exam_states import ExamState
    from radflow.orders.models import OrderPatientClass, Priority

    performer = " ".join(
        part for part in (e["technologist__given_name"], e["technologist__family_name"]) if part
    )
    state = e["state"]
    row: dict[str, Any] = {
        "Accession": e["accession_number"],
        "Site": e["room__site__name"] or e["order__site__name"] or "",
        "Room": e["room__code"] or "",
        "Modality": e["order__exam_type__modality_id"],
        "Exam type": e["order__exam_type__name"],
        "Priority": _label(Priority, e["order__priority"]),
        "Patient class": _label(OrderPatientClass, e["order__patient_class"]),
        "Payer": " — ".join(p for p in (e["order__payer__name"], e["order__payer__plan"]) if p),
        "Referrer": e["order__ordering_provider"],
        "Referrer NPI": e["order__ordering_provider_npi"],
        "Performer": performer,
        "State": _label(ExamState, state),
        "Reason": e["reason_code"],
        "Ordered at": _naive(e["requested_at"]),
        "Booked at": _naive(e["scheduled_at"]),
        "Appointment": _naive(e["scheduled_start"]),
        "Arrived at": _naive(e["arrived_at"]),
        "Begun at": _naive(e["in_progress_at"]),
        "Completed at": _naive(e["completed_at"]),
        "Reported at": _naive(e["reported_at"]),
        "Signed at": _naive(e["signed_at"]),
        "Cancelled at": _naive(e["cancelled_at"]),
        "No-show at": _naive(e["no_show_at"]),
        "SLA due": _naive(e["order__sla_due_at"]),
        "Order to exam": _span(e["in_progress_at"], e["requested_at"]),
        "Wait": _span(e["in_progress_at"], e["arrived_at"]),
        "Exam duration": _span(e["completed_at"], e["in_progress_at"]),
        "End to report": _span(e["reported_at"], e["completed_at"]),
        "Report to sign": _span(e["signed_at"], e["reported_at"]),
    }
    pk = e["pk"]
    for column, name in EXAM_FLAGS:
        row[column] = int(pk in members[name])
    row["STAT met"] = int(pk in stat_met)
    row["Urgent met"] = int(pk in urgent_met)
    return row


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value or ""
