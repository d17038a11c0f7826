"""Reads behind the FHIR searches and reads: search parameters (already parsed by
``radflow.core.fhir.search``) become querysets with what the resource builders need joined.

Nothing here logs: the handlers audit what they actually return, page by page.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from django.db.models import Model, Prefetch, Q, QuerySet
from django.utils import timezone

from radflow.catalog.models import ExamType
from radflow.core.errors import NotFound
from radflow.core.fhir import statuses, systems
from radflow.core.fhir.errors import InvalidRequest
from radflow.core.fhir.ids import parse_slot_id, slot_id
from radflow.core.fhir.search import DateParam, Ref, Token
from radflow.exams.models import Exam
from radflow.interfaces.models import PerformedProcedureStep
from radflow.orders.models import Order
from radflow.patients.models import Patient
from radflow.scheduling import availability as av
from radflow.scheduling.booking import search_days
from radflow.scheduling.models import Device, Hold, Modality, Reservation, Room, Site
from radflow.staff.models import StaffMember

M = TypeVar("M", bound=Model)

#: A Slot search spans at most this many days (each day of each room is worked out).
MAX_SLOT_DAYS = 31


def as_uuid(value: Any) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def by_id(rows: QuerySet[M], pk: str) -> M | None:
    """The row with id ``pk``; an id that is no UUID names nothing (FHIR ids are opaque)."""
    key = as_uuid(pk)
    return rows.filter(pk=key).first() if key is not None else None


def _uuids(values: Sequence[str]) -> list[uuid.UUID]:
    """Ids that cannot be RadFlow's match nothing (not an error: FHIR ids are opaque)."""
    return [found for found in (as_uuid(v) for v in values) if found is not None]


def _ref_ids(refs: Sequence[Ref], kind: str) -> list[uuid.UUID]:
    return _uuids([ref.id for ref in refs if ref.resource_type in (None, kind)])


def date_q(field: str, params: Sequence[DateParam], *, day: bool = False) -> Q:
    """Every date parameter must hold (repeats AND together)."""
    condition = Q()
    for param in params:
        lo, hi = param.day_bounds() if day else param.instant_bounds()
        part = Q()
        if lo is not None:
            part &= Q(**{f"{field}__gte": lo})
        if hi is not None:
            part &= Q(**{f"{field}__lt": hi})
        condition &= ~part if param.negated else part
    return condition


def prefix_q(fields: Sequence[str], values: Sequence[str]) -> Q:
    """Any of ``values`` at the start of any of ``fields``, case-insensitively."""
    condition = Q()
    for value in values:
        for field in fields:
            condition |= Q(**{f"{field}__istartswith": value})
    return condition


def bool_token(tokens: Sequence[Token], name: str) -> bool:
    codes = {token.code.lower() for token in tokens}
    if not codes <= {"true", "false"} or len(codes) != 1:
        raise InvalidRequest(f"{name} is true or false.", field=name)
    return codes == {"true"}


# --- Patient ------------------------------------------------------------------------------------


def patients() -> QuerySet[Patient]:
    return Patient.objects.prefetch_related("identifiers")


def patient_get(pk: str) -> Patient:
    found = by_id(patients(), pk)
    if found is None:
        raise NotFound(f"No Patient with id {pk}.", field="id")
    return found


def _identifier_q(token: Token) -> Q:
    if not token.system:
        return Q(mrn=token.code) | Q(identifiers__value=token.code)
    authority = systems.authority_of(token.system)
    return Q(mrn_authority=authority, mrn=token.code) | Q(
        identifiers__authority=authority, identifiers__value=token.code
    )


def patient_search(
    *,
    ids: Sequence[str],
    identifier: Sequence[Token],
    family: Sequence[str],
    given: Sequence[str],
    name: Sequence[str],
    birthdate: Sequence[DateParam],
) -> QuerySet[Patient]:
    """As the patient pages: no criterion, no list (nobody reads records they did not look
    for); inactive (merged) records only when asked for by id or identifier, so an old MRN
    leads to its survivor."""
    if not (ids or identifier or family or given or name or birthdate):
        raise InvalidRequest(
            "Give at least one of _id, identifier, family, given, name or birthdate.",
            field="identifier",
        )
    rows = patients()
    if ids:
        rows = rows.filter(pk__in=_uuids(ids))
    if identifier:
        condition = Q()
        for token in identifier:
            condition |= _identifier_q(token)
        rows = rows.filter(pk__in=Patient.objects.filter(condition).values("pk"))
    if family:
        rows = rows.filter(prefix_q(["family_name"], family))
    if given:
        rows = rows.filter(prefix_q(["given_name", "middle_name"], given))
    if name:
        rows = rows.filter(prefix_q(["family_name", "given_name", "middle_name"], name))
    if birthdate:
        rows = rows.filter(date_q("birth_date", birthdate, day=True))
    if not (ids or identifier):
        rows = rows.filter(active=True)
    return rows.order_by("family_name", "given_name", "birth_date", "mrn")


# --- Practitioner, PractitionerRole ----------------------------------------------------------


def staff() -> QuerySet[StaffMember]:
    return StaffMember.objects.select_related("home_site").prefetch_related("modalities")


def staff_get(pk: str, kind: str) -> StaffMember:
    found = by_id(staff(), pk)
    if found is None:
        raise NotFound(f"No {kind} with id {pk}.", field="id")
    return found


def staff_search(
    *,
    ids: Sequence[str] = (),
    identifier: Sequence[Token] = (),
    name: Sequence[str] = (),
    family: Sequence[str] = (),
    given: Sequence[str] = (),
    active: Sequence[Token] = (),
    practitioner: Sequence[Ref] = (),
    role: Sequence[Token] = (),
    location: Sequence[Ref] = (),
) -> QuerySet[StaffMember]:
    rows = staff()
    if ids:
        rows = rows.filter(pk__in=_uuids(ids))
    if identifier:
        rows = rows.filter(employee_number__in=[t.code for t in identifier])
    if name:
        rows = rows.filter(prefix_q(["family_name", "given_name"], name))
    if family:
        rows = rows.filter(prefix_q(["family_name"], family))
    if given:
        rows = rows.filter(prefix_q(["given_name"], given))
    if active:
        rows = rows.filter(active=bool_token(active, "active"))
    if practitioner:
        rows = rows.filter(pk__in=_ref_ids(practitioner, "Practitioner"))
    if role:
        rows = rows.filter(job_role__in=[t.code for t in role])
    if location:
        rows = rows.filter(home_site_id__in=_ref_ids(location, "Location"))
    return rows.order_by("family_name", "given_name", "employee_number")


# --- Location, HealthcareService, Device, Schedule ------------------------------------------


def rooms() -> QuerySet[Room]:
    return Room.objects.select_related("site", "modality")


def location_get(pk: str) -> Site | Room:
    found: Site | Room | None = by_id(rooms(), pk) or by_id(Site.objects.all(), pk)
    if found is None:
        raise NotFound(f"No Location with id {pk}.", field="id")
    return found


def location_search(
    *, ids: Sequence[str], name: Sequence[str], partof: Sequence[Ref]
) -> list[Site | Room]:
    """Sites first, then rooms by site and code: a department has tens, not thousands."""
    sites = Site.objects.order_by("name")
    room_rows = rooms().order_by("site__name", "code")
    if ids:
        sites = sites.filter(pk__in=_uuids(ids))
        room_rows = room_rows.filter(pk__in=_uuids(ids))
    if name:
        sites = sites.filter(prefix_q(["name", "code"], name))
        room_rows = room_rows.filter(prefix_q(["name", "code"], name))
    if partof:
        sites = sites.none()
        room_rows = room_rows.filter(site_id__in=_ref_ids(partof, "Location"))
    return [*sites, *room_rows]


@dataclass(frozen=True)
class Service:
    modality: Modality
    exam_types: list[ExamType]
    rooms: list[Room]


def healthcare_services(
    *, ids: Sequence[str], name: Sequence[str], service_type: Sequence[Token]
) -> list[Service]:
    rows = Modality.objects.order_by("code")
    if ids:
        rows = rows.filter(code__in=list(ids))
    if name:
        rows = rows.filter(prefix_q(["name", "code"], name))
    if service_type:
        codes = [t.code for t in service_type]
        rows = rows.filter(exam_types__code__in=codes, exam_types__active=True).distinct()
    modalities = list(rows)
    codes = [m.code for m in modalities]
    types: dict[str, list[ExamType]] = {code: [] for code in codes}
    for exam_type in ExamType.objects.filter(modality_id__in=codes, active=True).order_by("name"):
        types[exam_type.modality_id].append(exam_type)
    places: dict[str, list[Room]] = {code: [] for code in codes}
    for room in Room.objects.filter(modality_id__in=codes).order_by("code"):
        places[room.modality_id].append(room)
    return [Service(m, types[m.code], places[m.code]) for m in modalities]


def service_get(pk: str) -> Service:
    found = healthcare_services(ids=[pk], name=[], service_type=[])
    if not found:
        raise NotFound(f"No HealthcareService with id {pk}.", field="id")
    return found[0]


def devices() -> QuerySet[Device]:
    return Device.objects.select_related("modality", "room")


def device_get(pk: str) -> Device:
    found = by_id(devices(), pk)
    if found is None:
        raise NotFound(f"No Device with id {pk}.", field="id")
    return found


def device_search(
    *,
    ids: Sequence[str],
    kinds: Sequence[Token],
    location: Sequence[Ref],
    identifier: Sequence[Token],
) -> QuerySet[Device]:
    rows = devices().order_by("modality", "manufacturer", "model_name", "serial_number")
    if ids:
        rows = rows.filter(pk__in=_uuids(ids))
    if kinds:
        codes = [t.code for t in kinds]
        rows = rows.filter(Q(modality_id__in=codes) | Q(kind__in=codes))
    if location:
        rows = rows.filter(room_id__in=_ref_ids(location, "Location"))
    if identifier:
        codes = [t.code for t in identifier]
        rows = rows.filter(Q(serial_number__in=codes) | Q(ae_title__in=codes))
    return rows


def exam_types_by_modality(modality_ids: Sequence[str]) -> dict[str, list[ExamType]]:
    found: dict[str, list[ExamType]] = {code: [] for code in modality_ids}
    for row in ExamType.objects.filter(modality_id__in=list(modality_ids), active=True).order_by(
        "name"
    ):
        found[row.modality_id].append(row)
    return found


def room_get(pk: str, kind: str) -> Room:
    found = by_id(rooms(), pk)
    if found is None:
        raise NotFound(f"No {kind} with id {pk}.", field="id")
    return found


def schedule_search(
    *, ids: Sequence[str], actor: Sequence[Ref], active: Sequence[Token]
) -> QuerySet[Room]:
    rows = rooms().order_by("site__name", "code")
    if ids:
        rows = rows.filter(pk__in=_uuids(ids))
    if actor:
        condition = Q(pk__in=_ref_ids(actor, "Location"))
        modalities = [ref.id for ref in actor if ref.resource_type in (None, "HealthcareService")]
        condition |= Q(modality_id__in=modalities)
        rows = rows.filter(condition)
    if active:
        wanted = bool_token(active, "active")
        rows = rows.filter(status="in_service") if wanted else rows.exclude(status="in_service")
    return rows


def schedule_horizon(now: datetime) -> tuple[datetime, datetime]:
    """How far ahead the slot search looks, which is how far a Schedule plans."""
    return now, now + timedelta(days=search_days())


# --- Slot ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotRow:
    room: Room
    start: datetime
    end: datetime
    status: str

    @property
    def id(self) -> str:
        return slot_id(self.room.pk, self.start, self.end)


def _days(lo: datetime, hi: datetime) -> list[date]:
    """Department days covering [lo, hi), one more either side: a room in another zone may
    open before the department's midnight, and a stretch is always worked out whole."""
    zone = av.department_zone()
    first, last = lo.astimezone(zone).date(), hi.astimezone(zone).date()
    return [first - timedelta(days=1) + timedelta(days=i) for i in range((last - first).days + 3)]


def slots(
    *, room_rows: Sequence[Room], lo: datetime, hi: datetime, wanted: Sequence[str] = ()
) -> list[SlotRow]:
    """Each room's free and busy stretches that start in [lo, hi): free is the opening hours
    (less closures) not reserved; busy is a booking, busy-tentative a live hold.

    Stretches are worked out over whole days and only then filtered by start, so one stretch
    has one id whatever range found it.
    """
    if (hi - lo) > timedelta(days=MAX_SLOT_DAYS):
        raise InvalidRequest(
            f"A Slot search spans at most {MAX_SLOT_DAYS} days; narrow start.", field="start"
        )
    if hi <= lo or not room_rows:
        return []
    days = _days(lo, hi)
    zone = av.department_zone()
    span_lo, span_hi = av.day_bounds(days[0], zone)[0], av.day_bounds(days[-1], zone)[1]
    calendar = av.rooms_calendar(list(room_rows), days)
    now = timezone.now()
    reserved = (
        Reservation.objects.filter(
            room__in=list(room_rows), active=True, start__lt=span_hi, end__gt=span_lo
        )
        .exclude(hold__expires_at__lte=now)
        .values_list("room_id", "start", "end", "hold_id")
    )
    busy: dict[uuid.UUID, list[tuple[datetime, datetime]]] = {}
    held: dict[uuid.UUID, list[tuple[datetime, datetime]]] = {}
    for room_id, start, end, hold_id in reserved:
        (held if hold_id else busy).setdefault(room_id, []).append((start, end))
    rows: list[SlotRow] = []
    for room in room_rows:
        open_windows = av.union(w for on in days for w in calendar.get((room.pk, on), []))
        taken = av.union(busy.get(room.pk, []))
        tentative = av.subtract(av.union(held.get(room.pk, [])), taken)
        free = av.subtract(open_windows, [*taken, *tentative])
        for status, windows in (("free", free), ("busy", taken), ("busy-tentative", tentative)):
            if wanted and status not in wanted:
                continue
            rows.extend(
                SlotRow(room, start, end, status)
                for start, end in windows
                if end > start and lo <= start < hi
            )
    rows.sort(key=lambda r: (r.start, r.room.site.name, r.room.code))
    return rows


def slot_get(pk: str) -> SlotRow:
    key = parse_slot_id(pk)
    room = rooms().filter(pk=key.room).first() if key else None
    if key is None or room is None:
        raise NotFound(f"No Slot with id {pk}.", field="id")
    for row in slots(room_rows=[room], lo=key.start, hi=key.start + timedelta(minutes=1)):
        if row.id == pk:
            return row
    raise NotFound(
        f"Slot {pk} is no longer free or busy as it was; search the room's slots again.",
        field="id",
    )


# --- ServiceRequest, Appointment, ImagingStudy --------------------------------------------------


def orders() -> QuerySet[Order]:
    return Order.objects.select_related(
        "patient", "exam", "site", "exam_type", "exam_type__modality"
    ).prefetch_related("diagnoses", "exam_type__procedure_codes")


def order_get(pk: str) -> Order:
    found = by_id(orders(), pk)
    if found is None:
        raise NotFound(f"No ServiceRequest with id {pk}.", field="id")
    return found


def _exam_identifier_q(tokens: Sequence[Token], prefix: str) -> Q:
    condition = Q()
    for token in tokens:
        if token.system in (None, "", systems.ACCESSION):
            condition |= Q(**{f"{prefix}accession_number": token.code})
        if token.system in (None, "", systems.DICOM_UID):
            uid = token.code.removeprefix("urn:oid:")
            condition |= Q(**{f"{prefix}study_instance_uid": uid})
    return condition


def order_search(
    *,
    ids: Sequence[str],
    patient: Sequence[Ref],
    status: Sequence[str],
    identifier: Sequence[Token],
    authored: Sequence[DateParam],
    code: Sequence[Token],
) -> QuerySet[Order]:
    rows = orders().order_by("-received_at", "pk")
    if ids:
        rows = rows.filter(pk__in=_uuids(ids))
    if patient:
        rows = rows.filter(patient_id__in=_ref_ids(patient, "Patient"))
    if status:
        rows = rows.filter(exam__state__in=statuses.service_request_states(status))
    if identifier:
        condition = _exam_identifier_q(identifier, "exam__")
        for token in identifier:
            if token.system in (None, "", systems.PLACER):
                condition |= Q(placer_order_number=token.code)
        rows = rows.filter(condition)
    if authored:
        rows = rows.filter(date_q("received_at", authored))
    if code:
        codes = [t.code for t in code]
        rows = rows.filter(
            Q(exam_type__code__in=codes) | Q(exam_type__procedure_codes__code__in=codes)
        ).distinct()
    return rows


def exams() -> QuerySet[Exam]:
    return Exam.objects.select_related(
        "order",
        "order__patient",
        "order__exam_type",
        "order__exam_type__modality",
        "room",
        "room__site",
        "technologist",
        "device",
        "booked_interpreter",
    ).prefetch_related("order__exam_type__procedure_codes")


def _exam_get(pk: str) -> Exam | None:
    return by_id(exams(), pk)


@dataclass(frozen=True)
class HeldSlot:
    hold: Hold
    reservations: list[Reservation]


def live_hold(exam: Exam) -> HeldSlot | None:
    """The newest hold still keeping a slot for the exam's order."""
    now = timezone.now()
    hold = (
        Hold.objects.filter(order_id=exam.order_id, released_at__isnull=True, expires_at__gt=now)
        .prefetch_related(
            Prefetch(
                "reservations",
                queryset=Reservation.objects.filter(active=True).select_related(
                    "room", "room__site", "device", "staff", "interpreter"
                ),
            )
        )
        .order_by("-created_at")
        .first()
    )
    if hold is None:
        return None
    rows = list(hold.reservations.all())
    return HeldSlot(hold, rows) if rows else None


def appointment_get(pk: str) -> tuple[Exam, HeldSlot | None]:
    """A booked exam, or one whose slot a hold keeps (``pending``)."""
    exam = _exam_get(pk)
    if exam is not None and exam.scheduled_start is not None:
        return exam, None
    held = live_hold(exam) if exam is not None else None
    if exam is None or held is None:
        raise NotFound(f"No Appointment with id {pk}.", field="id")
    return exam, held


def appointment_search(
    *,
    ids: Sequence[str],
    date: Sequence[DateParam],
    patient: Sequence[Ref],
    status: Sequence[str],
    location: Sequence[Ref],
    actor: Sequence[Ref],
    identifier: Sequence[Token],
    based_on: Sequence[Ref],
) -> QuerySet[Exam]:
    """Exams with a time, earliest first (held slots are read one by one, not searched)."""
    rows = exams().filter(scheduled_start__isnull=False).order_by("scheduled_start", "pk")
    if ids:
        rows = rows.filter(pk__in=_uuids(ids))
    if date:
        rows = rows.filter(date_q("scheduled_start", date))
    if patient:
        rows = rows.filter(order__patient_id__in=_ref_ids(patient, "Patient"))
    if status:
        rows = rows.filter(state__in=statuses.appointment_states(status))
    if location:
        places = _ref_ids(location, "Location")
        rows = rows.filter(Q(room_id__in=places) | Q(room__site_id__in=places))
    if actor:
        condition = Q()
        for ref in actor:
            key = as_uuid(ref.id)
            kinds = [ref.resource_type] if ref.resource_type else list(_ACTOR_FIELDS)
            for kind in kinds:
                if key is not None and kind in _ACTOR_FIELDS:
                    condition |= Q(**{_ACTOR_FIELDS[kind]: key})
        rows = rows.filter(condition) if condition else rows.none()
    if identifier:
        rows = rows.filter(_exam_identifier_q(identifier, ""))
    if based_on:
        rows = rows.filter(order_id__in=_ref_ids(based_on, "ServiceRequest"))
    return rows


_ACTOR_FIELDS = {
    "Patient": "order__patient_id",
    "Practitioner": "technologist_id",
    "Location": "room_id",
    "Device": "device_id",
}
ACTOR_TYPES = tuple(_ACTOR_FIELDS)

#: Exams that have a study: the modality began them.
_STUDY_STATES = [s for s, status in statuses.IMAGING_STUDY_STATUS.items() if status]


def studies() -> QuerySet[Exam]:
    return (
        exams()
        .filter(Q(state__in=_STUDY_STATES) | Q(performed_steps__isnull=False))
        .distinct()
        .prefetch_related(
            Prefetch(
                "performed_steps",
                queryset=PerformedProcedureStep.objects.order_by("created_at"),
            )
        )
    )


def study_get(pk: str) -> Exam:
    found = by_id(studies(), pk)
    if found is None:
        raise NotFound(f"No ImagingStudy with id {pk}.", field="id")
    return found


def study_search(
    *,
    ids: Sequence[str],
    patient: Sequence[Ref],
    identifier: Sequence[Token],
    started: Sequence[DateParam],
    status: Sequence[str],
    based_on: Sequence[Ref],
) -> QuerySet[Exam]:
    rows = studies().order_by("-in_progress_at", "pk")
    if ids:
        rows = rows.filter(pk__in=_uuids(ids))
    if patient:
        rows = rows.filter(order__patient_id__in=_ref_ids(patient, "Patient"))
    if identifier:
        rows = rows.filter(_exam_identifier_q(identifier, ""))
    if started:
        rows = rows.filter(date_q("in_progress_at", started))
    if status:
        rows = rows.filter(state__in=statuses.imaging_study_states(status))
    if based_on:
        rows = rows.filter(order_id__in=_ref_ids(based_on, "ServiceRequest"))
    return rows
