"""The HL7 v2 messages RadFlow sends: SIU scheduling and ORM/OMI order status.

Pure functions over plain dataclasses: the Django side (``radflow.interfaces.hl7_outbound``)
reads the exam once, fills these, and stores the bytes in the outbox; retries resend exactly
those bytes, so MSH-10 and every field stay the same however often a message is tried.

Scheduling (DESIGN.md, "Interoperability facts"): SIU^S12 booked, S13 rescheduled (the start
moved), S14 modified (same start, other room, device or staff), S15 cancelled, S26 no-show, each
``MSH SCH [TQ1] PID PV1 RGS AIS [AIG] [AIL] [AIP]``. HL7 2.3.1 has no TQ1: the times go in
SCH-11 (TQ: ``^^duration^start^end^priority``); 2.5.1 carries them in TQ1-6..9.

Order status: the filler's ``ORC-1 SC`` with ORC-5 IP (begun), CM (completed), CA (cancelled,
or a no-show, which ends the order in RadFlow) or DC (discontinued). 2.3.1 sends ORM^O01 with
``ORC OBR ZDS`` (IHE Rad TF-2 4.4: OBR-18 accession, OBR-19 requested procedure ID, OBR-20 SPS
ID, OBR-24 modality, ZDS-1 Study Instance UID); 2.5.1 sends OMI^O23 with ``ORC TQ1 OBR IPC``
(IPC-1..5 accession, requested procedure ID, Study Instance UID, SPS ID, modality; IPC-9 AE).

Text is escaped per HL7 v2 2.7 (``\\F\\ \\S\\ \\T\\ \\R\\ \\E\\``, line breaks as ``\\X0D\\``/
``\\X0A\\``) and sent as UTF-8 (MSH-18 ``UNICODE UTF-8``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

#: MSH-1 and MSH-2 (component, repetition, escape, subcomponent).
FIELD_SEPARATOR = "|"
ENCODING_CHARACTERS = "^~\\&"
SEGMENT_TERMINATOR = "\r"
#: MSH-18 for UTF-8 (HL7 table 0211).
CHARSET = "UNICODE UTF-8"
ENCODING = "utf-8"

V231 = "2.3.1"
V251 = "2.5.1"
VERSIONS = (V231, V251)

#: The coding system RadFlow's own codes (reasons, exam types, staff numbers) are sent under.
LOCAL_SYSTEM = "RADFLOW"


class SiuEvent(StrEnum):
    BOOKED = "S12"
    RESCHEDULED = "S13"
    MODIFIED = "S14"
    CANCELLED = "S15"
    NO_SHOW = "S26"


#: SCH-25 / AIx filler status code (HL7 table 0278) after each event.
FILLER_STATUS = {
    SiuEvent.BOOKED: "Booked",
    SiuEvent.RESCHEDULED: "Booked",
    SiuEvent.MODIFIED: "Booked",
    SiuEvent.CANCELLED: "Cancelled",
    SiuEvent.NO_SHOW: "Noshow",
}

#: SCH-6 event reason when no coded reason was given (HL7 table 0003 names the event).
EVENT_TEXT = {
    SiuEvent.BOOKED: "Appointment booked",
    SiuEvent.RESCHEDULED: "Appointment rescheduled",
    SiuEvent.MODIFIED: "Appointment modified",
    SiuEvent.CANCELLED: "Appointment cancelled",
    SiuEvent.NO_SHOW: "Patient did not arrive",
}


class OrderStatus(StrEnum):
    """ORC-5 (HL7 table 0038)."""

    IN_PROCESS = "IP"
    COMPLETED = "CM"
    CANCELLED = "CA"
    DISCONTINUED = "DC"


# --- escaping and formatting -----------------------------------------------------------------

_ESCAPES = (
    ("\\", "\\E\\"),  # first: the escapes below introduce backslashes of their own
    ("|", "\\F\\"),
    ("^", "\\S\\"),
    ("&", "\\T\\"),
    ("~", "\\R\\"),
    ("\r", "\\X0D\\"),
    ("\n", "\\X0A\\"),
)


def escape(text: str) -> str:
    """``text`` as an HL7 field value: delimiters and line breaks cannot end a field early."""
    for raw, escaped in _ESCAPES:
        text = text.replace(raw, escaped)
    return text


_UNESCAPES = {"F": "|", "S": "^", "T": "&", "R": "~", "E": "\\"}


def unescape(text: str) -> str:
    """The inverse of :func:`escape` for the sequences it writes (others are kept as sent)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        end = text.find("\\", i + 1) if char == "\\" else -1
        if end == -1:
            out.append(char)
            i += 1
            continue
        body = text[i + 1 : end]
        if body in _UNESCAPES:
            out.append(_UNESCAPES[body])
        elif body.startswith("X") and len(body) % 2 == 1 and _is_hex(body[1:]):
            out.append(bytes.fromhex(body[1:]).decode(ENCODING, errors="replace"))
        else:
            out.append(text[i : end + 1])
        i = end + 1
    return "".join(out)


def _is_hex(value: str) -> bool:
    return bool(value) and all(c in "0123456789abcdefABCDEF" for c in value)


def ts(moment: datetime | None) -> str:
    """HL7 DTM with the UTC offset (``20260302090000-0500``): unambiguous across DST."""
    if moment is None:
        return ""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("HL7 times are sent with their offset: give an aware datetime.")
    return moment.strftime("%Y%m%d%H%M%S%z")


def hl7_date(day: date | None) -> str:
    return day.strftime("%Y%m%d") if day else ""


def _c(*components: str) -> str:
    """Escaped components joined with ``^``, trailing empty ones dropped."""
    parts = [escape(c) for c in components]
    while parts and not parts[-1]:
        parts.pop()
    return "^".join(parts)


def _segment(name: str, *fields: str) -> str:
    """A segment from already-encoded fields (trailing empty fields dropped)."""
    items = list(fields)
    while items and not items[-1]:
        items.pop()
    return FIELD_SEPARATOR.join([name, *items])


# --- what the builders read ------------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    """MSH: who sends to whom, the control ID (MSH-10) and when the message was made."""

    control_id: str
    created_at: datetime
    version: str = V251
    sending_application: str = "RADFLOW"
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    #: MSH-11: P production, T training, D debugging.
    processing_id: str = "P"


@dataclass(frozen=True)
class Coded:
    """A CE/CWE: code, text and coding system, and optionally an alternate (CE.4-6)."""

    code: str
    text: str = ""
    system: str = ""
    alternate_code: str = ""
    alternate_text: str = ""
    alternate_system: str = ""

    def encode(self) -> str:
        alternate_system = self.alternate_system or (LOCAL_SYSTEM if self.alternate_code else "")
        return _c(
            self.code,
            self.text,
            self.system,
            self.alternate_code,
            self.alternate_text,
            alternate_system,
        )


@dataclass(frozen=True)
class Person:
    """A member of staff (XCN): RadFlow's employee number or the provider's NPI, and the name."""

    id: str
    family_name: str = ""
    given_name: str = ""
    authority: str = LOCAL_SYSTEM

    def xcn(self) -> str:
        return _c(self.id, self.family_name, self.given_name, "", "", "", "", "", self.authority)

    def ce(self) -> str:
        name = ", ".join(n for n in (self.family_name, self.given_name) if n)
        return _c(self.id, name, self.authority)


@dataclass(frozen=True)
class PatientData:
    mrn: str
    mrn_authority: str
    family_name: str
    given_name: str
    birth_date: date | None
    #: HL7 table 0001: F, M, O, U.
    sex: str
    middle_name: str = ""
    suffix: str = ""
    prefix: str = ""


@dataclass(frozen=True)
class ExamData:
    """The exam (one order, one requested procedure, one step) as the messages describe it."""

    accession_number: str
    study_instance_uid: str
    procedure: Coded
    #: DICOM modality code (US, CT, ...).
    modality: str
    placer_order_number: str = ""
    #: S (STAT), A (ASAP: urgent), R (routine): TQ1-9, ORC-7.6, SCH-11.6.
    priority: str = "R"
    #: PV1-2: O outpatient, I inpatient, E emergency.
    patient_class: str = "O"
    site_code: str = ""
    room_code: str = ""
    room_name: str = ""
    start: datetime | None = None
    end: datetime | None = None
    technologist: Person | None = None
    radiologist: Person | None = None
    ordering_provider: Person | None = None
    device: Coded | None = None
    station_ae: str = ""
    #: When the exam actually began (OBR-7 of a status message); else the booked start.
    performed_start: datetime | None = None
    #: Blank: the accession number (one requested procedure and one step per order).
    requested_procedure_id: str = ""
    sps_id: str = ""

    @property
    def duration_minutes(self) -> int | None:
        if self.start is None or self.end is None:
            return None
        return int((self.end - self.start).total_seconds() // 60)

    @property
    def procedure_ids(self) -> tuple[str, str]:
        return (
            self.requested_procedure_id or self.accession_number,
            self.sps_id or self.accession_number,
        )


# --- segments ----------------------------------------------------------------------------------


def _msh(header: Header, message_type: str, trigger: str, structure: str) -> str:
    if header.version not in VERSIONS:
        raise ValueError(f"HL7 version {header.version!r} is not one RadFlow sends ({VERSIONS}).")
    if not header.control_id:
        raise ValueError("A message needs its control ID (MSH-10).")
    fields = [
        ENCODING_CHARACTERS,
        _c(header.sending_application),
        _c(header.sending_facility),
        _c(header.receiving_application),
        _c(header.receiving_facility),
        ts(header.created_at),
        "",
        "^".join((message_type, trigger, structure)),
        escape(header.control_id),
        _c(header.processing_id),
        header.version,
        "",  # MSH-13 sequence number
        "",  # MSH-14 continuation pointer
        "",  # MSH-15 accept ack type: empty is original mode
        "",  # MSH-16 application ack type
        "",  # MSH-17 country code
        CHARSET,  # MSH-18
    ]
    # MSH-1 is the separator itself, so MSH-2 follows it directly.
    return "MSH" + FIELD_SEPARATOR + FIELD_SEPARATOR.join(fields)


def _pid(patient: PatientData) -> str:
    return _segment(
        "PID",
        "1",
        "",
        _c(patient.mrn, "", "", patient.mrn_authority, "MR"),
        "",
        _c(
            patient.family_name,
            patient.given_name,
            patient.middle_name,
            patient.suffix,
            patient.prefix,
        ),
        "",
        hl7_date(patient.birth_date),
        _c(patient.sex),
    )


def _location(exam: ExamData) -> str:
    """PL: point of care (the modality), room, bed, facility (the site), ..., description."""
    if not exam.room_code:
        return _c("", "", "", exam.site_code)
    return _c(exam.modality, exam.room_code, "", exam.site_code, "", "", "", "", exam.room_name)


def _pv1(exam: ExamData) -> str:
    provider = exam.ordering_provider.xcn() if exam.ordering_provider else ""
    return _segment("PV1", "1", _c(exam.patient_class), _location(exam), "", "", "", "", provider)


def _ei(identifier: str, namespace: str = "") -> str:
    return _c(identifier, namespace) if identifier else ""


def _placer(exam: ExamData) -> str:
    return _ei(exam.placer_order_number)


def _filler(exam: ExamData) -> str:
    return _ei(exam.accession_number, LOCAL_SYSTEM)


def _tq1(exam: ExamData) -> str:
    minutes = exam.duration_minutes
    duration = _c(str(minutes), "min") if minutes is not None else ""
    return _segment(
        "TQ1", "1", "", "", "", "", duration, ts(exam.start), ts(exam.end), _c(exam.priority)
    )


def _timing(exam: ExamData) -> str:
    """A 2.3.1 TQ: quantity^interval^duration^start^end^priority."""
    minutes = exam.duration_minutes
    duration = f"M{minutes}" if minutes is not None else ""
    return _c("", "", duration, ts(exam.start), ts(exam.end), exam.priority)


def _resource_times(exam: ExamData) -> list[str]:
    """Start, start offset, its units, duration, its units: shared by AIS/AIG/AIL/AIP."""
    minutes = exam.duration_minutes
    return [
        ts(exam.start),
        "0" if exam.start else "",
        "min" if exam.start else "",
        str(minutes) if minutes is not None else "",
        "min" if minutes is not None else "",
    ]


# --- messages ----------------------------------------------------------------------------------


def _encode(segments: Sequence[str]) -> bytes:
    return (SEGMENT_TERMINATOR.join(segments) + SEGMENT_TERMINATOR).encode(ENCODING)


def siu_message_type(event: SiuEvent) -> str:
    return f"SIU^{event.value}"


def build_siu(
    *,
    header: Header,
    event: SiuEvent,
    patient: PatientData,
    exam: ExamData,
    reason: Coded | None = None,
    entered_by: Person | None = None,
) -> bytes:
    """SIU^S12/S13/S14/S15/S26 for the exam's appointment (the appointment is the exam)."""
    status = FILLER_STATUS[event]
    event_reason = reason or Coded(event.value, EVENT_TEXT[event], "HL70003")
    minutes = exam.duration_minutes
    staff = entered_by.xcn() if entered_by else ""
    sch = [
        _placer(exam),  # SCH-1 placer appointment ID: the placer's order
        _filler(exam),  # SCH-2 filler appointment ID: the accession number
        "",
        "",
        "",
        event_reason.encode(),  # SCH-6
        _c("EMERGENCY" if exam.priority == "S" else "ROUTINE", "", "HL70276"),  # SCH-7
        _c("Normal", "", "HL70277"),  # SCH-8
        str(minutes) if minutes is not None else "",  # SCH-9 duration
        "min" if minutes is not None else "",  # SCH-10 units
        _timing(exam) if header.version == V231 else "",  # SCH-11
        "",
        "",
        "",
        "",
        staff,  # SCH-16 filler contact person
        "",
        "",
        "",
        staff,  # SCH-20 entered by person
        "",
        "",
        "",
        "",
        _c(status, "", "HL70278"),  # SCH-25 filler status code
    ]
    if header.version == V251:
        sch += [_placer(exam), _filler(exam)]  # SCH-26/27 placer and filler order numbers
    segments = [_msh(header, "SIU", event.value, "SIU_S12"), _segment("SCH", *sch)]
    if header.version == V251:
        segments.append(_tq1(exam))
    segments += [_pid(patient), _pv1(exam), _segment("RGS", "1")]
    times = _resource_times(exam)
    filler_status = _c(status)
    segments.append(_segment("AIS", "1", "", exam.procedure.encode(), *times, "", filler_status))
    resources: list[tuple[str, str]] = []
    if exam.technologist is not None:
        resources.append((exam.technologist.ce(), _c("TECH", "Technologist", "HL70182")))
    if exam.device is not None:
        resources.append((exam.device.encode(), _c("EQUIPMENT", "Equipment", LOCAL_SYSTEM)))
    for n, (resource, kind) in enumerate(resources, start=1):
        segments.append(
            _segment("AIG", str(n), "", resource, kind, "", "", "", *times, "", filler_status)
        )
    if exam.room_code or exam.site_code:
        room_type = _c("ROOM", exam.room_name, LOCAL_SYSTEM) if exam.room_code else ""
        segments.append(
            _segment("AIL", "1", "", _location(exam), room_type, "", *times, "", filler_status)
        )
    if exam.radiologist is not None:
        role = _c("RAD", "Radiologist", LOCAL_SYSTEM)
        segments.append(
            _segment("AIP", "1", "", exam.radiologist.xcn(), role, "", *times, "", filler_status)
        )
    return _encode(segments)


def order_status_message_type(version: str) -> str:
    return "ORM^O01" if version == V231 else "OMI^O23"


def build_order_status(
    *,
    header: Header,
    status: OrderStatus,
    patient: PatientData,
    exam: ExamData,
    event_at: datetime,
    reason: Coded | None = None,
) -> bytes:
    """ORM^O01 (2.3.1) or OMI^O23 (2.5.1) telling the placer its order's status (ORC-5)."""
    requested_procedure_id, sps_id = exam.procedure_ids
    provider = exam.ordering_provider.xcn() if exam.ordering_provider else ""
    v231 = header.version == V231
    orc = _segment(
        "ORC",
        "SC",
        _placer(exam),
        _filler(exam),
        "",
        status.value,
        "",
        _timing(exam) if v231 else "",  # ORC-7 (2.3.1; TQ1 in 2.5.1)
        "",
        ts(event_at),  # ORC-9 date/time of the transaction
        "",
        "",
        provider,  # ORC-12 ordering provider
        "",
        "",
        "",
        reason.encode() if reason else "",  # ORC-16 order control code reason
    )
    began = exam.performed_start or exam.start
    performed_start = ts(began) if status is not OrderStatus.CANCELLED else ""
    obr = _segment(
        "OBR",
        "1",
        _placer(exam),
        _filler(exam),
        exam.procedure.encode(),
        "",
        "",
        performed_start,  # OBR-7 observation date/time
        ts(event_at) if status is OrderStatus.COMPLETED else "",  # OBR-8 end
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        provider,  # OBR-16
        "",
        escape(exam.accession_number),  # OBR-18 (IHE: accession number)
        escape(requested_procedure_id),  # OBR-19 requested procedure ID
        escape(sps_id),  # OBR-20 scheduled procedure step ID
        "",
        "",
        "",
        _c(exam.modality),  # OBR-24 diagnostic service section
        "",
        "",
        _timing(exam) if v231 else "",  # OBR-27
    )
    if v231:
        zds = _segment("ZDS", _c(exam.study_instance_uid, LOCAL_SYSTEM, "Application", "DICOM"))
        segments = [
            _msh(header, "ORM", "O01", "ORM_O01"),
            _pid(patient),
            _pv1(exam),
            orc,
            obr,
            zds,
        ]
    else:
        ipc = _segment(
            "IPC",
            _ei(exam.accession_number, LOCAL_SYSTEM),
            _ei(requested_procedure_id, LOCAL_SYSTEM),
            _ei(exam.study_instance_uid, LOCAL_SYSTEM),
            _ei(sps_id, LOCAL_SYSTEM),
            _c(exam.modality, "", "DCM"),
            "",
            "",
            "",
            _c(exam.station_ae),
        )
        segments = [
            _msh(header, "OMI", "O23", "OMI_O23"),
            _pid(patient),
            _pv1(exam),
            orc,
            _tq1(exam),
            obr,
            ipc,
        ]
    return _encode(segments)


# --- reading what comes back, and what a person edited ----------------------------------------


@dataclass(frozen=True)
class MshSummary:
    message_type: str
    control_id: str
    version: str
    charset: str


def _segments(text: str) -> list[str]:
    return [s for s in text.replace("\r\n", "\r").replace("\n", "\r").split("\r") if s.strip()]


def read_msh(raw: bytes) -> MshSummary:
    """MSH-9 (as ``SIU^S12``), MSH-10, MSH-12 and MSH-18 of a message; ValueError if not HL7."""
    text = raw.decode(ENCODING, errors="replace")
    segments = _segments(text)
    if not segments or not segments[0].startswith("MSH") or len(segments[0]) < 8:
        raise ValueError("The message must start with an MSH segment.")
    msh = segments[0]
    separator = msh[3]
    fields = msh.split(separator)  # fields[1] is MSH-2; fields[n - 1] is MSH-n
    component = fields[1][:1] or "^"

    def field(n: int) -> str:
        return fields[n - 1] if len(fields) >= n else ""

    kind = field(9).split(component)
    return MshSummary(
        message_type=component.join(kind[:2]),
        control_id=unescape(field(10)),
        version=field(12).split(component)[0],
        charset=field(18),
    )


def normalise_segments(text: str) -> bytes:
    """A message a person edited in a text box: CR-separated segments, blank lines dropped."""
    return _encode(_segments(text.strip()))


@dataclass(frozen=True)
class AckReply:
    #: MSA-1: AA/CA accepted, AE/CE error, AR/CR rejected.
    code: str
    #: MSA-2: the control ID of the message acknowledged.
    control_id: str
    #: MSA-3 or the ERR segment's text, for the console.
    text: str

    @property
    def accepted(self) -> bool:
        return self.code in ("AA", "CA")


def read_ack(raw: bytes) -> AckReply:
    """The MSA (and ERR) of an acknowledgement; ValueError if it has none."""
    segments = _segments(raw.decode(ENCODING, errors="replace"))
    if not segments or not segments[0].startswith("MSH") or len(segments[0]) < 8:
        raise ValueError("The reply is not an HL7 message (no MSH).")
    separator = segments[0][3]
    component = segments[0][4:5] or "^"
    found = {s[:3]: s.split(separator) for s in reversed(segments)}
    msa = found.get("MSA")
    if msa is None or len(msa) < 2:
        raise ValueError("The reply has no MSA segment.")
    text = msa[3] if len(msa) > 3 else ""
    err = found.get("ERR")
    if not text and err is not None:
        # 2.5+: ERR-8 user message, ERR-3 error code; 2.3.1: ERR-1 location^...^code^text.
        candidates = [
            err[8] if len(err) > 8 else "",
            [*err[3].split(component), "", ""][1] if len(err) > 3 else "",
            _err_text_231(err[1], component) if len(err) > 1 else "",
        ]
        text = next((c for c in candidates if c), "")
    return AckReply(
        code=msa[1].strip().upper(),
        control_id=unescape(msa[2]) if len(msa) > 2 else "",
        text=unescape(text),
    )


def _err_text_231(eld: str, component: str) -> str:
    """ERR-1 (ELD) of 2.3.1: segment^sequence^field^code, the code a CE in subcomponents."""
    code = (eld.split(component) + [""] * 4)[3]
    parts = code.split("&")
    return parts[1] if len(parts) > 1 and parts[1] else parts[0]


__all__ = [
    "CHARSET",
    "V231",
    "V251",
    "AckReply",
    "Coded",
    "ExamData",
    "Header",
    "MshSummary",
    "OrderStatus",
    "PatientData",
    "Person",
    "SiuEvent",
    "build_order_status",
    "build_siu",
    "escape",
    "normalise_segments",
    "order_status_message_type",
    "read_ack",
    "read_msh",
    "siu_message_type",
    "ts",
    "unescape",
]
