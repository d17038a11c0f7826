"""The quality program: image-quality audits, RADPEER peer review, incidents with CAPA, patient
complaints and compliments, satisfaction survey results and accessibility requests.

Every status is a ``TextChoices``; the KPI engine reads these tables through
``radflow.quality.selectors`` only, so the rules of what counts (a month, a discrepancy, an
overdue action) live in one place.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from radflow.catalog.models import ExamType
from radflow.db import UUIDModel
from radflow.exams.models import Exam
from radflow.patients.models import Patient
from radflow.scheduling.models import Modality, Site
from radflow.staff.models import StaffMember

USER = settings.AUTH_USER_MODEL


class QualitySettings(UUIDModel):
    """The department's quality-program settings (one row, made on first read)."""

    audit_sample_size = models.PositiveSmallIntegerField(
        "image audits per sonographer per month",
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
    )
    sample_seed = models.CharField(
        max_length=40,
        default="radflow-qa",
        help_text="The same seed draws the same sample; change it to draw a different one.",
    )
    audit_pass_mark = models.PositiveSmallIntegerField(
        "audit pass mark (%)",
        default=80,
        validators=[MaxValueValidator(100)],
        help_text="Audits scoring below this are flagged for a feedback conversation.",
    )
    peer_reviews_per_radiologist = models.PositiveSmallIntegerField(
        "peer reviews per radiologist per month",
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
    )
    peer_review_due_days = models.PositiveSmallIntegerField(
        "days to complete a peer review", default=14, validators=[MinValueValidator(1)]
    )
    follow_up_due_days = models.PositiveSmallIntegerField(
        "days to close a discrepancy follow-up", default=30, validators=[MinValueValidator(1)]
    )
    follow_up_owner = models.ForeignKey(
        USER,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who owns new discrepancy follow-ups (e.g. the QA radiologist lead).",
    )
    complaint_response_working_days = models.PositiveSmallIntegerField(
        "working days to respond to a complaint",
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "quality settings"
        permissions = [("manage_quality", "Run the quality program (samples, settings)")]

    def __str__(self) -> str:
        return "Quality settings"


class Counter(models.Model):
    """Next number of a yearly series (incidents, feedback): one row per series and year,
    locked for update so two people filing at once never get the same number."""

    name = models.CharField(max_length=24, primary_key=True)
    next_value = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return f"{self.name}: {self.next_value}"


class DrawKind(models.TextChoices):
    IMAGE_AUDIT = "image_audit", "Image-quality audit sample"
    PEER_REVIEW = "peer_review", "Peer review assignment"


class SampleDraw(UUIDModel):
    """One month's draw (audits or peer reviews); drawing the month again tops it up."""

    kind = models.CharField(max_length=12, choices=DrawKind.choices)
    month = models.DateField(help_text="First day of the month drawn.")
    seed = models.CharField(max_length=40)
    sample_size = models.PositiveSmallIntegerField()
    drawn_at = models.DateTimeField()
    by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    #: Who drew it when no person did: "worker", "demo", "command".
    actor = models.CharField(max_length=40, blank=True)
    created = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-month", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "month"], name="quality_draw_once_per_month")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.month:%Y-%m}"


# --- image-quality audits ------------------------------------------------------------------


class ChecklistCategory(models.TextChoices):
    VIEWS = "views", "Required views"
    LABELLING = "labelling", "Labelling and annotation"
    MEASUREMENTS = "measurements", "Measurements"
    ARTEFACTS = "artefacts", "Artefacts and optimisation"
    OTHER = "other", "Other"


class ScoringMethod(models.TextChoices):
    PASS_PARTIAL_FAIL = "ppf", "Pass / partial / fail"
    POINTS = "points", "Points"


class AuditChecklist(UUIDModel):
    """The scoring form for one exam type (optionally one protocol of it) or a whole modality.

    The most specific active checklist applies: exam type and protocol, then the exam type,
    then the modality (see ``services_audits.ChecklistIndex``).
    """

    name = models.CharField(max_length=120)
    exam_type = models.ForeignKey(
        ExamType, on_delete=models.CASCADE, null=True, blank=True, related_name="audit_checklists"
    )
    protocol = models.CharField(
        max_length=120, blank=True, help_text="Only for orders with this protocol (blank: any)."
    )
    modality = models.ForeignKey(
        Modality,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="audit_checklists",
        help_text="For a modality-wide checklist (no exam type).",
    )
    active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["modality", "exam_type__name", "protocol", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(exam_type__isnull=False) | models.Q(modality__isnull=False),
                name="quality_checklist_has_scope",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def scope(self) -> str:
        if self.exam_type_id is None:
            return f"All {self.modality_id} exams"
        scope = str(self.exam_type)
        return f"{scope} · protocol {self.protocol}" if self.protocol else scope


class AuditChecklistItem(models.Model):
    checklist = models.ForeignKey(AuditChecklist, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(default=0)
    category = models.CharField(max_length=16, choices=ChecklistCategory.choices)
    label = models.CharField(max_length=160)
    guidance = models.CharField(max_length=300, blank=True)
    scoring = models.CharField(
        max_length=8, choices=ScoringMethod.choices, default=ScoringMethod.PASS_PARTIAL_FAIL
    )
    max_points = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
        help_text="Points for a pass (a partial earns half).",
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["checklist", "position", "id"]

    def __str__(self) -> str:
        return self.label


class AuditStatus(models.TextChoices):
    PENDING = "pending", "To score"
    SCORED = "scored", "Scored"
    ACKNOWLEDGED = "acknowledged", "Acknowledged by the sonographer"


class ImageAudit(UUIDModel):
    """One sampled exam's image-quality audit; its performer sees it on "My audits"."""

    exam = models.OneToOneField(Exam, on_delete=models.PROTECT, related_name="image_audit")
    performer = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, related_name="image_audits"
    )
    month = models.DateField(help_text="First day of the month the exam was completed in.")
    checklist = models.ForeignKey(AuditChecklist, on_delete=models.PROTECT, related_name="+")
    draw = models.ForeignKey(
        SampleDraw, on_delete=models.SET_NULL, null=True, blank=True, related_name="audits"
    )
    status = models.CharField(
        max_length=12, choices=AuditStatus.choices, default=AuditStatus.PENDING
    )
    auditor = models.ForeignKey(
        USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    scored_at = models.DateTimeField(null=True, blank=True)
    points_earned = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    points_possible = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    score_pct = models.DecimalField(
        "score (%)", max_digits=4, decimal_places=1, null=True, blank=True
    )
    feedback = models.TextField(blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    reply = models.TextField(blank=True, help_text="The sonographer's reply to the feedback.")

    class Meta:
        ordering = ["-month", "performer", "exam__accession_number"]
        indexes = [
            models.Index(fields=["performer", "month"], name="quality_audit_person_month_idx"),
            models.Index(fields=["month", "status"], name="quality_audit_month_status_idx"),
        ]
        permissions = [("score_imageaudit", "Score image-quality audits")]

    def __str__(self) -> str:
        return f"Audit {self.month:%Y-%m} · {self.exam_id}"


class ItemResult(models.TextChoices):
    PASS = "pass", "Pass"
    PARTIAL = "partial", "Partial"
    FAIL = "fail", "Fail"
    NOT_APPLICABLE = "na", "Not applicable"


class ImageAuditScore(models.Model):
    audit = models.ForeignKey(ImageAudit, on_delete=models.CASCADE, related_name="scores")
    item = models.ForeignKey(AuditChecklistItem, on_delete=models.PROTECT, related_name="+")
    result = models.CharField(max_length=8, choices=ItemResult.choices, blank=True)
    points = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    comment = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["audit", "item__position", "item_id"]
        constraints = [
            models.UniqueConstraint(fields=["audit", "item"], name="quality_score_once_per_item")
        ]

    def __str__(self) -> str:
        return f"{self.item_id}: {self.result or self.points}"


# --- radiologist peer review (RADPEER) -------------------------------------------------------


class RadpeerScore(models.TextChoices):
    """ACR RADPEER (2016): 1 concur; 2 discrepancy not ordinarily expected to be made
    (understandable miss); 3 discrepancy that should be made most of the time; a/b: unlikely /
    likely to be clinically significant."""

    CONCUR = "1", "1 · Concur with the interpretation"
    MISS_UNLIKELY = "2a", "2a · Understandable miss, unlikely clinically significant"
    MISS_LIKELY = "2b", "2b · Understandable miss, likely clinically significant"
    SHOULD_UNLIKELY = "3a", "3a · Should be made most of the time, unlikely significant"
    SHOULD_LIKELY = "3b", "3b · Should be made most of the time, likely significant"


#: Scores that open a discrepancy follow-up.
FOLLOW_UP_SCORES = frozenset(
    {RadpeerScore.MISS_LIKELY, RadpeerScore.SHOULD_UNLIKELY, RadpeerScore.SHOULD_LIKELY}
)


class ReviewStatus(models.TextChoices):
    ASSIGNED = "assigned", "To review"
    COMPLETED = "completed", "Reviewed"
    DECLINED = "declined", "Declined"


class PeerReview(UUIDModel):
    """A prior read assigned to another radiologist, scored blind.

    The reviewer's pages never show ``reader`` and the reader's pages never show ``reviewer``;
    the database constraint keeps anyone from reviewing their own read.
    """

    exam = models.ForeignKey(Exam, on_delete=models.PROTECT, related_name="peer_reviews")
    reader = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, related_name="peer_reviews_received"
    )
    reviewer = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, related_name="peer_reviews_given"
    )
    month = models.DateField(help_text="First day of the month the read was signed in.")
    draw = models.ForeignKey(
        SampleDraw, on_delete=models.SET_NULL, null=True, blank=True, related_name="reviews"
    )
    status = models.CharField(
        max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.ASSIGNED
    )
    assigned_at = models.DateTimeField()
    due_on = models.DateField()
    score = models.CharField(max_length=2, choices=RadpeerScore.choices, blank=True)
    comment = models.TextField(blank=True, help_text="What differs; shown to the reader.")
    decline_reason = models.CharField(max_length=200, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-month", "due_on"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(reviewer=models.F("reader")),
                name="quality_peer_review_not_own_read",
            ),
            models.UniqueConstraint(
                fields=["exam", "reviewer"], name="quality_peer_review_once_per_reviewer"
            ),
        ]
        indexes = [
            models.Index(fields=["reviewer", "status"], name="quality_review_reviewer_idx"),
            models.Index(fields=["reader", "status"], name="quality_review_reader_idx"),
            models.Index(fields=["month", "status"], name="quality_review_month_idx"),
        ]
        permissions = [
            ("perform_peerreview", "Peer review other radiologists' reads"),
            ("manage_peerreview", "Assign peer reviews and run discrepancy follow-up"),
        ]

    def __str__(self) -> str:
        return f"Peer review {self.month:%Y-%m} ({self.status})"

    @property
    def is_discrepancy(self) -> bool:
        return bool(self.score) and self.score != RadpeerScore.CONCUR


class FollowUpStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "Action under way"
    CLOSED = "closed", "Closed"


class FollowUpAction(models.TextChoices):
    DISCUSSED = "discussed", "Discussed with the reading radiologist"
    ADDENDUM = "addendum", "Addendum issued"
    CLINICIAN_NOTIFIED = "clinician", "Referring clinician notified"
    PATIENT_RECALLED = "recall", "Patient recalled"
    CONFERENCE = "conference", "Presented at the discrepancy conference"
    NO_FURTHER_ACTION = "none", "No further action needed"
    OTHER = "other", "Other"


class DiscrepancyFollowUp(UUIDModel):
    """A 2b, 3a or 3b score's follow-up: an owner, what was done, and its closure."""

    review = models.OneToOneField(PeerReview, on_delete=models.CASCADE, related_name="follow_up")
    status = models.CharField(
        max_length=12, choices=FollowUpStatus.choices, default=FollowUpStatus.OPEN
    )
    owner = models.ForeignKey(
        USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    opened_at = models.DateTimeField()
    due_on = models.DateField()
    action_kind = models.CharField(max_length=12, choices=FollowUpAction.choices, blank=True)
    action = models.TextField(blank=True)
    outcome = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["status", "due_on"]

    def __str__(self) -> str:
        return f"Follow-up ({self.status})"

    def is_overdue(self, today: date) -> bool:
        return self.status != FollowUpStatus.CLOSED and self.due_on < today


# --- incidents and near misses ---------------------------------------------------------------


class IncidentKind(models.TextChoices):
    INCIDENT = "incident", "Incident"
    NEAR_MISS = "near_miss", "Near miss"


class Severity(models.TextChoices):
    NONE = "none", "None (no harm)"
    MINOR = "minor", "Minor"
    MODERATE = "moderate", "Moderate"
    MAJOR = "major", "Major"
    CATASTROPHIC = "catastrophic", "Catastrophic"


#: Severity order, least first, for sorting and thresholds.
SEVERITY_RANK = {s: rank for rank, s in enumerate(Severity)}


class IncidentCategory(models.TextChoices):
    IDENTIFICATION = "identification", "Patient identification"
    WRONG_EXAM = "wrong_exam", "Wrong exam, side or site"
    FALL = "fall", "Fall or injury"
    CONTRAST = "contrast", "Contrast reaction or extravasation"
    EQUIPMENT = "equipment", "Equipment failure"
    INFECTION = "infection", "Infection control / probe reprocessing"
    COMMUNICATION = "communication", "Communication or critical result"
    PRIVACY = "privacy", "Privacy breach"
    MEDICATION = "medication", "Medication"
    RADIATION = "radiation", "Radiation dose"
    STAFF_SAFETY = "staff_safety", "Staff safety"
    OTHER = "other", "Other"


class RootCauseCategory(models.TextChoices):
    HUMAN = "human", "Human factors"
    COMMUNICATION = "communication", "Communication / hand-off"
    PROCESS = "process", "Process or policy"
    EQUIPMENT = "equipment", "Equipment"
    ENVIRONMENT = "environment", "Environment"
    PATIENT = "patient", "Patient factors"
    STAFFING = "staffing", "Staffing or workload"
    TRAINING = "training", "Training"
    UNKNOWN = "unknown", "Not determined"


class IncidentStatus(models.TextChoices):
    OPEN = "open", "Reported"
    INVESTIGATING = "investigating", "Under investigation"
    ACTIONS = "actions", "Actions under way"
    CLOSED = "closed", "Closed"


class Incident(UUIDModel):
    number = models.CharField(max_length=16, unique=True)
    kind = models.CharField(max_length=10, choices=IncidentKind.choices)
    category = models.CharField(max_length=16, choices=IncidentCategory.choices)
    severity = models.CharField(max_length=12, choices=Severity.choices)
    occurred_at = models.DateTimeField()
    reported_at = models.DateTimeField()
    reported_by = models.ForeignKey(
        USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    location_detail = models.CharField(max_length=120, blank=True)
    exam = models.ForeignKey(
        Exam, on_delete=models.PROTECT, null=True, blank=True, related_name="incidents"
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="incidents"
    )
    description = models.TextField()
    immediate_action = models.TextField(blank=True)
    root_cause = models.TextField(blank=True)
    root_cause_category = models.CharField(
        max_length=16, choices=RootCauseCategory.choices, blank=True
    )
    status = models.CharField(
        max_length=16, choices=IncidentStatus.choices, default=IncidentStatus.OPEN
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(fields=["occurred_at"], name="quality_incident_occurred_idx"),
            models.Index(fields=["status", "occurred_at"], name="quality_incident_status_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class ActionKind(models.TextChoices):
    CORRECTIVE = "corrective", "Corrective"
    PREVENTIVE = "preventive", "Preventive"


class ActionStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class CorrectiveAction(UUIDModel):
    """One CAPA line of an incident: an owner, a due date, and its completion."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(max_length=12, choices=ActionKind.choices)
    description = models.TextField()
    owner = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    due_on = models.DateField()
    status = models.CharField(
        max_length=10, choices=ActionStatus.choices, default=ActionStatus.OPEN
    )
    completed_on = models.DateField(null=True, blank=True)
    completion_note = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["due_on", "created_at"]
        indexes = [models.Index(fields=["status", "due_on"], name="quality_capa_due_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} action due {self.due_on}"

    def is_overdue(self, today: date) -> bool:
        return self.status == ActionStatus.OPEN and self.due_on < today


# --- complaints and compliments --------------------------------------------------------------


class FeedbackKind(models.TextChoices):
    COMPLAINT = "complaint", "Complaint"
    COMPLIMENT = "compliment", "Compliment"


class FeedbackChannel(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    PHONE = "phone", "Phone"
    EMAIL = "email", "Email"
    LETTER = "letter", "Letter"
    WEB = "web", "Web form"
    SURVEY = "survey", "Survey comment"
    ADVOCATE = "advocate", "Patient advocate / relations"
    SOCIAL = "social", "Social media"


class FeedbackCategory(models.TextChoices):
    WAIT = "wait", "Waiting time"
    ACCESS = "access", "Booking and access"
    STAFF = "staff", "Staff attitude or conduct"
    COMMUNICATION = "communication", "Communication and information"
    CLINICAL = "clinical", "Clinical care"
    RESULTS = "results", "Results and reports"
    BILLING = "billing", "Billing"
    FACILITIES = "facilities", "Facilities and parking"
    PRIVACY = "privacy", "Privacy and dignity"
    OTHER = "other", "Other"


class FeedbackStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class Feedback(UUIDModel):
    """A patient's complaint (with an owner and a response deadline) or compliment."""

    number = models.CharField(max_length=16, unique=True)
    kind = models.CharField(max_length=10, choices=FeedbackKind.choices)
    channel = models.CharField(max_length=10, choices=FeedbackChannel.choices)
    category = models.CharField(max_length=14, choices=FeedbackCategory.choices)
    received_on = models.DateField()
    summary = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="feedback"
    )
    exam = models.ForeignKey(
        Exam, on_delete=models.PROTECT, null=True, blank=True, related_name="feedback"
    )
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    staff_named = models.ForeignKey(
        StaffMember,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="feedback_naming",
        help_text="A staff member the patient names (compliments often do).",
    )
    owner = models.ForeignKey(
        USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    response_due_on = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=FeedbackStatus.choices, default=FeedbackStatus.OPEN
    )
    resolution = models.TextField(blank=True)
    resolved_on = models.DateField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_by = models.ForeignKey(
        USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-received_on", "-number"]
        verbose_name_plural = "feedback"
        indexes = [
            models.Index(fields=["kind", "received_on"], name="quality_feedback_kind_idx"),
            models.Index(fields=["status", "response_due_on"], name="quality_feedback_due_idx"),
        ]

    def __str__(self) -> str:
        return self.number

    def is_overdue(self, today: date) -> bool:
        return (
            self.kind == FeedbackKind.COMPLAINT
            and self.status == FeedbackStatus.OPEN
            and self.response_due_on is not None
            and self.response_due_on < today
        )


# --- patient satisfaction --------------------------------------------------------------------


class SatisfactionImport(UUIDModel):
    filename = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    imported_at = models.DateTimeField()
    by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    rows_imported = models.PositiveIntegerField(default=0)
    rows_skipped = models.PositiveIntegerField(
        default=0, help_text="Rows already imported before (skipped on request)."
    )

    class Meta:
        ordering = ["-imported_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.rows_imported} rows)"


def _scale(low: int, high: int) -> list[MinValueValidator | MaxValueValidator]:
    return [MinValueValidator(low), MaxValueValidator(high)]


class SatisfactionResponse(models.Model):
    """One survey response as the vendor exported it (see docs/quality.md for the columns)."""

    response_id = models.CharField(max_length=64, unique=True)
    survey_date = models.DateField()
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    modality = models.ForeignKey(
        Modality, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    exam = models.ForeignKey(
        Exam, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    overall = models.PositiveSmallIntegerField(validators=_scale(1, 5))
    recommend = models.PositiveSmallIntegerField(
        "likelihood to recommend (0-10)", null=True, blank=True, validators=_scale(0, 10)
    )
    wait_time = models.PositiveSmallIntegerField(null=True, blank=True, validators=_scale(1, 5))
    staff_courtesy = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=_scale(1, 5)
    )
    explanation = models.PositiveSmallIntegerField(null=True, blank=True, validators=_scale(1, 5))
    comment = models.TextField(blank=True)
    batch = models.ForeignKey(SatisfactionImport, on_delete=models.PROTECT, related_name="rows")

    class Meta:
        ordering = ["-survey_date", "response_id"]
        indexes = [models.Index(fields=["survey_date"], name="quality_survey_date_idx")]
        permissions = [("import_satisfaction", "Import patient satisfaction survey results")]

    def __str__(self) -> str:
        return self.response_id


# --- accessibility requests ------------------------------------------------------------------


class AccessibilityNeed(models.TextChoices):
    WHEELCHAIR = "wheelchair", "Wheelchair access"
    TRANSFER = "transfer", "Transfer help or hoist"
    SIGN_LANGUAGE = "sign_language", "Sign language interpreter"
    HEARING = "hearing", "Hearing loop or amplifier"
    VISION = "vision", "Large print, braille or guide"
    COGNITIVE = "cognitive", "Support person or extra time"
    BARIATRIC = "bariatric", "Bariatric equipment"
    CHAPERONE = "chaperone", "Chaperone"
    SERVICE_ANIMAL = "service_animal", "Service animal"
    OTHER = "other", "Other"


class RequestStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    MET = "met", "Met"
    UNMET = "unmet", "Not met"
    CANCELLED = "cancelled", "Cancelled"


class AccessibilityRequest(UUIDModel):
    """A patient's accessibility need for a visit, and whether the department met it."""

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="accessibility_requests"
    )
    exam = models.ForeignKey(
        Exam,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="accessibility_requests",
    )
    need = models.CharField(max_length=16, choices=AccessibilityNeed.choices)
    detail = models.CharField(max_length=200, blank=True)
    needed_on = models.DateField()
    requested_at = models.DateTimeField()
    requested_by = models.ForeignKey(
        USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    outcome_note = models.CharField(max_length=300, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-needed_on"]
        indexes = [models.Index(fields=["needed_on", "status"], name="quality_access_needed_idx")]

    def __str__(self) -> str:
        return f"{self.get_need_display()} on {self.needed_on}"
