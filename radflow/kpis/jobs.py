"""The KPI jobs the worker runs: dirty-day refreshes every run, a catch-up once a night."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from radflow.kpis import capacity
from radflow.kpis.models import KpiJobState
from radflow.kpis.rollups import documentation_flips_mark, rollups_rebuild, rollups_refresh

NIGHTLY = "nightly"


def nightly_hour() -> int:
    """Local hour after which the nightly catch-up runs (``KPI_NIGHTLY_HOUR``, 2)."""
    return int(getattr(settings, "KPI_NIGHTLY_HOUR", 2))


def catchup_days() -> int:
    """Days the nightly catch-up rebuilds (``KPI_CATCHUP_DAYS``, 35): changes made outside the
    exam services (an order's payer corrected, a rebuild interrupted) are caught within this."""
    return int(getattr(settings, "KPI_CATCHUP_DAYS", 35))


DOC_FLIPS = "documentation_flips"


def kpi_rollups_refresh(*, now: datetime | None = None) -> int:
    """Every worker run: mark the days whose documentation gaps the clock changed since the last
    run, then rebuild every dirty day. Returns the days rebuilt."""
    now = now or timezone.now()
    with transaction.atomic():
        state, _ = KpiJobState.objects.select_for_update().get_or_create(name=DOC_FLIPS)
        since = state.last_run_at or now - timedelta(days=1)
        if since < now:
            documentation_flips_mark(now=now, since=since)
            state.last_run_at = now
            state.save(update_fields=["last_run_at"])
    return rollups_refresh()


def rebuild_all(
    *, first: date | None = None, last: date | None = None, now: datetime | None = None
) -> dict[str, int]:
    """Rollups, open room time and worked staff time for ``[first, last]`` (all history when
    not given), and today's third-next-available snapshot."""
    from radflow.kpis.rollups import history_span

    now = now or timezone.now()
    today = timezone.localdate(now)
    result = rollups_rebuild(first=first, last=last)
    span = history_span()
    lo = first or (span[0] if span else today)
    hi = min(last or today, today)
    done = {"fine": result.fine, "site": result.site, "reasons": result.reasons}
    if lo <= hi:
        done["room_days"] = capacity.room_days_rebuild(first=lo, last=hi)
        done["staff_days"] = capacity.staff_days_rebuild(first=lo, last=hi)
    if (first is None or first <= today) and (last is None or last >= today):
        done["backlog"] = capacity.backlog_snapshot(now=now)
    return done


def kpi_nightly(*, now: datetime | None = None) -> int:
    """Once a local day, after ``nightly_hour()``: rebuild the last ``catchup_days()`` days and
    take the third-next-available snapshot. Returns 1 when it ran, else 0."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    today = local.date()
    if local.hour < nightly_hour():
        return 0
    with transaction.atomic():
        state, _ = KpiJobState.objects.select_for_update().get_or_create(name=NIGHTLY)
        if state.last_day == today:
            return 0
        detail = rebuild_all(first=today - timedelta(days=catchup_days()), last=today, now=now)
        state.last_day, state.last_run_at, state.detail = today, now, detail
        state.save()
    return 1
