from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles(sender: AppConfig, **kwargs: Any) -> None:
    from django.apps import apps

    # Django creates each app's permissions in that app's own post_migrate, so the groups can
    # only be filled once the last installed app has had its turn.
    with_models = [config for config in apps.get_app_configs() if config.models_module]
    if sender.label != with_models[-1].label:
        return
    from radflow.accounts.services import roles_sync

    roles_sync()


class AccountsConfig(AppConfig):
    name = "radflow.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_sync_roles, dispatch_uid="radflow_roles_sync")
