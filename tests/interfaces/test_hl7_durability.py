"""Durability: 1,000 orders over 4 MLLP connections while ``radflow hl7`` is killed (SIGKILL)
twice; each sender re-sends whatever was not acknowledged AA, as an interface engine does.
Afterwards every order exists exactly once.

The listener runs as its own process (``python -m radflow hl7 --port N``) on a database file
(SQLite: a copy of the test database; PostgreSQL: the test database itself), so a kill can land
anywhere: between the two commits, mid-transaction, with an ACK unsent.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count

from radflow.interfaces.models import Hl7Message, Hl7Status
from radflow.orders.models import Order
from tests.core.hl7.messages import load, with_control_id
from tests.interfaces.hl7_world import Hl7World

pytestmark = pytest.mark.django_db(transaction=True)

ORDERS = 1000
SENDERS = 4
#: The listener is killed once this many orders have been acknowledged, and again at the second.
KILL_AFTER = (250, 600)
DEADLINE = 240.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


#: ZDS-1 of the fixture: the Study Instance UID the placer assigned (one per order).
STUDY_UID = b"1.2.840.113619.2.62.994044785528.20261202130000"


def messages() -> list[tuple[str, bytes]]:
    """Orders NW for 60 patients, half of them new to RadFlow (registered by their first order,
    possibly on two connections at once)."""
    template = load("orm_o01-nw-epic-v231.hl7")
    built = []
    for i in range(ORDERS):
        placer = f"D{i:05d}"
        mrn = f"0047{i % 60:04d}" if i % 2 else "00451234"
        raw = with_control_id(template, f"DUR-{i:05d}")
        raw = (
            raw.replace(b"EP100234", placer.encode())
            .replace(b"00451234^^^RGH", f"{mrn}^^^RGH".encode())
            .replace(STUDY_UID, STUDY_UID + f".{i + 1}".encode())  # each order its own study
        )
        built.append((placer, raw))
    return built


@dataclass
class Progress:
    acked: int = 0
    resent: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def read_ack(sock: socket.socket) -> bytes:
    data = b""
    while b"\x1c" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data[data.index(b"\x0b") + 1 : data.index(b"\x1c")]


def msa_code(ack: bytes) -> str:
    for line in ack.split(b"\r"):
        if line.startswith(b"MSA|"):
            return line.split(b"|")[1].decode()
    return "?"


def sender(port: int, batch: list[tuple[str, bytes]], progress: Progress, stop: float) -> None:
    """One interface engine queue: send, wait for the ACK, re-send until AA."""
    pending = list(batch)
    tried: set[str] = set()
    while pending and time.monotonic() < stop:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                while pending:
                    placer, raw = pending[0]
                    if placer in tried:
                        with progress.lock:
                            progress.resent += 1
                    tried.add(placer)
                    sock.sendall(b"\x0b" + raw + b"\x1c\r")
                    code = msa_code(read_ack(sock))
                    if code == "AE":
                        with progress.lock:
                            progress.errors.append(placer)
                    elif code != "AA":
                        continue  # AR (database busy): send it again
                    pending.pop(0)
                    with progress.lock:
                        progress.acked += 1
        except OSError:
            time.sleep(0.1)  # the listener is down: connect again when it is back


@pytest.fixture
def listener_database(hl7_world: Hl7World, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment that points ``radflow hl7`` at this test's data."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(RADFLOW_TESTING="1", PYTHONUNBUFFERED="1", RADFLOW_DATA_DIR=str(tmp_path))
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        with sqlite3.connect(tmp_path / "radflow.sqlite3") as copy:
            connection.connection.backup(copy)
    else:
        db = connection.settings_dict
        user = quote(db["USER"] or "")
        password = f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else ""
        env["DATABASE_URL"] = (
            f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
            f"{db['NAME']}"
        )
    yield env


def placer_counts(tmp_path: Path) -> dict[str, int]:
    if connection.vendor == "sqlite":
        with sqlite3.connect(tmp_path / "radflow.sqlite3") as db:
            rows = db.execute(
                "SELECT placer_order_number, COUNT(*) FROM orders_order "
                "WHERE placer_order_number LIKE 'D%' GROUP BY placer_order_number"
            ).fetchall()
        return {str(placer): int(n) for placer, n in rows}
    counted = (
        Order.objects.filter(placer_order_number__startswith="D")
        .values_list("placer_order_number")
        .annotate(n=Count("id"))
    )
    return {placer: n for placer, n in counted}


def message_statuses(tmp_path: Path) -> dict[str, int]:
    if connection.vendor == "sqlite":
        with sqlite3.connect(tmp_path / "radflow.sqlite3") as db:
            rows = db.execute(
                "SELECT status, COUNT(*) FROM interfaces_hl7message "
                "WHERE control_id LIKE 'DUR-%' GROUP BY status"
            ).fetchall()
        return {str(status): int(n) for status, n in rows}
    counted = (
        Hl7Message.objects.filter(control_id__startswith="DUR-")
        .values_list("status")
        .annotate(n=Count("id"))
    )
    return {status: n for status, n in counted}


def start(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "radflow", "hl7", "--host", "127.0.0.1", "--port", str(port)],
            cwd=settings.PROJECT_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def test_every_order_exists_once_after_two_sigkills(
    listener_database: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "listener.log"
    batch = messages()
    progress = Progress()
    stop = time.monotonic() + DEADLINE
    process = start(port, listener_database, log)
    kills = 0
    senders = [
        threading.Thread(target=sender, args=(port, batch[n::SENDERS], progress, stop))
        for n in range(SENDERS)
    ]
    try:
        for thread in senders:
            thread.start()
        for threshold in KILL_AFTER:
            while progress.acked < threshold and time.monotonic() < stop:
                time.sleep(0.01)
            process.send_signal(signal.SIGKILL)
            process.wait(30)
            kills += 1
            process = start(port, listener_database, log)
        for thread in senders:
            thread.join(max(1.0, stop - time.monotonic()))
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()

    assert kills == 2
    assert progress.errors == [], log.read_text()[-3000:]
    assert progress.acked == ORDERS, log.read_text()[-3000:]
    counts = placer_counts(tmp_path)
    assert len(counts) == ORDERS
    assert set(counts.values()) == {1}
    assert message_statuses(tmp_path) == {Hl7Status.APPLIED.value: ORDERS}
    assert progress.resent >= 1  # the kills cut off at least one exchange
