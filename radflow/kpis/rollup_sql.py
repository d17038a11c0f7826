"""The rollup rebuild as set-based SQL, for PostgreSQL: the same counting rules as
``radflow.core.kpis.rollup`` written as one INSERT ... SELECT per table.

A rebuild of years of history streams millions of exams through Python otherwise; here the
database does it in a few statements. The rules are kept in step with the Python ones by a test
that builds the same days both ways and compares the rows (``tests/kpis/test_rollup_sql.py``),
and the benchmark checks the answers against the raw exams.

Every event of an exam becomes rows of a long table: a count field and its amount, or a histogram
measure and its bucket. They are added up by (day, dimensions, field, measure, bucket), pivoted
into the count columns and folded into the ``hist`` JSON by (day, dimensions). The coarse table
and the reasons are added up from there the same way.
"""

# ruff: noqa: S608 -- table and column names come from model _meta and module constants; every
# value is a query parameter.
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db import connection

from radflow.core.kpis.rollup import COUNT_FIELDS, HIST_FIELDS, KEY_FIELDS, DocRules
from radflow.kpis.models import KpiDaily, KpiDailySite, KpiReasonDaily

_DIMS = ", ".join(KEY_FIELDS)


def _t(model: Any) -> str:
    return str(connection.ops.quote_name(model._meta.db_table))


def _facts_sql(span: bool) -> str:
    """One row per exam with what the rules read (``%(...)s`` parameters)."""
    from radflow.billing.models import Charge
    from radflow.catalog.models import ExamType
    from radflow.exams.models import Exam
    from radflow.intake.models import Consent
    from radflow.kpis.models import ProcedureRvu
    from radflow.orders.models import Order
    from radflow.scheduling.models import Room

    stamps = [
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
    ]
    where = ""
    if span:
        where = "WHERE " + " OR ".join(f"(e.{s} >= %(lo)s AND e.{s} < %(hi)s)" for s in stamps)
    through = _t(ExamType.procedure_codes.through)
    return f"""
    rvu AS (
        SELECT p.examtype_id, SUM((r.rvu * 1000)::bigint) AS milli
        FROM {through} p JOIN {_t(ProcedureRvu)} r ON r.code = p.procedurecode_id
        GROUP BY p.examtype_id
    ),
    f AS (
        SELECT e.id, COALESCE(rm.site_id, o.site_id) AS site, e.room_id AS room,
            COALESCE(et.modality_id, '') AS modality, o.exam_type_id AS exam_type,
            COALESCE(o.patient_class, '') AS patient_class, COALESCE(o.priority, '') AS priority,
            o.payer_id AS payer, e.technologist_id AS performer,
            CASE WHEN btrim(o.ordering_provider_npi) <> '' THEN btrim(o.ordering_provider_npi)
                 ELSE left(btrim(regexp_replace(o.ordering_provider, '\\s+', ' ', 'g')), 120)
            END AS referrer,
            {", ".join("e." + s for s in stamps)}, o.sla_due_at, e.reason_code, e.state,
            e.images_count, et.consent_required,
            EXISTS (SELECT 1 FROM {_t(Charge)} c WHERE c.exam_id = e.id) AS has_charge,
            EXISTS (SELECT 1 FROM {_t(Consent)} c WHERE c.exam_id = e.id) AS has_consent,
            COALESCE(rvu.milli, 0) AS rvu_milli
        FROM {_t(Exam)} e
        JOIN {_t(Order)} o ON o.id = e.order_id
        JOIN {_t(ExamType)} et ON et.id = o.exam_type_id
        LEFT JOIN {_t(Room)} rm ON rm.id = e.room_id
        LEFT JOIN rvu ON rvu.examtype_id = o.exam_type_id
        {where}
    )"""


def _day(column: str) -> str:
    return f"({column} AT TIME ZONE %(tz)s)::date"


def _secs(later: str, earlier: str) -> str:
    return f"GREATEST(0, floor(extract(epoch FROM ({later} - {earlier}))))::bigint"


def _bucket(seconds: str) -> str:
    """``radflow.core.kpis.stats.bucket_of`` in SQL (numeric logarithms: exact at powers of 2)."""
    minutes = f"(({seconds})::numeric / 60)"
    return (
        f"CASE WHEN {minutes} < 60 THEN floor({minutes})::int "
        f"ELSE 60 + floor(12 * log(2::numeric, {minutes} / 60))::int END"
    )


def _events_sql() -> str:
    """Every count and histogram event of the facts ``f`` (the rules of the Python module)."""
    d = _DIMS
    parts = [
        f"SELECT {_day('requested_at')} AS day, {d}, 'orders' AS field, 1::bigint AS amount, "
        "NULL::text AS measure, NULL::int AS bucket FROM f",
    ]

    def observe(measure: str, later: str, earlier: str, when: str, condition: str) -> None:
        count_field, sum_field = HIST_FIELDS[measure]
        secs = _secs(later, earlier)
        parts.append(
            f"SELECT {_day(when)}, {d}, x.field, x.amount, x.measure, x.bucket FROM f "
            f"CROSS JOIN LATERAL (VALUES ('{count_field}', 1::bigint, NULL::text, NULL::int), "
            f"('{sum_field}', {secs}, NULL, NULL), (NULL, 1, '{measure}', {_bucket(secs)})) "
            f"AS x(field, amount, measure, bucket) WHERE {condition}"
        )

    observe("sched", "scheduled_at", "requested_at", "scheduled_at", "scheduled_at IS NOT NULL")
    observe(
        "access", "in_progress_at", "requested_at", "in_progress_at", "in_progress_at IS NOT NULL"
    )
    observe(
        "wait",
        "in_progress_at",
        "arrived_at",
        "in_progress_at",
        "in_progress_at IS NOT NULL AND arrived_at IS NOT NULL",
    )
    observe(
        "duration",
        "completed_at",
        "in_progress_at",
        "in_progress_at",
        "in_progress_at IS NOT NULL AND completed_at IS NOT NULL",
    )
    observe(
        "report",
        "reported_at",
        "completed_at",
        "reported_at",
        "reported_at IS NOT NULL AND completed_at IS NOT NULL",
    )
    observe(
        "sign",
        "signed_at",
        "reported_at",
        "signed_at",
        "signed_at IS NOT NULL AND reported_at IS NOT NULL",
    )
    begun = _day("in_progress_at")
    parts += [
        # STAT and urgent clocks, on the day the exam began
        f"SELECT {begun}, {d}, x.field, x.amount, NULL, NULL FROM f CROSS JOIN LATERAL "
        "(VALUES (priority || '_n', 1::bigint), "
        "(priority || '_met', (in_progress_at <= sla_due_at)::int::bigint)) AS x(field, amount) "
        "WHERE in_progress_at IS NOT NULL AND priority IN ('stat', 'urgent') "
        "AND sla_due_at IS NOT NULL",
        f"SELECT {begun}, {d}, 'rvu_milli', rvu_milli, NULL, NULL FROM f "
        "WHERE in_progress_at IS NOT NULL AND completed_at IS NOT NULL AND rvu_milli <> 0",
        f"SELECT {begun}, {d}, 'discontinued', 1, NULL, NULL FROM f WHERE in_progress_at IS NOT "
        "NULL AND completed_at IS NULL AND discontinued_at IS NOT NULL",
        # scanned time split at local midnights
        f"SELECT s.day, {d}, 'scanned_s', s.secs, NULL, NULL FROM f CROSS JOIN LATERAL ("
        "SELECT g::date AS day, floor(extract(epoch FROM (LEAST(COALESCE(completed_at, "
        "discontinued_at), ((g::date + 1)::timestamp AT TIME ZONE %(tz)s)) - GREATEST("
        "in_progress_at, (g::date::timestamp AT TIME ZONE %(tz)s)))))::bigint AS secs "
        f"FROM generate_series({begun}, {_day('COALESCE(completed_at, discontinued_at)')}, "
        "interval '1 day') AS g) AS s WHERE in_progress_at IS NOT NULL AND COALESCE("
        "completed_at, discontinued_at) IS NOT NULL AND s.secs > 0",
        # appointments, on the appointment's day, once the outcome is known
        f"SELECT {_day('scheduled_start')}, {d}, x.field, 1, NULL, NULL FROM f CROSS JOIN "
        "LATERAL (SELECT unnest(CASE "
        "WHEN no_show_at IS NOT NULL THEN ARRAY['appt_due', 'no_show'] "
        "WHEN cancelled_at IS NOT NULL AND arrived_at IS NOT NULL THEN "
        "ARRAY['appt_due', 'same_day_cancel', 'cancel_after_arrival'] "
        f"WHEN cancelled_at IS NOT NULL AND {_day('cancelled_at')} >= {_day('scheduled_start')} "
        "THEN ARRAY['appt_due', 'same_day_cancel'] "
        "WHEN cancelled_at IS NULL AND arrived_at IS NOT NULL AND completed_at IS NOT NULL "
        "THEN ARRAY['appt_due', 'appt_completed'] "
        "WHEN cancelled_at IS NULL AND arrived_at IS NOT NULL THEN ARRAY['appt_due'] "
        "END) AS field) AS x WHERE scheduled_start IS NOT NULL",
        # the documentation audit at the time of counting
        f"SELECT {begun}, {d}, x.field, 1, NULL, NULL FROM f CROSS JOIN LATERAL (SELECT "
        "unnest(CASE WHEN (state = 'completed' AND completed_at < %(report_before)s) "
        "OR (state = 'reported' AND reported_at < %(sign_before)s) "
        "OR (state = 'signed' AND signed_at < %(bill_before)s) OR images_count = 0 "
        "OR (state = 'billed' AND NOT has_charge) OR (consent_required AND NOT has_consent) "
        "THEN ARRAY['performed', 'doc_gap'] ELSE ARRAY['performed'] END) AS field) AS x "
        "WHERE in_progress_at IS NOT NULL AND state IN ('completed', 'reported', 'signed', "
        "'billed')",
    ]
    return " UNION ALL ".join(f"({p})" for p in parts)


def _overrides_sql() -> str:
    from radflow.exams.models import Override

    return (
        f"SELECT ({_day('ov.at')}) AS day, {', '.join('f.' + k for k in KEY_FIELDS)}, "
        f"'overrides' AS field, 1::bigint AS amount, NULL::text AS measure, NULL::int AS bucket "
        f"FROM f JOIN {_t(Override)} ov ON ov.exam_id = f.id"
    )


def _insert_cube(table: str, dims: str, source: str) -> str:
    """Pivot the summed events of ``source`` into the count columns and the ``hist`` JSON."""
    pivot_outer = ", ".join(f"SUM({name})" for name in COUNT_FIELDS)
    aliased = ", ".join(
        f"COALESCE(SUM(a) FILTER (WHERE field = '{name}'), 0) AS {name}" for name in COUNT_FIELDS
    )
    return f"""
    INSERT INTO {table} (day, {dims}, {", ".join(COUNT_FIELDS)}, hist)
    SELECT day, {dims}, {pivot_outer},
        COALESCE(jsonb_object_agg(measure, buckets) FILTER (WHERE measure IS NOT NULL), '{{}}')
    FROM (
        SELECT day, {dims}, measure, {aliased},
            jsonb_object_agg(bucket::text, a) FILTER (WHERE measure IS NOT NULL) AS buckets
        FROM ({source}) AS l1
        GROUP BY day, {dims}, measure
    ) AS l2
    GROUP BY day, {dims}"""


def rebuild(
    *,
    first: date,
    last: date,
    rules: DocRules,
    zone: str,
    span: tuple[datetime, datetime] | None,
) -> None:
    """Insert the rows of ``[first, last]`` into the fine, coarse and reason tables (emptied by
    the caller); ``span`` limits the exams read to those with a timestamp in it."""
    from datetime import timedelta

    params: dict[str, Any] = {
        "tz": zone,
        "first": first,
        "last": last,
        "report_before": rules.now - timedelta(hours=rules.report_hours),
        "sign_before": rules.now - timedelta(hours=rules.sign_hours),
        "bill_before": rules.now - timedelta(days=rules.bill_days),
    }
    if span is not None:
        params["lo"], params["hi"] = span
    events = f"{_events_sql()} UNION ALL ({_overrides_sql()})"
    summed = (
        f"SELECT day, {_DIMS}, field, measure, bucket, SUM(amount) AS a FROM ({events}) AS ev "
        f"WHERE day >= %(first)s AND day <= %(last)s "
        f"GROUP BY day, {_DIMS}, field, measure, bucket"
    )
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS kpi_rebuild_l1")
        cursor.execute(
            f"CREATE TEMP TABLE kpi_rebuild_l1 AS WITH {_facts_sql(span is not None)} {summed}",
            params,
        )
        cursor.execute(_insert_cube(_t(KpiDaily), _DIMS, "SELECT * FROM kpi_rebuild_l1"))
        coarse = (
            "SELECT day, site, modality, field, measure, bucket, SUM(a) AS a FROM kpi_rebuild_l1 "
            "GROUP BY day, site, modality, field, measure, bucket"
        )
        cursor.execute(_insert_cube(_t(KpiDailySite), "site, modality", coarse))
        reasons = f"""
            INSERT INTO {_t(KpiReasonDaily)} (day, {_DIMS}, kind, reason_code, n)
            SELECT day, {_DIMS}, kind, reason_code, COUNT(*) FROM (
                SELECT {_day("scheduled_start")} AS day, {_DIMS},
                    CASE WHEN no_show_at IS NOT NULL THEN 'no_show' ELSE 'cancel' END AS kind,
                    COALESCE(reason_code, '') AS reason_code
                FROM f
                WHERE scheduled_start IS NOT NULL AND (no_show_at IS NOT NULL OR (
                    cancelled_at IS NOT NULL AND (arrived_at IS NOT NULL
                    OR {_day("cancelled_at")} >= {_day("scheduled_start")})))
            ) AS r
            WHERE day BETWEEN %(first)s AND %(last)s
            GROUP BY day, {_DIMS}, kind, reason_code"""
        cursor.execute(f"WITH {_facts_sql(span is not None)} {reasons}", params)
        cursor.execute("DROP TABLE kpi_rebuild_l1")
