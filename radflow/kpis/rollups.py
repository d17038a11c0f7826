"""Building the daily rollups from the exams: full rebuilds, dirty-day refreshes, the writer.

The counting rules are ``radflow.core.kpis.rollup`` (plain Python, tested alone); this module
reads exams as ``ExamFact`` tuples, feeds them through those rules and replaces the rows of the
days concerned in one transaction. A rebuild of a range streams every exam touching it; a refresh
(the worker's job after exam changes) finds the exams of a few dirty days through indexed
queries. Rows are written with COPY on PostgreSQL and ``executemany`` on SQLite.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast
from uuid import UUID
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Exists, OuterRef, Q

from radflow.billing.models import Charge
from radflow.catalog.models import ExamType
from radflow.core.exam_states import ExamAction, ExamState
from radflow.core.kpis.rollup import (
    COUNT_FIELDS,
    KEY_FIELDS,
    SITE_KEY_FIELDS,
    Accumulator,
    DocRules,
    ExamFact,
    LocalCalendar,
    Row,
)
from radflow.exams.models import Exam, ExamTransition, Override
from radflow.intake.models import Consent
from radflow.kpis.models import (
    KpiDaily,
    KpiDailySite,
    KpiDirtyDay,
    KpiHistMonth,
    KpiReasonDaily,
    ProcedureRvu,
)

logger = logging.getLogger("radflow.kpis")

#: Timestamps that place an exam's events on days.
STAMPS = (
    "requested_at",
    "scheduled_at",
    "scheduled_start",
    "arrived_at",
    "in_progress_at",
    "completed_at",
    "discontinued_at",
    "reported_at",
    "signed_at",
    "cancelled_at",
    "no_show_at",
)
#: A scan longer than this is not looked for when one day is refreshed (a full rebuild finds it).
LONGEST_SCAN = timedelta(days=2)

_FACT_FIELDS = (
    "pk",
    "room__site_id",
    "order__site_id",
    "room_id",
    "order__exam_type__modality_id",
    "order__exam_type_id",
    "order__patient_class",
    "order__priority",
    "order__payer_id",
    "technologist_id",
    "order__ordering_provider_npi",
    "order__ordering_provider",
    *STAMPS,
    "order__sla_due_at",
    "reason_code",
    "state",
    "images_count",
    "has_charge",
    "has_consent",
    "order__exam_type__consent_required",
)


def department_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def calendar() -> LocalCalendar:
    return LocalCalendar(department_zone())


def doc_rules(now: datetime | None = None) -> DocRules:
    """The documentation audit's rules at ``now`` (the audit page's own defaults)."""
    from django.utils import timezone

    from radflow.exams.selectors import DEFAULT_RULES

    return DocRules(
        now=now or timezone.now(),
        report_hours=DEFAULT_RULES.report_hours,
        sign_hours=DEFAULT_RULES.sign_hours,
        bill_days=DEFAULT_RULES.bill_days,
    )


def referrer_key(npi: str, name: str) -> str:
    """How exams are grouped by referrer: the NPI when known, else the name as written."""
    return (npi or "").strip() or " ".join((name or "").split())[:120]


def rvu_by_exam_type() -> dict[Any, int]:
    """Thousandths of an RVU per exam type: the sum over its procedure codes."""
    rvu = dict(ProcedureRvu.objects.values_list("code", "rvu"))
    through = ExamType.procedure_codes.through
    result: dict[Any, int] = defaultdict(int)
    for exam_type_id, code in through.objects.values_list("examtype_id", "procedurecode_id"):
        result[exam_type_id] += int(Decimal(rvu.get(code, 0)) * 1000)
    return dict(result)


def facts(
    exams: models.QuerySet[Exam],
    *,
    overrides: dict[Any, tuple[datetime, ...]] | None = None,
    rvus: dict[Any, int] | None = None,
    chunk: int = 20000,
    ordered: bool = False,
) -> Iterator[ExamFact]:
    """``ExamFact`` for each exam of ``exams`` (streamed); ``overrides`` maps exam id to the
    override times (loaded for these exams when not given)."""
    rvus = rvu_by_exam_type() if rvus is None else rvus
    if overrides is None:
        overrides = overrides_of(exams)
    rows = (
        exams.order_by(*(["requested_at"] if ordered else []))
        .annotate(
            has_charge=Exists(Charge.objects.filter(exam=OuterRef("pk"))),
            has_consent=Exists(Consent.objects.filter(exam=OuterRef("pk"))),
        )
        .values_list(*_FACT_FIELDS)
    )
    for row in rows.iterator(chunk_size=chunk):
        (
            pk,
            room_site,
            order_site,
            room,
            modality,
            exam_type,
            patient_class,
            priority,
            payer,
            performer,
            npi,
            provider,
            requested,
            scheduled,
            start,
            arrived,
            begun,
            completed,
            discontinued,
            reported,
            signed,
            cancelled,
            no_show,
            due,
            reason,
            state,
            images,
            has_charge,
            has_consent,
            consent_required,
        ) = row
        yield ExamFact(
            key=(
                room_site or order_site,
                room,
                modality or "",
                exam_type,
                patient_class or "",
                priority or "",
                payer,
                performer,
                referrer_key(npi, provider),
            ),
            requested_at=requested,
            scheduled_at=scheduled,
            scheduled_start=start,
            arrived_at=arrived,
            in_progress_at=begun,
            completed_at=completed,
            discontinued_at=discontinued,
            reported_at=reported,
            signed_at=signed,
            cancelled_at=cancelled,
            no_show_at=no_show,
            sla_due_at=due,
            reason_code=reason or "",
            rvu_milli=rvus.get(exam_type, 0),
            overrides=overrides.get(pk, ()),
            state=state,
            images_count=images,
            has_charge=bool(has_charge),
            has_consent=bool(has_consent),
            consent_required=bool(consent_required),
        )


def overrides_of(exams: models.QuerySet[Exam]) -> dict[Any, tuple[datetime, ...]]:
    found: dict[Any, list[datetime]] = defaultdict(list)
    rows = Override.objects.filter(exam__in=exams.order_by().values("pk"))
    for exam_id, at in rows.values_list("exam_id", "at"):
        found[exam_id].append(at)
    return {pk: tuple(times) for pk, times in found.items()}


# --- writing --------------------------------------------------------------------------------


def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def delete_days(
    model: type[models.Model], days: Sequence[date] | None, span: tuple[date, date] | None
) -> None:
    """Delete a model's rows for some days, a span, or all (TRUNCATE on PostgreSQL)."""
    table = _table(model)
    with connection.cursor() as cursor:
        if days is None and span is None:
            if connection.vendor == "postgresql":
                cursor.execute(f"TRUNCATE {table}")
            else:
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608 (table from _meta)
        elif span is not None:
            cursor.execute(
                f"DELETE FROM {table} WHERE day >= %s AND day <= %s",  # noqa: S608
                [span[0], span[1]],
            )
        elif days:
            marks = ", ".join(["%s"] * len(days))
            cursor.execute(f"DELETE FROM {table} WHERE day IN ({marks})", list(days))  # noqa: S608


def db_uuid(value: Any) -> Any:
    if value is None:
        return None
    if connection.vendor == "sqlite":
        return value.hex if isinstance(value, UUID) else UUID(str(value)).hex
    return value


def db_date(value: date) -> Any:
    return value.isoformat() if connection.vendor == "sqlite" else value


def db_datetime(value: datetime) -> Any:
    """SQLite keeps naive UTC text, as Django's adapter writes it."""
    if connection.vendor != "sqlite":
        return value
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")


def write_rows(
    model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Insert plain rows (values already in database form) into ``model``'s table."""
    table = _table(model)
    fields = [cast("models.Field[Any, Any]", model._meta.get_field(c)) for c in columns]
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608
        batch: list[Sequence[Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= 2000:
                cursor.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            count += len(batch)
    return count


_UUID_DIMS = frozenset({"site", "room", "exam_type", "payer", "performer"})


def _hist_json(row: Row) -> str:
    return json.dumps(
        {m: {str(b): n for b, n in buckets.items()} for m, buckets in row.hist.items()},
        separators=(",", ":"),
    )


def _measure_rows(
    rows: dict[tuple[date, tuple[Any, ...]], Row], key_fields: Sequence[str]
) -> Iterator[list[Any]]:
    uuid_at = [i for i, name in enumerate(key_fields) if name in _UUID_DIMS]
    for (day, key), row in rows.items():
        dims = list(key)
        for i in uuid_at:
            dims[i] = db_uuid(dims[i])
        for i, name in enumerate(key_fields):
            if dims[i] is None and name not in _UUID_DIMS:
                dims[i] = ""
        counts = row.counts
        yield [db_date(day), *dims, *(counts.get(f, 0) for f in COUNT_FIELDS), _hist_json(row)]


def _reason_rows(acc: Accumulator) -> Iterator[list[Any]]:
    uuid_at = [i for i, name in enumerate(KEY_FIELDS) if name in _UUID_DIMS]
    for (day, key, kind, code), n in acc.reasons.items():
        dims = list(key)
        for i in uuid_at:
            dims[i] = db_uuid(dims[i])
        yield [db_date(day), *dims, kind, code, n]


@dataclass(frozen=True)
class WriteResult:
    fine: int
    site: int
    reasons: int

    def __add__(self, other: WriteResult) -> WriteResult:
        return WriteResult(
            self.fine + other.fine, self.site + other.site, self.reasons + other.reasons
        )


def write_accumulated(acc: Accumulator) -> WriteResult:
    fine_cols = ["day", *KEY_FIELDS, *COUNT_FIELDS, "hist"]
    site_cols = ["day", *SITE_KEY_FIELDS, *COUNT_FIELDS, "hist"]
    reason_cols = ["day", *KEY_FIELDS, "kind", "reason_code", "n"]
    return WriteResult(
        fine=write_rows(KpiDaily, fine_cols, _measure_rows(acc.rows, KEY_FIELDS)),
        site=write_rows(KpiDailySite, site_cols, _measure_rows(acc.site_rows(), SITE_KEY_FIELDS)),
        reasons=write_rows(KpiReasonDaily, reason_cols, _reason_rows(acc)),
    )


ROLLUP_MODELS: tuple[type[models.Model], ...] = (KpiDaily, KpiDailySite, KpiReasonDaily)


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def hist_months_rebuild(months: Iterable[date] | None = None) -> int:
    """Add up the coarse table's histograms of each month in ``months`` (all when None) into
    ``KpiHistMonth``, from the daily rows as they now stand."""
    table = _table(KpiHistMonth)
    rows = KpiDailySite.objects.exclude(hist={})
    with connection.cursor() as cursor:
        if months is None:
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 (table from _meta)
        else:
            wanted = sorted({month_of(m) for m in months})
            if not wanted:
                return 0
            marks = ", ".join(["%s"] * len(wanted))
            cursor.execute(
                f"DELETE FROM {table} WHERE month IN ({marks})",  # noqa: S608
                [db_date(m) for m in wanted],
            )
            span = Q()
            for month in wanted:
                span |= Q(day__gte=month, day__lt=next_month(month))
            rows = rows.filter(span)
    totals: dict[tuple[Any, ...], int] = defaultdict(int)
    for day, site, modality, hist in rows.values_list("day", "site", "modality", "hist").iterator():
        month = month_of(day)
        for measure, buckets in hist.items():
            for bucket, n in buckets.items():
                totals[(month, site, modality, measure, int(bucket))] += n
    columns = ["month", "site", "modality", "measure", "bucket", "n"]
    return write_rows(
        KpiHistMonth,
        columns,
        (
            [db_date(month), db_uuid(site), modality, measure, bucket, n]
            for (month, site, modality, measure, bucket), n in totals.items()
        ),
    )


# --- rebuilding -------------------------------------------------------------------------------


def _in_span(lo: datetime, hi: datetime) -> Q:
    """Exams with any timestamp in [lo, hi)."""
    q = Q()
    for name in STAMPS:
        q |= Q(**{f"{name}__gte": lo, f"{name}__lt": hi})
    return q


def history_span() -> tuple[date, date] | None:
    """The first and last day any exam has an event on (None without exams)."""
    cal = calendar()
    first = Exam.objects.order_by("requested_at").values_list("requested_at", flat=True).first()
    if first is None:
        return None
    lasts = [
        Exam.objects.aggregate(m=models.Max(name))["m"] for name in STAMPS if name != "requested_at"
    ]
    lasts.append(Exam.objects.aggregate(m=models.Max("requested_at"))["m"])
    last = max(value for value in lasts if value is not None)
    return cal.day_of(first), cal.day_of(last)


#: Exams between two writes of the completed days during a rebuild.
FLUSH_EVERY = 50_000


def _write_before(acc: Accumulator, cutoff: date | None) -> WriteResult:
    """Write and drop the accumulated rows of days before ``cutoff`` (all when None)."""
    done = Accumulator(acc.calendar, acc.first, acc.last, acc.rules)
    if cutoff is None:
        done.rows, done.reasons, acc.rows, acc.reasons = acc.rows, acc.reasons, {}, {}
    else:
        done.rows = {k: v for k, v in acc.rows.items() if k[0] < cutoff}
        done.reasons = {k: v for k, v in acc.reasons.items() if k[0] < cutoff}
        for k in done.rows:
            del acc.rows[k]
        for r in done.reasons:
            del acc.reasons[r]
    return write_accumulated(done)


@transaction.atomic
def rollups_rebuild(*, first: date | None = None, last: date | None = None) -> WriteResult:
    """Replace the rollup rows of ``[first, last]`` (every day when both are None)."""
    cal = calendar()
    everything = first is None and last is None
    span = history_span()
    if span is None:
        for model in ROLLUP_MODELS:
            delete_days(model, None, None if everything else (first or date.min, last or date.max))
        hist_months_rebuild(None)
        return WriteResult(0, 0, 0)
    first = first or span[0]
    last = last or span[1]
    exams = Exam.objects.all()
    lo = cal.midnight(first) - LONGEST_SCAN
    hi = cal.midnight(last + timedelta(days=1))
    if not everything:
        exams = exams.filter(_in_span(lo, hi))
    for model in ROLLUP_MODELS:
        delete_days(model, None, None if everything else (first, last))
    if use_sql():
        from radflow.kpis import rollup_sql

        rollup_sql.rebuild(
            first=first,
            last=last,
            rules=doc_rules(),
            zone=settings.TIME_ZONE,
            span=None if everything else (lo, hi),
        )
        span_q = Q(day__gte=first, day__lte=last)
        result = WriteResult(
            KpiDaily.objects.filter(span_q).count(),
            KpiDailySite.objects.filter(span_q).count(),
            KpiReasonDaily.objects.filter(span_q).count(),
        )
        return _finish(first, last, everything, result)
    overrides = overrides_of(exams) if not everything else _all_overrides()
    # Streamed in order of receipt: an exam counts on no day before its order was received, so
    # every day before the current order's is complete and is written out (memory stays at a
    # few weeks of rows, whatever the history).
    acc = Accumulator(cal, first, last, doc_rules())
    result = WriteResult(0, 0, 0)
    for n, fact in enumerate(facts(exams, overrides=overrides, ordered=True), 1):
        acc.add_exam(fact)
        if n % FLUSH_EVERY == 0:
            result = result + _write_before(acc, cal.day_of(fact.requested_at))
    result = result + _write_before(acc, None)
    return _finish(first, last, everything, result)


def _finish(first: date, last: date, everything: bool, result: WriteResult) -> WriteResult:
    hist_months_rebuild(None if everything else _months(first, last))
    KpiDirtyDay.objects.filter(day__gte=first, day__lte=last).delete()
    logger.info(
        "kpi rollups rebuilt %s..%s: %d fine, %d site rows", first, last, result.fine, result.site
    )
    return result


def use_sql() -> bool:
    """Rebuild ranges with set-based SQL on PostgreSQL (``KPI_REBUILD_SQL``, on by default);
    the Python rules are used on SQLite and for the few days of a refresh."""
    return connection.vendor == "postgresql" and bool(getattr(settings, "KPI_REBUILD_SQL", True))


def _months(first: date, last: date) -> list[date]:
    months, month = [], month_of(first)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


def _all_overrides() -> dict[Any, tuple[datetime, ...]]:
    found: dict[Any, list[datetime]] = defaultdict(list)
    for exam_id, at in Override.objects.values_list("exam_id", "at"):
        found[exam_id].append(at)
    return {pk: tuple(times) for pk, times in found.items()}


# --- refreshing dirty days ----------------------------------------------------------------------

_ALL_ACTIONS = [a.value for a in ExamAction]
_ALL_STATES = [s.value for s in ExamState]
_ENDED = [ExamAction.COMPLETE.value, ExamAction.DISCONTINUE.value]


def exams_touching(days: Sequence[date]) -> models.QuerySet[Exam]:
    """Exams with an event on any of ``days``, found through indexed columns: transitions by
    (action, time), orders by receipt, bookings by (state, start), plus scans still running or
    ending within ``LONGEST_SCAN`` after the day."""
    from radflow.orders.models import Order

    cal = calendar()
    ids: set[Any] = set()
    for day in days:
        lo, hi = cal.midnight(day), cal.midnight(day + timedelta(days=1))
        ids.update(
            ExamTransition.objects.filter(
                action__in=_ALL_ACTIONS, at__gte=lo, at__lt=hi
            ).values_list("exam_id", flat=True)
        )
        ids.update(
            ExamTransition.objects.filter(
                action__in=_ENDED, at__gte=hi, at__lt=hi + LONGEST_SCAN
            ).values_list("exam_id", flat=True)
        )
        ids.update(
            Exam.objects.filter(
                state__in=_ALL_STATES, scheduled_start__gte=lo, scheduled_start__lt=hi
            ).values_list("pk", flat=True)
        )
        ids.update(
            Order.objects.filter(
                is_complete__in=[True, False], received_at__gte=lo, received_at__lt=hi
            ).values_list("exam__pk", flat=True)
        )
        ids.update(Override.objects.filter(at__gte=lo, at__lt=hi).values_list("exam_id", flat=True))
    ids.update(Exam.objects.filter(state=ExamState.IN_PROGRESS).values_list("pk", flat=True))
    ids.discard(None)
    return Exam.objects.filter(pk__in=list(ids))


@transaction.atomic
def refresh_days(days: Sequence[date]) -> WriteResult:
    """Recompute the rollup rows of ``days`` only (each day whole)."""
    days = sorted(set(days))
    if not days:
        return WriteResult(0, 0, 0)
    cal = calendar()
    wanted = frozenset(days)
    acc = Accumulator(cal, days[0], days[-1], doc_rules())
    exams = exams_touching(days)
    for fact in facts(exams):
        acc.add_exam(fact)
    acc.rows = {k: v for k, v in acc.rows.items() if k[0] in wanted}
    acc.reasons = {k: v for k, v in acc.reasons.items() if k[0] in wanted}
    for model in ROLLUP_MODELS:
        delete_days(model, days, None)
    result = write_accumulated(acc)
    hist_months_rebuild({month_of(day) for day in days})
    return result


def rollups_refresh(*, limit: int = 62) -> int:
    """The worker's job: rebuild the days exam changes marked dirty (oldest first, ``limit`` per
    run); a day marked again while it was being rebuilt stays dirty for the next run."""
    marks = list(KpiDirtyDay.objects.order_by("day").values_list("day", "token")[:limit])
    if not marks:
        return 0
    refresh_days([day for day, _ in marks])
    with transaction.atomic():
        for day, token in marks:
            KpiDirtyDay.objects.filter(day=day, token=token).delete()
    return len(marks)


def documentation_flips_mark(*, now: datetime, since: datetime) -> int:
    """Mark the days of exams whose documentation gap appeared by the clock alone between
    ``since`` and ``now`` (a report now a day late, a signature a day late, a signed exam three
    days unbilled): no exam change marks those. Indexed by (state, time) where it matters."""
    from radflow.exams.selectors import DEFAULT_RULES

    rules = DEFAULT_RULES
    windows = [
        ("completed", "completed_at", timedelta(hours=rules.report_hours)),
        ("reported", "reported_at", timedelta(hours=rules.sign_hours)),
        ("signed", "signed_at", timedelta(days=rules.bill_days)),
    ]
    cal = calendar()
    days: set[date] = set()
    for state, field, delay in windows:
        begun = Exam.objects.filter(
            state=state, **{f"{field}__gt": since - delay, f"{field}__lte": now - delay}
        ).values_list("in_progress_at", flat=True)
        days.update(cal.day_of(at) for at in begun if at is not None)
    mark_dirty(days)
    return len(days)


def mark_dirty(days: Iterable[date]) -> None:
    """Mark days stale (a new token each time, so a rebuild in flight does not clear it)."""
    import uuid

    rows = [KpiDirtyDay(day=day, token=uuid.uuid4()) for day in set(days)]
    if rows:
        KpiDirtyDay.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["day"], update_fields=["token"]
        )
