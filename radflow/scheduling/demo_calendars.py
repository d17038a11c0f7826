"""Demo step "booking calendars": ``radflow.scheduling.demo.generate_calendars`` (after staff and
rosters, before the bookings)."""

from __future__ import annotations

from radflow.scheduling.demo import generate_calendars as generate

__all__ = ["generate"]
