"""What the KPI engine, the dashboards and the monthly report read of the quality program.

Typed, read-only and cheap: quality events are few (hundreds a month), so these read the quality
tables directly, with the department's calendar days and months. ``kpi_quality_points`` is the
seam the KPI engine calls (``radflow.kpis.readers``); the ``*_by_month`` selectors are
the program's own monthly views (pages, the report pack, docs/quality.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone

from radflow.core.exam_states import ExamState
from radflow.core.kpis import KpiFilters, QualityPoint
from radflow.exams.models import Exam
from radflow.exams.selectors import (
    PERFORMED_STATES,
    documentation_gap_counts,
    documentation_gaps,
    performed_exams,
)
from radflow.localtime import local_midnight
from radflow.orders.models import Order
from radflow.patients.models import Patient
from radflow.quality.models import (
    FOLLOW_UP_SCORES,
    AccessibilityRequest,
    ActionStatus,
    AuditStatus,
    CorrectiveAction,
    DiscrepancyFollowUp,
    Feedback,
    FeedbackKind,
    FeedbackStatus,
    FollowUpStatus,
    ImageAudit,
    Incident,
    IncidentKind,
    PeerReview,
    RadpeerScore,
    RequestStatus,
    ReviewStatus,
    SatisfactionResponse,
    Severity,
)
from radflow.quality.rules import median_days, month_start, months_between, next_month, nps

# --- the KPI seam --------------------------------------------------------------------------------

#: Measures ``kpi_quality_points`` returns: the KPI contract's (``radflow.core.kpis``), plus
#: accessibility requests met.
QUALITY_MEASURES = (
    "qa_score",
    "peer_review_discrepancy",
    "incidents",
    "complaints",
    "complaint_resolution_hours",
    "satisfaction",
    "interpreter_requests_met",
    "accessibility_requests_met",
)


def _day_range(start: date, end: date) -> tuple[datetime, datetime]:
    """Inclusive local days as a half-open range of aware datetimes."""
    return local_midnight(start), local_midnight(end + timedelta(days=1))


def _exam_filter(prefix: str, filters: KpiFilters, *, staff: str | None = None) -> Q:
    """The filters on an exam reached through ``prefix`` ("exam__", "" for the exam itself).

    Site is the room's site, or the order's site for an exam never given a room (as the KPI
    engine defines it); ``staff`` names the field the staff filter applies to, if any.
    """
    q = Q()
    if filters.sites:
        q &= Q(**{f"{prefix}room__site__in": list(filters.sites)}) | Q(
            **{f"{prefix}room__isnull": True, f"{prefix}order__site__in": list(filters.sites)}
        )
    if filters.modalities:
        q &= Q(**{f"{prefix}order__exam_type__modality__in": list(filters.modalities)})
    if filters.exam_types:
        q &= Q(**{f"{prefix}order__exam_type__in": list(filters.exam_types)})
    if staff and filters.staff:
        q &= Q(**{f"{staff}__in": list(filters.staff)})
    return q


def _on_exam(filters: KpiFilters, *, staff: str | None = None) -> Q:
    """``_exam_filter`` for a quality row's exam, checked per row by the exam's key.

    Quality rows are few and exams many: as a join, the database would walk every exam of the
    modality or site to find the hundreds that have a quality row; as a correlated ``EXISTS``
    it looks up each row's exam by primary key. Rows without an exam match no exam filter.
    """
    q = Q()
    exam_part = KpiFilters(
        sites=frozenset(filters.sites),
        modalities=frozenset(filters.modalities),
        exam_types=frozenset(filters.exam_types),
    )
    if exam_part.sites or exam_part.modalities or exam_part.exam_types:
        q &= Q(Exists(Exam.objects.filter(_exam_filter("", exam_part), pk=OuterRef("exam_id"))))
    if staff and filters.staff:
        q &= Q(**{f"{staff}__in": list(filters.staff)})
    return q


def _needs_exam(filters: KpiFilters) -> bool:
    return bool(filters.modalities or filters.exam_types)


class _Points:
    def __init__(self) -> None:
        self.totals: dict[tuple[date, str], list[float]] = defaultdict(lambda: [0.0, 0])

    def add(self, day: date, measure: str, total: float, count: int = 1) -> None:
        cell = self.totals[(day, measure)]
        cell[0] += total
        cell[1] += count

    def points(self) -> list[QualityPoint]:
        return [
            QualityPoint(day=day, measure=measure, total=round(cell[0], 4), count=int(cell[1]))
            for (day, measure), cell in sorted(self.totals.items())
        ]


def _local_day(value: datetime) -> date:
    return timezone.localdate(value)


def kpi_quality_points(
    *, start: date, end: date, filters: KpiFilters | None = None
) -> list[QualityPoint]:
    """The quality measures per department day from ``start`` to ``end`` (both included).

    Which day each counts on: audits and peer reviews when scored; incidents when reported;
    complaints when received (resolution time when resolved); survey responses on their survey
    date; interpreter needs on the day the exam began; accessibility requests on the day needed.
    Filters honoured: sites, modalities, staff (audit: the sonographer; peer review: the reading
    radiologist; complaints: the staff member named), exam types; the rest are ignored.
    """
    f: KpiFilters = filters or KpiFilters()
    lo, hi = _day_range(start, end)
    out = _Points()

    audits = ImageAudit.objects.filter(
        scored_at__gte=lo, scored_at__lt=hi, score_pct__isnull=False
    ).filter(_on_exam(f, staff="performer"))
    for scored_at, pct in audits.values_list("scored_at", "score_pct"):
        if scored_at is not None and pct is not None:
            out.add(_local_day(scored_at), "qa_score", float(pct))

    reviews = PeerReview.objects.filter(
        status=ReviewStatus.COMPLETED, completed_at__gte=lo, completed_at__lt=hi
    ).filter(_on_exam(f, staff="reader"))
    for completed_at, radpeer in reviews.values_list("completed_at", "score"):
        if completed_at is not None:
            discrepant = 1.0 if radpeer and radpeer != RadpeerScore.CONCUR else 0.0
            out.add(_local_day(completed_at), "peer_review_discrepancy", discrepant)

    incidents = Incident.objects.filter(reported_at__gte=lo, reported_at__lt=hi)
    if f.sites:
        incidents = incidents.filter(site__in=list(f.sites))
    if _needs_exam(f):
        incidents = incidents.filter(
            _on_exam(
                KpiFilters(modalities=frozenset(f.modalities), exam_types=frozenset(f.exam_types))
            )
        )
    for (reported_at,) in incidents.values_list("reported_at"):
        out.add(_local_day(reported_at), "incidents", 1.0)

    complaints = _feedback_filtered(Feedback.objects.filter(kind=FeedbackKind.COMPLAINT), f)
    for (received_on,) in complaints.filter(
        received_on__gte=start, received_on__lte=end
    ).values_list("received_on"):
        out.add(received_on, "complaints", 1.0)
    for received_on, resolved_on in complaints.filter(
        status=FeedbackStatus.RESOLVED, resolved_on__gte=start, resolved_on__lte=end
    ).values_list("received_on", "resolved_on"):
        if resolved_on is not None:
            hours = (resolved_on - received_on).days * 24.0
            out.add(resolved_on, "complaint_resolution_hours", hours)

    responses = SatisfactionResponse.objects.filter(survey_date__gte=start, survey_date__lte=end)
    if f.sites:
        responses = responses.filter(site__in=list(f.sites))
    if f.modalities:
        responses = responses.filter(modality__in=list(f.modalities))
    if f.exam_types:
        responses = responses.filter(_on_exam(KpiFilters(exam_types=frozenset(f.exam_types))))
    for survey_date, overall in responses.values_list("survey_date", "overall"):
        out.add(survey_date, "satisfaction", satisfaction_percent(overall))

    for day, needed, met in _interpreter_counts(lo, hi, f, by_month=False):
        out.add(day, "interpreter_requests_met", float(met), needed)

    access = AccessibilityRequest.objects.filter(
        needed_on__gte=start,
        needed_on__lte=end,
        status__in=[RequestStatus.MET, RequestStatus.UNMET],
    )
    if f.sites or _needs_exam(f):
        access = access.filter(
            _on_exam(KpiFilters(sites=f.sites, modalities=f.modalities, exam_types=f.exam_types))
        )
    for needed_on, status in access.values_list("needed_on", "status"):
        out.add(
            needed_on, "accessibility_requests_met", 1.0 if status == RequestStatus.MET else 0.0
        )
    return out.points()


def satisfaction_percent(overall: int) -> float:
    """An overall rating 1-5 on the KPI's 0-100 scale: 1 → 0, 3 → 50, 5 → 100."""
    return (overall - 1) * 25.0


def _feedback_filtered(rows: QuerySet[Feedback], f: KpiFilters) -> QuerySet[Feedback]:
    if f.sites:
        rows = rows.filter(site__in=list(f.sites))
    if _needs_exam(f):
        rows = rows.filter(
            _on_exam(
                KpiFilters(modalities=frozenset(f.modalities), exam_types=frozenset(f.exam_types))
            )
        )
    if f.staff:
        rows = rows.filter(staff_named__in=list(f.staff))
    return rows


#: Every exam state but the performed ones (see ``_interpreter_needed``).
_NOT_PERFORMED = tuple(state for state in ExamState if state not in PERFORMED_STATES)


def _interpreter_needed(lo: datetime, hi: datetime) -> QuerySet[Exam]:
    """Exams performed in [lo, hi) for a patient who needs an interpreter.

    Reached from the few patients flagged (their orders by patient, then each order's exam by
    its unique key) rather than by scanning every exam of the period and joining its patient.
    Each step is an ``IN`` subquery so that SQLite, which keeps no statistics, starts from the
    patients; the state is tested as "not one of the other states" for the same reason: an
    ``IN`` on the state would let it start from the (state, completed) index and read most
    exams of the department instead.
    """
    flagged = Patient.objects.filter(interpreter_needed=True).values("pk")
    orders = Order.objects.filter(patient__in=flagged).values("pk")
    return Exam.objects.filter(
        order__in=orders, in_progress_at__gte=lo, in_progress_at__lt=hi
    ).exclude(state__in=_NOT_PERFORMED)


def _interpreter_counts(
    lo: datetime, hi: datetime, f: KpiFilters, *, by_month: bool
) -> list[tuple[date, int, int]]:
    """(department day or month, exams needing an interpreter, those with one logged), counted
    in the database."""
    tz = timezone.get_current_timezone()
    bucket = (
        TruncMonth("in_progress_at", tzinfo=tz)
        if by_month
        else TruncDate("in_progress_at", tzinfo=tz)
    )
    rows = (
        _interpreter_needed(lo, hi)
        .filter(_exam_filter("", f, staff="technologist"))
        .order_by()
        .annotate(bucket=bucket)
        .values("bucket")
        .annotate(needed=Count("pk"), met=Count("pk", filter=Q(interpreter__isnull=False)))
    )
    out = []
    for row in rows:
        value = row["bucket"]
        day = value.date() if isinstance(value, datetime) else value
        out.append((day, int(row["needed"]), int(row["met"])))
    return out


# --- monthly views -------------------------------------------------------------------------------


def _months(start: date, end: date) -> list[date]:
    return months_between(start, end)


def _month_range(start: date, end: date) -> tuple[datetime, datetime]:
    """[first local midnight of ``start``'s month, first of the month after ``end``'s)."""
    return local_midnight(month_start(start)), local_midnight(next_month(month_start(end)))


@dataclass(frozen=True)
class PersonMonthScore:
    month: date
    staff_id: Any
    staff_name: str
    family_name: str
    audits: int
    mean_score: float | None


def qa_scores_by_person_month(
    *, start: date, end: date, staff_ids: Collection[Any] | None = None
) -> list[PersonMonthScore]:
    """Mean image-quality score per sonographer per audit month (the month the exams were
    completed in), scored audits only; the trend on "My audits" and the QA page."""
    rows = ImageAudit.objects.filter(
        month__gte=month_start(start),
        month__lte=month_start(end),
        status__in=[AuditStatus.SCORED, AuditStatus.ACKNOWLEDGED],
    )
    if staff_ids is not None:
        rows = rows.filter(performer__in=list(staff_ids))
    grouped: dict[tuple[date, Any], list[Decimal]] = defaultdict(list)
    names: dict[Any, str] = {}
    #: People in the order staff lists use: family name, then given name.
    order: dict[Any, tuple[str, str]] = {}
    for month, staff_id, given, family, score in rows.values_list(
        "month", "performer_id", "performer__given_name", "performer__family_name", "score_pct"
    ):
        if score is None:
            continue
        grouped[(month, staff_id)].append(score)
        names[staff_id] = f"{given} {family}"
        order[staff_id] = (family, given)
    return [
        PersonMonthScore(
            month=month,
            staff_id=staff_id,
            staff_name=names[staff_id],
            family_name=order[staff_id][0],
            audits=len(scores),
            mean_score=round(float(sum(scores)) / len(scores), 1),
        )
        for (month, staff_id), scores in sorted(
            grouped.items(), key=lambda item: (item[0][0], order[item[0][1]], str(item[0][1]))
        )
    ]


@dataclass(frozen=True)
class AuditMonth:
    month: date
    drawn: int
    scored: int
    mean_score: float | None
    below_pass_mark: int


def audits_by_month(*, start: date, end: date, pass_mark: int = 80) -> list[AuditMonth]:
    rows = (
        ImageAudit.objects.filter(month__gte=month_start(start), month__lte=month_start(end))
        .values("month")
        .annotate(
            drawn=Count("pk"),
            scored=Count("pk", filter=Q(score_pct__isnull=False)),
            below=Count("pk", filter=Q(score_pct__lt=pass_mark)),
        )
        .order_by("month")
    )
    means: dict[date, list[Decimal]] = defaultdict(list)
    for month, score in ImageAudit.objects.filter(
        month__gte=month_start(start), month__lte=month_start(end), score_pct__isnull=False
    ).values_list("month", "score_pct"):
        if score is not None:
            means[month].append(score)
    by_month = {r["month"]: r for r in rows}
    return [
        AuditMonth(
            month=month,
            drawn=by_month.get(month, {}).get("drawn", 0),
            scored=by_month.get(month, {}).get("scored", 0),
            mean_score=(
                round(float(sum(means[month])) / len(means[month]), 1) if means[month] else None
            ),
            below_pass_mark=by_month.get(month, {}).get("below", 0),
        )
        for month in _months(start, end)
    ]


@dataclass(frozen=True)
class PeerReviewMonth:
    month: date
    assigned: int
    completed: int
    declined: int
    #: RADPEER score -> reviews (completed in the month's reads).
    scores: dict[str, int]

    @property
    def discrepancies(self) -> int:
        return sum(n for score, n in self.scores.items() if score != RadpeerScore.CONCUR)

    @property
    def significant(self) -> int:
        return sum(n for score, n in self.scores.items() if score in FOLLOW_UP_SCORES)

    @property
    def discrepancy_rate(self) -> float | None:
        return round(100 * self.discrepancies / self.completed, 1) if self.completed else None


def peer_review_by_month(*, start: date, end: date) -> list[PeerReviewMonth]:
    """Reviews of the reads signed in each month, by status and RADPEER score."""
    rows = PeerReview.objects.filter(month__gte=month_start(start), month__lte=month_start(end))
    counts: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    scores: dict[date, dict[str, int]] = defaultdict(lambda: {s.value: 0 for s in RadpeerScore})
    for month, status, score in rows.values_list("month", "status", "score"):
        counts[month][status] += 1
        if status == ReviewStatus.COMPLETED and score:
            scores[month][score] += 1
    return [
        PeerReviewMonth(
            month=month,
            assigned=sum(counts[month].values()),
            completed=counts[month][ReviewStatus.COMPLETED],
            declined=counts[month][ReviewStatus.DECLINED],
            scores=dict(scores[month]),
        )
        for month in _months(start, end)
    ]


@dataclass(frozen=True)
class IncidentMonth:
    month: date
    incidents: int
    near_misses: int
    #: Severity value -> incidents and near misses of that severity (every severity present).
    by_severity: dict[str, int]
    open_at_month_end: int


def incidents_by_month(*, start: date, end: date) -> list[IncidentMonth]:
    """Incidents and near misses by the month they occurred, by severity."""
    lo, hi = _month_range(start, end)
    cells: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    kinds: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows = Incident.objects.filter(occurred_at__gte=lo, occurred_at__lt=hi)
    for occurred_at, kind, severity in rows.values_list("occurred_at", "kind", "severity"):
        month = month_start(_local_day(occurred_at))
        cells[month][severity] += 1
        kinds[month][kind] += 1
    result = []
    for month in _months(start, end):
        month_end = local_midnight(next_month(month))
        still_open = Incident.objects.filter(occurred_at__lt=month_end).filter(
            Q(closed_at__isnull=True) | Q(closed_at__gte=month_end)
        )
        result.append(
            IncidentMonth(
                month=month,
                incidents=kinds[month][IncidentKind.INCIDENT],
                near_misses=kinds[month][IncidentKind.NEAR_MISS],
                by_severity={s.value: cells[month][s.value] for s in Severity},
                open_at_month_end=still_open.count(),
            )
        )
    return result


@dataclass(frozen=True)
class ComplaintMonth:
    month: date
    complaints: int
    compliments: int
    #: Complaints resolved in the month, and how long they took (calendar days, median).
    resolved: int
    median_resolution_days: float | None
    resolved_late: int
    #: Complaints open and past their deadline at the end of the month (or today, if sooner).
    overdue_open: int


def complaints_by_month(
    *, start: date, end: date, today: date | None = None
) -> list[ComplaintMonth]:
    today = today or timezone.localdate()
    lo, hi = month_start(start), next_month(month_start(end))
    received: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for received_on, kind in Feedback.objects.filter(
        received_on__gte=lo, received_on__lt=hi
    ).values_list("received_on", "kind"):
        received[month_start(received_on)][kind] += 1
    resolved: dict[date, list[tuple[date, date, date | None]]] = defaultdict(list)
    for received_on, resolved_on, due in Feedback.objects.filter(
        kind=FeedbackKind.COMPLAINT,
        status=FeedbackStatus.RESOLVED,
        resolved_on__gte=lo,
        resolved_on__lt=hi,
    ).values_list("received_on", "resolved_on", "response_due_on"):
        if resolved_on is not None:
            resolved[month_start(resolved_on)].append((received_on, resolved_on, due))
    result = []
    for month in _months(start, end):
        cut = min(next_month(month) - timedelta(days=1), today)
        overdue = Feedback.objects.filter(
            kind=FeedbackKind.COMPLAINT, response_due_on__lt=cut, received_on__lte=cut
        ).filter(Q(status=FeedbackStatus.OPEN) | Q(resolved_on__gt=cut))
        done = resolved[month]
        result.append(
            ComplaintMonth(
                month=month,
                complaints=received[month][FeedbackKind.COMPLAINT],
                compliments=received[month][FeedbackKind.COMPLIMENT],
                resolved=len(done),
                median_resolution_days=median_days((a, b) for a, b, _ in done),
                resolved_late=sum(1 for _, b, due in done if due is not None and b > due),
                overdue_open=overdue.count(),
            )
        )
    return result


@dataclass(frozen=True)
class SatisfactionMonth:
    month: date
    responses: int
    mean_overall: float | None
    #: Net Promoter Score (-100 to 100) of the responses that answered "recommend".
    nps: float | None
    promoters: int
    passives: int
    detractors: int
    mean_wait_time: float | None
    mean_staff_courtesy: float | None
    mean_explanation: float | None


def _mean(values: list[int]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def satisfaction_by_month(
    *, start: date, end: date, site: Any = None, modality: str | None = None
) -> list[SatisfactionMonth]:
    rows = SatisfactionResponse.objects.filter(
        survey_date__gte=month_start(start), survey_date__lt=next_month(month_start(end))
    )
    if site is not None:
        rows = rows.filter(site=site)
    if modality:
        rows = rows.filter(modality=modality)
    columns: dict[date, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for survey_date, *values in rows.values_list(
        "survey_date", "overall", "recommend", "wait_time", "staff_courtesy", "explanation"
    ):
        cell = columns[month_start(survey_date)]
        for name, value in zip(
            ("overall", "recommend", "wait_time", "staff_courtesy", "explanation"),
            values,
            strict=True,
        ):
            if value is not None:
                cell[name].append(value)
    result = []
    for month in _months(start, end):
        cell = columns[month]
        score = nps(cell["recommend"])
        result.append(
            SatisfactionMonth(
                month=month,
                responses=len(cell["overall"]),
                mean_overall=_mean(cell["overall"]),
                nps=score.score,
                promoters=score.promoters,
                passives=score.passives,
                detractors=score.detractors,
                mean_wait_time=_mean(cell["wait_time"]),
                mean_staff_courtesy=_mean(cell["staff_courtesy"]),
                mean_explanation=_mean(cell["explanation"]),
            )
        )
    return result


@dataclass(frozen=True)
class RequestsMonth:
    month: date
    requests: int
    met: int
    unmet: int
    pending: int = 0

    @property
    def met_rate(self) -> float | None:
        decided = self.met + self.unmet
        return round(100 * self.met / decided, 1) if decided else None


def interpreter_by_month(*, start: date, end: date) -> list[RequestsMonth]:
    """Exams performed for patients who need an interpreter, by the month they began: met when
    intake logged the interpreter present, unmet when the exam went ahead without one."""
    lo, hi = _month_range(start, end)
    cells: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for month, needed, met in _interpreter_counts(lo, hi, KpiFilters(), by_month=True):
        cells[month_start(month)][0] += met
        cells[month_start(month)][1] += needed - met
    return [
        RequestsMonth(
            month=month,
            requests=sum(cells[month]),
            met=cells[month][0],
            unmet=cells[month][1],
        )
        for month in _months(start, end)
    ]


def interpreter_unmet_exams(*, start: date, end: date) -> QuerySet[Exam]:
    """The exams behind the unmet count (the caller audits the patient read)."""
    lo, hi = _day_range(start, end)
    return (
        _interpreter_needed(lo, hi)
        .filter(interpreter__isnull=True)
        .select_related("order__patient", "order__exam_type", "room__site", "technologist")
        .order_by("-in_progress_at")
    )


def accessibility_by_month(*, start: date, end: date) -> list[RequestsMonth]:
    """Accessibility requests by the month they were needed in (cancelled ones left out)."""
    cells: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for needed_on, status in (
        AccessibilityRequest.objects.filter(
            needed_on__gte=month_start(start), needed_on__lt=next_month(month_start(end))
        )
        .exclude(status=RequestStatus.CANCELLED)
        .values_list("needed_on", "status")
    ):
        cells[month_start(needed_on)][status] += 1
    return [
        RequestsMonth(
            month=month,
            requests=sum(cells[month].values()),
            met=cells[month][RequestStatus.MET],
            unmet=cells[month][RequestStatus.UNMET],
            pending=cells[month][RequestStatus.PENDING],
        )
        for month in _months(start, end)
    ]


@dataclass(frozen=True)
class DocumentationMonth:
    month: date
    performed: int
    with_findings: int
    #: (gap code, label, exams missing it).
    by_gap: list[tuple[str, str, int]] = field(default_factory=list)


def documentation_findings_by_month(
    *, start: date, end: date, now: datetime | None = None
) -> list[DocumentationMonth]:
    """The documentation audit (``radflow.exams``) per month performed: exams with a finding."""
    result = []
    for month in _months(start, end):
        last = next_month(month) - timedelta(days=1)
        performed = performed_exams(since=month, until=last)
        counts = documentation_gap_counts(performed, now=now)
        result.append(
            DocumentationMonth(
                month=month,
                performed=performed.count(),
                with_findings=documentation_gaps(performed, now=now).count(),
                by_gap=counts.by_gap,
            )
        )
    return result


# --- open work -----------------------------------------------------------------------------------


def overdue_actions(*, today: date | None = None) -> QuerySet[CorrectiveAction]:
    """Open CAPA lines past their due date, most overdue first."""
    today = today or timezone.localdate()
    return (
        CorrectiveAction.objects.filter(status=ActionStatus.OPEN, due_on__lt=today)
        .select_related("incident", "owner")
        .order_by("due_on")
    )


def overdue_complaints(*, today: date | None = None) -> QuerySet[Feedback]:
    """Open complaints past their response deadline, most overdue first."""
    today = today or timezone.localdate()
    return (
        Feedback.objects.filter(
            kind=FeedbackKind.COMPLAINT, status=FeedbackStatus.OPEN, response_due_on__lt=today
        )
        .select_related("owner", "site")
        .order_by("response_due_on", "number")
    )


def open_follow_ups() -> QuerySet[DiscrepancyFollowUp]:
    return (
        DiscrepancyFollowUp.objects.exclude(status=FollowUpStatus.CLOSED)
        .select_related("review__exam__order__exam_type", "review__reader", "owner")
        .order_by("due_on")
    )


@dataclass(frozen=True)
class QualitySummary:
    """One month of the quality program, for the monthly report pack."""

    month: date
    audits: AuditMonth
    peer_review: PeerReviewMonth
    incidents: IncidentMonth
    complaints: ComplaintMonth
    satisfaction: SatisfactionMonth
    interpreter: RequestsMonth
    accessibility: RequestsMonth
    overdue_actions: int
    open_follow_ups: int
    qa_by_person: list[PersonMonthScore]


def quality_month_summary(*, month: date, today: date | None = None) -> QualitySummary:
    from radflow.quality.services import quality_settings

    month = month_start(month)
    today = today or timezone.localdate()
    cut = min(next_month(month), today)
    return QualitySummary(
        month=month,
        audits=audits_by_month(
            start=month, end=month, pass_mark=quality_settings().audit_pass_mark
        )[0],
        peer_review=peer_review_by_month(start=month, end=month)[0],
        incidents=incidents_by_month(start=month, end=month)[0],
        complaints=complaints_by_month(start=month, end=month, today=today)[0],
        satisfaction=satisfaction_by_month(start=month, end=month)[0],
        interpreter=interpreter_by_month(start=month, end=month)[0],
        accessibility=accessibility_by_month(start=month, end=month)[0],
        overdue_actions=CorrectiveAction.objects.filter(due_on__lt=cut)
        .filter(Q(status=ActionStatus.OPEN) | Q(completed_on__gte=cut))
        .count(),
        open_follow_ups=DiscrepancyFollowUp.objects.filter(opened_at__lt=local_midnight(cut))
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gte=local_midnight(cut)))
        .count(),
        qa_by_person=qa_scores_by_person_month(start=month, end=month),
    )
