"""Periodic quality work for ``radflow worker`` (and Celery beat, which calls the same function).

On the first run of each month, last month's image-quality sample and peer review assignments
are drawn. Cheap when there is nothing to do (two indexed lookups), so it runs every cycle.
"""

from __future__ import annotations

from datetime import date

from django.utils import timezone

from radflow.quality.models import DrawKind, SampleDraw
from radflow.quality.rules import month_start, previous_month
from radflow.quality.services_audits import audit_sample_draw
from radflow.quality.services_peer import peer_review_assign_month


def quality_monthly_draw(*, today: date | None = None) -> int:
    """Draw last month's audits and peer reviews if nobody has yet; how many were made."""
    month = previous_month(month_start(today or timezone.localdate()))
    drawn = set(SampleDraw.objects.filter(month=month).values_list("kind", flat=True))
    created = 0
    if DrawKind.IMAGE_AUDIT not in drawn:
        created += audit_sample_draw(month=month, actor="worker").created
    if DrawKind.PEER_REVIEW not in drawn:
        created += peer_review_assign_month(month=month, actor="worker").created
    return created
