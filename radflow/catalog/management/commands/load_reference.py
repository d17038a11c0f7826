"""``radflow load_reference``: upsert the shipped exam catalog and its reference tables."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from radflow.catalog.reference import load_reference


class Command(BaseCommand):
    help = (
        "Load modalities, room capabilities, screening items, competencies, procedure codes and "
        "exam types from radflow/catalog/data (safe to run repeatedly)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--keep-existing",
            action="store_true",
            help="Only add missing codes; leave rows already in the database as edited.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from radflow.credentials.reference import load_credential_reference
        from radflow.orders.reference import load_workflow_reference

        update = not options["keep_existing"]
        result = load_reference(update_existing=update)
        load_workflow_reference(update_existing=update, result=result)
        load_credential_reference(update_existing=update, result=result)
        self.stdout.write(self.style.SUCCESS(f"Reference data loaded. {result.summary()}"))
