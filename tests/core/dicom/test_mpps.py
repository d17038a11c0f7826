"""MPPS datasets read into plain values and checked per PS3.4 F.7 (no database, no network)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset

from radflow.core.dicom.mpps import (
    ERROR_ID_NO_LONGER_UPDATABLE,
    UNSPECIFIED_REASON,
    CodedReason,
    MppsRefused,
    PpsState,
    Status,
    check_update,
    discontinuation_reason,
    parse_create,
    parse_set,
    series_as_json,
)
from tests.core.dicom.mpps_datasets import n_create, n_set_completed, n_set_discontinued

ZONE = ZoneInfo("America/New_York")


def refused(status: Status, call: object, *args: object, **kwargs: object) -> MppsRefused:
    assert callable(call)
    with pytest.raises(MppsRefused) as caught:
        call(*args, **kwargs)
    assert caught.value.status == status, caught.value.message
    return caught.value


# --- N-CREATE ---------------------------------------------------------------------------------


def test_an_n_create_is_read_into_plain_values() -> None:
    ds = n_create(accession="RF00000042", sps_id="SPS42", requested_procedure_id="RP42")
    step = parse_create(ds, zone=ZONE)
    assert step.status is PpsState.IN_PROGRESS
    assert [(r.accession_number, r.sps_id, r.requested_procedure_id) for r in step.refs] == [
        ("RF00000042", "SPS42", "RP42")
    ]
    assert step.refs[0].study_instance_uid == "1.2.826.0.1.3680043.10.543.1"
    assert (step.patient_id, step.patient_name) == ("MRN0001", "Doe^Jane")
    assert step.patient_birth_date == date(1980, 2, 14)
    assert step.patient_sex == "F"
    assert (step.modality, step.station_ae, step.station_name) == ("US", "US_ROOM_1", "US1")
    assert step.started_at == datetime(2024, 3, 15, 10, 15, tzinfo=ZONE)
    assert step.started_at.utcoffset() == timedelta(hours=-4)  # EDT, after the March change
    assert step.ended_at is None
    assert step.series == ()
    assert step.images == 0


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom frowns at ACR-NEMA's colons
def test_start_times_in_every_form_the_standard_allows_are_read() -> None:
    for text, expected in [
        ("10", datetime(2024, 3, 15, 10, 0, tzinfo=ZONE)),
        ("1015", datetime(2024, 3, 15, 10, 15, tzinfo=ZONE)),
        ("101507.25", datetime(2024, 3, 15, 10, 15, 7, 250000, tzinfo=ZONE)),
        ("10:15:07", datetime(2024, 3, 15, 10, 15, 7, tzinfo=ZONE)),  # ACR-NEMA style
    ]:
        assert parse_create(n_create(start_time=text), zone=ZONE).started_at == expected


def test_a_timezone_offset_sent_by_the_modality_wins_over_the_department_zone() -> None:
    ds = n_create(TimezoneOffsetFromUTC="+0100")
    assert parse_create(ds, zone=ZONE).started_at == datetime(2024, 3, 15, 9, 15, tzinfo=UTC)
    ds = n_create(TimezoneOffsetFromUTC="0100")
    error = refused(Status.INVALID_ATTRIBUTE_VALUE, parse_create, ds, zone=ZONE)
    assert error.tags == (tag_for_keyword("TimezoneOffsetFromUTC"),)


def test_an_n_create_must_start_in_progress() -> None:
    for status in ("COMPLETED", "DISCONTINUED", "SCHEDULED"):
        ds = n_create(PerformedProcedureStepStatus=status)
        error = refused(Status.INVALID_ATTRIBUTE_VALUE, parse_create, ds, zone=ZONE)
        assert "PerformedProcedureStepStatus" in error.message


@pytest.mark.parametrize(
    "keyword",
    [
        "ScheduledStepAttributesSequence",
        "PerformedProcedureStepID",
        "PerformedStationAETitle",
        "PerformedProcedureStepStartDate",
        "PerformedProcedureStepStartTime",
        "PerformedProcedureStepStatus",
        "Modality",
    ],
)
def test_a_missing_type_1_attribute_answers_0x0120_naming_it(keyword: str) -> None:
    ds = n_create()
    delattr(ds, keyword)
    error = refused(Status.MISSING_ATTRIBUTE, parse_create, ds, zone=ZONE)
    assert error.tags == (tag_for_keyword(keyword),)
    assert keyword in error.message


@pytest.mark.parametrize(
    "keyword", ["PerformedProcedureStepID", "PerformedStationAETitle", "Modality"]
)
def test_an_empty_type_1_attribute_answers_0x0121(keyword: str) -> None:
    ds = n_create(**{keyword: ""})
    error = refused(Status.MISSING_ATTRIBUTE_VALUE, parse_create, ds, zone=ZONE)
    assert error.tags == (tag_for_keyword(keyword),)


def test_the_scheduled_step_needs_an_item_and_its_study_uid() -> None:
    ds = n_create()
    ds.ScheduledStepAttributesSequence = []
    refused(Status.MISSING_ATTRIBUTE_VALUE, parse_create, ds, zone=ZONE)
    ds = n_create()
    del ds.ScheduledStepAttributesSequence[0].StudyInstanceUID
    error = refused(Status.MISSING_ATTRIBUTE, parse_create, ds, zone=ZONE)
    assert "ScheduledStepAttributesSequence" in error.message


def test_type_2_attributes_left_out_altogether_are_tolerated() -> None:
    ds = n_create()
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PerformedStationName"):
        delattr(ds, keyword)
    del ds.ScheduledStepAttributesSequence[0].AccessionNumber
    step = parse_create(ds, zone=ZONE)
    assert (step.patient_name, step.patient_id, step.patient_birth_date) == ("", "", None)
    assert step.refs[0].accession_number == ""


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("PerformedProcedureStepStartDate", "20241301"),
        ("PerformedProcedureStepStartDate", "2024-03-15"),
        ("PerformedProcedureStepStartTime", "2561"),
        ("PatientBirthDate", "19800231"),
        ("Modality", "us"),
        ("Modality", ["US", "CT"]),
        ("PerformedStationAETitle", "A" * 17),
        ("PatientID", "X" * 65),
        ("PerformedProcedureStepStatus", "DONE"),
    ],
)
def test_a_value_that_breaks_its_representation_answers_0x0106(keyword: str, value: Any) -> None:
    ds = n_create(**{keyword: value})
    error = refused(Status.INVALID_ATTRIBUTE_VALUE, parse_create, ds, zone=ZONE)
    assert error.tags == (tag_for_keyword(keyword),)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_bad_uid_or_an_overlong_accession_answers_0x0106() -> None:
    refused(Status.INVALID_ATTRIBUTE_VALUE, parse_create, n_create(study_uid="1.2.abc"), zone=ZONE)
    refused(Status.INVALID_ATTRIBUTE_VALUE, parse_create, n_create(accession="A" * 17), zone=ZONE)


def test_an_end_before_the_start_is_refused() -> None:
    ds = n_create(PerformedProcedureStepEndDate="20240315", PerformedProcedureStepEndTime="1000")
    refused(Status.INVALID_ATTRIBUTE_VALUE, parse_create, ds, zone=ZONE)


def test_error_messages_name_attributes_never_values() -> None:
    ds = n_create(patient_name="Secret^Patient", PerformedProcedureStepStatus="COMPLETED")
    error = refused(Status.INVALID_ATTRIBUTE_VALUE, parse_create, ds, zone=ZONE)
    assert "Secret" not in error.message


# --- N-SET ------------------------------------------------------------------------------------


def test_a_completing_n_set_brings_series_image_counts_and_the_end() -> None:
    update = parse_set(n_set_completed(images=(12, 3)), zone=ZONE)
    assert update.status is PpsState.COMPLETED
    assert update.ended_at == datetime(2024, 3, 15, 10, 30, tzinfo=ZONE)
    assert update.series is not None
    assert [(s.description, s.images) for s in update.series] == [("Series 1", 12), ("Series 2", 3)]
    assert update.images == 15
    assert series_as_json(update.series, "US")[0] == {
        "series_uid": "1.2.826.0.1.3680043.10.543.1.1",
        "description": "Series 1",
        "protocol": "ABD",
        "modality": "US",
        "images": 12,
    }


def test_an_n_set_reads_only_what_it_may_change() -> None:
    ds = Dataset()
    ds.PerformedProcedureStepDescription = "Limited"
    ds.PatientName = "Someone^Else"  # not settable by N-SET: ignored, not applied
    update = parse_set(ds, zone=ZONE)
    assert (update.status, update.description, update.series, update.ended_at) == (
        None,
        "Limited",
        None,
        None,
    )


def test_a_discontinuing_n_set_carries_its_coded_reason() -> None:
    update = parse_set(n_set_discontinued(), zone=ZONE)
    assert update.status is PpsState.DISCONTINUED
    assert update.discontinuation == CodedReason("110501", "DCM", "Equipment failure")
    assert discontinuation_reason(update.discontinuation) == (
        "equipment_failure",
        "Modality: Equipment failure (DCM 110501)",
    )


def test_a_reason_outside_cid_9300_or_none_at_all_is_unspecified() -> None:
    assert discontinuation_reason(None)[0] == UNSPECIFIED_REASON
    assert discontinuation_reason(CodedReason("110513", "DCM", "Unspecified"))[0] == (
        UNSPECIFIED_REASON
    )
    assert discontinuation_reason(CodedReason("110501", "99LOCAL", "Broke"))[0] == (
        UNSPECIFIED_REASON
    )


START = datetime(2024, 3, 15, 10, 15, tzinfo=ZONE)


@pytest.mark.parametrize("final", [PpsState.COMPLETED, PpsState.DISCONTINUED])
def test_an_n_set_on_a_finished_step_answers_0x0110_with_error_id_a710(final: PpsState) -> None:
    update = parse_set(n_set_completed(), zone=ZONE)
    error = refused(
        Status.PROCESSING_FAILURE,
        check_update,
        current=final,
        update=update,
        started_at=START,
        ended_at=START,
    )
    assert error.error_id == ERROR_ID_NO_LONGER_UPDATABLE == 0xA710
    assert error.message == "Performed Procedure Step Object may no longer be updated"


def test_a_final_state_needs_an_end_sent_now_or_before() -> None:
    ds = n_set_completed()
    del ds.PerformedProcedureStepEndDate, ds.PerformedProcedureStepEndTime
    update = parse_set(ds, zone=ZONE)
    refused(
        Status.MISSING_ATTRIBUTE,
        check_update,
        current="IN PROGRESS",
        update=update,
        started_at=START,
        ended_at=None,
    )
    earlier_end = START + timedelta(minutes=5)
    assert (
        check_update(current="IN PROGRESS", update=update, started_at=START, ended_at=earlier_end)
        == earlier_end
    )


def test_an_end_date_without_its_time_is_refused() -> None:
    ds = n_set_completed()
    del ds.PerformedProcedureStepEndTime
    update = parse_set(ds, zone=ZONE)
    error = refused(
        Status.MISSING_ATTRIBUTE,
        check_update,
        current="IN PROGRESS",
        update=update,
        started_at=START,
        ended_at=None,
    )
    assert error.tags == (tag_for_keyword("PerformedProcedureStepEndTime"),)


def test_an_n_set_ending_before_the_start_is_refused() -> None:
    update = parse_set(n_set_completed(end_time="1000"), zone=ZONE)
    refused(
        Status.INVALID_ATTRIBUTE_VALUE,
        check_update,
        current="IN PROGRESS",
        update=update,
        started_at=START,
        ended_at=None,
    )


# --- robustness -------------------------------------------------------------------------------

KEYWORDS = [
    "PerformedProcedureStepStatus",
    "PerformedProcedureStepStartDate",
    "PerformedProcedureStepStartTime",
    "PerformedProcedureStepEndDate",
    "PerformedProcedureStepEndTime",
    "PerformedProcedureStepID",
    "PerformedStationAETitle",
    "Modality",
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "TimezoneOffsetFromUTC",
]
text_values = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["IN PROGRESS", "COMPLETED", "20240315", "101500", "US", "", "+0100"]),
    st.lists(st.text(max_size=10), max_size=3),
)


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes=st.dictionaries(st.sampled_from(KEYWORDS), st.one_of(st.none(), text_values)),
    drop_sequence=st.booleans(),
)
def test_any_dataset_is_read_or_refused_with_a_status_never_a_crash(
    changes: dict[str, object], drop_sequence: bool
) -> None:
    ds = n_create()
    if drop_sequence:
        del ds.ScheduledStepAttributesSequence
    for keyword, value in changes.items():
        if value is None:
            if keyword in ds:
                delattr(ds, keyword)
        else:
            try:
                setattr(ds, keyword, value)
            except (ValueError, TypeError):
                continue  # pydicom itself refuses to hold it: not something a peer can send
    for parse in (parse_create, parse_set):
        try:
            parsed = parse(ds, zone=ZONE)
        except MppsRefused as error:
            assert error.status in set(Status) - {Status.SUCCESS}
            assert len(error.message) < 120
        else:
            assert parsed is not None


def test_a_fixed_offset_zone_is_accepted_too() -> None:
    step = parse_create(n_create(), zone=timezone(timedelta(hours=2)))
    assert step.started_at.utcoffset() == timedelta(hours=2)
