"""RadFlow's rows as FHIR R4 resources (built and validated with ``fhir.resources`` R4B).

Each function takes rows the selectors loaded (with what they reference already joined) and
returns the resource; none queries on its own beyond what its docstring says.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.device import Device as FhirDevice
from fhir.resources.R4B.healthcareservice import HealthcareService as FhirHealthcareService
from fhir.resources.R4B.imagingstudy import ImagingStudy as FhirImagingStudy
from fhir.resources.R4B.location import Location as FhirLocation
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.practitioner import Practitioner as FhirPractitioner
from fhir.resources.R4B.practitionerrole import PractitionerRole as FhirPractitionerRole
from fhir.resources.R4B.schedule import Schedule as FhirSchedule
from fhir.resources.R4B.servicerequest import ServiceRequest as FhirServiceRequest
from fhir.resources.R4B.slot import Slot as FhirSlot

from radflow.catalog.models import CodeSystem, ExamType
from radflow.core.exam_states import ExamState
from radflow.core.fhir import statuses, systems
from radflow.core.fhir.ids import slot_id
from radflow.exams.models import Exam
from radflow.orders.models import Order
from radflow.patients.models import Patient
from radflow.scheduling.booking import SlotOption
from radflow.scheduling.models import Device, Hold, Modality, Reservation, Room, Site
from radflow.staff.models import StaffMember

JsonDict = dict[str, Any]


def reference(kind: str, pk: Any, display: str | None = None) -> JsonDict:
    found: JsonDict = {"reference": f"{kind}/{pk}"}
    if display:
        found["display"] = display
    return found


def coding(system: str, code: str, display: str | None = None) -> JsonDict:
    found: JsonDict = {"system": system, "code": code}
    if display:
        found["display"] = display
    return found


def _identifier_type(code: str, display: str) -> JsonDict:
    return {"coding": [coding(systems.V2_IDENTIFIER_TYPE, code, display)]}


def _blank_free(values: Iterable[str]) -> list[str]:
    return [value for value in values if value]


def patient_reference(patient: Patient) -> JsonDict:
    return reference("Patient", patient.pk, patient.display_name)


def exam_type_concept(exam_type: ExamType) -> JsonDict:
    """The exam type's own code first, then its billing codes (``procedure_codes`` should be
    prefetched)."""
    billing_system = {CodeSystem.CPT.value: systems.CPT, CodeSystem.HCPCS.value: systems.HCPCS}
    codings = [coding(systems.EXAM_TYPE, exam_type.code, exam_type.name)]
    codings += [
        coding(billing_system.get(code.system, systems.CPT), code.code, code.description)
        for code in exam_type.procedure_codes.all()
    ]
    return {"coding": codings, "text": exam_type.name}


def modality_concept(modality: Modality | None, code: str = "") -> JsonDict:
    if modality is not None:
        return {"coding": [coding(systems.DICOM, modality.code, modality.name)]}
    return {"coding": [coding(systems.DICOM, code)]}


# --- people -------------------------------------------------------------------------------------


def patient_resource(patient: Patient) -> FhirPatient:
    """Identifiers (``identifiers`` prefetched), name, contact, language and a merge link."""
    identifiers: list[JsonDict] = [
        {
            "use": "usual",
            "type": _identifier_type("MR", "Medical record number"),
            "system": systems.authority_system(patient.mrn_authority),
            "value": patient.mrn,
            "assigner": {"display": patient.mrn_authority},
        }
    ]
    for other in patient.identifiers.all():
        identifiers.append(
            {
                "type": _identifier_type(other.type, other.get_type_display()),
                "system": systems.authority_system(other.authority),
                "value": other.value,
            }
        )
    telecom = []
    if patient.phone:
        telecom.append({"system": "phone", "value": patient.phone})
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    address = None
    if patient.address_line or patient.city or patient.postal_code:
        address = [
            {
                "use": "home",
                "line": _blank_free([patient.address_line]) or None,
                "city": patient.city or None,
                "state": patient.state or None,
                "postalCode": patient.postal_code or None,
            }
        ]
    link = None
    if patient.merged_into_id:
        link = [{"other": reference("Patient", patient.merged_into_id), "type": "replaced-by"}]
    return FhirPatient.model_validate(
        {
            "id": str(patient.pk),
            "meta": {"lastUpdated": patient.updated_at},
            "identifier": identifiers,
            "active": patient.active,
            "name": [
                {
                    "use": "official",
                    "family": patient.family_name,
                    "given": _blank_free([patient.given_name, patient.middle_name]),
                    "prefix": _blank_free([patient.prefix]) or None,
                    "suffix": _blank_free([patient.suffix]) or None,
                }
            ],
            "telecom": telecom or None,
            "gender": statuses.GENDER.get(patient.sex, "unknown"),
            "birthDate": patient.birth_date,
            "address": address,
            "communication": [
                {
                    "language": {"coding": [coding(systems.LANGUAGE, patient.language)]},
                    "preferred": True,
                }
            ]
            if patient.language
            else None,
            "extension": [
                {"url": systems.INTERPRETER_REQUIRED, "valueBoolean": patient.interpreter_needed}
            ],
            "link": link,
        }
    )


def _staff_name(staff: StaffMember) -> JsonDict:
    return {"use": "official", "family": staff.family_name, "given": [staff.given_name]}


def practitioner_resource(staff: StaffMember) -> FhirPractitioner:
    return FhirPractitioner.model_validate(
        {
            "id": str(staff.pk),
            "meta": {"lastUpdated": staff.updated_at},
            "identifier": [
                {
                    "type": _identifier_type("EI", "Employee number"),
                    "system": systems.EMPLOYEE_NUMBER,
                    "value": staff.employee_number,
                }
            ],
            "active": staff.active,
            "name": [_staff_name(staff)],
            "telecom": [{"system": "email", "value": staff.email}] if staff.email else None,
        }
    )


def practitioner_role_resource(staff: StaffMember) -> FhirPractitionerRole:
    """Job role, modalities (``modalities`` prefetched) and home site (joined)."""
    modalities = list(staff.modalities.all())
    return FhirPractitionerRole.model_validate(
        {
            "id": str(staff.pk),
            "active": staff.active,
            "practitioner": reference("Practitioner", staff.pk, str(staff)),
            "code": [
                {"coding": [coding(systems.JOB_ROLE, staff.job_role, staff.get_job_role_display())]}
            ],
            "specialty": [modality_concept(m) for m in modalities] or None,
            "location": [reference("Location", staff.home_site_id, staff.home_site.name)],
            "healthcareService": [
                reference("HealthcareService", m.code, m.name) for m in modalities
            ]
            or None,
        }
    )


# --- places and things ----------------------------------------------------------------------


def site_location(site: Site) -> FhirLocation:
    return FhirLocation.model_validate(
        {
            "id": str(site.pk),
            "identifier": [{"system": systems.SITE_CODE, "value": site.code}],
            "status": "active",
            "name": site.name,
            "alias": [site.code],
            "mode": "instance",
            "physicalType": {"coding": [coding(systems.LOCATION_PHYSICAL_TYPE, "si", "Site")]},
            "telecom": [{"system": "phone", "value": site.phone}] if site.phone else None,
            "address": {"text": site.address} if site.address else None,
        }
    )


def room_location(room: Room) -> FhirLocation:
    """A room (``site`` and ``modality`` joined), part of its site's Location."""
    return FhirLocation.model_validate(
        {
            "id": str(room.pk),
            "identifier": [{"system": systems.ROOM_CODE, "value": room.code}],
            "status": statuses.ROOM_STATUS.get(room.status, "active"),
            "operationalStatus": (
                coding(systems.BASE + "/CodeSystem/room-status", room.status)
                if room.status
                else None
            ),
            "name": room.name,
            "alias": [room.code],
            "description": room.status_note or None,
            "mode": "instance",
            "type": [modality_concept(room.modality)],
            "physicalType": {"coding": [coding(systems.LOCATION_PHYSICAL_TYPE, "ro", "Room")]},
            "partOf": reference("Location", room.site_id, room.site.name),
        }
    )


def healthcare_service_resource(
    modality: Modality, exam_types: Sequence[ExamType], rooms: Sequence[Room]
) -> FhirHealthcareService:
    return FhirHealthcareService.model_validate(
        {
            "id": modality.code,
            "active": True,
            "name": modality.name,
            "category": [{"text": "Diagnostic imaging"}],
            "specialty": [modality_concept(modality)],
            "type": [
                {
                    "coding": [coding(systems.EXAM_TYPE, t.code, t.name)],
                    "text": t.name,
                }
                for t in exam_types
            ]
            or None,
            "location": [reference("Location", room.pk, room.name) for room in rooms] or None,
        }
    )


def device_resource(device: Device) -> FhirDevice:
    """A device (``modality`` and ``room`` joined)."""
    identifiers = [{"system": systems.DEVICE_SERIAL, "value": device.serial_number}]
    if device.ae_title:
        identifiers.append({"system": systems.AE_TITLE, "value": device.ae_title})
    return FhirDevice.model_validate(
        {
            "id": str(device.pk),
            "identifier": identifiers,
            "status": statuses.DEVICE_STATUS.get(device.status, "unknown"),
            "manufacturer": device.manufacturer,
            "serialNumber": device.serial_number,
            "modelNumber": device.model_name,
            "deviceName": [
                {"name": f"{device.manufacturer} {device.model_name}", "type": "model-name"}
            ],
            "type": {
                "coding": [
                    coding(systems.DICOM, device.modality_id, device.modality.name),
                    coding(systems.DEVICE_KIND, device.kind, device.get_kind_display()),
                ]
            },
            "location": (
                reference("Location", device.room_id, device.room.name) if device.room else None
            ),
        }
    )


# --- orders, appointments, studies --------------------------------------------------------------


def service_request_resource(order: Order) -> FhirServiceRequest:
    """An order (``patient``, ``exam``, ``site``, ``exam_type`` with its ``procedure_codes``
    and ``diagnoses`` loaded)."""
    exam: Exam = order.exam
    identifiers: list[JsonDict] = [
        {
            "type": _identifier_type("ACSN", "Accession ID"),
            "system": systems.ACCESSION,
            "value": exam.accession_number,
        }
    ]
    if order.placer_order_number:
        identifiers.append(
            {
                "type": _identifier_type("PLAC", "Placer Identifier"),
                "system": systems.PLACER,
                "value": order.placer_order_number,
            }
        )
    reasons: list[JsonDict] = [
        {"coding": [coding(systems.ICD10CM, d.code)]} for d in order.diagnoses.all()
    ]
    if order.clinical_indication:
        reasons.append({"text": order.clinical_indication})
    requester = None
    if order.ordering_provider or order.ordering_provider_npi:
        requester = {
            "display": order.ordering_provider or None,
            "identifier": (
                {"system": systems.NPI, "value": order.ordering_provider_npi}
                if order.ordering_provider_npi
                else None
            ),
        }
    return FhirServiceRequest.model_validate(
        {
            "id": str(order.pk),
            "meta": {"lastUpdated": order.updated_at},
            "identifier": identifiers,
            "status": statuses.SERVICE_REQUEST_STATUS[ExamState(exam.state)],
            "intent": "order",
            "category": [{"coding": [coding(systems.SNOMED, "363679005", "Imaging")]}],
            "priority": statuses.PRIORITY_TO_FHIR.get(order.priority, "routine"),
            "code": exam_type_concept(order.exam_type),
            "subject": patient_reference(order.patient),
            "occurrenceDateTime": order.requested_date,
            "authoredOn": order.received_at,
            "requester": requester,
            "reasonCode": reasons or None,
            "locationReference": (
                [reference("Location", order.site_id, order.site.name)] if order.site else None
            ),
            "note": [{"text": order.notes}] if order.notes else None,
            "patientInstruction": order.instructions or None,
            "extension": [
                {"url": systems.PATIENT_CLASS_EXTENSION, "valueCode": order.patient_class}
            ],
        }
    )


def _participant(actor: JsonDict, kind: str | None, status: str) -> JsonDict:
    found: JsonDict = {"actor": actor, "required": "required", "status": status}
    if kind:
        found["type"] = [{"coding": [coding(systems.PARTICIPATION_TYPE, kind)]}]
    return found


def _exam_participants(
    patient: Patient,
    room: Room | None,
    staff: StaffMember | None,
    device: Device | None,
    interpreter_name: str = "",
    *,
    status: str = "accepted",
) -> list[JsonDict]:
    """Who and what the appointment needs; ``status`` is ``tentative`` until it is booked."""
    participants = [_participant(patient_reference(patient), "SBJ", status)]
    if room is not None:
        room_ref = reference("Location", room.pk, room.name)
        participants.append(_participant(room_ref, "LOC", status))
    if staff is not None:
        staff_ref = reference("Practitioner", staff.pk, str(staff))
        participants.append(_participant(staff_ref, "PPRF", status))
    if device is not None:
        participants.append(_participant(reference("Device", device.pk, str(device)), None, status))
    if interpreter_name:
        participants.append(_participant({"display": interpreter_name}, "TRANSL", status))
    return participants


def _accession(exam: Exam) -> JsonDict:
    return {
        "type": _identifier_type("ACSN", "Accession ID"),
        "system": systems.ACCESSION,
        "value": exam.accession_number,
    }


def appointment_resource(exam: Exam) -> FhirAppointment:
    """A booked (or later) exam: ``order`` with ``patient`` and ``exam_type`` (and its
    ``procedure_codes``), ``room``, ``technologist``, ``device``, ``booked_interpreter`` loaded."""
    order = exam.order
    state = ExamState(exam.state)
    status = statuses.APPOINTMENT_STATUS[state] or statuses.APPOINTMENT_PROPOSED
    reason = exam.reason_text or exam.reason_code
    cancelled = state in (ExamState.CANCELLED, ExamState.NO_SHOW) and reason
    start, end = exam.scheduled_start, exam.scheduled_end
    return FhirAppointment.model_validate(
        {
            "id": str(exam.pk),
            "meta": {"profile": [systems.IHE_APPOINTMENT], "lastUpdated": exam.updated_at},
            "identifier": [_accession(exam)],
            "status": status,
            "cancelationReason": {"text": reason} if cancelled else None,
            "serviceType": [exam_type_concept(order.exam_type)],
            "description": order.exam_type.name,
            "start": start,
            "end": end,
            "minutesDuration": (
                int((end - start).total_seconds() // 60) if start and end else None
            ),
            "created": exam.scheduled_at,
            "basedOn": [reference("ServiceRequest", order.pk)],
            "participant": _exam_participants(
                order.patient,
                exam.room,
                exam.technologist,
                exam.device,
                exam.booked_interpreter.name if exam.booked_interpreter else "",
            ),
        }
    )


def reservation_kind(row: Reservation) -> str:
    """Which resource a reservation keeps: room, device, staff or interpreter."""
    return next(k for k in ("room", "device", "staff", "interpreter") if getattr(row, f"{k}_id"))


def held_appointment(
    exam: Exam, hold: Hold, reservations: Sequence[Reservation]
) -> FhirAppointment:
    """The exam while ``hold`` keeps a slot for it: ``pending``, the held resources as
    participants, the hold's id as an identifier (``$book`` converts it)."""
    order = exam.order
    by_kind = {reservation_kind(r): r for r in reservations}
    room_row = by_kind.get("room")
    start = room_row.start if room_row else min(r.start for r in reservations)
    end = start + timedelta(minutes=order.exam_type.duration_for(order.patient_class))
    staff_row, device_row = by_kind.get("staff"), by_kind.get("device")
    interpreter_row = by_kind.get("interpreter")
    return FhirAppointment.model_validate(
        {
            "id": str(exam.pk),
            "meta": {"profile": [systems.IHE_APPOINTMENT]},
            "identifier": [
                _accession(exam),
                {"system": systems.HOLD, "value": str(hold.pk)},
            ],
            "status": statuses.APPOINTMENT_HELD,
            "serviceType": [exam_type_concept(order.exam_type)],
            "description": order.exam_type.name,
            "start": start,
            "end": end,
            "minutesDuration": int((end - start).total_seconds() // 60),
            "created": hold.created_at,
            "comment": f"Held until {hold.expires_at.isoformat()}.",
            "basedOn": [reference("ServiceRequest", order.pk)],
            "participant": _exam_participants(
                order.patient,
                room_row.room if room_row else None,
                staff_row.staff if staff_row else None,
                device_row.device if device_row else None,
                interpreter_row.interpreter.name
                if interpreter_row and interpreter_row.interpreter
                else "",
                status="tentative",
            ),
        }
    )


def proposed_appointment(order: Order, option: SlotOption) -> FhirAppointment:
    """One ``$find`` option: no id (nothing is stored until ``$hold`` or ``$book``)."""
    return FhirAppointment.model_validate(
        {
            "meta": {"profile": [systems.IHE_APPOINTMENT]},
            "status": statuses.APPOINTMENT_PROPOSED,
            "serviceType": [exam_type_concept(order.exam_type)],
            "description": order.exam_type.name,
            "start": option.start,
            "end": option.end,
            "minutesDuration": int((option.end - option.start).total_seconds() // 60),
            "comment": option.why,
            "basedOn": [reference("ServiceRequest", order.pk)],
            "participant": _exam_participants(
                order.patient,
                option.room,
                option.staff,
                option.device,
                option.interpreter.name if option.interpreter else "",
                status="tentative",
            ),
        }
    )


def schedule_resource(
    room: Room, horizon: tuple[datetime, datetime], exam_types: Sequence[ExamType]
) -> FhirSchedule:
    return FhirSchedule.model_validate(
        {
            "id": str(room.pk),
            "active": room.status == "in_service",
            "serviceCategory": [modality_concept(room.modality)],
            "serviceType": [
                {"coding": [coding(systems.EXAM_TYPE, t.code, t.name)]} for t in exam_types
            ]
            or None,
            "actor": [
                reference("Location", room.pk, room.name),
                reference("HealthcareService", room.modality_id, room.modality.name),
            ],
            "planningHorizon": {"start": horizon[0], "end": horizon[1]},
            "comment": f"{room.name} at {room.site.name}",
        }
    )


def slot_resource(room: Room, start: datetime, end: datetime, status: str) -> FhirSlot:
    return FhirSlot.model_validate(
        {
            "id": slot_id(room.pk, start, end),
            "schedule": reference("Schedule", room.pk, room.name),
            "status": status,
            "start": start,
            "end": end,
            "serviceCategory": [modality_concept(room.modality)],
        }
    )


def imaging_study_resource(exam: Exam, steps: Sequence[Any]) -> FhirImagingStudy:
    """The exam's study: ``steps`` are its MPPS performed procedure steps, oldest first."""
    order = exam.order
    state = ExamState(exam.state)
    series: list[JsonDict] = []
    seen: set[str] = set()
    for step in steps:
        for number, item in enumerate(step.performed_series or [], start=len(series) + 1):
            uid = str(item.get("series_uid") or "")
            if not uid or uid in seen:
                continue
            seen.add(uid)
            modality_code = str(item.get("modality") or step.modality or "")
            series.append(
                {
                    "uid": uid,
                    "number": number,
                    "modality": coding(systems.DICOM, modality_code or order.exam_type.modality_id),
                    "description": item.get("description") or None,
                    "numberOfInstances": int(item.get("images") or 0),
                    "started": step.started_at,
                }
            )
    modalities = {s["modality"]["code"] for s in series} or {order.exam_type.modality_id}
    instances = sum(s["numberOfInstances"] for s in series) or exam.images_count
    started = exam.in_progress_at or next((s.started_at for s in steps if s.started_at), None)
    return FhirImagingStudy.model_validate(
        {
            "id": str(exam.pk),
            "identifier": [
                {
                    "use": "official",
                    "system": systems.DICOM_UID,
                    "value": f"urn:oid:{exam.study_instance_uid}",
                },
                _accession(exam),
            ],
            "status": statuses.IMAGING_STUDY_STATUS[state] or "unknown",
            "modality": [coding(systems.DICOM, code) for code in sorted(modalities)],
            "subject": patient_reference(order.patient),
            "basedOn": [reference("ServiceRequest", order.pk)],
            "started": started,
            "numberOfSeries": len(series),
            "numberOfInstances": instances,
            "procedureCode": [exam_type_concept(order.exam_type)],
            "location": (
                reference("Location", exam.room_id, exam.room.name) if exam.room else None
            ),
            "description": order.exam_type.name,
            "series": series or None,
        }
    )
