"""The PHI access log: append-only and hash-chained so that an altered row is detectable.

Each row's ``row_hash`` covers its own content and the previous row's hash (see
``radflow.core.audit_chain``); ``AccessLogHead`` holds the chain's tip and is locked for each
append so concurrent writers serialize on it (``SELECT ... FOR UPDATE`` on PostgreSQL, the write
lock on SQLite).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


class AccessChannel(models.TextChoices):
    WEB = "web", "Web page"
    API = "api", "API"
    EXPORT = "export", "Export"
    HL7 = "hl7", "HL7"
    DICOM = "dicom", "DICOM"
    FHIR = "fhir", "FHIR"


class AppendOnlyError(Exception):
    """Raised when code tries to change or delete an access-log row."""


class AccessLog(models.Model):
    seq = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField(db_index=True)
    # DO_NOTHING, not SET_NULL: user_id is hashed, so nulling it would break the chain (and the
    # append-only trigger refuses the UPDATE). ``username`` keeps who it was.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        db_constraint=False,
        # No index of its own: the log is searched by username (kept here for that), and every
        # index is paid for on each append, inside the chain lock that all readers wait for.
        db_index=False,
        related_name="+",
    )
    username = models.CharField(max_length=150, db_index=True)
    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        # Served by (patient, at) below: a second index on patient alone only slows appends.
        db_index=False,
        related_name="+",
        null=True,
    )
    patient_mrn = models.CharField(max_length=32, db_index=True)
    action = models.CharField(max_length=80, help_text="what was read, e.g. patient.detail")
    channel = models.CharField(max_length=8, choices=AccessChannel.choices)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)
    prev_hash = models.CharField(max_length=64)
    row_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-seq"]
        indexes = [models.Index(fields=["patient", "at"], name="accesslog_patient_at_idx")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.username} {self.action} {self.patient_mrn}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("access-log rows cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("access-log rows cannot be deleted")


class AccessLogHead(models.Model):
    """The single row holding the chain's tip; locked by every append."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    row_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"head #{self.seq}"
