"""KPIs straight from the exams table: the drill-down lists, the naive baseline of the benchmark
and the oracle the rollups are tested against.

Written apart from ``radflow.core.kpis.rollup`` on purpose: here each KPI's population is a
query on the exam's timestamps between two local midnights, so a counting mistake in either
place shows up as a disagreement. The formulas (``registry.compute``) are shared.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import TruncDate

from radflow.core.exam_states import ExamState
from radflow.core.kpis.rollup import HIST_FIELDS
from radflow.core.kpis.stats import bucket_of
from radflow.core.kpis.types import Grain, KpiFilters, KpiValue, TrendPoint
from radflow.exams.models import Exam, Override
from radflow.kpis import documentation, readers
from radflow.kpis.registry import (
    REASON_KIND,
    SPECS,
    Computed,
    Kind,
    Totals,
    compute,
    note_for,
)
from radflow.kpis.rollups import calendar, department_zone, rvu_by_exam_type
from radflow.localtime import local_midnight


def exam_filter_q(filters: KpiFilters, prefix: str = "") -> Q:
    """``filters`` as a condition on exams (``prefix`` for a related model's exam)."""
    p = prefix
    q = Q()
    if filters.sites:
        sites = list(filters.sites)
        q &= Q(**{f"{p}room__site_id__in": sites}) | Q(
            **{f"{p}room__isnull": True, f"{p}order__site_id__in": sites}
        )
    if filters.modalities:
        q &= Q(**{f"{p}order__exam_type__modality_id__in": list(filters.modalities)})
    if filters.rooms:
        q &= Q(**{f"{p}room_id__in": list(filters.rooms)})
    if filters.staff:
        q &= Q(**{f"{p}technologist_id__in": list(filters.staff)})
    if filters.exam_types:
        q &= Q(**{f"{p}order__exam_type_id__in": list(filters.exam_types)})
    if filters.referrers:
        keys = list(filters.referrers)
        q &= Q(**{f"{p}order__ordering_provider_npi__in": keys}) | Q(
            **{f"{p}order__ordering_provider_npi": "", f"{p}order__ordering_provider__in": keys}
        )
    if filters.payers:
        q &= Q(**{f"{p}order__payer_id__in": list(filters.payers)})
    if filters.patient_classes:
        q &= Q(**{f"{p}order__patient_class__in": list(filters.patient_classes)})
    if filters.priorities:
        q &= Q(**{f"{p}order__priority__in": list(filters.priorities)})
    return q


def bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return local_midnight(start), local_midnight(end + timedelta(days=1))


def _in(field: str, lo: datetime, hi: datetime) -> Q:
    return Q(**{f"{field}__gte": lo, f"{field}__lt": hi})


def _with_days(exams: QuerySet[Exam]) -> QuerySet[Exam]:
    zone = department_zone()
    return exams.annotate(
        appt_day=TruncDate("scheduled_start", tzinfo=zone),
        cancel_day=TruncDate("cancelled_at", tzinfo=zone),
    )


ALL_STATES = [state.value for state in ExamState]

#: Appointment outcomes on the appointment's day (needs ``_with_days``).
NO_SHOW_Q = Q(no_show_at__isnull=False)
SAME_DAY_CANCEL_Q = Q(no_show_at__isnull=True, cancelled_at__isnull=False) & (
    Q(arrived_at__isnull=False) | Q(cancel_day__gte=F("appt_day"))
)
ATTENDED_Q = Q(no_show_at__isnull=True, cancelled_at__isnull=True, arrived_at__isnull=False)
APPT_DUE_Q = NO_SHOW_Q | SAME_DAY_CANCEL_Q | ATTENDED_Q


def populations(start: date, end: date, filters: KpiFilters) -> dict[str, QuerySet[Exam]]:
    """Each raw population between the range's local midnights."""
    lo, hi = bounds(start, end)
    base = Exam.objects.filter(exam_filter_q(filters))
    begun = base.filter(_in("in_progress_at", lo, hi))
    # Every state named: the (state, scheduled_start) index then serves the range.
    appts = _with_days(base.filter(_in("scheduled_start", lo, hi), state__in=ALL_STATES))
    overridden = Override.objects.filter(exam=OuterRef("pk"), at__gte=lo, at__lt=hi)
    return {
        "orders": base.filter(_in("requested_at", lo, hi)),
        "sched": base.filter(_in("scheduled_at", lo, hi)),
        "access": begun,
        "wait": begun.filter(arrived_at__isnull=False),
        "duration": begun.filter(completed_at__isnull=False),
        "discontinued": begun.filter(completed_at__isnull=True, discontinued_at__isnull=False),
        "report": base.filter(_in("reported_at", lo, hi), completed_at__isnull=False),
        "sign": base.filter(_in("signed_at", lo, hi), reported_at__isnull=False),
        "stat": begun.filter(order__priority="stat", order__sla_due_at__isnull=False),
        "urgent": begun.filter(order__priority="urgent", order__sla_due_at__isnull=False),
        "appt_due": appts.filter(APPT_DUE_Q),
        "no_show": appts.filter(NO_SHOW_Q, state=ExamState.NO_SHOW),
        "same_day_cancel": appts.filter(SAME_DAY_CANCEL_Q, state=ExamState.CANCELLED),
        "appt_completed": appts.filter(ATTENDED_Q, completed_at__isnull=False),
        "overridden": base.filter(Exists(overridden)),
        "scanned": base.filter(
            Q(in_progress_at__lt=hi)
            & (Q(completed_at__gte=lo) | Q(completed_at__isnull=True, discontinued_at__gte=lo))
        ),
    }


#: The two timestamps each histogram measure is the difference of (later, earlier).
_SPANS = {
    "sched": ("scheduled_at", "requested_at"),
    "access": ("in_progress_at", "requested_at"),
    "wait": ("in_progress_at", "arrived_at"),
    "duration": ("completed_at", "in_progress_at"),
    "report": ("reported_at", "completed_at"),
    "sign": ("signed_at", "reported_at"),
}


def raw_totals(start: date, end: date, filters: KpiFilters) -> Totals:
    """Every exam measure of ``[start, end]`` added up from the exams themselves."""
    pops = populations(start, end, filters)
    totals = Totals()
    c = totals.counts
    c["orders"] = pops["orders"].count()
    for measure, (later, earlier) in _SPANS.items():
        count_field, sum_field = HIST_FIELDS[measure]
        hist: dict[int, int] = {}
        for a, b in pops[measure].values_list(later, earlier).order_by().iterator():
            seconds = max(0, int((a - b).total_seconds()))
            c[count_field] += 1
            c[sum_field] += seconds
            bucket = bucket_of(seconds / 60)
            hist[bucket] = hist.get(bucket, 0) + 1
        totals.hist[measure] = hist
    c["discontinued"] = pops["discontinued"].count()
    for priority in ("stat", "urgent"):
        pop = pops[priority]
        c[f"{priority}_n"] = pop.count()
        c[f"{priority}_met"] = pop.filter(in_progress_at__lte=F("order__sla_due_at")).count()
    for name in ("appt_due", "no_show", "same_day_cancel", "appt_completed"):
        c[name] = pops[name].count()
    c["cancel_after_arrival"] = pops["same_day_cancel"].filter(arrived_at__isnull=False).count()
    lo, hi = bounds(start, end)
    c["overrides"] = Override.objects.filter(
        exam_filter_q(filters, "exam__"), at__gte=lo, at__lt=hi
    ).count()
    rvus = rvu_by_exam_type()
    c["rvu_milli"] = sum(
        rvus.get(t, 0) for t in pops["duration"].values_list("order__exam_type_id", flat=True)
    )
    cal = calendar()
    scanned = 0
    rows = pops["scanned"].values_list("in_progress_at", "completed_at", "discontinued_at")
    for begun, completed, discontinued in rows.order_by().iterator():
        ended = completed or discontinued
        if begun is None or ended is None:
            continue
        for day, seconds in cal.split(begun, ended):
            if start <= day <= end:
                scanned += seconds
    c["scanned_s"] = scanned
    return totals


def raw_reasons(start: date, end: date, filters: KpiFilters, code: str) -> dict[str, int]:
    pops = populations(start, end, filters)
    pop = pops["no_show" if REASON_KIND[code] == "no_show" else "same_day_cancel"]
    counts: dict[str, int] = defaultdict(int)
    for reason in pop.values_list("reason_code", flat=True):
        counts[reason or ""] += 1
    return dict(counts)


def _computed(code: str, start: date, end: date, filters: KpiFilters, totals: Totals) -> Computed:
    spec = SPECS[code]
    if spec.kind in (Kind.COUNT, Kind.RATE, Kind.TURNAROUND):
        return compute(code, totals)
    one: Any = None
    if spec.kind is Kind.UTILIZATION:
        t = Totals().merge(totals)
        t.counts["open_s"] = readers.open_seconds_by(
            start, end, filters, key=lambda r: one, group=[]
        ).get(one, 0)
        return compute(code, t)
    if spec.kind is Kind.PRODUCTIVITY:
        t = Totals().merge(totals)
        t.counts["worked_s"] = readers.worked_seconds_by(
            start, end, filters, key=lambda r: one, group=[]
        ).get(one, 0)
        return compute(code, t)
    if spec.kind is Kind.BACKLOG:
        total, n = readers.backlog_by(start, end, filters, key=lambda r: one, group=[]).get(
            one, (0.0, 0)
        )
        return Computed(value=total / n if n else None, numerator=total, denominator=n, count=n)
    if spec.kind is Kind.DOCUMENTATION:
        return documentation.findings(start=start, end=end, filters=filters)
    points = readers.quality_points(start, end, filters) or []
    return compute(code, readers.quality_totals(points, lambda day: one).get(one, Totals()))


def kpi_values_raw(
    *,
    start: date,
    end: date,
    filters: KpiFilters | None = None,
    codes: Sequence[str] | None = None,
    department: Any = None,
) -> list[KpiValue]:
    """``selectors.kpi_values`` computed from raw exams (same answers, no rollups)."""
    from radflow.kpis import selectors

    filters = filters or KpiFilters()
    definitions = selectors._definitions(codes, selectors._department_for(filters, department))
    totals = raw_totals(start, end, filters)
    result = []
    for definition in definitions:
        note = selectors._unsupported(definition, filters)
        computed = Computed(value=None)
        if not note:
            computed = _computed(definition.code, start, end, filters, totals)
            note = note_for(definition.code, computed)
        result.append(selectors._value(definition, computed, note=note, source="raw"))
    return result


def kpi_trends_raw(
    codes: Sequence[str],
    *,
    start: date,
    end: date,
    grain: Grain = Grain.MONTH,
    filters: KpiFilters | None = None,
) -> dict[str, list[TrendPoint]]:
    """``selectors.kpi_trends`` the naive way: every period computed from raw exams."""
    from radflow.kpis import selectors

    filters = filters or KpiFilters()
    result: dict[str, list[TrendPoint]] = {code: [] for code in codes}
    for period in selectors.periods(start, end, grain):
        lo = max(start, period)
        hi = min(end, selectors.next_period(period, grain) - timedelta(days=1))
        for value in kpi_values_raw(start=lo, end=hi, filters=filters, codes=codes):
            result[value.code].append(
                TrendPoint(
                    period=period,
                    value=value.value,
                    numerator=value.numerator,
                    denominator=value.denominator,
                    count=value.count,
                    status=value.status,
                )
            )
    return result


# --- drill-down ---------------------------------------------------------------------------------

#: Which population lists each KPI's exams (the denominator), and which its numerator.
_DRILL: dict[str, tuple[str, str]] = {
    "exams_performed": ("duration", "duration"),
    "orders_received": ("orders", "orders"),
    "tat_order_to_scheduled": ("sched", "sched"),
    "tat_order_to_exam": ("access", "access"),
    "tat_wait": ("wait", "wait"),
    "exam_duration": ("duration", "duration"),
    "tat_end_to_report": ("report", "report"),
    "tat_report_to_sign": ("sign", "sign"),
    "sla_stat": ("stat", "stat"),
    "sla_urgent": ("urgent", "urgent"),
    "no_show_rate": ("appt_due", "no_show"),
    "same_day_cancel_rate": ("appt_due", "same_day_cancel"),
    "completion_rate": ("appt_due", "appt_completed"),
    "override_rate": ("access", "overridden"),
    "room_utilization": ("scanned", "scanned"),
    "exams_per_8h": ("duration", "duration"),
    "rvus_per_hour": ("duration", "duration"),
    "scanned_share": ("scanned", "scanned"),
}


def drilldown(
    code: str, *, start: date, end: date, filters: KpiFilters, bucket: str | None
) -> QuerySet[Exam]:
    """The exams behind a KPI (see ``selectors.kpi_drilldown``)."""
    spec = SPECS[code]
    if spec.kind is Kind.DOCUMENTATION:
        from radflow.exams import selectors as exam_selectors

        exams = documentation.performed(start=start, end=end, filters=filters)
        if bucket:
            exams = exam_selectors.documentation_gaps(
                exams, gap="" if bucket == "numerator" else bucket
            )
        return _listed(Exam.objects.filter(pk__in=exams.values("pk")))
    if code not in _DRILL:
        return Exam.objects.none()
    pops = populations(start, end, filters)
    whole, counted = _DRILL[code]
    exams = pops[whole]
    if bucket == "numerator":
        exams = pops[counted]
        if code in ("sla_stat", "sla_urgent"):
            exams = exams.filter(in_progress_at__lte=F("order__sla_due_at"))
    elif bucket == "breached" and code in ("sla_stat", "sla_urgent"):
        exams = exams.filter(in_progress_at__gt=F("order__sla_due_at"))
    elif bucket and code in REASON_KIND:
        exams = pops[counted].filter(reason_code=bucket)
    return _listed(Exam.objects.filter(pk__in=exams.values("pk")))


def _listed(exams: QuerySet[Exam]) -> QuerySet[Exam]:
    """Ordered for the list, the rows it shows fetched by the page (prefetched, not joined):
    joined, the exams' query had eight tables, past PostgreSQL's join_collapse_limit, and it
    hashed every order and patient before narrowing to the few exams wanted (2 s for one
    month's no-shows of 500,000 exams)."""
    from radflow.orders.models import Order
    from radflow.scheduling.models import Room

    return exams.prefetch_related(
        Prefetch("order", Order.objects.select_related("patient", "exam_type__modality")),
        Prefetch("room", Room.objects.select_related("site")),
        "technologist",
    ).order_by(F("scheduled_start").desc(nulls_last=True), "accession_number")
