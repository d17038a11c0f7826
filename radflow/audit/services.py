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
from radflow.core.audit_chain import GENESIS_HASH, row_hash

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
) -> list[AccessLog]:
    """Append one access row per patient read, chaining each to the one before.

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
    user_id = user.pk if authenticated and user is not None else None
    username = user.get_username() if authenticated and user is not None else "anonymous"
    now = timezone.now()
    rows: list[AccessLog] = []
    prev_hash, seq = head.row_hash, head.seq
    for patient in patient_list:
        seq += 1
        row = AccessLog(
            seq=seq,
            at=now,
            user_id=user_id,
            username=username,
            patient_id=patient.pk,
            patient_mrn=patient.mrn,
            action=action,
            channel=source.channel,
            ip_address=source.ip_address,
            user_agent=source.user_agent,
            prev_hash=prev_hash,
        )
        row.row_hash = row_hash(prev_hash, access_fields(row))
        prev_hash = row.row_hash
        rows.append(row)
    _insert(rows)
    head.seq, head.row_hash = seq, prev_hash
    head.save(update_fields=["seq", "row_hash"])
    return rows


def _insert(rows: list[AccessLog]) -> None:
    """One ``executemany`` of the rows' values, inside the chain head's lock.

    ``bulk_create`` compiles every field of every row into SQL; for the board's 150 patients that
    cost more than the insert itself, and it ran while every other writer waited for the lock."""
    connection = connections[router.db_for_write(AccessLog)]
    fields = AccessLog._meta.concrete_fields
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 (quoted model names; values are parameters)
        quote(AccessLog._meta.db_table),
        ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    params = [
        [f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields] for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
    for row in rows:  # as bulk_create leaves them: saved rows, not new ones
        row._state.adding = False
        row._state.db = connection.alias


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
