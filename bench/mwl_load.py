"""Loads the MWL benchmark's worklist entries into a RadFlow database (run by ``bench/mwl.py`` as
a subprocess, with ``RADFLOW_DATA_DIR`` or ``DATABASE_URL`` naming the bench database).

The entries are the same ones the peers serve as worklist files (``bench/mwl.py`` parses the
generated dumps into ``entries.json``): each becomes a patient (name, MRN, birth date, sex), an
order and an exam in state ``scheduled`` with its accession number, Study Instance UID, start
time (the dump's SPS date and time in the department's zone), room and device (the device's AE
title and station name are the dump's (0040,0001) and (0040,0010); the room's code is
``<modality>-<location>`` because a RadFlow room holds one modality and room codes are unique,
while the generator's ``ROOM3`` hosts every modality's station 3) and technologist
(``TECH^<station>``, the dump's (0040,0006)).

Rows go in as raw batched inserts prepared by the models' own fields (no services: the
benchmark is about reading them), so there is no history or transition row; a generated MRN
that repeats gets its own patient under another assigning authority (``BENCH-2`` ...), so
every entry keeps its own name, birth date and sex.

    python bench/mwl_load.py load ENTRIES.json --start 0 --stop 10000 [--migrate]
    python bench/mwl_load.py split Q1.dcm Q2.dcm ... [--repeat 10] [--profile]

``load`` prints seconds per step and rows written; ``split`` times RadFlow's C-FIND handler
in-process, step by step (the Identifier's decoding by pynetdicom, parsing, the database read
and matching, the access log, encoding the answers, and the whole handler), and with
``--profile`` adds a cProfile of the slowest query. One JSON object on stdout.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: Modalities the generator uses, with names for the ones load_reference does not ship (CR).
MODALITIES = {
    "US": "Ultrasound",
    "CT": "Computed tomography",
    "MR": "Magnetic resonance",
    "CR": "Computed radiography",
    "MG": "Mammography",
}
STATIONS = 10
SITE_CODE = "BENCHMWL"
BATCH = 5000
#: Calling AE titles registered in the AE registry: findscu's and the load test's stations.
CALLING_AES = ("FINDSCU", "BENCHSCU")


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radflow.settings")
    import django

    django.setup()


def reference_rows() -> dict[str, Any]:
    """Site, modalities, rooms, devices, technologists, exam types and registered AEs
    (idempotent: a second call finds them)."""
    from django.conf import settings

    from radflow.catalog.models import ExamType
    from radflow.interfaces.models import ApplicationEntity
    from radflow.interfaces.services import ae_create, policy_set
    from radflow.scheduling.models import Device, DeviceKind, Modality, Room, Site
    from radflow.staff.models import JobRole, StaffMember

    site, _ = Site.objects.get_or_create(
        code=SITE_CODE, defaults={"name": "MWL bench", "time_zone": settings.TIME_ZONE}
    )
    modalities = {}
    for code, name in MODALITIES.items():
        modalities[code], _ = Modality.objects.get_or_create(code=code, defaults={"name": name})
    rooms: dict[tuple[str, int], Room] = {}
    devices: dict[tuple[str, int], Device] = {}
    for code, modality in modalities.items():
        for st in range(STATIONS):
            room, _ = Room.objects.get_or_create(
                code=f"{code}-ROOM{st}",
                defaults={"site": site, "name": f"{code} room {st}", "modality": modality},
            )
            device, _ = Device.objects.get_or_create(
                manufacturer="Bench",
                serial_number=f"{code}{st}",
                defaults={
                    "kind": DeviceKind.ULTRASOUND if code == "US" else DeviceKind.SCANNER,
                    "modality": modality,
                    "model_name": f"{code} bench",
                    "ae_title": f"{code}{st}",
                    "station_name": f"STATION{st}",
                    "room": room,
                },
            )
            rooms[code, st], devices[code, st] = room, device
    techs = {}
    for st in range(STATIONS):
        techs[st], _ = StaffMember.objects.get_or_create(
            employee_number=f"BENCH-TECH-{st}",
            defaults={
                "family_name": "TECH",
                "given_name": str(st),
                "job_role": JobRole.TECHNOLOGIST,
                "home_site": site,
            },
        )
    exam_types = {}
    for code, modality in modalities.items():
        exam_types[code], _ = ExamType.objects.get_or_create(
            code=f"bench-{code.lower()}",
            defaults={"name": f"{code} EXAM", "modality": modality, "default_duration_min": 30},
        )
    # The stations call with their own AE titles (registered as the registry page would: with
    # their device, which fills in room, modality and station name); findscu as FINDSCU.
    for device in devices.values():
        if not ApplicationEntity.objects.filter(ae_title=device.ae_title).exists():
            ae_create(ae_title=device.ae_title, device=device, description="MWL bench station")
    for title in CALLING_AES:
        if not ApplicationEntity.objects.filter(ae_title=title).exists():
            ae_create(ae_title=title, description="MWL bench client", may_send_mpps=False)
    # And callers the registry does not know are let in read-only (the server's log says which
    # way each association went; the bench reports the count of each).
    policy_set(unknown_caller="read_only")
    return {
        "site": site,
        "rooms": rooms,
        "devices": devices,
        "techs": techs,
        "exam_types": exam_types,
    }


def _station(entry: dict[str, Any]) -> int:
    return int(entry["station_ae"][len(entry["modality"]) :])


class _Rows:
    """INSERT rows of one model, prepared as Django prepares them, but only once: a template
    row of every column (defaults, ``auto_now`` stamps) from one instance, and per row only the
    columns that vary, each through its own field's ``get_db_prep_save``. ``bulk_create`` does
    the same for every column of every object, about 1.3 ms per entry here; this is ~20x less."""

    def __init__(self, model: Any, template: Any, varying: tuple[str, ...]) -> None:
        from django.db import connection

        self.connection = connection
        fields = list(model._meta.concrete_fields)
        self.table = model._meta.db_table
        self.columns = [f.column for f in fields]
        self.base = [f.get_db_prep_save(f.pre_save(template, True), connection) for f in fields]
        by_name = {f.attname: (i, f) for i, f in enumerate(fields)}
        self.varying = [by_name[name] for name in varying]
        self.rows: list[list[Any]] = []

    def add(self, *values: Any) -> None:
        row = self.base.copy()
        for (index, field), value in zip(self.varying, values, strict=True):
            row[index] = field.get_db_prep_save(value, self.connection)
        self.rows.append(row)

    def flush(self, cursor: Any) -> int:
        if not self.rows:
            return 0
        quote = self.connection.ops.quote_name
        # Table and column names come from the model (quoted), values are parameters.
        columns = ", ".join(quote(c) for c in self.columns)
        marks = ", ".join(["%s"] * len(self.columns))
        sql = f"INSERT INTO {quote(self.table)} ({columns}) VALUES ({marks})"  # noqa: S608
        cursor.executemany(sql, self.rows)
        count = len(self.rows)
        self.rows = []
        return count


def insert(entries: list[dict[str, Any]], ref: dict[str, Any]) -> dict[str, int]:
    """Patients, orders and exams for ``entries``, in batches of raw ``executemany`` inserts
    (see ``_Rows``) inside one transaction each."""
    import uuid

    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone

    from radflow.core.dicom.worklist import name_key, person_name
    from radflow.core.exam_states import ExamState
    from radflow.exams.models import Exam
    from radflow.orders.models import Order, OrderSource, Priority
    from radflow.patients.models import Patient

    zone = ZoneInfo(settings.TIME_ZONE)
    now = timezone.now()
    st0 = ("US", 0)
    patient_t = Patient(
        mrn="X", family_name="X", given_name="X", birth_date=date(2000, 1, 1), sex="F"
    )
    order_t = Order(
        patient_id=uuid.uuid4(),
        exam_type=ref["exam_types"]["US"],
        site=ref["site"],
        priority=Priority.ROUTINE,
        source=OrderSource.DEMO,
        received_at=now,
        is_complete=True,
    )
    exam_t = Exam(
        order_id=uuid.uuid4(),
        state=ExamState.SCHEDULED.value,
        accession_number="X",
        study_instance_uid="X",
        room=ref["rooms"][st0],
        device=ref["devices"][st0],
        technologist=ref["techs"][0],
        scheduled_start=now,
        scheduled_end=now,
        requested_at=now,
        authorized_at=now,
        scheduled_at=now,
        state_changed_at=now,
    )
    patients = _Rows(
        Patient,
        patient_t,
        (
            "id",
            "mrn",
            "mrn_authority",
            "family_name",
            "given_name",
            "name_key",
            "birth_date",
            "sex",
        ),
    )
    orders = _Rows(Order, order_t, ("id", "patient_id", "exam_type_id", "priority"))
    exams = _Rows(
        Exam,
        exam_t,
        (
            "id",
            "order_id",
            "accession_number",
            "study_instance_uid",
            "room_id",
            "device_id",
            "technologist_id",
            "scheduled_start",
            "scheduled_end",
        ),
    )
    written = {"patients": 0, "orders": 0, "exams": 0}
    for at in range(0, len(entries), BATCH):
        for e in entries[at : at + BATCH]:
            family, _, given = e["patient_name"].partition("^")
            birth = e["birth_date"]
            patient_id, order_id = uuid.uuid4(), uuid.uuid4()
            patients.add(
                patient_id,
                e["patient_id"],
                e["issuer"],
                family,
                given,
                name_key(person_name(family, given)),
                date(int(birth[:4]), int(birth[4:6]), int(birth[6:8])),
                e["sex"],
            )
            orders.add(
                order_id,
                patient_id,
                ref["exam_types"][e["modality"]].pk,
                Priority.ROUTINE if e["priority"] == "ROUTINE" else Priority.URGENT,
            )
            day, hhmmss = e["sps_date"], e["sps_time"]
            start = datetime(
                int(day[:4]),
                int(day[4:6]),
                int(day[6:8]),
                int(hhmmss[:2]),
                int(hhmmss[2:4]),
                int(hhmmss[4:6] or 0),
                tzinfo=zone,
            )
            st = _station(e)
            exams.add(
                uuid.uuid4(),
                order_id,
                e["accession_number"],
                e["study_instance_uid"],
                ref["rooms"][e["modality"], st].pk,
                ref["devices"][e["modality"], st].pk,
                ref["techs"][st].pk,
                start,
                start + timedelta(minutes=30),
            )
        with transaction.atomic(), connection.cursor() as cursor:
            written["patients"] += patients.flush(cursor)
            written["orders"] += orders.flush(cursor)
            written["exams"] += exams.flush(cursor)
    return written


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def split(files: list[Path], repeat: int, profile: bool) -> dict[str, Any]:
    """Where the server's time per query goes, outside pynetdicom's network layer."""
    from django.conf import settings
    from pydicom import dcmread
    from pydicom.dataset import Dataset
    from pydicom.uid import ImplicitVRLittleEndian
    from pynetdicom.dsutils import decode, encode

    from radflow.core.dicom import matching
    from radflow.core.dicom.matching import parse_query, respond
    from radflow.interfaces import dicom_server
    from radflow.interfaces.dicom_mwl import handle_find
    from radflow.interfaces.mwl import worklist_entries, worklist_read

    # The process set up as ``radflow dicom`` sets it up (pynetdicom quiet, answers encoded
    # ahead): building the AE does that, without listening.
    dicom_server.build_ae(settings.DICOM_AE_TITLE)
    encode_answer = getattr(matching, "encode_answer", None)
    report: dict[str, Any] = {"repeat": repeat, "queries": {}}
    handlers: dict[str, tuple[float, Any]] = {}
    for path in files:
        identifier = Dataset(dcmread(path))
        raw = encode(identifier, True, True)
        assert raw is not None
        steps: dict[str, list[float]] = {
            "decode_identifier_ms": [],
            "parse_ms": [],
            "entries_ms": [],
            "read_with_audit_ms": [],
            "encode_answers_ms": [],
            "handler_ms": [],
        }
        matches = 0

        def event(identifier: Any = identifier) -> Any:
            requestor = SimpleNamespace(ae_title="FINDSCU", address="127.0.0.1")
            return SimpleNamespace(
                assoc=SimpleNamespace(requestor=requestor),
                identifier=identifier,
                context=SimpleNamespace(transfer_syntax=ImplicitVRLittleEndian),
                is_cancelled=False,
            )

        for round_ in range(repeat + 1):
            t0 = time.perf_counter()
            decoded = decode(io.BytesIO(raw), True, True)
            _ = [element for element in decoded]  # pynetdicom hands the handler a parsed one
            t1 = time.perf_counter()
            query = parse_query(identifier)
            t2 = time.perf_counter()
            entries = list(worklist_entries(query))
            t3 = time.perf_counter()
            worklist_read(query, restriction=None, calling_ae="FINDSCU", address="127.0.0.1")
            t4 = time.perf_counter()
            for entry in entries:
                if encode_answer is not None:
                    encode_answer(query, entry, implicit_vr=True, charset=query.charset)
                else:
                    encode(respond(identifier, entry, query=query), True, True)
            t5 = time.perf_counter()
            replies = list(handle_find(event()))
            t6 = time.perf_counter()
            if round_ == 0:
                continue  # warm-up
            matches = len(replies)
            steps["decode_identifier_ms"].append((t1 - t0) * 1000)
            steps["parse_ms"].append((t2 - t1) * 1000)
            steps["entries_ms"].append((t3 - t2) * 1000)
            steps["read_with_audit_ms"].append((t4 - t3) * 1000)
            steps["encode_answers_ms"].append((t5 - t4) * 1000)
            steps["handler_ms"].append((t6 - t5) * 1000)
        cell: dict[str, Any] = {name: _median(values) for name, values in steps.items()}
        cell["audit_ms"] = round(cell["read_with_audit_ms"] - cell["entries_ms"], 2)
        cell["matches"] = matches
        cell["statuses"] = sorted({hex(status) for status, _ in replies})
        report["queries"][path.stem] = cell
        handlers[path.stem] = (cell["handler_ms"], event)
    if profile and handlers:
        slowest = max(handlers, key=lambda name: handlers[name][0])
        make_event = handlers[slowest][1]
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(3):
            list(handle_find(make_event()))
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(30)
        report["profile"] = {
            "query": slowest,
            "calls": 3,
            "top_cumulative": [line for line in out.getvalue().splitlines() if line.strip()][:45],
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("load")
    load.add_argument("entries", type=Path)
    load.add_argument("--start", type=int, default=0)
    load.add_argument("--stop", type=int)
    load.add_argument("--migrate", action="store_true")
    timing = commands.add_parser("split")
    timing.add_argument("files", type=Path, nargs="+")
    timing.add_argument("--repeat", type=int, default=10)
    timing.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    if args.command == "split":
        _setup()
        print(json.dumps(split(args.files, args.repeat, args.profile)))
        return
    report: dict[str, Any] = {}
    started = time.perf_counter()
    _setup()
    from django.core.management import call_command
    from django.db import connection

    if args.migrate:
        t = time.perf_counter()
        call_command("migrate", "--no-input", verbosity=0, stdout=sys.stderr)
        report["migrate_seconds"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    entries = json.loads(args.entries.read_text())[args.start : args.stop]
    report["read_seconds"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    ref = reference_rows()
    report["reference_seconds"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    report["rows"] = insert(entries, ref)
    report["insert_seconds"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    with connection.cursor() as cursor:
        # PostgreSQL's autovacuum analyzes a table this size soon after; do it now so the plans
        # are the steady state's. SQLite gets no ANALYZE: Django never runs it, so a site's
        # SQLite database has no planner statistics either.
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")
    report["analyze_seconds"] = round(time.perf_counter() - t, 2)
    from radflow.exams.models import Exam

    report["exams_in_database"] = Exam.objects.count()
    report["total_seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
