"""SLA clocks: due and warning times from receipt, and where a clock stands now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class ClockState(StrEnum):
    ON_TRACK = "on_track"
    WARNING = "warning"
    BREACHED = "breached"
    STOPPED = "stopped"


@dataclass(frozen=True)
class Clock:
    due_at: datetime
    warn_at: datetime

    @classmethod
    def from_policy(cls, received_at: datetime, target_min: int, warning_min: int) -> Clock:
        return cls(
            due_at=received_at + timedelta(minutes=target_min),
            warn_at=received_at + timedelta(minutes=min(warning_min, target_min)),
        )

    def state(self, now: datetime, *, stopped: bool = False) -> ClockState:
        if stopped:
            return ClockState.STOPPED
        if now >= self.due_at:
            return ClockState.BREACHED
        if now >= self.warn_at:
            return ClockState.WARNING
        return ClockState.ON_TRACK

    def remaining(self, now: datetime) -> timedelta:
        """Time left before breach; negative once breached (the board shows it as overdue)."""
        return self.due_at - now


def format_remaining(delta: timedelta) -> str:
    """``42 min``, ``3 h 05 min``, ``2 d 4 h``; ``overdue 12 min`` when negative."""
    seconds = int(delta.total_seconds())
    prefix = "overdue " if seconds < 0 else ""
    minutes = abs(seconds) // 60
    if seconds < 0:
        minutes = max(minutes, 1)  # thirty seconds late reads "overdue 1 min", not "0 min"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        text = f"{days} d {hours} h"
    elif hours:
        text = f"{hours} h {mins:02d} min"
    else:
        text = f"{mins} min"
    return prefix + text
