"""Ids of resources RadFlow computes rather than stores.

A Slot is a free or busy stretch of one room's day, worked out from opening hours and
reservations when asked; its id says which room, from when and for how long, so a read finds
the same stretch again (or 404 when it has changed since).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

_SLOT = re.compile(r"^(?P<room>[0-9a-f]{32})-(?P<start>\d{12})-(?P<minutes>\d{1,5})$")


@dataclass(frozen=True)
class SlotKey:
    room: UUID
    start: datetime
    minutes: int

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.minutes)


def slot_id(room: UUID, start: datetime, end: datetime) -> str:
    minutes = int((end - start).total_seconds() // 60)
    return f"{room.hex}-{start.astimezone(UTC):%Y%m%d%H%M}-{minutes}"


def parse_slot_id(value: str) -> SlotKey | None:
    match = _SLOT.match(value)
    if match is None:
        return None
    try:
        start = datetime.strptime(match["start"], "%Y%m%d%H%M").replace(tzinfo=UTC)
    except ValueError:
        return None
    return SlotKey(UUID(match["room"]), start, int(match["minutes"]))
