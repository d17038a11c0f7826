"""FHIR input as the services' arguments: a ServiceRequest as an order, the IHE Scheduling
operations' Parameters as a slot search, a hold or a booking.

Shape errors (a reference of the wrong type, a missing start) are ``InvalidRequest`` (400);
references to rows that do not exist, codes RadFlow does not know and broken business rules
are ``ValidationFailed`` (422), as the services raise them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.parameters import Parameters, ParametersParameter
from fhir.resources.R4B.servicerequest import ServiceRequest as FhirServiceRequest

from radflow.catalog.models import ExamType
from radflow.core.errors import ValidationFailed
from radflow.core.fhir import statuses, systems
from radflow.core.fhir.errors import InvalidRequest
from radflow.core.fhir.search import Ref, parse_reference
from radflow.interfaces.fhir.http import parse_body
from radflow.interfaces.fhir.selectors import as_uuid
from radflow.orders.models import Order
from radflow.patients.models import Patient
from radflow.scheduling import availability as av
from radflow.scheduling.models import Device, Room, Site
from radflow.staff.models import StaffMember

#: What a FHIR ServiceRequest carries of an order; a PUT replaces exactly these.
FHIR_ORDER_FIELDS = (
    "site",
    "ordering_provider",
    "ordering_provider_npi",
    "clinical_indication",
    "requested_date",
    "notes",
    "placer_order_number",
)


def _ref(value: Any, *, name: str, types: tuple[str, ...]) -> Ref | None:
    reference = getattr(value, "reference", None) if value is not None else None
    if not reference:
        return None
    return parse_reference(str(reference), name=name, types=types)


def _unknown(name: str, what: str, key: str) -> ValidationFailed:
    return ValidationFailed({name: [f"No {what} with id {key}."]})


def _get(model: Any, ref: Ref | None, *, name: str, what: str) -> Any:
    if ref is None:
        return None
    key = as_uuid(ref.id)
    found = model.objects.filter(pk=key).first() if key else None
    if found is None:
        raise _unknown(name, what, ref.id)
    return found


# --- ServiceRequest -----------------------------------------------------------------------------


@dataclass
class OrderInput:
    """A ServiceRequest as ``order_create``/``order_update`` arguments."""

    patient: Patient
    exam_type: ExamType
    priority: str
    status: str
    patient_class: str | None
    fields: dict[str, Any] = field(default_factory=dict)
    diagnosis_codes: list[str] = field(default_factory=list)


def _patient(request: FhirServiceRequest) -> Patient:
    subject = request.subject
    ref = _ref(subject, name="subject", types=("Patient",))
    if ref is not None:
        patient: Patient = _get(Patient, ref, name="subject", what="Patient")
        return patient
    identifier = getattr(subject, "identifier", None)
    if identifier is not None and identifier.value:
        rows = Patient.objects.filter(mrn=identifier.value)
        if identifier.system:
            rows = rows.filter(mrn_authority=systems.authority_of(identifier.system))
        found = list(rows[:2])
        if len(found) == 1:
            return found[0]
        problem = "No patient has" if not found else "More than one patient has"
        raise ValidationFailed({"subject": [f"{problem} the MRN {identifier.value}."]})
    raise InvalidRequest("subject must reference the Patient (Patient/[id]).", field="subject")


def _exam_type(request: FhirServiceRequest) -> ExamType:
    codings = list(getattr(request.code, "coding", None) or [])
    if not codings:
        raise InvalidRequest(
            f"code must carry the exam type (system {systems.EXAM_TYPE}) or a CPT code.",
            field="code",
        )
    for coding in codings:
        if coding.code and coding.system in (None, systems.EXAM_TYPE):
            found = ExamType.objects.filter(code=coding.code).first()
            if found is not None:
                return found
    for coding in codings:
        if coding.code and coding.system in (systems.CPT, systems.HCPCS):
            matches = list(ExamType.objects.filter(procedure_codes__code=coding.code, active=True))
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                names = ", ".join(m.code for m in matches)
                raise ValidationFailed(
                    {"code": [f"CPT {coding.code} fits several exam types ({names}); send one."]}
                )
    shown = ", ".join(f"{c.system or ''}|{c.code}" for c in codings)
    raise ValidationFailed({"code": [f"No exam type matches {shown}."]})


def _occurrence_date(request: FhirServiceRequest) -> date | None:
    value = request.occurrenceDateTime
    if value is None and request.occurrencePeriod is not None:
        value = request.occurrencePeriod.start
    if isinstance(value, datetime):
        return value.astimezone(av.department_zone()).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            pass
    if value is not None:
        raise InvalidRequest("occurrenceDateTime needs a full date.", field="occurrenceDateTime")
    return None


def order_input(request: FhirServiceRequest) -> OrderInput:
    if request.intent not in ("order", "original-order"):
        raise ValidationFailed({"intent": ["RadFlow takes orders: intent must be order."]})
    placer = ""
    for identifier in request.identifier or []:
        type_codes = {c.code for c in getattr(identifier.type, "coding", None) or []}
        if identifier.value and (identifier.system == systems.PLACER or "PLAC" in type_codes):
            placer = identifier.value
    requester = request.requester
    provider, npi = "", ""
    if requester is not None:
        provider = requester.display or ""
        staff_ref = _ref(requester, name="requester", types=("Practitioner", "PractitionerRole"))
        if staff_ref is not None and not provider:
            provider = str(_get(StaffMember, staff_ref, name="requester", what="Practitioner"))
        ident = requester.identifier
        if ident is not None and ident.value and ident.system in (None, systems.NPI):
            npi = ident.value
    codes: list[str] = []
    indication: list[str] = []
    for reason in request.reasonCode or []:
        coded = [c for c in reason.coding or [] if c.code and c.system in (None, systems.ICD10CM)]
        codes += [str(c.code) for c in coded]
        if not coded and reason.text:
            indication.append(reason.text)
    site = None
    if request.locationReference:
        site = _get(
            Site,
            _ref(request.locationReference[0], name="locationReference", types=("Location",)),
            name="locationReference",
            what="site (Location)",
        )
    patient_class = None
    for extension in request.extension or []:
        if extension.url == systems.PATIENT_CLASS_EXTENSION:
            patient_class = extension.valueCode
    return OrderInput(
        patient=_patient(request),
        exam_type=_exam_type(request),
        priority=statuses.priority_from_fhir(request.priority or "routine"),
        status=request.status or "",
        patient_class=patient_class,
        fields={
            "site": site,
            "ordering_provider": provider[:120],
            "ordering_provider_npi": npi,
            "clinical_indication": "\n".join(indication),
            "requested_date": _occurrence_date(request),
            "notes": "\n".join(n.text for n in request.note or [] if n.text),
            "placer_order_number": placer,
        },
        diagnosis_codes=codes,
    )


# --- IHE Scheduling operations ----------------------------------------------------------------

_VALUE_KINDS = (
    "valueString",
    "valueCode",
    "valueUri",
    "valueId",
    "valueDateTime",
    "valueInstant",
    "valueDate",
    "valueInteger",
    "valuePositiveInt",
    "valueUnsignedInt",
    "valueCoding",
    "valueCodeableConcept",
    "valueReference",
)


def parameter_values(parameters: Parameters | None, name: str) -> list[ParametersParameter]:
    return [p for p in (parameters.parameter or []) if p.name == name] if parameters else []


def parameter_value(parameters: Parameters | None, *names: str) -> Any:
    """The first of ``names`` given, as its plain value (a code, a reference string, an
    instant...)."""
    for name in names:
        for parameter in parameter_values(parameters, name):
            for kind in _VALUE_KINDS:
                value = getattr(parameter, kind, None)
                if value is None:
                    continue
                if kind == "valueReference":
                    return value.reference
                if kind == "valueCoding":
                    return value.code
                if kind == "valueCodeableConcept":
                    return next((c.code for c in value.coding or [] if c.code), value.text)
                return value
    return None


def instant(value: Any, *, name: str, end: bool = False) -> datetime | None:
    """A dateTime as an aware instant; a date alone is its local midnight (the next one for an
    ``end``), in the department's zone."""
    if value is None or value == "":
        return None
    zone = av.department_zone()
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            raise InvalidRequest(f"{name}={value!r} is not a FHIR dateTime.", field=name) from None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    if isinstance(value, date):
        day = value + timedelta(days=1) if end else value
        return datetime.combine(day, time(), tzinfo=zone)
    raise InvalidRequest(f"{name} is not a dateTime.", field=name)


@dataclass(frozen=True)
class FindQuery:
    order: Order
    earliest: datetime | None
    latest: datetime | None
    site: Site | None
    room: Room | None
    staff: StaffMember | None
    limit: int


def _open_order(patient: Patient, exam_type_code: str) -> Order:
    from radflow.scheduling.booking import BOOKABLE

    found = (
        Order.objects.filter(
            patient=patient,
            exam_type__code=exam_type_code,
            exam__state__in=[s.value for s in BOOKABLE],
        )
        .order_by("-received_at")
        .first()
    )
    if found is None:
        raise ValidationFailed(
            {
                "patient": [
                    f"The patient has no order for {exam_type_code} ready to book; create the "
                    "ServiceRequest (and triage it) first, or send referral."
                ]
            }
        )
    return found


def find_query(
    *,
    start: Any,
    end: Any,
    referral: str | None,
    patient: str | None,
    visit_type: str | None,
    location: str | None,
    practitioner: str | None,
    count: int | None,
) -> FindQuery:
    """``$find``'s inputs (IHE ITI-115): the order is ``referral`` (a ServiceRequest) or the
    patient's open order of ``visit-type`` (an exam type code)."""
    order: Order | None = None
    if referral:
        ref = parse_reference(referral, name="referral", types=("ServiceRequest",))
        key = as_uuid(ref.id)
        order = (
            Order.objects.select_related("patient", "exam_type", "exam", "site")
            .filter(pk=key)
            .first()
            if key
            else None
        )
        if order is None:
            raise _unknown("referral", "ServiceRequest", ref.id)
    person: Patient | None = None
    if patient:
        person = _get(
            Patient,
            parse_reference(patient, name="patient", types=("Patient",)),
            name="patient",
            what="Patient",
        )
    if order is None:
        if person is None or not visit_type:
            raise InvalidRequest(
                "Give referral (ServiceRequest/[id]), or patient and visit-type (exam type code).",
                field="referral",
            )
        order = _open_order(person, str(visit_type).rsplit("|", 1)[-1])
    elif person is not None and order.patient_id != person.pk:
        raise ValidationFailed({"patient": ["The referral is for another patient."]})
    site, room = None, None
    if location:
        ref = parse_reference(location, name="location", types=("Location",))
        key = as_uuid(ref.id)
        room = Room.objects.filter(pk=key).first() if key else None
        site = Site.objects.filter(pk=key).first() if key and room is None else None
        if room is None and site is None:
            raise _unknown("location", "Location", ref.id)
    staff = None
    if practitioner:
        staff = _get(
            StaffMember,
            parse_reference(practitioner, name="practitioner", types=("Practitioner",)),
            name="practitioner",
            what="Practitioner",
        )
    if count is not None and count < 1:
        raise InvalidRequest("_count must be at least 1.", field="_count")
    return FindQuery(
        order=order,
        earliest=instant(start, name="start"),
        latest=instant(end, name="end", end=True),
        site=site if site is not None else (room.site if room is not None else None),
        room=room,
        staff=staff,
        limit=min(count or 10, 50),
    )


@dataclass(frozen=True)
class SlotChoice:
    """A proposed Appointment read back: which order, when, where, with whom."""

    order: Order
    start: datetime
    room: Room
    staff: StaffMember | None
    device: Device | None


def appointment_from_parameters(parameters: Parameters) -> FhirAppointment | None:
    for name in ("appointment", "appointment-resource"):
        for parameter in parameter_values(parameters, name):
            if parameter.resource is None:
                raise InvalidRequest(f"{name} must carry an Appointment resource.", field=name)
            data = parameter.resource.model_dump(mode="json", exclude_none=True)
            return parse_body(FhirAppointment, data)
    return None


def _actors(appointment: FhirAppointment, kind: str) -> list[Ref]:
    found = []
    for participant in appointment.participant or []:
        reference = getattr(participant.actor, "reference", None)
        if reference and str(reference).split("/")[-2:-1] == [kind]:
            found.append(parse_reference(str(reference), name="participant", types=(kind,)))
    return found


def slot_choice(appointment: FhirAppointment, *, exam_order: Order | None = None) -> SlotChoice:
    """The order (``basedOn``, or ``exam_order`` for an Appointment RadFlow already holds),
    the start and the room, performer and device among the participants."""
    order = exam_order
    if order is None:
        refs = [
            _ref(b, name="basedOn", types=("ServiceRequest",)) for b in appointment.basedOn or []
        ]
        ref = next((r for r in refs if r is not None), None)
        if ref is None:
            raise InvalidRequest(
                "The Appointment must be basedOn its ServiceRequest (as $find proposed it).",
                field="Appointment.basedOn",
            )
        key = as_uuid(ref.id)
        order = (
            Order.objects.select_related("patient", "exam_type", "exam").filter(pk=key).first()
            if key
            else None
        )
        if order is None:
            raise _unknown("Appointment.basedOn", "ServiceRequest", ref.id)
    start = instant(appointment.start, name="Appointment.start")
    if start is None:
        raise InvalidRequest("The Appointment needs a start.", field="Appointment.start")
    rooms = _actors(appointment, "Location")
    if not rooms:
        raise InvalidRequest(
            "The Appointment needs its room as a Location participant.",
            field="Appointment.participant",
        )
    room = _get(Room, rooms[0], name="Appointment.participant", what="room (Location)")
    staff_refs, device_refs = _actors(appointment, "Practitioner"), _actors(appointment, "Device")
    return SlotChoice(
        order=order,
        start=start,
        room=room,
        staff=_get(
            StaffMember,
            staff_refs[0] if staff_refs else None,
            name="Appointment.participant",
            what="Practitioner",
        ),
        device=_get(
            Device,
            device_refs[0] if device_refs else None,
            name="Appointment.participant",
            what="Device",
        ),
    )


def hold_minutes(parameters: Parameters) -> int:
    value = parameter_value(parameters, "minutes", "hold-minutes")
    if value is None:
        return 10
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidRequest("minutes is a whole number (1-60).", field="minutes") from None


def references(parameters: Parameters, name: str, types: Sequence[str]) -> list[Ref]:
    found = []
    for parameter in parameter_values(parameters, name):
        reference = getattr(parameter.valueReference, "reference", None)
        if reference is None and isinstance(parameter.valueString, str):
            reference = parameter.valueString
        if not reference:
            raise InvalidRequest(f"{name} must be a Reference.", field=name)
        found.append(parse_reference(str(reference), name=name, types=tuple(types)))
    return found
