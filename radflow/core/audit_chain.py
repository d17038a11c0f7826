"""The hash chain behind the tamper-evident access log.

Each row's hash is SHA-256 over the previous row's hash and a canonical encoding of the row's
fields, so changing, removing or reordering any row breaks every link after it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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


def _canonical(value: Any) -> Any:
    if value is None or isinstance(value, (int, str)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class BrokenLink:
    seq: int
    reason: str


def verify_chain(rows: Iterable[Mapping[str, Any]]) -> tuple[int, BrokenLink | None]:
    """Walk rows in ``seq`` order; return how many were checked and the first broken link."""
    expected_prev = GENESIS_HASH
    expected_seq: int | None = None
    checked = 0
    for row in rows:
        seq = int(row["seq"])
        if expected_seq is not None and seq != expected_seq:
            return checked, BrokenLink(seq, f"sequence gap: expected #{expected_seq}")
        if row["prev_hash"] != expected_prev:
            return checked, BrokenLink(seq, "previous-hash does not match the row before")
        if row_hash(row["prev_hash"], row) != row["row_hash"]:
            return checked, BrokenLink(seq, "row content does not match its hash")
        expected_prev = row["row_hash"]
        expected_seq = seq + 1
        checked += 1
    return checked, None
