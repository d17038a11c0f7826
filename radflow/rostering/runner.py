"""Runs queued roster solves in a background thread of the web process, one at a time.

A solve is CPU-bound in OR-Tools (which releases the GIL), so one thread with two CP-SAT workers
keeps the web process answering while the coordinator watches the progress page. Cancelling sets
the run's ``threading.Event`` here when the solve runs in this process; a solve in another process
sees its row leave RUNNING at its next progress write (see ``services._ProgressWriter``).
With ``ROSTER_RUN_SYNC`` (tests) the run is executed inline instead.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from uuid import UUID

from django.conf import settings
from django.db import close_old_connections, connection

logger = logging.getLogger("radflow.rostering")

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()
_stops: dict[UUID, threading.Event] = {}


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="roster-solve")
        return _executor


def _run(run_id: UUID, stop: threading.Event) -> None:
    from radflow.rostering.services import roster_run_execute

    close_old_connections()
    try:
        roster_run_execute(run_id=run_id, stop=stop)
    except Exception:
        logger.exception("roster run %s crashed", run_id)
    finally:
        with _lock:
            _stops.pop(run_id, None)
        connection.close()


def submit(run_id: UUID) -> Future[None] | None:
    """Solve the run now (sync mode) or in the background thread; returns the future if any."""
    stop = threading.Event()
    with _lock:
        _stops[run_id] = stop
    if getattr(settings, "ROSTER_RUN_SYNC", False):
        from radflow.rostering.services import roster_run_execute

        try:
            roster_run_execute(run_id=run_id, stop=stop)
        finally:
            with _lock:
                _stops.pop(run_id, None)
        return None
    return _pool().submit(_run, run_id, stop)


def stop(run_id: UUID) -> bool:
    """Ask a solve running in this process to stop; False when it is not running here."""
    with _lock:
        event = _stops.get(run_id)
    if event is None:
        return False
    event.set()
    return True
