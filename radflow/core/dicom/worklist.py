"""One scheduled procedure step as plain values: what the worklist matches and answers from.

The Django side builds these from exams; matching and the answer's dataset are built from them
here, so the rules can be tested (and benchmarked) without a database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class ProcedureCode:
    value: str
    scheme: str  # CodingSchemeDesignator, e.g. "CPT4" or "RADFLOW"
    meaning: str


@dataclass(frozen=True)
class Restriction:
    """What a registered station may see whatever it asks for (from the AE registry)."""

    room_id: str | None = None
    modality: str | None = None


@dataclass(frozen=True)
class WorklistEntry:
    # Patient
    patient_name: str  # DICOM PN: FAMILY^GIVEN^MIDDLE^PREFIX^SUFFIX, trailing ^ trimmed
    patient_id: str
    issuer_of_patient_id: str
    birth_date: date | None
    sex: str  # M, F, O or ""
    allergies: str
    #: PS3.3 (0010,21C0): 1 not pregnant, 2 possibly, 3 definitely, 4 unknown
    pregnancy_status: int | None
    medical_alerts: str
    # Requested procedure and order
    accession_number: str
    requested_procedure_id: str
    requested_procedure_description: str
    procedure_code: ProcedureCode | None
    study_instance_uid: str
    referring_physician: str  # PN
    requesting_physician: str  # PN
    priority: str  # RequestedProcedurePriority: STAT, HIGH, ROUTINE, MEDIUM, LOW
    patient_class: str  # outpatient / inpatient / emergency
    reason: str
    # Scheduled procedure step
    sps_id: str
    sps_description: str
    sps_start: datetime  # aware
    modality: str
    station_ae: str
    station_name: str
    location: str  # ScheduledProcedureStepLocation: the room
    performing_physician: str  # PN, the booked sonographer/technologist
    sps_status: str  # SCHEDULED or ARRIVED
    room_id: str = ""
    #: The Patient row's primary key (for the access log); never sent to the modality.
    patient_key: str = ""


#: DICOM PN delimiters (component ``^``, group ``=``, value ``\\``): never part of a name.
_PN_DELIMITERS = str.maketrans({"^": " ", "=": " ", "\\": " "})
#: Longest value of the patients' name search column (``name_key`` of any name fits).
NAME_KEY_MAX = 512


def person_name(
    family: str, given: str = "", middle: str = "", prefix: str = "", suffix: str = ""
) -> str:
    """A DICOM PN (``FAMILY^GIVEN^MIDDLE^PREFIX^SUFFIX``, trailing empty components dropped).

    Delimiter characters inside a part would split it, so they become spaces.
    """
    parts = [
        " ".join(part.translate(_PN_DELIMITERS).split())
        for part in (family, given, middle, prefix, suffix)
    ]
    return "^".join(parts).rstrip("^")


def name_key(pn: str) -> str:
    """The case-folded form worklist matching compares names in (PS3.4 C.2.2.2.1 allows
    case-insensitive PN matching); the patients table keeps it indexed so a name query with a
    literal prefix is an index range, never a scan. Full Unicode case folding, so Greek,
    Cyrillic and accented Latin names compare the same way on SQLite and PostgreSQL."""
    groups = [group.rstrip("^") for group in pn.strip().split("=")]
    while len(groups) > 1 and not groups[-1]:
        groups.pop()
    # Upper case first: a modality that upper-cases a dotless i (U+0131) sends "I", which
    # case-folds to "i"; folding the upper-cased form brings both together.
    return "=".join(groups).upper().casefold()[:NAME_KEY_MAX]


def procedure_ids(accession_number: str) -> tuple[str, str]:
    """(Requested Procedure ID, Scheduled Procedure Step ID) of an exam.

    One order is one requested procedure with one step in RadFlow, so both are the accession
    number: stable, unique, at most 16 characters (SH), and an MPPS that quotes either one
    finds its exam through the accession's unique index.
    """
    return accession_number, accession_number


#: Words that open a pregnancy screening answer, and the PS3.3 Pregnancy Status (0010,21C0).
_PREGNANCY_WORDS = {
    "no": 1,
    "not": 1,
    "negative": 1,
    "possibly": 2,
    "possible": 2,
    "unsure": 2,
    "maybe": 2,
    "yes": 3,
    "pregnant": 3,
    "positive": 3,
    "unknown": 4,
}


def pregnancy_status(answer: str) -> int | None:
    """Pregnancy Status from intake's free-text answer ("Not pregnant", "Yes: 12 weeks" ...).

    "Not applicable" (and anything unrecognised) is left out rather than guessed.
    """
    text = answer.strip().casefold()
    if not text or text.startswith(("not applicable", "n/a")):
        return None
    word = text.split(None, 1)[0].split(":", 1)[0].strip(".,;")
    return _PREGNANCY_WORDS.get(word)
