"""Worklist matching and answers (PS3.4 C.2.2.2, K.6) on plain entries: no database, no network."""

from __future__ import annotations

import datetime as dt
import struct
from io import BytesIO
from typing import Any

import pytest
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pynetdicom.dsutils import decode, encode

from radflow.core.dicom.matching import (
    IDENTIFIER_DOES_NOT_MATCH,
    UNABLE_TO_PROCESS,
    QueryError,
    encode_answer,
    matches,
    parse_query,
    respond,
)
from radflow.core.dicom.worklist import ProcedureCode
from tests.core.dicom.worklist_entries import NEW_YORK, entry, identifier, modality_query, step


def hits(ds: Dataset, *candidates: Any) -> list[bool]:
    query = parse_query(ds)
    return [matches(query, candidate) for candidate in candidates]


def status_of(ds: Dataset) -> int:
    with pytest.raises(QueryError) as raised:
        parse_query(ds)
    return raised.value.status


# --- matching -------------------------------------------------------------------------------


def test_a_single_value_matches_only_that_value() -> None:
    assert hits(identifier(AccessionNumber="RF00000001"), entry()) == [True]
    assert hits(identifier(AccessionNumber="RF00000002"), entry()) == [False]
    assert hits(identifier(PatientID="MRN0001"), entry(), entry(patient_id="MRN00011")) == [
        True,
        False,
    ]


def test_strings_other_than_names_match_case_sensitively() -> None:
    assert hits(identifier(step(Modality="US")), entry()) == [True]
    assert hits(identifier(step(Modality="us")), entry()) == [False]


def test_person_names_match_whatever_their_case_with_wild_cards() -> None:
    jane = entry(patient_name="Doe^Jane")
    for key in ("DOE^JANE", "doe^jane", "Doe*", "d?e^J*", "*JANE", "*", "DOE^JANE^"):
        assert hits(identifier(PatientName=key), jane) == [True], key
    for key in ("DOE", "Doe^Jan", "?oe", "Smith*"):
        assert hits(identifier(PatientName=key), jane) == [False], key


def test_names_in_other_scripts_fold_case_too() -> None:
    greek = entry(patient_name="Παπαδοπούλου^Ελένη")
    cyrillic = entry(patient_name="Иванова^Анна")
    latin = entry(patient_name="Müller^Jürgen")
    assert hits(identifier(PatientName="ΠΑΠΑΔΟΠΟΎΛΟΥ*"), greek) == [True]
    assert hits(identifier(PatientName="иванова^анна"), cyrillic) == [True]
    assert hits(identifier(PatientName="MÜLLER^J*"), latin) == [True]
    assert hits(identifier(PatientName="MULLER*"), latin) == [False]


def test_a_name_key_is_tried_against_each_component_group() -> None:
    yamada = entry(patient_name="Yamada^Tarou=山田^太郎=やまだ^たろう")
    assert hits(identifier(PatientName="山田*"), yamada) == [True]
    assert hits(identifier(PatientName="yamada^tarou"), yamada) == [True]
    assert hits(identifier(PatientName="やまだ^たろう"), yamada) == [True]
    assert hits(identifier(PatientName="Yamada^Tarou=山田^太郎=やまだ^たろう"), yamada) == [True]
    assert hits(identifier(PatientName="=山田^太郎"), yamada) == [False]


def test_a_zero_length_key_or_a_lone_asterisk_is_universal() -> None:
    unassigned = entry(station_ae="", performing_physician="")
    for key in ("", "*", "**"):
        query = identifier(
            step(ScheduledStationAETitle=key, ScheduledPerformingPhysicianName=key),
            PatientName=key,
        )
        assert hits(query, entry(), unassigned) == [True, True], key


def test_a_key_with_a_value_never_matches_a_step_that_has_none() -> None:
    unassigned = entry(station_ae="")
    assert hits(identifier(step(ScheduledStationAETitle="US*")), unassigned) == [False]
    assert hits(identifier(step(ScheduledStationAETitle="?*")), unassigned) == [False]


def test_study_instance_uids_match_one_of_a_list() -> None:
    one, two = entry(study_instance_uid="2.25.1"), entry(study_instance_uid="2.25.2")
    assert hits(identifier(StudyInstanceUID="2.25.2"), one, two) == [False, True]
    assert hits(identifier(StudyInstanceUID=["2.25.9", "2.25.1"]), one, two) == [True, False]


def test_dates_match_a_single_day_or_a_range_with_inclusive_ends() -> None:
    born = entry(birth_date=dt.date(1980, 1, 2))
    for key, expected in (
        ("19800102", True),
        ("19800101", False),
        ("19800102-19800105", True),
        ("19791231-19800102", True),
        ("19800103-", False),
        ("-19800102", True),
        ("19800101-", True),
        ("-19800101", False),
        ("1980.01.02", True),
    ):
        assert hits(identifier(PatientBirthDate=key), born) == [expected], key


def test_the_step_start_date_and_time_match_as_one_combined_range() -> None:
    # PS3.4 C.2.2.2.5.1: Nov 14 22:00 to Nov 16 08:00, not "22:00-08:00 on each day".
    key = step(
        ScheduledProcedureStepStartDate="20261114-20261116",
        ScheduledProcedureStepStartTime="2200-0800",
    )
    late = entry(sps_start=dt.datetime(2026, 11, 14, 23, 0, tzinfo=NEW_YORK))
    midday = entry(sps_start=dt.datetime(2026, 11, 15, 12, 0, tzinfo=NEW_YORK))
    early = entry(sps_start=dt.datetime(2026, 11, 16, 7, 59, tzinfo=NEW_YORK))
    too_early = entry(sps_start=dt.datetime(2026, 11, 14, 21, 59, tzinfo=NEW_YORK))
    too_late = entry(sps_start=dt.datetime(2026, 11, 16, 8, 1, tzinfo=NEW_YORK))
    assert hits(identifier(key), late, midday, early, too_early, too_late) == [
        True,
        True,
        True,
        False,
        False,
    ]


def test_a_time_key_is_as_precise_as_it_is_written() -> None:
    at_0930 = entry()  # 09:30
    for key, expected in (
        ("09", True),
        ("0930", True),
        ("093000", True),
        ("0931", False),
        ("0900-0930", True),
        ("0931-", False),
        ("-09", True),
        ("10-", False),
        ("09:30", True),
    ):
        query = identifier(
            step(ScheduledProcedureStepStartDate="20261115", ScheduledProcedureStepStartTime=key)
        )
        assert hits(query, at_0930) == [expected], key


def test_a_time_key_without_a_date_matches_that_time_on_any_day() -> None:
    query = identifier(step(ScheduledProcedureStepStartTime="0800-1000"))
    other_day = entry(sps_start=dt.datetime(2027, 3, 1, 9, 0, tzinfo=NEW_YORK))
    evening = entry(sps_start=dt.datetime(2026, 11, 15, 19, 0, tzinfo=NEW_YORK))
    assert hits(query, entry(), other_day, evening) == [True, True, False]


def test_a_date_time_key_with_an_offset_compares_instants() -> None:
    # 09:30 in New York (UTC-5 in November) is 14:30 UTC.
    for key, expected in (
        ("20261115143000+0000-20261115143000+0000", True),
        ("20261115093000-20261115093000", True),
        ("202611151431+0000-", False),
        ("2026-", True),
        ("202611-202611", True),
        ("-20261115", True),
        ("20261116-", False),
    ):
        query = identifier(step(ScheduledProcedureStepStartDateTime=key))
        assert hits(query, entry()) == [expected], key


def test_keys_inside_the_step_sequence_all_have_to_match() -> None:
    query = identifier(step(Modality="US", ScheduledStationAETitle="US_ROOM_A"))
    assert hits(query, entry(), entry(modality="CT"), entry(station_ae="US_ROOM_B")) == [
        True,
        False,
        False,
    ]


def test_a_code_sequence_key_matches_the_procedure_code() -> None:
    query = identifier(RequestedProcedureCodeSequence=[step(CodeValue="767*", CodeMeaning="")])
    other = entry(procedure_code=ProcedureCode("76856", "C4", "US pelvis"))
    assert hits(query, entry(), other, entry(procedure_code=None)) == [True, False, False]


def test_status_pregnancy_and_priority_match_as_written() -> None:
    arrived = entry(sps_status="ARRIVED", pregnancy_status=3)
    query = identifier(step(ScheduledProcedureStepStatus="ARRIVED"))
    assert hits(query, entry(), arrived) == [False, True]
    assert hits(identifier(PregnancyStatus=3), entry(), arrived) == [False, True]
    assert hits(identifier(RequestedProcedurePriority="ROUTINE"), entry()) == [True]


def test_keys_radflow_holds_no_value_for_are_return_keys_only() -> None:
    query = identifier(AdmissionID="A123", PatientWeight="70")
    assert hits(query, entry()) == [True]


# --- what does not fit ----------------------------------------------------------------------


def test_an_identifier_that_does_not_fit_the_model_is_refused_with_a900() -> None:
    for bad in (
        identifier([step(Modality="US"), step(Modality="CT")]),
        identifier(PatientID=["MRN1", "MRN2"]),
        identifier(PatientBirthDate="1980-01-02"),
        identifier(PatientBirthDate="19801302"),
        identifier(PatientBirthDate="19800105-19800101"),
        identifier(PatientBirthDate="19800101-19800102-19800103"),
        identifier(step(ScheduledProcedureStepStartTime="2561")),
        identifier(step(ScheduledProcedureStepStartDateTime="2026111509+2500")),
        identifier(StudyInstanceUID="2.25.*"),
        identifier(PregnancyStatus=[1, 2]),
        identifier(RequestedProcedureCodeSequence=[step(CodeValue="1"), step(CodeValue="2")]),
        Dataset(),
    ):
        assert status_of(bad) == IDENTIFIER_DOES_NOT_MATCH, bad


def test_a_sequence_key_sent_as_a_string_is_refused() -> None:
    ds = Dataset()
    ds.add(DataElement(0x00400100, "LO", "US"))
    assert status_of(ds) == IDENTIFIER_DOES_NOT_MATCH


def test_an_identifier_that_cannot_be_read_is_refused_with_c000() -> None:
    # Pregnancy Status (US) three bytes long: not a number pydicom can read.
    broken = struct.pack("<HHI", 0x0010, 0x21C0, 3) + b"abc\x00"
    ds = decode(BytesIO(broken), True, True, False)
    assert status_of(ds) == UNABLE_TO_PROCESS


def test_error_messages_name_the_key_never_its_value() -> None:
    with pytest.raises(QueryError) as raised:
        parse_query(identifier(PatientBirthDate="Secret^Name"))
    assert "PatientBirthDate" in raised.value.message
    assert "Secret" not in raised.value.message


# --- answers --------------------------------------------------------------------------------


def keywords(ds: Dataset) -> list[str]:
    return [elem.keyword for elem in ds]


def test_the_answer_holds_every_requested_key_and_nothing_else() -> None:
    query = modality_query()
    query.AdmissionID = ""  # a key RadFlow holds no value for
    query.ReferencedStudySequence = []
    answer = respond(query, entry())
    assert keywords(answer) == keywords(query)
    assert keywords(answer.ScheduledProcedureStepSequence[0]) == keywords(
        query.ScheduledProcedureStepSequence[0]
    )
    assert answer.AdmissionID == ""
    assert len(answer.ReferencedStudySequence) == 0
    assert answer.PatientName == "Doe^Jane"
    assert answer.PatientBirthDate == "19800102"
    assert answer.StudyInstanceUID == "2.25.1001"
    item = answer.ScheduledProcedureStepSequence[0]
    assert item.ScheduledProcedureStepStartDate == "20261115"
    assert item.ScheduledProcedureStepStartTime == "093000"
    assert item.ScheduledStationAETitle == "US_ROOM_A"
    assert item.ScheduledProcedureStepLocation == "US-A"


def test_type_1_keys_are_never_empty() -> None:
    unknown = entry(station_ae="", modality="", sps_description="", patient_name="")
    answer = respond(modality_query(), unknown)
    item = answer.ScheduledProcedureStepSequence[0]
    assert item.ScheduledStationAETitle == "UNASSIGNED"
    assert item.Modality == "OT"
    assert item.ScheduledProcedureStepDescription == "UNSPECIFIED PROCEDURE"
    assert answer.PatientName == "UNKNOWN"
    assert item.ScheduledPerformingPhysicianName == "Lopez^Maria"


def test_an_empty_step_sequence_asks_for_the_whole_step() -> None:
    for sequence in ([], [Dataset()]):
        query = identifier(PatientID="")
        query.ScheduledProcedureStepSequence = sequence
        item = respond(query, entry()).ScheduledProcedureStepSequence[0]
        assert item.ScheduledProcedureStepID == "RF00000001"
        assert item.ScheduledProcedureStepStatus == "SCHEDULED"
        assert item.ScheduledProtocolCodeSequence[0].CodeValue == "76700"
        assert "ScheduledStationName" in item


def test_a_code_sequence_comes_back_with_the_keys_its_item_asked_for() -> None:
    query = identifier(RequestedProcedureCodeSequence=[step(CodeValue="", CodeMeaning="")])
    code = respond(query, entry()).RequestedProcedureCodeSequence[0]
    assert keywords(code) == ["CodeValue", "CodeMeaning"]
    assert (code.CodeValue, code.CodeMeaning) == ("76700", "US abdomen complete")
    whole = respond(identifier(RequestedProcedureCodeSequence=[]), entry())
    assert whole.RequestedProcedureCodeSequence[0].CodingSchemeDesignator == "C4"
    none = respond(identifier(RequestedProcedureCodeSequence=[]), entry(procedure_code=None))
    assert len(none.RequestedProcedureCodeSequence) == 0


def test_values_are_cut_to_what_their_vr_allows() -> None:
    long = entry(allergies="Latex, " * 20, location="Ultrasound room on the second floor")
    answer = respond(identifier(Allergies="", ScheduledProcedureStepSequence=[]), long)
    assert len(answer.Allergies) <= 64
    assert len(answer.ScheduledProcedureStepSequence[0].ScheduledProcedureStepLocation) <= 16
    slashed = respond(identifier(Allergies=""), entry(allergies="Latex\\nuts"))
    assert slashed.Allergies == "Latex/nuts"


def test_the_answer_has_no_character_set_when_its_values_are_ascii_and_none_was_asked() -> None:
    answer = respond(identifier(PatientName=""), entry())
    assert "SpecificCharacterSet" not in answer


@pytest.mark.parametrize(
    ("requested", "name", "answered"),
    [
        (None, "Müller^Jürgen", "ISO_IR 100"),
        ("ISO_IR 100", "Müller^Jürgen", "ISO_IR 100"),
        ("ISO_IR 100", "Doe^Jane", "ISO_IR 100"),
        ("ISO_IR 100", "山田^太郎", "ISO_IR 192"),
        (None, "Παπαδοπούλου^Ελένη", "ISO_IR 192"),
        ("ISO_IR 192", "Müller^Jürgen", "ISO_IR 192"),
        ("ISO_IR 144", "Иванова^Анна", "ISO_IR 144"),
        ("ISO_IR 144", "山田^太郎", "ISO_IR 192"),
    ],
)
def test_the_answer_goes_out_in_a_character_set_that_can_carry_its_values(
    requested: str | None, name: str, answered: str
) -> None:
    query = identifier(PatientName="")
    if requested:
        query.SpecificCharacterSet = requested
    answer = respond(query, entry(patient_name=name))
    assert answer.SpecificCharacterSet == answered
    # Encoded and read back, the name is intact.
    for implicit in (True, False):
        data = encode(answer, implicit, True)
        assert data == encode_answer(
            parse_query(query), entry(patient_name=name), implicit_vr=implicit
        )
        assert str(decode(BytesIO(data), implicit, True, False).PatientName) == name


def test_encoded_answers_are_what_pydicom_writes() -> None:
    query = modality_query()
    query.PregnancyStatus = None
    query.RequestedProcedureCodeSequence = Sequence([Dataset()])
    query.AdmissionID = ""
    parsed = parse_query(query)
    for candidate in (entry(), entry(pregnancy_status=None, procedure_code=None, station_ae="")):
        for implicit in (True, False):
            expected = encode(respond(query, candidate), implicit, True)
            assert encode_answer(parsed, candidate, implicit_vr=implicit) == expected
