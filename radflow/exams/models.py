"""The exam: one per order, moved through its states by ``radflow.exams.services`` only.

Each state has its own timestamp column because the KPIs (order-to-schedule, arrival-to-start,
duration, end-to-report, report-to-sign) are differences of these; ``ExamTransition`` keeps every
move with who, when and why, reschedules included.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from radflow.core.exam_states import ExamAction, ExamState
from radflow.db import UUIDModel
from radflow.orders.models import Order
from radflow.scheduling.models import Device, Interpreter, Room
from radflow.staff.models import StaffMember

EXAM_STATE_CHOICES = [(s.value, s.label) for s in ExamState]
EXAM_ACTION_CHOICES = [(a.value, a.value.replace("_", " ")) for a in ExamAction]


class Exam(UUIDModel):
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="exam")
    state = models.CharField(
        max_length=16, choices=EXAM_STATE_CHOICES, default=ExamState.REQUESTED.value
    )
    accession_number = models.CharField(max_length=16, unique=True)
    #: Generated once per order (2.25 + UUID, PS3.5 B.2) and kept, so every image joins one study.
    study_instance_uid = models.CharField(max_length=64, unique=True)
    room = models.ForeignKey(
        Room, on_delete=models.PROTECT, null=True, blank=True, related_name="exams"
    )
    scheduled_start = models.DateTimeField(null=True, blank=True)
    scheduled_end = models.DateTimeField(null=True, blank=True)
    technologist = models.ForeignKey(
        StaffMember,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="performed_exams",
        help_text="The sonographer or technologist who performs the exam.",
    )
    device = models.ForeignKey(
        Device,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="exams",
        help_text="The scanner or ultrasound system booked for the exam.",
    )
    #: ``exam.interpreter`` is intake's log of the interpreter who was present (one-to-one).
    booked_interpreter = models.ForeignKey(
        Interpreter, on_delete=models.SET_NULL, null=True, blank=True, related_name="exams"
    )
    #: Inpatients: when the porters collect the patient from the ward.
    transport_pickup_at = models.DateTimeField(null=True, blank=True)
    radiologist = models.ForeignKey(
        StaffMember,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reported_exams",
    )
    report_text = models.TextField(blank=True)
    images_count = models.PositiveIntegerField(
        null=True, blank=True, help_text="Images reported by the modality (MPPS), when known."
    )
    reason_code = models.CharField(max_length=32, blank=True)
    reason_text = models.TextField(blank=True)
    # One timestamp per state, stamped on entry.
    requested_at = models.DateTimeField()
    triaged_at = models.DateTimeField(null=True, blank=True)
    pending_auth_at = models.DateTimeField(null=True, blank=True)
    authorized_at = models.DateTimeField(null=True, blank=True)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True)
    in_progress_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    reported_at = models.DateTimeField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    billed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    no_show_at = models.DateTimeField(null=True, blank=True)
    discontinued_at = models.DateTimeField(null=True, blank=True)
    #: The time of the last transition: a new one may not be earlier.
    state_changed_at = models.DateTimeField()

    class Meta:
        ordering = ["-requested_at"]
        indexes = [
            models.Index(fields=["state", "scheduled_start"], name="exam_state_start_idx"),
            models.Index(fields=["room", "scheduled_start"], name="exam_room_start_idx"),
            models.Index(fields=["technologist", "scheduled_start"], name="exam_tech_start_idx"),
            models.Index(fields=["state", "completed_at"], name="exam_state_completed_idx"),
        ]
        permissions = [
            ("triage_exam", "Triage and protocol exams"),
            ("schedule_exam", "Schedule and reschedule exams"),
            ("arrive_exam", "Check patients in and mark no-shows"),
            ("perform_exam", "Begin, complete and discontinue exams"),
            ("report_exam", "Report exams"),
            ("sign_exam", "Sign reports"),
            ("bill_exam", "Bill exams"),
            ("cancel_exam", "Cancel exams"),
            ("override_hard_stop", "Override an intake hard stop with a reason"),
            ("audit_documentation", "Run the documentation audit and the override report"),
        ]

    def __str__(self) -> str:
        return f"{self.accession_number} ({self.state})"

    @property
    def state_enum(self) -> ExamState:
        return ExamState(self.state)


class ExamTransition(models.Model):
    """The exam's timeline: append-only, one row per move (reschedules too)."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="transitions")
    action = models.CharField(max_length=16, choices=EXAM_ACTION_CHOICES)
    from_state = models.CharField(max_length=16, choices=EXAM_STATE_CHOICES)
    to_state = models.CharField(max_length=16, choices=EXAM_STATE_CHOICES)
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    #: Who acted when no person did: "hl7:EPIC", "mpps:US_ROOM_3", "demo".
    actor = models.CharField(max_length=80)
    reason_code = models.CharField(max_length=32, blank=True)
    reason = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["exam", "at", "id"]
        indexes = [models.Index(fields=["action", "at"], name="transition_action_at_idx")]

    def __str__(self) -> str:
        return f"{self.from_state} → {self.to_state} ({self.action})"


class ReasonKind(models.TextChoices):
    CANCEL = "cancel", "Cancellation"
    NO_SHOW = "no_show", "No-show"
    DISCONTINUE = "discontinue", "Discontinuation"
    RESCHEDULE = "reschedule", "Reschedule"


class ReasonCode(models.Model):
    """Coded reasons (data) so cancellation and no-show rates can be broken down by cause."""

    kind = models.CharField(max_length=12, choices=ReasonKind.choices)
    code = models.CharField(max_length=32)
    label = models.CharField(max_length=120)
    patient_initiated = models.BooleanField(default=False)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "label"]
        constraints = [models.UniqueConstraint(fields=["kind", "code"], name="reason_code_unique")]

    def __str__(self) -> str:
        return self.label


class HardStop(models.TextChoices):
    """Everything that blocks ``in_progress`` until it is satisfied or overridden."""

    IDENTITY = "identity", "Identity confirmed with two identifiers"
    SCREENING = "screening", "Required screening answered and passed"
    CONSENT = "consent", "Consent signed"
    PREP = "prep", "Preparation verified"
    INTERPRETER = "interpreter", "Interpreter present and logged"
    AUTHORIZATION = "authorization", "Payer pre-authorization approved"
    PERFORMER = "performer", "Performer credentialed and competent for the exam"
    PROBE = "probe", "Probe high-level disinfected since its last use"
    CONTRAST = "contrast", "Contrast screening: renal function and prior reaction"


class Override(models.Model):
    """A permitted person let the exam past a hard stop, with a reason: the override report."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="overrides")
    stop = models.CharField(max_length=16, choices=HardStop.choices)
    detail = models.CharField(
        max_length=200, blank=True, help_text="What was missing or failed at the time."
    )
    reason = models.TextField()
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    roles = models.CharField(max_length=120, help_text="The overrider's roles at the time.")
    action = models.CharField(max_length=16, choices=EXAM_ACTION_CHOICES)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.stop} overridden at {self.at:%Y-%m-%d %H:%M}"


class AccessionSequence(models.Model):
    """The next accession number: one row, locked for update, so numbers never repeat."""

    name = models.CharField(max_length=16, primary_key=True)
    next_value = models.PositiveBigIntegerField(default=1)

    def __str__(self) -> str:
        return f"{self.name}: {self.next_value}"
