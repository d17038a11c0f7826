"""Patients as the hospital identifies them: MRN per assigning authority, plus what intake needs.

Reads of these rows are audited through ``patients.selectors``; never query them for display
elsewhere.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from radflow.core.dicom.worklist import NAME_KEY_MAX, name_key, person_name
from radflow.db import UUIDModel


class AdministrativeSex(models.TextChoices):
    """HL7 table 0001."""

    FEMALE = "F", "Female"
    MALE = "M", "Male"
    OTHER = "O", "Other"
    UNKNOWN = "U", "Unknown"


class NameKeyField(models.CharField):  # type: ignore[type-arg]
    """The patient's DICOM name, case-folded (``radflow.core.dicom.worklist.name_key``), for
    indexed case-insensitive name queries (the worklist's ``PatientName`` key, on SQLite and
    PostgreSQL alike: the folding is Python's, not the database's).

    Derived, so the field computes it itself whenever the row is written (``save``, ``create``
    and ``bulk_create`` all call ``pre_save``): no writer can forget it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", NAME_KEY_MAX)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def pre_save(self, model_instance: models.Model, add: bool) -> str:
        value = name_key(
            person_name(
                *(
                    getattr(model_instance, part, "") or ""
                    for part in ("family_name", "given_name", "middle_name", "prefix", "suffix")
                )
            )
        )
        setattr(model_instance, self.attname, value)
        return value


class Patient(UUIDModel):
    mrn = models.CharField("MRN", max_length=32)
    mrn_authority = models.CharField("MRN assigning authority", max_length=40, default="RADFLOW")
    family_name = models.CharField(max_length=80)
    given_name = models.CharField(max_length=80)
    middle_name = models.CharField(max_length=80, blank=True)
    prefix = models.CharField(max_length=20, blank=True)
    suffix = models.CharField(max_length=20, blank=True)
    #: ``FAMILY^GIVEN^MIDDLE^PREFIX^SUFFIX`` case-folded; kept by the field (see NameKeyField).
    name_key = NameKeyField(db_index=True)
    birth_date = models.DateField()
    sex = models.CharField(max_length=1, choices=AdministrativeSex.choices)
    language = models.CharField(
        max_length=8, default="en", help_text="ISO 639-1 code of the preferred language"
    )
    interpreter_needed = models.BooleanField(default=False)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    address_line = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=80, blank=True)
    state = models.CharField(max_length=40, blank=True)
    postal_code = models.CharField(max_length=16, blank=True)
    active = models.BooleanField(default=True)
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_from"
    )
    history = HistoricalRecords(excluded_fields=["name_key"])

    class Meta:
        ordering = ["family_name", "given_name", "birth_date"]
        constraints = [
            models.UniqueConstraint(fields=["mrn_authority", "mrn"], name="patient_mrn_unique")
        ]
        indexes = [
            models.Index(fields=["family_name", "given_name"], name="patient_name_idx"),
            models.Index(fields=["birth_date"], name="patient_birth_date_idx"),
            # The worklist's Patient ID key names no assigning authority; pattern ops so
            # PostgreSQL serves "MRN starts with" too, whatever the collation (SQLite: ignored).
            models.Index(fields=["mrn"], name="patient_mrn_idx", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.mrn})"

    @property
    def display_name(self) -> str:
        given = " ".join(part for part in (self.given_name, self.middle_name) if part)
        return f"{self.family_name.upper()}, {given}"


class IdentifierType(models.TextChoices):
    """A subset of HL7 table 0203."""

    MEDICAL_RECORD = "MR", "Medical record number"
    PATIENT_INTERNAL = "PI", "Patient internal identifier"
    SOCIAL_SECURITY = "SS", "Social security number"
    DRIVERS_LICENSE = "DL", "Driver's licence"
    INSURANCE = "MB", "Member number"
    PASSPORT = "PPN", "Passport number"


class PatientIdentifier(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="identifiers")
    value = models.CharField(max_length=64)
    authority = models.CharField(max_length=40)
    type = models.CharField(max_length=4, choices=IdentifierType.choices)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["authority", "type", "value"], name="patient_identifier_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.value} ({self.authority})"


class PatientContact(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=120)
    relationship = models.CharField(max_length=40)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"{self.name} ({self.relationship})"


class AllergyCategory(models.TextChoices):
    DRUG = "drug", "Drug"
    CONTRAST = "contrast", "Contrast agent"
    LATEX = "latex", "Latex"
    FOOD = "food", "Food"
    ENVIRONMENT = "environment", "Environment"


class AllergySeverity(models.TextChoices):
    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    SEVERE = "severe", "Severe"


class Allergy(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="allergies")
    substance = models.CharField(max_length=120)
    category = models.CharField(max_length=16, choices=AllergyCategory.choices)
    reaction = models.CharField(max_length=200, blank=True)
    severity = models.CharField(
        max_length=16, choices=AllergySeverity.choices, default=AllergySeverity.MODERATE
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "allergies"

    def __str__(self) -> str:
        return f"{self.substance} ({self.get_severity_display()})"


class PatientMerge(models.Model):
    """One merge (HL7 A40 or by hand): the merged record stays, pointing at the survivor."""

    surviving = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="merges_in")
    merged = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="merges_out")
    merged_mrn = models.CharField(max_length=32)
    merged_mrn_authority = models.CharField(max_length=40)
    merged_at = models.DateTimeField(auto_now_add=True)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    source = models.CharField(max_length=40, default="manual", help_text="manual, hl7 ...")
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-merged_at"]

    def __str__(self) -> str:
        return f"{self.merged_mrn} → {self.surviving.mrn}"
