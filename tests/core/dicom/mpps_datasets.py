"""MPPS attribute lists as a modality sends them (PS3.4 Table F.7.2-1), for the core and
integration tests: an N-CREATE that starts a step and the N-SETs that finish it."""

from __future__ import annotations

from typing import Any

from pydicom.dataset import Dataset

#: The SOP Class of Modality Performed Procedure Step (DESIGN.md, interoperability facts).
MPPS_SOP_CLASS = "1.2.840.10008.3.1.2.3.3"


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def series(uid: str, images: int, description: str = "Abdomen") -> Dataset:
    item = Dataset()
    item.SeriesInstanceUID = uid
    item.SeriesDescription = description
    item.ProtocolName = "ABD"
    item.RetrieveAETitle = ""
    item.PerformingPhysicianName = ""
    item.OperatorsName = "Tech^Tara"
    refs = []
    for n in range(images):
        ref = Dataset()
        ref.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.6.1"  # US Image Storage
        ref.ReferencedSOPInstanceUID = f"{uid}.{n + 1}"
        refs.append(ref)
    item.ReferencedImageSequence = refs
    item.ReferencedNonImageCompositeSOPInstanceSequence = []
    return item


def n_create(
    *,
    accession: str = "",
    study_uid: str = "1.2.826.0.1.3680043.10.543.1",
    sps_id: str = "",
    requested_procedure_id: str = "",
    patient_id: str = "MRN0001",
    patient_name: str = "Doe^Jane",
    birth_date: str = "19800214",
    sex: str = "F",
    start_date: str = "20240315",
    start_time: str = "101500",
    modality: str = "US",
    station_ae: str = "US_ROOM_1",
    **extra: Any,
) -> Dataset:
    """An N-CREATE attribute list: every Type 1 and Type 2 attribute of Table F.7.2-1."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    step = Dataset()
    step.StudyInstanceUID = study_uid
    step.ReferencedStudySequence = []
    step.AccessionNumber = accession
    step.RequestedProcedureID = requested_procedure_id
    step.RequestedProcedureDescription = "US abdomen complete"
    step.ScheduledProcedureStepID = sps_id
    step.ScheduledProcedureStepDescription = "US abdomen complete"
    step.ScheduledProtocolCodeSequence = []
    ds.ScheduledStepAttributesSequence = [step]
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = birth_date
    ds.PatientSex = sex
    ds.ReferencedPatientSequence = []
    ds.PerformedProcedureStepID = "PPS0001"
    ds.PerformedStationAETitle = station_ae
    ds.PerformedStationName = "US1"
    ds.PerformedLocation = "Room 1"
    ds.PerformedProcedureStepStartDate = start_date
    ds.PerformedProcedureStepStartTime = start_time
    ds.PerformedProcedureStepStatus = "IN PROGRESS"
    ds.PerformedProcedureStepDescription = "US abdomen complete"
    ds.PerformedProcedureTypeDescription = ""
    ds.ProcedureCodeSequence = []
    ds.PerformedProcedureStepEndDate = ""
    ds.PerformedProcedureStepEndTime = ""
    ds.Modality = modality
    ds.StudyID = ""
    ds.PerformedProtocolCodeSequence = []
    ds.PerformedSeriesSequence = []
    for keyword, value in extra.items():
        setattr(ds, keyword, value)
    return ds


def n_set_completed(
    *, end_date: str = "20240315", end_time: str = "103000", images: tuple[int, ...] = (12, 3)
) -> Dataset:
    """The final N-SET of a finished scan: status, end, and the series made."""
    ds = Dataset()
    ds.PerformedProcedureStepStatus = "COMPLETED"
    ds.PerformedProcedureStepEndDate = end_date
    ds.PerformedProcedureStepEndTime = end_time
    ds.PerformedSeriesSequence = [
        series(f"1.2.826.0.1.3680043.10.543.1.{n + 1}", count, f"Series {n + 1}")
        for n, count in enumerate(images)
    ]
    return ds


def n_set_discontinued(
    *,
    end_date: str = "20240315",
    end_time: str = "102000",
    reason: tuple[str, str, str] | None = ("110501", "DCM", "Equipment failure"),
) -> Dataset:
    ds = Dataset()
    ds.PerformedProcedureStepStatus = "DISCONTINUED"
    ds.PerformedProcedureStepEndDate = end_date
    ds.PerformedProcedureStepEndTime = end_time
    ds.PerformedSeriesSequence = [series("1.2.826.0.1.3680043.10.543.1.9", 2)]
    if reason is not None:
        ds.PerformedProcedureStepDiscontinuationReasonCodeSequence = [_code(*reason)]
    return ds
