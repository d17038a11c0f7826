"""HL7 v2 outbound as a peer system sees it: a real MLLP receiver on localhost gets SIU and order
status messages for bookings and exam changes, in order per patient, with the same control ID
and bytes on every retry; an AE stops the destination until a person skips, edits or resends.

The clock is held (ticking) a week before a plain Monday, when the bookings are made.
"""

from __future__ import annotations

import datetime as dt
import socketserver
import threading
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import hl7  # type: ignore[import-untyped]
import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import ModalityPerformedProcedureStep  # type: ignore[attr-defined]

from radflow.core.errors import Conflict, PermissionDenied, ValidationFailed
from radflow.core.exam_states import ExamAction, ExamState
from radflow.core.hl7.mllp_client import frame, unframe
from radflow.core.hl7.outbound import read_msh
from radflow.core.roles import Role
from radflow.credentials.reference import load_credential_reference
from radflow.exams.models import Exam
from radflow.exams.services import (
    Actor,
    exam_arrive,
    exam_begin,
    exam_cancel,
    exam_complete,
    exam_discontinue,
    exam_no_show,
    exam_reschedule,
)
from radflow.interfaces.hl7_outbound import (
    ALERT_AFTER_ATTEMPTS,
    hl7_deliver_due,
    hl7_destination_release,
    hl7_exam_changed,
    hl7_resend,
    hl7_skip,
)
from radflow.interfaces.models import (
    ApplicationEntity,
    Hl7Destination,
    Hl7Direction,
    Hl7Message,
    Hl7Status,
)
from radflow.notifications.models import Notification
from radflow.notifications.outbox import backoff
from radflow.scheduling import booking
from radflow.worklists.management.commands.worker import JOBS
from tests.conftest import make_user
from tests.core.dicom.mpps_datasets import n_create, n_set_completed
from tests.exams.factories import OVERRIDE_ALL, make_exam
from tests.scheduling.board_setup import MONDAY, BoardSite, board_site, book, booking_clock, local
from tests.scheduling.factories import booking_world

STATION = "US_ROOM_1"


# --- a peer system's MLLP listener ------------------------------------------------------------


class Receiver:
    """An EHR's MLLP listener on localhost. It answers each message as ``replies`` says (``AA``,
    ``AE``, ``AR``, ``silent`` for no answer at all, ``other`` for an AA to another message),
    ``AA`` once they run out, and keeps
    every message it was sent, retries included."""

    def __init__(self, replies: tuple[str, ...] = (), port: int = 0) -> None:
        self.replies = list(replies)
        self.received: list[bytes] = []
        self.port = port
        self._lock = threading.Lock()
        self._server: socketserver.ThreadingTCPServer | None = None
        self.start()

    def _answer(self, payload: bytes) -> bytes | None:
        with self._lock:
            self.received.append(payload)
            code = self.replies.pop(0) if self.replies else "AA"
            number = len(self.received)
        if code == "silent":
            return None
        control_id = read_msh(payload).control_id if code != "other" else "RF0000009999"
        code = "AA" if code == "other" else code
        ack = (
            f"MSH|^~\\&|EPIC|HOSP|RADFLOW|RIV|20260223070000||ACK|ACK{number}|P|2.5.1\r"
            f"MSA|{code}|{control_id}\r"
        )
        if code != "AA":
            ack += "ERR||PID^1^3|204^Unknown key identifier^HL70357|E||||Patient not on file\r"
        return ack.encode()

    def start(self) -> None:
        receiver = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data = b""
                while chunk := self.request.recv(65536):
                    data += chunk
                    payload = unframe(data)
                    if payload is None:
                        continue
                    data = data[data.index(b"\x1c\r") + 2 :]
                    reply = receiver._answer(payload)
                    if reply is not None:
                        self.request.sendall(frame(reply))

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self._server = Server(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Go away: the port refuses connections until ``start`` again."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def control_ids(self) -> list[str]:
        return [read_msh(raw).control_id for raw in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    peer = Receiver()
    yield peer
    peer.stop()


# --- the department -----------------------------------------------------------------------------


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(booking_clock(MONDAY), tick=True) as traveller:
        yield traveller


@pytest.fixture
def place(reference: None, clock: Any) -> BoardSite:
    return board_site("RIV")


@pytest.fixture
def analyst(db: None) -> User:
    return make_user(Role.INTERFACE_ANALYST, "ivan.analyst")


def destination(name: str, port: int, **fields: Any) -> Hl7Destination:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "receiving_application": "EPIC",
        "receiving_facility": "HOSP",
        **fields,
    }
    return Hl7Destination.objects.create(name=name, **values)


def outbox(**filters: Any) -> list[Hl7Message]:
    return list(
        Hl7Message.objects.filter(direction=Hl7Direction.OUT, **filters).order_by(
            "control_id", "created_at"
        )
    )


def what(raw: bytes | memoryview) -> str:
    """``SIU^S12`` for scheduling, ``OMI^O23 IP`` for a status: what the receiver acts on."""
    message = hl7.parse(bytes(raw).decode("utf-8"))
    kind = "^".join(str(message.segment("MSH")[9]).split("^")[:2])
    if kind.startswith("SIU"):
        return kind
    return f"{kind} {message.segment('ORC')[5]}"


def queued(exam: Exam) -> list[tuple[str, str]]:
    rows = Hl7Message.objects.filter(exam=exam).select_related("destination")
    return [
        (m.destination.name if m.destination else "", what(m.raw))
        for m in sorted(rows, key=lambda m: m.control_id)
    ]


def at(hour: int, minute: int = 0) -> dt.datetime:
    return local(MONDAY, hour, minute)


def begin(exam: Exam, by: User) -> Exam:
    exam_arrive(exam=exam, by=by)
    return exam_begin(exam=exam, by=by, overrides=OVERRIDE_ALL)


# --- what each change queues --------------------------------------------------------------------


@pytest.mark.django_db
def test_each_change_queues_what_each_destination_asked_for_in_its_version(
    place: BoardSite, admin_user: User
) -> None:
    destination("EHR", 1, version="2.5.1")
    destination("Billing", 2, version="2.3.1", sends_scheduling=False)
    destination("Old RIS", 3, active=False)

    exam = book(place.us1, at(9), by=admin_user)
    exam = exam_reschedule(exam=exam, by=admin_user, room=place.us1, start=at(10))
    # Same time, another room: the appointment is modified, not rescheduled.
    exam = exam_reschedule(exam=exam, by=admin_user, room=place.us2, start=at(10))
    exam = begin(exam, admin_user)
    exam_complete(exam=exam, by=admin_user)
    assert queued(exam) == [
        ("EHR", "SIU^S12"),
        ("EHR", "SIU^S13"),
        ("EHR", "SIU^S14"),
        ("Billing", "ORM^O01 IP"),
        ("EHR", "OMI^O23 IP"),
        ("Billing", "ORM^O01 CM"),
        ("EHR", "OMI^O23 CM"),
    ]

    cancelled = book(place.us1, at(11), by=admin_user)
    exam_cancel(exam=cancelled, by=admin_user, reason_code="patient_request")
    assert queued(cancelled)[1:] == [
        ("Billing", "ORM^O01 CA"),
        ("EHR", "SIU^S15"),
        ("EHR", "OMI^O23 CA"),
    ]
    never_booked = make_exam(ExamState.AUTHORIZED, by=admin_user)
    exam_cancel(exam=never_booked, by=admin_user, reason_code="patient_request")
    assert queued(never_booked) == [("Billing", "ORM^O01 CA"), ("EHR", "OMI^O23 CA")]

    missed = book(place.us1, at(12), by=admin_user)
    exam_no_show(exam=missed, by=admin_user, reason_code="no_contact")
    assert queued(missed)[1:] == [
        ("Billing", "ORM^O01 CA"),
        ("EHR", "SIU^S26"),
        ("EHR", "OMI^O23 CA"),
    ]
    stopped = begin(book(place.us1, at(13), by=admin_user), admin_user)
    exam_discontinue(exam=stopped, by=admin_user, reason_code="equipment_failure")
    assert queued(stopped)[-2:] == [("Billing", "ORM^O01 DC"), ("EHR", "OMI^O23 DC")]

    rows = outbox()
    assert {m.status for m in rows} == {Hl7Status.PENDING}
    assert len({m.control_id for m in rows}) == len(rows)
    for row in rows:
        msh = read_msh(bytes(row.raw))
        assert (msh.control_id, msh.message_type) == (row.control_id, row.message_type)
        assert row.control_id.startswith("RF") and len(row.control_id) == 12
        assert row.order_key == f"patient:{row.patient_id}"
        assert row.exam is not None and row.accession_number == row.exam.accession_number


@pytest.mark.django_db
def test_a_cancel_from_the_placer_is_not_echoed_back_to_it_as_a_status(
    place: BoardSite, admin_user: User
) -> None:
    destination("EHR", 1, receiving_application="EPIC")
    destination(
        "Billing", 2, receiving_application="BILLING", version="2.3.1", sends_scheduling=False
    )
    exam = book(place.us1, at(9), by=admin_user)
    exam_cancel(exam=exam, by=Actor(label="hl7:EPIC"), reason_code="patient_request")
    # EPIC hears that the slot was freed but not its own cancel; the billing system hears both.
    assert queued(exam)[1:] == [("Billing", "ORM^O01 CA"), ("EHR", "SIU^S15")]


@pytest.mark.django_db
def test_the_messages_carry_the_reason_the_times_and_the_resources(
    place: BoardSite, admin_user: User
) -> None:
    destination("EHR", 1)
    exam = book(place.us1, at(9), by=admin_user)
    exam_cancel(exam=exam, by=admin_user, reason_code="patient_request", reason="Feels better")
    s12, s15, ca = (hl7.parse(bytes(m.raw).decode()) for m in outbox(exam=exam))
    patient = exam.order.patient
    assert str(s12["PID.F3.R1.C1"]) == patient.mrn
    assert str(s12.segment("SCH")[2]) == f"{exam.accession_number}^RADFLOW"
    assert str(s12.segment("TQ1")[7]) == "20260302090000-0500"
    assert str(s12.segment("TQ1")[8]) == "20260302093000-0500"
    assert str(s12.segment("AIL")[3]).split("^")[1] == "RIV-US1"
    assert str(s12.segment("SCH")[20]).startswith(admin_user.get_username())
    assert str(s15.segment("SCH")[6]).startswith("patient_request^")
    assert str(s15.segment("SCH")[25]).startswith("Cancelled")
    assert str(ca.segment("ORC")[16]).startswith("patient_request^")
    assert str(ca.segment("IPC")[3]) == f"{exam.study_instance_uid}^RADFLOW"


@pytest.mark.django_db
def test_a_rolled_back_change_leaves_no_message(place: BoardSite, admin_user: User) -> None:
    destination("EHR", 1)
    with pytest.raises(RuntimeError), transaction.atomic():
        book(place.us1, at(9), by=admin_user)
        assert len(outbox()) == 1  # written in the booking's transaction...
        raise RuntimeError("the caller fails after booking")
    assert outbox() == []  # ...and gone with it


@pytest.mark.django_db
def test_without_a_destination_the_hook_costs_one_query_and_none_for_silent_moves(
    place: BoardSite, admin_user: User, django_assert_num_queries: Any
) -> None:
    exam = book(place.us1, at(9), by=admin_user)
    with django_assert_num_queries(1):
        assert (
            hl7_exam_changed(exam=exam, action=ExamAction.SCHEDULE, from_state="authorized") == []
        )
    with django_assert_num_queries(0):
        queued = hl7_exam_changed(exam=exam, action=ExamAction.ARRIVE, from_state="scheduled")
    assert queued == []
    assert outbox() == []


# --- done when: booking and MPPS reach a listening receiver ----------------------------------


@pytest.mark.django_db
def test_booking_an_order_sends_an_siu_s12_to_a_listening_receiver(
    reference: None, admin_user: User, receiver: Receiver
) -> None:
    day = dt.date(2031, 6, 3)
    with time_machine.travel(dt.datetime(2031, 6, 2, 12, 0, tzinfo=dt.UTC), tick=True):
        load_credential_reference()
        world = booking_world(on=day)
        destination("EHR", receiver.port)
        exam = make_exam(ExamState.AUTHORIZED, by=admin_user, exam_type="us-thyroid")
        start = dt.datetime.combine(day, dt.time(9), tzinfo=local(MONDAY, 9).tzinfo)
        booking.appointment_book(
            exam=exam, by=admin_user, room=world.room, start=start, staff=world.sonographer
        )
        assert dict(JOBS)["hl7_deliver"]() == 1

    [raw] = receiver.received
    message = hl7.parse(raw.decode())
    assert what(raw) == "SIU^S12"
    assert str(message.segment("SCH")[2]) == f"{exam.accession_number}^RADFLOW"
    assert str(message["PID.F3.R1.C1"]) == exam.order.patient.mrn
    assert str(message.segment("TQ1")[7]) == "20310603090000-0400"
    assert str(message.segment("AIG")[3]).split("^")[:2] == [
        world.sonographer.employee_number,
        "Lopez, Maria",
    ]
    assert str(message.segment("AIL")[3]).split("^")[1] == world.room.code
    [row] = outbox()
    assert (row.status, row.ack_code, row.attempts, row.error) == (Hl7Status.SENT, "AA", 1, "")
    assert bytes(row.raw) == raw
    assert row.ack is not None and b"MSA|AA|" + row.control_id.encode() in bytes(row.ack)
    assert row.sent_at is not None


def _mpps(port: int, call: str, ds: Dataset, uid: str) -> int:
    ae = AE(ae_title=STATION)
    ae.add_requested_context(ModalityPerformedProcedureStep)
    assoc = ae.associate("127.0.0.1", port, ae_title="RADFLOW")
    assert assoc.is_established
    try:
        if call == "create":
            status, _ = assoc.send_n_create(ds, ModalityPerformedProcedureStep, uid)
        else:
            status, _ = assoc.send_n_set(ds, ModalityPerformedProcedureStep, uid)
        return int(status.Status)
    finally:
        assoc.release()


@pytest.mark.django_db(transaction=True)
def test_mpps_completing_the_exam_sends_the_status_message(
    reference: None, dicom_port: int, admin_user: User, receiver: Receiver
) -> None:
    with time_machine.travel(local(MONDAY, 7), tick=True) as clock:
        place = board_site("MPP")
        ApplicationEntity.objects.create(
            ae_title=STATION, room=place.us1, modality=place.us1.modality
        )
        destination("EHR", receiver.port)
        exam = book(place.us1, at(9), by=admin_user)
        patient = exam.order.patient
        clock.move_to(at(9, 2))
        uid = "1.2.826.0.1.3680043.10.543.77.1"
        created = n_create(
            accession=exam.accession_number,
            study_uid=exam.study_instance_uid,
            patient_id=patient.mrn,
            patient_name=f"{patient.family_name}^{patient.given_name}",
            start_date="20260302",
            start_time="090130",
            station_ae=STATION,
        )
        assert _mpps(dicom_port, "create", created, uid) == 0x0000
        clock.move_to(at(9, 25))
        ended = n_set_completed(end_date="20260302", end_time="092400")
        assert _mpps(dicom_port, "set", ended, uid) == 0x0000
        exam.refresh_from_db()
        assert exam.state == ExamState.COMPLETED
        assert hl7_deliver_due() == 3

    assert [what(raw) for raw in receiver.received] == ["SIU^S12", "OMI^O23 IP", "OMI^O23 CM"]
    completed = hl7.parse(receiver.received[-1].decode())
    assert str(completed.segment("ORC")[3]) == f"{exam.accession_number}^RADFLOW"
    assert str(completed.segment("OBR")[7]) == "20260302090130-0500"  # begun at the modality
    assert str(completed.segment("OBR")[8]) == "20260302092400-0500"


# --- delivery: AA, then AE, then the receiver goes away ----------------------------------------


@pytest.mark.django_db
def test_the_outbox_delivers_in_order_stops_on_ae_retries_and_never_changes_a_control_id(
    place: BoardSite, admin_user: User, analyst: User, receiver: Receiver
) -> None:
    receiver.replies = ["AA", "AE"]
    ehr = destination("EHR", receiver.port)
    ann = book(place.us1, at(9), by=admin_user)  # c1: Ann's S12
    bob = book(place.us2, at(9), by=admin_user)  # c2: Bob's S12
    begin(ann, admin_user)  # c3: Ann's IP, behind c1
    c1, c2, c3 = outbox()
    assert [c1.exam, c2.exam, c3.exam] == [ann, bob, ann]

    # AA for Ann's booking, AE for Bob's: the destination stops, Ann's IP waits with it.
    assert hl7_deliver_due() == 1
    assert receiver.control_ids() == [c1.control_id, c2.control_id]
    c1.refresh_from_db()
    c2.refresh_from_db()
    c3.refresh_from_db()
    assert (c1.status, c1.ack_code, c1.attempts) == (Hl7Status.SENT, "AA", 1)
    assert (c2.status, c2.ack_code, c2.attempts) == (Hl7Status.HELD, "AE", 1)
    assert c2.error == "AE: Patient not on file"
    assert (c3.status, c3.attempts) == (Hl7Status.PENDING, 0)
    ehr.refresh_from_db()
    assert ehr.stopped_at is not None
    assert ehr.stopped_reason == f"SIU^S12 {c2.control_id} answered AE: Patient not on file"
    [alert] = Notification.objects.filter(recipient=analyst, kind="hl7_delivery")
    assert alert.title == f"HL7 to EHR stopped: SIU^S12 {c2.control_id} answered AE"
    assert bob.order.patient.family_name not in alert.title + alert.body
    assert bob.accession_number in alert.body
    assert alert.url == reverse("interfaces:hl7_message", kwargs={"pk": c2.pk})

    # Bob's cancellation queues behind his held booking; releasing the stop lets Ann's IP go.
    exam_cancel(exam=bob, by=admin_user, reason_code="patient_request")
    c4, c5 = outbox(exam=bob)[1:]
    assert [what(c4.raw), what(c5.raw)] == ["SIU^S15", "OMI^O23 CA"]
    assert hl7_deliver_due() == 0  # stopped: nothing goes
    hl7_destination_release(destination=ehr, by=analyst)
    assert hl7_deliver_due() == 1
    assert receiver.control_ids()[-1] == c3.control_id
    c4.refresh_from_db()
    assert (c4.status, c4.attempts) == (Hl7Status.PENDING, 0)

    # The receiver goes away; Bob's booking is resent as it was and retried with backoff.
    receiver.stop()
    hl7_resend(message=c2, by=analyst)
    now = timezone.now()
    assert hl7_deliver_due(now=now) == 0
    c2.refresh_from_db()
    assert (c2.status, c2.attempts) == (Hl7Status.PENDING, 2)
    assert c2.error.startswith("ConnectionRefusedError")
    assert c2.next_attempt_at == now + backoff(2)
    assert hl7_deliver_due(now=now + dt.timedelta(minutes=1)) == 0  # not due yet
    c2.refresh_from_db()
    assert c2.attempts == 2
    assert hl7_deliver_due(now=now + dt.timedelta(minutes=3)) == 0
    c2.refresh_from_db()
    assert (c2.attempts, c2.next_attempt_at) == (3, now + dt.timedelta(minutes=3) + backoff(3))
    c4.refresh_from_db()
    assert c4.attempts == 0  # never tried while Bob's earlier message waits

    # Back again: Bob's three messages go, in order, the booking byte for byte as first sent.
    receiver.start()
    assert hl7_deliver_due(now=now + dt.timedelta(minutes=10)) == 3
    ids = receiver.control_ids()
    assert ids == [m.control_id for m in (c1, c2, c3, c2, c4, c5)]
    assert receiver.received[1] == receiver.received[3] == bytes(c2.raw)
    assert {m.status for m in outbox()} == {Hl7Status.SENT}

    # No message ever reached the receiver under two control IDs, nor two under one.
    by_control_id: dict[str, set[bytes]] = defaultdict(set)
    for raw in receiver.received:
        by_control_id[read_msh(raw).control_id].add(raw)
    assert all(len(versions) == 1 for versions in by_control_id.values())
    assert set(by_control_id) == {m.control_id for m in outbox()}
    assert len(set(receiver.received)) == len(outbox())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("reply", "error"),
    [("silent", "TimeoutError: no reply"), ("other", "The ACK is for message 'RF0000009999'")],
)
def test_no_answer_or_an_ack_for_another_message_is_retried_with_the_same_bytes(
    place: BoardSite,
    admin_user: User,
    receiver: Receiver,
    settings: Any,
    reply: str,
    error: str,
) -> None:
    settings.HL7_SEND_TIMEOUT_SECONDS = 0.3
    receiver.replies = [reply]
    destination("EHR", receiver.port)
    book(place.us1, at(9), by=admin_user)
    now = timezone.now()
    assert hl7_deliver_due(now=now) == 0
    [message] = outbox()
    assert (message.status, message.attempts) == (Hl7Status.PENDING, 1)
    assert message.error.startswith(error)
    assert message.next_attempt_at == now + backoff(1)
    assert hl7_deliver_due(now=now + dt.timedelta(minutes=2)) == 1
    assert receiver.received == [bytes(message.raw)] * 2
    message.refresh_from_db()
    assert (message.status, message.attempts, message.error) == (Hl7Status.SENT, 2, "")


@pytest.mark.django_db
def test_analysts_hear_once_when_a_destination_stays_unreachable(
    place: BoardSite, admin_user: User, analyst: User
) -> None:
    receiver = Receiver()
    receiver.stop()  # a port nobody listens on
    destination("EHR", receiver.port)
    book(place.us1, at(9), by=admin_user)
    now = timezone.now()
    for run in range(ALERT_AFTER_ATTEMPTS + 2):
        hl7_deliver_due(now=now + dt.timedelta(hours=7 * run))
    [message] = outbox()
    assert (message.status, message.attempts) == (Hl7Status.PENDING, ALERT_AFTER_ATTEMPTS + 2)
    [alert] = Notification.objects.filter(recipient=analyst, kind="hl7_delivery")
    assert alert.title == (
        f"HL7 to EHR: {message.control_id} not delivered after {ALERT_AFTER_ATTEMPTS} attempts"
    )


# --- what a person does -------------------------------------------------------------------------


@pytest.fixture
def held(place: BoardSite, admin_user: User, receiver: Receiver) -> tuple[Hl7Message, Exam]:
    """A booking the receiver answered AE to (its destination stopped), and the same patient's
    exam begun afterwards, waiting behind it."""
    receiver.replies = ["AE"]
    destination("EHR", receiver.port)
    exam = book(place.us1, at(9), by=admin_user)
    assert hl7_deliver_due() == 0
    begin(exam, admin_user)
    first = outbox()[0]
    assert first.status == Hl7Status.HELD
    return first, exam


@pytest.mark.django_db
def test_an_edited_resend_takes_the_held_messages_place_with_its_control_id(
    held: tuple[Hl7Message, Exam], coordinator: User, receiver: Receiver
) -> None:
    original, _ = held
    text = bytes(original.raw).decode()
    edited = text.replace("MRN", "MRN-FIXED-").replace("\r", "\n").encode()
    copy = hl7_resend(message=original, by=coordinator, raw=edited)

    original.refresh_from_db()
    assert (original.status, original.replayed_by) == (Hl7Status.REPLAYED, coordinator)
    assert (copy.status, copy.replay_of, copy.control_id) == (
        Hl7Status.PENDING,
        original,
        original.control_id,
    )
    assert bytes(copy.raw) == text.replace("MRN", "MRN-FIXED-").encode()
    assert copy.replayed_by == coordinator
    assert original.destination is not None
    original.destination.refresh_from_db()
    assert original.destination.stopped_at is None  # the message that stopped it is dealt with

    assert hl7_deliver_due() == 2
    assert receiver.received[1:] == [bytes(copy.raw), receiver.received[2]]
    assert [what(raw) for raw in receiver.received] == ["SIU^S12", "SIU^S12", "OMI^O23 IP"]
    assert receiver.control_ids()[:2] == [original.control_id] * 2


@pytest.mark.django_db
def test_an_edit_that_changes_the_control_id_or_is_not_hl7_is_refused(
    held: tuple[Hl7Message, Exam], coordinator: User
) -> None:
    original, _ = held
    text = bytes(original.raw).decode()
    other_id = text.replace(original.control_id, "RF9999999999").encode()
    for raw, why in ((other_id, "MSH-10 must stay"), (b"PID|1||X\r", "MSH")):
        with pytest.raises(ValidationFailed) as refused:
            hl7_resend(message=original, by=coordinator, raw=raw)
        assert why in refused.value.errors["raw"][0]
    original.refresh_from_db()
    assert original.status == Hl7Status.HELD
    assert len(outbox()) == 2


@pytest.mark.django_db
def test_skipping_the_held_message_lets_the_patients_later_messages_go(
    held: tuple[Hl7Message, Exam], analyst: User, receiver: Receiver
) -> None:
    original, _ = held
    hl7_skip(message=original, by=analyst)
    original.refresh_from_db()
    assert (original.status, original.replayed_by) == (Hl7Status.SKIPPED, analyst)
    assert original.changes[-1]["action"] == "skipped"
    assert hl7_deliver_due() == 1
    assert [what(raw) for raw in receiver.received] == ["SIU^S12", "OMI^O23 IP"]
    with pytest.raises(Conflict):
        hl7_skip(message=outbox()[-1], by=analyst)  # sent: nothing left to skip


@pytest.mark.django_db
def test_release_lets_other_patients_go_while_the_held_one_keeps_its_patient_waiting(
    held: tuple[Hl7Message, Exam], place: BoardSite, admin_user: User, analyst: User
) -> None:
    original, _ = held
    other = book(place.us2, at(9), by=admin_user)
    assert original.destination is not None
    hl7_destination_release(destination=original.destination, by=analyst)
    assert hl7_deliver_due() == 1
    assert {m.exam for m in outbox(status=Hl7Status.SENT)} == {other}
    assert [m.status for m in outbox(exam=original.exam)] == [
        Hl7Status.HELD,
        Hl7Status.PENDING,
    ]
    original.refresh_from_db()
    assert original.changes[-1]["action"] == "released"
    assert original.changes[-1]["by"] == analyst.get_username()


@pytest.mark.django_db
def test_resending_a_sent_message_queues_a_copy_with_the_same_control_id(
    place: BoardSite, admin_user: User, coordinator: User, receiver: Receiver
) -> None:
    destination("EHR", receiver.port)
    book(place.us1, at(9), by=admin_user)
    assert hl7_deliver_due() == 1
    [sent] = outbox()
    copy = hl7_resend(message=sent, by=coordinator)
    assert (copy.replay_of, copy.control_id, bytes(copy.raw)) == (
        sent,
        sent.control_id,
        bytes(sent.raw),
    )
    sent.refresh_from_db()
    assert sent.status == Hl7Status.SENT  # its ACK stays on record
    assert hl7_deliver_due() == 1
    assert receiver.received == [bytes(sent.raw)] * 2
    hl7_resend(message=copy, by=coordinator, raw=bytes(copy.raw).replace(b"RGS|1", b"RGS|1|A"))
    copy.refresh_from_db()
    with pytest.raises(Conflict):
        hl7_resend(message=copy, by=coordinator)  # replaced by an edited copy: resend that


@pytest.mark.django_db
def test_only_roles_that_may_replay_skip_resend_or_release(
    held: tuple[Hl7Message, Exam], scheduler: User, stranger: User
) -> None:
    original, _ = held
    assert original.destination is not None
    for person in (scheduler, stranger, None):
        with pytest.raises(PermissionDenied):
            hl7_skip(message=original, by=person)
        with pytest.raises(PermissionDenied):
            hl7_resend(message=original, by=person)
        with pytest.raises(PermissionDenied):
            hl7_destination_release(destination=original.destination, by=person)
    original.refresh_from_db()
    original.destination.refresh_from_db()
    assert original.status == Hl7Status.HELD
    assert original.destination.stopped_at is not None


# --- several workers (PostgreSQL) ---------------------------------------------------------------


@pytest.mark.database("postgresql")
@pytest.mark.django_db(transaction=True)
def test_a_message_another_worker_holds_is_skipped_not_sent_twice(
    reference: None, admin_user: User, receiver: Receiver
) -> None:
    with time_machine.travel(booking_clock(MONDAY), tick=True):
        place = board_site("PGW")
        destination("EHR", receiver.port)
        book(place.us1, at(9), by=admin_user)
    [message] = outbox()
    locked, release = threading.Event(), threading.Event()

    def other_worker() -> None:
        try:
            with transaction.atomic():
                Hl7Message.objects.select_for_update().get(pk=message.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    assert locked.wait(10)
    try:
        assert hl7_deliver_due() == 0
        assert receiver.received == []
    finally:
        release.set()
        thread.join(10)
    assert hl7_deliver_due() == 1
    assert len(receiver.received) == 1
