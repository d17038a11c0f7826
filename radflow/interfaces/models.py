"""What the department's peer systems are, and what they told RadFlow.

The DICOM side: the registry of Application Entities (modalities) that may query the worklist
and report performed procedure steps, the department's policy for callers it does not know,
and every Modality Performed Procedure Step received, matched to its exam or waiting on the
reconciliation page for a person to link it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from radflow.db import UUIDModel
from radflow.exams.models import Exam
from radflow.scheduling.models import Device, Modality, Room, ae_title_validator


class UnknownCallerPolicy(models.TextChoices):
    REJECT = "reject", "Reject the association"
    READ_ONLY = "read_only", "Accept worklist queries and echo only (no MPPS)"


class ApplicationEntity(UUIDModel):
    """A modality (or workstation) known to the DICOM server, by the AE title it calls with."""

    ae_title = models.CharField(
        "AE title", max_length=16, unique=True, validators=[ae_title_validator]
    )
    #: Empty: any address. Otherwise the association is accepted only from this address.
    host = models.CharField("address", max_length=64, blank=True)
    port = models.PositiveIntegerField(null=True, blank=True)
    station_name = models.CharField(max_length=16, blank=True)
    modality = models.ForeignKey(
        Modality, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    room = models.ForeignKey(
        Room, on_delete=models.SET_NULL, null=True, blank=True, related_name="application_entities"
    )
    device = models.ForeignKey(
        Device,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="application_entities",
    )
    description = models.CharField(max_length=120, blank=True)
    #: Its worklist shows only its own room's (and modality's) steps, whatever it asks for.
    restrict_to_room = models.BooleanField(default=False)
    restrict_to_modality = models.BooleanField(default=False)
    may_send_mpps = models.BooleanField("may send MPPS", default=True)
    active = models.BooleanField(default=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["ae_title"]
        verbose_name = "application entity"
        verbose_name_plural = "application entities"

    def __str__(self) -> str:
        return self.ae_title


class DicomPolicy(models.Model):
    """The department's one row of DICOM server policy (the AE title and port are settings)."""

    unknown_caller = models.CharField(
        max_length=12, choices=UnknownCallerPolicy.choices, default=UnknownCallerPolicy.REJECT
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "DICOM policy"
        verbose_name_plural = "DICOM policy"

    def __str__(self) -> str:
        return f"DICOM policy: unknown callers {self.get_unknown_caller_display().lower()}"


class PpsStatus(models.TextChoices):
    IN_PROGRESS = "IN PROGRESS", "In progress"
    COMPLETED = "COMPLETED", "Completed"
    DISCONTINUED = "DISCONTINUED", "Discontinued"


class PerformedProcedureStep(UUIDModel):
    """One MPPS instance as the modality reported it (stored before it is applied)."""

    sop_instance_uid = models.CharField("SOP Instance UID", max_length=64, unique=True)
    calling_ae = models.CharField(max_length=16)
    status = models.CharField(max_length=12, choices=PpsStatus.choices)
    exam = models.ForeignKey(
        Exam,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="performed_steps",
    )
    # What the modality said the step referenced (used to match it, and shown when it did not).
    accession_number = models.CharField(max_length=16, blank=True)
    study_instance_uid = models.CharField(max_length=64, blank=True)
    sps_id = models.CharField("scheduled procedure step ID", max_length=16, blank=True)
    patient_id = models.CharField(max_length=64, blank=True)
    patient_name = models.CharField(max_length=200, blank=True)
    patient_birth_date = models.CharField(max_length=8, blank=True)
    modality = models.CharField(max_length=16, blank=True)
    procedure_description = models.CharField(max_length=200, blank=True)
    station_name = models.CharField(max_length=16, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    #: [{"series_uid", "description", "modality", "images"}]
    performed_series = models.JSONField(default=list, blank=True)
    images_count = models.PositiveIntegerField(default=0)
    discontinuation_reason = models.CharField(max_length=200, blank=True)
    #: RadFlow's discontinue reason code for the modality's coded reason (CID 9300).
    discontinuation_code = models.CharField(max_length=32, blank=True)
    #: The dataset as received (pydicom JSON), the N-CREATE then each N-SET merged in.
    attributes = models.JSONField(default=dict, blank=True)
    #: Hard stops unmet when the modality began the exam: shown to the coordinator until cleared.
    missing = models.JSONField(default=list, blank=True)
    #: True while the unmet stops wait for the coordinator (the board's and the page's query).
    flagged = models.BooleanField(default=False)
    flag_cleared_at = models.DateTimeField(null=True, blank=True)
    flag_cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    #: What the coordinator did about the unmet stops when clearing the flag.
    flag_cleared_note = models.TextField(blank=True)
    #: The last thing applying it to the exam could not do (shown on the reconciliation page).
    apply_error = models.TextField(blank=True)
    linked_at = models.DateTimeField(null=True, blank=True)
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["exam", "created_at"], name="pps_exam_idx"),
            models.Index(fields=["accession_number"], name="pps_accession_idx"),
            # The reconciliation page's two lists stay small; these keep them off a full scan.
            models.Index(
                fields=["created_at"],
                condition=models.Q(exam__isnull=True) | ~models.Q(apply_error=""),
                name="pps_unreconciled_idx",
            ),
            models.Index(
                fields=["created_at"], condition=models.Q(flagged=True), name="pps_flagged_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["IN PROGRESS", "COMPLETED", "DISCONTINUED"]),
                name="pps_status_valid",
            )
        ]

    def __str__(self) -> str:
        return f"MPPS {self.sop_instance_uid} ({self.status})"


# --- HL7 v2 ------------------------------------------------------------------------------------


class Hl7Interface(UUIDModel):
    """An inbound peer (the EHR's interface engine), recognised by MSH-3/MSH-4.

    Which PID-3 authority is the MRN, which code system OBR-4 uses and which site the sending
    facility's orders belong to differ between hospitals, so they are settings of the interface,
    never code. A message from a sender no interface names is answered AR and kept.
    """

    name = models.CharField(max_length=80, unique=True)
    #: MSH-3 / MSH-4 namespace IDs this interface accepts; blank matches any.
    sending_application = models.CharField(max_length=180, blank=True)
    sending_facility = models.CharField(max_length=180, blank=True)
    #: The PID-3 assigning authority (CX.4) that carries the MRN; blank = the first PID-3 repeat.
    mrn_authority = models.CharField("MRN assigning authority", max_length=40, blank=True)
    #: OBR-4 coding system (CE.3) whose codes are RadFlow exam codes or CPT codes, e.g. "CPT".
    procedure_code_system = models.CharField(max_length=40, blank=True)
    site = models.ForeignKey(
        "scheduling.Site", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "HL7 interface"

    def __str__(self) -> str:
        return self.name


class Hl7Destination(UUIDModel):
    """An outbound peer that receives SIU scheduling and ORM/OMI status messages over MLLP."""

    name = models.CharField(max_length=80, unique=True)
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField()
    receiving_application = models.CharField(max_length=180, blank=True)
    receiving_facility = models.CharField(max_length=180, blank=True)
    #: "2.3.1" sends ORM^O01 status; "2.5.1" sends OMI^O23.
    version = models.CharField(max_length=8, default="2.5.1")
    sends_scheduling = models.BooleanField("sends SIU scheduling messages", default=True)
    sends_status = models.BooleanField("sends order status messages", default=True)
    active = models.BooleanField(default=True)
    #: Set when the destination answered AE/AR: delivery waits for a person (skip, edit, resend).
    stopped_at = models.DateTimeField(null=True, blank=True)
    stopped_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "HL7 destination"

    def __str__(self) -> str:
        return self.name


class Hl7Direction(models.TextChoices):
    IN = "in", "Received"
    OUT = "out", "Sent"


class Hl7Status(models.TextChoices):
    # inbound
    RECEIVED = "received", "Stored, not yet applied"
    APPLIED = "applied", "Applied (AA)"
    REJECTED = "rejected", "Rejected (AE)"
    REFUSED = "refused", "Refused (AR)"
    # outbound
    PENDING = "pending", "Waiting to be sent"
    SENT = "sent", "Sent and acknowledged"
    HELD = "held", "Held: the destination answered AE/AR"
    SKIPPED = "skipped", "Skipped by a person"
    # either: a replayed original points at its replay
    REPLAYED = "replayed", "Replaced by an edited copy"


#: Inbound statuses that belong on the dead-letter list.
DEAD_LETTER = (Hl7Status.REJECTED, Hl7Status.REFUSED)


class Hl7Message(UUIDModel):
    """Every HL7 v2 message in or out, stored before it is applied or sent.

    Inbound: the raw bytes are committed first (status ``received``), then applied in a second
    transaction that also stores the ACK; a crash between the two leaves a ``received`` row
    that the sender's re-send (same MSH-3/4/10) applies. Outbound: the row is written in the
    caller's transaction (the outbox) and the worker sends it. An edited replay is a new row
    pointing at the original (``replay_of``), so the original bytes are never overwritten.
    """

    direction = models.CharField(max_length=3, choices=Hl7Direction.choices)
    status = models.CharField(max_length=10, choices=Hl7Status.choices)
    interface = models.ForeignKey(
        Hl7Interface, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )
    destination = models.ForeignKey(
        Hl7Destination, on_delete=models.PROTECT, null=True, blank=True, related_name="messages"
    )
    #: Client address (inbound) or host:port (outbound); never PHI.
    peer = models.CharField(max_length=120, blank=True)
    sending_application = models.CharField(max_length=180, blank=True)
    sending_facility = models.CharField(max_length=180, blank=True)
    receiving_application = models.CharField(max_length=180, blank=True)
    receiving_facility = models.CharField(max_length=180, blank=True)
    #: MSH-10; stable across retries of an outbound message.
    control_id = models.CharField(max_length=64, blank=True)
    #: MSH-9 as "ORM^O01" (blank when the message could not be read that far).
    message_type = models.CharField(max_length=24, blank=True)
    version = models.CharField(max_length=12, blank=True)
    #: MSH-18 as sent ("" means ASCII).
    charset = models.CharField(max_length=24, blank=True)
    #: The message exactly as received or sent (segments separated by CR, no MLLP framing).
    raw = models.BinaryField()
    # Search keys read from the message (never names).
    patient_mrn = models.CharField("MRN", max_length=64, blank=True)
    accession_number = models.CharField(max_length=32, blank=True)
    placer_order_number = models.CharField(max_length=64, blank=True)
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    exam = models.ForeignKey(
        "exams.Exam", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    #: The ACK sent (inbound) or received (outbound), raw, and its MSA-1 code.
    ack = models.BinaryField(null=True, blank=True)
    ack_code = models.CharField(max_length=2, blank=True)
    #: Why it was rejected, or the last delivery error; shown on the console.
    error = models.TextField(blank=True)
    #: What applying it did: [{"what": "order", "id": "...", "action": "created", "label": "..."}].
    changes = models.JSONField(default=list, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # outbound delivery
    #: Messages with the same key go out in order (``patient:<uuid>``).
    order_key = models.CharField(max_length=80, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    replay_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replays"
    )
    replayed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "HL7 message"
        permissions = [
            ("replay_hl7message", "Can edit and replay or resend an HL7 message"),
        ]
        indexes = [
            models.Index(fields=["direction", "created_at"], name="hl7_direction_idx"),
            models.Index(fields=["status", "created_at"], name="hl7_status_idx"),
            models.Index(fields=["control_id"], name="hl7_control_idx"),
            models.Index(fields=["patient_mrn"], name="hl7_mrn_idx"),
            models.Index(fields=["accession_number"], name="hl7_accession_idx"),
            models.Index(fields=["message_type", "created_at"], name="hl7_type_idx"),
            models.Index(
                fields=["destination", "order_key", "created_at"],
                condition=models.Q(status="pending"),
                name="hl7_outbox_idx",
            ),
        ]
        constraints = [
            # The same message again (MSH-3, MSH-4, MSH-10) is one row: its re-send gets the
            # stored ACK. Replays are new rows that keep the original's control ID.
            models.UniqueConstraint(
                fields=["sending_application", "sending_facility", "control_id"],
                condition=models.Q(direction="in", replay_of__isnull=True)
                & ~models.Q(control_id=""),
                name="hl7_inbound_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.message_type or '?'} {self.control_id}"


class InterfaceSettings(models.Model):
    """The department's one row of interface settings."""

    #: Messages older than this are deleted by the worker (dead letters and held ones are kept).
    retention_days = models.PositiveIntegerField(default=365)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "interface settings"
        verbose_name_plural = "interface settings"

    def __str__(self) -> str:
        return f"Interface settings (keep messages {self.retention_days} days)"
