"""Reading inbound messages strictly: what is refused (AR) and where, and what is read."""

from __future__ import annotations

import pytest

from radflow.core.hl7.parse import (
    STANDARD,
    AckCode,
    ErrorCode,
    Hl7Error,
    parse,
    peek,
    unescape,
)
from tests.core.hl7.messages import load, names

ADT = (
    "MSH|^~\\&|EPIC|RIVERBEND|RADFLOW|RIVERBEND|20261202|{sec}|ADT^A08|C1|P|2.5.1{tail}\r"
    "PID|1||00451234^^^RGH^MR||DOE^JANE||19700101|F"
)


def adt(tail: str = "", version: str = "2.5.1") -> bytes:
    return ADT.format(sec="", tail=tail).replace("2.5.1", version).encode()


def refusal(raw: bytes) -> Hl7Error:
    with pytest.raises(Hl7Error) as caught:
        parse(raw)
    return caught.value


@pytest.mark.parametrize("name", names())
def test_every_golden_message_reads_with_its_header(name: str) -> None:
    message = parse(load(name))

    expected_type = name.split("-")[0].split("_")[0].upper()
    assert message.message_type == expected_type
    assert message.trigger == name.split("-")[0].split("_")[1].upper()
    assert message.version == ("2.3.1" if "v231" in name else "2.5.1")
    assert message.control_id
    assert message.msh.name == "MSH"
    assert message.segments[1].name in ("EVN", "PID")


def test_latin1_and_utf8_names_read_in_their_declared_character_set() -> None:
    latin = parse(load("adt_a04-epic-v231-latin1.hl7"))
    utf8 = parse(load("adt_a01-epic-v251-utf8.hl7"))

    assert (latin.charset, latin.codec) == ("8859/1", "latin-1")
    assert latin.first("PID") is not None
    assert latin.all("PID")[0].get(5, 1) == "MÜLLER"
    assert latin.all("PID")[0].get(5, 2) == "JOSÉ"
    assert (utf8.charset, utf8.codec) == ("UNICODE UTF-8", "utf-8")
    assert utf8.all("PID")[0].rep(5, 2).get(1) == "王"
    assert utf8.all("PID")[0].get(5, 1) == "ŁUKASIEWICZ"


def test_segments_may_end_with_lf_or_crlf() -> None:
    cr = parse(adt())
    for ending in (b"\n", b"\r\n"):
        other = parse(adt().replace(b"\r", ending) + ending)
        assert [s.fields for s in other.segments] == [s.fields for s in cr.segments]


def test_msh_fields_are_numbered_as_in_the_standard() -> None:
    msh = parse(adt()).msh

    assert msh.raw(1) == "|"
    assert msh.raw(2) == "^~\\&"
    assert (msh.get(3), msh.get(9, 1), msh.get(9, 2), msh.get(10)) == ("EPIC", "ADT", "A08", "C1")


def test_a_message_without_msh_is_refused_at_msh() -> None:
    error = refusal(b"PID|1||00451234^^^RGH^MR||DOE^JANE")

    assert (error.ack, error.code, str(error.location)) == (
        AckCode.REJECT,
        ErrorCode.SEGMENT_SEQUENCE,
        "MSH^1",
    )


@pytest.mark.parametrize(
    "header",
    [
        "MSH|^^\\&|EPIC|RIVERBEND",  # a separator used twice
        "MSH|^~|EPIC|RIVERBEND",  # too few encoding characters
        "MSHA^~\\&AEPICARIVERBEND",  # a letter as field separator
        "MSH",  # nothing after the segment ID
    ],
)
def test_wrong_separators_are_refused_at_msh_2(header: str) -> None:
    error = refusal(f"{header}|20261202||ADT^A08|C1|P|2.5.1\rPID|1".encode())

    assert error.ack is AckCode.REJECT
    assert str(error.location) == "MSH^1^2"


def test_a_segment_without_the_field_separator_is_refused() -> None:
    error = refusal(adt() + b"\rPID,1,,00451234")

    assert error.ack is AckCode.REJECT
    assert "segment 3" in error.text.lower()


@pytest.mark.parametrize(
    ("raw", "code", "where"),
    [
        (adt(version="2.6"), ErrorCode.UNSUPPORTED_VERSION, "MSH^1^12"),
        (adt(version=""), ErrorCode.REQUIRED_FIELD_MISSING, "MSH^1^12"),
        (adt().replace(b"|C1|", b"||"), ErrorCode.REQUIRED_FIELD_MISSING, "MSH^1^10"),
        (adt().replace(b"ADT^A08", b""), ErrorCode.REQUIRED_FIELD_MISSING, "MSH^1^9"),
        (adt().replace(b"|P|", b"|X|"), ErrorCode.UNSUPPORTED_PROCESSING_ID, "MSH^1^11"),
    ],
)
def test_header_fields_radflow_cannot_work_with_are_refused(
    raw: bytes, code: ErrorCode, where: str
) -> None:
    error = refusal(raw)

    assert (error.ack, error.code, str(error.location)) == (AckCode.REJECT, code, where)


def test_an_unknown_character_set_is_refused_at_msh_18() -> None:
    error = refusal(adt(tail="||||||ISO IR87"))

    assert (error.ack, error.code, str(error.location)) == (
        AckCode.REJECT,
        ErrorCode.TABLE_VALUE_NOT_FOUND,
        "MSH^1^18",
    )


def test_bytes_outside_the_declared_character_set_are_refused() -> None:
    latin_name = adt(tail="||||||UNICODE UTF-8").replace(b"DOE", "DÖE".encode("latin-1"))

    error = refusal(latin_name)

    assert error.ack is AckCode.REJECT
    assert str(error.location) == "MSH^1^18"
    assert "0xD6" in error.text


def test_undeclared_utf8_is_read_and_undeclared_latin1_is_refused() -> None:
    utf8 = parse(adt().replace(b"DOE", "DÖE".encode()))
    assert utf8.all("PID")[0].get(5) == "DÖE"

    error = refusal(adt().replace(b"DOE", "DÖE".encode("latin-1")))
    assert str(error.location) == "MSH^1^18"


def test_batches_are_refused() -> None:
    error = refusal(b"BHS|^~\\&|EPIC\r" + adt())

    assert (error.ack, error.code) == (AckCode.REJECT, ErrorCode.UNSUPPORTED_MESSAGE_TYPE)


def test_escape_sequences_are_decoded() -> None:
    text = "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\X41C3A9\\g\\.br\\h\\H\\bold\\N\\ \\Zsite\\"

    assert unescape(text, STANDARD) == "a|b^c&d~e\\fAég\nhbold "


def test_an_unknown_or_unterminated_escape_is_kept_as_written() -> None:
    assert unescape("C:\\path\\x", STANDARD) == "C:\\path\\x"
    assert unescape("end\\", STANDARD) == "end\\"


def test_components_and_subcomponents_are_read_unescaped() -> None:
    message = parse(
        adt().replace(b"DOE^JANE", b"DOE\\S\\SMITH&VAN^JANE")
        + b"\rOBR|1||EP1^EPIC|76700^US\\T\\ABD^C4~X"
    )
    pid, obr = message.all("PID")[0], message.all("OBR")[0]

    assert pid.get(5, 1, 1) == "DOE^SMITH"
    assert pid.get(5, 1, 2) == "VAN"
    assert obr.get(4, 2) == "US&ABD"
    assert [r.get(1) for r in obr.reps(4)] == ["76700", "X"]
    assert obr.get(99) == "" and obr.get(4, 9) == "" and obr.rep(4, 5).empty


def test_the_first_look_reads_keys_from_anything() -> None:
    head = peek(load("orm_o01-nw-epic-v231.hl7"))

    assert (head.sending_application, head.sending_facility) == ("EPIC", "RIVERBEND")
    assert (head.type_label, head.control_id, head.version) == (
        "ORM^O01",
        "EPIC-ORM-1001",
        "2.3.1",
    )
    assert head.placer_order_number == "EP100234"
    assert head.mrn("RGH") == "00451234"
    assert head.mrn() == "E1029384"


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x00\xff garbage", b"MSH", b"MSH|^^\\&|X", b"GET / HTTP/1.1\r\n\r\n"],
)
def test_the_first_look_never_fails(raw: bytes) -> None:
    head = peek(raw)

    assert head.control_id == ""
    assert head.seps == STANDARD


def test_the_first_look_survives_a_truncated_message() -> None:
    raw = load("omi_o23-nw-epic-v251.hl7")[:400]

    head = peek(raw)

    assert head.control_id == "EPIC-OMI-3001"
    assert head.charset == "UNICODE UTF-8"
