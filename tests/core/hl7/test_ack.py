"""ACKs as the sender reads them: its version, separators and character set; ERR per version."""

from __future__ import annotations

from datetime import UTC, datetime

import hl7  # type: ignore[import-untyped]

from radflow.core.hl7.ack import ack_code_of, build_ack
from radflow.core.hl7.parse import AckCode, ErrorCode, Location, peek, rejected
from tests.core.hl7.messages import load

AT = datetime(2026, 12, 2, 14, 30, 15, tzinfo=UTC)


def segments(ack: bytes, encoding: str = "ascii") -> list[list[str]]:
    return [line.split("|") for line in ack.decode(encoding).split("\r")]


def test_an_accept_answers_the_senders_msh_in_its_version() -> None:
    head = peek(load("orm_o01-nw-epic-v231.hl7"))

    ack = build_ack(to=head, code=AckCode.ACCEPT, control_id="A1", at=AT)

    msh, msa = segments(ack)
    assert msh[:12] == [
        "MSH",
        "^~\\&",
        "RADFLOW",
        "RIVERBEND",
        "EPIC",
        "RIVERBEND",
        "20261202143015+0000",
        "",
        "ACK^O01^ACK",
        "A1",
        "P",
        "2.3.1",
    ]
    assert msa == ["MSA", "AA", "EPIC-ORM-1001"]
    assert ack_code_of(ack) == "AA"


def test_python_hl7_reads_radflows_ack() -> None:
    head = peek(load("omi_o23-nw-epic-v251.hl7"))

    parsed = hl7.parse(build_ack(to=head, code=AckCode.ACCEPT, control_id="A2", at=AT).decode())

    assert str(parsed.segment("MSA")(1)) == "AA"
    assert str(parsed.segment("MSA")(2)) == "EPIC-OMI-3001"
    assert str(parsed.segment("MSH")(12)) == "2.5.1"
    assert str(parsed.segment("MSH")(18)) == "UNICODE UTF-8"


def test_an_error_in_231_has_err_1_with_location_and_code_and_the_text_in_msa_3() -> None:
    head = peek(load("orm_o01-nw-epic-v231.hl7"))
    error = rejected(
        "Unknown exam code 99999 (C4)", ErrorCode.TABLE_VALUE_NOT_FOUND, Location("OBR", 1, 4)
    )

    ack = build_ack(to=head, code=AckCode.ERROR, control_id="A3", at=AT, error=error)

    _, msa, err = segments(ack)
    assert msa == ["MSA", "AE", "EPIC-ORM-1001", "Unknown exam code 99999 (C4)"]
    assert err == ["ERR", "OBR^1^4^103&Table value not found&HL70357"]


def test_an_error_in_251_has_location_code_severity_and_text_in_their_own_fields() -> None:
    head = peek(load("omg_o19-nw-epic-v251.hl7"))
    error = rejected("PID-7 birth date is not a date", ErrorCode.DATA_TYPE, Location("PID", 1, 7))

    ack = build_ack(to=head, code=AckCode.ERROR, control_id="A4", at=AT, error=error)

    err = segments(ack)[2]
    assert err[2] == "PID^1^7"
    assert err[3] == "102^Data type error^HL70357"
    assert err[4] == "E"
    assert err[8] == "PID-7 birth date is not a date"


def test_a_component_location_names_the_repetition_too() -> None:
    head = peek(load("omg_o19-nw-epic-v251.hl7"))
    error = rejected("bad priority", ErrorCode.TABLE_VALUE_NOT_FOUND, Location("ORC", 1, 7, 6))

    err = segments(build_ack(to=head, code=AckCode.ERROR, control_id="A", at=AT, error=error))[2]

    assert err[2] == "ORC^1^7^1^6"


def test_separators_in_the_text_are_escaped() -> None:
    head = peek(load("omg_o19-nw-epic-v251.hl7"))
    error = rejected("a|b^c~d&e\\f", ErrorCode.DATA_TYPE)

    ack = build_ack(to=head, code=AckCode.ERROR, control_id="A", at=AT, error=error)

    assert segments(ack)[1][3] == "a\\F\\b\\S\\c\\R\\d\\T\\e\\E\\f"


def test_a_latin1_message_is_answered_in_latin1_with_its_msh_18() -> None:
    head = peek(load("adt_a04-epic-v231-latin1.hl7"))
    error = rejected("Nom « JOSÉ » refusé", ErrorCode.DATA_TYPE)

    ack = build_ack(to=head, code=AckCode.ERROR, control_id="A", at=AT, error=error)

    msh, msa, _ = segments(ack, "latin-1")
    assert msh[17] == "8859/1"
    assert msa[3] == "Nom « JOSÉ » refusé"


def test_a_message_that_could_not_be_read_is_answered_in_251_with_standard_separators() -> None:
    head = peek(b"garbage")
    error = rejected("no MSH", ErrorCode.SEGMENT_SEQUENCE, Location("MSH"))

    ack = build_ack(to=head, code=AckCode.REJECT, control_id="A", at=AT, error=error)

    msh, msa, err = segments(ack)
    assert (msh[1], msh[8], msh[11]) == ("^~\\&", "ACK", "2.5.1")
    assert msa[:3] == ["MSA", "AR", ""]
    assert err[2] == "MSH^1"
