"""Patient records: Patient, ServiceRequest (read, search, create, update), Appointment and
ImagingStudy. Every answer that shows a patient, or names one inside another resource, writes
one access-log row per patient on the ``fhir`` channel, in the transaction of the read."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from fhir.resources.R4B.servicerequest import ServiceRequest as FhirServiceRequest
from ninja import Router
from ninja.params import functions as param

from radflow.accounts.api_auth import requires
from radflow.core.errors import ValidationFailed
from radflow.core.exam_states import ExamState
from radflow.core.fhir import statuses
from radflow.core.fhir.errors import InvalidRequest
from radflow.core.fhir.search import (
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
    FhirResource,
    audit,
    base_url,
    fhir_response,
    non_blank,
    page_of,
    parse_body,
    searchset,
)
from radflow.interfaces.fhir.parsing import FHIR_ORDER_FIELDS, order_input
from radflow.orders.models import OrderPatientClass, OrderSource
from radflow.orders.services import order_create, order_update
from radflow.scheduling import availability as av

router = Router(tags=["clinical"])

PATIENT_READ = ("patients.view_patient",)
ORDER_READ = ("orders.view_order", "patients.view_patient")
ORDER_CREATE = ("orders.add_order", "patients.view_patient")
ORDER_CHANGE = ("orders.change_order", "patients.view_patient")
EXAM_READ = ("exams.view_exam", "patients.view_patient")

WRITE_RESPONSES: dict[int, Any] = {**RESPONSES, 201: FhirResource, 422: FhirResource}

ID = param.Query(None, alias="_id", description="Resource id(s), comma-separated.")
COUNT = param.Query(None, alias="_count", description="Entries per page (default 20, at most 100).")
PAGE = param.Query(None, alias="_page", description="Page number, from 1.")
DATES = param.Query(
    None, description="FHIR date with prefix (eq ne gt lt ge le); repeat for a range."
)


def _ids(value: str | None) -> list[str]:
    return split_or(value) if value else []


def _tokens(value: str | None, name: str) -> list[Token]:
    return parse_tokens(value, name=name) if value else []


def _refs(value: str | None, name: str, *types: str) -> list[Ref]:
    return parse_references(value, name=name, types=types) if value else []


def _codes(value: str | None, name: str) -> list[str]:
    return [token.code for token in _tokens(value, name)]


def _dates(values: list[str] | None, name: str) -> list[Any]:
    return parse_dates(non_blank(values), zone=av.department_zone(), name=name)


# --- Patient ------------------------------------------------------------------------------------


@router.get(
    "/Patient",
    response=RESPONSES,
    auth=requires(*PATIENT_READ),
    summary="Search Patient",
    url_name="patient-search",
)
def patient_search(
    request: HttpRequest,
    ids: str | None = ID,
    identifier: str | None = None,
    family: str | None = None,
    given: str | None = None,
    name: str | None = None,
    birthdate: list[str] | None = DATES,
    count: int | None = COUNT,
    page: int | None = PAGE,
) -> HttpResponse:
    """At least one criterion; each patient on the page returned is logged."""
    rows = selectors.patient_search(
        ids=_ids(ids),
        identifier=_tokens(identifier, "identifier"),
        family=string_values(family or ""),
        given=string_values(given or ""),
        name=string_values(name or ""),
        birthdate=_dates(birthdate, "birthdate"),
    )
    with transaction.atomic():
        shown, items = page_of(rows, count=count, page=page)
        audit(request, items, "fhir.patient.search")
    return searchset(request, shown, [resources.patient_resource(p) for p in items])


@router.get(
    "/Patient/{patient_id}",
    response=RESPONSES,
    auth=requires(*PATIENT_READ),
    summary="Read Patient",
    url_name="patient-read",
)
def patient_read(request: HttpRequest, patient_id: str) -> HttpResponse:
    with transaction.atomic():
        patient = selectors.patient_get(patient_id)
        audit(request, [patient], "fhir.patient.read")
    return fhir_response(resources.patient_resource(patient))


# --- ServiceRequest -----------------------------------------------------------------------------


@router.get(
    "/ServiceRequest",
    response=RESPONSES,
    auth=requires(*ORDER_READ),
    summary="Search ServiceRequest",
    url_name="servicerequest-search",
)
def service_request_search(
    request: HttpRequest,
    ids: str | None = ID,
    patient: str | None = None,
    status: str | None = None,
    identifier: str | None = None,
    authored: list[str] | None = DATES,
    code: str | None = None,
    count: int | None = COUNT,
    page: int | None = PAGE,
) -> HttpResponse:
    rows = selectors.order_search(
        ids=_ids(ids),
        patient=_refs(patient, "patient", "Patient"),
        status=_codes(status, "status"),
        identifier=_tokens(identifier, "identifier"),
        authored=_dates(authored, "authored"),
        code=_tokens(code, "code"),
    )
    with transaction.atomic():
        shown, items = page_of(rows, count=count, page=page)
        audit(request, [o.patient for o in items], "fhir.servicerequest.search")
    return searchset(request, shown, [resources.service_request_resource(o) for o in items])


@router.get(
    "/ServiceRequest/{order_id}",
    response=RESPONSES,
    auth=requires(*ORDER_READ),
    summary="Read ServiceRequest",
    url_name="servicerequest-read",
)
def service_request_read(request: HttpRequest, order_id: str) -> HttpResponse:
    with transaction.atomic():
        order = selectors.order_get(order_id)
        audit(request, [order.patient], "fhir.servicerequest.read")
    return fhir_response(resources.service_request_resource(order))


@router.post(
    "/ServiceRequest",
    response=WRITE_RESPONSES,
    auth=requires(*ORDER_CREATE),
    summary="Create ServiceRequest (an order, through the same service as the pages)",
    url_name="servicerequest-create",
)
def service_request_create(request: HttpRequest, payload: FhirResource) -> HttpResponse:
    """A new order and its exam (``requested``), as an HL7 ORM/OMI or the order page makes
    them; the answer is the stored ServiceRequest with its accession number."""
    given = order_input(parse_body(FhirServiceRequest, payload.model_dump(by_alias=True)))
    if given.status != "active":
        raise ValidationFailed({"status": ["A new order is active (RadFlow keeps no drafts)."]})
    with transaction.atomic():
        created = order_create(
            by=request.user,
            patient=given.patient,
            exam_type=given.exam_type,
            priority=given.priority,
            patient_class=given.patient_class or OrderPatientClass.OUTPATIENT,
            diagnosis_codes=given.diagnosis_codes,
            source=OrderSource.FHIR,
            **given.fields,
        )
        order = selectors.order_get(str(created.pk))
        audit(request, [order.patient], "fhir.servicerequest.create")
    location = f"{base_url(request)}/ServiceRequest/{order.pk}"
    return fhir_response(
        resources.service_request_resource(order), status=201, headers={"Location": location}
    )


@router.put(
    "/ServiceRequest/{order_id}",
    response=WRITE_RESPONSES,
    auth=requires(*ORDER_CHANGE),
    summary="Update ServiceRequest (the order's fields, until the patient arrives)",
    url_name="servicerequest-update",
)
def service_request_update(
    request: HttpRequest, order_id: str, payload: FhirResource
) -> HttpResponse:
    """Replaces what a ServiceRequest carries of the order (exam type, priority, requester,
    reasons, notes, placer number, site, requested date); the rest of the order stays. Status
    follows the exam and cannot be set here."""
    resource = parse_body(FhirServiceRequest, payload.model_dump(by_alias=True))
    if resource.id != order_id:
        raise InvalidRequest("The body's id must be the id in the URL.", field="id")
    order = selectors.order_get(order_id)
    given = order_input(resource)
    if given.patient.pk != order.patient_id:
        raise ValidationFailed({"subject": ["An order cannot move to another patient."]})
    current = statuses.SERVICE_REQUEST_STATUS[ExamState(order.exam.state)]
    if given.status != current:
        raise ValidationFailed(
            {"status": [f"The order is {current}: its status follows the exam, not an update."]}
        )
    changes: dict[str, Any] = {name: given.fields[name] for name in FHIR_ORDER_FIELDS}
    changes["exam_type"] = given.exam_type
    changes["priority"] = given.priority
    if given.patient_class:
        changes["patient_class"] = given.patient_class
    with transaction.atomic():
        order_update(
            order=order, by=request.user, changes=changes, diagnosis_codes=given.diagnosis_codes
        )
        shown = selectors.order_get(order_id)
        audit(request, [shown.patient], "fhir.servicerequest.update")
    return fhir_response(resources.service_request_resource(shown))


# --- Appointment --------------------------------------------------------------------------------


@router.get(
    "/Appointment",
    response=RESPONSES,
    auth=requires(*EXAM_READ),
    summary="Search Appointment",
    url_name="appointment-search",
)
def appointment_search(
    request: HttpRequest,
    ids: str | None = ID,
    date: list[str] | None = DATES,
    patient: str | None = None,
    status: str | None = None,
    location: str | None = None,
    actor: str | None = None,
    identifier: str | None = None,
    based_on: str | None = param.Query(None, alias="based-on"),
    count: int | None = COUNT,
    page: int | None = PAGE,
) -> HttpResponse:
    rows = selectors.appointment_search(
        ids=_ids(ids),
        date=_dates(date, "date"),
        patient=_refs(patient, "patient", "Patient"),
        status=_codes(status, "status"),
        location=_refs(location, "location", "Location"),
        actor=_refs(actor, "actor", *selectors.ACTOR_TYPES),
        identifier=_tokens(identifier, "identifier"),
        based_on=_refs(based_on, "based-on", "ServiceRequest"),
    )
    with transaction.atomic():
        shown, items = page_of(rows, count=count, page=page)
        audit(request, [e.order.patient for e in items], "fhir.appointment.search")
    return searchset(request, shown, [resources.appointment_resource(e) for e in items])


@router.get(
    "/Appointment/{exam_id}",
    response=RESPONSES,
    auth=requires(*EXAM_READ),
    summary="Read Appointment",
    url_name="appointment-read",
)
def appointment_read(request: HttpRequest, exam_id: str) -> HttpResponse:
    with transaction.atomic():
        exam, held = selectors.appointment_get(exam_id)
        audit(request, [exam.order.patient], "fhir.appointment.read")
    if held is not None:
        return fhir_response(resources.held_appointment(exam, held.hold, held.reservations))
    return fhir_response(resources.appointment_resource(exam))


# --- ImagingStudy -------------------------------------------------------------------------------


@router.get(
    "/ImagingStudy",
    response=RESPONSES,
    auth=requires(*EXAM_READ),
    summary="Search ImagingStudy",
    url_name="imagingstudy-search",
)
def imaging_study_search(
    request: HttpRequest,
    ids: str | None = ID,
    patient: str | None = None,
    identifier: str | None = None,
    started: list[str] | None = DATES,
    status: str | None = None,
    basedon: str | None = None,
    count: int | None = COUNT,
    page: int | None = PAGE,
) -> HttpResponse:
    rows = selectors.study_search(
        ids=_ids(ids),
        patient=_refs(patient, "patient", "Patient"),
        identifier=_tokens(identifier, "identifier"),
        started=_dates(started, "started"),
        status=_codes(status, "status"),
        based_on=_refs(basedon, "basedon", "ServiceRequest"),
    )
    with transaction.atomic():
        shown, items = page_of(rows, count=count, page=page)
        audit(request, [e.order.patient for e in items], "fhir.imagingstudy.search")
    return searchset(
        request,
        shown,
        [resources.imaging_study_resource(e, list(e.performed_steps.all())) for e in items],
    )


@router.get(
    "/ImagingStudy/{exam_id}",
    response=RESPONSES,
    auth=requires(*EXAM_READ),
    summary="Read ImagingStudy",
    url_name="imagingstudy-read",
)
def imaging_study_read(request: HttpRequest, exam_id: str) -> HttpResponse:
    with transaction.atomic():
        exam = selectors.study_get(exam_id)
        audit(request, [exam.order.patient], "fhir.imagingstudy.read")
    return fhir_response(resources.imaging_study_resource(exam, list(exam.performed_steps.all())))
