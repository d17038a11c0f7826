"""The outbound HL7 messages field by field, as a receiving interface engine reads them.

Every message is read back with python-hl7 (an independent parser), so a field in the wrong
place or a delimiter left unescaped shows up as a wrong value at the receiver's field number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

import hl7  # type: ignore[import-untyped]
import pytest
from hypothesis import given
from hypothesis import strategies as st

from radflow.core.hl7.outbound import (
    Coded,
    ExamData,
    Header,
    OrderStatus,
    PatientData,
    Person,
    SiuEvent,
    build_order_status,
    build_siu,
    escape,
    normalise_segments,
    read_ack,
    read_msh,
    unescape,
)

NY = ZoneInfo("America/New_York")
START = dt.datetime(2026, 3, 9, 9, 0, tzinfo=NY)  # the Monday after the spring DST change
CREATED = dt.datetime(2026, 3, 2, 7, 15, 30, tzinfo=NY)  # the week before, still EST

PATIENT = PatientData(
    mrn="MRN100234",
    mrn_authority="RIVERSIDE",
    family_name="O'Neil|Smith",
    given_name="Zoë",
    middle_name="A&B",
    birth_date=dt.date(1984, 2, 14),
    sex="F",
)
EXAM = ExamData(
    accession_number="RF00000042",
    study_instance_uid="2.25.1234567890",
    procedure=Coded("76700", "US abdomen complete", "CPT", "us-abdomen-complete", "Abdomen"),
    modality="US",
    placer_order_number="EPIC-778812",
    priority="S",
    patient_class="O",
    site_code="RIV",
    room_code="RIV-US1",
    room_name="Ultrasound 1",
    start=START,
    end=START + dt.timedelta(minutes=30),
    technologist=Person("E1001", "Lopez", "Maria"),
    radiologist=Person("E2002", "Chen", "Wei"),
    ordering_provider=Person("1234567893", "Dr. Amelia Hart", "", "NPI"),
    device=Coded("SN-778", "GE Logiq E10", "RADFLOW"),
    station_ae="US_ROOM_1",
)


def header(version: str, control_id: str = "RF0000000123") -> Header:
    return Header(
        control_id=control_id,
        created_at=CREATED,
        version=version,
        sending_application="RADFLOW",
        sending_facility="RIV",
        receiving_application="EPIC",
        receiving_facility="HOSP",
    )


def parsed(raw: bytes) -> hl7.Message:
    assert raw.endswith(b"\r")
    assert b"\n" not in raw
    return hl7.parse(raw.decode("utf-8"))


def value(message: hl7.Message, path: str) -> str:
    """A whole field (``PID.F5``) as the receiver reads it, HL7 escapes undone; empty if absent."""
    segment_id, number = path.split(".F")
    segment = message.segment(segment_id)
    return unescape(str(segment[int(number)])) if int(number) < len(segment) else ""


def segment_ids(message: hl7.Message) -> list[str]:
    return [str(segment[0]) for segment in message]


# --- escaping ---------------------------------------------------------------------------------


def test_every_delimiter_and_line_break_is_escaped_and_comes_back() -> None:
    text = "a|b^c&d~e\\f\rg\nh"
    assert escape(text) == "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\X0D\\g\\X0A\\h"
    assert unescape(escape(text)) == text


@given(st.text())
def test_escaping_round_trips_any_text_and_leaves_no_delimiter(text: str) -> None:
    escaped = escape(text)
    assert not set(escaped) & set("|^&~\r\n")
    assert unescape(escaped) == text


# --- SIU ----------------------------------------------------------------------------------------


def test_s12_in_2_5_1_carries_the_appointment_in_sch_tq1_and_the_resources() -> None:
    raw = build_siu(header=header("2.5.1"), event=SiuEvent.BOOKED, patient=PATIENT, exam=EXAM)
    message = parsed(raw)
    assert segment_ids(message) == [
        "MSH", "SCH", "TQ1", "PID", "PV1", "RGS", "AIS", "AIG", "AIG", "AIL", "AIP",
    ]  # fmt: skip
    assert raw.startswith(b"MSH|^~\\&|RADFLOW|RIV|EPIC|HOSP|20260302071530-0500||SIU^S12^SIU_S12|")
    assert value(message, "MSH.F10") == "RF0000000123"
    assert (value(message, "MSH.F12"), value(message, "MSH.F18")) == ("2.5.1", "UNICODE UTF-8")
    # The appointment: placer's order, RadFlow's accession, why, how long, and its status.
    assert value(message, "SCH.F1") == "EPIC-778812"
    assert value(message, "SCH.F2") == "RF00000042^RADFLOW"
    assert value(message, "SCH.F6") == "S12^Appointment booked^HL70003"
    assert (value(message, "SCH.F9"), value(message, "SCH.F10")) == ("30", "min")
    assert value(message, "SCH.F11") == ""  # 2.5.1 times are in TQ1
    assert value(message, "SCH.F25") == "Booked^^HL70278"
    assert (value(message, "SCH.F26"), value(message, "SCH.F27")) == (
        "EPIC-778812",
        "RF00000042^RADFLOW",
    )
    # The time after the DST change carries its own offset (EDT), the creation time EST.
    assert value(message, "TQ1.F6") == "30^min"
    assert value(message, "TQ1.F7") == "20260309090000-0400"
    assert value(message, "TQ1.F8") == "20260309093000-0400"
    assert value(message, "TQ1.F9") == "S"
    # The procedure, the sonographer and the scanner, the room, the radiologist.
    assert value(message, "AIS.F3") == (
        "76700^US abdomen complete^CPT^us-abdomen-complete^Abdomen^RADFLOW"
    )
    assert value(message, "AIS.F4") == "20260309090000-0400"
    assert (value(message, "AIS.F7"), value(message, "AIS.F10")) == ("30", "Booked")
    tech, device = message.segments("AIG")
    assert unescape(str(tech[3])) == "E1001^Lopez, Maria^RADFLOW"
    assert unescape(str(tech[4])) == "TECH^Technologist^HL70182"
    assert unescape(str(device[3])) == "SN-778^GE Logiq E10^RADFLOW"
    assert unescape(str(device[14])) == "Booked"
    assert value(message, "AIL.F3") == "US^RIV-US1^^RIV^^^^^Ultrasound 1"
    assert value(message, "AIL.F6") == "20260309090000-0400"
    assert value(message, "AIP.F3") == "E2002^Chen^Wei^^^^^^RADFLOW"
    assert value(message, "AIP.F12") == "Booked"


def test_the_patient_is_identified_by_mrn_and_authority_and_names_are_escaped() -> None:
    raw = build_siu(header=header("2.5.1"), event=SiuEvent.BOOKED, patient=PATIENT, exam=EXAM)
    message = parsed(raw)
    assert value(message, "PID.F3") == "MRN100234^^^RIVERSIDE^MR"
    # A "|" or "&" in a name never opens a new field or subcomponent at the receiver.
    assert b"|O'Neil\\F\\Smith^Zo\xc3\xab^A\\T\\B|" in raw
    assert str(message["PID.F5.R1.C1"]) == "O'Neil|Smith"
    assert str(message["PID.F5.R1.C3"]) == "A&B"
    assert str(message["PID.F5.R1.C2"]) == "Zoë"
    assert len(message.segment("PID")) == 9  # no field was split
    assert "Zoë".encode() in raw  # UTF-8, as MSH-18 says
    assert (value(message, "PID.F7"), value(message, "PID.F8")) == ("19840214", "F")
    assert value(message, "PV1.F2") == "O"
    assert value(message, "PV1.F3") == "US^RIV-US1^^RIV^^^^^Ultrasound 1"
    assert value(message, "PV1.F8") == "1234567893^Dr. Amelia Hart^^^^^^^NPI"


def test_s12_in_2_3_1_has_no_tq1_and_puts_the_times_in_sch_11() -> None:
    raw = build_siu(header=header("2.3.1"), event=SiuEvent.BOOKED, patient=PATIENT, exam=EXAM)
    message = parsed(raw)
    assert "TQ1" not in segment_ids(message)
    assert value(message, "MSH.F12") == "2.3.1"
    assert value(message, "SCH.F11") == "^^M30^20260309090000-0400^20260309093000-0400^S"
    assert len(message.segment("SCH")) == 26  # SCH-26/27 are 2.5 fields


@pytest.mark.parametrize(
    ("event", "status"),
    [
        (SiuEvent.RESCHEDULED, "Booked"),
        (SiuEvent.MODIFIED, "Booked"),
        (SiuEvent.CANCELLED, "Cancelled"),
        (SiuEvent.NO_SHOW, "Noshow"),
    ],
)
def test_each_event_names_itself_and_its_filler_status(event: SiuEvent, status: str) -> None:
    reason = Coded("patient_request", "Patient asked to cancel", "RADFLOW")
    raw = build_siu(
        header=header("2.5.1"),
        event=event,
        patient=PATIENT,
        exam=EXAM,
        reason=reason,
        entered_by=Person("scheduler"),
    )
    message = parsed(raw)
    assert value(message, "MSH.F9") == f"SIU^{event.value}^SIU_S12"
    assert value(message, "SCH.F6") == "patient_request^Patient asked to cancel^RADFLOW"
    assert value(message, "SCH.F20") == "scheduler^^^^^^^^RADFLOW"
    assert value(message, "SCH.F25") == f"{status}^^HL70278"
    assert {value(message, "AIS.F10"), value(message, "AIL.F12")} == {status}


def test_an_exam_without_staff_device_or_room_sends_only_the_service() -> None:
    bare = ExamData(
        accession_number="RF00000043",
        study_instance_uid="2.25.99",
        procedure=Coded("us-thyroid", "Thyroid", "RADFLOW"),
        modality="US",
        start=START,
        end=START + dt.timedelta(minutes=20),
    )
    message = parsed(
        build_siu(header=header("2.5.1"), event=SiuEvent.BOOKED, patient=PATIENT, exam=bare)
    )
    assert segment_ids(message) == ["MSH", "SCH", "TQ1", "PID", "PV1", "RGS", "AIS"]
    assert value(message, "SCH.F1") == ""


# --- order status -------------------------------------------------------------------------------


def test_omi_o23_status_in_2_5_1_carries_orc_5_tq1_obr_and_ipc() -> None:
    ended = dt.datetime(2026, 3, 9, 9, 24, tzinfo=NY)
    begun = replace(EXAM, performed_start=dt.datetime(2026, 3, 9, 9, 3, tzinfo=NY))
    raw = build_order_status(
        header=header("2.5.1"),
        status=OrderStatus.COMPLETED,
        patient=PATIENT,
        exam=begun,
        event_at=ended,
    )
    message = parsed(raw)
    assert segment_ids(message) == ["MSH", "PID", "PV1", "ORC", "TQ1", "OBR", "IPC"]
    assert value(message, "MSH.F9") == "OMI^O23^OMI_O23"
    assert value(message, "ORC.F1") == "SC"
    assert value(message, "ORC.F2") == "EPIC-778812"
    assert value(message, "ORC.F3") == "RF00000042^RADFLOW"
    assert value(message, "ORC.F5") == "CM"
    assert value(message, "ORC.F9") == "20260309092400-0400"
    assert value(message, "ORC.F12") == "1234567893^Dr. Amelia Hart^^^^^^^NPI"
    assert value(message, "OBR.F4").startswith("76700^US abdomen complete^CPT")
    assert (value(message, "OBR.F7"), value(message, "OBR.F8")) == (
        "20260309090300-0400",  # when it began, not when it was booked
        "20260309092400-0400",
    )
    assert value(message, "OBR.F24") == "US"
    assert value(message, "IPC.F1") == "RF00000042^RADFLOW"
    assert value(message, "IPC.F2") == "RF00000042^RADFLOW"  # requested procedure ID
    assert value(message, "IPC.F3") == "2.25.1234567890^RADFLOW"
    assert value(message, "IPC.F4") == "RF00000042^RADFLOW"  # SPS ID
    assert value(message, "IPC.F5") == "US^^DCM"
    assert value(message, "IPC.F9") == "US_ROOM_1"


def test_orm_o01_status_in_2_3_1_uses_the_ihe_obr_fields_and_zds() -> None:
    raw = build_order_status(
        header=header("2.3.1"),
        status=OrderStatus.CANCELLED,
        patient=PATIENT,
        exam=EXAM,
        event_at=START - dt.timedelta(days=1),
        reason=Coded("patient_request", "Patient request", "RADFLOW"),
    )
    message = parsed(raw)
    assert segment_ids(message) == ["MSH", "PID", "PV1", "ORC", "OBR", "ZDS"]
    assert value(message, "MSH.F9") == "ORM^O01^ORM_O01"
    assert value(message, "ORC.F5") == "CA"
    assert value(message, "ORC.F7") == "^^M30^20260309090000-0400^20260309093000-0400^S"
    assert value(message, "ORC.F16") == "patient_request^Patient request^RADFLOW"
    assert value(message, "OBR.F7") == ""  # never performed
    assert value(message, "OBR.F18") == "RF00000042"
    assert value(message, "OBR.F19") == "RF00000042"
    assert value(message, "OBR.F20") == "RF00000042"
    assert value(message, "OBR.F24") == "US"
    assert value(message, "ZDS.F1") == "2.25.1234567890^RADFLOW^Application^DICOM"


@pytest.mark.parametrize("status", list(OrderStatus))
def test_every_order_status_goes_in_orc_5(status: OrderStatus) -> None:
    for version in ("2.3.1", "2.5.1"):
        raw = build_order_status(
            header=header(version), status=status, patient=PATIENT, exam=EXAM, event_at=START
        )
        assert value(parsed(raw), "ORC.F5") == status.value


def test_a_naive_time_or_an_unknown_version_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        build_siu(
            header=Header(control_id="RF1", created_at=dt.datetime(2026, 3, 2, 7)),  # noqa: DTZ001
            event=SiuEvent.BOOKED,
            patient=PATIENT,
            exam=EXAM,
        )
    with pytest.raises(ValueError, match=r"2\.4"):
        build_siu(header=header("2.4"), event=SiuEvent.BOOKED, patient=PATIENT, exam=EXAM)


# --- reading replies and edits ----------------------------------------------------------------


def test_read_ack_reads_msa_and_the_error_text_of_either_version() -> None:
    aa = read_ack(b"MSH|^~\\&|EPIC|HOSP|RADFLOW|RIV|20260302||ACK^S12|A1|P|2.5.1\rMSA|AA|RF7\r")
    assert (aa.code, aa.control_id, aa.text, aa.accepted) == ("AA", "RF7", "", True)
    ae = read_ack(
        b"MSH|^~\\&|EPIC|HOSP|||20260302||ACK|A2|P|2.5.1\rMSA|AE|RF8\r"
        b"ERR||PID^1^3|204^Unknown key identifier^HL70357|E||||Unknown MRN \\F\\ 42\r"
    )
    assert (ae.code, ae.text, ae.accepted) == ("AE", "Unknown MRN | 42", False)
    old = read_ack(
        b"MSH|^~\\&|EPIC|HOSP|||20260302||ACK|A3|P|2.3.1\rMSA|AR|RF9\r"
        b"ERR|PID^1^3^204&Unknown key identifier&HL70357\r"
    )
    assert (old.code, old.text) == ("AR", "Unknown key identifier")
    with_text = read_ack(b"MSH|^~\\&|X|||||||ACK|A4|P|2.5.1\nMSA|CA|RF10|Queued\n")
    assert (with_text.code, with_text.text, with_text.accepted) == ("CA", "Queued", True)
    for junk in (b"", b"hello", b"MSH|^~\\&|X|||||||ACK|A5|P|2.5.1\r"):
        with pytest.raises(ValueError):
            read_ack(junk)


def test_an_edited_message_is_normalised_to_cr_segments_and_its_header_read() -> None:
    edited = "MSH|^~\\&|RADFLOW|RIV|EPIC||20260302||SIU^S12^SIU_S12|RF0000000123|P|2.5.1\r\n\n"
    edited += "PID|1||MRN1^^^RIV^MR\n  \n"
    raw = normalise_segments(edited)
    assert raw == (
        b"MSH|^~\\&|RADFLOW|RIV|EPIC||20260302||SIU^S12^SIU_S12|RF0000000123|P|2.5.1\r"
        b"PID|1||MRN1^^^RIV^MR\r"
    )
    msh = read_msh(raw)
    assert (msh.message_type, msh.control_id, msh.version) == ("SIU^S12", "RF0000000123", "2.5.1")
    with pytest.raises(ValueError, match="MSH"):
        read_msh(b"PID|1||MRN1\r")
