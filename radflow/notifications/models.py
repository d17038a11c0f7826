"""In-app notifications (the bell); email copies go through Django's email backend."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=32, help_text="Stable code, e.g. sla_warning, sla_breach.")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_unread_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class OutboxChannel(models.TextChoices):
    EMAIL = "email", "Email"
    #: HL7 v2 SIU (S12-S15, S26) to the hospital's systems: rows come with the interfaces issue.
    HL7 = "hl7", "HL7 v2"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (gave up)"
    SKIPPED = "skipped", "Skipped (no address)"


class Outbox(models.Model):
    """A message to the outside world, written in the same transaction as the change it reports.

    The worker sends it after the commit (``outbox.outbox_deliver_due``), retrying with backoff;
    messages with the same ``key`` (one patient) go out in the order they were written. A rolled
    back change leaves no message behind, and a crash after the commit loses none.
    """

    channel = models.CharField(max_length=8, choices=OutboxChannel.choices)
    #: Email address (email) or receiving application (HL7); blank means skipped.
    recipient = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    #: Identifiers only (exam, site, new start), for the HL7 mapping; never names.
    payload = models.JSONField(default=dict, blank=True)
    #: Messages sharing a key are delivered in order, e.g. ``patient:<uuid>``.
    key = models.CharField(max_length=80, blank=True)
    status = models.CharField(
        max_length=8, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "outbox"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx"),
            models.Index(fields=["key", "status"], name="outbox_key_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.subject or self.key} ({self.status})"
