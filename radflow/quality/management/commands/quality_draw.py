"""``radflow quality_draw --month YYYY-MM``: draw a month's image-quality audit sample and peer
review assignments (for cron, or to redraw after a change of sample size). Drawing again tops up
and never removes what was drawn."""

from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from radflow.core.errors import ValidationFailed
from radflow.quality.rules import month_start, previous_month
from radflow.quality.services_audits import audit_sample_draw
from radflow.quality.services_peer import peer_review_assign_month


class Command(BaseCommand):
    help = "Draw a month's image-quality audits and peer reviews (default: last month)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--month", help="YYYY-MM (default: last month)")
        parser.add_argument("--audits-only", action="store_true")
        parser.add_argument("--reviews-only", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        from django.utils import timezone

        raw = options.get("month")
        if raw:
            try:
                month = date.fromisoformat(f"{raw}-01")
            except ValueError as exc:
                raise CommandError(f"--month {raw!r} is not YYYY-MM") from exc
        else:
            month = previous_month(month_start(timezone.localdate()))
        try:
            if not options["reviews_only"]:
                audits = audit_sample_draw(month=month, actor="command")
                self.stdout.write(
                    f"{month:%Y-%m} image audits: {audits.created} drawn "
                    f"({sum(audits.per_person.values())} in all, {len(audits.per_person)} people)"
                )
            if not options["audits_only"]:
                reviews = peer_review_assign_month(month=month, actor="command")
                self.stdout.write(
                    f"{month:%Y-%m} peer reviews: {reviews.created} assigned to "
                    f"{len(reviews.per_reviewer)} reviewers"
                )
        except ValidationFailed as exc:
            raise CommandError("; ".join(m for ms in exc.errors.values() for m in ms)) from exc
