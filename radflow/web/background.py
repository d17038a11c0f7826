"""One background thread in the web process for a kind of long job (a day plan, a report pack).

The job is seconds of work the user watches on a page that polls its row, so one thread keeps
the web process answering without a separate worker. With the kind's sync setting (default: on
under tests) the job runs inline instead, when the starting transaction commits.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from uuid import UUID

from django.conf import settings
from django.db import close_old_connections, connection


class BackgroundRunner:
    def __init__(
        self,
        *,
        what: str,
        thread_name: str,
        sync_setting: str,
        execute: Callable[[UUID], None],
        logger: logging.Logger,
    ) -> None:
        self.what = what
        self.thread_name = thread_name
        self.sync_setting = sync_setting
        self.execute = execute
        self.logger = logger
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix=self.thread_name
                )
            return self._executor

    def sync(self) -> bool:
        """Whether jobs run inline (tests, a box that cannot spare a thread)."""
        return bool(getattr(settings, self.sync_setting, getattr(settings, "TESTING", False)))

    def _run(self, key: UUID) -> None:
        close_old_connections()
        try:
            self.execute(key)
        except Exception:
            self.logger.exception("%s %s crashed", self.what, key)
        finally:
            connection.close()

    def submit(self, key: UUID) -> Future[None] | None:
        """Run now (sync mode) or in the background thread; returns the future if any."""
        if self.sync():
            self.execute(key)
            return None
        return self._pool().submit(self._run, key)
