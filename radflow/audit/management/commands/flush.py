"""Django's ``flush``, able to empty the append-only access log.

Flushing wipes the whole database, so the log's guard is lifted for its duration and put back
after. Test runs rely on this to reset between transactional tests.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands.flush import Command as FlushCommand
from django.db import DEFAULT_DB_ALIAS, connections

from radflow.audit.append_only import lifted


class Command(FlushCommand):
    def handle(self, **options: Any) -> None:
        connection = connections[options.get("database") or DEFAULT_DB_ALIAS]
        with lifted(connection):
            super().handle(**options)
