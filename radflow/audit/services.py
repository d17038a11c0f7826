"""Appending to the PHI access log.

``access_record`` must run inside the same transaction as the read it records when there is one,
so a read that fails to log also fails. It locks the chain head (see ``AccessLogHead``), which
serializes appends across processes: on PostgreSQL with ``SELECT ... FOR UPDATE``, on SQLite
through the write lock that ``transaction_mode: IMMEDIATE`` takes at ``BEGIN``.

What counts as a read: every response that shows a patient's demographics to someone. A search
result list shows name, MRN and birth date, so it records one ``patient.search`` row per patient
shown (in one call, so one lock and one chain segment). Exporting the access log itself is not a
patient read: the rows hold MRNs, not records, and logging each exported row would make the log
grow by itself; exports are logged to the ``radflow.audit`` logger with the user's id and the
row count instead (no PHI).

Change history (who changed what) is django-simple-history's job, not this log's: see
``radflow.patients.services`` for how the acting user reaches it outside a request.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connections, router, transaction
from django.http import HttpRequest
from django.utils import timezone

from radflow.audit.models import AccessChannel, AccessLog, AccessLogHead
from radflow.core.audit_chain import GENESIS_HASH, chained_hashes

USER_AGENT_MAX = 200


def _normalise_ip(value: str | None) -> str | None:
    """The form PostgreSQL's ``inet`` hands back, so the hash matches what is read later."""
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


@dataclass(frozen=True)
class AccessSource:
    """Where a read came from; built from a request or given by a non-HTTP boundary."""

    channel: AccessChannel
    ip_address: str | None = None
    user_agent: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "ip_address", _normalise_ip(self.ip_address))
        object.__setattr__(self, "user_agent", (self.user_agent or "")[:USER_AGENT_MAX])

    @classmethod
    def from_request(cls, request: HttpRequest, channel: AccessChannel) -> AccessSource:
        return cls(
            channel=channel,
            ip_address=request.META.get("REMOTE_ADDR") or None,
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )


class PatientKey(Protocol):
    """What a log row names of a patient: a ``Patient``, or a ``PatientRef`` where the reader
    holds only the id and MRN (a cached board, a worklist answer built from plain rows)."""

    @property
    def pk(self) -> Any: ...

    @property
    def mrn(self) -> str: ...


@dataclass(frozen=True)
class PatientRef:
    pk: Any
    mrn: str


@transaction.atomic
def access_record(
    *,
    user: AbstractBaseUser | AnonymousUser | None,
    patients: Iterable[PatientKey],
    action: str,
    source: AccessSource,
) -> list[int]:
    """Append one access row per patient read, chaining each to the one before; returns the
    rows' sequence numbers.

    A patient named more than once in ``patients`` (two orders on one work list) was read once,
    so it gets one row.
    """
    patient_list = list({patient.pk: patient for patient in patients}.values())
    if not patient_list:
        return []
    # The head row is created by migration; get_or_create only covers a database flushed since.
    AccessLogHead.objects.get_or_create(id=1, defaults={"row_hash": GENESIS_HASH})
    head = AccessLogHead.objects.select_for_update().get(id=1)
    authenticated = user is not None and user.is_authenticated
    shared: dict[str, Any] = {
        "at": timezone.now(),
        "user_id": user.pk if authenticated and user is not None else None,
        "username": user.get_username() if authenticated and user is not None else "anonymous",
        "action": action,
        "channel": str(source.channel),
        "ip_address": source.ip_address,
        "user_agent": source.user_agent,
    }
    first = head.seq + 1
    varying: list[dict[str, Any]] = [
        {
            "seq": first + offset,
            "patient_id": str(patient.pk) if patient.pk else None,
            "patient_mrn": patient.mrn,
        }
        for offset, patient in enumerate(patient_list)
    ]
    hashes = chained_hashes(head.row_hash, shared, varying)
    _insert(shared, varying, [head.row_hash, *hashes[:-1]], hashes)
    head.seq, head.row_hash = first + len(varying) - 1, hashes[-1]
    head.save(update_fields=["seq", "row_hash"])
    return list(range(first, first + len(varying)))


def _insert(
    shared: dict[str, Any],
    varying: list[dict[str, Any]],
    prev_hashes: list[str],
    hashes: list[str],
) -> None:
    """One ``executemany`` of the rows' values, inside the chain head's lock.

    No model instances: building and preparing one ``AccessLog`` per row cost more than the
    insert itself (the board logs 150 patients, a worklist week hundreds), and it ran while
    every other writer waited for the lock. Shared values are prepared for the database once.
    """
    connection = connections[router.db_for_write(AccessLog)]
    fields = {f.attname: f for f in AccessLog._meta.concrete_fields}
    prepared = {
        name: fields[name].get_db_prep_save(value, connection) for name, value in shared.items()
    }
    patient_field = fields["patient_id"]
    columns = [*prepared, "seq", "patient_id", "patient_mrn", "prev_hash", "row_hash"]
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 (quoted model names; values are parameters)
        quote(AccessLog._meta.db_table),
        ", ".join(quote(fields[name].column) for name in columns),
        ", ".join(["%s"] * len(columns)),
    )
    constant = list(prepared.values())
    params = [
        [
            *constant,
            row["seq"],
            patient_field.get_db_prep_save(row["patient_id"], connection),
            row["patient_mrn"],
            prev_hash,
            row_hash,
        ]
        for row, prev_hash, row_hash in zip(varying, prev_hashes, hashes, strict=True)
    ]
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.executemany(sql, params)  # in-process SQLite: no round trips to save
            return
        # psycopg sends an executemany as one statement per row; COPY streams them all.
        copy_sql = "COPY {} ({}) FROM STDIN".format(
            quote(AccessLog._meta.db_table),
            ", ".join(quote(fields[name].column) for name in columns),
        )
        with cursor.cursor.copy(copy_sql) as copy:
            for row in params:
                copy.write_row(row)


def access_fields(row: AccessLog) -> dict[str, object]:
    """The row's chained fields in the shape ``radflow.core.audit_chain`` hashes."""
    return {
        "seq": row.seq,
        "at": row.at,
        "user_id": row.user_id,
        "username": row.username,
        "patient_id": str(row.patient_id) if row.patient_id else None,
        "patient_mrn": row.patient_mrn,
        "action": row.action,
        "channel": row.channel,
        "ip_address": row.ip_address,
        "user_agent": row.user_agent,
    }
