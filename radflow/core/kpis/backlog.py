"""Third-next-available appointment: the access measure that ignores one-off gaps.

The next free slot is often a cancellation; the third is what a new patient can really book
(IHI's "third next available appointment"). Slots are the exam's length laid end to end from the
start of each free window, as a scheduler would offer them; the answer is in days from now.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

Window = tuple[datetime, datetime]


def slot_starts(
    free: Sequence[Window], minutes: int, *, after: datetime, limit: int
) -> list[datetime]:
    """The first ``limit`` slot starts (UTC) of ``minutes`` length inside ``free`` windows,
    from ``after`` on, earliest first. Windows may overlap (several rooms): each window is one
    room's free time, so the same start in two rooms is two slots."""
    if minutes <= 0:
        raise ValueError("a slot must last at least one minute")
    length = timedelta(minutes=minutes)
    after = after.astimezone(UTC)
    starts: list[datetime] = []
    for start, end in free:
        start, end = max(start.astimezone(UTC), after), end.astimezone(UTC)
        taken = 0  # a window's own first ``limit`` slots are all it can add to the answer
        while start + length <= end and taken < limit:
            starts.append(start)
            start += length
            taken += 1
    starts.sort()
    return starts[:limit]


def third_next_available(
    free: Sequence[Window], minutes: int, *, now: datetime, nth: int = 3
) -> float | None:
    """Days from ``now`` to the start of the ``nth`` free slot; None if there are fewer."""
    starts = slot_starts(free, minutes, after=now, limit=nth)
    if len(starts) < nth:
        return None
    return (starts[nth - 1] - now.astimezone(UTC)).total_seconds() / 86400
