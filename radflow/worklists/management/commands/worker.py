"""``radflow worker [--once]``: the department's periodic jobs, every WORKER_INTERVAL_SECONDS.

Today one job: SLA escalation (warning, then breach; each sent once). The loop sleeps on an event
so SIGTERM (honcho, systemd) ends it between runs, and a job that fails is logged and retried on
the next run instead of stopping the others. Logs carry counts only, never patients.
"""

from __future__ import annotations

import logging
import signal
import threading
from argparse import ArgumentParser
from collections.abc import Callable
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from radflow.orders.services import sla_escalate

logger = logging.getLogger("radflow.worker")


def _sla_escalate() -> int:
    return len(sla_escalate())


def _credential_alerts() -> int:
    from radflow.credentials.services import credential_alerts_send

    return len(credential_alerts_send())


def _roster_runs_fail_stuck() -> int:
    from radflow.rostering.services import runs_fail_stuck

    return runs_fail_stuck()


def _outbox_deliver() -> int:
    from radflow.notifications.outbox import outbox_deliver_due

    return outbox_deliver_due()


def _hl7_deliver() -> int:
    from radflow.interfaces.hl7_outbound import hl7_deliver_due

    return hl7_deliver_due()


def _plan_runs_fail_stuck() -> int:
    from radflow.planning.services import plan_runs_fail_stuck

    return plan_runs_fail_stuck()


def _holds_release_expired() -> int:
    from radflow.scheduling.booking import hold_release_expired

    return hold_release_expired()


def _hl7_messages_purge() -> int:
    from radflow.interfaces.services_hl7_setup import hl7_messages_purge

    return hl7_messages_purge()


def _kpi_rollups_refresh() -> int:
    from radflow.kpis.jobs import kpi_rollups_refresh

    return kpi_rollups_refresh()


def _kpi_nightly() -> int:
    from radflow.kpis.jobs import kpi_nightly

    return kpi_nightly()


def _quality_monthly_draw() -> int:
    from radflow.quality.tasks import quality_monthly_draw

    return quality_monthly_draw()


def _report_packs_monthly() -> int:
    from radflow.kpis.report_tasks import report_packs_monthly

    return report_packs_monthly()


#: Name and job; each returns how many things it did.
JOBS: tuple[tuple[str, Callable[[], int]], ...] = (
    ("sla_escalate", _sla_escalate),
    ("credential_alerts", _credential_alerts),
    ("roster_runs_fail_stuck", _roster_runs_fail_stuck),
    ("outbox_deliver", _outbox_deliver),
    ("hl7_deliver", _hl7_deliver),
    ("plan_runs_fail_stuck", _plan_runs_fail_stuck),
    ("holds_release_expired", _holds_release_expired),
    ("hl7_messages_purge", _hl7_messages_purge),
    ("quality_monthly_draw", _quality_monthly_draw),
    ("kpi_rollups_refresh", _kpi_rollups_refresh),
    ("kpi_nightly", _kpi_nightly),
    ("report_packs_monthly", _report_packs_monthly),
)


def run_jobs() -> dict[str, int]:
    """Run every job once; a failing job is logged and counted as -1."""
    done: dict[str, int] = {}
    for name, job in JOBS:
        try:
            done[name] = job()
        except Exception:
            logger.exception("worker job %s failed", name)
            done[name] = -1
        else:
            logger.info("worker job %s: %d", name, done[name])
    return done


class Command(BaseCommand):
    help = "Run the periodic jobs (SLA escalation) in a loop, or once with --once."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--once", action="store_true", help="run every job once and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            self._report(run_jobs())
            return
        stop = threading.Event()

        def on_term(signum: int, frame: FrameType | None) -> None:
            stop.set()

        previous = signal.signal(signal.SIGTERM, on_term)
        interval = max(1, int(settings.WORKER_INTERVAL_SECONDS))
        self.stdout.write(f"worker: running jobs every {interval} s")
        try:
            while not stop.is_set():
                # A long-lived process: drop a connection the database closed or that outlived
                # CONN_MAX_AGE before each run, as Django does around each request.
                close_old_connections()
                self._report(run_jobs())
                close_old_connections()
                stop.wait(interval)
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
        self.stdout.write("worker: stopped")

    def _report(self, done: dict[str, int]) -> None:
        summary = ", ".join(f"{name}={count}" for name, count in done.items())
        self.stdout.write(f"worker: {summary}")
