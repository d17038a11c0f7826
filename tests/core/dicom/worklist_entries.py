"""Plain worklist entries and C-FIND identifiers for the core tests (no database)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from pydicom import config
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from radflow.core.dicom.worklist import ProcedureCode, WorklistEntry

NEW_YORK = ZoneInfo("America/New_York")


def entry(**changes: Any) -> WorklistEntry:
    """An ultrasound step of Jane Doe's, booked 2026-11-15 09:30 in room US-A."""
    base = WorklistEntry(
        patient_name="Doe^Jane",
        patient_id="MRN0001",
        issuer_of_patient_id="RADFLOW",
        birth_date=dt.date(1980, 1, 2),
        sex="F",
        allergies="Latex",
        pregnancy_status=1,
        medical_alerts="",
        accession_number="RF00000001",
        requested_procedure_id="RF00000001",
        requested_procedure_description="US abdomen complete",
        procedure_code=ProcedureCode(value="76700", scheme="C4", meaning="US abdomen complete"),
        study_instance_uid="2.25.1001",
        referring_physician="Hart^Amelia",
        requesting_physician="Hart^Amelia",
        priority="ROUTINE",
        patient_class="outpatient",
        reason="RUQ pain",
        sps_id="RF00000001",
        sps_description="US abdomen complete",
        sps_start=dt.datetime(2026, 11, 15, 9, 30, tzinfo=NEW_YORK),
        modality="US",
        station_ae="US_ROOM_A",
        station_name="USSTNA",
        location="US-A",
        performing_physician="Lopez^Maria",
        sps_status="SCHEDULED",
        room_id="room-a",
        patient_key="6f1c1f3e-8b7e-4a8e-9d55-2f1f6f0b0001",
    )
    return replace(base, **changes)


def put(ds: Dataset, keyword: str, value: Any) -> None:
    """Set ``keyword`` as a modality would send it, odd values included (no validation)."""
    tag = tag_for_keyword(keyword)
    assert tag is not None, keyword
    vr = dictionary_VR(tag)
    if vr == "SQ":
        value = Sequence(value)
    ds.add(DataElement(tag, vr, value, validation_mode=config.IGNORE))


def step(**keys: Any) -> Dataset:
    item = Dataset()
    for keyword, value in keys.items():
        put(item, keyword, value)
    return item


def identifier(sps: Dataset | list[Dataset] | None = None, **keys: Any) -> Dataset:
    """An Identifier with ``keys`` at the top level and ``sps`` as the step sequence."""
    ds = Dataset()
    for keyword, value in keys.items():
        put(ds, keyword, value)
    if sps is not None:
        put(ds, "ScheduledProcedureStepSequence", sps if isinstance(sps, list) else [sps])
    return ds


def modality_query(**sps_keys: Any) -> Dataset:
    """What a modality typically asks: the patient, the order and its step's details."""
    item = dict(
        Modality="",
        ScheduledStationAETitle="",
        ScheduledProcedureStepStartDate="",
        ScheduledProcedureStepStartTime="",
        ScheduledPerformingPhysicianName="",
        ScheduledProcedureStepDescription="",
        ScheduledProcedureStepID="",
        ScheduledStationName="",
        ScheduledProcedureStepLocation="",
    )
    item.update(sps_keys)
    return identifier(
        step(**item),
        SpecificCharacterSet="ISO_IR 100",
        AccessionNumber="",
        ReferringPhysicianName="",
        PatientName="",
        PatientID="",
        PatientBirthDate="",
        PatientSex="",
        StudyInstanceUID="",
        RequestedProcedureDescription="",
        RequestedProcedureID="",
    )
