"""The Modality Worklist read from the database: one scheduled procedure step per exam that is
``scheduled`` or ``arrived`` (issue 6).

The database narrows with indexes (state + scheduled start, accession, Study Instance UID, MRN,
the patients' case-folded name key, the station's rooms and devices); ``matches`` then decides
on the plain values, so the rules live in one place (``radflow.core.dicom.matching``) and the
database only ever returns a superset of the answer. A query with no narrowing key at all asks
for the whole worklist, and gets it.

What a step says:

- Station AE title: the booked device's AE title, else the registered Application Entity of
  the exam's room (the first active one by title), else none. Station name likewise.
- Requested Procedure ID and SPS ID: the accession number (``worklist.procedure_ids``).
- Procedure code: the exam type's first CPT/HCPCS code (CodingSchemeDesignator ``C4`` / ``HPC``,
  PS3.16), else the exam type's own code under the private scheme ``99RADFLOW``.
- Pregnancy status: intake's pregnancy screening answer for the exam, when there is one.
- Times are in the department's zone (``TIME_ZONE``): modalities show wall-clock times.

``worklist_read`` is the audited read the DICOM handler uses: every patient in an answer is a
record read by a machine, written to the access log in one append per query.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, tzinfo
from typing import Any

from django.db import connection
from django.db.models import CharField, Func, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from radflow.audit.models import AccessChannel
from radflow.audit.services import AccessSource, PatientRef, access_record
from radflow.catalog.models import ExamType
from radflow.core.dicom.matching import TextKey, WorklistQuery, matches, string_matcher
from radflow.core.dicom.worklist import (
    ProcedureCode,
    Restriction,
    WorklistEntry,
    person_name,
    pregnancy_status,
    procedure_ids,
)
from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam
from radflow.intake.models import ScreeningAnswer
from radflow.interfaces.models import ApplicationEntity
from radflow.patients.models import Allergy
from radflow.scheduling.models import Device

#: Exams a modality may still perform: what the worklist lists.
WORKLIST_STATES = (ExamState.SCHEDULED.value, ExamState.ARRIVED.value)
SPS_STATUS = {ExamState.SCHEDULED.value: "SCHEDULED", ExamState.ARRIVED.value: "ARRIVED"}
#: RequestedProcedurePriority (PS3.3 C.4.11): STAT, HIGH, ROUTINE, MEDIUM, LOW.
PRIORITY = {"stat": "STAT", "urgent": "HIGH", "routine": "ROUTINE"}
#: PS3.16 coding scheme designators of the catalog's code systems.
CODING_SCHEMES = {"CPT": "C4", "HCPCS": "HPC"}
LOCAL_SCHEME = "99RADFLOW"
SEX = {"M": "M", "F": "F", "O": "O"}
PREGNANCY_ITEM = "pregnancy"
#: Added around a start range when it goes to the database: a DST change moves wall-clock
#: times against UTC by an hour; ``matches`` compares wall-clock times exactly.
_DST_MARGIN = timedelta(hours=2)
#: Above the largest code point: ``x >= p AND x < p + _TOP`` is "starts with p" in binary order.
_TOP = "\U0010ffff"

#: Entry fields and the row columns they need (beyond those always read).
_BASE_COLUMNS = (
    "pk",
    "accession_number",
    "study_instance_uid",
    "state",
    "scheduled_start",
    "room_id",
    "device_id",
    "order__patient_id",
    "order__patient__mrn",
    "order__patient__family_name",
    "order__patient__given_name",
    "order__patient__middle_name",
    "order__patient__prefix",
    "order__patient__suffix",
    "order__exam_type_id",
    "order__exam_type__modality_id",
)
_FIELD_COLUMNS: dict[str, tuple[str, ...]] = {
    "issuer_of_patient_id": ("order__patient__mrn_authority",),
    "birth_date": ("order__patient__birth_date",),
    "sex": ("order__patient__sex",),
    "requested_procedure_description": ("order__exam_type__name",),
    "procedure_code": ("order__exam_type__code", "order__exam_type__name"),
    "referring_physician": ("order__ordering_provider",),
    "requesting_physician": ("order__ordering_provider",),
    "priority": ("order__priority",),
    "patient_class": ("order__patient_class",),
    "reason": ("order__clinical_indication",),
    "sps_description": ("order__protocol", "order__exam_type__name"),
    "station_ae": ("device__ae_title",),
    "station_name": ("device__station_name",),
    "location": ("room__code",),
    "performing_physician": ("technologist__family_name", "technologist__given_name"),
}


def _prefix(column: str, prefix: str) -> Q:
    """ "``column`` starts with ``prefix``" in a form the column's index serves.

    PostgreSQL: ``LIKE 'p%'``, served by the ``varchar_pattern_ops`` index Django adds to
    indexed and unique character columns (and ``patient_mrn_idx``), whatever the database's
    collation. SQLite: a range in binary order (SQLite's LIKE is case-insensitive and cannot
    use a binary index).
    """
    if connection.vendor == "postgresql":
        return Q(**{f"{column}__startswith": prefix})
    return Q(**{f"{column}__gte": prefix, f"{column}__lt": prefix + _TOP})


def _text_filter(column: str, key: TextKey) -> Q | None:
    if key.values:
        return Q(**{f"{column}__in": list(key.values)})
    if key.exact is not None:
        return Q(**{column: key.exact})
    if key.prefix:
        return _prefix(column, key.prefix)
    return None


def _aware(value: datetime, zone: tzinfo) -> datetime:
    return value.replace(tzinfo=zone)


def _stations(query: WorklistQuery) -> Q | None:
    """Exams whose station may match the Station AE title / Station Name keys.

    Devices and registered AEs are few: one query reads those whose title (or name) the key
    may match (by its indexed value when it has no wild card), and the key's own test picks
    among them. A device is booked only where it stands (``exams.services._book``), so a
    matching device narrows to its room, and rooms narrow through (room, scheduled start) with
    the date range; a device without a room (never booked so, but data may say otherwise) by its
    own index. The result is a superset (a room with several stations); ``matches`` decides.
    ``Q(pk__in=[])`` when no station can match.
    """
    result: Q | None = None
    for key_name, column in (("station_ae", "ae_title"), ("station_name", "station_name")):
        key = query.keys.get(key_name)
        if key is None:
            continue
        test = string_matcher(key.pattern)
        devices = Device.objects.exclude(**{column: ""})
        aes = ApplicationEntity.objects.filter(active=True, room__isnull=False)
        if key.exact is not None:
            devices = devices.filter(**{column: key.exact})
            aes = aes.filter(**{column: key.exact})
        rows = (
            devices.order_by()
            .values_list("pk", "room_id", column)
            .union(aes.order_by().values_list("device_id", "room_id", column), all=True)
        )
        room_ids: set[Any] = set()
        roomless: list[Any] = []
        for device_id, room_id, value in rows:
            if not test(value):
                continue
            if room_id is not None:
                room_ids.add(room_id)
            elif device_id is not None:
                roomless.append(device_id)
        narrowed = Q(room_id__in=sorted(room_ids, key=str))
        if roomless:
            narrowed |= Q(device_id__in=roomless)
        result = narrowed if result is None else result & narrowed
    return result


class _Unindexed(Func):
    """SQLite's ``+column``: the same value, but a term SQLite will not drive the query by."""

    template = "+%(expressions)s"
    output_field = CharField()


def _candidates(
    query: WorklistQuery, restriction: Restriction | None, zone: tzinfo
) -> QuerySet[Exam] | None:
    """The exams the indexes leave; ``None`` when none can match.

    Selective keys (accession, Study Instance UID, MRN, name, station) each have their own
    index. PostgreSQL picks among them by its statistics; SQLite has none (unless someone ran
    ANALYZE) and would rather walk the (state, start) index through every scheduled exam, so
    on SQLite the state term is kept out of index selection whenever a selective key is there.
    """
    selective: list[Q] = []
    for key in query.accession_keys:
        narrowed = _text_filter("accession_number", key)
        if narrowed is not None:
            selective.append(narrowed)
    for key_name, column in (
        ("study_uid", "study_instance_uid"),
        ("patient_id", "order__patient__mrn"),
        ("patient_name", "order__patient__name_key"),
    ):
        found = query.keys.get(key_name)
        narrowed = _text_filter(column, found) if found is not None else None
        if narrowed is not None:
            selective.append(narrowed)
    stations = _stations(query)
    if stations is not None:
        selective.append(stations)
    states = list(WORKLIST_STATES)
    status = query.keys.get("status")
    if status is not None and status.exact is not None:
        states = [state for state, sps in SPS_STATUS.items() if sps == status.exact]
        if not states:
            return None
    exams = Exam.objects.all()
    where = Q(scheduled_start__isnull=False)
    if selective and connection.vendor == "sqlite":
        exams = exams.alias(state_term=_Unindexed("state"))
        where &= Q(state_term__in=states)
    else:
        where &= Q(state__in=states)
    for narrowed in selective:
        where &= narrowed
    for key_name, column in (
        ("issuer", "order__patient__mrn_authority"),
        ("modality", "order__exam_type__modality_id"),
    ):
        found = query.keys.get(key_name)
        narrowed = _text_filter(column, found) if found is not None else None
        if narrowed is not None:
            where &= narrowed
    if query.start is not None:
        low, high = query.start
        if low is not None:
            where &= Q(scheduled_start__gte=_aware(low, zone) - _DST_MARGIN)
        if high is not None:
            where &= Q(scheduled_start__lte=_aware(high, zone) + _DST_MARGIN)
    if restriction is not None:
        if restriction.room_id:
            where &= Q(room_id=restriction.room_id)
        if restriction.modality:
            where &= Q(order__exam_type__modality_id=restriction.modality)
    return exams.filter(where).order_by("scheduled_start", "accession_number")


def _columns(fields: Iterable[str]) -> list[str]:
    columns = list(_BASE_COLUMNS)
    for name in fields:
        for column in _FIELD_COLUMNS.get(name, ()):
            if column not in columns:
                columns.append(column)
    return columns


def _allergies(patient_ids: set[Any]) -> dict[Any, str]:
    """Each patient's allergies as one LO-sized line, most severe first."""
    rank = {"severe": 0, "moderate": 1, "mild": 2}
    found: dict[Any, list[tuple[int, str]]] = {}
    rows = Allergy.objects.filter(patient_id__in=patient_ids).values_list(
        "patient_id", "substance", "severity"
    )
    for patient_id, substance, severity in rows:
        found.setdefault(patient_id, []).append((rank.get(severity, 3), substance))
    return {pid: ", ".join(s for _, s in sorted(items)) for pid, items in found.items()}


def _procedure_codes(exam_type_ids: set[Any]) -> dict[Any, ProcedureCode]:
    through = ExamType.procedure_codes.through
    rows = (
        through.objects.filter(examtype_id__in=exam_type_ids)
        .order_by("procedurecode_id")
        .values_list(
            "examtype_id",
            "procedurecode_id",
            "procedurecode__system",
            "procedurecode__description",
        )
    )
    codes: dict[Any, ProcedureCode] = {}
    for exam_type_id, code, system, description in rows:
        if exam_type_id not in codes:
            scheme = CODING_SCHEMES.get(system, LOCAL_SCHEME)
            codes[exam_type_id] = ProcedureCode(value=code, scheme=scheme, meaning=description)
    return codes


def _room_stations(room_ids: set[Any]) -> dict[Any, tuple[str, str]]:
    """(AE title, station name) of each room's first active registered AE."""
    rows = (
        ApplicationEntity.objects.filter(active=True, room_id__in=room_ids)
        .order_by("ae_title")
        .values_list("room_id", "ae_title", "station_name")
    )
    stations: dict[Any, tuple[str, str]] = {}
    for room_id, ae_title, station_name in rows:
        stations.setdefault(room_id, (ae_title, station_name))
    return stations


def worklist_entries(
    query: WorklistQuery, *, restriction: Restriction | None = None
) -> Iterator[WorklistEntry]:
    """The scheduled procedure steps that match ``query``, by start time (not audited: see
    ``worklist_read``). ``restriction`` (from the AE registry) limits a station to its own
    room and modality whatever it asks for."""
    zone = timezone.get_current_timezone()
    candidates = _candidates(query, restriction, zone)
    if candidates is None:
        return
    fields = query.fields
    if "pregnancy_status" in fields:
        candidates = candidates.annotate(
            pregnancy_answer=Subquery(
                ScreeningAnswer.objects.filter(
                    exam_id=OuterRef("pk"), item_id=PREGNANCY_ITEM
                ).values("answer")[:1]
            )
        )
    columns = _columns(fields)
    if "pregnancy_status" in fields:
        columns.append("pregnancy_answer")
    rows = list(candidates.values(*columns))
    if not rows:
        return
    allergies = _allergies({r["order__patient_id"] for r in rows}) if "allergies" in fields else {}
    codes = (
        _procedure_codes({r["order__exam_type_id"] for r in rows})
        if "procedure_code" in fields
        else {}
    )
    stations: dict[Any, tuple[str, str]] = {}
    if "station_ae" in fields or "station_name" in fields:
        rooms = {
            r["room_id"]
            for r in rows
            if r["room_id"] is not None
            and not (r.get("device__ae_title") and r.get("device__station_name"))
        }
        stations = _room_stations(rooms) if rooms else {}
    for row in rows:
        entry = _entry(row, zone=zone, allergies=allergies, codes=codes, stations=stations)
        if matches(query, entry):
            yield entry


def _entry(
    row: dict[str, Any],
    *,
    zone: tzinfo,
    allergies: dict[Any, str],
    codes: dict[Any, ProcedureCode],
    stations: dict[Any, tuple[str, str]],
) -> WorklistEntry:
    accession = row["accession_number"]
    requested_procedure_id, sps_id = procedure_ids(accession)
    exam_type_name = row.get("order__exam_type__name") or ""
    code = codes.get(row["order__exam_type_id"])
    if code is None and row.get("order__exam_type__code"):
        code = ProcedureCode(
            value=row["order__exam_type__code"], scheme=LOCAL_SCHEME, meaning=exam_type_name
        )
    room_ae, room_station = stations.get(row["room_id"], ("", ""))
    provider = person_name(row.get("order__ordering_provider") or "")
    pregnancy = row.get("pregnancy_answer")
    tech_family = row.get("technologist__family_name")
    birth_date = row.get("order__patient__birth_date")
    return WorklistEntry(
        patient_name=person_name(
            row["order__patient__family_name"],
            row["order__patient__given_name"],
            row["order__patient__middle_name"],
            row["order__patient__prefix"],
            row["order__patient__suffix"],
        ),
        patient_id=row["order__patient__mrn"],
        issuer_of_patient_id=row.get("order__patient__mrn_authority") or "",
        birth_date=birth_date,
        sex=SEX.get(row.get("order__patient__sex") or "", ""),
        allergies=allergies.get(row["order__patient_id"], ""),
        pregnancy_status=pregnancy_status(pregnancy) if pregnancy else None,
        medical_alerts="",
        accession_number=accession,
        requested_procedure_id=requested_procedure_id,
        requested_procedure_description=exam_type_name,
        procedure_code=code,
        study_instance_uid=row["study_instance_uid"],
        referring_physician=provider,
        requesting_physician=provider,
        priority=PRIORITY.get(row.get("order__priority") or "", ""),
        patient_class=row.get("order__patient_class") or "",
        reason=row.get("order__clinical_indication") or "",
        sps_id=sps_id,
        sps_description=row.get("order__protocol") or exam_type_name,
        sps_start=timezone.localtime(row["scheduled_start"], zone),
        modality=row["order__exam_type__modality_id"],
        station_ae=row.get("device__ae_title") or room_ae,
        station_name=row.get("device__station_name") or room_station,
        location=row.get("room__code") or "",
        performing_physician=(
            person_name(tech_family, row.get("technologist__given_name") or "")
            if tech_family
            else ""
        ),
        sps_status=SPS_STATUS.get(row["state"], "SCHEDULED"),
        room_id=str(row["room_id"]) if row["room_id"] else "",
        patient_key=str(row["order__patient_id"]),
    )


def worklist_read(
    query: WorklistQuery,
    *,
    restriction: Restriction | None,
    calling_ae: str,
    address: str | None,
) -> list[WorklistEntry]:
    """The matching steps, with one access-log append naming every patient in the answer.

    The log is written before anything is sent: a read that cannot be logged is not answered.
    """
    entries = list(worklist_entries(query, restriction=restriction))
    if entries:
        patients = {
            entry.patient_key: PatientRef(uuid.UUID(entry.patient_key), entry.patient_id)
            for entry in entries
        }
        access_record(
            user=None,
            patients=patients.values(),
            action="worklist.query",
            source=AccessSource(
                channel=AccessChannel.DICOM, ip_address=address, user_agent=f"DICOM AE {calling_ae}"
            ),
        )
    return entries
