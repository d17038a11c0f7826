"""Builds report packs asked for on the page in a background thread of the web process.

A build takes seconds (queries, charts, WeasyPrint), so one thread keeps the web process
answering while the coordinator watches the progress the build writes to its version row. With
``REPORT_PACK_BUILD_SYNC`` (default: on under tests) the build runs inline when the starting
transaction commits. Scheduled builds run in ``radflow worker`` (or Celery beat), not here.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from uuid import UUID

from django.conf import settings
from django.db import close_old_connections, connection

logger = logging.getLogger("radflow.kpis.report")

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="report-pack")
        return _executor


def sync() -> bool:
    """Whether builds run inline (tests, a box that cannot spare a thread)."""
    return bool(getattr(settings, "REPORT_PACK_BUILD_SYNC", getattr(settings, "TESTING", False)))


def _run(version_id: UUID) -> None:
    from radflow.kpis.report_services import report_pack_build_execute

    close_old_connections()
    try:
        report_pack_build_execute(version_id=version_id)
    except Exception:
        logger.exception("report pack version %s crashed", version_id)
    finally:
        connection.close()


def submit(version_id: UUID) -> Future[None] | None:
    """Build now (sync mode) or in the background thread; returns the future if any."""
    if sync():
        from radflow.kpis.report_services import report_pack_build_execute

        report_pack_build_execute(version_id=version_id)
        return None
    return _pool().submit(_run, version_id)
