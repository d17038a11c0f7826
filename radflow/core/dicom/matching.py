"""Modality Worklist C-FIND: the request's keys, matching (PS3.4 C.2.2.2, K.6) and the answers.

``parse_query`` reads an Identifier once into a ``WorklistQuery``: compiled conditions for
``matches``, a plan of what every answer contains for ``respond``, and the literal parts of the
keys (``TextKey``, ``start``) the database side uses to narrow with its indexes before
``matches`` decides. The rules:

- Single value matching: exact; person names case-insensitively (full Unicode case folding,
  ``worklist.name_key``); other strings case-sensitively, surrounding spaces ignored.
- Wild card matching: ``*`` any run of characters, ``?`` one, for every string VR except
  DA/TM/DT/UI; a key that is only ``*`` is universal.
- List of UID matching (``\\``-separated UIDs) for UI keys; every other key must be single-valued.
- Range matching: DA, TM and DT as ``A-B``, ``-B``, ``A-`` or one value (``10`` is the whole hour).
  The Scheduled Procedure Step Start Date and Time are matched as one combined date-time
  (C.2.2.2.5.1): ``20260105-20260107`` with ``0800-1800`` is Jan 5 08:00 to Jan 7 18:00.
- Universal matching: a zero-length key matches everything and asks for the value back.
- Sequence matching: the key holds one Item whose keys all must match; a sequence with no Item
  or an empty Item matches everything and asks for the whole Item back (C.2.2.2.6).
- A non-universal key never matches a value RadFlow does not know (an empty one). Keys that
  RadFlow holds no value for (Admission ID, Patient Weight ...) are return keys only: they come
  back empty, whatever the request put in them.

Every key of the request comes back, nothing else (Specific Character Set is added when the
answer needs one). Type 1 return keys are never empty: a value RadFlow lacks gets a stated
placeholder (``TYPE1_PLACEHOLDERS``).

Errors (C.4.1.1.4): an Identifier that does not fit the model (a second item in a sequence, a
multi-valued key, a malformed date, time or range, a wrong VR for a known key) is 0xA900; one
that cannot be read at all is 0xC000.
"""

from __future__ import annotations

import calendar
import re
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone
from enum import Enum
from typing import Any

from pydicom import config as pydicom_config
from pydicom.charset import python_encoding
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence as DicomSequence

from radflow.core.dicom.worklist import ProcedureCode, WorklistEntry, name_key
from radflow.core.errors import RadflowError

IDENTIFIER_DOES_NOT_MATCH = 0xA900
UNABLE_TO_PROCESS = 0xC000

LATIN_1 = "ISO_IR 100"
UTF_8 = "ISO_IR 192"

SPECIFIC_CHARACTER_SET = 0x00080005
SPS_SEQUENCE = 0x00400100

#: Type 1 return keys RadFlow may not know, and what goes out instead of an empty value.
TYPE1_PLACEHOLDERS: dict[str, str] = {
    "PatientName": "UNKNOWN",
    "PatientID": "UNKNOWN",
    "ScheduledStationAETitle": "UNASSIGNED",
    "Modality": "OT",
    "RequestedProcedureDescription": "UNSPECIFIED PROCEDURE",
    "ScheduledProcedureStepDescription": "UNSPECIFIED PROCEDURE",
}

#: Longest value per VR (PS3.5 Table 6.2-1), in characters; longer values are cut.
_MAX_CHARS = {"AE": 16, "CS": 16, "SH": 16, "LO": 64, "UI": 64, "LT": 10240, "ST": 1024}
#: VRs whose values are strings that may carry wild cards.
_STRING_VRS = frozenset(
    {"AE", "AS", "CS", "DS", "IS", "LO", "LT", "PN", "SH", "ST", "UC", "UR", "UT", "UI"}
)
#: VRs whose (decoded) values depend on the character set.
_TEXT_VRS = frozenset({"LO", "LT", "PN", "SH", "ST", "UC", "UT"})


class QueryError(RadflowError):
    """The request cannot be answered; ``status`` is the C-FIND failure status to send."""

    code = "dicom_query"

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Kind(Enum):
    TEXT = "text"
    PN = "pn"
    UID = "uid"
    DATE = "date"
    TIME = "time"
    DATETIME = "datetime"
    INT = "int"
    CODE = "code"  # a code sequence (one item: CodeValue, CodingSchemeDesignator, CodeMeaning)


Getter = Callable[[WorklistEntry], Any]


@dataclass(frozen=True)
class Attr:
    """One attribute RadFlow holds a value for."""

    keyword: str
    tag: int
    vr: str
    kind: Kind
    get: Getter
    fields: tuple[str, ...]
    #: The logical key the database side narrows on (``WorklistQuery.keys``), if any.
    narrow: str = ""


def _text(name: str) -> Getter:
    return lambda entry: getattr(entry, name)


def _sps_date(entry: WorklistEntry) -> date:
    return entry.sps_start.date()


def _sps_time(entry: WorklistEntry) -> time:
    return entry.sps_start.timetz().replace(tzinfo=None)


def _sps_datetime(entry: WorklistEntry) -> datetime:
    return entry.sps_start


def _attr(
    keyword: str,
    tag: int,
    vr: str,
    kind: Kind,
    name: str,
    narrow: str = "",
    get: Getter | None = None,
) -> Attr:
    return Attr(keyword, tag, vr, kind, get or _text(name), (name,), narrow)


#: Top-level attributes (Table K.6-1) with a value in ``WorklistEntry``.
TOP_LEVEL: dict[int, Attr] = {
    a.tag: a
    for a in (
        _attr("AccessionNumber", 0x00080050, "SH", Kind.TEXT, "accession_number", "accession"),
        _attr("ReferringPhysicianName", 0x00080090, "PN", Kind.PN, "referring_physician"),
        _attr("PatientName", 0x00100010, "PN", Kind.PN, "patient_name", "patient_name"),
        _attr("PatientID", 0x00100020, "LO", Kind.TEXT, "patient_id", "patient_id"),
        _attr("IssuerOfPatientID", 0x00100021, "LO", Kind.TEXT, "issuer_of_patient_id", "issuer"),
        _attr("PatientBirthDate", 0x00100030, "DA", Kind.DATE, "birth_date"),
        _attr("PatientSex", 0x00100040, "CS", Kind.TEXT, "sex"),
        _attr("MedicalAlerts", 0x00102000, "LO", Kind.TEXT, "medical_alerts"),
        _attr("Allergies", 0x00102110, "LO", Kind.TEXT, "allergies"),
        _attr("PregnancyStatus", 0x001021C0, "US", Kind.INT, "pregnancy_status"),
        _attr("StudyInstanceUID", 0x0020000D, "UI", Kind.UID, "study_instance_uid", "study_uid"),
        _attr("RequestingPhysician", 0x00321032, "PN", Kind.PN, "requesting_physician"),
        _attr(
            "RequestedProcedureDescription",
            0x00321060,
            "LO",
            Kind.TEXT,
            "requested_procedure_description",
        ),
        _attr("RequestedProcedureCodeSequence", 0x00321064, "SQ", Kind.CODE, "procedure_code"),
        _attr(
            "RequestedProcedureID",
            0x00401001,
            "SH",
            Kind.TEXT,
            "requested_procedure_id",
            "accession",
        ),
        _attr("ReasonForTheRequestedProcedure", 0x00401002, "LO", Kind.TEXT, "reason"),
        _attr("RequestedProcedurePriority", 0x00401003, "SH", Kind.TEXT, "priority"),
    )
}

#: Attributes of the Scheduled Procedure Step Sequence's item.
SPS_ITEM: dict[int, Attr] = {
    a.tag: a
    for a in (
        _attr("Modality", 0x00080060, "CS", Kind.TEXT, "modality", "modality"),
        _attr("ScheduledStationAETitle", 0x00400001, "AE", Kind.TEXT, "station_ae", "station_ae"),
        _attr(
            "ScheduledProcedureStepStartDate",
            0x00400002,
            "DA",
            Kind.DATE,
            "sps_start",
            get=_sps_date,
        ),
        _attr(
            "ScheduledProcedureStepStartTime",
            0x00400003,
            "TM",
            Kind.TIME,
            "sps_start",
            get=_sps_time,
        ),
        _attr(
            "ScheduledPerformingPhysicianName", 0x00400006, "PN", Kind.PN, "performing_physician"
        ),
        _attr("ScheduledProcedureStepDescription", 0x00400007, "LO", Kind.TEXT, "sps_description"),
        _attr("ScheduledProtocolCodeSequence", 0x00400008, "SQ", Kind.CODE, "procedure_code"),
        _attr("ScheduledProcedureStepID", 0x00400009, "SH", Kind.TEXT, "sps_id", "accession"),
        _attr("ScheduledStationName", 0x00400010, "SH", Kind.TEXT, "station_name", "station_name"),
        _attr("ScheduledProcedureStepLocation", 0x00400011, "SH", Kind.TEXT, "location"),
        _attr("ScheduledProcedureStepStatus", 0x00400020, "CS", Kind.TEXT, "sps_status", "status"),
        _attr(
            "ScheduledProcedureStepStartDateTime",
            0x00404005,
            "DT",
            Kind.DATETIME,
            "sps_start",
            get=_sps_datetime,
        ),
    )
}

_SPS_DATE = 0x00400002
_SPS_TIME = 0x00400003

#: Attributes of a code item (PS3.3 Table 8.8-1), from a ``ProcedureCode``.
CODE_ITEM: dict[int, tuple[str, str, str]] = {
    0x00080100: ("CodeValue", "SH", "value"),
    0x00080102: ("CodingSchemeDesignator", "SH", "scheme"),
    0x00080104: ("CodeMeaning", "LO", "meaning"),
}


# --- values: dates, times, ranges -----------------------------------------------------------

_DA = re.compile(r"(\d{4})\.?(\d{2})\.?(\d{2})")
_TM = re.compile(r"(\d{2})(?::?(\d{2})(?::?(\d{2})(?:\.(\d{1,6}))?)?)?")
_DT = re.compile(
    r"(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,6}))?)?)?)?)?)?"
    r"([+-]\d{4})?"
)


def _bad(keyword: str, what: str) -> QueryError:
    # Never the value itself: a key may hold a patient's name.
    return QueryError(IDENTIFIER_DOES_NOT_MATCH, f"{keyword}: {what}")


def _parse_date(text: str, keyword: str) -> date:
    found = _DA.fullmatch(text)
    if not found:
        raise _bad(keyword, "not a date (YYYYMMDD)")
    try:
        return date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        raise _bad(keyword, "not a calendar date") from None


def _parse_time(text: str, keyword: str, *, upper: bool) -> time:
    """The first (or, ``upper``, the last) instant of a TM value at its precision."""
    found = _TM.fullmatch(text)
    if not found:
        raise _bad(keyword, "not a time (HHMMSS.FFFFFF)")
    hour = int(found[1])
    minute = int(found[2]) if found[2] else (59 if upper else 0)
    second = min(int(found[3]), 59) if found[3] else (59 if upper else 0)
    if found[4]:
        digits = len(found[4])
        micro = int(found[4]) * 10 ** (6 - digits)
        if upper:
            micro += 10 ** (6 - digits) - 1
    elif upper:
        micro = 999_999
    else:
        micro = 0
    try:
        return time(hour, minute, second, micro)
    except ValueError:
        raise _bad(keyword, "not a time of day") from None


def _parse_datetime(text: str, keyword: str, *, upper: bool) -> datetime:
    """The first (or last) instant of a DT value; aware when it carries an offset."""
    found = _DT.fullmatch(text)
    if not found:
        raise _bad(keyword, "not a date-time (YYYYMMDDHHMMSS.FFFFFF&ZZXX)")
    year = int(found[1])
    try:
        month = int(found[2]) if found[2] else 1
        day = int(found[3]) if found[3] else 1
        hour = int(found[4]) if found[4] else 0
        minute = int(found[5]) if found[5] else 0
        second = min(int(found[6]), 59) if found[6] else 0
        micro = int(found[7]) * 10 ** (6 - len(found[7])) if found[7] else 0
        low = datetime(year, month, day, hour, minute, second, micro)  # noqa: DTZ001
        if not upper:
            value = low
        elif found[2] is None:
            value = datetime(year, 12, 31, 23, 59, 59, 999_999)  # noqa: DTZ001
        elif found[3] is None:
            last_day = calendar.monthrange(year, month)[1]
            value = datetime(year, month, last_day, 23, 59, 59, 999_999)  # noqa: DTZ001
        else:
            if found[7]:
                step = timedelta(microseconds=10 ** (6 - len(found[7])))
            elif found[6]:
                step = timedelta(seconds=1)
            elif found[5]:
                step = timedelta(minutes=1)
            elif found[4]:
                step = timedelta(hours=1)
            else:
                step = timedelta(days=1)
            value = low + (step - timedelta(microseconds=1))
    except (ValueError, OverflowError):
        raise _bad(keyword, "not a calendar date-time") from None
    if found[8]:
        sign = 1 if found[8][0] == "+" else -1
        offset = timedelta(hours=int(found[8][1:3]), minutes=int(found[8][3:5]))
        if offset > timedelta(hours=14):
            raise _bad(keyword, "offset out of range")
        value = value.replace(tzinfo=dt_timezone(sign * offset))
    return value


Bound = Any  # date | time | datetime | None


def _range(
    text: str, keyword: str, parse: Callable[[str, bool], Bound], *, ordered: bool = True
) -> tuple[Bound, Bound]:
    """``A-B``, ``-B``, ``A-`` or ``A`` (PS3.4 C.2.2.2.5) as inclusive (low, high) bounds;
    ``ordered``: a range that ends before it starts does not fit."""
    if text.count("-") > 1 or text == "-":
        raise _bad(keyword, "not a range (A-B, -B, A- or a single value)")
    if "-" in text:
        low_text, _, high_text = text.partition("-")
        low = parse(low_text.strip(), False) if low_text.strip() else None
        high = parse(high_text.strip(), True) if high_text.strip() else None
        reversed_range = (
            low is not None and high is not None and _compare_key(low) > _compare_key(high)
        )
        if ordered and reversed_range:
            raise _bad(keyword, "range ends before it starts")
        return low, high
    return parse(text, False), parse(text, True)


def _compare_key(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None) - (value.utcoffset() or timedelta())
    return value


def _date_bounds(text: str, keyword: str) -> tuple[date | None, date | None]:
    return _range(text, keyword, lambda t, _upper: _parse_date(t, keyword))


def _time_bounds(text: str, keyword: str) -> tuple[time | None, time | None]:
    """A time range may end "before" it starts: ``2200-0600`` is a night (``_within_time``)."""
    return _range(
        text, keyword, lambda t, upper: _parse_time(t, keyword, upper=upper), ordered=False
    )


def _within_time(value: time, low: time | None, high: time | None) -> bool:
    """Time of day in range; a range whose end is before its start wraps past midnight."""
    if low is not None and high is not None and low > high:
        return value >= low or value <= high
    return _within(value, low, high)


def _datetime_bounds(text: str, keyword: str) -> tuple[datetime | None, datetime | None]:
    return _range(text, keyword, lambda t, upper: _parse_datetime(t, keyword, upper=upper))


def _within(value: Any, low: Any, high: Any) -> bool:
    if value is None:
        return False
    return (low is None or low <= value) and (high is None or value <= high)


def _within_datetime(value: datetime | None, low: datetime | None, high: datetime | None) -> bool:
    """A DT bound with an offset compares instants; one without, the department's wall clock."""
    if value is None:
        return False
    for bound, below in ((low, True), (high, False)):
        if bound is None:
            continue
        if bound.tzinfo is not None and value.tzinfo is not None:
            here = value
        else:
            here, bound = value.replace(tzinfo=None), bound.replace(tzinfo=None)
        if (here < bound) if below else (here > bound):
            return False
    return True


# --- values: strings and wild cards ---------------------------------------------------------

_WILDCARDS = re.compile(r"[*?]")


def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def _string_test(pattern: str) -> Callable[[str], bool]:
    if _WILDCARDS.search(pattern) is None:
        return lambda value: value == pattern
    regex = _wildcard_regex(pattern)
    return lambda value: regex.fullmatch(value) is not None


def _pn_test(pattern: str) -> Callable[[str], bool]:
    """Case-insensitive PN matching; without ``=`` in the key each component group of the
    value (alphabetic, ideographic, phonetic) is tried as well as the whole value."""
    folded = name_key(pattern)
    test = _string_test(folded)
    if "=" in folded:
        return lambda value: bool(value) and test(name_key(value))

    def pn(value: str) -> bool:
        if not value:
            return False
        key = name_key(value)
        if test(key):
            return True
        return "=" in key and any(group and test(group) for group in key.split("="))

    return pn


@dataclass(frozen=True)
class TextKey:
    """The literal part of a string key, for the database to narrow with an index.

    ``exact``: the whole value (no wild card); ``prefix``: the characters before the first
    wild card (possibly ""); ``values``: a list of UIDs. Person names are case-folded.
    """

    exact: str | None = None
    prefix: str | None = None
    values: tuple[str, ...] = ()
    #: The key as sent (wild cards included), for ``string_matcher``.
    pattern: str = ""


def _text_key(pattern: str) -> TextKey:
    first = _WILDCARDS.search(pattern)
    if first is None:
        return TextKey(exact=pattern, pattern=pattern)
    return TextKey(prefix=pattern[: first.start()], pattern=pattern)


def string_matcher(pattern: str) -> Callable[[str], bool]:
    """Single value or wild card matching of one string key, case-sensitive (not for PN)."""
    test = _string_test(pattern)
    return lambda value: bool(value) and test(value)


# --- the query ------------------------------------------------------------------------------

Condition = Callable[[WorklistEntry], bool]


@dataclass(frozen=True)
class Return:
    """One attribute of every answer: where its value comes from (``attr``, ``None`` for an
    attribute RadFlow holds no value for) and, for a sequence, its item's plan (``None`` for
    "the whole item")."""

    tag: int
    vr: str
    attr: Attr | None = None
    item: tuple[Return, ...] | None = None
    keyword: str = ""


@dataclass(frozen=True)
class WorklistQuery:
    #: The request's Specific Character Set ("" when absent), values joined by ``\``.
    charset: str
    charset_requested: bool
    conditions: tuple[Condition, ...]
    plan: tuple[Return, ...]
    #: ``WorklistEntry`` fields that matching or the answers read.
    fields: frozenset[str]
    #: Logical key → literal value: accession, patient_id, patient_name, issuer, study_uid,
    #: modality, station_ae, station_name, status. Several keys naming the accession (Accession
    #: Number, Requested Procedure ID, SPS ID) each add one entry to ``accession_keys``.
    keys: dict[str, TextKey] = field(default_factory=dict)
    accession_keys: tuple[TextKey, ...] = ()
    #: The SPS start's range as naive wall-clock bounds (date, or combined date and time).
    start: tuple[datetime | None, datetime | None] | None = None


class _Builder:
    def __init__(self) -> None:
        self.conditions: list[Condition] = []
        self.fields: set[str] = set()
        self.keys: dict[str, TextKey] = {}
        self.accession_keys: list[TextKey] = []
        self.start: tuple[datetime | None, datetime | None] | None = None


def _string_value(elem: DataElement, keyword: str) -> str | list[str]:
    value = elem.value
    if isinstance(value, MultiValue | list | tuple):
        items = [str(v).strip() for v in value]
        return items if len(items) > 1 else (items[0] if items else "")
    if isinstance(value, bytes | bytearray):
        raise _bad(keyword, f"value of VR {elem.VR} where a string is expected")
    return str(value).strip() if value is not None else ""


def _known_leaf(builder: _Builder, attr: Attr, elem: DataElement) -> None:
    """Add ``elem``'s matching condition (if it is not universal) for a known attribute."""
    keyword = attr.keyword
    builder.fields.update(attr.fields)
    if elem.VR == "SQ" or (elem.VR not in _STRING_VRS | {"DA", "TM", "DT", "US", "UN"}):
        if elem.is_empty:
            return
        raise _bad(keyword, f"VR {elem.VR} does not fit (expected {attr.vr})")
    if elem.is_empty:
        return
    if attr.kind is Kind.INT:
        _int_condition(builder, attr, elem)
        return
    raw = _string_value(elem, keyword)
    if isinstance(raw, list):
        if attr.kind is not Kind.UID:
            raise _bad(keyword, "more than one value")
        uids = tuple(v for v in raw if v)
        if any(_WILDCARDS.search(v) for v in uids):
            raise _bad(keyword, "wild cards in a UID list")
        wanted = frozenset(uids)
        get_uid = attr.get
        builder.conditions.append(lambda e: get_uid(e) in wanted)
        if attr.narrow:
            builder.keys[attr.narrow] = TextKey(values=uids)
        return
    text = raw
    if not text or text.strip("*") == "":
        return  # "" or "*": universal
    get = attr.get
    if attr.kind is Kind.TEXT:
        test = _string_test(text)
        builder.conditions.append(lambda e: bool(value := get(e)) and test(value))
        _narrow(builder, attr, _text_key(text))
    elif attr.kind is Kind.PN:
        pn_test = _pn_test(text)
        builder.conditions.append(lambda e: pn_test(get(e)))
        if attr.narrow:
            # The database holds one component group per patient: narrow on the first.
            builder.keys[attr.narrow] = _text_key(name_key(text).split("=")[0])
    elif attr.kind is Kind.UID:
        if _WILDCARDS.search(text):
            raise _bad(keyword, "wild cards are not allowed for UIDs")
        builder.conditions.append(lambda e: get(e) == text)
        _narrow(builder, attr, TextKey(exact=text, values=(text,)))
    elif attr.kind is Kind.DATE:
        low, high = _date_bounds(text, keyword)
        builder.conditions.append(lambda e: _within(get(e), low, high))
    elif attr.kind is Kind.TIME:
        t_low, t_high = _time_bounds(text, keyword)
        builder.conditions.append(lambda e: _within_time(get(e), t_low, t_high))
    elif attr.kind is Kind.DATETIME:
        dt_low, dt_high = _datetime_bounds(text, keyword)
        builder.conditions.append(lambda e: _within_datetime(get(e), dt_low, dt_high))
        naive = (
            dt_low.replace(tzinfo=None) if dt_low and dt_low.tzinfo is None else None,
            dt_high.replace(tzinfo=None) if dt_high and dt_high.tzinfo is None else None,
        )
        if builder.start is None and (naive[0] or naive[1]):
            builder.start = naive
    else:  # pragma: no cover - Kind.CODE is a sequence, handled by the caller
        raise _bad(keyword, "unexpected kind")


def _int_condition(builder: _Builder, attr: Attr, elem: DataElement) -> None:
    value = elem.value
    if isinstance(value, MultiValue | list | tuple):
        if len(value) > 1:
            raise _bad(attr.keyword, "more than one value")
        value = value[0] if value else None
    if value is None or value == "":
        return
    try:
        wanted = int(value)
    except (TypeError, ValueError):
        raise _bad(attr.keyword, "not a number") from None
    get = attr.get
    builder.conditions.append(lambda e: get(e) == wanted)


def _narrow(builder: _Builder, attr: Attr, key: TextKey) -> None:
    if not attr.narrow:
        return
    if attr.narrow == "accession":
        builder.accession_keys.append(key)
    else:
        builder.keys[attr.narrow] = key


def _code_condition(keyword: str, item: Dataset) -> tuple[Condition | None, tuple[Return, ...]]:
    """Sequence matching of a code sequence's item against the entry's procedure code."""
    tests: list[tuple[str, Callable[[str], bool]]] = []
    plan: list[Return] = []
    for elem in item:
        if elem.tag.element == 0:
            continue
        known = CODE_ITEM.get(int(elem.tag))
        if known is None:
            plan.append(_unknown_return(elem))
            continue
        sub_keyword, vr, name = known
        plan.append(Return(int(elem.tag), vr, keyword=sub_keyword))
        if elem.VR == "SQ":
            raise _bad(f"{keyword}>{sub_keyword}", "a sequence where a string is expected")
        if elem.is_empty:
            continue
        raw = _string_value(elem, sub_keyword)
        if isinstance(raw, list):
            raise _bad(f"{keyword}>{sub_keyword}", "more than one value")
        if raw.strip("*"):
            tests.append((name, _string_test(raw)))
    if not tests:
        return None, tuple(plan)

    def condition(entry: WorklistEntry) -> bool:
        code = entry.procedure_code
        return code is not None and all(
            bool(getattr(code, name)) and test(getattr(code, name)) for name, test in tests
        )

    return condition, tuple(plan)


def _sequence_item(elem: DataElement, keyword: str) -> Dataset | None:
    """The one Item of a sequence key, or ``None`` for "no Item / an empty Item"."""
    if elem.VR != "SQ":
        if elem.is_empty:
            return None
        raise _bad(keyword, f"VR {elem.VR} where a sequence is expected")
    items = list(elem.value or [])
    if len(items) > 1:
        raise _bad(keyword, "more than one Item in a sequence key")
    if not items or len(items[0]) == 0:
        return None
    item = items[0]
    if not isinstance(item, Dataset):
        raise _bad(keyword, "an Item that is not a dataset")
    return item


def _unknown_return(elem: DataElement) -> Return:
    vr = elem.VR
    if vr in {"UN", ""} or vr is None:
        try:
            vr = dictionary_VR(elem.tag)
        except KeyError:
            vr = "UN"
        if " or " in vr:
            vr = vr.split(" or ")[0]
    return Return(int(elem.tag), vr)


def _code_return(builder: _Builder, attr: Attr, elem: DataElement) -> Return:
    builder.fields.update(attr.fields)
    item = _sequence_item(elem, attr.keyword)
    if item is None:
        return Return(attr.tag, "SQ", attr, None, attr.keyword)
    condition, plan = _code_condition(attr.keyword, item)
    if condition is not None:
        builder.conditions.append(condition)
    return Return(attr.tag, "SQ", attr, plan, attr.keyword)


def _sps_return(builder: _Builder, elem: DataElement) -> Return:
    item = _sequence_item(elem, "ScheduledProcedureStepSequence")
    if item is None:
        for sps_attr in SPS_ITEM.values():
            builder.fields.update(sps_attr.fields)
        return Return(SPS_SEQUENCE, "SQ", None, None, "ScheduledProcedureStepSequence")
    plan: list[Return] = []
    dates: DataElement | None = None
    times: DataElement | None = None
    for sub in item:
        if sub.tag.element == 0:
            continue
        tag = int(sub.tag)
        attr = SPS_ITEM.get(tag)
        if attr is None:
            plan.append(_unknown_return(sub))
        elif attr.kind is Kind.CODE:
            plan.append(_code_return(builder, attr, sub))
        else:
            plan.append(Return(tag, attr.vr, attr, keyword=attr.keyword))
            if tag == _SPS_DATE:
                dates = sub
                builder.fields.update(attr.fields)
            elif tag == _SPS_TIME:
                times = sub
                builder.fields.update(attr.fields)
            else:
                _known_leaf(builder, attr, sub)
    _start_condition(builder, dates, times)
    return Return(SPS_SEQUENCE, "SQ", None, tuple(plan), "ScheduledProcedureStepSequence")


def _start_condition(
    builder: _Builder, dates: DataElement | None, times: DataElement | None
) -> None:
    """SPS Start Date and Time: combined date-time range matching (PS3.4 C.2.2.2.5.1)."""
    date_text = _plain(dates, "ScheduledProcedureStepStartDate")
    time_text = _plain(times, "ScheduledProcedureStepStartTime")
    if not date_text:
        if time_text:
            t_low, t_high = _time_bounds(time_text, "ScheduledProcedureStepStartTime")
            builder.conditions.append(lambda e: _within_time(_sps_time(e), t_low, t_high))
        return
    d_low, d_high = _date_bounds(date_text, "ScheduledProcedureStepStartDate")
    t_low = t_high = None
    if time_text:
        t_low, t_high = _time_bounds(time_text, "ScheduledProcedureStepStartTime")
    low = datetime.combine(d_low, t_low or time.min) if d_low else None
    high = datetime.combine(d_high, t_high or time.max) if d_high else None
    if low is not None and high is not None and low > high:
        raise _bad("ScheduledProcedureStepStartDate", "range ends before it starts")

    def within(entry: WorklistEntry) -> bool:
        start = entry.sps_start.replace(tzinfo=None)
        return (low is None or low <= start) and (high is None or start <= high)

    builder.conditions.append(within)
    builder.start = (low, high)


def _plain(elem: DataElement | None, keyword: str) -> str:
    if elem is None:
        return ""
    if elem.VR == "SQ" or isinstance(elem.value, bytes | bytearray):
        if elem.is_empty:
            return ""
        raise _bad(keyword, f"VR {elem.VR} does not fit")
    if elem.is_empty:
        return ""
    raw = _string_value(elem, keyword)
    if isinstance(raw, list):
        raise _bad(keyword, "more than one value")
    return "" if raw.strip("*") == "" else raw


def _charset_of(identifier: Dataset) -> tuple[str, bool]:
    """The request's Specific Character Set, and whether it was there at all.

    A term pydicom does not know is dropped (it decoded the request with its default, and an
    answer must not repeat a term no one can read): the answer then picks its own.
    """
    elem = identifier.get(SPECIFIC_CHARACTER_SET)
    if elem is None:
        return "", False
    value = elem.value
    if isinstance(value, bytes | bytearray):
        value = value.decode("ascii", "replace")
    raw = value if isinstance(value, MultiValue | list | tuple) else str(value or "").split("\\")
    terms = [str(term).strip() for term in raw]
    if any(term not in python_encoding for term in terms):
        return "", True
    return "\\".join(terms) if any(terms) else "", True


def parse_query(identifier: Dataset) -> WorklistQuery:
    """Read a Modality Worklist C-FIND Identifier (PS3.4 K.6.1.2.2).

    Raises ``QueryError`` with 0xA900 when the Identifier does not fit the model and 0xC000
    when it cannot be read.
    """
    try:
        return _parse(identifier)
    except QueryError:
        raise
    except Exception as exc:  # a dataset pydicom cannot decode: unable to process
        raise QueryError(
            UNABLE_TO_PROCESS, f"unreadable identifier ({type(exc).__name__})"
        ) from None


def _parse(identifier: Dataset) -> WorklistQuery:
    if not isinstance(identifier, Dataset):
        raise QueryError(UNABLE_TO_PROCESS, "no identifier")
    builder = _Builder()
    charset, charset_requested = _charset_of(identifier)
    plan: list[Return] = []
    for elem in identifier:
        tag = int(elem.tag)
        if elem.tag.element == 0 or tag == SPECIFIC_CHARACTER_SET:
            continue  # group lengths are not keys; the character set is answered separately
        if elem.tag.group in (0x0000, 0x0002, 0xFFFE):
            raise _bad(f"({elem.tag.group:04X},{elem.tag.element:04X})", "not an identifier key")
        if tag == SPS_SEQUENCE:
            plan.append(_sps_return(builder, elem))
            continue
        attr = TOP_LEVEL.get(tag)
        if attr is None:
            if elem.VR == "SQ" and len(elem.value or []) > 1:
                raise _bad(str(elem.keyword or elem.tag), "more than one Item in a sequence key")
            plan.append(_unknown_return(elem))
        elif attr.kind is Kind.CODE:
            plan.append(_code_return(builder, attr, elem))
        else:
            plan.append(Return(tag, attr.vr, attr, keyword=attr.keyword))
            _known_leaf(builder, attr, elem)
    if not plan and not charset_requested:
        raise QueryError(IDENTIFIER_DOES_NOT_MATCH, "no keys: nothing to match or return")
    return WorklistQuery(
        charset=charset,
        charset_requested=charset_requested,
        conditions=tuple(builder.conditions),
        plan=tuple(plan),
        fields=frozenset(builder.fields),
        keys=builder.keys,
        accession_keys=tuple(builder.accession_keys),
        start=builder.start,
    )


def matches(query: WorklistQuery, entry: WorklistEntry) -> bool:
    """Whether ``entry`` satisfies every matching key of ``query``."""
    return all(condition(entry) for condition in query.conditions)


# --- the answer -----------------------------------------------------------------------------

_IGNORE = pydicom_config.IGNORE
#: VRs with no value field when empty that pydicom wants as ``None``, and binary ones (``b""``).
_NUMERIC_VRS = frozenset({"US", "SS", "UL", "SL", "FL", "FD", "AT", "SV", "UV"})
_BINARY_VRS = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN"})
#: Explicit VR little endian: these VRs have a reserved 2 bytes and a 4-byte length (PS3.5 7.1.2).
_LONG_LENGTH_VRS = frozenset(
    {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}
)

#: One element of an answer: (tag, VR, value); a sequence's value is a list of items.
Rendered = tuple[int, str, Any]


def _format(attr: Attr, value: Any) -> Any:
    """The value as it goes into the answer's element (empty when unknown)."""
    if value is None or value == "":
        placeholder = TYPE1_PLACEHOLDERS.get(attr.keyword)
        if placeholder is not None:
            return placeholder
        return None if attr.vr == "US" else ""
    kind = attr.kind
    if kind is Kind.DATE:
        return value.strftime("%Y%m%d")
    if kind is Kind.TIME:
        return value.strftime("%H%M%S")
    if kind is Kind.DATETIME:
        return value.strftime("%Y%m%d%H%M%S%z")
    if kind is Kind.INT:
        return int(value)
    text = str(value)
    if attr.vr != "PN":
        text = text.replace("\\", "/")
        limit = _MAX_CHARS.get(attr.vr)
        if limit is not None and len(text) > limit:
            text = text[:limit].rstrip()
    return text


def _empty_value(vr: str) -> Any:
    if vr == "SQ":
        return []
    if vr in _NUMERIC_VRS:
        return None
    if vr in _BINARY_VRS:
        return b""
    return ""


def _code_items(
    code: ProcedureCode | None, plan: tuple[Return, ...] | None, texts: list[str]
) -> list[list[Rendered]]:
    if code is None:
        return []
    if plan is None:
        plan = tuple(Return(tag, vr, keyword=kw) for tag, (kw, vr, _) in CODE_ITEM.items())
    item: list[Rendered] = []
    for ret in plan:
        known = CODE_ITEM.get(ret.tag)
        if known is None:
            item.append((ret.tag, ret.vr, _empty_value(ret.vr)))
            continue
        value = str(getattr(code, known[2]) or "").replace("\\", "/")
        limit = _MAX_CHARS.get(ret.vr)
        if limit is not None:
            value = value[:limit]
        texts.append(value)
        item.append((ret.tag, ret.vr, value))
    return [item]


_FULL_SPS_PLAN = tuple(
    Return(attr.tag, attr.vr, attr, None, attr.keyword)
    for attr in sorted(SPS_ITEM.values(), key=lambda a: a.tag)
)


def _render(plan: Iterable[Return], entry: WorklistEntry, texts: list[str]) -> list[Rendered]:
    """The answer's elements for ``plan`` (tag order kept), collecting its text values."""
    out: list[Rendered] = []
    for ret in plan:
        attr = ret.attr
        if ret.tag == SPS_SEQUENCE:
            sub_plan = ret.item if ret.item is not None else _FULL_SPS_PLAN
            out.append((SPS_SEQUENCE, "SQ", [_render(sub_plan, entry, texts)]))
        elif attr is None:
            out.append((ret.tag, ret.vr, _empty_value(ret.vr)))
        elif attr.kind is Kind.CODE:
            out.append((ret.tag, "SQ", _code_items(entry.procedure_code, ret.item, texts)))
        else:
            value = _format(attr, attr.get(entry))
            if isinstance(value, str) and attr.vr in _TEXT_VRS:
                texts.append(value)
            out.append((ret.tag, ret.vr, value))
    return out


def _codec(charset: str) -> str | None:
    if not charset or "\\" in charset or charset.startswith("ISO 2022"):
        return None
    return python_encoding.get(charset)


def _encodes(texts: list[str], codec: str) -> bool:
    try:
        for text in texts:
            text.encode(codec)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def answer_charset(request_charset: str, texts: list[str]) -> str:
    """The Specific Character Set an answer goes out in: the request's when its values fit
    (plain ASCII always does), else ISO_IR 100 for Latin-1 values, else ISO_IR 192 (UTF-8)."""
    if all(text.isascii() for text in texts):
        return request_charset
    if request_charset == UTF_8:
        return UTF_8
    codec = _codec(request_charset)
    if codec is not None and _encodes(texts, codec):
        return request_charset
    if request_charset in ("", LATIN_1, "ISO_IR 6") and _encodes(texts, "latin_1"):
        return LATIN_1
    return UTF_8


def _answer(
    query: WorklistQuery, entry: WorklistEntry, charset: str
) -> tuple[list[Rendered], str | None]:
    """The rendered answer and its Specific Character Set (``None``: leave the element out)."""
    texts: list[str] = []
    rendered = _render(query.plan, entry, texts)
    chosen = answer_charset(charset or query.charset, texts)
    if chosen or query.charset_requested:
        return rendered, chosen
    return rendered, None


def _to_dataset(rendered: list[Rendered]) -> Dataset:
    ds = Dataset()
    for tag, vr, value in rendered:
        if vr == "SQ":
            value = DicomSequence([_to_dataset(item) for item in value])
        ds.add(DataElement(tag, vr, value, validation_mode=_IGNORE))
    return ds


def respond(
    identifier: Dataset,
    entry: WorklistEntry,
    *,
    charset: str = "",
    query: WorklistQuery | None = None,
) -> Dataset:
    """The pending answer for ``entry``: every key of ``identifier`` (and only those) with
    ``entry``'s values, in the character set ``answer_charset`` picks for the request's
    ``charset``. Pass the parsed ``query`` to skip parsing the identifier again."""
    query = query or parse_query(identifier)
    rendered, chosen = _answer(query, entry, charset)
    answer = _to_dataset(rendered)
    if chosen is not None:
        value: str | list[str] = chosen.split("\\") if "\\" in chosen else chosen
        answer.add(DataElement(SPECIFIC_CHARACTER_SET, "CS", value, validation_mode=_IGNORE))
    return answer


def _element(tag: int, vr: str, value: bytes, implicit_vr: bool) -> bytes:
    if len(value) % 2:
        value += b"\x00" if vr == "UI" else b" "
    group, element = tag >> 16, tag & 0xFFFF
    if implicit_vr:
        return struct.pack("<HHI", group, element, len(value)) + value
    if vr in _LONG_LENGTH_VRS:
        return struct.pack("<HH2sHI", group, element, vr.encode(), 0, len(value)) + value
    return struct.pack("<HH2sH", group, element, vr.encode(), len(value)) + value


def _encode_elements(rendered: list[Rendered], codec: str, implicit_vr: bool) -> bytes:
    parts: list[bytes] = []
    for tag, vr, value in rendered:
        if vr == "SQ":
            items = b"".join(
                struct.pack("<HHI", 0xFFFE, 0xE000, len(body)) + body
                for body in (_encode_elements(item, codec, implicit_vr) for item in value)
            )
            parts.append(_element(tag, vr, items, implicit_vr))
        elif value is None or value == b"":
            parts.append(_element(tag, vr, b"", implicit_vr))
        elif vr == "US":
            parts.append(_element(tag, vr, struct.pack("<H", value), implicit_vr))
        elif isinstance(value, bytes):
            parts.append(_element(tag, vr, value, implicit_vr))
        else:
            text_codec = codec if vr in _TEXT_VRS else "ascii"
            parts.append(_element(tag, vr, str(value).encode(text_codec, "replace"), implicit_vr))
    return b"".join(parts)


def encode_answer(
    query: WorklistQuery, entry: WorklistEntry, *, implicit_vr: bool, charset: str = ""
) -> bytes:
    """``respond``'s answer, already encoded in little endian (implicit or explicit VR).

    pydicom writes element by element through generic machinery, about as costly per answer
    as the database read of a whole query; the worklist's answers use a handful of VRs, so
    they are encoded here directly. ``respond`` stays the reference: the tests decode these
    bytes and compare them with it.
    """
    rendered, chosen = _answer(query, entry, charset)
    if chosen is not None:
        rendered.insert(0, (SPECIFIC_CHARACTER_SET, "CS", chosen))
        rendered.sort(key=lambda element: element[0])
    codec = _codec(chosen or "") or ("utf_8" if chosen == UTF_8 else "ascii")
    return _encode_elements(rendered, codec, implicit_vr)
