"""Documentation audit findings as a KPI: computed live through the audit's own selectors.

The audit's gaps depend on "now" (a report is missing once 24 hours have passed), so they cannot
be rolled up by day; the count is one query over the period's performed exams.
"""

from __future__ import annotations

from datetime import date

from django.db.models import Q, QuerySet

from radflow.core.kpis.stats import ratio
from radflow.core.kpis.types import BreakdownRow, KpiFilters
from radflow.exams import selectors as exam_selectors
from radflow.exams.models import Exam
from radflow.kpis.registry import Computed


def performed(*, start: date, end: date, filters: KpiFilters) -> QuerySet[Exam]:
    exams = exam_selectors.performed_exams(since=start, until=end)
    if filters.sites:
        sites = list(filters.sites)
        exams = exams.filter(
            Q(room__site_id__in=sites) | Q(room__isnull=True, order__site_id__in=sites)
        )
    if filters.modalities:
        exams = exams.filter(order__exam_type__modality_id__in=list(filters.modalities))
    return exams


def findings(*, start: date, end: date, filters: KpiFilters) -> Computed:
    exams = performed(start=start, end=end, filters=filters)
    total = exams.count()
    gaps = exam_selectors.documentation_gaps(exams).count() if total else 0
    return Computed(
        value=ratio(gaps, total, scale=100), numerator=gaps, denominator=total, count=total
    )


def findings_by_gap(*, start: date, end: date, filters: KpiFilters) -> list[BreakdownRow]:
    exams = performed(start=start, end=end, filters=filters)
    total = exams.count()
    counts = exam_selectors.documentation_gap_counts(exams)
    rows = [
        BreakdownRow(
            key=code,
            label=label,
            value=ratio(n, total, scale=100),
            numerator=n,
            denominator=total,
            count=n,
        )
        for code, label, n in counts.by_gap
    ]
    return sorted(rows, key=lambda row: (-row.count, row.label))
