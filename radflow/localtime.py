"""Days in the department's zone: where a calendar day starts and ends as aware datetimes.

Every "today", date-range filter and daily list asks this one place, so a DST change day
(23 or 25 hours) is handled the same everywhere: ``make_aware`` picks the offset of each midnight.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.utils import timezone


def local_midnight(day: date) -> datetime:
    """Midnight starting ``day`` in the current (department) time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def local_day(day: date) -> tuple[datetime, datetime]:
    """``day`` as the half-open range [its midnight, the next midnight)."""
    return local_midnight(day), local_midnight(day + timedelta(days=1))
