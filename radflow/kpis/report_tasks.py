"""The monthly report pack's periodic job, for ``radflow worker`` and for Celery beat alike.

``radflow worker`` calls ``report_packs_monthly`` every cycle: cheap when there is nothing to do
(an indexed look-up or two), and it builds at most one pack per cycle so the SLA escalation and
the other jobs are never held up for long. Celery beat (``radflow.celery``) calls the task on the
1st, and the Celery worker builds every queued pack in one go. Both are safe together: a pack is
queued once per month by the schedule, and a version is built once.
"""

from __future__ import annotations

from datetime import datetime

from celery import shared_task  # type: ignore[import-untyped]

from radflow.kpis.report_models import PackTrigger
from radflow.kpis.report_services import (
    report_pack_build_next,
    report_packs_fail_stuck,
    report_packs_schedule,
)


def report_packs_monthly(*, now: datetime | None = None, build_all: bool = False) -> int:
    """Fail builds whose process ended, queue last month's packs once (from the 1st), and build
    the oldest queued scheduled one (every one with ``build_all``). Returns the packs built."""
    report_packs_fail_stuck(now=now)
    report_packs_schedule(now=now)
    built = 0
    while report_pack_build_next(trigger=PackTrigger.SCHEDULE) is not None:
        built += 1
        if not build_all:
            break
    return built


@shared_task(name="radflow.kpis.report_packs_monthly")  # type: ignore[untyped-decorator]
def report_packs_monthly_task() -> int:
    return report_packs_monthly(build_all=True)
