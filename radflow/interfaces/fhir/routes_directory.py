"""Who and where: Practitioner, PractitionerRole, Location, HealthcareService, Device, Schedule
and Slot. None of these names a patient, so none is written to the access log."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from fhir.resources.R4B.healthcareservice import HealthcareService as FhirHealthcareService
from fhir.resources.R4B.location import Location as FhirLocation
from fhir.resources.R4B.schedule import Schedule as FhirSchedule
from ninja import Router
from ninja.params import functions as param

from radflow.accounts.api_auth import requires
from radflow.core.fhir.errors import InvalidRequest
from radflow.core.fhir.search import (
    DateParam,
    Ref,
    Token,
    parse_dates,
    parse_references,
    parse_tokens,
    split_or,
    string_values,
)
from radflow.interfaces.fhir import resources, selectors
from radflow.interfaces.fhir.http import (
    RESPONSES,
    fhir_response,
    non_blank,
    page_of,
    searchset,
)
from radflow.scheduling import availability as av
from radflow.scheduling.models import Room, Site

router = Router(tags=["directory"])

STAFF_READ = ("staff.view_staffmember",)
LOCATION_READ = ("scheduling.view_site", "scheduling.view_room")
SERVICE_READ = ("scheduling.view_modality", "catalog.view_examtype")
DEVICE_READ = ("scheduling.view_device",)
SCHEDULE_READ = ("scheduling.view_room",)

#: A Slot search without an end looks this far ahead.
SLOT_DEFAULT_DAYS = 7

ID = param.Query(None, alias="_id", description="Resource id(s), comma-separated.")
COUNT = param.Query(None, alias="_count", description="Entries per page (default 20, at most 100).")
PAGE = param.Query(None, alias="_page", description="Page number, from 1.")
SLOT_START = param.Query(None, description="Start, with a prefix (ge, lt ...); repeat for a range.")


def _ids(value: str | None) -> list[str]:
    return split_or(value) if value else []


def _tokens(value: str | None, name: str) -> list[Token]:
    return parse_tokens(value, name=name) if value else []


def _refs(value: str | None, name: str, *types: str) -> list[Ref]:
    return parse_references(value, name=name, types=types) if value else []


def _strings(value: str | None) -> list[str]:
    return string_values(value) if value else []


# --- Practitioner / PractitionerRole ----------------------------------------------------------


@router.get(
    "/Practitioner",
    response=RESPONSES,
    auth=requires(*STAFF_READ),
    summary="Search Practitioner",
    url_name="practitioner-search",
)
def practitioner_search(
    request: HttpRequest,
    ids: str | None = ID,
    identifier: str | None = None,
    name: str | None = None,
    family: str | None = None,
    given: str | None = None,
    active: str | None = None,
    count: int | None = COUNT,
    page: int | None = PAGE,
) -> HttpResponse:
    rows = selectors.staff_search(
        ids=_ids(ids),
        identifier=_tokens(identifier, "identifier"),
        name=_strings(name),
        family=_strings(family),
        given=_strings(given),
        active=_tokens(active, "active"),
    )
    shown, items = page_of(rows, count=count, page=page)
    return searchset(request, shown, [resources.practitioner_resource(s) for s in items])


@router.get(
    "/Practitioner/{staff_id}",
    response=RESPONSES,
    auth=requires(*STAFF_READ),
    summary="Read Practitioner",
    url_name="practitioner-read",
)
def practitioner_read(request: HttpRequest, staff_id: str) -> HttpResponse:
    return fhir_response(
        resources.practitioner_resource(selectors.staff_get(staff_id, "Practitioner"))
    )


@router.get(
    "/PractitionerRole",
    response=RESPONSES,
    auth=requires(*STAFF_READ),
    summary="Search PractitionerRole",
    url_name="practitionerrole-search",
)
def practitioner_role_search(
    request: HttpRequest,
    ids: str | None = ID,
    practitioner: str | None = None,
    role: str | None = None,
    location: str | None = None,
    active: str | None = None,
    count: int | None = COUNT,
    page: int | None = PAGE,
) -> HttpResponse:
    rows = selectors.staff_search(
        ids=_ids(ids),
        practitioner=_refs(practitioner, "practitioner", "Practitioner"),
        role=_tokens(role, "role"),
        location=_refs(location, "location", "Location"),
        active=_tokens(active, "active"),
    )
    shown, items = page_of(rows, count=count, page=page)
    return searchset(request, shown, [resources.practitioner_role_resource(s) for s in items])


@router.get(
    "/PractitionerRole/{staff_id}",
    response=RESPONSES,
    auth=requires(*STAFF_READ),
    summary="Read PractitionerRole",
    url_name="practitionerrole-read",
)
def practitioner_role_read(request: HttpRequest, staff_id: str) -> HttpResponse:
    return fhir_response(
        resources.practitioner_role_resource(selectors.staff_get(staff_id, "PractitionerRole"))
    )


# --- Location, HealthcareService, Device -------------------------------------------------------


def _location(row: Site | Room) -> FhirLocation:
    return resources.room_location(row) if isinstance(row, Room) else resources.site_location(row)


@router.get(
    "/Location",
    response=RESPONSES,
    auth=requires(*LOCATION_READ),
    summary="Search Location",
    url_name="location-search",
)
def location_search(
    request: HttpRequest,
    ids: str | None = ID,
    name: str | None = None,
    partof: str | None = None,
    count: int | None = COUNT,
    page: int | None = PAGE,
) -> HttpResponse:
    rows = selectors.location_search(
        ids=_ids(ids), name=_strings(name), partof=_refs(partof, "partof", "Location")
    )
    shown, items = page_of(rows, count=count, page=page)
    return searchset(request, shown, [_location(row) for row in items])


@router.get(
    "/Location/{location_id}",
    response=RESPONSES,
    auth=requires(*LOCATION_READ),
    summary="Read Location",
    url_name="location-read",
)
def location_read(request: HttpRequest, location_id: str) -> HttpResponse:
    return fhir_response(_location(selectors.location_get(location_id)))


def _service(found: selectors.Service) -> FhirHealthcareService:
    return resources.healthcare_service_resource(found.modality, found.exam_types, found.rooms)


@router.get(
    "/HealthcareService",
    response=RESPONSES,
    auth=requires(*SERVICE_READ),
    summary="Search HealthcareService",
    url_name="healthcareservice-search",
)
def healthcare_service_search(
    request: HttpRequest,
    ids: str | None = ID,
    name: str | None = None,
    service_type: str | None = param.Query(None, alias="service-type"),
    count: int | None = COUNT,
    page: int | None = PAGE,
) -> HttpResponse:
    rows = selectors.healthcare_services(
        ids=_ids(ids),
        name=_strings(name),
        service_type=_tokens(service_type, "service-type"),
    )
    shown, items = page_of(rows, count=count, page=page)
    return searchset(request, shown, [_service(found) for found in items])


@router.get(
    "/HealthcareService/{modality_code}",
    response=RESPONSES,
    auth=requires(*SERVICE_READ),
    summary="Read HealthcareService",
    url_name="healthcareservice-read",
)
def healthcare_service_read(request: HttpRequest, modality_code: str) -> HttpResponse:
    return fhir_response(_service(selectors.service_get(modality_code)))


@router.get(
    "/Device",
    response=RESPONSES,
    auth=requires(*DEVICE_READ),
    summary="Search Device",
    url_name="device-search",
)
def device_search(
    request: HttpRequest,
    ids: str | None = ID,
    kinds: str | None = param.Query(
        None, alias="type", description="Modality code or device kind."
    ),
    location: str | None = None,
    identifier: str | None = None,
    count: int | None = COUNT,
    page: int | None = PAGE,
) -> HttpResponse:
    rows = selectors.device_search(
        ids=_ids(ids),
        kinds=_tokens(kinds, "type"),
        location=_refs(location, "location", "Location"),
        identifier=_tokens(identifier, "identifier"),
    )
    shown, items = page_of(rows, count=count, page=page)
    return searchset(request, shown, [resources.device_resource(d) for d in items])


@router.get(
    "/Device/{device_id}",
    response=RESPONSES,
    auth=requires(*DEVICE_READ),
    summary="Read Device",
    url_name="device-read",
)
def device_read(request: HttpRequest, device_id: str) -> HttpResponse:
    return fhir_response(resources.device_resource(selectors.device_get(device_id)))


# --- Schedule and Slot --------------------------------------------------------------------------


def _schedules(rows: list[Room]) -> list[FhirSchedule]:
    horizon = selectors.schedule_horizon(timezone.now())
    types = selectors.exam_types_by_modality(sorted({r.modality_id for r in rows}))
    return [resources.schedule_resource(r, horizon, types[r.modality_id]) for r in rows]


@router.get(
    "/Schedule",
    response=RESPONSES,
    auth=requires(*SCHEDULE_READ),
    summary="Search Schedule",
    url_name="schedule-search",
)
def schedule_search(
    request: HttpRequest,
    ids: str | None = ID,
    actor: str | None = None,
    active: str | None = None,
    count: int | None = COUNT,
    page: int | None = PAGE,
) -> HttpResponse:
    rows = selectors.schedule_search(
        ids=_ids(ids),
        actor=_refs(actor, "actor", "Location", "HealthcareService"),
        active=_tokens(active, "active"),
    )
    shown, items = page_of(rows, count=count, page=page)
    return searchset(request, shown, _schedules(items))


@router.get(
    "/Schedule/{room_id}",
    response=RESPONSES,
    auth=requires(*SCHEDULE_READ),
    summary="Read Schedule",
    url_name="schedule-read",
)
def schedule_read(request: HttpRequest, room_id: str) -> HttpResponse:
    return fhir_response(_schedules([selectors.room_get(room_id, "Schedule")])[0])


def slot_range(params: list[DateParam], now: datetime) -> tuple[datetime, datetime]:
    """The [lo, hi) a Slot search covers: its start bounds, from now for a week by default."""
    lo: datetime | None = None
    hi: datetime | None = None
    for given in params:
        if given.negated:
            raise InvalidRequest("start does not take the ne prefix.", field="start")
        after, before = given.instant_bounds()
        if after is not None:
            lo = after if lo is None else max(lo, after)
        if before is not None:
            hi = before if hi is None else min(hi, before)
    if lo is None:
        lo = now if hi is None or hi > now else hi - timedelta(days=SLOT_DEFAULT_DAYS)
    if hi is None:
        hi = lo + timedelta(days=SLOT_DEFAULT_DAYS)
    return lo, hi


@router.get(
    "/Slot",
    response=RESPONSES,
    auth=requires(*SCHEDULE_READ),
    summary="Search Slot",
    url_name="slot-search",
)
def slot_search(
    request: HttpRequest,
    schedule: str | None = None,
    start: list[str] | None = SLOT_START,
    status: str | None = None,
    count: int | None = COUNT,
    page: int | None = PAGE,
) -> HttpResponse:
    """Free time a room has (opening hours less closures and bookings), and its busy time."""
    lo, hi = slot_range(
        parse_dates(non_blank(start), zone=av.department_zone(), name="start"), timezone.now()
    )
    rooms = selectors.rooms().order_by("site__name", "code")
    refs = _refs(schedule, "schedule", "Schedule")
    if refs:
        rooms = rooms.filter(pk__in=[key for r in refs if (key := selectors.as_uuid(r.id))])
    wanted = [t.code for t in _tokens(status, "status")]
    unknown = set(wanted) - {"free", "busy", "busy-tentative", "busy-unavailable"}
    if unknown:
        raise InvalidRequest(f"Unknown Slot status {sorted(unknown)[0]!r}.", field="status")
    rows = selectors.slots(room_rows=list(rooms), lo=lo, hi=hi, wanted=wanted)
    shown, items = page_of(rows, count=count, page=page)
    return searchset(
        request,
        shown,
        [resources.slot_resource(r.room, r.start, r.end, r.status) for r in items],
    )


@router.get(
    "/Slot/{slot_id}",
    response=RESPONSES,
    auth=requires(*SCHEDULE_READ),
    summary="Read Slot",
    url_name="slot-read",
)
def slot_read(request: HttpRequest, slot_id: str) -> HttpResponse:
    row = selectors.slot_get(slot_id)
    return fhir_response(resources.slot_resource(row.room, row.start, row.end, row.status))
