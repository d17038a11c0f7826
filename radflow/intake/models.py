"""Intake at arrival: identity, screening, consent, prep and interpreter, per exam.

Each record says who captured it and when; the hard-stop check (``intake.selectors``) reads only
these rows, so the front desk tablet and the sonographer's screen see the same answer.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from radflow.catalog.models import ScreeningItem
from radflow.exams.models import Exam


class IdentityMethod(models.TextChoices):
    NAME_BIRTH_DATE = "name_dob", "Name and birth date"
    NAME_MRN = "name_mrn", "Name and MRN"
    MRN_BIRTH_DATE = "mrn_dob", "MRN and birth date"


class IdentityCheck(models.Model):
    exam = models.OneToOneField(Exam, on_delete=models.CASCADE, related_name="identity_check")
    method = models.CharField(max_length=8, choices=IdentityMethod.choices)
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"{self.get_method_display()} at {self.at:%H:%M}"


class ScreeningResult(models.TextChoices):
    CLEARED = "cleared", "Cleared"
    FLAGGED = "flagged", "Flagged: cleared with precautions"
    FAILED = "failed", "Failed: exam may not go ahead"


class ScreeningAnswer(models.Model):
    """The latest answer to one screening question for one exam (history keeps the earlier)."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="screening_answers")
    item = models.ForeignKey(ScreeningItem, on_delete=models.PROTECT, related_name="+")
    answer = models.CharField(max_length=200)
    value_date = models.DateField(
        null=True, blank=True, help_text="LMP, eGFR date, last dose: where the question has one."
    )
    value_number = models.DecimalField(
        max_digits=7, decimal_places=2, null=True, blank=True, help_text="eGFR, weight, glucose."
    )
    result = models.CharField(max_length=8, choices=ScreeningResult.choices)
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["exam", "item"]
        constraints = [
            models.UniqueConstraint(fields=["exam", "item"], name="screening_answer_unique")
        ]

    def __str__(self) -> str:
        return f"{self.item_id}: {self.answer}"


class ConsentMethod(models.TextChoices):
    SIGNATURE = "signature", "Signed on screen"
    TYPED_WITNESSED = "typed", "Typed name with a witness"


class Consent(models.Model):
    exam = models.OneToOneField(Exam, on_delete=models.CASCADE, related_name="consent")
    method = models.CharField(max_length=10, choices=ConsentMethod.choices)
    signer_name = models.CharField(max_length=120)
    signer_relationship = models.CharField(
        max_length=40, default="self", help_text="self, parent, guardian, health care proxy ..."
    )
    #: The drawn signature as an SVG path list (small, text, no image upload needed).
    signature_svg = models.TextField(blank=True)
    witness_name = models.CharField(max_length=120, blank=True)
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"Consent by {self.get_method_display().lower()} at {self.at:%H:%M}"


class PrepCheck(models.Model):
    exam = models.OneToOneField(Exam, on_delete=models.CASCADE, related_name="prep_check")
    npo_since = models.DateTimeField("nothing by mouth since", null=True, blank=True)
    full_bladder = models.BooleanField(null=True, blank=True)
    medication_hold = models.CharField(max_length=200, blank=True)
    prep_ok = models.BooleanField(help_text="The preparation the exam needs was followed.")
    note = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    def __str__(self) -> str:
        return "prep verified" if self.prep_ok else "prep not followed"


class InterpreterLog(models.Model):
    exam = models.OneToOneField(Exam, on_delete=models.CASCADE, related_name="interpreter")
    language = models.CharField(max_length=8)
    interpreter_id = models.CharField("interpreter ID", max_length=40)
    mode = models.CharField(
        max_length=12,
        choices=[("in_person", "In person"), ("phone", "Phone"), ("video", "Video")],
        default="in_person",
    )
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"Interpreter {self.interpreter_id} ({self.language})"
