"""Payers; pre-authorization rules, charges and denials come with later features."""

from __future__ import annotations

from django.db import models
from simple_history.models import HistoricalRecords

from radflow.db import UUIDModel


class PayerType(models.TextChoices):
    COMMERCIAL = "commercial", "Commercial"
    MEDICARE = "medicare", "Medicare"
    MEDICAID = "medicaid", "Medicaid"
    MANAGED_CARE = "managed_care", "Managed care"
    WORKERS_COMP = "workers_comp", "Workers' compensation"
    SELF_PAY = "self_pay", "Self-pay"


class Payer(UUIDModel):
    name = models.CharField(max_length=120)
    plan = models.CharField(max_length=120, blank=True)
    payer_type = models.CharField(max_length=16, choices=PayerType.choices)
    payer_code = models.CharField(max_length=20, unique=True)
    phone = models.CharField(max_length=40, blank=True)
    active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name", "plan"]
        constraints = [models.UniqueConstraint(fields=["name", "plan"], name="payer_plan_unique")]

    def __str__(self) -> str:
        return f"{self.name} — {self.plan}" if self.plan else self.name
