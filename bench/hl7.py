"""HL7 v2 inbound benchmark (issue 7): ORM^O01 new orders into PostgreSQL over MLLP.

1. Parse only: ``radflow.core.hl7.parse`` + ``inbound.read`` (no Django, no database) over the
   same messages, one core: the ceiling the wire format sets.
2. End to end: ``radflow hl7`` as the Procfile runs it (its own process) on a fresh PostgreSQL
   database (``bench_hl7``, or ``--database-url``), migrated and loaded with the reference data,
   one interface and ``--patients`` patients. For each connection count (1, 4, 8) the client
   sends ``--messages`` new orders (distinct placer numbers and control IDs), each connection
   waiting for the ACK before its next message, as an interface engine does: messages/s over the
   wall time, ACK latency (send to ACK, after the commit) p50/p95/p99, every ACK checked AA and
   every order counted in the database, and the listener's CPU seconds.
3. Where the time goes: ``hl7_receive`` in-process on the same database under cProfile for
   ``--profile`` messages, the cumulative time of its phases and the busiest functions.

The target is 1,000 messages/s; the machine is shared (load averages are recorded).

    .venv/bin/python bench/hl7.py --messages 2000
    .venv/bin/python bench/hl7.py --messages 500 --connections 1,4 --keep

Prints one JSON document and writes it to ``--out`` (bench/results/hl7.json).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import os
import platform
import pstats
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BIN = ROOT / ".venv" / "bin"
DEFAULT_OUT = ROOT / "bench" / "results" / "hl7.json"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_NAME = "bench_hl7"
PG_URL = f"postgres://postgres@127.0.0.1:5432/{PG_NAME}"
APPLICATION, FACILITY, AUTHORITY = "BENCHEHR", "BENCHHOSP", "BENCH"
TARGET = 1000.0

#: A realistic ORM^O01 (v2.3.1) new order; {control}, {mrn} and {placer} vary.
TEMPLATE = "\r".join(
    [
        "MSH|^~\\&|BENCHEHR|BENCHHOSP|RADFLOW|BENCHHOSP|20261202130000||ORM^O01|{control}|P|"
        "2.3.1|||AL|NE",
        "PID|1||E{mrn}^^^EPI^PI~{mrn}^^^BENCH^MR||DOE^JANE^Q^^MS^^L||19680412|F|||48 ELM "
        "STREET^APT 2B^HARTFORD^CT^06105^USA^H||^PRN^PH^^1^860^5550143|||M",
        "PV1|1|O|GIMED^^^BENCHHOSP||||1457392810^HART^AMELIA^^^DR^MD^^NPI",
        "ORC|NW|{placer}^EPIC|||||1^ONCE^^20261210^^R||20261202130000|NURSE01^BAKER^LIN||"
        "1457392810^HART^AMELIA^^^DR^MD^^^^^^NPI|GIMED^^^BENCHHOSP|(860)555-0100^WPN^PH",
        "OBR|1|{placer}^EPIC||IMG1023^US ABDOMEN COMPLETE^EAP^76700^US ABDOMEN COMPLETE^C4"
        "|||20261202130000||||||Right upper quadrant pain after fatty meals|||1457392810^HART^"
        "AMELIA^^^DR^MD^^NPI|(860)555-0100^WPN^PH||||||||||1^ONCE^^20261210^^R||||R10.11^Right "
        "upper quadrant pain^I10",
        "NTE|1|L|Patient is diabetic; please schedule in the morning.",
        "ZDS|1.2.840.113619.2.62.994044785528.{study}^EPIC^Application^DICOM",
    ]
)


def build(run: str, count: int, patients: int) -> list[bytes]:
    """Distinct control IDs, placer numbers and ZDS-1 Study Instance UIDs (RadFlow keeps ZDS-1
    on the new exam and refuses one already used, as it must), for ``patients`` patients."""
    run_number = int.from_bytes(run.encode(), "big")  # digits only: a UID component
    return [
        TEMPLATE.format(
            control=f"{run}-{i:06d}",
            placer=f"{run}{i:06d}",
            mrn=f"B{i % patients:07d}",
            study=f"{run_number}.{i + 1}",
        ).encode()
        for i in range(count)
    ]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# --- 1. parse only ------------------------------------------------------------------------------


def parse_only(messages: list[bytes]) -> dict[str, Any]:
    from radflow.core.hl7.inbound import Rules, read
    from radflow.core.hl7.parse import parse, peek

    rules = Rules(AUTHORITY, "CPT")
    started = time.perf_counter()
    for raw in messages:
        peek(raw)
        read(parse(raw), rules)
    elapsed = time.perf_counter() - started
    return {
        "messages": len(messages),
        "messages_per_s": round(len(messages) / elapsed),
        "us_per_message": round(elapsed / len(messages) * 1e6, 1),
    }


# --- 2. the database and the listener -----------------------------------------------------------


def pg_recreate() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_NAME}")


def pg_drop() -> None:
    import psycopg

    with contextlib.suppress(Exception), psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)")


def django_setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radflow.settings")
    import django

    django.setup()


def prepare(patients: int) -> None:
    """Schema, reference data, the interface and the patients the messages name."""
    from django.core.management import call_command

    from radflow.interfaces.models import Hl7Interface
    from radflow.patients.models import Patient
    from radflow.scheduling.models import Site

    quiet = io.StringIO()  # stdout carries the JSON report only
    call_command("migrate", verbosity=0, interactive=False, stdout=quiet)
    call_command("load_reference", verbosity=0, stdout=quiet)
    site, _ = Site.objects.get_or_create(code="BENCH", defaults={"name": "Bench Hospital"})
    Hl7Interface.objects.get_or_create(
        name="Bench EHR",
        defaults={
            "sending_application": APPLICATION,
            "sending_facility": FACILITY,
            "mrn_authority": AUTHORITY,
            "procedure_code_system": "CPT",
            "site": site,
        },
    )
    have = set(Patient.objects.filter(mrn_authority=AUTHORITY).values_list("mrn", flat=True))
    Patient.objects.bulk_create(
        Patient(
            mrn=f"B{i:07d}",
            mrn_authority=AUTHORITY,
            family_name="DOE",
            given_name="JANE",
            birth_date=__import__("datetime").date(1968, 4, 12),
            sex="F",
        )
        for i in range(patients)
        if f"B{i:07d}" not in have
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_listener(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    process = subprocess.Popen(  # noqa: S603
        [str(BIN / "radflow"), "hl7", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return process
        if process.poll() is not None:
            raise RuntimeError(f"radflow hl7 exited: {log.read_text()[-2000:]}")
        time.sleep(0.1)
    raise RuntimeError("radflow hl7 did not start listening")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _connection(port: int, messages: list[bytes], latencies: list[float]) -> list[str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    codes = []
    try:
        for raw in messages:
            sent = time.perf_counter()
            writer.write(b"\x0b" + raw + b"\x1c\r")
            await writer.drain()
            ack = await reader.readuntil(b"\x1c\r")
            latencies.append(time.perf_counter() - sent)
            msa = next(line for line in ack.split(b"\r") if line.startswith(b"MSA"))
            codes.append(msa.split(b"|")[1].decode())
    finally:
        writer.close()
    return codes


async def drive(port: int, messages: list[bytes], connections: int) -> dict[str, Any]:
    latencies: list[float] = []
    shares = [messages[i::connections] for i in range(connections)]
    started = time.perf_counter()
    results = await asyncio.gather(*(_connection(port, s, latencies) for s in shares))
    elapsed = time.perf_counter() - started
    codes = [c for result in results for c in result]
    return {
        "connections": connections,
        "messages": len(messages),
        "seconds": round(elapsed, 2),
        "messages_per_s": round(len(messages) / elapsed, 1),
        "ack_ms": {
            "p50": round(percentile(latencies, 0.50) * 1000, 1),
            "p95": round(percentile(latencies, 0.95) * 1000, 1),
            "p99": round(percentile(latencies, 0.99) * 1000, 1),
            "mean": round(statistics.fmean(latencies) * 1000, 1),
        },
        "acks": {code: codes.count(code) for code in sorted(set(codes))},
    }


# --- 3. where the time goes ---------------------------------------------------------------------

PHASES = {
    "store (insert + commit)": ("hl7_inbound.py", "hl7_receive"),
    "parse (core)": ("parse.py", "parse"),
    "read: map to RadFlow terms (core)": ("inbound.py", "read"),
    "interface look-up": ("hl7_inbound.py", "interface_for"),
    "patient look-up and lock": ("hl7_inbound.py", "_patient_for_order"),
    "exam type look-up": ("hl7_inbound.py", "_exam_type"),
    "order_create (orders.services)": ("services.py", "order_create"),
    "exam_open (accession, exam row)": ("services.py", "exam_open"),
    "apply transaction (lock row .. commit)": ("hl7_inbound.py", "_apply_stored"),
    "ACK build": ("ack.py", "build_ack"),
}


def profile(messages: list[bytes]) -> dict[str, Any]:
    from django.db import connection

    from radflow.interfaces.hl7_inbound import hl7_receive

    hl7_receive(raw=messages[0], peer="bench")  # warm up the connection and imports
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for raw in messages[1:]:
        hl7_receive(raw=raw, peer="bench")
    profiler.disable()
    elapsed = time.perf_counter() - started
    stats = pstats.Stats(profiler)
    count = len(messages) - 1
    cumulative: dict[str, float] = {}
    entries = stats.stats  # type: ignore[attr-defined]
    for (filename, _, function), (_, _, _, cum, _) in entries.items():
        for phase, (file_end, name) in PHASES.items():
            if function == name and filename.endswith(file_end):
                cumulative[phase] = cumulative.get(phase, 0.0) + cum
    phases = {k: round(v / count * 1000, 2) for k, v in cumulative.items()}
    if "store (insert + commit)" in phases and "apply transaction (lock row .. commit)" in phases:
        phases["store (insert + commit)"] = round(
            phases["store (insert + commit)"] - phases["apply transaction (lock row .. commit)"], 2
        )
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(12)
    top = [line.strip() for line in text.getvalue().splitlines() if "/" in line][:12]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM orders_order")
        orders = cursor.fetchone()[0]
    return {
        "messages": count,
        "ms_per_message_profiled": round(elapsed / count * 1000, 2),
        "phase_ms_per_message": phases,
        "top_tottime": top,
        "orders_in_database": orders,
    }


# --- main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--connections", default="1,4,8")
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--profile", type=int, default=300)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    connections = [int(c) for c in args.connections.split(",")]

    report: dict[str, Any] = {
        "benchmark": "hl7_inbound_orm",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_start": loadavg(),
        },
        "target_messages_per_s": TARGET,
    }
    sample = build("P", args.messages, args.patients)
    report["parse_only"] = parse_only(sample)

    url = args.database_url or PG_URL
    if not args.database_url:
        pg_recreate()
    data_dir = Path(tempfile.mkdtemp(prefix="bench-hl7-"))
    env = {k: v for k, v in os.environ.items() if k not in ("RADFLOW_TESTING", "DEBUG")}
    env.update(
        DATABASE_URL=url,
        SECRET_KEY=secrets.token_urlsafe(40),
        RADFLOW_DATA_DIR=str(data_dir),
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="WARNING",
    )
    django_setup(env)
    started = time.perf_counter()
    prepare(args.patients)
    report["setup_seconds"] = round(time.perf_counter() - started, 1)
    report["database"] = "postgresql"

    port = free_port()
    log = data_dir / "listener.log"
    process = start_listener(env, port, log)
    runs = []
    try:
        from radflow.orders.models import Order

        for n, count in enumerate(connections):
            run_id = f"R{n}C{count}"
            messages = build(run_id, args.messages, args.patients)
            cpu_before = cpu_seconds(process.pid)
            load_before = loadavg()
            result = asyncio.run(drive(port, messages, count))
            result["listener_cpu_s"] = round(cpu_seconds(process.pid) - cpu_before, 2)
            result["listener_cpu_ms_per_message"] = round(
                result["listener_cpu_s"] / args.messages * 1000, 2
            )
            result["orders_created"] = Order.objects.filter(
                placer_order_number__startswith=run_id
            ).count()
            result["load_before"] = load_before
            runs.append(result)
            print(json.dumps(result), file=sys.stderr)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
    report["end_to_end"] = runs
    report["profile"] = profile(build("PROF", args.profile + 1, args.patients))
    report["load_end"] = loadavg()
    best = max(r["messages_per_s"] for r in runs)
    report["verdict"] = {
        "best_messages_per_s": best,
        "target_met": best >= TARGET,
        "every_ack_aa": all(set(r["acks"]) == {"AA"} for r in runs),
        "parse_only_messages_per_s": report["parse_only"]["messages_per_s"],
    }
    from django.db import connections as db_connections

    db_connections.close_all()
    if not args.database_url and not args.keep:
        pg_drop()
    text = json.dumps(report, indent=2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
