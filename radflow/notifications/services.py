"""Tell people: an in-app notification per recipient and, after the commit, an email copy."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.utils import timezone

from radflow.notifications.models import Notification


@transaction.atomic
def notify(
    *,
    recipients: Iterable[Any],
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    at: datetime | None = None,
) -> list[Notification]:
    """One notification per recipient; emails go out only if the transaction commits."""
    people = list(recipients)
    created = Notification.objects.bulk_create(
        Notification(
            recipient=person,
            kind=kind,
            title=title[:200],
            body=body,
            url=url,
            created_at=at or timezone.now(),
        )
        for person in people
    )
    base = getattr(settings, "RADFLOW_BASE_URL", "")
    # No PHI in email: title and link only carry the accession number and exam type.
    mails = [
        (title, f"{body}\n\n{base}{url}".strip(), settings.DEFAULT_FROM_EMAIL, [person.email])
        for person in people
        if getattr(person, "email", "")
    ]
    if mails:
        transaction.on_commit(lambda: send_mass_mail(mails, fail_silently=False))
    return created


@transaction.atomic
def notifications_mark_read(*, user: Any, ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (all unread ones when ``ids`` is None)."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=timezone.now())
