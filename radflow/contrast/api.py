"""``/api/contrast``: agents, exam-type settings, an exam's screen, doses, reactions, eGFR, stats.

Each operation checks its role; every answer that names a patient logs the read. Writes call the
same services as the pages, so a refused write is a problem+json (422 bad input, 409 the contrast
hard stop or the exam's state, 403 not in your role) and changes nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Status

from radflow.accounts.api_auth import requires
from radflow.audit.models import AccessChannel
from radflow.audit.services import AccessSource, access_record
from radflow.contrast import selectors, services
from radflow.contrast.models import (
    AdverseEvent,
    ContrastAdministration,
    ContrastAgent,
    EgfrResult,
    Premedication,
)
from radflow.contrast.schemas import (
    AdministrationFilters,
    AdministrationIn,
    AdministrationListOut,
    AdministrationOut,
    AdverseEventIn,
    AdverseEventOut,
    AgentOut,
    EgfrIn,
    EgfrOut,
    PremedicationIn,
    PremedicationOut,
    RequirementOut,
    ScreenOut,
    StatsOut,
)
from radflow.core.errors import NotFound, ValidationFailed
from radflow.exams.models import Exam
from radflow.exams.selectors import exam_get_audited
from radflow.patients.models import Patient

router = Router(tags=["contrast"])

VIEW_AGENTS = "contrast.view_contrastagent"
VIEW_DOSES = "contrast.view_contrastadministration"


def _api(request: HttpRequest) -> AccessSource:
    return AccessSource.from_request(request, AccessChannel.API)


def _agent_out(agent: ContrastAgent) -> dict[str, Any]:
    return {
        "id": agent.pk,
        "name": agent.name,
        "brand": agent.brand,
        "manufacturer": agent.manufacturer,
        "agent_class": agent.agent_class,
        "gbca_group": agent.gbca_group,
        "concentration": agent.concentration,
        "concentration_unit": agent.concentration_unit,
        "routes": list(agent.routes),
        "dose_unit": agent.dose_unit,
        "supply_item_id": agent.supply_item_id,
        "safety_programme": agent.safety_programme,
        "active": agent.active,
    }


def _egfr_out(result: EgfrResult) -> dict[str, Any]:
    return {
        "id": result.pk,
        "patient_id": result.patient_id,
        "value": result.value,
        "measured_on": result.measured_on,
        "source": result.source,
        "reference": result.reference,
        "recorded_at": result.recorded_at,
    }


def _premedication_out(premedication: Premedication) -> dict[str, Any]:
    return {
        "id": premedication.pk,
        "exam_id": premedication.exam_id,
        "protocol": premedication.protocol,
        "ordered_by": premedication.ordered_by,
        "note": premedication.note,
        "recorded_at": premedication.recorded_at,
        "doses": [
            {
                "drug": d.drug,
                "dose": d.dose,
                "route": d.route,
                "given_at": d.given_at,
                "given_by": d.given_by,
            }
            for d in premedication.doses.all()
        ],
    }


def _administration_out(given: ContrastAdministration) -> dict[str, Any]:
    return {
        "id": given.pk,
        "exam_id": given.exam_id,
        "patient_id": given.exam.order.patient_id,
        "accession_number": given.exam.accession_number,
        "agent_id": given.agent_id,
        "agent": given.agent.name,
        "lot_id": given.lot_id,
        "lot_number": given.lot.lot_number if given.lot else None,
        "dose": given.dose,
        "dose_unit": given.dose_unit,
        "route": given.route,
        "injection_site": given.injection_site,
        "flow_rate": given.flow_rate,
        "given_at": given.given_at,
        "given_by": given.given_by.get_username(),
        "egfr_value": given.egfr_value,
        "egfr_date": given.egfr_date,
        "stock_movement_id": given.stock_movement_id,
    }


def _event_out(event: AdverseEvent) -> dict[str, Any]:
    given = event.administration
    return {
        "id": event.pk,
        "administration_id": given.pk,
        "patient_id": given.exam.order.patient_id,
        "agent": given.agent.name,
        "onset_at": event.onset_at,
        "grade": event.grade,
        "kind": event.kind,
        "symptoms": list(event.symptoms),
        "treatment": event.treatment,
        "outcome": event.outcome,
        "reported_to_programme": event.reported_to_programme,
        "reported_on": event.reported_on,
        "report_reference": event.report_reference,
        "allergy_flagged": event.allergy_id is not None,
    }


def _exam(exam_id: UUID) -> Exam:
    exam = Exam.objects.filter(pk=exam_id).first()
    if exam is None:
        raise NotFound("No exam has this id.", field="exam_id")
    return exam


def _patient(patient_id: UUID) -> Patient:
    patient = Patient.objects.filter(pk=patient_id).first()
    if patient is None:
        raise NotFound("No patient has this id.", field="patient_id")
    return patient


# --- reference ---------------------------------------------------------------------------------


@router.get(
    "/agents", response=list[AgentOut], summary="Contrast agents", auth=requires(VIEW_AGENTS)
)
def list_agents(request: HttpRequest) -> list[dict[str, Any]]:
    return [_agent_out(a) for a in selectors.agents().order_by("agent_class", "name")]


@router.get(
    "/requirements",
    response=list[RequirementOut],
    summary="What each exam type asks before contrast",
    auth=requires("contrast.view_contrastrequirement"),
)
def list_requirements(request: HttpRequest) -> list[dict[str, Any]]:
    rows = []
    for row in selectors.requirements_table():
        rule = row.rule
        rows.append(
            {
                "exam_type": row.exam_type.code,
                "exam_type_name": row.exam_type.name,
                "gives_contrast": rule is not None,
                "agent_class": rule.agent_class.value if rule else None,
                "egfr_required": bool(rule and rule.egfr_required),
                "egfr_window_days": rule.egfr_window_days if rule else None,
                "egfr_minimum": rule.egfr_minimum if rule else None,
                "reaction_screening": bool(rule and rule.reaction_screening),
                "saved": row.saved is not None,
            }
        )
    return rows


@router.get(
    "/stats",
    response=StatsOut,
    summary="Doses by agent and month, reactions per 1,000 doses (12 months)",
    auth=requires(VIEW_AGENTS),
)
def stats(request: HttpRequest) -> dict[str, Any]:
    board = selectors.dashboard(on=timezone.localdate())

    def rate(row: selectors.RateRow) -> dict[str, Any]:
        return {
            "label": row.label,
            "doses": row.doses,
            "reactions": row.reactions,
            "moderate_or_severe": row.moderate_or_severe,
            "rate_per_1000": row.rate,
        }

    return {
        "months": board.months,
        "by_agent": [
            {"agent": a.agent, "doses": a.doses, "total": a.total} for a in board.by_agent
        ],
        "rates": [rate(r) for r in board.rates],
        "overall": rate(board.overall),
    }


# --- one exam ----------------------------------------------------------------------------------


@router.get(
    "/exams/{exam_id}/screening",
    response=ScreenOut,
    summary="The exam's contrast screen: eGFR, prior reactions, premedication, what is unmet",
    auth=requires(VIEW_DOSES),
)
def exam_screening(request: HttpRequest, exam_id: UUID) -> dict[str, Any]:
    exam = exam_get_audited(
        user=request.user, exam_id=exam_id, action="contrast.screen", source=_api(request)
    )
    screen = selectors.exam_screen(exam, on=timezone.localdate())
    return {
        "exam_id": exam.pk,
        "patient_id": exam.order.patient_id,
        "applies": screen.applies,
        "agent_class": screen.requirement.agent_class.value if screen.requirement else None,
        "egfr": _egfr_out(screen.egfr) if screen.egfr is not None else None,
        "reactions": [
            {
                "agent_class": r.agent_class.value if r.agent_class else None,
                "grade": r.grade.value,
                "what": r.what,
            }
            for r in screen.reactions
        ],
        "premedications": [_premedication_out(p) for p in screen.premedications],
        "problems": list(screen.problems),
        "overridden": screen.override is not None,
        "cleared": screen.cleared,
    }


def _lot(lot_id: UUID | None) -> Any:
    from radflow.supplies.models import Lot

    if lot_id is None:
        return None
    lot = Lot.objects.select_related("item").filter(pk=lot_id).first()
    if lot is None:
        raise ValidationFailed({"lot_id": ["No lot has this id."]})
    return lot


def _location(location_id: UUID | None) -> Any:
    from radflow.supplies.models import StockLocation

    if location_id is None:
        return None
    location = StockLocation.objects.filter(pk=location_id).first()
    if location is None:
        raise ValidationFailed({"location_id": ["No stock location has this id."]})
    return location


@router.post(
    "/exams/{exam_id}/administrations",
    response={201: AdministrationOut},
    summary="Record a dose given in the exam and issue it from stock",
    auth=requires("contrast.add_contrastadministration"),
)
def administer(request: HttpRequest, exam_id: UUID, payload: AdministrationIn) -> Any:
    with transaction.atomic():
        exam = _exam(exam_id)
        agent = ContrastAgent.objects.select_related("supply_item").filter(pk=payload.agent_id)
        found = agent.first()
        if found is None:
            raise ValidationFailed({"agent_id": ["No contrast agent has this id."]})
        given = services.administration_record(
            exam=exam,
            by=request.user,
            agent=found,
            dose=payload.dose,
            dose_unit=payload.dose_unit,
            route=payload.route,
            lot=_lot(payload.lot_id),
            location=_location(payload.location_id),
            containers=payload.containers,
            injection_site=payload.injection_site,
            flow_rate=payload.flow_rate,
            given_at=payload.given_at,
            note=payload.note,
        )
        access_record(
            user=request.user,
            patients=[given.exam.order.patient],
            action="contrast.administer",
            source=_api(request),
        )
        return Status(201, _administration_out(given))


@router.post(
    "/exams/{exam_id}/premedications",
    response={201: PremedicationOut},
    summary="Record the premedication protocol given before the exam",
    auth=requires("contrast.add_premedication"),
)
def premedicate(request: HttpRequest, exam_id: UUID, payload: PremedicationIn) -> Any:
    with transaction.atomic():
        premedication = services.premedication_record(
            exam=_exam(exam_id),
            by=request.user,
            protocol=payload.protocol,
            ordered_by=payload.ordered_by,
            note=payload.note,
            doses=[services.DoseInput(**dose.dict()) for dose in payload.doses],
        )
        return Status(201, _premedication_out(premedication))


# --- doses and reactions -----------------------------------------------------------------------


@router.get(
    "/administrations",
    response=AdministrationListOut,
    summary="Doses given, newest first",
    auth=requires(VIEW_DOSES),
)
def list_administrations(
    request: HttpRequest, filters: Query[AdministrationFilters]
) -> dict[str, Any]:
    month = date.fromisoformat(f"{filters.month}-01") if filters.month else None
    rows = selectors.administrations(agent_id=filters.agent, month=month)
    with transaction.atomic():
        total = rows.count()
        shown = list(rows[filters.offset : filters.offset + filters.limit])
        access_record(
            user=request.user,
            patients=[a.exam.order.patient for a in shown],
            action="contrast.administrations",
            source=_api(request),
        )
    return {"count": total, "items": [_administration_out(a) for a in shown]}


@router.post(
    "/administrations/{administration_id}/adverse-events",
    response={201: AdverseEventOut},
    summary="Record a reaction to a dose (an allergic-like one flags the patient's allergies)",
    auth=requires("contrast.add_adverseevent"),
)
def record_reaction(request: HttpRequest, administration_id: UUID, payload: AdverseEventIn) -> Any:
    with transaction.atomic():
        given = ContrastAdministration.objects.filter(pk=administration_id).first()
        if given is None:
            raise NotFound("No dose has this id.", field="administration_id")
        event = services.adverse_event_record(
            administration=given, by=request.user, **payload.dict()
        )
        event = AdverseEvent.objects.select_related(
            "administration__agent", "administration__exam__order"
        ).get(pk=event.pk)
        access_record(
            user=request.user,
            patients=[event.administration.exam.order.patient],
            action="contrast.reaction",
            source=_api(request),
        )
        return Status(201, _event_out(event))


# --- eGFR --------------------------------------------------------------------------------------


@router.get(
    "/patients/{patient_id}/egfr",
    response=list[EgfrOut],
    summary="The patient's eGFR results, newest first",
    auth=requires(VIEW_DOSES),
)
def list_egfr(request: HttpRequest, patient_id: UUID) -> list[dict[str, Any]]:
    with transaction.atomic():
        patient = _patient(patient_id)
        access_record(
            user=request.user, patients=[patient], action="contrast.egfr", source=_api(request)
        )
        return [_egfr_out(r) for r in selectors.egfr_history(patient, limit=100)]


@router.post(
    "/patients/{patient_id}/egfr",
    response={201: EgfrOut},
    summary="Record a lab eGFR for the patient",
    auth=requires("contrast.add_egfrresult"),
)
def record_egfr(request: HttpRequest, patient_id: UUID, payload: EgfrIn) -> Any:
    with transaction.atomic():
        patient = _patient(patient_id)
        result = services.egfr_record(by=request.user, patient=patient, **payload.dict())
        access_record(
            user=request.user, patients=[patient], action="contrast.egfr", source=_api(request)
        )
        return Status(201, _egfr_out(result))
