"""Modality Performed Procedure Step datasets as plain values, and the checks PS3.4 F.7 asks.

A modality creates one MPPS instance when it starts a scan (N-CREATE, status IN PROGRESS) and
updates it (N-SET) until it reports a final state, COMPLETED or DISCONTINUED; after that the
instance may no longer change. Parsing lives here, free of Django, so the rules can be tested
with hypothesis and the DICOM handler stays a thin adapter.

Every refusal is an ``MppsRefused`` carrying the DIMSE status (PS3.7 Annex C, PS3.4 F.7.2):

- ``0x0120`` missing attribute: a Type 1 attribute of Table F.7.2-1 is absent;
- ``0x0121`` missing attribute value: a Type 1 attribute is present but empty;
- ``0x0106`` invalid attribute value: a value breaks its VR, or the N-CREATE status is not
  IN PROGRESS, or the end is before the start;
- ``0x0110`` processing failure (Error ID A710): N-SET on a step that is no longer IN PROGRESS;
- ``0x0111`` duplicate SOP instance, ``0x0112`` no such instance: decided by the store.

Type 2 attributes that a modality leaves out altogether are tolerated (many consoles omit empty
ones); what RadFlow does not need is kept in the stored dataset and otherwise ignored. Messages
name attributes by keyword and never carry a value: they become the DICOM Error Comment and log
lines, which must hold no PHI.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from enum import IntEnum, StrEnum
from typing import Any

from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

from radflow.core.errors import RadflowError


class Status(IntEnum):
    """DIMSE statuses this service answers with (PS3.7 C.4.x, PS3.4 F.7.2)."""

    SUCCESS = 0x0000
    INVALID_ATTRIBUTE_VALUE = 0x0106
    PROCESSING_FAILURE = 0x0110
    DUPLICATE_SOP_INSTANCE = 0x0111
    NO_SUCH_OBJECT_INSTANCE = 0x0112
    MISSING_ATTRIBUTE = 0x0120
    MISSING_ATTRIBUTE_VALUE = 0x0121
    NO_SUCH_SOP_CLASS = 0x0118
    NOT_AUTHORISED = 0x0124


#: PS3.4 F.7.2.2.2: the Error ID that goes with 0x0110 when the step is already final.
ERROR_ID_NO_LONGER_UPDATABLE = 0xA710


class PpsState(StrEnum):
    """Performed Procedure Step Status (0040,0252), PS3.3 C.4.14."""

    IN_PROGRESS = "IN PROGRESS"
    COMPLETED = "COMPLETED"
    DISCONTINUED = "DISCONTINUED"


FINAL_STATES = frozenset({PpsState.COMPLETED, PpsState.DISCONTINUED})


class MppsRefused(RadflowError):
    """The request is refused with ``status``; ``tags`` name the offending attributes."""

    code = "mpps_refused"

    def __init__(
        self,
        status: Status,
        message: str,
        *,
        tags: Iterable[int] = (),
        error_id: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.tags = tuple(tags)
        self.error_id = error_id


@dataclass(frozen=True)
class ScheduledStepRef:
    """One item of Scheduled Step Attributes Sequence (0040,0270): what the step was for."""

    study_instance_uid: str
    accession_number: str = ""
    requested_procedure_id: str = ""
    sps_id: str = ""
    sps_description: str = ""


@dataclass(frozen=True)
class PerformedSeries:
    """One item of Performed Series Sequence (0040,0340)."""

    series_instance_uid: str
    description: str
    protocol_name: str
    #: Items of Referenced Image Sequence (0008,1140): the images the modality made.
    images: int


@dataclass(frozen=True)
class CodedReason:
    """Performed Procedure Step Discontinuation Reason Code Sequence (0040,0281), item 1."""

    value: str
    scheme: str
    meaning: str


@dataclass(frozen=True)
class MppsCreate:
    """An N-CREATE attribute list (Table F.7.2-1) as plain values; times are aware."""

    status: PpsState
    refs: tuple[ScheduledStepRef, ...]
    patient_name: str  # DICOM PN as sent: FAMILY^GIVEN^MIDDLE^PREFIX^SUFFIX
    patient_id: str
    patient_birth_date: date | None
    patient_sex: str
    pps_id: str
    station_ae: str
    station_name: str
    location: str
    modality: str
    description: str
    started_at: datetime
    ended_at: datetime | None
    series: tuple[PerformedSeries, ...]
    discontinuation: CodedReason | None

    @property
    def images(self) -> int:
        return sum(s.images for s in self.series)


@dataclass(frozen=True)
class MppsUpdate:
    """An N-SET modification list: ``None`` for what the modality did not send."""

    status: PpsState | None
    ended_at: datetime | None
    end_date_sent: bool
    end_time_sent: bool
    description: str | None
    series: tuple[PerformedSeries, ...] | None
    discontinuation: CodedReason | None
    discontinuation_sent: bool

    @property
    def images(self) -> int | None:
        return None if self.series is None else sum(s.images for s in self.series)


# --- checks of single values (PS3.5 6.2: value representations) ---------------------------------

_UID = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")
_CS = re.compile(r"^[A-Z0-9 _]*$")
_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_TIME = re.compile(r"^(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,6}))?)?)?$")
_OFFSET = re.compile(r"^([+-])(\d{2})(\d{2})$")

#: Maximum lengths by VR (PS3.5 Table 6.2-1), in characters.
_MAX = {"AE": 16, "CS": 16, "SH": 16, "LO": 64, "UI": 64, "PN": 64 * 3 + 2, "DA": 8, "TM": 16}


def _tag(keyword: str) -> int:
    tag = tag_for_keyword(keyword)
    if tag is None:  # pragma: no cover - a typo in this module
        raise KeyError(keyword)
    return int(tag)


def _invalid(keyword: str, why: str) -> MppsRefused:
    return MppsRefused(Status.INVALID_ATTRIBUTE_VALUE, f"{keyword}: {why}", tags=(_tag(keyword),))


def _missing(keyword: str, where: str = "") -> MppsRefused:
    return MppsRefused(Status.MISSING_ATTRIBUTE, f"{keyword} missing{where}", tags=(_tag(keyword),))


def _empty(keyword: str, where: str = "") -> MppsRefused:
    return MppsRefused(
        Status.MISSING_ATTRIBUTE_VALUE, f"{keyword} empty{where}", tags=(_tag(keyword),)
    )


def _raw(ds: Dataset, keyword: str) -> Any:
    """The element's value, or an ``invalid value`` refusal when pydicom cannot decode it."""
    try:
        return ds[keyword].value
    except Exception as exc:  # deferred decoding: any failure is the sender's bad value
        raise _invalid(keyword, "cannot be decoded") from exc


def _text(ds: Dataset, keyword: str, vr: str, *, type1: bool = False, where: str = "") -> str:
    """A single-valued text element, stripped; "" when absent (Type 2/3) or empty."""
    if keyword not in ds:
        if type1:
            raise _missing(keyword, where)
        return ""
    value = _raw(ds, keyword)
    if value is None:
        text = ""
    elif isinstance(value, bytes | Dataset | Sequence):
        raise _invalid(keyword, "is not text")
    elif isinstance(value, MultiValue | list | tuple):
        if len(value) > 1:
            raise _invalid(keyword, "must hold one value")
        text = str(value[0]) if len(value) else ""
    else:
        text = str(value)
    text = text.strip(" \x00")
    if not text:
        if type1:
            raise _empty(keyword, where)
        return ""
    if len(text) > _MAX[vr]:
        raise _invalid(keyword, f"longer than {_MAX[vr]} characters")
    if any(ch == "\\" or (ord(ch) < 0x20 and ch != "\x1b") or ord(ch) == 0x7F for ch in text):
        raise _invalid(keyword, "holds control characters")
    if vr == "UI" and not _UID.match(text):
        raise _invalid(keyword, "is not a UID")
    if vr == "CS" and not _CS.match(text):
        raise _invalid(keyword, "is not a code string")
    return text


def check_uid(value: str | None, keyword: str = "AffectedSOPInstanceUID") -> str:
    """A UID from the command set (PS3.5 9.1): digits and dots, at most 64 characters."""
    text = (value or "").strip(" \x00")
    if not text or len(text) > _MAX["UI"] or not _UID.match(text):
        raise MppsRefused(Status.INVALID_ATTRIBUTE_VALUE, f"{keyword}: is not a UID")
    return text


def _date(ds: Dataset, keyword: str, *, type1: bool = False) -> date | None:
    text = _text(ds, keyword, "DA", type1=type1)
    if not text:
        return None
    match = _DATE.match(text)
    if match is None:
        raise _invalid(keyword, "is not a date (YYYYMMDD)")
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError as exc:
        raise _invalid(keyword, "is not a calendar date") from exc


def _time(ds: Dataset, keyword: str, *, type1: bool = False) -> time | None:
    text = _text(ds, keyword, "TM", type1=type1)
    if not text:
        return None
    match = _TIME.match(text.replace(":", ""))  # ACR-NEMA wrote HH:MM:SS
    if match is None:
        raise _invalid(keyword, "is not a time (HHMMSS.FFFFFF)")
    hour, minute, second = int(match[1]), int(match[2] or 0), int(match[3] or 0)
    micro = int((match[4] or "0").ljust(6, "0"))
    if second == 60:  # PS3.5 allows a leap second; Python's time does not
        second = 59
    try:
        return time(hour, minute, second, micro)
    except ValueError as exc:
        raise _invalid(keyword, "is not a time of day") from exc


def _zone(ds: Dataset, default: tzinfo) -> tzinfo:
    """Timezone Offset From UTC (0008,0201) when sent, else the department's zone."""
    text = _text(ds, "TimezoneOffsetFromUTC", "SH")
    if not text:
        return default
    match = _OFFSET.match(text)
    if match is None or int(match[3]) >= 60 or int(match[2]) > 14:
        raise _invalid("TimezoneOffsetFromUTC", "is not an offset (+HHMM or -HHMM)")
    delta = timedelta(hours=int(match[2]), minutes=int(match[3]))
    return timezone(-delta if match[1] == "-" else delta)


def _when(day: date | None, clock: time | None, zone: tzinfo) -> datetime | None:
    if day is None or clock is None:
        return None
    return datetime.combine(day, clock).replace(tzinfo=zone)


def _items(ds: Dataset, keyword: str) -> list[Dataset]:
    if keyword not in ds:
        return []
    value = _raw(ds, keyword)
    if value is None:
        return []
    if not isinstance(value, Iterable) or isinstance(value, str | bytes):
        raise _invalid(keyword, "is not a sequence")
    items = list(value)
    if not all(isinstance(item, Dataset) for item in items):
        raise _invalid(keyword, "is not a sequence")
    return items


def _status(ds: Dataset, *, type1: bool) -> PpsState | None:
    text = _text(ds, "PerformedProcedureStepStatus", "CS", type1=type1)
    if not text:
        if "PerformedProcedureStepStatus" in ds:
            raise _empty("PerformedProcedureStepStatus")
        return None
    try:
        return PpsState(text)
    except ValueError as exc:
        raise _invalid(
            "PerformedProcedureStepStatus", "must be IN PROGRESS, COMPLETED or DISCONTINUED"
        ) from exc


# --- the sequences RadFlow reads --------------------------------------------------------------


def _refs(ds: Dataset) -> tuple[ScheduledStepRef, ...]:
    if "ScheduledStepAttributesSequence" not in ds:
        raise _missing("ScheduledStepAttributesSequence")
    items = _items(ds, "ScheduledStepAttributesSequence")
    if not items:
        raise _empty("ScheduledStepAttributesSequence")
    where = " in ScheduledStepAttributesSequence"
    return tuple(
        ScheduledStepRef(
            study_instance_uid=_text(item, "StudyInstanceUID", "UI", type1=True, where=where),
            accession_number=_text(item, "AccessionNumber", "SH"),
            requested_procedure_id=_text(item, "RequestedProcedureID", "SH"),
            sps_id=_text(item, "ScheduledProcedureStepID", "SH"),
            sps_description=_text(item, "ScheduledProcedureStepDescription", "LO"),
        )
        for item in items
    )


def _series(ds: Dataset) -> tuple[PerformedSeries, ...]:
    where = " in PerformedSeriesSequence"
    found: list[PerformedSeries] = []
    for item in _items(ds, "PerformedSeriesSequence"):
        found.append(
            PerformedSeries(
                series_instance_uid=_text(item, "SeriesInstanceUID", "UI", type1=True, where=where),
                description=_text(item, "SeriesDescription", "LO"),
                protocol_name=_text(item, "ProtocolName", "LO"),
                images=len(_items(item, "ReferencedImageSequence")),
            )
        )
    return tuple(found)


def _reason(ds: Dataset) -> CodedReason | None:
    keyword = "PerformedProcedureStepDiscontinuationReasonCodeSequence"
    items = _items(ds, keyword)
    if not items:
        return None
    item = items[0]
    value = _text(item, "CodeValue", "SH") or _text(item, "LongCodeValue", "LO")
    return CodedReason(
        value=value,
        scheme=_text(item, "CodingSchemeDesignator", "SH"),
        meaning=_text(item, "CodeMeaning", "LO"),
    )


# --- N-CREATE and N-SET ------------------------------------------------------------------------


def parse_create(ds: Dataset, *, zone: tzinfo) -> MppsCreate:
    """The N-CREATE attribute list, checked per Table F.7.2-1 (N-CREATE column).

    ``zone`` is the department's zone: DICOM dates and times are local to the modality, which
    stands in the department, unless Timezone Offset From UTC says otherwise.
    """
    status = _status(ds, type1=True)
    if status is not PpsState.IN_PROGRESS:
        raise _invalid("PerformedProcedureStepStatus", "must be IN PROGRESS on N-CREATE")
    refs = _refs(ds)
    where = _zone(ds, zone)
    start = _when(
        _date(ds, "PerformedProcedureStepStartDate", type1=True),
        _time(ds, "PerformedProcedureStepStartTime", type1=True),
        where,
    )
    if start is None:  # pragma: no cover - both parts are Type 1 and were checked above
        raise _missing("PerformedProcedureStepStartDate")
    end = _when(
        _date(ds, "PerformedProcedureStepEndDate"),
        _time(ds, "PerformedProcedureStepEndTime"),
        where,
    )
    if end is not None and end < start:
        raise _invalid("PerformedProcedureStepEndTime", "is before the start")
    sex = _text(ds, "PatientSex", "CS")
    return MppsCreate(
        status=status,
        refs=refs,
        patient_name=_text(ds, "PatientName", "PN"),
        patient_id=_text(ds, "PatientID", "LO"),
        patient_birth_date=_date(ds, "PatientBirthDate"),
        patient_sex=sex if sex in ("M", "F", "O") else "",
        pps_id=_text(ds, "PerformedProcedureStepID", "SH", type1=True),
        station_ae=_text(ds, "PerformedStationAETitle", "AE", type1=True),
        station_name=_text(ds, "PerformedStationName", "SH"),
        location=_text(ds, "PerformedLocation", "SH"),
        modality=_text(ds, "Modality", "CS", type1=True),
        description=_text(ds, "PerformedProcedureStepDescription", "LO"),
        started_at=start,
        ended_at=end,
        series=_series(ds),
        discontinuation=_reason(ds),
    )


def parse_set(ds: Dataset, *, zone: tzinfo) -> MppsUpdate:
    """The N-SET modification list: only what Table F.7.2-1 lets an N-SET change is read.

    Attributes an N-SET may not change (the patient, the scheduled step, the start) are left
    out rather than refused: some consoles repeat the whole dataset on every N-SET.
    """
    where = _zone(ds, zone)
    day = _date(ds, "PerformedProcedureStepEndDate")
    clock = _time(ds, "PerformedProcedureStepEndTime")
    series_sent = "PerformedSeriesSequence" in ds
    reason_keyword = "PerformedProcedureStepDiscontinuationReasonCodeSequence"
    description_sent = "PerformedProcedureStepDescription" in ds
    return MppsUpdate(
        status=_status(ds, type1=False),
        ended_at=_when(day, clock, where),
        end_date_sent=day is not None,
        end_time_sent=clock is not None,
        description=(
            _text(ds, "PerformedProcedureStepDescription", "LO") if description_sent else None
        ),
        series=_series(ds) if series_sent else None,
        discontinuation=_reason(ds),
        discontinuation_sent=reason_keyword in ds,
    )


def check_update(
    *,
    current: PpsState | str,
    update: MppsUpdate,
    started_at: datetime | None,
    ended_at: datetime | None,
) -> datetime | None:
    """Whether ``update`` may be applied to a step now ``current``; returns the resulting end.

    PS3.4 F.7.2.2.2: once COMPLETED or DISCONTINUED, a step may no longer be updated (0x0110,
    Error ID A710). A final state needs the end date and time (Table F.7.2-1, "final state"
    column), sent now or before.
    """
    if PpsState(current) is not PpsState.IN_PROGRESS:
        raise MppsRefused(
            Status.PROCESSING_FAILURE,
            "Performed Procedure Step Object may no longer be updated",
            error_id=ERROR_ID_NO_LONGER_UPDATABLE,
        )
    if update.end_date_sent != update.end_time_sent:
        missing = (
            "PerformedProcedureStepEndTime"
            if update.end_date_sent
            else "PerformedProcedureStepEndDate"
        )
        raise _missing(missing, " (end date and time go together)")
    end = update.ended_at or ended_at
    if update.status in FINAL_STATES and end is None:
        raise MppsRefused(
            Status.MISSING_ATTRIBUTE,
            "PerformedProcedureStepEndDate/Time required for a final state",
            tags=(
                _tag("PerformedProcedureStepEndDate"),
                _tag("PerformedProcedureStepEndTime"),
            ),
        )
    if end is not None and started_at is not None and end < started_at:
        raise _invalid("PerformedProcedureStepEndTime", "is before the start")
    return end


# --- discontinuation reasons (PS3.16 CID 9300) ------------------------------------------------

#: CID 9300 "Procedure Discontinuation Reason" (scheme DCM) → RadFlow's discontinue reason codes
#: (radflow/exams/data/reason_codes.json). The modality's own words are kept as the reason text.
DISCONTINUATION_REASONS: dict[str, str] = {
    "110500": "clinical_change",  # Doctor canceled procedure
    "110501": "equipment_failure",  # Equipment failure
    "110502": "wrong_protocol",  # Incorrect procedure ordered
    "110503": "contrast_reaction",  # Patient allergic to media/contrast
    "110504": "clinical_change",  # Patient died
    "110505": "patient_intolerance",  # Patient refused to continue procedure
    "110506": "clinical_change",  # Patient taken for treatment or surgery
    "110508": "clinical_change",  # Patient pregnant
    "110509": "wrong_protocol",  # Change of procedure for correct charging
    "110510": "wrong_protocol",  # Duplicate order
    "110512": "wrong_protocol",  # Incorrect side ordered
    "110514": "wrong_protocol",  # Incorrect worklist entry selected
    "110515": "clinical_change",  # Patient condition prevented continuing
    "110516": "equipment_failure",  # Equipment change
}

#: Used when the modality sends no reason, or one outside CID 9300 (e.g. 110513 unspecified).
UNSPECIFIED_REASON = "modality_unspecified"
UNSPECIFIED_REASON_LABEL = "Discontinued at the modality (no or unlisted reason)"


def discontinuation_reason(reason: CodedReason | None) -> tuple[str, str]:
    """RadFlow's (reason code, reason text) for the modality's coded reason."""
    if reason is None:
        return UNSPECIFIED_REASON, "Discontinued at the modality; no reason was sent."
    code = DISCONTINUATION_REASONS.get(reason.value) if reason.scheme in ("DCM", "") else None
    label = reason.meaning or reason.value or "no meaning sent"
    text = f"Modality: {label} ({reason.scheme or '?'} {reason.value or '?'})"
    return code or UNSPECIFIED_REASON, text


def series_as_json(series: Iterable[PerformedSeries], modality: str) -> list[dict[str, Any]]:
    """The stored shape of performed series (``PerformedProcedureStep.performed_series``)."""
    return [
        {
            "series_uid": s.series_instance_uid,
            "description": s.description,
            "protocol": s.protocol_name,
            "modality": modality,
            "images": s.images,
        }
        for s in series
    ]
