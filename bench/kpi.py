"""KPI benchmark (issue 9): the director's KPI set from the rollups against the naive aggregate.

For each database (PostgreSQL ``kpi_bench``, created and dropped here, never another database;
SQLite in a throw-away file):

1. Generate a department of ``--sites`` sites and ``--exams`` exams over ``--years`` years ending
   today (PostgreSQL 5,000,000 and SQLite 500,000 by default): rooms sized for about 20 exams a
   room-day, staff with standard hours, payers, referrers, patients, orders and exams with
   believable timelines and outcomes (no-shows, same-day and advance cancellations,
   discontinuations, STAT/urgent clocks), 1 % overrides, the next four weeks booked. Rows go in
   with COPY on PostgreSQL (``executemany`` on SQLite); timed.
2. Build the rollups exactly as ``radflow kpi rebuild`` does (the exams streamed through the
   counting rules, rows written with COPY), the room and staff calendars' open and worked time,
   and a third-next-available snapshot per day; timed.
3. Time, in one run, on a warm connection: the director dashboard's full KPI set for the last 12
   months (``kpi_values`` + ``kpi_trends`` by month of ``DIRECTOR_SET``: the tiles and the
   trend lines), with a site filter too; the director, coordinator and modality dashboard pages
   (p50/p95 server time, target 300 ms p95); one drill-down (last month's no-shows: count and first
   page); the monthly report pack (``radflow report monthly``) when it exists (skipped with a
   message otherwise); a one-day incremental refresh (the worker's job after exam changes); and
   next to them the same KPI set computed straight from the exams table (``radflow.kpis.raw``:
   the naive baseline). The rollup and raw answers are compared (they must agree).

Target (issue 9): the KPI set in 2 s or less on 5M exams. The machine is shared: load averages
are recorded.

    .venv/bin/python bench/kpi.py                                     # both databases, full size
    .venv/bin/python bench/kpi.py --database sqlite --exams 100000
    .venv/bin/python bench/kpi.py --database postgresql --exams 500000 --keep

Prints one JSON document and writes it to ``--out`` (bench/results/kpi.json).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_OUT = ROOT / "bench" / "results" / "kpi.json"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
#: The database this benchmark creates and drops (``--pg-name``; never another one).
PG_NAME = "kpi_bench"
SQLITE_PATH = ROOT / "var" / "kpi_bench.sqlite3"
TARGET_S = 2.0
CHUNK = 100_000

#: Share of rooms (and exams) per modality.
MODALITY_MIX = {"US": 0.40, "DX": 0.25, "CT": 0.15, "MR": 0.10, "MG": 0.10}
EXAMS_PER_ROOM_DAY = 20
WEEKEND_SHARE = 0.25


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def log(message: str) -> None:
    sys.stderr.write(f"[kpi-bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


# --- databases ------------------------------------------------------------------------------------


def pg_recreate(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


def pg_drop(name: str) -> None:
    import psycopg

    with contextlib.suppress(Exception), psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def child(database: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one database's benchmark in its own process (Django binds one database per process)."""
    env = dict(os.environ, RADFLOW_TESTING="1", DJANGO_SETTINGS_MODULE="radflow.settings")
    if database == "postgresql":
        if not args.reuse:
            pg_recreate(args.pg_name)
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.pg_name}"
        exams = args.exams or 5_000_000
    else:
        SQLITE_PATH.parent.mkdir(exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            if not args.reuse:
                Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
        env["DATABASE_URL"] = f"sqlite:///{SQLITE_PATH}"
        exams = args.exams_sqlite or (args.exams // 10 if args.exams else 500_000)
    command = [
        sys.executable,
        __file__,
        "--child",
        database,
        "--exams",
        str(exams),
        "--years",
        str(args.years),
        "--sites",
        str(args.sites),
        "--seed",
        str(args.seed),
        "--repeat",
        str(args.repeat),
    ]
    if args.skip_naive:
        command.append("--skip-naive")
    if args.reuse:
        command.append("--reuse")
    try:
        done = subprocess.run(  # noqa: S603 (this script, our arguments)
            command, env=env, stdout=subprocess.PIPE, text=True, check=False
        )
        if done.returncode != 0:
            return {"database": database, "error": f"exit status {done.returncode} (see stderr)"}
        result: dict[str, Any] = json.loads(done.stdout)
        return result
    finally:
        if not args.keep:
            if database == "postgresql":
                pg_drop(args.pg_name)
            else:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)


# --- generating the department ------------------------------------------------------------------


def uuid7(rng: random.Random, at: datetime) -> uuid.UUID:
    """Time-ordered keys (RFC 9562 v7): rows in time order grow their indexes at the end."""
    ms = int(at.timestamp() * 1000)
    return uuid.UUID(
        int=(ms << 80)
        | (0x7 << 76)
        | (rng.getrandbits(12) << 64)
        | (0b10 << 62)
        | rng.getrandbits(62)
    )


class Department:
    """The generated department's rows that exams point at."""

    def __init__(self) -> None:
        self.sites: list[Any] = []
        self.rooms: list[Any] = []
        self.rooms_by_modality: dict[str, list[Any]] = {}
        self.staff_by_room: dict[Any, list[Any]] = {}
        self.exam_types: dict[str, list[Any]] = {}
        self.payers: list[Any] = []
        self.referrers: list[tuple[str, str]] = []
        self.patients: list[Any] = []
        self.user: Any = None


def build_department(rng: random.Random, sites: int, rooms_total: int, exams: int) -> Department:
    from django.contrib.auth.models import User

    from radflow.billing.models import Payer, PayerType
    from radflow.catalog.models import ExamType
    from radflow.exams.demo import Table
    from radflow.patients.models import Patient
    from radflow.scheduling.models import (
        Department as Dept,
    )
    from radflow.scheduling.models import (
        Modality,
        Room,
        RoomOpeningHours,
        Site,
        StaffWorkingHours,
    )
    from radflow.staff.models import JobRole, StaffMember

    dept = Department()
    dept.user = User.objects.create(username="kpi-bench", is_superuser=True)
    for n in range(sites):
        site = Site.objects.create(name=f"Bench site {n + 1}", code=f"B{n + 1}")
        Dept.objects.create(name=f"Imaging {n + 1}", site=site)
        dept.sites.append(site)
    modalities = {m.code: m for m in Modality.objects.all()}
    for code, share in MODALITY_MIX.items():
        count = max(sites, round(rooms_total * share))
        dept.rooms_by_modality[code] = []
        for n in range(count):
            site = dept.sites[n % sites]
            room = Room.objects.create(
                site=site,
                name=f"{code} room {n + 1}",
                code=f"{code}-{n + 1:03d}",
                modality=modalities[code],
            )
            RoomOpeningHours.objects.bulk_create(
                [
                    RoomOpeningHours(room=room, weekday=d, opens=dtime(7), closes=dtime(19))
                    for d in range(5)
                ]
                + [
                    RoomOpeningHours(room=room, weekday=d, opens=dtime(8), closes=dtime(14))
                    for d in (5, 6)
                ]
            )
            dept.rooms.append(room)
            dept.rooms_by_modality[code].append(room)
            people = []
            for k in range(2):  # two performers per room (shifts), standard hours
                member = StaffMember.objects.create(
                    employee_number=f"K{len(dept.rooms):04d}{k}",
                    family_name=f"Staff{k}",
                    given_name=room.code,
                    job_role=JobRole.SONOGRAPHER if code == "US" else JobRole.TECHNOLOGIST,
                    home_site=site,
                )
                member.modalities.set([modalities[code]])
                StaffWorkingHours.objects.bulk_create(
                    StaffWorkingHours(
                        staff=member, weekday=d, starts=dtime(7 + 4 * k), ends=dtime(15 + 4 * k)
                    )
                    for d in range(5)
                )
                people.append(member.pk)
            dept.staff_by_room[room.pk] = people
    for code in MODALITY_MIX:
        dept.exam_types[code] = [
            (t.pk, t.default_duration_min)
            for t in ExamType.objects.filter(modality_id=code, active=True)
        ]
    kinds = list(PayerType.values)
    for n in range(12):
        dept.payers.append(
            Payer.objects.create(
                name=f"Bench payer {n + 1}",
                payer_type=kinds[n % len(kinds)],
                payer_code=f"BP{n + 1:02d}",
            ).pk
        )
    dept.referrers = [(f"{1000000000 + n * 7919:010d}", f"Dr. Referrer {n}") for n in range(2000)]
    patients = Table(Patient)
    now = datetime.now(UTC)
    count = max(1000, exams // 10)
    for n in range(count):
        pk = uuid.UUID(int=rng.getrandbits(128), version=4)
        patients.add(
            id=pk,
            created_at=now,
            updated_at=now,
            mrn=f"KB{n:08d}",
            mrn_authority="BENCH",
            family_name=f"Family{n % 5000}",
            given_name=f"Given{n % 700}",
            name_key=f"family{n}",
            birth_date=date(1940 + n % 70, 1 + n % 12, 1 + n % 28),
            sex="FM"[n % 2],
        )
        dept.patients.append(pk)
        if len(patients.rows) >= CHUNK:
            patients.flush()
    patients.flush()
    return dept


def plan_day_counts(rng: random.Random, first: date, days: int, exams: int) -> list[int]:
    weights = [
        WEEKEND_SHARE if (first + timedelta(days=d)).weekday() >= 5 else 1.0 for d in range(days)
    ]
    total = sum(weights)
    return [round(exams * w / total) for w in weights]


def generate_exams(
    rng: random.Random, dept: Department, exams: int, years: int, zone: Any
) -> dict[str, int]:
    """Orders, exams and overrides for ``exams`` exams ending four weeks from today."""
    from radflow.exams.demo import Table
    from radflow.exams.models import Exam, ExamTransition, Override
    from radflow.orders.models import Order

    now = datetime.now(UTC)
    today = now.astimezone(zone).date()
    future_days = 28
    days = years * 365 + future_days
    first = today - timedelta(days=years * 365)
    counts = plan_day_counts(rng, first, days, exams)
    orders, exam_rows, overrides = Table(Order), Table(Exam), Table(Override)
    transitions = Table(ExamTransition)
    recent = now - timedelta(days=RECENT_TRANSITION_DAYS)
    modality_cum: list[tuple[float, str]] = []
    acc = 0.0
    for code, share in MODALITY_MIX.items():
        acc += share
        modality_cum.append((acc, code))
    states: dict[str, int] = {}
    serial = 0
    minute = timedelta(minutes=1)
    for offset, n in enumerate(counts):
        day = first + timedelta(days=offset)
        opening = datetime.combine(day, dtime(7 if day.weekday() < 5 else 8), tzinfo=zone)
        span_min = (12 if day.weekday() < 5 else 6) * 60 - 45
        for _ in range(n):
            serial += 1
            draw = rng.random()
            modality = next(code for cum, code in modality_cum if draw <= cum)
            room = rng.choice(dept.rooms_by_modality[modality])
            exam_type, duration = rng.choice(dept.exam_types[modality])
            start = (opening + timedelta(minutes=rng.randrange(span_min))).astimezone(UTC)
            p = rng.random()
            priority = "stat" if p < 0.04 else "urgent" if p < 0.14 else "routine"
            c = rng.random()
            patient_class = "inpatient" if c < 0.15 else "emergency" if c < 0.2 else "outpatient"
            if priority == "stat":
                lead = timedelta(minutes=rng.uniform(10, 55))
            elif priority == "urgent":
                lead = timedelta(hours=rng.uniform(2, 30))
            else:
                lead = timedelta(days=rng.triangular(1, 42, 7), hours=rng.uniform(0, 10))
            received = start - lead
            due = received + timedelta(
                minutes=60 if priority == "stat" else 1440 if priority == "urgent" else 20160
            )
            scheduled_at = received + min(lead * 0.3, timedelta(hours=rng.uniform(0.1, 20)))
            npi, provider = rng.choice(dept.referrers)
            order_id, exam_id = uuid7(rng, received), uuid7(rng, received)
            orders.add(
                id=order_id,
                created_at=received,
                updated_at=received,
                patient_id=rng.choice(dept.patients),
                exam_type_id=exam_type,
                site_id=room.site_id,
                priority=priority,
                patient_class=patient_class,
                payer_id=rng.choice(dept.payers),
                ordering_provider=provider,
                ordering_provider_npi=npi,
                received_at=received,
                is_complete=True,
                sla_due_at=due,
                sla_warn_at=due - (due - received) / 4,
                source="demo",
            )
            row: dict[str, Any] = {
                "id": exam_id,
                "created_at": received,
                "order_id": order_id,
                "accession_number": f"KB{serial:010d}",
                "study_instance_uid": f"2.25.9{serial}",
                "room_id": room.pk,
                "scheduled_start": start,
                "scheduled_end": start + timedelta(minutes=duration),
                "requested_at": received,
                "triaged_at": received + (scheduled_at - received) / 2,
                "authorized_at": received + (scheduled_at - received) / 2,
                "scheduled_at": scheduled_at,
                "technologist_id": rng.choice(dept.staff_by_room[room.pk]),
                "arrived_at": None,
                "in_progress_at": None,
                "completed_at": None,
                "reported_at": None,
                "signed_at": None,
                "billed_at": None,
                "cancelled_at": None,
                "no_show_at": None,
                "discontinued_at": None,
                "reason_code": "",
                "images_count": None,
            }
            outcome = rng.random()
            state = "scheduled"
            last = scheduled_at
            if outcome < (0.0 if priority == "stat" else 0.05):
                if start + 60 * minute <= now:
                    state, last = "no_show", start + 60 * minute
                    row.update(
                        no_show_at=last,
                        reason_code=rng.choice(["no_contact", "forgot", "transport"]),
                    )
            elif outcome < 0.075:
                at = start - timedelta(days=rng.uniform(1, 5))
                if scheduled_at < at <= now:
                    state, last = "cancelled", at
                    row.update(cancelled_at=at, reason_code="patient_request")
            elif outcome < 0.095:
                at = start - timedelta(hours=rng.uniform(0.5, 3))
                if at <= now:
                    state, last = "cancelled", at
                    row.update(cancelled_at=at, reason_code="patient_unwell")
            else:
                arrived = start - timedelta(minutes=rng.uniform(2, 20))
                begun = start + timedelta(minutes=rng.triangular(0, 40, 6))
                ended = begun + timedelta(minutes=duration * rng.uniform(0.8, 1.2))
                reported = ended + timedelta(hours=rng.triangular(0.2, 24, 3))
                signed = reported + timedelta(hours=rng.uniform(0.05, 8))
                steps = [("arrived", arrived), ("in_progress", begun)]
                if outcome < 0.1:
                    steps.append(("discontinued", begun + (ended - begun) / 3))
                else:
                    steps += [
                        ("completed", ended),
                        ("reported", reported),
                        ("signed", signed),
                        ("billed", signed + timedelta(days=2)),
                    ]
                for name, at in steps:
                    if at > now:
                        break
                    row[f"{name}_at"] = at
                    state, last = name, at
                if row["in_progress_at"] is not None and rng.random() < 0.01:
                    overrides.add(
                        exam_id=exam_id,
                        stop="identity",
                        detail="",
                        reason="Bench override",
                        at=row["in_progress_at"],
                        by_id=dept.user.pk,
                        roles="",
                        action="begin",
                    )
                if row["completed_at"] is not None:
                    row["images_count"] = rng.randint(10, 80)
            row.update(state=state, state_changed_at=last, updated_at=last)
            exam_rows.add(**row)
            if last >= recent:
                add_transitions(transitions, row)
            states[state] = states.get(state, 0) + 1
            if len(exam_rows.rows) >= CHUNK:
                orders.flush()
                exam_rows.flush()
                overrides.flush()
                transitions.flush()
        if offset % 60 == 0:
            log(f"  generated {serial:,} exams (to {day})")
    orders.flush()
    exam_rows.flush()
    overrides.flush()
    transitions.flush()
    return states


#: The exams' timelines (``ExamTransition``) are written for the last weeks only: the incremental
#: refresh finds a day's exams through them, and years of them would only slow the generation.
RECENT_TRANSITION_DAYS = 35
_STEPS = [
    ("scheduled_at", "schedule", "scheduled"),
    ("arrived_at", "arrive", "arrived"),
    ("in_progress_at", "begin", "in_progress"),
    ("completed_at", "complete", "completed"),
    ("discontinued_at", "discontinue", "discontinued"),
    ("reported_at", "report", "reported"),
    ("signed_at", "sign", "signed"),
    ("billed_at", "bill", "billed"),
    ("cancelled_at", "cancel", "cancelled"),
    ("no_show_at", "no_show", "no_show"),
]


def add_transitions(transitions: Any, row: dict[str, Any]) -> None:
    """The timeline of one generated exam, in the order its stamps happened."""
    steps = sorted(
        (row[stamp], action, state) for stamp, action, state in _STEPS if row[stamp] is not None
    )
    before = "requested"
    for at, action, state in steps:
        transitions.add(
            exam_id=row["id"],
            action=action,
            from_state=before,
            to_state=state,
            at=at,
            by_id=None,
            actor="bench",
            reason_code=row["reason_code"] if action in ("cancel", "no_show") else "",
            reason="",
            details={},
        )
        before = state


def snapshots(rng: random.Random, dept: Department, years: int, zone: Any) -> int:
    """A third-next-available snapshot per day, site and exam type (the nightly job's rows)."""
    from radflow.kpis.models import KpiBacklogSnapshot
    from radflow.kpis.rollups import db_date, db_datetime, db_uuid, write_rows

    today = datetime.now(UTC).astimezone(zone).date()
    rows = []
    for offset in range(years * 365):
        day = today - timedelta(days=offset)
        at = datetime.combine(day, dtime(2), tzinfo=zone)
        for code, types in dept.exam_types.items():
            for exam_type, _ in types:
                for site in dept.sites:
                    rows.append(
                        [
                            db_date(day),
                            db_uuid(site.pk),
                            db_uuid(exam_type),
                            code,
                            round(rng.triangular(0.5, 30, 6), 2),
                            db_datetime(at),
                        ]
                    )
    columns = ["day", "site", "exam_type", "modality", "days", "computed_at"]
    return write_rows(KpiBacklogSnapshot, columns, rows)


# --- timing -------------------------------------------------------------------------------------


def timed(run: Callable[[], Any], repeat: int) -> tuple[dict[str, Any], Any]:
    """Cold first run, then ``repeat`` warm runs (median and max)."""
    times = []
    result = None
    for _ in range(repeat + 1):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    warm = times[1:] or times
    return {
        "cold_s": round(times[0], 3),
        "median_s": round(statistics.median(warm), 3),
        "max_s": round(max(warm), 3),
        "runs": len(warm),
    }, result


def director_set(start: date, end: date, filters: Any) -> tuple[Any, Any]:
    from radflow.core.kpis.types import Grain
    from radflow.kpis.selectors import DIRECTOR_SET, kpi_trends, kpi_values

    values = kpi_values(start=start, end=end, filters=filters, codes=DIRECTOR_SET)
    trends = kpi_trends(DIRECTOR_SET, start=start, end=end, grain=Grain.MONTH, filters=filters)
    return values, trends


def naive_set(start: date, end: date, filters: Any) -> tuple[Any, Any]:
    from radflow.core.kpis.types import Grain
    from radflow.kpis.raw import kpi_trends_raw, kpi_values_raw
    from radflow.kpis.selectors import DIRECTOR_SET

    values = kpi_values_raw(start=start, end=end, filters=filters, codes=DIRECTOR_SET)
    trends = kpi_trends_raw(DIRECTOR_SET, start=start, end=end, grain=Grain.MONTH, filters=filters)
    return values, trends


def disagreements(rollup: Any, raw: Any) -> list[str]:
    """Where the rollup and raw answers differ (they must not)."""
    found = []
    for a, b in zip(rollup, raw, strict=True):
        for name in ("value", "count", "numerator", "denominator"):
            x, y = getattr(a, name), getattr(b, name)
            if (x is None) != (y is None) or (
                x is not None and not math.isclose(float(x), float(y), rel_tol=1e-9, abs_tol=1e-9)
            ):
                found.append(f"{a.code}.{name}: rollup {x} raw {y}")
    return found


def report_pack(month: str) -> dict[str, Any]:
    from django.core.management import call_command, get_commands

    if "report" not in get_commands():
        return {"skipped": "the monthly report pack (radflow report monthly) is not built yet"}
    out_dir = ROOT / "var" / "kpi-bench-pack"
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    call_command("report", "monthly", "--month", month, "--out", str(out_dir), stdout=io.StringIO())
    return {
        "month": month,
        "seconds": round(time.perf_counter() - started, 2),
        "files": sorted(p.name for p in out_dir.iterdir()),
    }


def dashboard_pages(start: date, end: date, repeat: int) -> dict[str, Any]:
    """The dashboards as the director and coordinator load them (Django's test client: the
    whole view, template and middleware, no network), server time per page: p50 and p95."""
    from django.contrib.auth.models import User
    from django.test import Client

    from radflow.accounts.services import user_create
    from radflow.core.roles import Role

    user = User.objects.filter(username="kpi-bench-director").first() or user_create(
        username="kpi-bench-director", password="x" * 20, roles=[Role.DIRECTOR]
    )
    client = Client()
    client.force_login(user)
    pages = {
        "director_12_months": ("/kpis/director/", {"start": start, "end": end, "grain": "month"}),
        "coordinator_default": ("/kpis/coordinator/", {}),
        "modality_default": ("/kpis/modality/", {}),
    }
    found: dict[str, Any] = {"target_p95_ms": 300}
    for name, (url, params) in pages.items():
        times: list[float] = []
        for _ in range(repeat + 1):
            started = time.perf_counter()
            response = client.get(url, {k: str(v) for k, v in params.items()})
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
        warm = sorted(times[1:])
        found[name] = {
            "cold_ms": round(times[0], 1),
            "p50_ms": round(statistics.median(warm), 1),
            "p95_ms": round(warm[max(0, math.ceil(0.95 * len(warm)) - 1)], 1),
            "runs": len(warm),
        }
    return found


def table_counts() -> dict[str, int]:
    from radflow.exams.models import Exam
    from radflow.kpis.models import KpiBacklogSnapshot, KpiDaily, KpiDailySite, KpiReasonDaily

    return {
        "exams": Exam.objects.count(),
        "kpi_daily_rows": KpiDaily.objects.count(),
        "kpi_daily_site_rows": KpiDailySite.objects.count(),
        "kpi_reason_rows": KpiReasonDaily.objects.count(),
        "backlog_snapshots": KpiBacklogSnapshot.objects.count(),
    }


def generate_department(
    database: str,
    args: argparse.Namespace,
    rng: random.Random,
    zone: Any,
    today: date,
    result: dict[str, Any],
) -> list[Any]:
    """Steps 1 and 2: the generated department and its rollups, timed into ``result``."""
    from django.db import connection, transaction

    from radflow.kpis import capacity
    from radflow.kpis.rollups import rollups_rebuild

    phases: dict[str, Any] = result.setdefault("generation", {})
    exams_per_day = args.exams / (args.years * 365)
    rooms = max(len(MODALITY_MIX) * args.sites, math.ceil(exams_per_day / EXAMS_PER_ROOM_DAY))
    log(f"{database}: generating {args.exams:,} exams, {rooms} rooms, {args.sites} sites")
    started = time.perf_counter()
    with transaction.atomic():
        dept = build_department(rng, args.sites, rooms, args.exams)
        states = generate_exams(rng, dept, args.exams, args.years, zone)
    phases["generate_s"] = round(time.perf_counter() - started, 1)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    log(f"{database}: generated in {phases['generate_s']} s; building rollups")

    history_first = today - timedelta(days=args.years * 365)
    started = time.perf_counter()
    built = rollups_rebuild()
    phases["rollups_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    with transaction.atomic():
        room_days = capacity.room_days_rebuild(first=history_first, last=today)
        staff_days = capacity.staff_days_rebuild(first=history_first, last=today)
        backlog = snapshots(rng, dept, args.years, zone)
    phases["calendars_s"] = round(time.perf_counter() - started, 1)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    log(f"{database}: rollups in {phases['rollups_s']} s, calendars {phases['calendars_s']} s")
    result["data"] = {
        **table_counts(),
        "rooms": len(dept.rooms),
        "sites": len(dept.sites),
        "exam_states": states,
        "room_days": room_days,
        "staff_days": staff_days,
        "backlog_rows": backlog,
        "rollup_rows_written": {"fine": built.fine, "site": built.site, "reasons": built.reasons},
    }
    return dept.sites


def run_child(database: str, args: argparse.Namespace) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from radflow.core.kpis.types import KpiFilters
    from radflow.kpis.selectors import kpi_drilldown
    from radflow.scheduling.models import Site

    rng = random.Random(args.seed)
    zone = timezone.get_default_timezone()
    result: dict[str, Any] = {"database": database, "target_s": TARGET_S}
    phases: dict[str, Any] = result.setdefault("generation", {})
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False, stdout=io.StringIO())
    call_command("load_reference", verbosity=0, stdout=io.StringIO())
    phases["migrate_s"] = round(time.perf_counter() - started, 1)

    today = timezone.localdate()
    sites = list(Site.objects.filter(code__startswith="B").order_by("code"))
    if args.reuse and sites:
        log(f"{database}: reusing the generated department ({table_counts()['exams']:,} exams)")
        result["data"] = {**table_counts(), "sites": len(sites), "reused": True}
    else:
        sites = generate_department(database, args, rng, zone, today, result)
    end = today - timedelta(days=1)
    start = end - timedelta(days=365) + timedelta(days=1)
    site = KpiFilters.of(sites=sites[0])
    timings: dict[str, Any] = {
        "period": [start.isoformat(), end.isoformat()],
        "load_before": loadavg(),
    }
    timings["kpi_set_rollups"], (values, _) = timed(
        lambda: director_set(start, end, KpiFilters()), args.repeat
    )
    timings["kpi_set_rollups_one_site"], _ = timed(
        lambda: director_set(start, end, site), args.repeat
    )
    last_month_end = today.replace(day=1) - timedelta(days=1)
    last_month = last_month_end.replace(day=1)

    def drill() -> int:
        exams = kpi_drilldown(
            "no_show_rate", start=last_month, end=last_month_end, bucket="numerator"
        )
        list(exams[:50])
        return exams.count()

    timings["drilldown_no_shows_last_month"], listed = timed(drill, args.repeat)
    timings["drilldown_no_shows_last_month"]["exams"] = listed
    timings["dashboard_pages"] = dashboard_pages(start, end, max(20, args.repeat))
    timings["monthly_pack"] = report_pack(last_month.strftime("%Y-%m"))

    def refresh_one_day() -> int:
        from radflow.kpis.rollups import refresh_days

        return refresh_days([today - timedelta(days=3)]).fine

    timings["incremental_refresh_one_day"], _ = timed(refresh_one_day, 1)
    values, _ = director_set(start, end, KpiFilters())  # compared after the refresh rewrote a day
    if not args.skip_naive:
        log(f"{database}: naive baseline (the same KPI set from the raw exams)")
        timings["kpi_set_naive"], (raw_values, _) = timed(
            lambda: naive_set(start, end, KpiFilters()), 0
        )
        timings["agreement"] = disagreements(values, raw_values) or "rollup == raw"
        speedup = timings["kpi_set_naive"]["median_s"] / timings["kpi_set_rollups"]["median_s"]
        timings["speedup"] = round(speedup, 1)
    timings["load_after"] = loadavg()
    timings["meets_target"] = timings["kpi_set_rollups"]["median_s"] <= TARGET_S
    result["timings"] = timings
    result["kpis"] = {v.code: None if v.value is None else round(v.value, 3) for v in values}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument(
        "--exams", type=int, default=0, help="exams on PostgreSQL (5,000,000); SQLite gets a tenth"
    )
    parser.add_argument("--exams-sqlite", type=int, default=0, help="exams on SQLite (500,000)")
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--sites", type=int, default=3)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-naive", action="store_true", help="leave out the raw baseline")
    parser.add_argument("--keep", action="store_true", help="keep the generated databases")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time against the department a --keep run left (no generation, no rebuild)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--pg-name", default=PG_NAME, help="the PostgreSQL database to create (a kpi_ name)"
    )
    parser.add_argument("--child", choices=["postgresql", "sqlite"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.pg_name.startswith("kpi_") or not args.pg_name.replace("_", "").isalnum():
        parser.error("--pg-name: a kpi_ name of letters, digits and underscores")
    if args.child:
        print(json.dumps(run_child(args.child, args), indent=2, default=str))
        return
    databases = ["postgresql", "sqlite"] if args.database == "both" else [args.database]
    report = {
        "benchmark": "kpi",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load": loadavg()},
        "results": [child(database, args) for database in databases],
    }
    text = json.dumps(report, indent=2, default=str)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
