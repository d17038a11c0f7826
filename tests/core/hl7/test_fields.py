"""The console's reading of HL7 messages: names from the standard, and nothing it cannot show."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radflow.core.errors import ValidationFailed
from radflow.core.hl7.fields import (
    SITE_DEFINED_FIELD,
    SITE_DEFINED_SEGMENT,
    decode,
    field_name,
    raw_from_edited,
    segment_name,
    split_message,
    text_for_editing,
)

ORM = (
    "MSH|^~\\&|EPIC|GENHOSP|RADFLOW|RAD|20260301101500||ORM^O01^ORM_O01|MSG0001|P|2.3.1"
    "|||AL|NE||8859/1\r"
    "PID|1||MRN004417^^^GENHOSP^MR~123-45-6789^^^SSA^SS||Müller^Anna^Maria||19870423|F\r"
    "ORC|NW|PL123|||||1^once^^^^S\r"
    "OBR|1|PL123||76700^US abdomen complete^CPT|||||||||RUQ pain \\T\\ nausea\\.br\\3 weeks\r"
    "ZDS|1.2.840.113619.2.55^RADFLOW^Application^DICOM\r"
)


@pytest.mark.parametrize(
    ("segment", "number", "name"),
    [
        ("MSH", 9, "Message Type"),
        ("MSH", 10, "Message Control ID"),
        ("MSH", 18, "Character Set"),
        ("EVN", 1, "Event Type Code"),
        ("PID", 3, "Patient Identifier List"),
        ("PID", 5, "Patient Name"),
        ("PID", 7, "Date/Time of Birth"),
        ("PV1", 19, "Visit Number"),
        ("MRG", 1, "Prior Patient Identifier List"),
        ("ORC", 1, "Order Control"),
        ("ORC", 5, "Order Status"),
        ("ORC", 7, "Quantity/Timing"),
        ("OBR", 4, "Universal Service Identifier"),
        ("OBR", 13, "Relevant Clinical Information"),
        ("OBR", 16, "Ordering Provider"),
        ("OBR", 31, "Reason for Study"),
        ("OBR", 44, "Procedure Code"),
        ("TQ1", 9, "Priority"),
        ("IPC", 3, "Study Instance UID"),
        ("IPC", 9, "Scheduled AE Title"),
        ("OBX", 5, "Observation Value"),
        ("IN1", 36, "Policy Number"),
        ("SCH", 25, "Filler Status Code"),
        ("AIG", 3, "Resource ID"),
        ("AIL", 3, "Location Resource ID"),
        ("AIP", 3, "Personnel Resource ID"),
        ("MSA", 1, "Acknowledgment Code"),
        ("ERR", 3, "HL7 Error Code"),
    ],
)
def test_fields_carry_their_names_from_the_standard(segment: str, number: int, name: str) -> None:
    assert field_name(segment, number) == name


def test_segments_beyond_the_tables_are_still_labelled() -> None:
    assert segment_name("PID") == "Patient Identification"
    assert segment_name("ZDS") == SITE_DEFINED_SEGMENT
    assert field_name("ZDS", 1) == SITE_DEFINED_FIELD
    assert field_name("PID", 40) == "Field 40"
    assert segment_name("ROL") == "Segment not described here"


def test_a_message_is_read_by_segment_field_repeat_and_component() -> None:
    message = split_message(ORM.encode("latin-1"))

    assert message.problems == ()
    assert [s.segment_id for s in message.segments] == ["MSH", "PID", "ORC", "OBR", "ZDS"]
    assert message.value("MSH", 9) == "ORM^O01^ORM_O01"
    assert message.value("MSH", 10) == "MSG0001"
    pid = message.segment("PID")
    assert pid is not None
    name = pid.fields[4]
    assert (name.number, name.name, name.value) == (5, "Patient Name", "Müller^Anna^Maria")
    assert [(c.name, c.value) for c in name.repeats[0].components] == [
        ("Family Name", "Müller"),
        ("Given Name", "Anna"),
        ("Second and Further Given Names or Initials Thereof", "Maria"),
    ]
    identifiers = pid.fields[2]
    assert identifiers.has_parts
    assert [(r.components[0].value, r.components[3].value) for r in identifiers.repeats] == [
        ("MRN004417", "GENHOSP"),
        ("123-45-6789", "SSA"),
    ]
    assert [f.number for f in pid.present_fields] == [1, 3, 5, 7, 8]


def test_the_priority_is_the_sixth_component_of_orc_7() -> None:
    orc = split_message(ORM.encode("latin-1")).segment("ORC")
    assert orc is not None
    timing = orc.fields[6].repeats[0].components
    assert (timing[5].name, timing[5].value) == ("Priority", "S")


def test_escape_sequences_are_shown_as_the_text_they_stand_for() -> None:
    message = split_message(ORM.encode("latin-1"))
    assert message.value("OBR", 13) == "RUQ pain & nausea\n3 weeks"
    assert message.value("MSH", 2) == "^~\\&"


def test_the_separators_are_the_ones_msh_declares() -> None:
    raw = b"MSH#$~\\&#SENDER#FAC###20260301##ADT$A08#C1#P#2.5.1\rPID###42$$$HOSP##DOE$JANE\r"
    message = split_message(raw)
    pid = message.segment("PID")
    assert pid is not None
    assert message.value("MSH", 9) == "ADT$A08"
    assert [c.value for c in pid.fields[4].repeats[0].components] == ["DOE", "JANE"]


def test_obx_5_is_read_as_the_type_obx_2_names() -> None:
    raw = b"MSH|^~\\&|A|B|||||ORU^R01|1|P|2.5.1\rOBX|1|CE|8867-4^Heart rate^LN||76536^Neck^CPT\r"
    obx = split_message(raw).segment("OBX")
    assert obx is not None
    assert [c.name for c in obx.fields[4].repeats[0].components] == [
        "Identifier",
        "Text",
        "Name of Coding System",
    ]


def test_subcomponents_are_listed_under_their_component() -> None:
    raw = b"MSH|^~\\&|A|B|||||ORM^O01|1|P|2.5.1\rORC|NW|PL1^EPIC&1.2.3&ISO\r"
    orc = split_message(raw).segment("ORC")
    assert orc is not None
    namespace = orc.fields[1].repeats[0].components[1]
    assert namespace.name == "Namespace ID"
    assert namespace.subcomponents == ("EPIC", "1.2.3", "ISO")


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"PID|||42\r", "does not begin with MSH"),
        (b"MSH|^~\rPID|||42\r", "MSH-2 '^~' is short"),
        (b"MSH|^~\\&|A|B|||||ADT^A08|1|P|2.5.1\nPID|||42\n", "separated by LF"),
        (b"", "empty"),
    ],
)
def test_a_malformed_message_is_shown_with_what_is_wrong(raw: bytes, problem: str) -> None:
    message = split_message(raw)
    assert any(problem in p for p in message.problems), message.problems
    if raw:
        assert message.value("PID", 3) == "42"


def test_a_declared_character_set_is_used() -> None:
    assert decode("MSH|^~\\&|ÅÄÖ".encode("latin-1"), "8859/1").text == "MSH|^~\\&|ÅÄÖ"
    assert decode("MSH|^~\\&|東京".encode(), "UNICODE UTF-8").text == "MSH|^~\\&|東京"


def test_msh_18_is_read_from_the_bytes_when_the_caller_does_not_know_it() -> None:
    assert split_message(ORM.encode("latin-1")).codec == "latin-1"


def test_an_undeclared_non_ascii_message_is_read_and_flagged() -> None:
    utf8 = decode("MSH|^~\\&|Zoë".encode())
    assert (utf8.text, utf8.codec) == ("MSH|^~\\&|Zoë", "utf-8")
    assert "MSH-18 is empty" in utf8.problem
    latin = decode("MSH|^~\\&|Zoë".encode("latin-1"))
    assert (latin.text, latin.codec) == ("MSH|^~\\&|Zoë", "latin-1")


def test_bytes_the_declared_set_cannot_hold_are_replaced_not_fatal() -> None:
    decoded = decode(b"MSH|^~\\&|\xff\xfe", "UNICODE UTF-8")
    assert "\ufffd" in decoded.text
    assert "not valid" in decoded.problem


def test_an_unknown_character_set_is_said() -> None:
    assert "not a character set RadFlow knows" in decode(b"MSH|^~\\&|A", "KLINGON").problem


def test_an_edited_message_goes_back_with_cr_between_segments_in_its_own_charset() -> None:
    raw = ORM.encode("latin-1")
    text, codec = text_for_editing(raw)
    assert text.count("\n") == 4 and "\r" not in text
    assert raw_from_edited(text, codec) == raw
    edited = raw_from_edited(text.replace("Müller", "Mueller-Ö") + "\n\n", codec)
    assert edited.decode("latin-1").split("\r")[1].startswith("PID|1||MRN004417")
    assert "Mueller-Ö".encode("latin-1") in edited
    assert edited.endswith(b"ZDS|1.2.840.113619.2.55^RADFLOW^Application^DICOM\r")
    assert raw_from_edited(text.replace("\n", "\r\n"), codec) == raw


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("  \n ", "The message is empty."),
        ("PID|||42", "The first segment must be MSH."),
        ("MSH|^~\\&|A|B|||||ADT^A08|1|P|2.5.1||||||8859/1\nPID|||€", "cannot be written"),
    ],
)
def test_an_edit_that_cannot_be_sent_is_refused(text: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        raw_from_edited(text, "latin-1")
    assert any(message in m for m in refused.value.errors["raw"])


@given(st.binary(max_size=400))
def test_any_bytes_are_read_without_an_exception(raw: bytes) -> None:
    message = split_message(raw)
    for segment in message.segments:
        for f in segment.fields:
            assert f.name


@given(st.text(st.sampled_from("MSH|^~\\&\r\nPIDZ0123"), max_size=200))
def test_any_hl7_looking_text_is_read_without_an_exception(text: str) -> None:
    split_message(text.encode())


def test_an_edited_msh_18_decides_the_bytes() -> None:
    text = "MSH|^~\\&|A|B|||||ADT^A08|1|P|2.5.1||||||UNICODE UTF-8\nPID|||42||Zoë"
    assert raw_from_edited(text, "ascii").endswith("Zoë\r".encode())
