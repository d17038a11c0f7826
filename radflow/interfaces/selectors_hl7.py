"""Reads for the HL7 message console: search, one message, the dead letters, the outbound
queue, the settings row and the Today card's counts.

Lists never load a message's bytes (``raw``, ``ack``) or what it changed: a page of fifty rows
costs one query plus the count, each filter served by one of the model's indexes (direction,
status, control ID, MRN, accession, type, each with ``created_at`` where the index has it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from radflow.audit.services import AccessSource, access_record
from radflow.db import get_or_not_found
from radflow.interfaces.models import (
    DEAD_LETTER,
    Hl7Destination,
    Hl7Direction,
    Hl7Interface,
    Hl7Message,
    Hl7Status,
    InterfaceSettings,
)
from radflow.patients.models import Patient

#: The one settings row's primary key.
SETTINGS_PK = 1
#: How many messages a list shows before older ones are reached by fixing the newer.
LIST_LIMIT = 200
#: Outbound statuses that wait for the worker or for a person.
QUEUED = (Hl7Status.PENDING, Hl7Status.HELD)
#: Columns a list never needs.
_HEAVY = ("raw", "ack", "changes")


def interface_settings_get() -> InterfaceSettings:
    """The department's interface settings, made with the defaults on first use."""
    row = InterfaceSettings.objects.filter(pk=SETTINGS_PK).first()
    if row is not None:
        return row
    try:
        with transaction.atomic():
            row, _ = InterfaceSettings.objects.get_or_create(pk=SETTINGS_PK)
    except IntegrityError:  # another process made it between our read and our insert
        row = InterfaceSettings.objects.get(pk=SETTINGS_PK)
    return row


@dataclass(frozen=True)
class MessageFilters:
    """What the console's search narrows by; empty values do not narrow."""

    direction: str = ""
    since: datetime | None = None
    until: datetime | None = None
    message_type: str = ""
    mrn: str = ""
    accession: str = ""
    control_id: str = ""
    status: str = ""
    interface: Hl7Interface | None = None
    destination: Hl7Destination | None = None


def _listed() -> QuerySet[Hl7Message]:
    return Hl7Message.objects.select_related("interface", "destination").defer(*_HEAVY)


def message_search(filters: MessageFilters) -> QuerySet[Hl7Message]:
    """Messages in and out, newest first.

    Message type matches from the start (``ORM`` finds ``ORM^O01``; ``ADT^A0`` the A0x
    events); MRN, accession and control ID match exactly, as the indexes on them serve.
    """
    rows = _listed()
    if filters.direction:
        rows = rows.filter(direction=filters.direction)
    if filters.since is not None:
        rows = rows.filter(created_at__gte=filters.since)
    if filters.until is not None:
        rows = rows.filter(created_at__lt=filters.until)
    if filters.message_type:
        rows = rows.filter(message_type__startswith=filters.message_type.strip().upper())
    if filters.mrn:
        rows = rows.filter(patient_mrn=filters.mrn.strip())
    if filters.accession:
        rows = rows.filter(accession_number=filters.accession.strip())
    if filters.control_id:
        rows = rows.filter(control_id=filters.control_id.strip())
    if filters.status:
        rows = rows.filter(status=filters.status)
    if filters.interface is not None:
        rows = rows.filter(interface=filters.interface)
    if filters.destination is not None:
        rows = rows.filter(destination=filters.destination)
    return rows.order_by("-created_at", "-pk")


def message_get(*, message_id: UUID) -> Hl7Message:
    """One message with everything its page shows: bytes, ACK, links and replay chain."""
    return get_or_not_found(
        Hl7Message.objects.select_related(
            "interface", "destination", "patient", "exam", "replay_of", "replayed_by"
        ),
        pk=message_id,
        label="HL7 message",
    )


def message_replays(message: Hl7Message) -> list[Hl7Message]:
    """The edited copies made of ``message``, oldest first."""
    return list(
        Hl7Message.objects.filter(replay_of=message)
        .select_related("replayed_by")
        .defer(*_HEAVY)
        .order_by("created_at")
    )


def _replayed() -> Exists:
    """Some edited copy of the message exists."""
    return Exists(Hl7Message.objects.filter(replay_of=OuterRef("pk")))


def dead_letters(*, limit: int = LIST_LIMIT) -> list[Hl7Message]:
    """Inbound messages answered AE or AR that no edited copy has replaced yet, newest first."""
    return list(
        _listed()
        .filter(direction=Hl7Direction.IN, status__in=DEAD_LETTER)
        .filter(~_replayed())
        .order_by("-created_at", "-pk")[:limit]
    )


@dataclass(frozen=True)
class DestinationQueue:
    destination: Hl7Destination
    #: Held first (a person must act), then pending in the order they will go out.
    messages: tuple[Hl7Message, ...]
    pending: int
    held: int

    @property
    def stopped(self) -> bool:
        return self.destination.stopped_at is not None


def outbound_queue(*, limit: int = LIST_LIMIT) -> list[DestinationQueue]:
    """Every destination with what waits for it; stopped destinations first.

    Destinations with nothing queued are listed too (active or stopped ones), so the page also
    answers "is anything going to the PACS at all". One query per destination (there are a
    handful), so a destination with a long backlog does not hide another's.
    """
    counts = {
        (row["destination"], row["status"]): row["n"]
        for row in Hl7Message.objects.filter(
            direction=Hl7Direction.OUT, status__in=QUEUED, destination__isnull=False
        )
        .values("destination", "status")
        .annotate(n=Count("pk"))
    }
    queued_ids = {destination_id for destination_id, _ in counts}
    destinations = Hl7Destination.objects.filter(
        Q(active=True) | Q(stopped_at__isnull=False) | Q(pk__in=queued_ids)
    )
    queues = []
    for destination in destinations:
        messages: tuple[Hl7Message, ...] = ()
        if destination.pk in queued_ids:
            # "held" sorts before "pending": what needs a person comes first.
            messages = tuple(
                _listed()
                .filter(direction=Hl7Direction.OUT, status__in=QUEUED, destination=destination)
                .order_by("status", "created_at", "pk")[:limit]
            )
        queues.append(
            DestinationQueue(
                destination=destination,
                messages=messages,
                pending=counts.get((destination.pk, Hl7Status.PENDING), 0),
                held=counts.get((destination.pk, Hl7Status.HELD), 0),
            )
        )
    queues.sort(key=lambda q: (not q.stopped, -q.held, q.destination.name))
    return queues


@dataclass(frozen=True)
class Hl7Counts:
    dead_letters: int = 0
    held: int = 0
    pending: int = 0
    stopped_destinations: int = 0


def hl7_counts() -> Hl7Counts:
    """The Today card's figures: what waits for a person on the console."""
    row = Hl7Message.objects.filter(
        Q(direction=Hl7Direction.IN, status__in=DEAD_LETTER)
        | Q(direction=Hl7Direction.OUT, status__in=QUEUED)
    ).aggregate(
        dead=Count(
            "pk",
            filter=Q(direction=Hl7Direction.IN, status__in=DEAD_LETTER) & ~_replayed(),
        ),
        held=Count("pk", filter=Q(status=Hl7Status.HELD)),
        pending=Count("pk", filter=Q(status=Hl7Status.PENDING)),
    )
    stopped = Hl7Destination.objects.filter(stopped_at__isnull=False).count()
    return Hl7Counts(
        dead_letters=row["dead"] or 0,
        held=row["held"] or 0,
        pending=row["pending"] or 0,
        stopped_destinations=stopped,
    )


def interfaces_list() -> list[Hl7Interface]:
    return list(Hl7Interface.objects.select_related("site").order_by("name"))


def destinations_list() -> list[Hl7Destination]:
    return list(Hl7Destination.objects.order_by("name"))


def patients_of(messages: Iterable[Hl7Message]) -> list[Patient]:
    """The RadFlow patients the messages name: the linked one, and the patients whose MRN the
    message carries (a refused ADT names a patient RadFlow may know under that MRN)."""
    ids: set[Any] = set()
    mrns: set[str] = set()
    for message in messages:
        if message.patient_id is not None:
            ids.add(message.patient_id)
        if message.patient_mrn:
            mrns.add(message.patient_mrn)
    if not ids and not mrns:
        return []
    return list(Patient.objects.filter(Q(pk__in=ids) | Q(mrn__in=mrns)).only("pk", "mrn"))


def messages_shown_audited(
    *, user: Any, messages: Sequence[Hl7Message], action: str, source: AccessSource
) -> None:
    """One access-log row per RadFlow patient the shown messages name (their MRN, and on the
    message page their whole record as sent)."""
    access_record(user=user, patients=patients_of(messages), action=action, source=source)
