from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _install_append_only_guard(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    # SQLite drops triggers when a later migration rebuilds the table; put them back each time.
    from django.db import connections

    from radflow.audit.append_only import install

    install(connections[using])


class AuditConfig(AppConfig):
    name = "radflow.audit"
    label = "audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(
            _install_append_only_guard, sender=self, dispatch_uid="radflow_audit_append_only"
        )
