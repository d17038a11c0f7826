"""Builds report packs asked for on the page in a background thread of the web process.

A build takes seconds (queries, charts, WeasyPrint), so one thread keeps the web process
answering while the coordinator watches the progress the build writes to its version row. With
``REPORT_PACK_BUILD_SYNC`` (default: on under tests) the build runs inline when the starting
transaction commits. Scheduled builds run in ``radflow worker`` (or Celery beat), not here.
"""

from __future__ import annotations

import logging
from uuid import UUID

from radflow.web.background import BackgroundRunner


def _execute(version_id: UUID) -> None:
    from radflow.kpis.report_services import report_pack_build_execute

    report_pack_build_execute(version_id=version_id)


_runner = BackgroundRunner(
    what="report pack version",
    thread_name="report-pack",
    sync_setting="REPORT_PACK_BUILD_SYNC",
    execute=_execute,
    logger=logging.getLogger("radflow.kpis.report"),
)
submit = _runner.submit
