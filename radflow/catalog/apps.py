from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _install_reference_triggers(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    # SQLite drops triggers when a later migration rebuilds a table; put them back each time.
    from django.db import connections

    from radflow.catalog.refdata import install

    install(connections[using])


class CatalogConfig(AppConfig):
    name = "radflow.catalog"
    label = "catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(
            _install_reference_triggers, sender=self, dispatch_uid="radflow_reference_generation"
        )
