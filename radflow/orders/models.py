"""Referrals and what must be true of them before anyone books a room: completeness, triage, SLA
clocks and the payer's pre-authorization.

The order is what the referrer asked for; its exam (``radflow.exams``) is what the department does
about it. One order, one exam: HL7 OMI and DICOM both speak of one requested procedure per order.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from radflow.billing.models import Payer
from radflow.catalog.models import ExamType, ProcedureCode
from radflow.db import UUIDModel
from radflow.patients.models import Patient
from radflow.scheduling.models import Site


class Priority(models.TextChoices):
    STAT = "stat", "STAT"
    URGENT = "urgent", "Urgent"
    ROUTINE = "routine", "Routine"

    @classmethod
    def parse(cls, value: str) -> Priority:
        """Accepts the words and the HL7 codes (S, A, R); ASAP is urgent (issue 4)."""
        aliases = {"s": cls.STAT, "a": cls.URGENT, "asap": cls.URGENT, "r": cls.ROUTINE}
        key = value.strip().lower()
        return aliases.get(key) or cls(key)


#: Order of urgency, for sorting lists (most urgent first).
PRIORITY_RANK = {Priority.STAT: 0, Priority.URGENT: 1, Priority.ROUTINE: 2}


class OrderPatientClass(models.TextChoices):
    OUTPATIENT = "outpatient", "Outpatient"
    INPATIENT = "inpatient", "Inpatient"
    EMERGENCY = "emergency", "Emergency"


class OrderSource(models.TextChoices):
    WEB = "web", "Entered in RadFlow"
    HL7 = "hl7", "HL7 interface"
    FHIR = "fhir", "FHIR interface"
    DEMO = "demo", "Demo generator"


class DiagnosisCode(models.Model):
    """ICD-10-CM codes common in imaging referrals; any well-formed code may still be ordered."""

    code = models.CharField(max_length=8, primary_key=True)
    description = models.CharField(max_length=200)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.description}"


class Order(UUIDModel):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="orders")
    exam_type = models.ForeignKey(ExamType, on_delete=models.PROTECT, related_name="orders")
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="orders", null=True, blank=True
    )
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.ROUTINE)
    patient_class = models.CharField(
        max_length=12, choices=OrderPatientClass.choices, default=OrderPatientClass.OUTPATIENT
    )
    payer = models.ForeignKey(
        Payer, on_delete=models.PROTECT, related_name="orders", null=True, blank=True
    )
    ordering_provider = models.CharField(max_length=120, blank=True)
    ordering_provider_npi = models.CharField("ordering provider NPI", max_length=10, blank=True)
    ordering_location = models.CharField(max_length=120, blank=True)
    ordering_phone = models.CharField(max_length=40, blank=True)
    clinical_indication = models.TextField(blank=True)
    signed_order = models.BooleanField(
        "order signed by the provider", default=False, help_text="A signed requisition is on file."
    )
    prior_imaging_note = models.TextField(blank=True)
    lmp_date = models.DateField("last menstrual period", null=True, blank=True)
    requested_date = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    placer_order_number = models.CharField(max_length=40, blank=True)
    source = models.CharField(max_length=8, choices=OrderSource.choices, default=OrderSource.WEB)
    #: When the department received the order: every SLA clock starts here.
    received_at = models.DateTimeField()
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Completeness, recomputed by the services whenever the order or its rules change, so the
    # incomplete queue is one indexed query.
    is_complete = models.BooleanField(default=False)
    missing = models.JSONField(default=list, blank=True)
    # Triage / protocol.
    protocol = models.CharField(max_length=120, blank=True)
    instructions = models.TextField("instructions for the patient and the sonographer", blank=True)
    triaged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_orders",
        help_text="Who is chasing this order now (the STAT board shows it).",
    )
    # SLA clock (from the policy that applied at receipt or at the last priority change).
    sla_due_at = models.DateTimeField(null=True, blank=True)
    sla_warn_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["is_complete", "received_at"], name="order_complete_idx"),
            models.Index(fields=["priority", "sla_due_at"], name="order_sla_idx"),
            models.Index(fields=["placer_order_number"], name="order_placer_idx"),
        ]
        permissions = [
            (
                "override_authorization",
                "Book or begin an exam without the payer's authorization, with a reason",
            )
        ]

    def __str__(self) -> str:
        return f"{self.exam_type} for {self.patient_id} ({self.get_priority_display()})"


class OrderDiagnosis(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="diagnoses")
    code = models.CharField(max_length=8)
    position = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["order", "position"]
        constraints = [
            models.UniqueConstraint(fields=["order", "code"], name="order_diagnosis_unique")
        ]

    def __str__(self) -> str:
        return self.code


class AttachmentKind(models.TextChoices):
    REQUISITION = "requisition", "Signed requisition"
    PRIOR_REPORT = "prior_report", "Prior imaging report"
    LAB = "lab", "Lab result"
    AUTHORIZATION = "authorization", "Authorization letter"
    OTHER = "other", "Other"


class OrderAttachment(UUIDModel):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(max_length=16, choices=AttachmentKind.choices)
    file = models.FileField(upload_to="orders/%Y/%m/")
    original_name = models.CharField(max_length=200)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.original_name


class Requirement(models.TextChoices):
    """What a completeness rule can ask of an order; each maps to one order field."""

    CLINICAL_INDICATION = "clinical_indication", "Clinical indication"
    DIAGNOSIS_CODE = "diagnosis_code", "ICD-10-CM diagnosis code"
    SIGNED_ORDER = "signed_order", "Signed order"
    PRIOR_IMAGING_NOTE = "prior_imaging_note", "Prior imaging note"
    LMP = "lmp", "Last menstrual period (LMP)"
    ORDERING_PROVIDER = "ordering_provider", "Ordering provider"
    ORDERING_PROVIDER_NPI = "ordering_provider_npi", "Ordering provider NPI"
    PAYER = "payer", "Payer"
    REQUISITION_ATTACHED = "requisition_attached", "Requisition attached"


class CompletenessRule(UUIDModel):
    """One requirement for orders of an exam type (blank: every type) and payer (blank: any)."""

    requirement = models.CharField(max_length=24, choices=Requirement.choices)
    exam_type = models.ForeignKey(
        ExamType, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    payer = models.ForeignKey(
        Payer, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    active = models.BooleanField(default=True)
    note = models.CharField(max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["requirement"]
        constraints = [
            models.UniqueConstraint(
                fields=["requirement", "exam_type", "payer"],
                name="completeness_rule_unique",
            )
        ]

    def __str__(self) -> str:
        return self.get_requirement_display()


class OutreachAction(models.TextChoices):
    CALLED = "called", "Called the referrer"
    FAXED = "faxed", "Faxed a request"
    EMAILED = "emailed", "Emailed / portal message"
    LEFT_MESSAGE = "left_message", "Left a message"
    ANSWERED = "answered", "Referrer answered"


class OutreachEntry(models.Model):
    """The incomplete-referral chase log: who asked whom for what, and what came back."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="outreach")
    action = models.CharField(max_length=16, choices=OutreachAction.choices)
    note = models.TextField(blank=True)
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["-at"]
        verbose_name_plural = "outreach entries"

    def __str__(self) -> str:
        return f"{self.get_action_display()} at {self.at:%Y-%m-%d %H:%M}"


class SlaPolicy(models.Model):
    """How soon an exam of a priority (and optionally an exam type) must start after receipt."""

    priority = models.CharField(max_length=8, choices=Priority.choices)
    exam_type = models.ForeignKey(
        ExamType, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    target_minutes = models.PositiveIntegerField()
    warning_minutes = models.PositiveIntegerField(
        help_text="Escalate this long after receipt (before the target) with a warning."
    )

    class Meta:
        ordering = ["priority", "exam_type"]
        verbose_name_plural = "SLA policies"
        constraints = [
            models.UniqueConstraint(fields=["priority", "exam_type"], name="sla_policy_unique"),
            models.CheckConstraint(
                condition=models.Q(warning_minutes__lte=models.F("target_minutes")),
                name="sla_warning_before_target",
            ),
        ]

    def __str__(self) -> str:
        scope = self.exam_type or "any exam"
        return f"{self.get_priority_display()} / {scope}: {self.target_minutes} min"


class EscalationLevel(models.TextChoices):
    WARNING = "warning", "Warning"
    BREACH = "breach", "Breach"


class SlaEscalation(models.Model):
    """One row per order and level, so each escalation is sent once however often the job runs."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="escalations")
    level = models.CharField(max_length=8, choices=EscalationLevel.choices)
    at = models.DateTimeField()
    notified = models.JSONField(default=list, help_text="Usernames notified.")

    class Meta:
        ordering = ["at"]
        constraints = [
            models.UniqueConstraint(fields=["order", "level"], name="sla_escalation_once")
        ]

    def __str__(self) -> str:
        return f"{self.level} at {self.at:%Y-%m-%d %H:%M}"


class PayerAuthRule(models.Model):
    """Payer and procedure code: is a pre-authorization needed, and how long does it take to get."""

    payer = models.ForeignKey(Payer, on_delete=models.CASCADE, related_name="auth_rules")
    procedure_code = models.ForeignKey(ProcedureCode, on_delete=models.CASCADE, related_name="+")
    auth_required = models.BooleanField(default=True)
    lead_time_days = models.PositiveSmallIntegerField(
        default=0, help_text="Working days the payer usually takes to answer."
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["payer", "procedure_code"]
        constraints = [
            models.UniqueConstraint(fields=["payer", "procedure_code"], name="auth_rule_unique")
        ]

    def __str__(self) -> str:
        return f"{self.payer} / {self.procedure_code_id}"


class AuthStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Denied"
    EXPIRED = "expired", "Expired"


class Authorization(UUIDModel):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="authorizations")
    number = models.CharField("authorization number", max_length=40, blank=True)
    status = models.CharField(max_length=8, choices=AuthStatus.choices, default=AuthStatus.PENDING)
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    approved_units = models.PositiveSmallIntegerField(null=True, blank=True)
    requested_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    note = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_from__isnull=True)
                | models.Q(valid_to__isnull=True)
                | models.Q(valid_from__lte=models.F("valid_to")),
                name="authorization_dates_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.number or 'pending'} ({self.get_status_display()})"


class ContactChannel(models.TextChoices):
    PHONE = "phone", "Phone"
    FAX = "fax", "Fax"
    PORTAL = "portal", "Payer portal"
    EMAIL = "email", "Email"


class AuthorizationContact(models.Model):
    authorization = models.ForeignKey(
        Authorization, on_delete=models.CASCADE, related_name="contacts"
    )
    channel = models.CharField(max_length=8, choices=ContactChannel.choices)
    contact_name = models.CharField(max_length=120, blank=True)
    reference = models.CharField(max_length=60, blank=True)
    note = models.TextField(blank=True)
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} at {self.at:%Y-%m-%d %H:%M}"
