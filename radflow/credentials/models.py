"""Credentials, continuing education and competencies: who may perform which exam, on which day.

Credential types and which exams need them are reference data (``data/credential_types.json``,
loaded by ``radflow load_reference``); a person's credentials, CE credits, competency sign-offs and
cross-training plans are the coordinator's records. Eligibility is read in ``selectors``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from radflow.catalog.models import Competency, ExamType
from radflow.db import UUIDModel
from radflow.scheduling.models import Modality
from radflow.staff.models import StaffMember


class CredentialKind(models.TextChoices):
    REGISTRY = "registry", "Registry certification"
    LICENCE = "licence", "State licence"
    LIFE_SUPPORT = "life_support", "Life support (BLS/ACLS)"
    SAFETY = "safety", "Safety training"
    BOARD = "board", "Board certification"


class CredentialType(models.Model):
    """One kind of credential (ARDMS RDMS (AB), ARRT (CT), BLS ...) and its CE requirement."""

    code = models.SlugField(max_length=40, primary_key=True)
    name = models.CharField(max_length=80)
    issuer = models.CharField(max_length=80)
    specialty = models.CharField(max_length=40, blank=True)
    kind = models.CharField(max_length=16, choices=CredentialKind.choices)
    ce_credits_required = models.DecimalField(
        "CE credits per cycle", max_digits=5, decimal_places=1, null=True, blank=True
    )
    ce_cycle_years = models.PositiveSmallIntegerField("CE cycle (years)", null=True, blank=True)
    #: Modalities a current credential of this type qualifies its holder for (roster skills).
    modalities = models.ManyToManyField(Modality, blank=True, related_name="credential_types")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["issuer", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def has_ce_requirement(self) -> bool:
        return bool(self.ce_credits_required) and bool(self.ce_cycle_years)


class CredentialRequirement(models.Model):
    """Exams of a modality and/or needing a competency need one current credential of a group.

    Any one of ``credential_types`` satisfies the requirement ("ARDMS RDMS or ARRT (S)"). A row
    with a modality applies to every exam type of that modality; one with a competency applies to
    the exam types requiring that competency; with both, to exam types matching both.
    """

    code = models.SlugField(max_length=40, primary_key=True)
    label = models.CharField(
        max_length=80, help_text="Names the requirement in reasons: “sonography registry”."
    )
    modality = models.ForeignKey(
        Modality, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    competency = models.ForeignKey(
        Competency, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    credential_types = models.ManyToManyField(CredentialType, related_name="requirements")

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(modality__isnull=False) | Q(competency__isnull=False),
                name="credreq_modality_or_competency",
            )
        ]

    def __str__(self) -> str:
        return self.label


class Credential(UUIDModel):
    """A person's certificate, registry or licence, as the coordinator verified it."""

    staff = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="credentials")
    credential_type = models.ForeignKey(
        CredentialType, on_delete=models.PROTECT, related_name="credentials"
    )
    number = models.CharField("credential number", max_length=40, blank=True)
    issued_on = models.DateField()
    expires_on = models.DateField(null=True, blank=True, help_text="Empty: does not expire.")
    evidence = models.FileField(upload_to="credentials/%Y/%m/", blank=True)
    evidence_name = models.CharField(max_length=200, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    verification_note = models.CharField(
        max_length=200, blank=True, help_text="How it was checked: “ARDMS online verification”."
    )
    history = HistoricalRecords(excluded_fields=["evidence"])

    class Meta:
        ordering = ["staff", "credential_type", "-expires_on"]
        permissions = [
            ("check_eligibility", "Can ask whether a person may perform an exam type on a date")
        ]
        indexes = [models.Index(fields=["expires_on"], name="credential_expires_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_on__isnull=True) | Q(expires_on__gt=models.F("issued_on")),
                name="credential_expires_after_issue",
            )
        ]

    def __str__(self) -> str:
        return f"{self.credential_type} ({self.staff})"

    @property
    def verified(self) -> bool:
        return self.verified_at is not None


class CreditCategory(models.TextChoices):
    ARRT_A = "arrt_a", "ARRT Category A"
    ARRT_A_PLUS = "arrt_a_plus", "ARRT Category A+"
    ARDMS_CME = "ardms_cme", "ARDMS-accepted CME"
    SDMS = "sdms", "SDMS CME"
    CCI = "cci", "CCI CEU"
    STATE = "state", "State-approved"
    OTHER = "other", "Other"


class CECredit(models.Model):
    """One continuing-education activity; it counts toward each credential whose cycle holds it."""

    staff = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="ce_credits")
    activity = models.CharField(max_length=200)
    provider = models.CharField(max_length=120)
    completed_on = models.DateField()
    credits = models.DecimalField(max_digits=5, decimal_places=2)
    category = models.CharField(max_length=16, choices=CreditCategory.choices)
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-completed_on", "activity"]
        verbose_name = "CE credit"
        constraints = [
            models.CheckConstraint(condition=Q(credits__gt=0), name="cecredit_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.activity} ({self.credits})"


class CompetencySignoff(UUIDModel):
    """A person signed off for a competency; valid one year after the last (re)validation."""

    staff = models.ForeignKey(
        StaffMember, on_delete=models.CASCADE, related_name="competency_signoffs"
    )
    competency = models.ForeignKey(Competency, on_delete=models.PROTECT, related_name="signoffs")
    signed_off_by = models.ForeignKey(
        StaffMember,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The assessor who observed the cases.",
    )
    signed_off_on = models.DateField()
    observed_cases = models.PositiveSmallIntegerField()
    revalidated_on = models.DateField(null=True, blank=True)
    revalidated_by = models.ForeignKey(
        StaffMember, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    #: The last day the competency counts (one year after the last (re)validation).
    valid_until = models.DateField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["staff", "competency"]
        constraints = [
            models.UniqueConstraint(fields=["staff", "competency"], name="signoff_once_per_skill")
        ]
        indexes = [models.Index(fields=["valid_until"], name="signoff_valid_until_idx")]

    def __str__(self) -> str:
        return f"{self.competency} ({self.staff})"


class PlanStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class CrossTrainingPlan(UUIDModel):
    """Training a person toward a competency through supervised cases, by a due date."""

    staff = models.ForeignKey(
        StaffMember, on_delete=models.CASCADE, related_name="cross_training_plans"
    )
    target = models.ForeignKey(
        Competency, on_delete=models.PROTECT, related_name="+", verbose_name="target competency"
    )
    required_cases = models.PositiveSmallIntegerField("supervised cases required")
    mentor = models.ForeignKey(
        StaffMember, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_on = models.DateField()
    due_on = models.DateField()
    status = models.CharField(max_length=16, choices=PlanStatus.choices, default=PlanStatus.ACTIVE)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["due_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(due_on__gte=models.F("started_on")), name="plan_due_after_start"
            ),
            models.CheckConstraint(condition=Q(required_cases__gt=0), name="plan_needs_cases"),
        ]

    def __str__(self) -> str:
        return f"{self.staff}: {self.target}"


class SupervisedCase(models.Model):
    """One case done under supervision toward a plan; optionally the exam it was."""

    plan = models.ForeignKey(CrossTrainingPlan, on_delete=models.CASCADE, related_name="cases")
    performed_on = models.DateField()
    exam_type = models.ForeignKey(
        ExamType, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    accession_number = models.CharField(max_length=16, blank=True)
    supervisor = models.ForeignKey(
        StaffMember, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["performed_on", "id"]

    def __str__(self) -> str:
        return f"{self.plan} case on {self.performed_on}"


class CredentialAlert(models.Model):
    """An expiry alert sent for one credential at one threshold; the unique key makes it once."""

    credential = models.ForeignKey(Credential, on_delete=models.CASCADE, related_name="alerts")
    #: Days before expiry (90, 60, 30) or 0 for "expired".
    threshold = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["credential", "threshold"], name="credential_alert_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.credential} at {self.threshold} days"
