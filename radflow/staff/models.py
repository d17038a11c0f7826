"""People who work in the department; credentials, competencies and rosters build on this."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from radflow.db import UUIDModel
from radflow.scheduling.models import Modality, Site


class JobRole(models.TextChoices):
    SONOGRAPHER = "sonographer", "Sonographer"
    TECHNOLOGIST = "technologist", "Technologist"
    RADIOLOGIST = "radiologist", "Radiologist"
    COORDINATOR = "coordinator", "Coordinator"
    SCHEDULER = "scheduler", "Scheduler"
    NURSE = "nurse", "Nurse"
    DIRECTOR = "director", "Director"
    MANAGER = "manager", "Manager"
    BILLING = "billing", "Billing specialist"
    BIOMED = "biomed", "Biomedical engineer"
    INFECTION_PREVENTIONIST = "infection_preventionist", "Infection preventionist"
    AUDITOR = "auditor", "Compliance auditor"
    IT = "it", "IT / PACS administrator"


class StaffMember(UUIDModel):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="staff_member",
    )
    employee_number = models.CharField(max_length=20, unique=True)
    family_name = models.CharField(max_length=80)
    given_name = models.CharField(max_length=80)
    email = models.EmailField(blank=True)
    job_role = models.CharField(max_length=32, choices=JobRole.choices)
    modalities = models.ManyToManyField(Modality, blank=True, related_name="staff")
    fte = models.DecimalField(
        "FTE",
        max_digits=3,
        decimal_places=2,
        default=Decimal("1.00"),
        validators=[MinValueValidator(Decimal("0.05")), MaxValueValidator(Decimal("1.50"))],
    )
    cost_centre = models.CharField(max_length=32, blank=True)
    home_site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="staff")
    hire_date = models.DateField(null=True, blank=True)
    active = models.BooleanField(default=True)
    history = HistoricalRecords(m2m_fields=[modalities])

    class Meta:
        ordering = ["family_name", "given_name"]
        verbose_name = "staff member"

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name}"
