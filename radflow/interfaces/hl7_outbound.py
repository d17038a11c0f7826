"""HL7 v2 outbound: SIU and order status messages written with the change, sent by the worker.

What is sent (``radflow.core.hl7.outbound`` builds the bytes):

* ``schedule`` → SIU^S12. ``reschedule`` → SIU^S13 when the start moved, SIU^S14 ("modified")
  when it did not: every booking change goes through ``exam_reschedule``, and one that keeps
  the time changes only the room, device, technologist or interpreter.
* ``cancel`` → SIU^S15 if the exam held an appointment, and ORC-5 ``CA``.
* ``no_show`` → SIU^S26 and ORC-5 ``CA``: a no-show is final in RadFlow, so the placer's order
  is ended too (ORC-16 carries the no-show reason).
* ``begin`` / ``complete`` / ``discontinue`` → ORC-5 ``IP`` / ``CM`` / ``DC`` (ORM^O01 to a
  2.3.1 destination, OMI^O23 to a 2.5.1 one).

``hl7_exam_changed`` runs inside the exam service's transaction (``exams.services._apply``): one
row per active destination that wants the event, so a rolled-back change leaves none and a
committed one loses none. With no destination it costs one query (none for actions that send
nothing). The bytes are built then, with their control ID (``RF`` + 10 digits from a locked
sequence row, so IDs grow in commit order), and never rebuilt: every retry sends the same bytes.

``hl7_deliver_due`` (the worker's ``hl7_deliver`` job) sends them over MLLP. Per destination and
patient (``order_key``) strictly in control-ID order: a message waits while an earlier one is
pending or held. No transaction is open on the wire: a short one claims the message (attempt
counted, next attempt pushed past the send timeout, so a worker that dies mid-send only delays
it), a second records the outcome. AA/CA → ``sent``; AE/AR (CE/CR) → ``held``, the destination
stops (nothing more goes to it) and the interface analysts are told; no answer, a refused or
broken connection, an ACK for another message → retried with the outbox's backoff.

A person (``interfaces.replay_hl7message``) skips, resends as-is or resends an edited copy (a
new row with ``replay_of`` and the same control ID; the original becomes ``replayed``), and may
release a stopped destination; a stop also ends once no held message is left on it.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from radflow.core.errors import Conflict, PermissionDenied, ValidationFailed
from radflow.core.exam_states import ExamAction, ExamState, past_tense
from radflow.core.hl7 import outbound as wire
from radflow.core.hl7.mllp_client import send_message
from radflow.core.roles import Role
from radflow.exams.models import AccessionSequence, Exam, ReasonCode
from radflow.interfaces.models import Hl7Destination, Hl7Direction, Hl7Message, Hl7Status
from radflow.notifications.outbox import backoff
from radflow.notifications.services import notify

logger = logging.getLogger("radflow.hl7")

REPLAY_PERMISSION = "interfaces.replay_hl7message"
#: The AccessionSequence row that numbers outbound messages (MSH-10).
CONTROL_SEQUENCE = "hl7_control"
CONTROL_PREFIX = "RF"
#: Messages looked at per run of the job; the rest wait for the next run.
BATCH = 200
#: Interface analysts are told once when a message has failed this many times in a row.
ALERT_AFTER_ATTEMPTS = 5

Event = wire.SiuEvent | wire.OrderStatus

#: The reason kind (``ReasonCode.kind``) each action's coded reason belongs to.
_REASON_KIND = {
    ExamAction.CANCEL: "cancel",
    ExamAction.NO_SHOW: "no_show",
    ExamAction.DISCONTINUE: "discontinue",
    ExamAction.RESCHEDULE: "reschedule",
}
_PRIORITY = {"stat": "S", "urgent": "A", "routine": "R"}
_PATIENT_CLASS = {"outpatient": "O", "inpatient": "I", "emergency": "E"}
#: States in which an exam holds an appointment (a cancel then cancels the appointment too).
_BOOKED = (ExamState.SCHEDULED, ExamState.ARRIVED)


def send_timeout() -> float:
    """Seconds for connecting, sending and reading the ACK (``HL7_SEND_TIMEOUT_SECONDS``)."""
    return float(settings.HL7_SEND_TIMEOUT_SECONDS)


# --- what a change sends ------------------------------------------------------------------------


def _start_moved(details: Mapping[str, Any]) -> bool:
    before, after = details.get("from_start"), details.get("start")
    if not before or not after:
        return True
    try:
        return datetime.fromisoformat(str(before)) != datetime.fromisoformat(str(after))
    except ValueError:
        return True


def events_for(
    action: ExamAction | str,
    from_state: ExamState | str,
    details: Mapping[str, Any] | None = None,
) -> list[Event]:
    """The messages an exam's move produces, in the order they are sent."""
    action = ExamAction(action)
    if action is ExamAction.SCHEDULE:
        return [wire.SiuEvent.BOOKED]
    if action is ExamAction.RESCHEDULE:
        moved = _start_moved(details or {})
        return [wire.SiuEvent.RESCHEDULED if moved else wire.SiuEvent.MODIFIED]
    if action is ExamAction.CANCEL:
        booked = ExamState(from_state) in _BOOKED
        return [*([wire.SiuEvent.CANCELLED] if booked else []), wire.OrderStatus.CANCELLED]
    if action is ExamAction.NO_SHOW:
        return [wire.SiuEvent.NO_SHOW, wire.OrderStatus.CANCELLED]
    status = {
        ExamAction.BEGIN: wire.OrderStatus.IN_PROCESS,
        ExamAction.COMPLETE: wire.OrderStatus.COMPLETED,
        ExamAction.DISCONTINUE: wire.OrderStatus.DISCONTINUED,
    }.get(action)
    return [status] if status is not None else []


def _wants(destination: Hl7Destination, event: Event, by: str = "") -> bool:
    if isinstance(event, wire.SiuEvent):
        return destination.sends_scheduling
    return destination.sends_status and not _echo(destination, by)


def _echo(destination: Hl7Destination, by: str) -> bool:
    """The change came from this destination's own application (an inbound CA/DC/SC).

    The placer already knows: an ORC-5 back to it would be an echo, and an engine that turns
    every status into an order message would bounce it back again. SIU still goes, because the
    appointment side of the change (the slot freed) is RadFlow's news.
    """
    if not by.startswith("hl7:") or not destination.receiving_application:
        return False
    sender = by.removeprefix("hl7:").split(" ", 1)[0]
    return sender.casefold() == destination.receiving_application.split("^", 1)[0].casefold()


def wire_version(destination: Hl7Destination) -> str:
    """The message family a destination gets: 2.3.x → 2.3.1 (ORM), anything else → 2.5.1 (OMI)."""
    return wire.V231 if destination.version.startswith("2.3") else wire.V251


def next_control_ids(count: int) -> list[str]:
    """``count`` new MSH-10 values from the locked sequence row: unique and growing."""
    seq, _ = AccessionSequence.objects.select_for_update().get_or_create(name=CONTROL_SEQUENCE)
    first = seq.next_value
    seq.next_value = first + count
    seq.save(update_fields=["next_value"])
    return [f"{CONTROL_PREFIX}{n:010d}" for n in range(first, first + count)]


@dataclass(frozen=True)
class _Snapshot:
    """The exam as every message about this change describes it."""

    exam: Exam
    patient: wire.PatientData
    data: wire.ExamData
    zone: ZoneInfo
    reason: wire.Coded | None
    entered_by: wire.Person | None
    facility: str


def _person(staff: Any) -> wire.Person | None:
    if staff is None:
        return None
    return wire.Person(staff.employee_number, staff.family_name, staff.given_name)


def _zone(exam: Exam) -> ZoneInfo:
    site = exam.room.site if exam.room is not None else exam.order.site
    name = getattr(site, "time_zone", "") or timezone.get_current_timezone_name()
    return ZoneInfo(name)


def _reason(action: ExamAction, reason_code: str, reason: str) -> wire.Coded | None:
    if not reason_code and not reason:
        return None
    kind = _REASON_KIND.get(action)
    label = ""
    if reason_code and kind:
        found = ReasonCode.objects.filter(kind=kind, code=reason_code)
        label = found.values_list("label", flat=True).first() or ""
    return wire.Coded(reason_code, label or reason, wire.LOCAL_SYSTEM if reason_code else "")


def _snapshot(exam: Exam, action: ExamAction, reason_code: str, reason: str, by: str) -> _Snapshot:
    row = Exam.objects.select_related(
        "order__patient",
        "order__exam_type",
        "order__site",
        "room__site",
        "technologist",
        "device",
        "radiologist",
    ).get(pk=exam.pk)
    order, patient, exam_type = row.order, row.order.patient, row.order.exam_type
    zone = _zone(row)
    code = exam_type.procedure_codes.order_by("code").first()
    procedure = (
        wire.Coded(code.code, code.description, code.system, exam_type.code, exam_type.name)
        if code is not None
        else wire.Coded(exam_type.code, exam_type.name, wire.LOCAL_SYSTEM)
    )
    site = row.room.site if row.room is not None else order.site
    device = row.device
    provider = (
        wire.Person(order.ordering_provider_npi, order.ordering_provider, "", "NPI")
        if order.ordering_provider or order.ordering_provider_npi
        else None
    )
    data = wire.ExamData(
        accession_number=row.accession_number,
        study_instance_uid=row.study_instance_uid,
        procedure=procedure,
        modality=exam_type.modality_id,
        placer_order_number=order.placer_order_number,
        priority=_PRIORITY.get(order.priority, "R"),
        patient_class=_PATIENT_CLASS.get(order.patient_class, "O"),
        site_code=site.code if site is not None else "",
        room_code=row.room.code if row.room is not None else "",
        room_name=row.room.name if row.room is not None else "",
        start=row.scheduled_start.astimezone(zone) if row.scheduled_start else None,
        end=row.scheduled_end.astimezone(zone) if row.scheduled_end else None,
        performed_start=row.in_progress_at.astimezone(zone) if row.in_progress_at else None,
        technologist=_person(row.technologist),
        radiologist=_person(row.radiologist),
        ordering_provider=provider,
        device=(
            wire.Coded(
                device.serial_number,
                f"{device.manufacturer} {device.model_name}".strip(),
                wire.LOCAL_SYSTEM,
            )
            if device is not None
            else None
        ),
        station_ae=device.ae_title if device is not None else "",
    )
    person = wire.PatientData(
        mrn=patient.mrn,
        mrn_authority=patient.mrn_authority,
        family_name=patient.family_name,
        given_name=patient.given_name,
        middle_name=patient.middle_name,
        suffix=patient.suffix,
        prefix=patient.prefix,
        birth_date=patient.birth_date,
        sex=patient.sex,
    )
    return _Snapshot(
        exam=row,
        patient=person,
        data=data,
        zone=zone,
        reason=_reason(action, reason_code, reason),
        entered_by=wire.Person(by) if by else None,
        facility=settings.HL7_SENDING_FACILITY or data.site_code,
    )


def _build(
    snap: _Snapshot, destination: Hl7Destination, event: Event, control_id: str, now: datetime
) -> tuple[str, bytes]:
    version = wire_version(destination)
    header = wire.Header(
        control_id=control_id,
        created_at=now.astimezone(snap.zone),
        version=version,
        sending_application=settings.HL7_SENDING_APPLICATION,
        sending_facility=snap.facility,
        receiving_application=destination.receiving_application,
        receiving_facility=destination.receiving_facility,
    )
    if isinstance(event, wire.SiuEvent):
        raw = wire.build_siu(
            header=header,
            event=event,
            patient=snap.patient,
            exam=snap.data,
            reason=snap.reason if event is not wire.SiuEvent.BOOKED else None,
            entered_by=snap.entered_by,
        )
        return wire.siu_message_type(event), raw
    ends_order = event in (wire.OrderStatus.CANCELLED, wire.OrderStatus.DISCONTINUED)
    raw = wire.build_order_status(
        header=header,
        status=event,
        patient=snap.patient,
        exam=snap.data,
        event_at=snap.exam.state_changed_at.astimezone(snap.zone),
        reason=snap.reason if ends_order else None,
    )
    return wire.order_status_message_type(version), raw


def hl7_exam_changed(
    *,
    exam: Exam,
    action: ExamAction | str,
    from_state: ExamState | str,
    by: str = "",
    reason_code: str = "",
    reason: str = "",
    details: Mapping[str, Any] | None = None,
) -> list[Hl7Message]:
    """Queue the messages an exam's move sends, in the caller's transaction.

    Called by ``exams.services._apply`` after the move is saved; ``by`` is the actor's name
    (SCH-16/20). Returns the rows written (none without a destination that wants them).
    """
    action = ExamAction(action)
    events = events_for(action, from_state, details)
    if not events:
        return []
    # The plainest query: it is the whole cost of the hook in a department without destinations.
    destinations = sorted(Hl7Destination.objects.filter(active=True), key=lambda d: d.name)
    plan = [(d, e) for d in destinations for e in events if _wants(d, e, by)]
    if not plan:
        return []
    snap = _snapshot(exam, action, reason_code, reason, by)
    now = timezone.now()
    order = snap.exam.order
    change = {
        "what": "exam",
        "id": str(exam.pk),
        "action": action.value,
        "label": f"Exam {snap.exam.accession_number} {past_tense(action)}",
    }
    rows: list[Hl7Message] = []
    for (destination, event), control_id in zip(plan, next_control_ids(len(plan)), strict=True):
        message_type, raw = _build(snap, destination, event, control_id, now)
        rows.append(
            Hl7Message(
                direction=Hl7Direction.OUT,
                status=Hl7Status.PENDING,
                destination=destination,
                peer=f"{destination.host}:{destination.port}"[:120],
                sending_application=settings.HL7_SENDING_APPLICATION,
                sending_facility=snap.facility,
                receiving_application=destination.receiving_application,
                receiving_facility=destination.receiving_facility,
                control_id=control_id,
                message_type=message_type,
                version=wire_version(destination),
                charset=wire.CHARSET,
                raw=raw,
                patient_mrn=order.patient.mrn,
                accession_number=snap.exam.accession_number,
                placer_order_number=order.placer_order_number,
                patient=order.patient,
                exam=snap.exam,
                order_key=f"patient:{order.patient_id}",
                next_attempt_at=now,
                changes=[change],
            )
        )
    return Hl7Message.objects.bulk_create(rows)


# --- delivery -----------------------------------------------------------------------------------


class Outcome(enum.Enum):
    SENT = "sent"
    HELD = "held"
    FAILED = "failed"


@dataclass(frozen=True)
class _Claim:
    pk: UUID
    attempts: int
    control_id: str
    raw: bytes
    host: str
    port: int
    destination_id: UUID


def _outbound() -> QuerySet[Hl7Message]:
    return Hl7Message.objects.filter(direction=Hl7Direction.OUT)


def _earlier_waiting() -> Exists:
    """An earlier message of the same patient to the same destination still pending or held."""
    return Exists(
        _outbound().filter(
            destination=OuterRef("destination"),
            order_key=OuterRef("order_key"),
            status__in=(Hl7Status.PENDING, Hl7Status.HELD),
            control_id__lt=OuterRef("control_id"),
        )
    )


def _blocked(message: Hl7Message) -> bool:
    return bool(
        _outbound()
        .filter(
            destination_id=message.destination_id,
            order_key=message.order_key,
            status__in=(Hl7Status.PENDING, Hl7Status.HELD),
            control_id__lt=message.control_id,
        )
        .exists()
    )


def _lease(attempts: int) -> timedelta:
    """How long a claimed message stays out of other workers' reach while it is on the wire."""
    return max(backoff(attempts), timedelta(seconds=3 * send_timeout()))


def _claim(message_id: UUID, now: datetime) -> _Claim | None:
    with transaction.atomic():
        rows = _outbound().filter(pk=message_id, status=Hl7Status.PENDING, next_attempt_at__lte=now)
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        message = rows.first()
        if message is None or message.destination_id is None:
            return None
        destination = Hl7Destination.objects.get(pk=message.destination_id)
        if not destination.active or destination.stopped_at is not None or _blocked(message):
            return None
        message.attempts += 1
        message.next_attempt_at = now + _lease(message.attempts)
        message.save(update_fields=["attempts", "next_attempt_at", "updated_at"])
        return _Claim(
            pk=message.pk,
            attempts=message.attempts,
            control_id=message.control_id,
            raw=bytes(message.raw),
            host=destination.host,
            port=destination.port,
            destination_id=destination.pk,
        )


def _recipients() -> list[Any]:
    """The interface analysts; the coordinators when the department has none."""
    users = get_user_model().objects.filter(is_active=True)
    for role in (Role.INTERFACE_ANALYST, Role.COORDINATOR):
        found = list(users.filter(groups__name=role.value).distinct().order_by("pk"))
        if found:
            return found
    return []


def _console_url(message: Hl7Message) -> str:
    """The message on the console (the console's pages may not be installed)."""
    try:
        return reverse("interfaces:hl7_message", kwargs={"pk": message.pk})
    except NoReverseMatch:
        return ""


def _alert(message: Hl7Message, destination: Hl7Destination, title: str) -> None:
    # No PHI: the destination's error text can name the patient, so it stays on the console.
    notify(
        recipients=_recipients(),
        kind="hl7_delivery",
        title=title,
        body=(
            f"{message.message_type} {message.control_id} for accession "
            f"{message.accession_number or '-'} to {destination.name}: open the message to "
            "skip, edit or resend it."
        ),
        url=_console_url(message),
    )


def _record(claim: _Claim, now: datetime, reply: bytes | None, error: str) -> Outcome:
    with transaction.atomic():
        message = Hl7Message.objects.select_for_update().get(pk=claim.pk)
        ack = None
        if reply is not None and not error:
            try:
                ack = wire.read_ack(reply)
            except ValueError as exc:
                error = f"Unreadable ACK: {exc}"
        if ack is not None and ack.control_id != claim.control_id:
            error = f"The ACK is for message {ack.control_id!r}, not {claim.control_id!r}."
            ack = None
        fields = ["error", "updated_at"]
        if reply is not None:
            message.ack, message.ack_code = reply, ack.code[:2] if ack else ""
            fields += ["ack", "ack_code"]
        if message.status != Hl7Status.PENDING or message.attempts != claim.attempts:
            # A person skipped or replaced it while it was on the wire: their decision stands;
            # what the destination answered is kept for the record.
            if ack is not None and ack.accepted:
                message.sent_at = timezone.now()
                fields.append("sent_at")
            message.save(update_fields=fields)
            return Outcome.SENT if ack is not None and ack.accepted else Outcome.FAILED
        fields += ["status", "next_attempt_at"]
        if ack is not None and ack.accepted:
            message.status, message.error, message.next_attempt_at = Hl7Status.SENT, "", None
            message.sent_at = timezone.now()
            message.save(update_fields=[*fields, "sent_at"])
            return Outcome.SENT
        if ack is not None:
            message.status, message.next_attempt_at = Hl7Status.HELD, None
            message.error = f"{ack.code}: {ack.text}".strip(": ")[:2000] or ack.code
            message.save(update_fields=fields)
            destination = Hl7Destination.objects.select_for_update().get(pk=claim.destination_id)
            if destination.stopped_at is None:
                destination.stopped_at = timezone.now()
                destination.stopped_reason = (
                    f"{message.message_type} {message.control_id} answered {message.error}"
                )[:2000]
                destination.save(update_fields=["stopped_at", "stopped_reason", "updated_at"])
                _alert(
                    message,
                    destination,
                    f"HL7 to {destination.name} stopped: {message.message_type} "
                    f"{message.control_id} answered {ack.code}",
                )
            logger.warning("HL7 %s to %s held: %s", claim.control_id, destination.pk, ack.code)
            return Outcome.HELD
        message.error = error[:2000]
        message.next_attempt_at = now + backoff(message.attempts)
        message.save(update_fields=fields)
        if message.attempts == ALERT_AFTER_ATTEMPTS:
            destination = Hl7Destination.objects.get(pk=claim.destination_id)
            _alert(
                message,
                destination,
                f"HL7 to {destination.name}: {message.control_id} not delivered after "
                f"{message.attempts} attempts",
            )
        logger.warning(
            "HL7 %s attempt %d failed: %s", claim.control_id, message.attempts, message.error
        )
        return Outcome.FAILED


def _deliver_one(message_id: UUID, now: datetime) -> Outcome | None:
    claim = _claim(message_id, now)
    if claim is None:
        return None
    reply: bytes | None = None
    error = ""
    try:
        reply = send_message(
            host=claim.host, port=claim.port, message=claim.raw, timeout=send_timeout()
        )
    except OSError as exc:  # refused, unreachable, timed out, closed early: try again later
        error = f"{type(exc).__name__}: {exc}"
    return _record(claim, now, reply, error)


def _due(
    now: datetime, exclude: Iterable[UUID], seen: set[UUID], limit: int
) -> list[tuple[UUID, UUID]]:
    """Due messages at the head of their patient's queue, oldest control ID first."""
    rows = (
        _outbound()
        .filter(
            status=Hl7Status.PENDING,
            next_attempt_at__lte=now,
            destination__active=True,
            destination__stopped_at__isnull=True,
        )
        .exclude(destination_id__in=list(exclude))
        .exclude(pk__in=list(seen))
        .filter(~_earlier_waiting())
        .order_by("control_id", "created_at")
        .values_list("id", "destination_id")[:limit]
    )
    return [(pk, destination) for pk, destination in rows if destination is not None]


def hl7_deliver_due(*, now: datetime | None = None, limit: int = BATCH) -> int:
    """Send what is due, each patient's messages in order; returns how many were acknowledged.

    Only the head of each (destination, patient) queue is fetched, so one patient's backlog
    never fills the batch; when a head goes out the next round sends the message behind it.
    A destination that could not be reached is left alone for the rest of the run.
    """
    moment = now or timezone.now()
    sent = 0
    tried = 0
    unreachable: set[UUID] = set()
    seen: set[UUID] = set()
    while tried < limit:
        batch = _due(moment, unreachable, seen, limit - tried)
        if not batch:
            break
        progressed = False
        for message_id, destination_id in batch:
            seen.add(message_id)
            if destination_id in unreachable:
                continue
            result = _deliver_one(message_id, moment)
            if result is None:
                continue
            tried += 1
            outcome = result
            if outcome is Outcome.SENT:
                sent += 1
                progressed = True
            elif outcome is Outcome.FAILED:
                unreachable.add(destination_id)
            else:
                progressed = True  # a held message stopped its destination: look again
        if not progressed:
            break
    return sent


# --- what a person does on the console ----------------------------------------------------------


def _check(by: Any) -> Any:
    if by is None or not getattr(by, "has_perm", None) or not by.has_perm(REPLAY_PERMISSION):
        raise PermissionDenied("Your role does not allow skipping, editing or resending messages.")
    return by


def _lock(message: Hl7Message) -> Hl7Message:
    found = _outbound().select_for_update().filter(pk=message.pk).first()
    if found is None:
        raise Conflict("Only messages RadFlow sends can be skipped or resent.", field="message")
    return found


def _note(message: Hl7Message, action: str, by: Any, label: str) -> None:
    entry = {
        "what": "message",
        "id": str(message.pk),
        "action": action,
        "label": label,
        "by": by.get_username(),
        "at": timezone.now().isoformat(),
    }
    message.changes = [*(message.changes or []), entry]


def _release_if_clear(destination_id: UUID | None) -> None:
    """A stop ends when no held message is left on the destination."""
    if destination_id is None:
        return
    destination = Hl7Destination.objects.select_for_update().get(pk=destination_id)
    if destination.stopped_at is None:
        return
    if _outbound().filter(destination=destination, status=Hl7Status.HELD).exists():
        return
    destination.stopped_at, destination.stopped_reason = None, ""
    destination.save(update_fields=["stopped_at", "stopped_reason", "updated_at"])


@transaction.atomic
def hl7_skip(*, message: Hl7Message, by: Any) -> Hl7Message:
    """Never send this message (its patient's later messages go on)."""
    user = _check(by)
    message = _lock(message)
    if message.status not in (Hl7Status.PENDING, Hl7Status.HELD):
        raise Conflict(
            f"Only a message waiting or held can be skipped; this one is "
            f"{message.get_status_display().lower()}.",
            field="status",
        )
    message.status, message.next_attempt_at, message.replayed_by = Hl7Status.SKIPPED, None, user
    _note(message, "skipped", user, f"Skipped by {user.get_username()}")
    message.save(
        update_fields=["status", "next_attempt_at", "replayed_by", "changes", "updated_at"]
    )
    _release_if_clear(message.destination_id)
    logger.info("HL7 %s skipped by user %s", message.control_id, user.pk)
    return message


def _edited(original: Hl7Message, raw: bytes) -> tuple[bytes, wire.MshSummary]:
    try:
        text = bytes(raw).decode(wire.ENCODING)
    except UnicodeDecodeError:
        raise ValidationFailed({"raw": ["The message must be UTF-8 text."]}) from None
    edited = wire.normalise_segments(text)
    try:
        msh = wire.read_msh(edited)
    except ValueError as exc:
        raise ValidationFailed({"raw": [str(exc)]}) from None
    if msh.control_id != original.control_id:
        raise ValidationFailed(
            {
                "raw": [
                    f"MSH-10 must stay {original.control_id}: the destination knows a message "
                    "by its control ID, and a resent message is the same message."
                ]
            }
        )
    if not msh.message_type:
        raise ValidationFailed({"raw": ["MSH-9 (the message type) is empty."]})
    return edited, msh


def _copy(original: Hl7Message, raw: bytes, msh: wire.MshSummary | None, user: Any) -> Hl7Message:
    label = "Edited copy" if msh is not None else "Resent copy"
    copy = Hl7Message(
        direction=Hl7Direction.OUT,
        status=Hl7Status.PENDING,
        destination_id=original.destination_id,
        peer=original.peer,
        sending_application=original.sending_application,
        sending_facility=original.sending_facility,
        receiving_application=original.receiving_application,
        receiving_facility=original.receiving_facility,
        control_id=original.control_id,
        message_type=msh.message_type if msh else original.message_type,
        version=msh.version if msh else original.version,
        charset=msh.charset if msh else original.charset,
        raw=raw,
        patient_mrn=original.patient_mrn,
        accession_number=original.accession_number,
        placer_order_number=original.placer_order_number,
        patient_id=original.patient_id,
        exam_id=original.exam_id,
        order_key=original.order_key,
        next_attempt_at=timezone.now(),
        replay_of=original,
        replayed_by=user,
    )
    _note(copy, "replay", user, f"{label} of {original.pk} by {user.get_username()}")
    copy.save()
    return copy


@transaction.atomic
def hl7_resend(*, message: Hl7Message, by: Any, raw: bytes | None = None) -> Hl7Message:
    """Send the message again, as it was (``raw`` None) or as a person edited it.

    As-is: a waiting, held or skipped message goes back in the queue now, in its place; a sent
    one is queued again as a copy (the first delivery's ACK stays on the original). Edited: a
    new row with the same control ID (MSH-10 may not change) takes the original's place, and
    the original becomes ``replayed``. A destination stopped by this message starts again.
    Returns the row that will be sent.
    """
    user = _check(by)
    original = _lock(message)
    if original.status == Hl7Status.REPLAYED:
        raise Conflict(
            "This message was replaced by an edited copy; resend the copy instead.",
            field="status",
        )
    if raw is not None:
        edited, msh = _edited(original, raw)
        result = _copy(original, edited, msh, user)
        original.status, original.next_attempt_at = Hl7Status.REPLAYED, None
        original.replayed_by = user
        _note(original, "replayed", user, f"Replaced by an edited copy ({result.pk})")
        original.save(
            update_fields=["status", "next_attempt_at", "replayed_by", "changes", "updated_at"]
        )
    elif original.status == Hl7Status.SENT:
        result = _copy(original, bytes(original.raw), None, user)
    else:
        original.status, original.next_attempt_at = Hl7Status.PENDING, timezone.now()
        original.replayed_by = user
        _note(original, "resent", user, f"Resent by {user.get_username()}")
        original.save(
            update_fields=["status", "next_attempt_at", "replayed_by", "changes", "updated_at"]
        )
        result = original
    _release_if_clear(original.destination_id)
    logger.info("HL7 %s resent by user %s (edited: %s)", original.control_id, user.pk, bool(raw))
    return result


@transaction.atomic
def hl7_destination_release(*, destination: Hl7Destination, by: Any) -> Hl7Destination:
    """Start a stopped destination again: other patients' messages flow; a held message still
    holds its own patient's later ones until it is skipped or resent."""
    user = _check(by)
    locked = Hl7Destination.objects.select_for_update().get(pk=destination.pk)
    if locked.stopped_at is None:
        return locked
    held = list(_outbound().select_for_update().filter(destination=locked, status=Hl7Status.HELD))
    for message in held:
        _note(message, "released", user, f"Destination released by {user.get_username()}")
        message.save(update_fields=["changes", "updated_at"])
    locked.stopped_at, locked.stopped_reason = None, ""
    locked.save(update_fields=["stopped_at", "stopped_reason", "updated_at"])
    logger.info("HL7 destination %s released by user %s", locked.pk, user.pk)
    return locked


__all__ = [
    "hl7_deliver_due",
    "hl7_destination_release",
    "hl7_exam_changed",
    "hl7_resend",
    "hl7_skip",
]
