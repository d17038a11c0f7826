"""The transactional outbox: messages written with the change they report, sent by the worker.

``outbox_enqueue`` runs inside the caller's transaction, so a message exists exactly when the
change committed. ``outbox_deliver_due`` (the worker's ``outbox_deliver`` job) sends what is due:
email through Django's email backend. HL7 v2 (SIU and order status) has its own outbox, the
``Hl7Message`` table sent by ``radflow.interfaces.hl7_outbound`` (which reuses ``backoff``); this
table's HL7 channel stays unused. Delivery is at least once: a message sent just before a crash
that lost its "sent" mark goes out again on the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.utils import timezone

from radflow.core.errors import ValidationFailed
from radflow.notifications.models import Outbox, OutboxChannel, OutboxStatus

logger = logging.getLogger("radflow.notifications")

#: After this many failed attempts a message is marked failed and no longer retried.
MAX_ATTEMPTS = 8
#: First retry after this long, doubling each time (1, 2, 4, ... minutes), capped below.
FIRST_BACKOFF = timedelta(minutes=1)
MAX_BACKOFF = timedelta(hours=6)
#: Messages looked at per run of the job; the rest wait for the next run.
BATCH = 200


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failure before trying again."""
    wait: timedelta = FIRST_BACKOFF * 2 ** max(0, attempts - 1)
    return min(wait, MAX_BACKOFF)


@transaction.atomic
def outbox_enqueue(
    *,
    channel: str,
    recipient: str,
    subject: str = "",
    body: str = "",
    payload: Mapping[str, Any] | None = None,
    key: str = "",
    at: datetime | None = None,
) -> Outbox:
    """Write a message to send after the caller's transaction commits.

    A blank recipient (a patient without an email address) is kept as ``skipped``, so the
    record shows that nobody was told and the coordinator's list says whom to call.
    """
    if channel not in OutboxChannel.values:
        raise ValidationFailed({"channel": [f"{channel!r} is not an outbox channel."]})
    if channel == OutboxChannel.HL7:
        # HL7 goes through radflow.interfaces.hl7_outbound (control IDs, ACKs, held messages).
        raise ValidationFailed(
            {"channel": ["HL7 messages are sent by radflow.interfaces.hl7_outbound."]}
        )
    moment = at or timezone.now()
    recipient = recipient.strip()
    return Outbox.objects.create(
        channel=channel,
        recipient=recipient,
        subject=subject[:200],
        body=body,
        payload=dict(payload or {}),
        key=key[:80],
        status=OutboxStatus.PENDING if recipient else OutboxStatus.SKIPPED,
        next_attempt_at=moment,
        created_at=moment,
    )


def _send_email(message: Outbox) -> None:
    EmailMessage(
        subject=message.subject,
        body=message.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.recipient],
    ).send(fail_silently=False)


#: How each channel is sent; a channel without a sender stays pending.
_SENDERS: dict[str, Callable[[Outbox], None]] = {OutboxChannel.EMAIL: _send_email}


def _blocked(message: Outbox) -> bool:
    """An older message with the same key is still waiting: keep the patient's order."""
    if not message.key:
        return False
    return Outbox.objects.filter(
        key=message.key, status=OutboxStatus.PENDING, id__lt=message.id
    ).exists()


def _deliver_one(message_id: int, now: datetime) -> bool | None:
    """Send one due message in its own transaction; True sent, False failed, None not tried."""
    with transaction.atomic():
        rows = Outbox.objects.filter(
            pk=message_id, status=OutboxStatus.PENDING, next_attempt_at__lte=now
        )
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        message = rows.first()
        if message is None or _blocked(message):
            return None
        sender = _SENDERS.get(message.channel)
        if sender is None:
            return None
        message.attempts += 1
        try:
            sender(message)
        except Exception as exc:  # any transport error: retry later, never lose the message
            message.last_error = f"{type(exc).__name__}: {exc}"[:1000]
            if message.attempts >= MAX_ATTEMPTS:
                message.status = OutboxStatus.FAILED
            else:
                message.next_attempt_at = now + backoff(message.attempts)
            message.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
            logger.warning(
                "outbox message %s attempt %d failed", message.pk, message.attempts, exc_info=True
            )
            return False
        message.status = OutboxStatus.SENT
        message.sent_at = timezone.now()
        message.last_error = ""
        message.save(update_fields=["attempts", "status", "sent_at", "last_error"])
        return True


def outbox_deliver_due(*, now: datetime | None = None, limit: int = BATCH) -> int:
    """Send the messages that are due, oldest first; returns how many were sent.

    Each message is its own short transaction (lock, send, mark), not one for the batch: a slow
    mail server must not hold the database's write lock for the whole batch, and one failure
    must not undo the marks of the messages already sent. On PostgreSQL several workers share
    the table (``SKIP LOCKED``); a message whose key has an older one still waiting is left for
    a later run, so one patient's messages never overtake each other.
    """
    moment = now or timezone.now()
    due = list(
        Outbox.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=moment)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    sent = 0
    for message_id in due:
        if _deliver_one(message_id, moment):
            sent += 1
    return sent


__all__ = ["MAX_ATTEMPTS", "backoff", "outbox_deliver_due", "outbox_enqueue"]
