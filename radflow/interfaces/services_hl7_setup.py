"""Writes behind the HL7 settings pages: inbound interfaces, outbound destinations, retention,
and the worker's purge of messages older than the retention period.

Each save checks everything first and refuses with every reason at once (``ValidationFailed``
keyed by the form's field names), so a refused form changes nothing. Nothing here holds PHI;
logs name rows by id.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from radflow.core.errors import ValidationFailed
from radflow.interfaces.models import (
    DEAD_LETTER,
    Hl7Destination,
    Hl7Interface,
    Hl7Message,
    Hl7Status,
    InterfaceSettings,
)
from radflow.interfaces.selectors_hl7 import interface_settings_get
from radflow.scheduling.models import Site
from radflow.scheduling.services import full_clean_or_fail

logger = logging.getLogger("radflow.interfaces.hl7_setup")

#: HL7 v2 versions RadFlow writes: 2.3.1 sends ORM^O01 status, 2.5.1 sends OMI^O23.
DESTINATION_VERSIONS = ("2.3.1", "2.5.1")
#: Retention bounds: at least a day (the console must show today's traffic), at most ten years.
RETENTION_MIN_DAYS = 1
RETENTION_MAX_DAYS = 3650
#: Rows deleted per transaction by the purge, so a first purge of a large table does not hold
#: one long write lock (SQLite) or one huge transaction (PostgreSQL).
PURGE_BATCH = 500

_DELIMITERS = "|^~\\&"
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")


def _user(by: Any) -> Any:
    return by if getattr(by, "is_authenticated", False) else None


class _Refusals:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


def _check_hl7_text(refusals: _Refusals, field: str, label: str, value: str) -> None:
    """An HL7 namespace ID as it appears in MSH: no delimiters, no control characters."""
    if any(ch in value for ch in _DELIMITERS) or not value.isprintable():
        refusals.add(
            field, f"{label} is the namespace ID alone: no | ^ ~ \\ & and no control characters."
        )


def _name_taken(model: type[Hl7Interface] | type[Hl7Destination], name: str, pk: Any) -> bool:
    return model.objects.filter(name__iexact=name).exclude(pk=pk).exists()


# --- interfaces (inbound) ---------------------------------------------------------------------


@transaction.atomic
def hl7_interface_save(
    *,
    interface: Hl7Interface | None = None,
    name: str,
    sending_application: str = "",
    sending_facility: str = "",
    mrn_authority: str = "",
    procedure_code_system: str = "",
    site: Site | None = None,
    active: bool = True,
    by: Any = None,
) -> Hl7Interface:
    """Create (``interface`` None) or change an inbound interface; every field is given.

    Two active interfaces that would both claim the same MSH-3/MSH-4 pair are refused: the
    listener could not tell which one's MRN authority and code system apply.
    """
    if interface is not None:
        row = Hl7Interface.objects.select_for_update().get(pk=interface.pk)
    else:
        row = Hl7Interface()
    name = name.strip()
    sending_application = sending_application.strip()
    sending_facility = sending_facility.strip()
    mrn_authority = mrn_authority.strip()
    procedure_code_system = procedure_code_system.strip()
    refusals = _Refusals()
    if not name:
        refusals.add("name", "Give the interface a name (the sending system, e.g. Epic ADT).")
    elif _name_taken(Hl7Interface, name, row.pk):
        refusals.add("name", f"An interface named {name} already exists.")
    _check_hl7_text(refusals, "sending_application", "The sending application", sending_application)
    _check_hl7_text(refusals, "sending_facility", "The sending facility", sending_facility)
    _check_hl7_text(refusals, "mrn_authority", "The MRN assigning authority", mrn_authority)
    _check_hl7_text(
        refusals, "procedure_code_system", "The procedure code system", procedure_code_system
    )
    if active:
        clash = (
            Hl7Interface.objects.filter(
                active=True,
                sending_application__iexact=sending_application,
                sending_facility__iexact=sending_facility,
            )
            .exclude(pk=row.pk)
            .first()
        )
        if clash is not None:
            sender = "/".join(v or "any" for v in (sending_application, sending_facility))
            refusals.add(
                "sending_application",
                f"The active interface {clash.name} already accepts messages from {sender}; "
                "change one of them or deactivate it.",
            )
    refusals.raise_if_any()
    row.name = name
    row.sending_application = sending_application
    row.sending_facility = sending_facility
    row.mrn_authority = mrn_authority
    row.procedure_code_system = procedure_code_system
    row.site = site
    row.active = active
    full_clean_or_fail(row)
    row.save()
    logger.info("HL7 interface %s saved by user %s", row.pk, getattr(by, "pk", None))
    return row


# --- destinations (outbound) ------------------------------------------------------------------


def _check_host(refusals: _Refusals, host: str) -> None:
    if not host:
        refusals.add("host", "Give the address RadFlow connects to (IP address or host name).")
        return
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not _HOST_NAME.match(host):
            refusals.add("host", f"{host} is neither an IP address nor a host name.")


@transaction.atomic
def hl7_destination_save(
    *,
    destination: Hl7Destination | None = None,
    name: str,
    host: str,
    port: int,
    receiving_application: str = "",
    receiving_facility: str = "",
    version: str = "2.5.1",
    sends_scheduling: bool = True,
    sends_status: bool = True,
    active: bool = True,
    by: Any = None,
) -> Hl7Destination:
    """Create (``destination`` None) or change an outbound destination; every field is given.

    A stop (the peer answered AE/AR) is not cleared here: releasing it is a decision about the
    held messages, made on the outbound queue.
    """
    if destination is not None:
        row = Hl7Destination.objects.select_for_update().get(pk=destination.pk)
    else:
        row = Hl7Destination()
    name = name.strip()
    host = host.strip()
    receiving_application = receiving_application.strip()
    receiving_facility = receiving_facility.strip()
    refusals = _Refusals()
    if not name:
        refusals.add("name", "Give the destination a name (the receiving system, e.g. PACS).")
    elif _name_taken(Hl7Destination, name, row.pk):
        refusals.add("name", f"A destination named {name} already exists.")
    _check_host(refusals, host)
    if not 1 <= port <= 65535:
        refusals.add("port", "A port is a number from 1 to 65535.")
    _check_hl7_text(
        refusals, "receiving_application", "The receiving application", receiving_application
    )
    _check_hl7_text(refusals, "receiving_facility", "The receiving facility", receiving_facility)
    if version not in DESTINATION_VERSIONS:
        refusals.add("version", f"RadFlow sends HL7 {' or '.join(DESTINATION_VERSIONS)}.")
    if active and not (sends_scheduling or sends_status):
        refusals.add(
            "sends_scheduling",
            "An active destination receives scheduling messages, status messages or both.",
        )
    refusals.raise_if_any()
    row.name = name
    row.host = host
    row.port = port
    row.receiving_application = receiving_application
    row.receiving_facility = receiving_facility
    row.version = version
    row.sends_scheduling = sends_scheduling
    row.sends_status = sends_status
    row.active = active
    full_clean_or_fail(row, exclude=["stopped_at", "stopped_reason"])
    row.save()
    logger.info("HL7 destination %s saved by user %s", row.pk, getattr(by, "pk", None))
    return row


# --- retention --------------------------------------------------------------------------------


@transaction.atomic
def interface_settings_save(*, retention_days: int, by: Any = None) -> InterfaceSettings:
    """Set how long messages are kept; the worker's next purge applies it."""
    if not RETENTION_MIN_DAYS <= retention_days <= RETENTION_MAX_DAYS:
        raise ValidationFailed(
            {
                "retention_days": [
                    f"Keep messages from {RETENTION_MIN_DAYS} to {RETENTION_MAX_DAYS} days."
                ]
            }
        )
    row = InterfaceSettings.objects.select_for_update().get(pk=interface_settings_get().pk)
    row.retention_days = retention_days
    row.updated_by = _user(by)
    full_clean_or_fail(row)
    row.save(update_fields=["retention_days", "updated_by", "updated_at"])
    logger.info("HL7 retention set to %s days by user %s", retention_days, getattr(by, "pk", None))
    return row


#: Statuses whose messages may go once old enough. Never: a message still to apply (received)
#: or to send (pending, held); a dead letter goes only with the edited copy that replaced it.
_FINISHED = (Hl7Status.APPLIED, Hl7Status.SENT, Hl7Status.SKIPPED, Hl7Status.REPLAYED)


def _has_replay() -> Exists:
    return Exists(Hl7Message.objects.filter(replay_of=OuterRef("pk")))


def _delete_chain_ends(cutoff: datetime) -> int:
    """One batch: finished old messages that no replay points at, then, in the same
    transaction, the originals they replaced once nothing else points at them.

    ``replay_of`` protects an original from deletion while a replay exists, so chains go from
    the newest copy back; a chain whose newest copy is kept (a replay that failed again, one
    still queued) stays whole, and a replaced dead letter never shows up again as unreplayed.
    """
    old = Hl7Message.objects.filter(created_at__lt=cutoff)
    rows = list(
        old.filter(status__in=_FINISHED)
        .filter(~_has_replay())
        .order_by("created_at", "pk")
        .values_list("pk", "replay_of_id")[:PURGE_BATCH]
    )
    deleted = 0
    while rows:
        deleted += Hl7Message.objects.filter(pk__in=[pk for pk, _ in rows]).delete()[0]
        parents = {parent for _, parent in rows if parent is not None}
        rows = list(
            old.filter(pk__in=parents, status__in=(*_FINISHED, *DEAD_LETTER))
            .filter(~_has_replay())
            .values_list("pk", "replay_of_id")
        )
    return deleted


def hl7_messages_purge(*, now: datetime | None = None) -> int:
    """Delete the messages older than the retention period; return how many went.

    Kept whatever their age: dead letters nobody has replayed, outbound messages still pending
    or held, inbound ones not yet applied. Runs in batches of ``PURGE_BATCH`` rows, one
    transaction each, so it can be stopped and run again at any point.
    """
    retention = interface_settings_get().retention_days
    cutoff = (now or timezone.now()) - timedelta(days=retention)
    deleted = 0
    while True:
        with transaction.atomic():
            done = _delete_chain_ends(cutoff)
        if not done:
            break
        deleted += done
    if deleted:
        logger.info("HL7 purge deleted %s messages older than %s days", deleted, retention)
    return deleted
