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
