"""Reads of the access log: auditor searches and the chain check.

Neither shows a patient's record (rows hold the MRN, not demographics), so neither writes an
access row of its own; see ``radflow.audit.services`` for that decision.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Q, QuerySet

from radflow.audit.models import AccessChannel, AccessLog, AccessLogHead
from radflow.core.audit_chain import GENESIS_HASH, BrokenLink, verify_chain, verify_head
from radflow.localtime import local_midnight

VERIFY_CHUNK = 2000


def access_log_search(
    *,
    patient: str = "",
    user: str = "",
    since: date | None = None,
    until: date | None = None,
    channel: AccessChannel | str = "",
    patient_ids: list[Any] | None = None,
) -> QuerySet[AccessLog]:
    """Rows newest first; ``until`` is inclusive (the whole day, department time).

    ``patient`` matches the MRN exactly; a name is resolved to ``patient_ids`` by the caller
    (``radflow.patients.selectors.patient_ids_matching``) so this module never reads names.
    """
    rows = AccessLog.objects.all().order_by("-seq")
    if patient or patient_ids is not None:
        condition = Q(patient_mrn=patient.strip()) if patient else Q()
        if patient_ids is not None:
            condition |= Q(patient_id__in=patient_ids)
        rows = rows.filter(condition)
    if user:
        rows = rows.filter(username__iexact=user.strip())
    if since is not None:
        rows = rows.filter(at__gte=local_midnight(since))
    if until is not None:
        rows = rows.filter(at__lt=local_midnight(until + timedelta(days=1)))
    if channel:
        rows = rows.filter(channel=channel)
    return rows


_VERIFY_FIELDS = (
    "seq",
    "at",
    "user_id",
    "username",
    "patient_id",
    "patient_mrn",
    "action",
    "channel",
    "ip_address",
    "user_agent",
    "prev_hash",
    "row_hash",
)


@dataclass(frozen=True)
class ChainStatus:
    checked: int
    broken: BrokenLink | None

    @property
    def intact(self) -> bool:
        return self.broken is None

    @property
    def summary(self) -> str:
        if self.broken is None:
            return f"OK: {self.checked} rows, chain intact"
        return f"BROKEN at #{self.broken.seq}: {self.broken.reason}"


def access_chain_verify() -> ChainStatus:
    """Stream every row in ``seq`` order through the chain check, then compare the head.

    Rows are read in chunks with a server-side cursor on PostgreSQL, so memory stays flat
    however long the log is.
    """
    last: dict[str, Any] = {"seq": 0, "row_hash": GENESIS_HASH}

    def stream() -> Iterator[dict[str, Any]]:
        rows = AccessLog.objects.order_by("seq").values(*_VERIFY_FIELDS)
        for row in rows.iterator(chunk_size=VERIFY_CHUNK):
            last["seq"], last["row_hash"] = row["seq"], row["row_hash"]
            yield row

    checked, broken = verify_chain(stream())
    if broken is not None:
        return ChainStatus(checked, broken)
    head = AccessLogHead.objects.filter(id=1).first()
    head_seq, head_hash = (head.seq, head.row_hash) if head else (0, GENESIS_HASH)
    return ChainStatus(
        checked,
        verify_head(
            last_seq=int(last["seq"]),
            last_hash=str(last["row_hash"]),
            head_seq=head_seq,
            head_hash=head_hash,
        ),
    )
