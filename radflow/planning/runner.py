"""Runs queued day plans in a background thread of the web process, one at a time.

A re-plan is CPU-bound in OR-Tools (which releases the GIL) and lasts seconds, so one thread
keeps the web process answering while the coordinator watches the run page. With
``PLAN_RUN_SYNC`` (default: on under tests) the plan is computed inline when the starting
transaction commits.
"""

from __future__ import annotations

import logging
from uuid import UUID

from radflow.web.background import BackgroundRunner


def _execute(run_id: UUID) -> None:
    from radflow.planning.services import plan_execute

    plan_execute(run_id=run_id)


_runner = BackgroundRunner(
    what="day plan",
    thread_name="day-plan",
    sync_setting="PLAN_RUN_SYNC",
    execute=_execute,
    logger=logging.getLogger("radflow.planning"),
)
sync = _runner.sync
submit = _runner.submit
