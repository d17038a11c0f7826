"""The MLLP listener over real TCP, with python-hl7's own MLLP client (``hl7.mllp``) as the EHR.

The listener answers from its connections' worker threads with their own database connections,
so these tests use committed data (``transactional_db``).
"""

from __future__ import annotations

import asyncio
import signal
import socket
import threading
import time
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from types import TracebackType
from typing import Any

import hl7.mllp  # type: ignore[import-untyped]
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from radflow.core.exam_states import ExamState
from radflow.interfaces.hl7_listener import RunningListener, frame, start_listener
from radflow.interfaces.models import DEAD_LETTER, Hl7Message, Hl7Status
from radflow.orders.models import Order
from radflow.patients.models import Patient
from tests.core.hl7.messages import load, replace_segment, with_control_id
from tests.interfaces.hl7_world import Ack, Hl7World, exam_for
from tests.interfaces.signals import retry_until, sigterm_when_handled

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 30.0


class Ehr:
    """One MLLP connection from the EHR's side: python-hl7's asyncio client, driven in step."""

    def __init__(self, port: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.reader, self.writer = self.run(hl7.mllp.open_hl7_connection("127.0.0.1", port))

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(coroutine, TIMEOUT))

    def send(self, raw: bytes) -> Ack:
        self.writer.writeblock(raw)
        self.run(self.writer.drain())
        return self.read()

    def send_bytes(self, data: bytes) -> None:
        self.writer.write(data)
        self.run(self.writer.drain())

    def read(self) -> Ack:
        return Ack.of(self.run(self.reader.readblock()))

    def closed_by_listener(self) -> bool:
        return bool(self.run(self.reader.read(1)) == b"")

    def close(self) -> None:
        self.writer.close()
        self.loop.run_until_complete(asyncio.sleep(0))
        self.loop.close()

    def __enter__(self) -> Ehr:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


@pytest.fixture
def listener(transactional_db: None) -> Iterator[RunningListener]:
    running = start_listener(host="127.0.0.1", port=0, frame_timeout=5.0)
    try:
        yield running
    finally:
        running.stop()


def dead_letters() -> list[Hl7Message]:
    return list(Hl7Message.objects.filter(status__in=DEAD_LETTER).order_by("created_at"))


def test_every_golden_message_over_one_connection(
    listener: RunningListener, hl7_world: Hl7World
) -> None:
    exam_for(hl7_world, "EP100240")
    exam_for(hl7_world, "EP100241", ExamState.IN_PROGRESS)
    exam_for(hl7_world, "EP100250", ExamState.COMPLETED, accession="RF00007001")
    exam_for(
        hl7_world,
        "EP100251",
        ExamState.COMPLETED,
        accession="RF00007002",
        exam_type="us-carotid-duplex",
    )
    exam_for(hl7_world, "EP900001", patient=hl7_world.duplicate)
    sequence = [
        "adt_a04-epic-v231-latin1.hl7",
        "adt_a01-epic-v251-utf8.hl7",
        "adt_a05-epic-v251.hl7",
        "adt_a08-epic-v231.hl7",
        "orm_o01-nw-epic-v231.hl7",
        "orm_o01-xo-epic-v231.hl7",
        "orm_o01-sc-epic-v231.hl7",
        "orm_o01-ca-epic-v231.hl7",
        "orm_o01-dc-epic-v231.hl7",
        "omg_o19-nw-epic-v251.hl7",
        "omi_o23-nw-epic-v251.hl7",
        "oru_r01-prelim-pscribe-v231.hl7",
        "oru_r01-final-pscribe-v251.hl7",
        "adt_a40-epic-v231.hl7",
    ]

    with Ehr(listener.port) as ehr:
        acks = {name: ehr.send(load(name)) for name in sequence}

    assert {name: ack.code for name, ack in acks.items()} == dict.fromkeys(sequence, "AA")
    for name, ack in acks.items():
        assert ack.acknowledges == Hl7Message.objects.get(raw=load(name)).control_id
        assert ack.version == ("2.3.1" if "v231" in name else "2.5.1")
    assert Patient.objects.get(mrn="00451900").family_name == "MÜLLER"
    assert Patient.objects.get(mrn="00451901").given_name == "ZOË"
    nw = Order.objects.get(placer_order_number="EP100234")
    assert (nw.priority, nw.exam.state) == ("routine", ExamState.REQUESTED)
    states = dict(Order.objects.values_list("placer_order_number", "exam__state"))
    assert states["EP100240"] == ExamState.CANCELLED
    assert states["EP100241"] == ExamState.DISCONTINUED
    assert states["EP100250"] == ExamState.REPORTED
    assert states["EP100251"] == ExamState.SIGNED
    assert Order.objects.get(placer_order_number="EP900001").patient == hl7_world.patient
    assert Order.objects.get(placer_order_number="EP200311").exam.accession_number == (
        "E2612020001"
    )
    assert dead_letters() == []


def test_many_connections_at_once_each_get_their_acks(
    listener: RunningListener, hl7_world: Hl7World
) -> None:
    """Eight senders order for the same new patient at once: one patient, every order."""
    nw = load("orm_o01-nw-epic-v231.hl7").replace(b"00451234^^^RGH", b"00456000^^^RGH")
    results: dict[int, list[str]] = {}

    def sender(n: int) -> None:
        with Ehr(listener.port) as ehr:
            results[n] = [
                ehr.send(
                    with_control_id(nw, f"C{n}-{k}")
                    .replace(b"EP100234", f"P{n}-{k}".encode())
                    .replace(b".20261202130000^EPIC", f".{n}.{k}^EPIC".encode())  # ZDS-1
                ).code
                for k in range(3)
            ]

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert results == {n: ["AA", "AA", "AA"] for n in range(8)}
    assert Patient.objects.filter(mrn="00456000").count() == 1
    assert Order.objects.filter(patient__mrn="00456000").count() == 24


def test_malformed_messages_get_ae_or_ar_and_land_in_the_dead_letter_list(
    listener: RunningListener, hl7_world: Hl7World
) -> None:
    orm = load("orm_o01-nw-epic-v231.hl7")
    cases = {
        "no MSH": b"\r".join(orm.split(b"\r")[1:]),
        "wrong separators": orm.replace(b"MSH|^~\\&|", b"MSH|^^\\&|", 1),
        "unknown trigger": with_control_id(orm, "M3").replace(b"ORM^O01", b"ORM^O99"),
        "bad date": replace_segment(
            with_control_id(load("adt_a08-epic-v231.hl7"), "M4"),
            "PID",
            "PID|1||00451234^^^RGH^MR||HARTWELL^MARGARET||19680231|F",
        ),
        "unknown exam code": with_control_id(orm, "M5").replace(b"76700^US", b"99999^US"),
    }

    with Ehr(listener.port) as ehr:
        acks = {what: ehr.send(raw) for what, raw in cases.items()}
        after = ehr.send(orm)

    assert {what: ack.code for what, ack in acks.items()} == {
        "no MSH": "AR",
        "wrong separators": "AR",
        "unknown trigger": "AR",
        "bad date": "AE",
        "unknown exam code": "AE",
    }
    assert acks["bad date"].error_location == "PID^1^7"
    assert acks["unknown exam code"].error_location == "OBR^1^4"
    assert after.code == "AA"  # the connection goes on
    assert [bytes(m.raw) for m in dead_letters()] == list(cases.values())


def test_a_one_megabyte_message_is_refused_and_the_connection_goes_on(
    listener: RunningListener, hl7_world: Hl7World
) -> None:
    orm = load("orm_o01-nw-epic-v231.hl7")
    huge = with_control_id(orm, "BIG-1") + b"\rNTE|3|L|" + b"x" * (1 << 20)
    assert len(huge) > settings.HL7_MAX_MESSAGE_BYTES

    with Ehr(listener.port) as ehr:
        ack = ehr.send(huge)
        after = ehr.send(orm)

    assert (ack.code, ack.acknowledges) == ("AR", "BIG-1")
    assert "more than RadFlow takes" in ack.text
    assert after.code == "AA"
    (kept,) = dead_letters()
    assert (kept.status, len(bytes(kept.raw)), kept.control_id) == (
        Hl7Status.REFUSED,
        64 * 1024,
        "",
    )
    assert "(MSH-10 BIG-1)" in kept.error


def test_a_large_message_within_the_limit_is_applied(
    listener: RunningListener, hl7_world: Hl7World
) -> None:
    long_note = b"\rNTE|3|L|" + b"Prior imaging history. " * 20_000  # 460 KB
    raw = load("orm_o01-nw-epic-v231.hl7").replace(b"\rDG1", long_note + b"\rDG1")

    with Ehr(listener.port) as ehr:
        assert ehr.send(raw).code == "AA"

    assert len(Order.objects.get().notes) > 400_000


def test_a_frame_cut_short_by_a_new_start_block_is_refused_and_the_next_applied(
    listener: RunningListener, hl7_world: Hl7World
) -> None:
    orm = load("orm_o01-nw-epic-v231.hl7")

    with Ehr(listener.port) as ehr:
        ehr.send_bytes(b"\x0b" + orm[:250])
        ehr.send_bytes(frame(orm))
        first, second = ehr.read(), ehr.read()

    assert (first.code, first.acknowledges) == ("AR", "EPIC-ORM-1001")
    assert "Truncated MLLP frame" in first.text
    assert second.code == "AA"
    assert Order.objects.count() == 1
    assert [bytes(m.raw) for m in dead_letters()] == [orm[:250]]


def test_a_connection_closed_in_the_middle_of_a_frame_is_answered_and_kept(
    listener: RunningListener, hl7_world: Hl7World
) -> None:
    orm = load("orm_o01-nw-epic-v231.hl7")

    with Ehr(listener.port) as ehr:
        ehr.send_bytes(b"\x0b" + orm[:300])
        ehr.writer.write_eof()
        ack = ehr.read()

    assert ack.code == "AR"
    (kept,) = dead_letters()
    assert bytes(kept.raw) == orm[:300]
    assert "connection ended" in kept.error


def test_bytes_outside_a_frame_get_ar_and_the_connection_is_closed(
    listener: RunningListener, hl7_world: Hl7World
) -> None:
    with Ehr(listener.port) as ehr:
        ehr.send_bytes(b"GET / HTTP/1.1\r\nHost: radflow\r\n\r\n")
        ack = ehr.read()
        assert ehr.closed_by_listener()

    assert ack.code == "AR"
    assert bytes(dead_letters()[0].raw).startswith(b"GET / HTTP/1.1")
    with Ehr(listener.port) as ehr:  # the listener is still there
        assert ehr.send(load("adt_a08-epic-v231.hl7")).code == "AA"


def test_the_same_message_on_two_connections_is_applied_once(
    listener: RunningListener, hl7_world: Hl7World
) -> None:
    orm = load("orm_o01-nw-epic-v231.hl7")

    with Ehr(listener.port) as one, Ehr(listener.port) as two:
        first, again = one.send(orm), two.send(orm)

    assert first.raw == again.raw
    assert first.code == "AA"
    assert Order.objects.count() == 1


def test_an_idle_connection_stays_open_between_messages(
    listener: RunningListener, hl7_world: Hl7World
) -> None:
    with Ehr(listener.port) as ehr:
        assert ehr.send(load("adt_a05-epic-v251.hl7")).code == "AA"
        time.sleep(1.0)
        assert ehr.send(load("adt_a08-epic-v231.hl7")).code == "AA"


# --- the command ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_procfile_starts_the_listener() -> None:
    procfile = Path(settings.PROJECT_DIR, "Procfile").read_text().splitlines()

    assert "hl7: radflow hl7" in procfile


def test_radflow_hl7_answers_until_sigterm(hl7_world: Hl7World) -> None:
    port = free_port()
    acks: list[str] = []

    def ehr() -> None:
        try:
            until = retry_until()
            while time.monotonic() < until:  # until it listens
                try:
                    with Ehr(port) as connection:
                        acks.append(connection.send(load("adt_a05-epic-v251.hl7")).code)
                        break
                except OSError:
                    time.sleep(0.1)
        finally:
            sigterm_when_handled(before)

    before = signal.getsignal(signal.SIGTERM)
    out = StringIO()
    caller = threading.Thread(target=ehr)
    caller.start()
    call_command("hl7", "--host", "127.0.0.1", "--port", str(port), stdout=out)
    caller.join(30)

    assert acks == ["AA"]
    lines = out.getvalue().splitlines()
    assert lines[0] == f"hl7: MLLP listener on 127.0.0.1:{port}"
    assert lines[-1] == "hl7: stopped"
    assert signal.getsignal(signal.SIGTERM) == before
    assert Patient.objects.filter(mrn="00451902").exists()


def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CommandError, match=f"cannot listen on port {port}"):
            call_command("hl7", "--host", "127.0.0.1", "--port", str(port))
