"""The schedule board under load: 20 coordinators and schedulers on the busiest site's board.

Builds the demo department (``radflow demo --seed 1``, real today) in a throw-away SQLite
database (or reuses ``--data-dir`` if it already holds one), starts the web server as the
Procfile does (gunicorn, 2 workers x 4 threads) on a free port, logs in ``--users`` users
(half coordinators, half schedulers) and has them, concurrently for ``--seconds``:

- load the whole board page of the busiest site (most exams today),
- poll its body every ``--poll`` seconds with the version they hold, as the page's htmx does
  every 15 s (204 while unchanged, the fresh body when something changed),
- reload the whole page every ``--reload`` polls.

One more user changes the board every ``--churn`` seconds (a waitlist entry added / removed,
which changes the board's version), so polls also return full bodies as on a busy day.

Server time is the board view's own ``Server-Timing: app;dur=`` (access checks, queries, the
audit rows, rendering; not the network or gunicorn's queue); wall time is the client's.
Prints one JSON document: p50 / p95 / max / count per kind of request.

    .venv/bin/python bench/board.py [--users 20] [--seconds 60] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = ROOT / ".venv" / "bin"
PASSWORD = "bench-board-" + "x" * 12
TARGET_P95_MS = 150.0


def _env(data_dir: str, secret: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "RADFLOW_DATA_DIR": data_dir,
            "SECRET_KEY": secret,
            "DJANGO_SETTINGS_MODULE": "radflow.settings",
            "PYTHONUNBUFFERED": "1",
        }
    )
    for name in ("DATABASE_URL", "RADFLOW_TESTING", "DEBUG"):
        env.pop(name, None)
    return env


def _radflow(env: dict[str, str], *args: str) -> None:
    # The commands' own output goes to stderr: stdout is the bench's JSON.
    subprocess.run(  # noqa: S603
        [str(BIN / "radflow"), *args], env=env, check=True, cwd=ROOT, stdout=sys.stderr
    )


def build(data_dir: str, env: dict[str, str]) -> float:
    """The demo department in ``data_dir`` (skipped when it is there already); seconds taken."""
    built = Path(data_dir) / "bench-board-demo-built"
    if built.exists():
        return 0.0
    started = time.perf_counter()
    _radflow(env, "migrate", "--no-input", "-v0")
    _radflow(env, "load_reference")
    _radflow(env, "demo", "--seed", "1", "--if-empty")
    _radflow(env, "collectstatic", "--no-input", "-v0")  # DEBUG is off: hashed static files
    built.write_text(time.strftime("%Y-%m-%d") + "\n")
    return time.perf_counter() - started


def prepare(data_dir: str, users: int) -> dict[str, Any]:
    """Bench logins (coordinators and schedulers) and the busiest site of today."""
    os.environ.update({"RADFLOW_DATA_DIR": data_dir, "DJANGO_SETTINGS_MODULE": "radflow.settings"})
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.db import connection
    from django.utils import timezone

    from radflow.accounts.services import user_create
    from radflow.core.exam_states import ExamState
    from radflow.core.roles import Role
    from radflow.exams.models import Exam
    from radflow.scheduling.board import board_for, busiest_site, site_today

    names = []
    for i in range(users + 1):
        name = f"bench{i:02d}"
        if not User.objects.filter(username=name).exists():
            role = Role.COORDINATOR if i % 2 == 0 else Role.SCHEDULER
            user_create(username=name, password=PASSWORD, roles=[role])
        names.append(name)
    site = busiest_site(on=timezone.localdate())
    assert site is not None, "the demo has no site"
    day = site_today(site)
    board = board_for(site=site, day=day)
    churn = (
        Exam.objects.filter(state=ExamState.AUTHORIZED)
        .exclude(order__waitlist_entries__status__in=["active", "offered"])
        .order_by("accession_number")
        .values_list("accession_number", flat=True)
        .first()
    )
    facts = {
        "site": site.code,
        "date": day.isoformat(),
        "rooms": len(board.columns),
        "exams_on_board": len(board.blocks),
        "users": names[:users],
        "churn_user": names[users],
        "churn_accession": churn,
    }
    connection.close()
    return facts


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """gunicorn as the Procfile runs it (2 workers, 4 threads each)."""
    process = subprocess.Popen(  # noqa: S603
        [
            str(BIN / "gunicorn"),
            "radflow.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
        stdout=sys.stderr,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("the web server did not start")


# --- a browser, minimal: one keep-alive connection, cookies, CSRF -------------------------------


class Browser:
    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, body: dict[str, str] | None = None, htmx: bool = False
    ) -> tuple[int, dict[str, str], bytes, float]:
        headers = {"Host": f"127.0.0.1:{self.port}", "Connection": "keep-alive"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
            headers["Referer"] = f"http://127.0.0.1:{self.port}{path}"
        if htmx:
            headers["HX-Request"] = "true"
        started = time.perf_counter()
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                payload = response.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt:
                    raise
        wall = (time.perf_counter() - started) * 1000
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        return response.status, dict(response.getheaders()), payload, wall

    def login(self, username: str) -> None:
        self.request("GET", "/accounts/login/")
        status, _headers, _, _ = self.request(
            "POST", "/accounts/login/", {"username": username, "password": PASSWORD}
        )
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"login of {username} failed ({status})")


def timing(headers: dict[str, str], name: str) -> float | None:
    """One metric of the ``Server-Timing`` header (``app``: time in the view, ``cpu``: its CPU)."""
    match = re.search(rf"\b{name};dur=([\d.]+)", headers.get("Server-Timing", ""))
    return float(match.group(1)) if match else None


@dataclass
class Samples:
    server: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)
    wall: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, headers: dict[str, str], wall: float) -> None:
        with self.lock:
            ms, cpu = timing(headers, "app"), timing(headers, "cpu")
            if ms is not None:
                self.server.setdefault(kind, []).append(ms)
            if cpu is not None:
                self.cpu.setdefault(kind, []).append(cpu)
            self.wall.setdefault(kind, []).append(wall)


VERSION = re.compile(rb'data-version="([0-9a-f]+)"')


def user_loop(
    port: int,
    username: str,
    facts: dict[str, Any],
    args: argparse.Namespace,
    samples: Samples,
    clock: Clock,
) -> None:
    browser = Browser(port)
    browser.login(username)
    query = {"site": facts["site"], "date": facts["date"]}
    page = f"/department/board/?{urlencode(query)}"
    deadline = clock.ready_and_wait()
    # Users did not all open the board in the same second: spread the first load over a poll.
    time.sleep(random.Random(username).uniform(0, min(args.poll, 5.0)))
    version = b""
    polls = 0
    while time.time() < deadline:
        if not version or polls % args.reload == 0:
            status, headers, body, wall = browser.request("GET", page)
            kind = "page"
        else:
            poll = f"/department/board/body/?{urlencode({**query, 'version': version.decode()})}"
            status, headers, body, wall = browser.request("GET", poll, htmx=True)
            kind = "poll_unchanged" if status == 204 else "poll_changed"
        if status not in (200, 204):
            samples.errors.append(f"{username} {kind}: HTTP {status}")
        else:
            samples.add(kind, headers, wall)
            found = VERSION.search(body)
            if found:
                version = found.group(1)
        polls += 1
        time.sleep(args.poll)


class Clock:
    """Everyone logs in first; then all start together and stop at the same deadline."""

    def __init__(self, parties: int, seconds: float) -> None:
        self.logged_in = threading.Barrier(parties + 1)
        self.go = threading.Barrier(parties + 1)
        self.seconds = seconds
        self.deadline = 0.0

    def ready_and_wait(self) -> float:
        self.logged_in.wait()
        self.go.wait()
        return self.deadline

    def start(self) -> float:
        self.logged_in.wait()
        self.deadline = time.time() + self.seconds
        self.go.wait()
        return self.deadline


def churn_loop(
    port: int, facts: dict[str, Any], args: argparse.Namespace, samples: Samples, deadline: float
) -> None:
    """Someone adds an exam to the waitlist and removes it again: the board's version changes."""
    accession = facts.get("churn_accession")
    if not accession:
        return
    browser = Browser(port)
    browser.login(facts["churn_user"])
    entry = re.compile(rb'action="/waitlist/([0-9a-f-]{36})/remove/"')
    while time.time() < deadline:
        _status, _, _, _ = browser.request("POST", "/waitlist/add/", {"accession": accession})
        time.sleep(args.churn / 2)
        _, _, listing, _ = browser.request("GET", f"/waitlist/?{urlencode({'q': accession})}")
        found = entry.search(listing)
        if found:
            browser.request("POST", f"/waitlist/{found.group(1).decode()}/remove/", {})
        samples.add("churn", {}, 0.0)
        time.sleep(args.churn / 2)


def summary(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"count": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "count": len(ordered),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(ordered[-1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between a user's polls")
    parser.add_argument("--reload", type=int, default=5, help="a full page load every N polls")
    parser.add_argument("--churn", type=float, default=10.0, help="seconds per add + remove")
    parser.add_argument("--data-dir", help="reuse (or keep) the demo database here")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/board.json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        data_dir = args.data_dir or scratch
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(50)
        env = _env(data_dir, secret)
        build_seconds = build(data_dir, env)
        facts = prepare(data_dir, args.users)
        port = free_port()
        server = start_server(env, port)
        samples = Samples()
        try:
            warm = Browser(port)
            warm.login(facts["users"][0])
            warm.request("GET", f"/department/board/?site={facts['site']}&date={facts['date']}")
            clock = Clock(args.users, args.seconds)
            threads = [
                threading.Thread(
                    target=user_loop,
                    args=(port, name, facts, args, samples, clock),
                    daemon=True,
                )
                for name in facts["users"]
            ]
            for thread in threads:
                thread.start()
            deadline = clock.start()
            churner = threading.Thread(
                target=churn_loop, args=(port, facts, args, samples, deadline), daemon=True
            )
            churner.start()
            for thread in threads:
                thread.join(args.seconds + 120)
            churner.join(30)
        finally:
            server.terminate()
            server.wait(20)

    loads = samples.server.get("page", []) + samples.server.get("poll_changed", [])
    everything = [v for values in samples.server.values() for v in values]
    result = {
        "bench": "board",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "server": "gunicorn 2 workers x 4 threads, SQLite (WAL)",
        "demo_build_seconds": round(build_seconds, 1),
        "site": facts["site"],
        "date": facts["date"],
        "rooms_on_board": facts["rooms"],
        "exams_on_board": facts["exams_on_board"],
        "users": args.users,
        "seconds": args.seconds,
        "poll_every_s": args.poll,
        "full_page_every_n_polls": args.reload,
        "server_time": {kind: summary(values) for kind, values in sorted(samples.server.items())},
        "server_time_board_renders": summary(loads),
        "server_time_all_requests": summary(everything),
        "server_cpu_time": {kind: summary(values) for kind, values in sorted(samples.cpu.items())},
        "machine_load_average": [round(x, 2) for x in os.getloadavg()],
        "cores": os.cpu_count(),
        "wall_time": {
            kind: summary(values)
            for kind, values in sorted(samples.wall.items())
            if kind != "churn"
        },
        "board_changes": len(samples.wall.get("churn", [])),
        "errors": samples.errors[:10],
        "error_count": len(samples.errors),
        "target_p95_ms": TARGET_P95_MS,
        "target_met": bool(loads) and summary(loads).get("p95_ms", 1e9) <= TARGET_P95_MS,
    }
    text = json.dumps(result, indent=2)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
