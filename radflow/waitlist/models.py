"""The waitlist: orders whose patient would take an earlier slot if one frees up.

An entry is a standing request ("call me if something opens before the 14th, mornings"), not a
booking. When a slot frees (a cancellation, a booking moved away) the coordinator sees the
entries that fit it, ranked, and books one in a click; the entry then says ``booked``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from radflow.db import UUIDModel
from radflow.orders.models import Order, Priority
from radflow.scheduling.models import Site


class WaitlistStatus(models.TextChoices):
    ACTIVE = "active", "Waiting"
    OFFERED = "offered", "Offered a slot"
    BOOKED = "booked", "Booked"
    REMOVED = "removed", "Removed"


#: Statuses of an entry still looking for a slot (at most one per order).
OPEN_STATUSES = (WaitlistStatus.ACTIVE, WaitlistStatus.OFFERED)


class WaitlistEntry(UUIDModel):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="waitlist_entries")
    added_at = models.DateTimeField()
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    wanted_before = models.DateField(
        null=True, blank=True, help_text="The patient would like to be seen before this day."
    )
    preferred_site = models.ForeignKey(
        Site, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    preferred_times = models.CharField(
        max_length=120, blank=True, help_text="In the patient's words: mornings, not Fridays ..."
    )
    #: Copied from the order when the entry is made, so the ranking is one indexed column.
    priority = models.CharField(max_length=8, choices=Priority.choices)
    status = models.CharField(
        max_length=8, choices=WaitlistStatus.choices, default=WaitlistStatus.ACTIVE
    )
    notes = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["added_at"]
        verbose_name_plural = "waitlist entries"
        constraints = [
            models.UniqueConstraint(
                fields=["order"],
                condition=models.Q(status__in=["active", "offered"]),
                name="waitlist_one_open_entry_per_order",
            )
        ]
        indexes = [models.Index(fields=["status", "added_at"], name="waitlist_status_added_idx")]

    def __str__(self) -> str:
        return f"Waitlist entry for order {self.order_id} ({self.get_status_display()})"
