"""The hash chain behind the tamper-evident access log.

Each row's hash is SHA-256 over the previous row's hash and a canonical encoding of the row's
fields, so changing, removing or reordering any row breaks every link after it. The chain alone
cannot see the *last* rows being cut off, so the log also keeps a head (last seq and hash) that
``verify_head`` compares with the last row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64

#: The fields a row's hash covers, in this order. Changing this list breaks existing chains.
CHAINED_FIELDS = (
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
)


def row_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    payload = json.dumps(
        [prev_hash, *(_canonical(fields.get(name)) for name in CHAINED_FIELDS)],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def chained_hashes(
    prev_hash: str, shared: Mapping[str, Any], varying: Iterable[Mapping[str, Any]]
) -> list[str]:
    """The hashes ``row_hash`` gives a run of consecutive rows, each chained to the one before.

    The rows of one append share most fields (time, reader, action, channel), so those are
    encoded once: a worklist answer logs hundreds of rows inside the lock every other writer
    waits for. The bytes hashed are exactly ``row_hash``'s (a JSON array of scalars is its
    items' encodings joined by commas), so ``verify`` needs nothing new.
    """
    encoded_shared = {
        name: json.dumps(_canonical(value), ensure_ascii=False) for name, value in shared.items()
    }
    hashes: list[str] = []
    for fields in varying:
        items = [json.dumps(prev_hash)]
        for name in CHAINED_FIELDS:
            part = encoded_shared.get(name)
            if part is None:
                part = json.dumps(_canonical(fields.get(name)), ensure_ascii=False)
            items.append(part)
        prev_hash = hashlib.sha256(("[" + ",".join(items) + "]").encode("utf-8")).hexdigest()
        hashes.append(prev_hash)
    return hashes


def _canonical(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("audit rows carry aware datetimes only")
        # Databases hand back the same instant in different zones (UTC, the session's zone);
        # the hash must not depend on which one.
        return value.astimezone(UTC).isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class BrokenLink:
    seq: int
    reason: str


def verify_chain(rows: Iterable[Mapping[str, Any]]) -> tuple[int, BrokenLink | None]:
    """Walk rows in ``seq`` order; return how many were checked and the first broken link.

    The first row must be #1 and chain from the genesis hash, so cutting rows off the start
    is caught as well as a gap, a reorder or an edit in the middle.
    """
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    for row in rows:
        seq = int(row["seq"])
        if seq != expected_seq:
            return checked, BrokenLink(seq, f"sequence gap: expected #{expected_seq}")
        if row["prev_hash"] != expected_prev:
            return checked, BrokenLink(seq, "previous-hash does not match the row before")
        if row_hash(row["prev_hash"], row) != row["row_hash"]:
            return checked, BrokenLink(seq, "row content does not match its hash")
        expected_prev = row["row_hash"]
        expected_seq = seq + 1
        checked += 1
    return checked, None


def verify_head(
    *, last_seq: int, last_hash: str, head_seq: int, head_hash: str
) -> BrokenLink | None:
    """Compare the chain's recorded tip with the last row actually present.

    ``last_seq`` is 0 and ``last_hash`` the genesis hash when there are no rows.
    """
    if head_seq > last_seq:
        return BrokenLink(last_seq + 1, f"rows missing at the end: the head records #{head_seq}")
    if head_seq < last_seq:
        return BrokenLink(head_seq + 1, f"rows after the head (#{head_seq}) were not appended")
    if head_hash != last_hash:
        return BrokenLink(last_seq, "the head's hash does not match the last row")
    return None
