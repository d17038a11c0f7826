"""The exam catalog: what the department performs, how long it takes and what it needs.

Codes, durations and requirements are data the coordinator edits, never code.
"""

from __future__ import annotations

from django.db import models
from simple_history.models import HistoricalRecords

from radflow.db import UUIDModel
from radflow.scheduling.models import Modality, RoomCapability


class CodeSystem(models.TextChoices):
    CPT = "CPT", "CPT"
    HCPCS = "HCPCS", "HCPCS"


class ProcedureCode(models.Model):
    code = models.CharField(max_length=10, primary_key=True)
    system = models.CharField(max_length=8, choices=CodeSystem.choices, default=CodeSystem.CPT)
    description = models.CharField(max_length=200)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.description}"


class Competency(models.Model):
    """A skill staff are signed off for (vascular, obstetric ...); exam types require them."""

    code = models.SlugField(max_length=40, primary_key=True)
    name = models.CharField(max_length=80)
    modality = models.ForeignKey(
        Modality, on_delete=models.PROTECT, related_name="competencies", null=True, blank=True
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "competencies"

    def __str__(self) -> str:
        return self.name


class ScreeningItem(models.Model):
    """A question intake must answer before the exam may begin (pregnancy, eGFR ...)."""

    code = models.SlugField(max_length=40, primary_key=True)
    name = models.CharField(max_length=80)
    question = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PatientClass(models.TextChoices):
    OUTPATIENT = "outpatient", "Outpatient"
    INPATIENT = "inpatient", "Inpatient"
    PORTABLE = "portable", "Portable"
    BARIATRIC = "bariatric", "Bariatric"


class Prep(models.TextChoices):
    """What the patient must do before the exam, as far as booking cares."""

    NONE = "none", "None"
    NPO = "npo", "Nothing by mouth (fasting)"
    FULL_BLADDER = "full_bladder", "Full bladder"


class ExamType(UUIDModel):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    modality = models.ForeignKey(Modality, on_delete=models.PROTECT, related_name="exam_types")
    body_part = models.CharField(max_length=60, blank=True)
    procedure_codes = models.ManyToManyField(ProcedureCode, related_name="exam_types")
    default_duration_min = models.PositiveSmallIntegerField("default duration (min)")
    duration_inpatient_min = models.PositiveSmallIntegerField(
        "inpatient duration (min)", null=True, blank=True
    )
    duration_portable_min = models.PositiveSmallIntegerField(
        "portable duration (min)", null=True, blank=True
    )
    duration_bariatric_min = models.PositiveSmallIntegerField(
        "bariatric duration (min)", null=True, blank=True
    )
    prep_instructions = models.TextField(blank=True)
    #: Fasting exams are booked in the morning (``SCHEDULING_NPO_LATEST_START``).
    prep = models.CharField(max_length=16, choices=Prep.choices, default=Prep.NONE)
    #: Cleaning and set-up after the exam: the room stays busy, the performer is free.
    turnover_min = models.PositiveSmallIntegerField("room turnover (min)", default=0)
    required_screening = models.ManyToManyField(ScreeningItem, blank=True)
    consent_required = models.BooleanField(default=False)
    contrast = models.BooleanField(default=False)
    required_capabilities = models.ManyToManyField(RoomCapability, blank=True)
    required_competencies = models.ManyToManyField(Competency, blank=True)
    active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["modality", "name"]

    def __str__(self) -> str:
        return self.name

    def duration_for(self, patient_class: str) -> int:
        """Minutes to book for a patient class, falling back to the default duration."""
        by_class = {
            PatientClass.INPATIENT: self.duration_inpatient_min,
            PatientClass.PORTABLE: self.duration_portable_min,
            PatientClass.BARIATRIC: self.duration_bariatric_min,
        }
        return by_class.get(patient_class) or self.default_duration_min  # type: ignore[call-overload]


class ReferenceGeneration(models.Model):
    """One row whose value the database changes on every write to cached reference data.

    Triggers set it (``radflow.catalog.refdata``); per-process caches compare it before use.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"reference generation {self.value}"
