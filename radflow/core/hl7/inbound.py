"""What an inbound HL7 v2 message asks of RadFlow, in RadFlow's terms (DESIGN.md,
"Interoperability facts"; IHE Radiology Scheduled Workflow).

``read(message, rules)`` turns a parsed ``Message`` into an ``Inbound``: the patient (PID), the
visit (PV1), the merged identifier (MRG), the orders (ORC/OBR groups) or the results (OBR/OBX
groups). Anything RadFlow understands but cannot accept raises ``Hl7Error`` (AE) with its ERR
location; message types and events RadFlow does not take raise AR.

Mapping (field → meaning):

- PID-3 (repeating CX): the MRN is the repetition whose assigning authority (CX.4) is the
  interface's ``mrn_authority``, or the first one when the interface names none; the other
  repetitions are kept as identifiers. PID-5 (repeating XPN): the legal name (XPN.7 ``L``), else
  the first. PID-7 birth date, PID-8 sex (table 0001; ``A`` is other, ``N`` unknown), PID-11
  address, PID-13/14 phone and e-mail (XTN.2 ``NET`` or XTN.3 ``Internet``), PID-15 language.
  An empty field means "not sent"; ``""`` means "clear it" (HL7 2.5.1 2.5.3).
- PV1-2 patient class (``I`` inpatient, ``E`` emergency, anything else outpatient), PV1-19 visit.
- MRG-1: the merged patient's identifier (same authority rule as PID-3).
- ORC-1 order control (NW, CA, XO, DC, SC), ORC-2 placer and ORC-3 filler order numbers (OBR-2/3
  when ORC leaves them empty), priority from TQ1-9, else ORC-7.6, else OBR-27.6 (``S`` STAT,
  ``A``/``T`` urgent, ``R``/``P``/``C`` routine), requested date from TQ1-7/ORC-7.4/OBR-27.4,
  procedure from OBR-4 (both CE triplets) then OBR-44, filtered by the interface's coding system,
  OBR-13 relevant clinical information as the indication (OBR-31's reason texts when it is
  empty), ICD-10 codes from OBR-31 and DG1-3, OBR-16 (else ORC-12) ordering provider, ORC-14
  (else OBR-17) call-back phone, ORC-21 (else ORC-13, PV1-3) ordering location, NTE notes, an
  OBX with LOINC 8665-2 as the LMP, and OMI's IPC-1..5 and IPC-9 (accession, requested procedure
  ID, Study Instance UID, SPS ID, modality, station AE).
- ORU: the exam from OBR-3 (filler), ORC-3 or OBR-18 (accession), else the placer number; the
  report is the text OBX values (TX, FT, ST, in order); OBR-25 ``P``/``A``/``R`` is preliminary,
  ``F``/``C`` final; OBR-32 the principal result interpreter.

Z-segments and segments RadFlow has no use for (PD1, IN1, GT1, AL1, EVN ...) are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from radflow.core.errors import ValidationFailed
from radflow.core.hl7.parse import (
    ErrorCode,
    Hl7Error,
    Location,
    Message,
    Rep,
    Segment,
    refused,
    rejected,
)
from radflow.core.icd10 import normalize_icd10

# --- what RadFlow takes -------------------------------------------------------------------------


class MessageKind(StrEnum):
    PATIENT = "patient"  # ADT A01, A04, A05, A08: create or update the patient
    MERGE = "merge"  # ADT A40
    ORDER = "order"  # ORM^O01, OMG^O19, OMI^O23
    RESULT = "result"  # ORU^R01


SUPPORTED: dict[str, dict[str, MessageKind]] = {
    "ADT": {
        "A01": MessageKind.PATIENT,
        "A04": MessageKind.PATIENT,
        "A05": MessageKind.PATIENT,
        "A08": MessageKind.PATIENT,
        "A40": MessageKind.MERGE,
    },
    "ORM": {"O01": MessageKind.ORDER},
    "OMG": {"O19": MessageKind.ORDER},
    "OMI": {"O23": MessageKind.ORDER},
    "ORU": {"R01": MessageKind.RESULT},
}


def kind_of(message: Message) -> MessageKind:
    """AR for a message type (200) or event (201) RadFlow does not take."""
    events = SUPPORTED.get(message.message_type)
    if events is None:
        raise refused(
            f"Message type {message.message_type} is not accepted; RadFlow takes "
            f"{', '.join(sorted(SUPPORTED))}.",
            ErrorCode.UNSUPPORTED_MESSAGE_TYPE,
            message.msh.at(9, 1),
        )
    kind = events.get(message.trigger)
    if kind is None:
        raise refused(
            f"{message.message_type}^{message.trigger or '?'} is not accepted; RadFlow takes "
            f"{', '.join(f'{message.message_type}^{e}' for e in events)}.",
            ErrorCode.UNSUPPORTED_EVENT,
            message.msh.at(9, 2),
        )
    return kind


@dataclass(frozen=True)
class Rules:
    """The interface's settings that change how a message reads."""

    mrn_authority: str = ""
    procedure_code_system: str = ""


class OrderControl(StrEnum):
    """ORC-1 (HL7 table 0119), the subset RadFlow acts on."""

    NEW = "NW"
    CANCEL = "CA"
    CHANGE = "XO"
    DISCONTINUE = "DC"
    STATUS = "SC"


class Priority(StrEnum):
    """The values of ``radflow.orders.models.Priority``."""

    STAT = "stat"
    URGENT = "urgent"
    ROUTINE = "routine"


#: TQ.6 / TQ1-9 (HL7 table 0027): S stat, A ASAP, T timing critical, R routine, P pre-op,
#: C callback, PRN as needed.
PRIORITY_CODES = {
    "S": Priority.STAT,
    "A": Priority.URGENT,
    "T": Priority.URGENT,
    "R": Priority.ROUTINE,
    "P": Priority.ROUTINE,
    "C": Priority.ROUTINE,
    "PRN": Priority.ROUTINE,
}

#: PV1-2 (HL7 table 0004) → the order's patient class (``OrderPatientClass`` values).
PATIENT_CLASSES = {"I": "inpatient", "E": "emergency", "B": "inpatient"}

#: PID-8 (HL7 table 0001; X from 2.8) → RadFlow's sex (F, M, O, U).
SEX_CODES = {"F": "F", "M": "M", "O": "O", "U": "U", "A": "O", "N": "U", "X": "O"}

#: OBR-25 (HL7 table 0123).
PRELIMINARY = frozenset({"P", "A", "R"})
FINAL = frozenset({"F", "C"})

ICD10_SYSTEMS = frozenset({"I10", "I10C", "I10CM", "ICD10", "ICD-10", "ICD10CM", "ICD-10-CM"})
#: Names senders use for CPT (HL7 table 0396 has C4 and C5).
CPT_SYSTEMS = frozenset({"CPT", "C4", "C5", "CPT4", "CPT-4"})
LMP_LOINC = "8665-2"
TEXT_VALUE_TYPES = frozenset({"TX", "FT", "ST", ""})

#: ISO 639-2 codes senders use in PID-15, for the languages RadFlow's patients speak most.
ISO_639_2 = {
    "eng": "en",
    "spa": "es",
    "fra": "fr",
    "fre": "fr",
    "deu": "de",
    "ger": "de",
    "por": "pt",
    "ita": "it",
    "zho": "zh",
    "chi": "zh",
    "vie": "vi",
    "kor": "ko",
    "rus": "ru",
    "ara": "ar",
    "pol": "pl",
    "hat": "ht",
    "jpn": "ja",
    "hin": "hi",
    "tgl": "tl",
    "som": "so",
    "nep": "ne",
    "ben": "bn",
    "urd": "ur",
    "fas": "fa",
    "per": "fa",
    "tur": "tr",
    "ell": "el",
    "gre": "el",
    "heb": "he",
    "ukr": "uk",
}

_DTM = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2}(\d{2}(\d{2}(\.\d{1,4})?)?)?)?([+-]\d{4})?$")
_UID = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_AE_TITLE_BAD = re.compile(r"[\\\x00-\x1f]")

#: "" in a field: clear the value (HL7 2.5.1 2.5.3); "" here is "not sent".
NULL = '""'


# --- what the message says ----------------------------------------------------------------------


@dataclass(frozen=True)
class Identifier:
    value: str
    authority: str
    type: str


@dataclass(frozen=True)
class PatientData:
    """PID. ``None`` is "not sent" (keep what RadFlow has); ``""`` is "cleared"."""

    mrn: str
    mrn_authority: str
    identifiers: tuple[Identifier, ...]
    family_name: str | None
    given_name: str | None
    middle_name: str | None
    prefix: str | None
    suffix: str | None
    birth_date: date | None
    sex: str | None
    phone: str | None
    email: str | None
    address_line: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    language: str | None
    segment: Location

    FIELDS = (
        "family_name",
        "given_name",
        "middle_name",
        "prefix",
        "suffix",
        "birth_date",
        "sex",
        "phone",
        "email",
        "address_line",
        "city",
        "state",
        "postal_code",
        "language",
    )
    #: The PID field each patient field comes from (for ERR locations).
    SOURCE = {
        "mrn": 3,
        "mrn_authority": 3,
        "family_name": 5,
        "given_name": 5,
        "middle_name": 5,
        "prefix": 5,
        "suffix": 5,
        "birth_date": 7,
        "sex": 8,
        "address_line": 11,
        "city": 11,
        "state": 11,
        "postal_code": 11,
        "phone": 13,
        "email": 13,
        "language": 15,
    }

    def sent(self) -> dict[str, Any]:
        """The demographic fields the message carries (cleared ones as "")."""
        values = {name: getattr(self, name) for name in self.FIELDS}
        return {name: value for name, value in values.items() if value is not None}

    def at(self, name: str) -> Location:
        return Location(self.segment.segment, self.segment.sequence, self.SOURCE.get(name, 3))


@dataclass(frozen=True)
class VisitData:
    patient_class: str
    visit_number: str
    location: str


@dataclass(frozen=True)
class Coded:
    code: str
    text: str
    system: str


@dataclass(frozen=True)
class Provider:
    id: str
    family: str
    given: str
    middle: str = ""
    prefix: str = ""
    suffix: str = ""
    degree: str = ""
    authority: str = ""
    id_type: str = ""

    @property
    def display(self) -> str:
        """ "Dr Jane Q Smith MD": how the ordering provider reads on the order."""
        parts = (self.prefix, self.given, self.middle, self.family, self.suffix, self.degree)
        return " ".join(p for p in parts if p) or self.id

    @property
    def npi(self) -> str:
        is_npi = "NPI" in (self.authority.upper(), self.id_type.upper())
        return self.id if is_npi and re.fullmatch(r"\d{10}", self.id) else ""


@dataclass(frozen=True)
class Imaging:
    """OMI's IPC: the identifiers the sender's order filler gave the imaging procedure."""

    accession_number: str
    requested_procedure_id: str
    study_instance_uid: str
    sps_id: str
    modality: str
    station_ae: str
    segment: Location


@dataclass(frozen=True)
class OrderData:
    control: OrderControl
    placer_number: str
    filler_number: str
    order_status: str
    control_reason: Coded | None
    #: Procedure codes to try, in order (OBR-4 primary, OBR-4 alternate, OBR-44).
    procedures: tuple[Coded, ...]
    priority: Priority | None
    requested_date: date | None
    clinical_indication: str | None
    diagnosis_codes: tuple[str, ...] | None
    ordering_provider: Provider | None
    ordering_phone: str | None
    ordering_location: str | None
    notes: str | None
    lmp_date: date | None
    imaging: Imaging | None
    orc: Location
    obr: Location | None

    def at(self, field_name: str | None) -> Location:
        """Where an order field came from, for an error about it."""
        field_name = field_name or "order"
        orc_fields = {"placer_order_number": 2, "priority": 7, "ordering_phone": 14, "state": 1}
        orc_fields.update({"order": 2, "reason_code": 16, "ordering_location": 21})
        obr_fields = {"exam_type": 4, "clinical_indication": 13, "ordering_provider": 16}
        obr_fields.update({"ordering_provider_npi": 16, "diagnosis_codes": 31})
        obr_fields.update({"requested_date": 27, "notes": 0, "lmp_date": 0})
        if field_name in obr_fields and self.obr is not None:
            return Location(self.obr.segment, self.obr.sequence, obr_fields[field_name])
        return Location(self.orc.segment, self.orc.sequence, orc_fields.get(field_name, 1))


class ResultStatus(StrEnum):
    PRELIMINARY = "preliminary"
    FINAL = "final"


@dataclass(frozen=True)
class ResultData:
    accession_candidates: tuple[str, ...]
    placer_number: str
    status: ResultStatus
    status_code: str
    text: str
    interpreter: Provider | None
    obr: Location


@dataclass(frozen=True)
class Inbound:
    kind: MessageKind
    message_type: str
    event: str
    patient: PatientData
    visit: VisitData | None = None
    merged: Identifier | None = None
    orders: tuple[OrderData, ...] = ()
    results: tuple[ResultData, ...] = ()


# --- small readers ------------------------------------------------------------------------------


def optional(value: str) -> str | None:
    if value == "":
        return None
    return "" if value == NULL else value


def parse_date(value: str, where: Location, what: str) -> date | None:
    """An HL7 DT/DTM/TS value's date; ``None`` when empty or ``""``; AE when malformed."""
    value = value.strip()
    if value in ("", NULL):
        return None
    match = _DTM.match(value)
    if match is None:
        raise rejected(
            f"{what} {value!r} is not an HL7 date (YYYYMMDD, optionally followed by a time).",
            ErrorCode.DATA_TYPE,
            where,
        )
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        raise rejected(
            f"{what} {value!r} is not a calendar date.", ErrorCode.DATA_TYPE, where
        ) from None


def _system(value: str) -> str:
    upper = value.strip().upper()
    return "CPT" if upper in CPT_SYSTEMS else upper


def coded_pairs(rep: Rep) -> list[Coded]:
    """A CE/CWE's primary and alternate triplets, those with a code."""
    found = []
    for start in (1, 4):
        code = rep.get(start)
        if code:
            found.append(Coded(code, rep.get(start + 1), rep.get(start + 2)))
    return found


def _phone(rep: Rep) -> str:
    formatted = rep.get(1)
    if formatted:
        return formatted
    area, local, extension = rep.get(6), rep.get(7), rep.get(8)
    if len(local) == 7 and local.isdigit():
        local = f"{local[:3]}-{local[3:]}"
    number = f"({area}) {local}" if area else local
    return f"{number} x{extension}" if extension and number else number


def _is_email_rep(rep: Rep) -> bool:
    return rep.get(2).upper() == "NET" or rep.get(3).upper() in ("INTERNET", "X.400")


def _provider(rep: Rep) -> Provider | None:
    """XCN: ID, family (FN.1), given, middle, suffix, prefix, degree, source table, assigning
    authority (XCN.9), ..., identifier type (XCN.13)."""
    if rep.empty:
        return None
    return Provider(
        id=rep.get(1),
        family=rep.get(2),
        given=rep.get(3),
        middle=rep.get(4),
        suffix=rep.get(5),
        prefix=rep.get(6),
        degree=rep.get(7),
        authority=rep.get(9),
        id_type=rep.get(13),
    )


def _interpreter(rep: Rep) -> Provider | None:
    """OBR-32 (NDL / CM): its first component is a CNN whose parts are subcomponents."""
    if rep.empty:
        return None
    return Provider(
        id=rep.get(1, 1),
        family=rep.get(1, 2),
        given=rep.get(1, 3),
        middle=rep.get(1, 4),
        suffix=rep.get(1, 5),
        prefix=rep.get(1, 6),
        degree=rep.get(1, 7),
        authority=rep.get(1, 9),
    )


def _authority(rep: Rep, component: int = 4) -> str:
    return rep.get(component, 1) or rep.get(component, 2)


def _choose_id(reps: list[Rep], rules: Rules, where: Location, what: str) -> tuple[Rep, str]:
    """The repetition of a CX list issued by the interface's MRN authority."""
    wanted = rules.mrn_authority.strip()
    for rep in reps:
        if not rep.get(1):
            continue
        issuer = _authority(rep)
        if not wanted or issuer.casefold() == wanted.casefold():
            return rep, wanted or issuer
    if wanted:
        raise rejected(
            f"{what} holds no identifier issued by {wanted} (the interface's MRN authority).",
            ErrorCode.REQUIRED_FIELD_MISSING,
            where,
        )
    raise rejected(f"{what} is empty.", ErrorCode.REQUIRED_FIELD_MISSING, where)


# --- PID, PV1, MRG ------------------------------------------------------------------------------


def read_patient(message: Message, rules: Rules) -> PatientData:
    pid = message.first("PID")
    if pid is None:
        raise rejected(
            f"{message.message_type}^{message.trigger} without a PID segment: RadFlow needs "
            "to know the patient.",
            ErrorCode.SEGMENT_SEQUENCE,
            Location("PID"),
        )
    ids = pid.reps(3)
    mrn_rep, authority = _choose_id(ids, rules, pid.at(3), "PID-3")
    mrn = mrn_rep.get(1)
    identifiers = tuple(
        Identifier(rep.get(1), _authority(rep), rep.get(5).upper())
        for rep in ids
        if rep is not mrn_rep and rep.get(1)
    )
    names = pid.reps(5)
    name = next((r for r in names if r.get(7).upper() == "L"), names[0] if names else None)

    def part(component: int, sub: int = 1) -> str | None:
        return optional(name.get(component, sub)) if name is not None else None

    sex_code = pid.get(8).upper()
    sex: str | None = None
    if sex_code and sex_code != NULL:
        sex = SEX_CODES.get(sex_code)
        if sex is None:
            raise rejected(
                f"PID-8 sex {sex_code!r} is not in HL7 table 0001 (F, M, O, U, A, N).",
                ErrorCode.TABLE_VALUE_NOT_FOUND,
                pid.at(8),
            )
    return PatientData(
        mrn=mrn,
        mrn_authority=authority,
        identifiers=identifiers,
        family_name=part(1),
        given_name=part(2),
        middle_name=part(3),
        suffix=part(4),
        prefix=part(5),
        birth_date=parse_date(pid.get(7), pid.at(7), "PID-7 birth date"),
        sex=sex,
        **_address(pid),
        **_contact(pid),
        language=_language(pid),
        segment=pid.at(),
    )


def _address(pid: Segment) -> dict[str, str | None]:
    keys = ("address_line", "city", "state", "postal_code")
    raw = pid.raw(11)
    if raw == "":
        return dict.fromkeys(keys)
    if raw == NULL:
        return dict.fromkeys(keys, "")
    reps = pid.reps(11)
    home = next((r for r in reps if r.get(7).upper() == "H"), reps[0])
    street = ", ".join(p for p in (home.get(1, 1), home.get(2)) if p)
    return {
        "address_line": street,
        "city": home.get(3),
        "state": home.get(4),
        "postal_code": home.get(5),
    }


def _contact(pid: Segment) -> dict[str, str | None]:
    raw = pid.raw(13)
    if raw == NULL:
        return {"phone": "", "email": ""}
    reps = [*pid.reps(13), *pid.reps(14)]
    phone = next((_phone(r) for r in reps if not _is_email_rep(r) and _phone(r)), None)
    email = next(
        (r.get(4) or r.get(1) for r in reps if _is_email_rep(r) and (r.get(4) or r.get(1))),
        None,
    )
    if email is not None and not _EMAIL.match(email):
        email = None  # not an address: dropped rather than refusing the patient for it
    return {"phone": phone, "email": email}


def _language(pid: Segment) -> str | None:
    code = pid.get(15).strip().lower()
    if not code or code == NULL:
        return None
    if len(code) == 2:
        return code
    return ISO_639_2.get(code)


def read_visit(message: Message) -> VisitData | None:
    pv1 = message.first("PV1")
    if pv1 is None:
        return None
    location = " ".join(p for p in (pv1.get(3, 1), pv1.get(3, 2), pv1.get(3, 3)) if p)
    return VisitData(
        patient_class=PATIENT_CLASSES.get(pv1.get(2).upper(), "outpatient"),
        visit_number=pv1.get(19),
        location=location,
    )


def read_merged(message: Message, rules: Rules) -> Identifier:
    mrg = message.first("MRG")
    if mrg is None:
        raise rejected(
            "ADT^A40 without an MRG segment: which patient is merged?",
            ErrorCode.SEGMENT_SEQUENCE,
            Location("MRG"),
        )
    rep, authority = _choose_id(mrg.reps(1), rules, mrg.at(1), "MRG-1")
    return Identifier(rep.get(1), authority, rep.get(5).upper())


# --- orders -------------------------------------------------------------------------------------


@dataclass
class _Group:
    orc: Segment | None = None
    obr: Segment | None = None
    tq1: Segment | None = None
    notes: list[Segment] = field(default_factory=list)
    dg1: list[Segment] = field(default_factory=list)
    obx: list[Segment] = field(default_factory=list)
    ipc: list[Segment] = field(default_factory=list)
    #: IHE's 2.3.1 ZDS after the OBR: ZDS-1 is the Study Instance UID the placer assigned.
    zds: Segment | None = None


def _groups(message: Message, *, orc_required: bool) -> list[_Group]:
    groups: list[_Group] = []
    current: _Group | None = None
    for segment in message.segments:
        name = segment.name
        if name == "ORC":
            current = _Group(orc=segment)
            groups.append(current)
        elif name == "OBR":
            if current is None or current.obr is not None:
                if orc_required:
                    raise rejected(
                        f"OBR {segment.sequence} has no ORC before it: each order is ORC then OBR.",
                        ErrorCode.SEGMENT_SEQUENCE,
                        segment.at(),
                    )
                current = _Group()
                groups.append(current)
            current.obr = segment
        elif current is None:
            continue
        elif name == "TQ1" and current.tq1 is None:
            current.tq1 = segment
        elif name == "NTE" and current.obr is not None:
            current.notes.append(segment)
        elif name == "DG1":
            current.dg1.append(segment)
        elif name == "OBX":
            current.obx.append(segment)
        elif name == "IPC":
            current.ipc.append(segment)
        elif name == "ZDS" and current.zds is None:
            current.zds = segment
    if not groups:
        what = "ORC" if orc_required else "OBR"
        raise rejected(
            f"{message.message_type}^{message.trigger} without an {what} segment.",
            ErrorCode.SEGMENT_SEQUENCE,
            Location(what),
        )
    return groups


def _first(*candidates: tuple[Segment | None, int, int, int]) -> tuple[str, Location | None]:
    """The first non-empty (segment, field, component, subcomponent) and where it was."""
    for segment, number, component, sub in candidates:
        if segment is not None:
            value = segment.get(number, component, sub)
            if value:
                return value, segment.at(number, component)
    return "", None


def _procedures(obr: Segment, rules: Rules) -> tuple[Coded, ...]:
    found = [c for number in (4, 44) for rep in obr.reps(number)[:1] for c in coded_pairs(rep)]
    found = list(dict.fromkeys(found))
    if not found:
        return ()
    wanted = _system(rules.procedure_code_system)
    if wanted:
        matching = [c for c in found if _system(c.system) in (wanted, "")]
        if not matching:
            systems = ", ".join(sorted({c.system or "none" for c in found}))
            raise rejected(
                f"OBR-4 has no code of the interface's coding system {wanted} (found {systems}).",
                ErrorCode.TABLE_VALUE_NOT_FOUND,
                obr.at(4),
            )
        found = matching
    return tuple(found)


def _priority(group: _Group) -> Priority | None:
    code, where = _first(
        (group.tq1, 9, 1, 1),
        (group.orc, 7, 6, 1),
        (group.obr, 27, 6, 1),
    )
    if not code:
        return None
    priority = PRIORITY_CODES.get(code.upper())
    if priority is None:
        raise rejected(
            f"Priority {code!r} is not in HL7 table 0027 (S, A, R, P, C, T, PRN).",
            ErrorCode.TABLE_VALUE_NOT_FOUND,
            where,
        )
    return priority


def _requested_date(group: _Group) -> date | None:
    value, where = _first(
        (group.tq1, 7, 1, 1),
        (group.orc, 7, 4, 1),
        (group.obr, 27, 4, 1),
    )
    if where is None:
        return None
    return parse_date(value, where, "Requested start")


def _diagnoses(group: _Group) -> tuple[str, ...] | None:
    found: list[tuple[str, Location]] = []
    if group.obr is not None:
        for rep in group.obr.reps(31):
            found += [
                (c.code, group.obr.at(31))
                for c in coded_pairs(rep)
                if _system(c.system) in ICD10_SYSTEMS
            ]
    for dg1 in group.dg1:
        rep = dg1.rep(3)
        method = dg1.get(2).upper()
        found += [
            (c.code, dg1.at(3))
            for c in coded_pairs(rep)[:1]
            if _system(c.system) in ICD10_SYSTEMS or method in ICD10_SYSTEMS
        ]
    if not found:
        return None
    codes: list[str] = []
    for code, where in found:
        try:
            normalized = normalize_icd10(code)
        except ValidationFailed:
            raise rejected(
                f"{code!r} is not an ICD-10-CM code.", ErrorCode.DATA_TYPE, where
            ) from None
        if normalized not in codes:
            codes.append(normalized)
    return tuple(codes)


def _clinical_indication(obr: Segment | None) -> str | None:
    if obr is None:
        return None
    info = optional(obr.get(13))
    if info is not None:
        return info
    reasons = [c.text for rep in obr.reps(31) for c in coded_pairs(rep)[:1] if c.text]
    return "; ".join(dict.fromkeys(reasons)) or None


def _notes(group: _Group) -> str | None:
    if not group.notes:
        return None
    lines = [rep.text().strip() for nte in group.notes for rep in nte.reps(3)]
    return "\n".join(line for line in lines if line) or None


def _lmp(group: _Group) -> date | None:
    for obx in group.obx:
        if obx.get(3, 1) == LMP_LOINC:
            return parse_date(obx.get(5), obx.at(5), "LMP (OBX-5)")
    return None


def _imaging(group: _Group) -> Imaging | None:
    if not group.ipc:
        return _study_from_zds(group.zds)
    ipc = group.ipc[0]
    imaging = Imaging(
        accession_number=ipc.get(1),
        requested_procedure_id=ipc.get(2),
        study_instance_uid=ipc.get(3),
        sps_id=ipc.get(4),
        modality=ipc.get(5),
        station_ae=ipc.get(9),
        segment=ipc.at(),
    )
    accession = imaging.accession_number
    if accession and (len(accession) > 16 or _AE_TITLE_BAD.search(accession)):
        raise rejected(
            f"IPC-1 accession number {accession!r} is not a DICOM accession number (SH: at most "
            "16 characters, no backslash).",
            ErrorCode.DATA_TYPE,
            ipc.at(1),
        )
    _check_uid(imaging.study_instance_uid, ipc.at(3))
    return imaging


def _check_uid(uid: str, where: Location) -> None:
    if uid and (len(uid) > 64 or not _UID.match(uid)):
        raise rejected(
            f"{where.segment}-{where.field} Study Instance UID {uid!r} is not a DICOM UID (digits "
            "and dots, at most 64).",
            ErrorCode.DATA_TYPE,
            where,
        )


def _study_from_zds(zds: Segment | None) -> Imaging | None:
    """A 2.3.1 placer that assigns the Study Instance UID sends it in ZDS-1 (IHE Rad TF-2 4.4)."""
    uid = zds.get(1) if zds is not None else ""
    if zds is None or not uid:
        return None
    _check_uid(uid, zds.at(1))
    return Imaging("", "", uid, "", "", "", zds.at())


def _order(group: _Group, message: Message, rules: Rules) -> OrderData:
    orc, obr = group.orc, group.obr
    if orc is None:  # pragma: no cover - _groups requires ORC for orders
        raise rejected("Order without ORC.", ErrorCode.SEGMENT_SEQUENCE, Location("ORC"))
    control_code = orc.get(1).upper()
    if not control_code:
        raise rejected("ORC-1 order control is empty.", ErrorCode.REQUIRED_FIELD_MISSING, orc.at(1))
    try:
        control = OrderControl(control_code)
    except ValueError:
        raise rejected(
            f"Order control {control_code!r} is not one RadFlow acts on "
            f"({', '.join(c.value for c in OrderControl)}).",
            ErrorCode.TABLE_VALUE_NOT_FOUND,
            orc.at(1),
        ) from None
    placer, _ = _first((orc, 2, 1, 1), (obr, 2, 1, 1))
    filler, _ = _first((orc, 3, 1, 1), (obr, 3, 1, 1))
    if control in (OrderControl.NEW, OrderControl.CHANGE) and obr is None:
        raise rejected(
            f"ORC-1 {control} without an OBR: which procedure is ordered?",
            ErrorCode.SEGMENT_SEQUENCE,
            orc.at(),
        )
    if control is OrderControl.NEW and not placer:
        raise rejected(
            "ORC-2 placer order number is empty: RadFlow could not match a later change or "
            "cancel to this order.",
            ErrorCode.REQUIRED_FIELD_MISSING,
            orc.at(2),
        )
    if not placer and not filler:
        raise rejected(
            "ORC-2 and ORC-3 are empty: which order is this about?",
            ErrorCode.REQUIRED_FIELD_MISSING,
            orc.at(2),
        )
    procedures = _procedures(obr, rules) if obr is not None else ()
    if control is OrderControl.NEW and not procedures and obr is not None:
        raise rejected(
            "OBR-4 universal service identifier is empty: which procedure is ordered?",
            ErrorCode.REQUIRED_FIELD_MISSING,
            obr.at(4),
        )
    reason_rep = orc.rep(16)
    reasons = coded_pairs(reason_rep)
    provider_rep = obr.rep(16) if obr is not None and not obr.rep(16).empty else orc.rep(12)
    phone_rep = orc.rep(14) if not orc.rep(14).empty else (obr.rep(17) if obr else orc.rep(14))
    location, _ = _first((orc, 21, 1, 1), (orc, 13, 1, 1))
    if not location:
        visit = read_visit(message)
        location = visit.location if visit is not None else ""
    return OrderData(
        control=control,
        placer_number=placer,
        filler_number=filler,
        order_status=orc.get(5),
        control_reason=reasons[0] if reasons else None,
        procedures=procedures,
        priority=_priority(group),
        requested_date=_requested_date(group),
        clinical_indication=_clinical_indication(obr),
        diagnosis_codes=_diagnoses(group),
        ordering_provider=_provider(provider_rep),
        ordering_phone=_phone(phone_rep) or None,
        ordering_location=location or None,
        notes=_notes(group),
        lmp_date=_lmp(group),
        imaging=_imaging(group),
        orc=orc.at(),
        obr=obr.at() if obr is not None else None,
    )


# --- results ------------------------------------------------------------------------------------


def _result(group: _Group) -> ResultData:
    obr = group.obr
    if obr is None:  # an ORC with no OBR in a result message
        where = group.orc.at() if group.orc is not None else Location("OBR")
        raise rejected("ORU^R01 order group without an OBR.", ErrorCode.SEGMENT_SEQUENCE, where)
    candidates = [obr.get(3), obr.get(18)]
    if group.orc is not None:
        candidates.insert(1, group.orc.get(3))
    placer, _ = _first((obr, 2, 1, 1), (group.orc, 2, 1, 1))
    status_code = obr.get(25).upper()
    if not status_code:
        raise rejected(
            "OBR-25 result status is empty: is the report preliminary (P) or final (F)?",
            ErrorCode.REQUIRED_FIELD_MISSING,
            obr.at(25),
        )
    if status_code in PRELIMINARY:
        status = ResultStatus.PRELIMINARY
    elif status_code in FINAL:
        status = ResultStatus.FINAL
    else:
        raise rejected(
            f"OBR-25 result status {status_code!r} carries no report RadFlow records "
            "(P, A, R preliminary; F, C final).",
            ErrorCode.TABLE_VALUE_NOT_FOUND,
            obr.at(25),
        )
    lines: list[str] = []
    for obx in group.obx:
        if obx.get(2).upper() not in TEXT_VALUE_TYPES:
            continue
        lines += [rep.text().rstrip() for rep in obx.reps(5)]
    text = "\n".join(lines).strip()
    if not text:
        raise rejected(
            "No report text: ORU^R01 needs OBX segments of type TX, FT or ST.",
            ErrorCode.REQUIRED_FIELD_MISSING,
            group.obx[0].at(5) if group.obx else Location("OBX"),
        )
    return ResultData(
        accession_candidates=tuple(dict.fromkeys(c for c in candidates if c)),
        placer_number=placer,
        status=status,
        status_code=status_code,
        text=text,
        interpreter=_interpreter(obr.rep(32)),
        obr=obr.at(),
    )


# --- the whole message --------------------------------------------------------------------------


def read(message: Message, rules: Rules) -> Inbound:
    """The message in RadFlow's terms; ``Hl7Error`` (AR or AE) when RadFlow cannot take it."""
    kind = kind_of(message)
    patient = read_patient(message, rules)
    merged: Identifier | None = None
    orders: tuple[OrderData, ...] = ()
    results: tuple[ResultData, ...] = ()
    if kind is MessageKind.MERGE:
        merged = read_merged(message, rules)
        same = (merged.value, merged.authority.casefold()) == (
            patient.mrn,
            patient.mrn_authority.casefold(),
        )
        if same:
            raise rejected(
                "MRG-1 names the surviving patient (PID-3): nothing to merge.",
                ErrorCode.DATA_TYPE,
                Location("MRG", 1, 1),
            )
    elif kind is MessageKind.ORDER:
        orders = tuple(_order(g, message, rules) for g in _groups(message, orc_required=True))
    elif kind is MessageKind.RESULT:
        results = tuple(_result(g) for g in _groups(message, orc_required=False))
    return Inbound(
        kind=kind,
        message_type=message.message_type,
        event=message.trigger,
        patient=patient,
        visit=read_visit(message),
        merged=merged,
        orders=orders,
        results=results,
    )


__all__ = [
    "Coded",
    "Hl7Error",
    "Identifier",
    "Imaging",
    "Inbound",
    "MessageKind",
    "OrderControl",
    "OrderData",
    "PatientData",
    "Priority",
    "Provider",
    "ResultData",
    "ResultStatus",
    "Rules",
    "VisitData",
    "kind_of",
    "read",
]
