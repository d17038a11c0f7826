"""One scheduled procedure step as plain values: what the worklist matches and answers from.

The Django side builds these from exams; matching and the answer's dataset are built from them
here, so the rules can be tested (and benchmarked) without a database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class ProcedureCode:
    value: str
    scheme: str  # CodingSchemeDesignator, e.g. "CPT4" or "RADFLOW"
    meaning: str


@dataclass(frozen=True)
class Restriction:
    """What a registered station may see whatever it asks for (from the AE registry)."""

    room_id: str | None = None
    modality: str | None = None


@dataclass(frozen=True)
class WorklistEntry:
    # Patient
    patient_name: str  # DICOM PN: FAMILY^GIVEN^MIDDLE^PREFIX^SUFFIX, trailing ^ trimmed
    patient_id: str
    issuer_of_patient_id: str
    birth_date: date | None
    sex: str  # M, F, O or ""
    allergies: str
    #: PS3.3 (0010,21C0): 1 not pregnant, 2 possibly, 3 definitely, 4 unknown
    pregnancy_status: int | None
    medical_alerts: str
    # Requested procedure and order
    accession_number: str
    requested_procedure_id: str
    requested_procedure_description: str
    procedure_code: ProcedureCode | None
    study_instance_uid: str
    referring_physician: str  # PN
    requesting_physician: str  # PN
    priority: str  # RequestedProcedurePriority: STAT, HIGH, ROUTINE, MEDIUM, LOW
    patient_class: str  # outpatient / inpatient / emergency
    reason: str
    # Scheduled procedure step
    sps_id: str
    sps_description: str
    sps_start: datetime  # aware
    modality: str
    station_ae: str
    station_name: str
    location: str  # ScheduledProcedureStepLocation: the room
    performing_physician: str  # PN, the booked sonographer/technologist
    sps_status: str  # SCHEDULED or ARRIVED
    room_id: str = ""
