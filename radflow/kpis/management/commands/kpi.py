"""``radflow kpi rebuild --from 2025-01-01 --to 2025-12-31``, ``radflow kpi refresh``,
``radflow kpi nightly``, ``radflow kpi load-definitions``: the KPI rollups by hand."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from None


class Command(BaseCommand):
    help = "Rebuild or refresh the KPI rollups; reload the KPI definitions."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        rebuild = sub.add_parser("rebuild", help="Recompute the rollups of a range of days.")
        rebuild.add_argument(
            "--from",
            dest="first",
            type=_date,
            default=None,
            help="First day (default: the first day of the history).",
        )
        rebuild.add_argument(
            "--to",
            dest="last",
            type=_date,
            default=None,
            help="Last day (default: the last day with an exam event).",
        )
        sub.add_parser("refresh", help="Rebuild the days exam changes marked stale.")
        sub.add_parser("nightly", help="Run the nightly catch-up now (whatever the hour).")
        sub.add_parser("load-definitions", help="Reload the shipped KPI definitions and RVUs.")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        started = time.perf_counter()
        if action == "rebuild":
            from radflow.kpis.jobs import rebuild_all

            first, last = options["first"], options["last"]
            if first and last and last < first:
                raise CommandError("--to is before --from.")
            done = rebuild_all(first=first, last=last)
            summary = ", ".join(f"{name} {count}" for name, count in done.items())
            self.stdout.write(f"KPI rollups rebuilt: {summary}")
        elif action == "refresh":
            from radflow.kpis.rollups import rollups_refresh

            self.stdout.write(f"KPI rollups refreshed: {rollups_refresh()} day(s)")
        elif action == "nightly":
            from django.utils import timezone

            from radflow.kpis.jobs import catchup_days, rebuild_all

            today = timezone.localdate()
            done = rebuild_all(first=today - timedelta(days=catchup_days()), last=today)
            summary = ", ".join(f"{name} {count}" for name, count in done.items())
            self.stdout.write(f"KPI nightly catch-up: {summary}")
        else:
            from radflow.kpis.reference import definitions_sync

            result = definitions_sync()
            self.stdout.write(
                f"KPI definitions: {result.created} created, {result.updated} updated; "
                f"{result.rvus} RVU rows added"
            )
        self.stdout.write(f"({time.perf_counter() - started:.1f} s)")
