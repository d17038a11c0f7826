"""/api/department: sites, rooms (and their status), devices, probes and modalities;
/api/scheduling: slot search, holds, booking, moving and cancelling, eligibility (issue 5)."""

# No ``from __future__ import annotations``: ninja reads these signatures at run time, and
# ``@paginate`` wraps them in its own module, where string annotations would not resolve.

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status
from ninja.pagination import paginate

from radflow.accounts.api_auth import requires
from radflow.api_pagination import LimitOffsetPagination
from radflow.catalog.models import ExamType
from radflow.core.errors import Conflict, NotFound, ValidationFailed
from radflow.exams.models import Exam
from radflow.orders.models import Order
from radflow.scheduling import booking, selectors, services
from radflow.scheduling.eligibility import exam_eligibility
from radflow.scheduling.models import (
    Device,
    DeviceStatus,
    Hold,
    Interpreter,
    Modality,
    ProbeType,
    Room,
    RoomStatus,
    Site,
    SpauldingClass,
)
from radflow.scheduling.schemas import (
    AppointmentOut,
    BookIn,
    CancelIn,
    DeviceDetailOut,
    DeviceIn,
    DeviceOut,
    EligibilityOut,
    EligibilityQuery,
    HoldIn,
    HoldOut,
    ModalityOut,
    MoveIn,
    ProbeIn,
    ProbeOut,
    RoomDetailOut,
    RoomOut,
    RoomStatusIn,
    SiteDetailOut,
    SiteOut,
    SlotQuery,
    SlotsOut,
)
from radflow.staff.models import StaffMember

router = Router(tags=["department"])

M = TypeVar("M", bound=Model)


def _reference(model: type[M], key: Any, field: str) -> M:
    """Resolve an id given in a request body; an unknown one is bad input, not a missing page."""
    found = model._default_manager.filter(pk=key).first()
    if found is None:
        name = model._meta.verbose_name
        raise ValidationFailed({field: [f"No {name} with id {key}."]})
    return found


@router.get("/modalities", response=list[ModalityOut], auth=requires("scheduling.view_modality"))
def list_modalities(request: HttpRequest) -> Any:
    return selectors.modality_list()


@router.get("/sites", response=list[SiteOut], auth=requires("scheduling.view_site"))
@paginate(LimitOffsetPagination)
def list_sites(request: HttpRequest) -> Any:
    return selectors.site_list()


@router.get(
    "/sites/{site_id}",
    response=SiteDetailOut,
    auth=requires("scheduling.view_site", "scheduling.view_room"),
)
def get_site(request: HttpRequest, site_id: UUID) -> Any:
    return selectors.site_get(site_id=site_id)


@router.get("/rooms", response=list[RoomOut], auth=requires("scheduling.view_room"))
@paginate(LimitOffsetPagination)
def list_rooms(
    request: HttpRequest,
    site: UUID | None = None,
    modality: str | None = None,
    status: RoomStatus | None = None,
    capability: str | None = None,
) -> Any:
    return selectors.room_list(
        site_id=site, modality=modality, status=status, capability=capability
    )


@router.get("/rooms/{room_id}", response=RoomDetailOut, auth=requires("scheduling.view_room"))
def get_room(request: HttpRequest, room_id: UUID) -> Any:
    return selectors.room_get(room_id=room_id)


@router.patch(
    "/rooms/{room_id}/status",
    response=RoomDetailOut,
    auth=requires("scheduling.view_room", "scheduling.change_room"),
)
def set_room_status(request: HttpRequest, room_id: UUID, payload: RoomStatusIn) -> Any:
    room = selectors.room_get(room_id=room_id)
    services.room_set_status(
        room=room,
        status=payload.status,
        note=payload.note,
        changed_by=request.user,  # type: ignore[arg-type]
    )
    return selectors.room_get(room_id=room_id)


@router.get("/devices", response=list[DeviceOut], auth=requires("scheduling.view_device"))
@paginate(LimitOffsetPagination)
def list_devices(
    request: HttpRequest,
    modality: str | None = None,
    site: UUID | None = None,
    status: DeviceStatus | None = None,
    q: str | None = None,
) -> Any:
    return selectors.device_list(modality=modality, site_id=site, status=status, q=q)


@router.get(
    "/devices/{device_id}",
    response=DeviceDetailOut,
    auth=requires("scheduling.view_device", "scheduling.view_probe"),
)
def get_device(request: HttpRequest, device_id: UUID) -> Any:
    return selectors.device_get(device_id=device_id)


@router.post("/devices", response={201: DeviceOut}, auth=requires("scheduling.add_device"))
def create_device(request: HttpRequest, payload: DeviceIn) -> Any:
    device = services.device_create(
        kind=payload.kind,
        modality=_reference(Modality, payload.modality, "modality"),
        manufacturer=payload.manufacturer,
        model_name=payload.model_name,
        serial_number=payload.serial_number,
        ae_title=payload.ae_title,
        station_name=payload.station_name,
        room=_reference(Room, payload.room, "room") if payload.room else None,
        install_date=payload.install_date,
        status=payload.status,
    )
    return Status(201, device)


@router.get("/probes", response=list[ProbeOut], auth=requires("scheduling.view_probe"))
@paginate(LimitOffsetPagination)
def list_probes(
    request: HttpRequest,
    probe_type: ProbeType | None = None,
    spaulding_class: SpauldingClass | None = None,
    status: DeviceStatus | None = None,
    device: UUID | None = None,
) -> Any:
    return selectors.probe_list(
        probe_type=probe_type, spaulding_class=spaulding_class, status=status, device_id=device
    )


@router.post("/probes", response={201: ProbeOut}, auth=requires("scheduling.add_probe"))
def create_probe(request: HttpRequest, payload: ProbeIn) -> Any:
    probe = services.probe_create(
        serial_number=payload.serial_number,
        manufacturer=payload.manufacturer,
        model_name=payload.model_name,
        probe_type=payload.probe_type,
        spaulding_class=payload.spaulding_class,
        device=_reference(Device, payload.device, "device") if payload.device else None,
        status=payload.status,
    )
    return Status(201, probe)


# --- booking (issue 5): mounted at /api/scheduling -------------------------------------------

booking_router = Router(tags=["scheduling"])

SCHEDULE = ("exams.view_exam", "exams.schedule_exam")


def _audit(request: HttpRequest, patients: list[Any], action: str) -> None:
    """Every answer that names an order or exam logs its patient as read."""
    from radflow.audit.models import AccessChannel
    from radflow.audit.services import AccessSource, access_record

    access_record(
        user=request.user,
        patients=patients,
        action=action,
        source=AccessSource.from_request(request, AccessChannel.API),
    )


def _optional(model: type[M], key: Any, field: str) -> M | None:
    return _reference(model, key, field) if key is not None else None


def _option_out(option: booking.SlotOption) -> dict[str, Any]:
    return option.as_dict()


def _slot_taken(request: HttpRequest, exc: Conflict) -> HttpResponse:
    """409 problem+json with the fresh options a lost race comes with."""
    from radflow.api import api

    body = {
        "type": f"https://radflow.invalid/problems/{exc.code}",
        "title": exc.message,
        "status": exc.http_status,
        "detail": exc.message,
        "code": exc.code,
        "errors": [{"field": exc.field or "start", "message": exc.message}],
        "options": [_option_out(o) for o in getattr(exc, "options", [])],
    }
    response = api.create_response(request, body, status=exc.http_status)
    response["Content-Type"] = "application/problem+json"
    return response


def _booking_call(request: HttpRequest, run: Callable[[], Any]) -> Any:
    try:
        return run()
    except Conflict as exc:
        if exc.code == "slot_taken":
            return _slot_taken(request, exc)
        raise


def _order(order_id: UUID) -> Order:
    order = Order.objects.select_related("exam", "patient", "exam_type", "site").filter(pk=order_id)
    found = order.first()
    if found is None:
        raise ValidationFailed({"order": [f"No order with id {order_id}."]})
    return found


def _exam(exam_id: UUID, field: str = "exam") -> Exam:
    found = Exam.objects.select_related("order__patient", "order__exam_type").filter(pk=exam_id)
    exam = found.first()
    if exam is None:
        raise NotFound(f"No exam with id {exam_id}.", field=field)
    return exam


def _appointment(exam: Exam) -> dict[str, Any]:
    exam = Exam.objects.select_related("room", "device", "technologist", "booked_interpreter").get(
        pk=exam.pk
    )
    room = exam.room
    return {
        "exam": exam.pk,
        "accession_number": exam.accession_number,
        "state": exam.state,
        "room": {"id": room.pk, "code": room.code, "name": room.name} if room else None,
        "start": exam.scheduled_start,
        "end": exam.scheduled_end,
        "device": {"id": exam.device.pk, "name": str(exam.device)} if exam.device else None,
        "staff": (
            {"id": exam.technologist.pk, "name": str(exam.technologist)}
            if exam.technologist
            else None
        ),
        "interpreter": (
            {"id": exam.booked_interpreter.pk, "name": exam.booked_interpreter.name}
            if exam.booked_interpreter
            else None
        ),
        "transport_pickup_at": exam.transport_pickup_at,
    }


@booking_router.get("/slots", response=SlotsOut, auth=requires(*SCHEDULE))
def find_slots(request: HttpRequest, query: Query[SlotQuery]) -> Any:
    """Ranked options (room, device, performer, interpreter) for an order; the score is
    explained per option in ``why``."""
    order = _order(query.order)
    site = _optional(Site, query.site, "site")
    options = booking.slot_find(
        order=order,
        earliest=query.earliest,
        latest=query.latest,
        site=site,
        preferred_time=query.preferred_time,
        limit=query.limit,
    )
    _audit(request, [order.patient], "scheduling.slots")
    return {"order": order.pk, "options": [_option_out(o) for o in options]}


@booking_router.post("/holds", response={201: HoldOut}, auth=requires(*SCHEDULE))
def hold_slot(request: HttpRequest, payload: HoldIn) -> Any:
    """Keep one option for the order for ``minutes`` (1-60) while the patient decides."""
    order = _order(payload.order)
    option = booking.option_from(
        order=order,
        room=_reference(Room, payload.room, "room"),
        start=payload.start,
        staff=_optional(StaffMember, payload.staff, "staff"),
        device=_optional(Device, payload.device, "device"),
        interpreter=_optional(Interpreter, payload.interpreter, "interpreter"),
    )

    def run() -> Any:
        hold = booking.slot_hold(
            order=order, option=option, by=request.user, minutes=payload.minutes
        )
        _audit(request, [order.patient], "scheduling.hold")
        return Status(
            201,
            {
                "id": hold.pk,
                "order": order.pk,
                "expires_at": hold.expires_at,
                "option": _option_out(option),
            },
        )

    return _booking_call(request, run)


@booking_router.post("/appointments", response={201: AppointmentOut}, auth=requires(*SCHEDULE))
def book_appointment(request: HttpRequest, payload: BookIn) -> Any:
    """Book the exam: the room (and its device), the performer and, when the patient needs
    one, an interpreter. A lost race answers 409 ``slot_taken`` with fresh ``options``."""
    exam = _exam(payload.exam)

    def run() -> Any:
        booked = booking.appointment_book(
            exam=exam,
            by=request.user,
            room=_reference(Room, payload.room, "room"),
            start=payload.start,
            staff=_optional(StaffMember, payload.staff, "staff"),
            device=_optional(Device, payload.device, "device"),
            interpreter=_optional(Interpreter, payload.interpreter, "interpreter"),
            hold=_optional(Hold, payload.hold, "hold"),
            override_reason=payload.override_reason,
        )
        _audit(request, [exam.order.patient], "scheduling.book")
        return Status(201, _appointment(booked))

    return _booking_call(request, run)


@booking_router.post(
    "/appointments/{exam_id}/move", response=AppointmentOut, auth=requires(*SCHEDULE)
)
def move_appointment(request: HttpRequest, exam_id: UUID, payload: MoveIn) -> Any:
    """Another time and/or room; the performer is kept when still possible."""
    exam = _exam(exam_id, "exam_id")

    def run() -> Any:
        moved = booking.appointment_move(
            exam=exam,
            by=request.user,
            room=_reference(Room, payload.room, "room"),
            start=payload.start,
            staff=_optional(StaffMember, payload.staff, "staff"),
            device=_optional(Device, payload.device, "device"),
            reason_code=payload.reason_code,
            reason=payload.reason,
            notify=payload.notify,
        )
        _audit(request, [exam.order.patient], "scheduling.move")
        return _appointment(moved)

    return _booking_call(request, run)


@booking_router.post(
    "/appointments/{exam_id}/cancel",
    response=AppointmentOut,
    auth=requires("exams.view_exam", "exams.cancel_exam"),
)
def cancel_appointment(request: HttpRequest, exam_id: UUID, payload: CancelIn) -> Any:
    """Cancel with a coded reason; the room, device, performer and interpreter are freed."""
    exam = _exam(exam_id, "exam_id")
    cancelled = booking.appointment_cancel(
        exam=exam, by=request.user, reason_code=payload.reason_code, reason=payload.reason
    )
    _audit(request, [exam.order.patient], "scheduling.cancel")
    return _appointment(cancelled)


@booking_router.get(
    "/eligibility",
    response=EligibilityOut,
    auth=requires("credentials.check_eligibility", "scheduling.view_room"),
)
def exam_type_eligibility(request: HttpRequest, query: Query[EligibilityQuery]) -> Any:
    """Which rooms, devices and performers may take an exam type on a day, and why the others
    may not (missing capability, device down, credential or competency missing)."""
    exam_type = ExamType.objects.filter(code=query.exam_type).first()
    as_id = _uuid_or_none(query.exam_type)
    if exam_type is None and as_id is not None:
        exam_type = ExamType.objects.filter(pk=as_id).first()
    if exam_type is None:
        raise ValidationFailed({"exam_type": [f"No exam type {query.exam_type!r}."]})
    found = exam_eligibility(
        exam_type=exam_type,
        patient_class=query.patient_class,
        on=query.date,
        site=_optional(Site, query.site, "site"),
    )
    return {
        "exam_type": exam_type.code,
        "date": query.date,
        "needs": found.needs,
        "rooms": [{"id": r.pk, "code": r.code, "name": r.name} for r in found.rooms],
        "devices": [{"id": d.pk, "name": str(d)} for d in found.devices],
        "staff": [{"id": s.pk, "name": str(s)} for s in found.staff],
        "excluded": found.reasons,
    }


def _uuid_or_none(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None
