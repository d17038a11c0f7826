"""IHE ITI Scheduling on Appointment: ``$find`` (ITI-115), ``$hold`` (ITI-116) and ``$book``
(ITI-117), backed by the booking services the schedule board and ``/api/scheduling`` use.

``$find`` proposes Appointments without storing them (no id): ``$hold`` and ``$book`` take the
proposed Appointment itself in the ``appointment`` parameter. A held slot is the exam's
Appointment with status ``pending`` (its id is the exam's), so ``$book`` may also name it by
``appointment-reference``. Each answer is a Bundle holding the Appointment(s).
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from fhir.resources.R4B.parameters import Parameters
from ninja import Router
from ninja.params import functions as param

from radflow.accounts.api_auth import requires
from radflow.core.errors import Conflict
from radflow.core.fhir.errors import InvalidRequest
from radflow.core.fhir.paging import Page
from radflow.exams.models import Exam
from radflow.interfaces.fhir import resources, selectors
from radflow.interfaces.fhir.http import RESPONSES, FhirResource, audit, parse_body, searchset
from radflow.interfaces.fhir.parsing import (
    FindQuery,
    SlotChoice,
    appointment_from_parameters,
    find_query,
    hold_minutes,
    parameter_value,
    parameter_values,
    references,
    slot_choice,
)
from radflow.orders.models import Order
from radflow.scheduling import booking

router = Router(tags=["scheduling"])

SCHEDULE = ("exams.view_exam", "exams.schedule_exam")
OP_RESPONSES = {**RESPONSES, 409: FhirResource, 422: FhirResource}


def _parameters(payload: FhirResource) -> Parameters:
    return parse_body(Parameters, payload.model_dump(by_alias=True))


def _find(request: HttpRequest, query: FindQuery) -> HttpResponse:
    narrowed = query.room is not None or query.staff is not None
    options = booking.slot_find(
        order=query.order,
        earliest=query.earliest,
        latest=query.latest,
        site=query.site,
        limit=query.limit * 5 if narrowed else query.limit,
    )
    if query.room is not None:
        options = [o for o in options if o.room.pk == query.room.pk]
    if query.staff is not None:
        options = [o for o in options if o.staff is not None and o.staff.pk == query.staff.pk]
    options = options[: query.limit]
    with transaction.atomic():
        audit(request, [query.order.patient], "fhir.appointment.find")
    found = [resources.proposed_appointment(query.order, option) for option in options]
    return searchset(request, Page(number=1, size=query.limit, total=len(found)), found)


@router.get(
    "/Appointment/$find",
    response=OP_RESPONSES,
    auth=requires(*SCHEDULE),
    summary="$find: proposed appointments for an order",
    url_name="appointment-find-get",
)
def appointment_find_get(
    request: HttpRequest,
    start: str | None = None,
    end: str | None = None,
    referral: str | None = param.Query(None, description="ServiceRequest/[id]: the order to book."),
    patient: str | None = param.Query(None, description="Patient/[id] (with visit-type)."),
    visit_type: str | None = param.Query(None, alias="visit-type", description="Exam type code."),
    service_type: str | None = param.Query(
        None, alias="service-type", description="Same as visit-type."
    ),
    location: str | None = param.Query(None, description="Location/[site or room id]."),
    practitioner: str | None = param.Query(None, description="Practitioner/[id]."),
    count: int | None = param.Query(None, alias="_count", description="At most this many (50)."),
) -> HttpResponse:
    return _find(
        request,
        find_query(
            start=start,
            end=end,
            referral=referral,
            patient=patient,
            visit_type=visit_type or service_type,
            location=location,
            practitioner=practitioner,
            count=count,
        ),
    )


@router.post(
    "/Appointment/$find",
    response=OP_RESPONSES,
    auth=requires(*SCHEDULE),
    summary="$find with a Parameters body",
    url_name="appointment-find",
)
def appointment_find(request: HttpRequest, payload: FhirResource) -> HttpResponse:
    given = _parameters(payload)
    count = parameter_value(given, "_count")
    try:
        limit = int(count) if count is not None else None
    except (TypeError, ValueError):
        raise InvalidRequest("_count is a whole number.", field="_count") from None

    def text(*names: str) -> str | None:
        value = parameter_value(given, *names)
        return None if value is None else str(value)

    return _find(
        request,
        find_query(
            start=parameter_value(given, "start"),
            end=parameter_value(given, "end"),
            referral=text("referral", "service-request"),
            patient=text("patient"),
            visit_type=text("visit-type", "service-type"),
            location=text("location"),
            practitioner=text("practitioner"),
            count=limit,
        ),
    )


def _exam_order(appointment_id: str | None) -> Order | None:
    """The order of an Appointment RadFlow already knows (its id is the exam's)."""
    if not appointment_id:
        return None
    exams = Exam.objects.select_related("order__patient", "order__exam_type")
    found = selectors.by_id(exams, appointment_id)
    return found.order if found is not None else None


def _not_booked(order: Order) -> None:
    exam = order.exam
    if exam.scheduled_start is not None:
        raise Conflict(
            f"Exam {exam.accession_number} is already booked; move it instead.",
            field="appointment",
            code="already_booked",
        )


def _appointment_bundle(request: HttpRequest, exam_id: str, action: str) -> HttpResponse:
    with transaction.atomic():
        exam, held = selectors.appointment_get(exam_id)
        audit(request, [exam.order.patient], action)
    shown = (
        resources.held_appointment(exam, held.hold, held.reservations)
        if held is not None
        else resources.appointment_resource(exam)
    )
    return searchset(request, Page(number=1, size=1, total=1), [shown])


@router.post(
    "/Appointment/$hold",
    response=OP_RESPONSES,
    auth=requires(*SCHEDULE),
    summary="$hold: keep a proposed appointment (pending)",
    url_name="appointment-hold",
)
def appointment_hold(request: HttpRequest, payload: FhirResource) -> HttpResponse:
    """Parameters: ``appointment`` (the proposed Appointment from ``$find``) and optionally
    ``minutes`` (1-60, default 10)."""
    given = _parameters(payload)
    if parameter_values(given, "appointment-reference"):
        raise InvalidRequest(
            "RadFlow does not store proposals: send the proposed Appointment itself as the "
            "appointment parameter.",
            field="appointment-reference",
        )
    appointment = appointment_from_parameters(given)
    if appointment is None:
        raise InvalidRequest("Send the Appointment to hold as appointment.", field="appointment")
    choice = slot_choice(appointment, exam_order=_exam_order(appointment.id))
    _not_booked(choice.order)
    option = booking.option_from(
        order=choice.order,
        room=choice.room,
        start=choice.start,
        staff=choice.staff,
        device=choice.device,
    )
    booking.slot_hold(
        order=choice.order, option=option, by=request.user, minutes=hold_minutes(given)
    )
    return _appointment_bundle(request, str(choice.order.exam.pk), "fhir.appointment.hold")


def _held_choice(exam_id: str) -> SlotChoice:
    exam, held = selectors.appointment_get(exam_id)
    if held is None:  # a booked exam: appointment_get answers only booked or held ones
        raise Conflict(
            f"Exam {exam.accession_number} is already booked; move it instead.",
            field="appointment-reference",
            code="already_booked",
        )
    kinds = {resources.reservation_kind(r): r for r in held.reservations}
    room_row = kinds.get("room")
    if room_row is None or room_row.room is None:
        raise Conflict("The hold keeps no room any more; hold again.", field="appointment")
    return SlotChoice(
        order=exam.order,
        start=room_row.start,
        room=room_row.room,
        staff=kinds["staff"].staff if "staff" in kinds else None,
        device=kinds["device"].device if "device" in kinds else None,
    )


@router.post(
    "/Appointment/$book",
    response=OP_RESPONSES,
    auth=requires(*SCHEDULE),
    summary="$book: book the appointment (the board's booking service)",
    url_name="appointment-book",
)
def appointment_book(request: HttpRequest, payload: FhirResource) -> HttpResponse:
    """Parameters: ``appointment-reference`` (a pending Appointment, booked as held) or
    ``appointment`` (a proposed or pending Appointment resource). The order's live hold, if
    any, becomes the booking."""
    given = _parameters(payload)
    named = references(given, "appointment-reference", ("Appointment",))
    if named:
        choice = _held_choice(named[0].id)
    else:
        appointment = appointment_from_parameters(given)
        if appointment is None:
            raise InvalidRequest(
                "Send appointment-reference (Appointment/[id]) or the Appointment as appointment.",
                field="appointment",
            )
        choice = slot_choice(appointment, exam_order=_exam_order(appointment.id))
    exam = Exam.objects.select_related("order").get(order=choice.order)
    held = selectors.live_hold(exam)
    booked = booking.appointment_book(
        exam=exam,
        by=request.user,
        room=choice.room,
        start=choice.start,
        staff=choice.staff,
        device=choice.device,
        hold=held.hold if held is not None else None,
    )
    return _appointment_bundle(request, str(booked.pk), "fhir.appointment.book")
