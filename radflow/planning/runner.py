"""Runs queued day plans in a background thread of the web process, one at a time.

A re-plan is CPU-bound in OR-Tools (which releases the GIL) and lasts seconds, so one thread
keeps the web process answering while the coordinator watches the run page. With
``PLAN_RUN_SYNC`` (default: on under tests) the plan is computed inline when the starting
transaction commits.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from uuid import UUID

from django.conf import settings
from django.db import close_old_connections, connection

logger = logging.getLogger("radflow.planning")

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="day-plan")
        return _executor


def sync() -> bool:
    """Whether plans run inline (tests, a box that cannot spare a thread)."""
    return bool(getattr(settings, "PLAN_RUN_SYNC", getattr(settings, "TESTING", False)))


def _run(run_id: UUID) -> None:
    from radflow.planning.services import plan_execute

    close_old_connections()
    try:
        plan_execute(run_id=run_id)
    except Exception:
        logger.exception("day plan %s crashed", run_id)
    finally:
        connection.close()


def submit(run_id: UUID) -> Future[None] | None:
    """Compute the plan now (sync mode) or in the background thread; returns the future if any."""
    if sync():
        from radflow.planning.services import plan_execute

        plan_execute(run_id=run_id)
        return None
    return _pool().submit(_run, run_id)
