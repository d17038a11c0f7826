"""Modality Worklist benchmark: RadFlow's DICOM server against dcmtk ``wlmscpfs`` and Orthanc's
worklists plugin, over the same entries, in one run (issue 6).

For each N in ``--sizes`` (10,000 and 100,000):

1. Data. ``/work/shared/benchmarks/mwl/gen_worklist.py``'s ``entry()`` with the same seed gives N
   dumps (the first 10,000 of 100,000 are the 10,000 set: the generator is sequential); the peers
   get them as ``.wl`` files, byte-identical to ``dump2dcm -q -g`` (``bench/peers/mwl_peers.py``,
   a sample is checked against dump2dcm in every run); RadFlow gets the same entries as patients,
   orders and exams (``bench/mwl_load.py``, bulk inserts) in a throw-away SQLite database and in
   a fresh PostgreSQL database ``bench_mwl``.
2. Servers: ``radflow dicom`` per database, ``wlmscpfs`` and Orthanc as anchor.sh runs them, and
   the floors: a bare pynetdicom MWL server and ``wlmscpfs``, both with an empty worklist. All run
   on free ports; every one is stopped at the end, whatever happens.
3. Queries (the same Identifier for every server: a dump, ``dump2dcm`` for findscu, read back by
   pydicom for the pynetdicom client): ``station_day`` = query_today_us.dump (US, station US3,
   2026-11-15); ``patient_name`` = ``SMI*`` with modality US on that day, as a console's patient
   search sends it; ``accession`` = one accession number, everything else universal (a barcode
   scan); ``station_week`` = US3 over 2026-11-09..15. Match counts per server and per query are
   reported next to the count computed from the entries; a disagreement is reported, not hidden.
4. Two ways, rounds interleaved across servers so that the machine's load drifts equally on all:
   (i) per process: one ``/usr/bin/findscu -W`` process per query (association, query, release),
   wall time, as a modality does it; (ii) server cost: one open pynetdicom association per server
   repeating each query, from ``send_c_find`` to the final response. Then (iii), at the largest
   size, ``--load-modalities`` stations (each its own AE title and its own station's day) run
   findscu back to back against RadFlow for ``--load-seconds``: errors, p95, throughput.
5. RadFlow's own split (parse, database + matching, audit, answers, encoding) per query, measured
   in-process against the bench database (``bench/mwl_load.py split``), and a cProfile of the
   slowest query when a target is missed.

Targets (issue 6): server cost at the smallest size >= 25x lower than both peers; <= 20 ms median
at the largest size; per-process time within 1.5x of the bare pynetdicom floor at every size; no
errors under load. The machine is shared: load averages are recorded per phase.

    .venv/bin/python bench/mwl.py                                 # about 11 minutes here
    .venv/bin/python bench/mwl.py --sizes 2000 --db sqlite --repeat 5 --load-seconds 10
    .venv/bin/python bench/mwl.py --work-dir /tmp/mwl-bench        # keep (and reuse) the data

Prints one JSON document and writes it to ``--out`` (bench/results/mwl.json).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pynetdicom import evt  # noqa: E402

from bench.peers.mwl_peers import (  # noqa: E402
    DUMP2DCM,
    FINDSCU,
    MWL_FIND,
    STARTED,
    Element,
    Server,
    encode_file,
    free_port,
    new_instance_uid,
    parse_dump,
    spawn,
    start_floor_pynetdicom,
    start_orthanc,
    start_wlmscpfs,
    stop_all,
    stop_process,
    verify_against_dump2dcm,
)

BIN = ROOT / ".venv" / "bin"
SHARED = Path("/work/shared/benchmarks/mwl")
GENERATOR = SHARED / "gen_worklist.py"
TODAY_QUERY = SHARED / "query_today_us.dump"
DEFAULT_OUT = ROOT / "bench" / "results" / "mwl.json"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_URL = "postgres://postgres@127.0.0.1:5432/bench_mwl"
PG_NAME = "bench_mwl"
CALLING_AE = "FINDSCU"
RADFLOW_AE = "RADFLOW"
# The generator's defaults (gen_worklist.py --days 30 --stations 10).
DAYS, STATIONS = 30, 10
DAY, WEEK = "20261115", "20261109-20261115"
NAME_PATTERN = "SMI*"
ACCESSION_INDEX = 4321
QUERY_NAMES = ("station_day", "patient_name", "accession", "station_week")
#: The stations of the load test: every US station and a few of the others.
LOAD_STATIONS = (
    [f"US{i}" for i in range(10)]
    + [f"CT{i}" for i in range(3)]
    + [f"MR{i}" for i in range(3)]
    + [f"CR{i}" for i in range(2)]
    + [f"MG{i}" for i in range(2)]
)
TARGET_RATIO = 25.0
TARGET_MEDIAN_MS = 20.0
TARGET_FLOOR_FACTOR = 1.5
#: Peers read every worklist file per query (4-7 s each at 100,000 here) and RadFlow's larger
#: answers run to 1,400 matches: from this size on, ``--peer-repeat-large`` and
#: ``--repeat-large`` rounds instead of ``--repeat``.
LARGE = 50_000


NOTES = [
    "process: one /usr/bin/findscu -W process per query, wall time, process start included.",
    "server_cost: one pynetdicom association per server (TCP_NODELAY and quick ACKs on the "
    "client), send_c_find to the final response; the target figures. pynetdicom's client adds "
    "about 2 ms per answer (its DUL reactor polls each PDU with 1 ms sleeps), the same for "
    "every server: it dominates queries with many matches.",
    "server_cost_findscu: (findscu --repeat k+1 - findscu) / k, dcmtk's C client on one "
    "association, a mean. findscu sets no TCP_NODELAY: a server that does not ACK at once "
    "pays the delayed ACK per query (see the floors: ~45 ms bare pynetdicom, ~90 ms wlmscpfs); "
    "RadFlow quick-ACKs, the peers do not, so ratios from this view favour RadFlow.",
    "radflow_split: RadFlow's C-FIND handler in-process on the bench database (parse, "
    "database read + matching, access log, answer encoding); radflow_outside_handler_ms = "
    "server_cost median - handler median (pynetdicom on both sides, loopback).",
    "At N >= 50,000 RadFlow and the floors get --repeat-large rounds (default 7: p95 is then "
    "the largest sample) and the peers --peer-repeat-large (default 1: each query is a full "
    "scan of N files, 4-7 s here); the worklist files are read once into the page cache first.",
]


def load_average() -> list[float]:
    """The ``uptime`` load averages (1, 5, 15 min): other work on the machine skews timings."""
    return [round(value, 2) for value in os.getloadavg()]


def log(message: str) -> None:
    print(f"[mwl {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "median_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(p95, 2),
        "min_ms": round(ordered[0], 2),
        "max_ms": round(ordered[-1], 2),
    }


# --- the entries ----------------------------------------------------------------------------

_TOP_FIELDS = {
    0x00080050: "accession_number",
    0x00100010: "patient_name",
    0x00100020: "patient_id",
    0x00100030: "birth_date",
    0x00100040: "sex",
    0x0020000D: "study_instance_uid",
    0x00321060: "requested_procedure_description",
    0x00401001: "requested_procedure_id",
    0x00401003: "priority",
}
_SPS_FIELDS = {
    0x00080060: "modality",
    0x00400001: "station_ae",
    0x00400002: "sps_date",
    0x00400003: "sps_time",
    0x00400006: "performing_physician",
    0x00400007: "sps_description",
    0x00400009: "sps_id",
    0x00400010: "station_name",
    0x00400011: "location",
}


def entry_of(elements: list[Element]) -> dict[str, str]:
    """The plain values of one parsed worklist dump."""
    entry: dict[str, str] = {}
    for element in elements:
        if element.tag == 0x00400100:
            for sps in element.items[0]:
                if sps.tag in _SPS_FIELDS:
                    entry[_SPS_FIELDS[sps.tag]] = sps.value
        elif element.tag in _TOP_FIELDS:
            entry[_TOP_FIELDS[element.tag]] = element.value
    return entry


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_worklist", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_batch(batch: list[tuple[Path, bytes]]) -> None:
    for path, data in batch:
        path.write_bytes(data)


def generate(n: int, seed: int, work: Path) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """N entries as worklist files in ``work/wl-N/RADFLOW`` and as plain values (returned and in
    ``work/entries.json``); reused when ``work`` already holds them for this N and seed."""
    stamp = work / f"generated-{n}-{seed}.json"
    entries_path = work / "entries.json"
    if stamp.exists() and entries_path.exists():
        reused: dict[str, Any] = json.loads(stamp.read_text())
        reused["reused"] = True
        return json.loads(entries_path.read_text()), reused
    gen = _generator()
    target = work / f"wl-{n}" / "RADFLOW"
    shutil.rmtree(target.parent, ignore_errors=True)
    target.mkdir(parents=True)
    report: dict[str, Any] = {"entries": n, "seed": seed, "reused": False}

    # The script's own output equals the in-memory dumps (same function, seed and order).
    check_dir = work / "check-dumps"
    shutil.rmtree(check_dir, ignore_errors=True)
    subprocess.run(  # noqa: S603
        [sys.executable, str(GENERATOR), str(check_dir), "200", "--seed", str(seed)],
        check=True,
        timeout=60,
    )
    rnd = random.Random(seed)
    same = sum(
        (check_dir / f"e{i:07d}.dump").read_text() == gen.entry(i, rnd, DAYS, STATIONS)
        for i in range(200)
    )
    report["script_output_identical"] = f"{same}/200"

    started = time.perf_counter()
    rnd = random.Random(seed)
    entries: list[dict[str, str]] = []
    batch: list[tuple[Path, bytes]] = []
    encode_seconds = 0.0
    with ThreadPoolExecutor(4) as pool:
        futures = []
        for i in range(n):
            t = time.perf_counter()
            elements = parse_dump(gen.entry(i, rnd, DAYS, STATIONS))
            entries.append(entry_of(elements))
            batch.append((target / f"e{i:07d}.wl", encode_file(elements, new_instance_uid(i))))
            encode_seconds += time.perf_counter() - t
            if len(batch) == 1000:
                futures.append(pool.submit(_write_batch, batch))
                batch = []
        futures.append(pool.submit(_write_batch, batch))
        for future in futures:
            future.result()
    (target / "lockfile").touch()
    report["generate_parse_encode_seconds"] = round(encode_seconds, 2)
    report["worklist_files_seconds"] = round(time.perf_counter() - started, 2)

    # A sample checked byte for byte against dump2dcm.
    rnd = random.Random(seed)
    picks = set(random.Random(seed + 1).sample(range(n), min(20, n)))
    sample_dir = work / "sample-dumps"
    shutil.rmtree(sample_dir, ignore_errors=True)
    sample_dir.mkdir()
    dumps = []
    for i in range(max(picks) + 1):
        text = gen.entry(i, rnd, DAYS, STATIONS)
        if i in picks:
            path = sample_dir / f"e{i:07d}.dump"
            path.write_text(text)
            dumps.append(path)
    report["dump2dcm_check"] = verify_against_dump2dcm(dumps, work / "sample-wl")

    # A generated MRN that repeats is another patient: another assigning authority.
    seen: dict[str, int] = {}
    for entry in entries:
        count = seen.get(entry["patient_id"], 0) + 1
        seen[entry["patient_id"]] = count
        entry["issuer"] = "BENCH" if count == 1 else f"BENCH-{count}"
    report["repeated_mrns"] = sum(1 for e in entries if e["issuer"] != "BENCH")
    t = time.perf_counter()
    entries_path.write_text(json.dumps(entries))
    report["entries_json_seconds"] = round(time.perf_counter() - t, 2)
    report["total_seconds"] = round(time.perf_counter() - started, 2)
    stamp.write_text(json.dumps(report))
    return entries, report


def worklist_dir(work: Path, largest: int, n: int) -> Path:
    """``wl-n`` (holding ``RADFLOW/``) with the first n files of the largest set (hard links)."""
    if n == largest:
        return work / f"wl-{n}"
    target = work / f"wl-{n}" / "RADFLOW"
    if not (target / "lockfile").exists():
        shutil.rmtree(target.parent, ignore_errors=True)
        target.mkdir(parents=True)
        source = work / f"wl-{largest}" / "RADFLOW"
        for i in range(n):
            os.link(source / f"e{i:07d}.wl", target / f"e{i:07d}.wl")
        (target / "lockfile").touch()
    return target.parent


# --- the queries ----------------------------------------------------------------------------


def _with(text: str, tag: str, value: str) -> str:
    """The dump ``text`` with element ``tag`` (e.g. "(0040,0002)") set to ``value``."""
    pattern = re.compile(rf"^(\s*{re.escape(tag)}\s+\S+\s+)\[[^\]]*\]", re.M)
    new, count = pattern.subn(lambda m: f"{m.group(1)}[{value}]", text)
    if count != 1:
        raise ValueError(f"{tag} is not in the query dump once")
    return new


def query_dumps(smallest: int) -> dict[str, str]:
    """The four queries; the accession is one every size holds."""
    base = TODAY_QUERY.read_text()
    name = _with(_with(base, "(0010,0010)", NAME_PATTERN), "(0040,0001)", "")
    index = min(ACCESSION_INDEX, smallest - 1)
    accession = _with(base, "(0008,0050)", f"ACC{index:08d}")
    for tag in ("(0008,0060)", "(0040,0001)", "(0040,0002)"):
        accession = _with(accession, tag, "")
    return {
        "station_day": base,
        "patient_name": name,
        "accession": accession,
        "station_week": _with(base, "(0040,0002)", WEEK),
    }


def station_dump(station: str) -> str:
    modality = station.rstrip("0123456789")
    return _with(_with(TODAY_QUERY.read_text(), "(0008,0060)", modality), "(0040,0001)", station)


def _in_range(value: str, spec: str) -> bool:
    if "-" not in spec:
        return value == spec
    low, high = spec.split("-")
    return (not low or value >= low) and (not high or value <= high)


def expected_count(dump: str, entries: list[dict[str, str]]) -> int:
    """Matches computed from the entries themselves (the keys the queries use)."""
    elements = parse_dump(dump)
    top = {e.tag: e.value for e in elements if e.vr != "SQ"}
    sps = {e.tag: e.value for e in next(x for x in elements if x.vr == "SQ").items[0]}
    accession, name = top.get(0x00080050, ""), top.get(0x00100010, "")
    modality, station, day = (
        sps.get(0x00080060, ""),
        sps.get(0x00400001, ""),
        sps.get(0x00400002, ""),
    )
    count = 0
    for e in entries:
        if accession and e["accession_number"] != accession:
            continue
        if name and not re.fullmatch(re.escape(name).replace(r"\*", ".*"), e["patient_name"]):
            continue
        if modality and e["modality"] != modality:
            continue
        if station and e["station_ae"] != station:
            continue
        if day and not _in_range(e["sps_date"], day):
            continue
        count += 1
    return count


@dataclass
class Query:
    name: str
    dump: str
    file: Path
    identifier: Any  # pydicom Dataset


def write_query(name: str, dump: str, directory: Path) -> Query:
    from pydicom import dcmread
    from pydicom.dataset import Dataset

    directory.mkdir(parents=True, exist_ok=True)
    source = directory / f"{name}.dump"
    source.write_text(dump)
    target = directory / f"{name}.dcm"
    subprocess.run([DUMP2DCM, "-q", "-g", str(source), str(target)], check=True, timeout=30)  # noqa: S603
    identifier = Dataset(dcmread(target))  # the data set without its file meta
    return Query(name, dump, target, identifier)


# --- measuring ------------------------------------------------------------------------------

_PENDING = re.compile(rb"Find Response: \d+ \(Pending\)")
_ERROR_LINE = re.compile(rb"^[EF]: .*$", re.M)


def findscu(
    server: Server,
    query: Query,
    *,
    calling: str = CALLING_AE,
    timeout: float = 600,
    repeat: int = 1,
) -> tuple[float, int, str | None]:
    """One ``findscu -W`` process (``repeat`` queries on its one association): wall
    milliseconds, matches, error (or None)."""
    started = time.perf_counter()
    options = [] if repeat == 1 else ["--repeat", str(repeat)]
    try:
        done = subprocess.run(  # noqa: S603
            [
                FINDSCU,
                "-W",
                *options,
                "-aet",
                calling,
                "-aec",
                server.ae_title,
                "127.0.0.1",
                str(server.port),
                str(query.file),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return (time.perf_counter() - started) * 1000, 0, f"timeout after {timeout:.0f} s"
    wall = (time.perf_counter() - started) * 1000
    matches = len(_PENDING.findall(done.stderr))
    errors = _ERROR_LINE.findall(done.stderr)
    error = None
    if done.returncode != 0 or errors:
        error = f"exit {done.returncode}: " + " | ".join(
            e.decode(errors="replace") for e in errors[:3]
        )
    return wall, matches, error


_QUICKACK = getattr(socket, "TCP_QUICKACK", None)


class _QuickAckSocket(socket.socket):
    """The client's socket, re-arming ``TCP_QUICKACK`` after each read (Linux)."""

    __slots__ = ()

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        data = super().recv(bufsize, flags)
        if _QUICKACK is not None:
            with contextlib.suppress(OSError):
                self.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
        return data


def _neutral_socket(event: Any) -> None:
    """``EVT_CONN_OPEN`` of the measuring client: ``TCP_NODELAY`` and quick ACKs.

    pynetdicom writes a request's command and data set as separate PDUs; without these the
    second waits for the server's delayed ACK (about 40 ms on Linux loopback) unless the server
    ACKs at once, and the "server cost" would be the two TCP stacks' dance (52 ms against the
    bare pynetdicom floor, 8 ms with them). The measuring client takes that out for every
    server alike; the per-process way keeps findscu as modalities run it.
    """
    sock = event.assoc.dul.socket.socket
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if _QUICKACK is not None and type(sock) is socket.socket:
        sock.__class__ = _QuickAckSocket


def findscu_marginal(server: Server, query: Query, extra: int) -> dict[str, Any]:
    """Server cost seen by dcmtk's C client: (one process running 1 + ``extra`` queries on its
    association - one process running 1) / ``extra``. A mean over ``extra`` queries, not a
    median; pynetdicom's client adds about 2 ms per answer (its reactor polls every 1 ms for
    each PDU), which this leaves out."""
    one_ms, one_matches, one_error = findscu(server, query)
    many_ms, many_matches, many_error = findscu(server, query, repeat=extra + 1)
    error = one_error or many_error
    if error or many_matches != (extra + 1) * one_matches:
        return {"error": error or f"{many_matches} answers to {extra + 1} queries"}
    return {
        "mean_ms": round((many_ms - one_ms) / extra, 2),
        "queries": extra,
        "matches": one_matches,
    }


class FindClient:
    """One pynetdicom association kept open to a server (re-opened if the server drops it)."""

    def __init__(self, server: Server) -> None:
        from pynetdicom import AE

        self.server = server
        self.ae = AE(ae_title=CALLING_AE)
        self.ae.acse_timeout = 30
        self.ae.dimse_timeout = 600
        self.ae.network_timeout = 600
        self.ae.maximum_pdu_size = 0
        self.ae.add_requested_context(MWL_FIND)
        self.assoc: Any = None
        self.reconnects = -1

    def _open(self) -> None:
        if self.assoc is not None and self.assoc.is_established:
            return
        self.assoc = self.ae.associate(
            "127.0.0.1",
            self.server.port,
            ae_title=self.server.ae_title,
            evt_handlers=[(evt.EVT_CONN_OPEN, _neutral_socket)],
        )
        self.reconnects += 1
        if not self.assoc.is_established:
            raise RuntimeError(f"{self.server.name}: association not established")

    def find(self, identifier: Any) -> tuple[float, int, str | None]:
        """Milliseconds from the request to the final response, matches, error (or None)."""
        self._open()
        matches = 0
        final: int | None = None
        started = time.perf_counter()
        for status, _answer in self.assoc.send_c_find(identifier, MWL_FIND):
            code = getattr(status, "Status", None)
            if code in (0xFF00, 0xFF01):
                matches += 1
            else:
                final = code
        elapsed = (time.perf_counter() - started) * 1000
        error = None if final == 0x0000 else f"final status {final!r}"
        return elapsed, matches, error

    def close(self) -> None:
        if self.assoc is not None and self.assoc.is_established:
            with contextlib.suppress(Exception):
                self.assoc.release()


@dataclass
class Samples:
    times: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    matches: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    errors: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def add(self, server: str, query: str, result: tuple[float, int, str | None]) -> None:
        ms, matches, error = result
        key = (server, query)
        if error:
            self.errors.setdefault(key, []).append(error)
            return
        self.times.setdefault(key, []).append(ms)
        self.matches.setdefault(key, set()).add(matches)

    def table(self, servers: list[str], queries: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for server in servers:
            out[server] = {}
            for query in queries:
                key = (server, query)
                cell = summary(self.times.get(key, []))
                found = sorted(self.matches.get(key, set()))
                cell["matches"] = found[0] if len(found) == 1 else found
                errors = self.errors.get(key, [])
                cell["errors"] = len(errors)
                if errors:
                    cell["first_errors"] = errors[:3]
                out[server][query] = cell
        return out


def rounds(
    servers: list[Server],
    queries: list[Query],
    repeat: dict[str, int],
    measure: Callable[[Server, Query], tuple[float, int, str | None]],
    warmup: int = 1,
) -> Samples:
    """``repeat[server]`` rounds, each one query of each kind to each server in turn (servers
    with fewer rounds drop out), after ``warmup`` unrecorded rounds."""
    samples = Samples()
    most = max(repeat.values())
    for r in range(-warmup, most):
        for server in servers:
            if r >= repeat[server.name]:
                continue
            if r < 0 and repeat[server.name] < 5:
                continue  # the slow peers: no warm-up (it is a full file scan every time)
            for query in queries:
                result = measure(server, query)
                if r >= 0:
                    samples.add(server.name, query.name, result)
    return samples


# --- RadFlow and its databases --------------------------------------------------------------


def radflow_env(db: str, data_dir: Path, port: int, secret: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("DATABASE_URL", "RADFLOW_TESTING", "DEBUG", "RADFLOW_DICOM_AE_TITLE"):
        env.pop(name, None)
    env.update(
        {
            "RADFLOW_DATA_DIR": str(data_dir),
            "SECRET_KEY": secret,
            "DJANGO_SETTINGS_MODULE": "radflow.settings",
            "PYTHONUNBUFFERED": "1",
            "RADFLOW_DICOM_PORT": str(port),
            "RADFLOW_DICOM_AE_TITLE": RADFLOW_AE,
        }
    )
    if db == "postgresql":
        env["DATABASE_URL"] = PG_URL
    return env


def _env_maker(db: str, data_dir: Path, secret: str) -> Callable[[int], dict[str, str]]:
    def make(port: int) -> dict[str, str]:
        return radflow_env(db, data_dir, port, secret)

    return make


def pg_recreate() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_NAME}")


def pg_drop() -> None:
    import psycopg

    with contextlib.suppress(Exception), psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)")


def run_loader(env: dict[str, str], *args: str, timeout: float = 1800) -> dict[str, Any]:
    """``bench/mwl_load.py`` with the bench database's environment; its JSON line."""
    command = [str(BIN / "python"), str(ROOT / "bench" / "mwl_load.py"), *args]
    process = subprocess.Popen(  # noqa: S603
        command,
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=sys.stderr,
        start_new_session=True,
    )
    STARTED.append(process)  # stop_all ends it too
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_process(process)
        raise
    if process.returncode != 0:
        raise subprocess.CalledProcessError(process.returncode, command)
    report: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return report


def start_radflow(db: str, env: dict[str, str], port: int, log_path: Path) -> Server:
    """``radflow dicom`` as the Procfile runs it, on the bench database and a free port."""
    process = spawn([str(BIN / "radflow"), "dicom"], log_path, env=env, cwd=ROOT)
    return Server(
        f"radflow_{db}",
        RADFLOW_AE,
        port,
        process,
        log_path,
        ready_text=f":{port}",
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads) from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


_ASSOCIATION = re.compile(r"DICOM association from (\S*) at \S+ (accepted|rejected): (.+)$")


def association_log(path: Path) -> dict[str, Any]:
    """How RadFlow's server decided the bench's associations, and its warnings and errors."""
    outcomes: dict[str, int] = {}
    empty_calling_ae = 0
    problems: dict[str, int] = {}
    if not path.exists():
        return {}
    for line in path.read_text(errors="replace").splitlines():
        found = _ASSOCIATION.search(line)
        if found:
            key = f"{found.group(2)}: {found.group(3)}"
            outcomes[key] = outcomes.get(key, 0) + 1
            empty_calling_ae += found.group(1) == ""
        elif " ERROR " in line or " WARNING " in line or "Traceback" in line:
            key = re.sub(r"^\S+ \S+ ", "", line)[:160]
            problems[key] = problems.get(key, 0) + 1
    return {
        "associations": outcomes,
        "logged_with_empty_calling_ae": empty_calling_ae,
        "warnings_and_errors": dict(sorted(problems.items(), key=lambda kv: -kv[1])[:10]),
    }


# --- load -----------------------------------------------------------------------------------


def load_test(
    server: Server, stations: dict[str, Query], expected: dict[str, int], seconds: float
) -> dict[str, Any]:
    """Every station runs findscu with its own AE title and its own day, back to back."""
    times: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(stations) + 1)
    deadline = [0.0]

    def station_loop(title: str, query: Query) -> None:
        barrier.wait()
        while time.monotonic() < deadline[0]:
            ms, matches, error = findscu(server, query, calling=title, timeout=120)
            with lock:
                if error:
                    errors.append(f"{title}: {error}")
                elif matches != expected[title]:
                    errors.append(f"{title}: {matches} matches, expected {expected[title]}")
                else:
                    times.append(ms)

    threads = [
        threading.Thread(target=station_loop, args=(title, query), daemon=True)
        for title, query in stations.items()
    ]
    for thread in threads:
        thread.start()
    load_before = load_average()
    cpu_before = cpu_seconds(server.process.pid)
    deadline[0] = time.monotonic() + seconds
    started = time.monotonic()
    barrier.wait()
    for thread in threads:
        thread.join(seconds + 180)
    elapsed = time.monotonic() - started
    cpu = cpu_seconds(server.process.pid) - cpu_before
    done = len(times) + len(errors)
    return {
        "modalities": len(stations),
        "seconds": round(elapsed, 1),
        "queries": done,
        "queries_per_second": round(done / elapsed, 1) if elapsed else None,
        "matches_per_query": {t: expected[t] for t in stations},
        "wall": summary(times),
        "errors": len(errors),
        "first_errors": errors[:5],
        "server_cpu_seconds": round(cpu, 1),
        "server_cpu_ms_per_query": round(1000 * cpu / done, 1) if done else None,
        "load_average_before": load_before,
        "load_average_after": load_average(),
    }


# --- the run --------------------------------------------------------------------------------


@contextlib.contextmanager
def started(starters: list[Callable[[], Server]]) -> Iterator[list[Server]]:
    """The servers ``starters`` start, answering associations, for the block; all stopped
    after it, also when one fails to start."""
    servers: list[Server] = []
    try:
        for start in starters:
            servers.append(start())
        for server in servers:
            server.wait_ready(calling=CALLING_AE)
        for server in servers:  # one that lost its port to another exits after a while
            if server.process.poll() is not None:
                raise RuntimeError(f"{server.name} exited: {server.log.read_text()[-2000:]}")
        yield servers
        for server in servers:
            if server.process.poll() is not None:
                raise RuntimeError(f"{server.name} died during the measurements")
    finally:
        for server in servers:
            server.stop()


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 2)


def measure_size(
    n: int,
    args: argparse.Namespace,
    work: Path,
    largest: int,
    entries: list[dict[str, str]],
    dbs: list[str],
    envs: dict[str, Callable[[int], dict[str, str]]],
    queries: list[Query],
    station_queries: dict[str, Query],
) -> dict[str, Any]:
    result: dict[str, Any] = {"entries": n}
    subset = entries[:n]
    expected = {q.name: expected_count(q.dump, subset) for q in queries}
    result["expected_matches"] = expected
    wl = worklist_dir(work, largest, n)
    empty = work / "wl-empty"
    (empty / "RADFLOW").mkdir(parents=True, exist_ok=True)
    (empty / "RADFLOW" / "lockfile").touch()
    logs = work / "logs"
    logs.mkdir(exist_ok=True)

    def radflow_starter(db: str) -> Callable[[], Server]:
        def start() -> Server:
            port = free_port()
            return start_radflow(db, envs[db](port), port, logs / f"radflow-{db}-{n}.log")

        return start

    starters: list[Callable[[], Server]] = [
        lambda: start_floor_pynetdicom(free_port(), logs / f"floor-pynetdicom-{n}.log"),
        lambda: start_wlmscpfs(
            empty, free_port(), logs / f"floor-wlmscpfs-{n}.log", name="floor_wlmscpfs"
        ),
    ]
    if not args.skip_peers:
        starters.append(lambda: start_wlmscpfs(wl, free_port(), logs / f"wlmscpfs-{n}.log"))
        starters.append(
            lambda: start_orthanc(
                wl / "RADFLOW",
                work / f"orthanc-{n}",
                free_port(),
                free_port(),
                logs / f"orthanc-{n}.log",
            )
        )
    starters.extend(radflow_starter(db) for db in dbs)
    qnames = [q.name for q in queries]

    # The peers read every file per query: start them with the files in the page cache, as a
    # server in steady state has them (cold, the first queries at 100,000 outlast findscu's 60 s
    # socket timeout on this machine).
    t = time.perf_counter()
    for path in (wl / "RADFLOW").iterdir():
        path.read_bytes()
    result["page_cache_warm_seconds"] = round(time.perf_counter() - t, 2)

    with started(starters) as servers:
        names = [s.name for s in servers]
        peers = [name for name in ("wlmscpfs", "orthanc") if name in names]
        ours = args.repeat_large if n >= LARGE else args.repeat
        theirs = args.peer_repeat_large if n >= LARGE else args.repeat
        repeat = {s.name: (theirs if s.name in peers else ours) for s in servers}
        result["repeat"] = repeat
        log(f"N={n}: per-process rounds ({', '.join(names)})")
        phase_load = load_average()
        process = rounds(servers, queries, repeat, lambda s, q: findscu(s, q))
        result["process"] = process.table(names, qnames)
        result["process_load_average"] = [phase_load, load_average()]

        log(f"N={n}: server-cost rounds")
        clients = {s.name: FindClient(s) for s in servers}
        cpu_before = {
            s.name: cpu_seconds(s.process.pid) for s in servers if s.name.startswith("radflow")
        }
        phase_load = load_average()
        try:
            cost = rounds(servers, queries, repeat, lambda s, q: clients[s.name].find(q.identifier))
        finally:
            for client in clients.values():
                client.close()
        result["server_cost"] = cost.table(names, qnames)
        result["server_cost_load_average"] = [phase_load, load_average()]
        result["server_cost_reconnects"] = {
            k: c.reconnects for k, c in clients.items() if c.reconnects
        }
        for name, before in cpu_before.items():
            server = next(s for s in servers if s.name == name)
            queries_run = (ours + 1) * len(queries) + 1  # + warm-up round + the echo
            result.setdefault("radflow_cpu_ms_per_query_server_cost", {})[name] = round(
                1000 * (cpu_seconds(server.process.pid) - before) / queries_run, 2
            )

        log(f"N={n}: server cost with dcmtk's client (findscu --repeat)")
        native: dict[str, Any] = {}
        for server in servers:
            if server.name in peers and n >= LARGE:
                continue  # a full scan of N files per query: the pynetdicom figures suffice
            extra = 4 if server.name in peers else (5 if n >= LARGE else 10)
            native[server.name] = {q.name: findscu_marginal(server, q, extra) for q in queries}
        result["server_cost_findscu"] = native

        # Do the servers agree with each other and with the entries?
        agreement: dict[str, Any] = {}
        for query in qnames:
            counts = {"entries": expected[query]}
            for server_name in names:
                if server_name.startswith("floor"):
                    continue
                for way, table in (
                    ("process", result["process"]),
                    ("server_cost", result["server_cost"]),
                ):
                    counts[f"{server_name}/{way}"] = table[server_name][query]["matches"]
            values = {json.dumps(v) for v in counts.values()}
            agreement[query] = {"counts": counts, "agree": len(values) == 1}
        result["matches"] = agreement

        if n == largest and args.load_seconds > 0:
            expected_station = {
                t: expected_count(q.dump, subset) for t, q in station_queries.items()
            }
            for server in servers:
                if not server.name.startswith("radflow"):
                    continue
                log(
                    f"N={n}: load, {len(station_queries)} modalities x "
                    f"{args.load_seconds:.0f} s on {server.name}"
                )
                result.setdefault("load", {})[server.name] = load_test(
                    server, station_queries, expected_station, args.load_seconds
                )

    result["radflow_log"] = {
        f"radflow_{db}": association_log(logs / f"radflow-{db}-{n}.log") for db in dbs
    }

    # Ratios: the peers' median over RadFlow's, per query; RadFlow per process over the floor.
    ratios: dict[str, Any] = {}
    for db in dbs:
        name = f"radflow_{db}"
        per: dict[str, Any] = {}
        for query in qnames:
            cell: dict[str, Any] = {}
            for way in ("server_cost", "process"):
                ours = result[way][name][query].get("median_ms")
                for peer in peers:
                    cell[f"{way}_{peer}_over_radflow"] = ratio(
                        result[way][peer][query].get("median_ms"), ours
                    )
            ours_native = result["server_cost_findscu"].get(name, {}).get(query, {}).get("mean_ms")
            for peer in peers:
                theirs = result["server_cost_findscu"].get(peer, {}).get(query, {}).get("mean_ms")
                cell[f"server_cost_findscu_{peer}_over_radflow"] = ratio(theirs, ours_native)
            floor = result["process"]["floor_pynetdicom"][query].get("median_ms")
            cell["process_radflow_over_floor_pynetdicom"] = ratio(
                result["process"][name][query].get("median_ms"), floor
            )
            floor_w = result["process"]["floor_wlmscpfs"][query].get("median_ms")
            cell["process_radflow_over_floor_wlmscpfs"] = ratio(
                result["process"][name][query].get("median_ms"), floor_w
            )
            per[query] = cell
        ratios[name] = per
    result["ratios"] = ratios
    return result


def split_and_profile(
    n: int,
    dbs: list[str],
    envs: dict[str, Callable[[int], dict[str, str]]],
    queries: list[Query],
    args: argparse.Namespace,
    profile: bool,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    files = [str(q.file) for q in queries]
    for db in dbs:
        extra = ["--profile"] if profile else []
        try:
            out[f"radflow_{db}"] = run_loader(
                envs[db](0),
                "split",
                *files,
                "--repeat",
                str(5 if n >= LARGE else min(args.repeat, 10)),
                *extra,
                timeout=900,
            )
        except (subprocess.SubprocessError, ValueError) as error:  # RadFlow's code moved on
            out[f"radflow_{db}"] = {"error": repr(error)[:500], "queries": {}}
    return out


def evaluate_targets(
    results: dict[str, Any], dbs: list[str], sizes: list[int]
) -> list[dict[str, Any]]:
    small, large = str(min(sizes)), str(max(sizes))
    targets: list[dict[str, Any]] = []
    for db in dbs:
        name = f"radflow_{db}"
        ratios = results[small]["ratios"][name]
        worst = {
            peer: min(
                (ratios[q].get(f"server_cost_{peer}_over_radflow") or 0.0) for q in QUERY_NAMES
            )
            for peer in ("wlmscpfs", "orthanc")
            if f"server_cost_{peer}_over_radflow" in ratios["station_day"]
        }
        targets.append(
            {
                "target": f"server cost at N={small} >= {TARGET_RATIO:g}x lower than both peers",
                "server": name,
                "worst_ratio_per_peer": worst,
                "per_query": {
                    q: {p: ratios[q].get(f"server_cost_{p}_over_radflow") for p in worst}
                    for q in QUERY_NAMES
                },
                "met": bool(worst) and all(v >= TARGET_RATIO for v in worst.values()),
            }
        )
        medians = {q: results[large]["server_cost"][name][q].get("median_ms") for q in QUERY_NAMES}
        targets.append(
            {
                "target": f"server cost median <= {TARGET_MEDIAN_MS:g} ms at N={large}",
                "server": name,
                "median_ms": medians,
                "met": all(m is not None and m <= TARGET_MEDIAN_MS for m in medians.values()),
                "for_information_findscu_client_mean_ms": {
                    q: results[large]["server_cost_findscu"].get(name, {}).get(q, {}).get("mean_ms")
                    for q in QUERY_NAMES
                },
            }
        )
        for size in sizes:
            factors = {
                q: results[str(size)]["ratios"][name][q]["process_radflow_over_floor_pynetdicom"]
                for q in QUERY_NAMES
            }
            targets.append(
                {
                    "target": f"per process within {TARGET_FLOOR_FACTOR:g}x of the bare "
                    f"pynetdicom floor at N={size}",
                    "server": name,
                    "factor": factors,
                    "met": all(
                        f is not None and f <= TARGET_FLOOR_FACTOR for f in factors.values()
                    ),
                }
            )
        load = results[large].get("load", {}).get(name)
        if load is not None:
            targets.append(
                {
                    "target": f"no errors with {load['modalities']} modalities querying at once",
                    "server": name,
                    "errors": load["errors"],
                    "p95_ms": load["wall"].get("p95_ms"),
                    "met": load["errors"] == 0 and load["queries"] > 0,
                }
            )
    return targets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated entry counts")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=15, help="queries per server and kind")
    parser.add_argument(
        "--repeat-large",
        type=int,
        default=7,
        help=f"queries per server and kind at N >= {LARGE} (RadFlow's answers run to 1,400 "
        "matches there: keeps the default run near 10 minutes)",
    )
    parser.add_argument(
        "--peer-repeat-large",
        type=int,
        default=1,
        help=f"rounds for the peers at N >= {LARGE} (each query is a full scan of N files)",
    )
    parser.add_argument("--load-seconds", type=float, default=60.0)
    parser.add_argument("--load-modalities", type=int, default=len(LOAD_STATIONS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-peers", action="store_true", help="RadFlow and the floors only")
    parser.add_argument("--profile", action="store_true", help="cProfile the slowest query always")
    parser.add_argument("--work-dir", type=Path, help="keep (and reuse) the data here")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    if args.load_modalities > len(LOAD_STATIONS):
        parser.error(f"at most {len(LOAD_STATIONS)} modalities")

    # SIGTERM (a CI timeout, kill) unwinds like Ctrl-C, so every server started is stopped.
    def on_term(signum: int, frame: Any) -> None:
        stop_all()  # the loaders and servers first: threads may be waiting on them
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    load_before = load_average()
    started_at = time.monotonic()
    scratch = None
    if args.work_dir is None:
        scratch = tempfile.TemporaryDirectory(prefix="mwl-bench-")
        work = Path(scratch.name)
    else:
        work = args.work_dir
        work.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(50)
    report: dict[str, Any] = {
        "bench": "mwl",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "sizes": sizes,
        "databases": dbs,
        "repeat": args.repeat,
        "repeat_large": args.repeat_large,
        "peer_repeat_large": args.peer_repeat_large,
        "seed": args.seed,
    }
    try:
        largest = sizes[-1]
        log(f"generating {largest} entries")
        entries, generation = generate(largest, args.seed, work)
        report["generation"] = generation
        queries = [
            write_query(name, dump, work / "queries")
            for name, dump in query_dumps(sizes[0]).items()
        ]
        stations = LOAD_STATIONS[: args.load_modalities]
        station_queries = {
            t: write_query(f"load-{t}", station_dump(t), work / "queries") for t in stations
        }
        report["queries"] = {
            q.name: {
                "keys": [
                    line.strip()
                    for line in q.dump.splitlines()
                    if "[" in line and not line.strip().endswith("[]")
                ],
                "file": str(q.file),
            }
            for q in queries
        }

        envs: dict[str, Callable[[int], dict[str, str]]] = {}
        data_dirs: dict[str, Path] = {}
        for db in dbs:
            data_dirs[db] = work / f"radflow-{db}"
            data_dirs[db].mkdir(exist_ok=True)
            envs[db] = _env_maker(db, data_dirs[db], secret)
        loads: dict[str, Any] = {db: {} for db in dbs}
        for db in dbs:
            if db == "postgresql":
                pg_recreate()
            else:
                with contextlib.suppress(FileNotFoundError):
                    for suffix in ("", "-wal", "-shm"):
                        (data_dirs[db] / f"radflow.sqlite3{suffix}").unlink()

        results: dict[str, Any] = {}
        report["database_loads"] = loads
        report["results"] = results
        loaded = 0
        for n in sizes:
            log(f"loading entries {loaded}..{n} into {', '.join(dbs)}")
            extra = ["--migrate"] if loaded == 0 else []
            with ThreadPoolExecutor(len(dbs)) as pool:  # the databases load side by side
                jobs = {
                    db: pool.submit(
                        run_loader,
                        envs[db](0),
                        "load",
                        str(work / "entries.json"),
                        "--start",
                        str(loaded),
                        "--stop",
                        str(n),
                        *extra,
                    )
                    for db in dbs
                }
                for db, job in jobs.items():
                    loads[db][str(n)] = job.result()
            loaded = n
            results[str(n)] = measure_size(
                n, args, work, largest, entries, dbs, envs, queries, station_queries
            )
            split = split_and_profile(n, dbs, envs, queries, args, profile=False)
            results[str(n)]["radflow_split"] = split
            # What the handler does not explain: pynetdicom (DIMSE messages, PDUs, its reactor's
            # polling), loopback, and the client decoding the answers.
            results[str(n)]["radflow_outside_handler_ms"] = {
                name: {
                    q: round(
                        results[str(n)]["server_cost"][name][q].get("median_ms", 0.0)
                        - cell["handler_ms"],
                        2,
                    )
                    for q, cell in timings["queries"].items()
                }
                for name, timings in split.items()
            }
        report["database_loads"] = loads
        report["results"] = results
        targets = evaluate_targets(results, dbs, sizes)
        if args.profile or not all(t["met"] for t in targets):
            log("profiling RadFlow's queries in-process")
            report["profile"] = split_and_profile(largest, dbs, envs, queries, args, profile=True)
        report["targets"] = targets
        report["targets_met"] = {f"{t['server']}: {t['target']}": t["met"] for t in targets}
    except Exception:  # write what was measured, and why the rest was not
        report["error"] = traceback.format_exc()[-3000:]
        log("failed:\n" + report["error"])
    finally:
        stop_all()
        if "postgresql" in dbs and args.work_dir is None:
            pg_drop()
        if scratch is not None:
            scratch.cleanup()
    report["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "note": "shared machine (other helpers and CI run here): compare ratios within this run",
    }
    report["run_seconds"] = round(time.monotonic() - started_at, 1)
    report["notes"] = NOTES
    text = json.dumps(report, indent=2)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    for key, met in report.get("targets_met", {}).items():
        log(f"{'MET   ' if met else 'MISSED'} {key}")
    if "error" in report:
        sys.exit(1)


if __name__ == "__main__":
    main()
