"""Payers; pre-authorization rules, charges and denials come with later features."""

from __future__ import annotations

from django.conf import settings
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


class Charge(models.Model):
    """The technical charge posted when an exam is billed (one per procedure code)."""

    exam = models.ForeignKey("exams.Exam", on_delete=models.PROTECT, related_name="charges")
    procedure_code = models.ForeignKey(
        "catalog.ProcedureCode", on_delete=models.PROTECT, related_name="+"
    )
    modifiers = models.CharField(max_length=20, blank=True, help_text="e.g. TC, RT, 26")
    units = models.PositiveSmallIntegerField(default=1)
    payer = models.ForeignKey(
        Payer, on_delete=models.PROTECT, null=True, blank=True, related_name="charges"
    )
    posted_at = models.DateTimeField()
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["-posted_at"]

    def __str__(self) -> str:
        return f"{self.procedure_code_id} {self.modifiers}".strip()
