"""What every quality write shares: the settings row, yearly numbers, the department's working
days, and saving with the acting user on the history row.

The writes themselves live beside this module, one per part of the program
(``services_audits``, ``services_peer``, ``services_incidents``, ``services_feedback``,
``services_satisfaction``, ``services_access``); each public function there is one transaction
and raises ``radflow.core.errors.ValidationFailed`` naming the field, before anything is written.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db import models, transaction
from django.utils import timezone

from radflow.core.errors import ValidationFailed
from radflow.localtime import local_midnight
from radflow.quality.models import Counter, QualitySettings, SampleDraw
from radflow.quality.rules import next_month
from radflow.scheduling.models import Site, SiteClosure
from radflow.scheduling.services import full_clean_or_fail

__all__ = [
    "full_clean_or_fail",
    "month_bounds",
    "next_number",
    "quality_settings",
    "quality_settings_save",
    "sample_draw_record",
    "save_as",
    "user_or_none",
    "working_day_checker",
]


def user_or_none(by: Any) -> Any:
    """The acting user for a foreign key: None for the system (worker, demo) or anonymous."""
    if by is None or isinstance(by, AnonymousUser) or not getattr(by, "is_authenticated", False):
        return None
    return by


def save_as(instance: models.Model, by: Any, **kwargs: Any) -> None:
    """Save with ``by`` on the history row (django-simple-history), inside or outside a request."""
    instance._history_user = user_or_none(by)  # type: ignore[attr-defined]
    instance.save(**kwargs)


def quality_settings() -> QualitySettings:
    """The department's settings row, made with the defaults on first use."""
    found = QualitySettings.objects.order_by("created_at").first()
    return found if found is not None else QualitySettings.objects.create()


SETTINGS_FIELDS = (
    "audit_sample_size",
    "sample_seed",
    "audit_pass_mark",
    "peer_reviews_per_radiologist",
    "peer_review_due_days",
    "follow_up_due_days",
    "follow_up_owner",
    "complaint_response_working_days",
)


@transaction.atomic
def quality_settings_save(*, by: Any, **fields: Any) -> QualitySettings:
    unknown = set(fields) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValidationFailed({name: ["Not a quality setting."] for name in sorted(unknown)})
    current = quality_settings()
    row = QualitySettings.objects.select_for_update().get(pk=current.pk)
    for name, value in fields.items():
        setattr(row, name, value.strip() if isinstance(value, str) else value)
    if not row.sample_seed:
        raise ValidationFailed({"sample_seed": ["Give the sample a seed (any word will do)."]})
    full_clean_or_fail(row)
    save_as(row, by)
    return row


def next_number(prefix: str, *, on: date) -> str:
    """``PREFIX-YYYY-NNNN``, the next of the year; the caller's transaction holds the lock."""
    name = f"{prefix}-{on.year}"
    Counter.objects.get_or_create(name=name)
    counter = Counter.objects.select_for_update().get(name=name)
    value = counter.next_value
    counter.next_value = value + 1
    counter.save(update_fields=["next_value"])
    return f"{name}-{value:04d}"


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The month as [its first local midnight, the next month's) in the department's zone."""
    return local_midnight(month.replace(day=1)), local_midnight(next_month(month))


def sample_draw_record(
    *, kind: str, month: date, seed: str, size: int, created: int, by: Any, actor: str
) -> SampleDraw:
    """Record a month's draw (once per kind and month; a top-up adds to its count)."""
    now = timezone.now()
    draw, _ = SampleDraw.objects.get_or_create(
        kind=kind, month=month, defaults={"seed": seed, "sample_size": size, "drawn_at": now}
    )
    draw.seed, draw.sample_size, draw.drawn_at = seed, size, now
    draw.by, draw.actor = user_or_none(by), actor
    draw.created += created
    draw.save(update_fields=["seed", "sample_size", "drawn_at", "by", "actor", "created"])
    return draw


def working_day_checker(since: date, until: date) -> Any:
    """A holiday test for ``add_working_days``: a day is a holiday when every site is
    closed (a public holiday), not when one site has a snow day."""
    sites = Site.objects.count()
    closed: dict[date, int] = {}
    for day in SiteClosure.objects.filter(date__gte=since, date__lte=until).values_list(
        "date", flat=True
    ):
        closed[day] = closed.get(day, 0) + 1
    holidays = {day for day, count in closed.items() if sites and count >= sites}
    return holidays.__contains__


def now() -> datetime:
    return timezone.now()
