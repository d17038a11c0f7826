"""Original-mode acknowledgments (HL7 v2.5.1 2.9.2; 2.14.1 ACK): MSH, MSA and, for AE/AR, ERR.

The ACK is written in the message's own version, separators and character set, so the sender
reads it with the settings it sent with. ERR follows the version: up to 2.4 ERR-1 (ELD:
segment^sequence^field^code, the code a CE in subcomponents); from 2.5 ERR-2 location (ERL),
ERR-3 HL7 error code (table 0357), ERR-4 severity and ERR-8 the text for a person. MSA-3 carries
the text in every version (deprecated in 2.5, but the field interface engines show).
"""

from __future__ import annotations

from datetime import datetime

from radflow.core.hl7.parse import (
    STANDARD,
    AckCode,
    ErrorCode,
    Hl7Error,
    Location,
    Peek,
    Separators,
)

#: Who RadFlow is in MSH-3/4 when the message did not name it in MSH-5/6.
APPLICATION = "RADFLOW"
DEFAULT_VERSION = "2.5.1"
TEXT_MAX = 250

#: Typographic punctuation in service messages, for ACKs in ASCII.
_ASCII_PUNCTUATION = str.maketrans(
    {"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'", "\u2026": "...", "\u2013": "-"}
)


def escape(value: str, seps: Separators) -> str:
    """HL7 escapes for the separators (2.7.4) and line breaks."""
    out = value.replace(seps.escape, f"{seps.escape}E{seps.escape}")
    for char, code in (
        (seps.field, "F"),
        (seps.component, "S"),
        (seps.subcomponent, "T"),
        (seps.repetition, "R"),
    ):
        out = out.replace(char, f"{seps.escape}{code}{seps.escape}")
    return out.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")


def timestamp(at: datetime) -> str:
    """DTM with the UTC offset: ``20260302143015+0000``."""
    return at.strftime("%Y%m%d%H%M%S%z")


def _version_before_25(version: str) -> bool:
    return version.startswith(("2.1", "2.2", "2.3", "2.4"))


def _err(error: Hl7Error, version: str, seps: Separators) -> str:
    where = error.location or Location("MSH", 1)
    code = int(error.code)
    label = escape(ErrorCode(code).label, seps)
    c, s, f = seps.component, seps.subcomponent, seps.field
    if _version_before_25(version):
        eld = c.join([where.segment, str(where.sequence), str(where.field or "")])
        return f"ERR{f}{eld}{c}{code}{s}{label}{s}HL70357"
    erl = str(where).replace("^", c)
    text = escape(error.text[:TEXT_MAX], seps)
    return f"ERR{f}{f}{erl}{f}{code}{c}{label}{c}HL70357{f}E{f}{f}{f}{f}{text}"


def build_ack(
    *,
    to: Peek,
    code: AckCode,
    control_id: str,
    at: datetime,
    error: Hl7Error | None = None,
) -> bytes:
    """The ACK for the message ``to`` describes (its MSH as far as it could be read)."""
    seps = to.seps or STANDARD
    version = to.version or DEFAULT_VERSION
    f = seps.field

    def e(value: str) -> str:
        return escape(value, seps)

    message_type = f"ACK{seps.component}{e(to.trigger)}{seps.component}ACK" if to.trigger else "ACK"
    msh = [
        "MSH",
        seps.encoding_characters,
        e(to.receiving_application or APPLICATION),
        e(to.receiving_facility or APPLICATION),
        e(to.sending_application),
        e(to.sending_facility),
        timestamp(at),
        "",
        message_type,
        e(control_id),
        e(to.processing_id or "P"),
        e(version),
    ]
    if to.charset:
        msh += ["", "", "", "", "", e(to.charset)]
    msa = ["MSA", code.value, e(to.control_id)]
    if error is not None:
        msa.append(e(error.text[:TEXT_MAX]))
    segments = [f.join(msh), f.join(msa)]
    if error is not None and code is not AckCode.ACCEPT:
        segments.append(_err(error, version, seps))
    text = "\r".join(segments).translate(_ASCII_PUNCTUATION)
    return text.encode(to.codec or "ascii", errors="replace")


def ack_code_of(ack: bytes) -> str:
    """MSA-1 of an ACK RadFlow built (for logs and the stored row)."""
    for line in ack.split(b"\r"):
        if line.startswith(b"MSA") and len(line) > 4:
            return line[4:].split(line[3:4])[0].decode("ascii", errors="replace")
    return ""
