"""``/api/infection``: probe readiness, probe uses (attach) and reprocessing cycles (record).

Reads that name exams log their patients as read; writes go through ``infection.services``,
whose refusals become problem+json.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db import transaction
from django.http import HttpRequest
from ninja import Query, Router, Status

from radflow.accounts.api_auth import requires
from radflow.audit.models import AccessChannel
from radflow.audit.services import AccessSource, access_record
from radflow.core.errors import NotFound, ValidationFailed
from radflow.exams.models import Exam
from radflow.infection import selectors, services
from radflow.infection.models import (
    DisinfectionAgent,
    ProbeUse,
    Reprocessing,
    ReprocessingDevice,
    UseSource,
)
from radflow.infection.schemas import (
    CycleFilters,
    CycleIn,
    CycleListOut,
    CycleOut,
    ProbeStateOut,
    ProbeUseFilters,
    ProbeUseIn,
    ProbeUseListOut,
    ProbeUseOut,
)

router = Router(tags=["infection"])

VIEW = "infection.view_reprocessing"
VIEW_USES = "infection.view_probeuse"


def _api(request: HttpRequest) -> AccessSource:
    return AccessSource.from_request(request, AccessChannel.API)


def _use_out(use: ProbeUse) -> dict[str, Any]:
    exam = use.exam
    used_at = None
    if exam.in_progress_at is not None:
        used_at = max(use.at, exam.in_progress_at)
    return {
        "id": use.pk,
        "probe_id": use.probe_id,
        "probe_serial": use.probe.serial_number,
        "exam_id": exam.pk,
        "accession_number": exam.accession_number,
        "patient_id": exam.order.patient_id,
        "attached_at": use.at,
        "used_at": used_at,
        "operator_id": use.operator_id,
        "cover_used": use.cover_used,
        "cover_lot": use.cover_lot,
        "gel": use.gel,
        "source": use.source,
    }


def _cycle_out(cycle: Reprocessing) -> dict[str, Any]:
    return {
        "id": cycle.pk,
        "probe_id": cycle.probe_id,
        "probe_serial": cycle.probe.serial_number,
        "method": cycle.method,
        "agent_id": cycle.agent_id,
        "device_id": cycle.device_id,
        "cycle_id": cycle.cycle_id,
        "result": cycle.result,
        "indicator": cycle.indicator,
        "exposure_met": cycle.exposure_met,
        "started_at": cycle.started_at,
        "ended_at": cycle.ended_at,
        "operator": cycle.operator.get_username() if cycle.operator else None,
        "level": cycle.level,
        "passed": cycle.passed,
        "problems": cycle.problem_list,
    }


@router.get(
    "/probes", response=list[ProbeStateOut], summary="Every probe's readiness", auth=requires(VIEW)
)
def list_probes(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "id": row.probe.pk,
            "serial_number": row.probe.serial_number,
            "model": row.probe.model_name,
            "probe_type": row.probe.probe_type,
            "spaulding_class": row.probe.spaulding_class,
            "status": row.probe.status,
            "readiness": row.readiness,
            "last_passing_cycle_at": row.last_clear_at,
            "last_used_at": row.last_used_at,
        }
        for row in selectors.probe_board()
    ]


@router.get(
    "/probe-uses",
    response=ProbeUseListOut,
    summary="Probe uses, newest first",
    auth=requires(VIEW_USES),
)
def list_probe_uses(request: HttpRequest, filters: Query[ProbeUseFilters]) -> dict[str, Any]:
    """Each exam's patient is logged as read."""
    uses = ProbeUse.objects.select_related("probe", "exam", "exam__order__patient").order_by("-at")
    if filters.exam is not None:
        uses = uses.filter(exam_id=filters.exam)
    if filters.probe is not None:
        uses = uses.filter(probe_id=filters.probe)
    with transaction.atomic():
        total = uses.count()
        shown = list(uses[filters.offset : filters.offset + filters.limit])
        access_record(
            user=request.user,
            patients=[u.exam.order.patient for u in shown],
            action="infection.probe_uses",
            source=_api(request),
        )
    return {"count": total, "items": [_use_out(u) for u in shown]}


@router.post(
    "/probe-uses",
    response={201: ProbeUseOut},
    summary="Attach a probe to an exam",
    auth=requires(VIEW_USES, "infection.add_probeuse"),
)
def attach_probe(request: HttpRequest, payload: ProbeUseIn) -> Status[dict[str, Any]]:
    exam = Exam.objects.filter(pk=payload.exam_id).first()
    if exam is None:
        raise ValidationFailed({"exam_id": ["No exam has this id."]})
    try:
        probe = selectors.probe_by_serial(payload.probe_serial)
    except NotFound as exc:
        raise ValidationFailed({"probe_serial": [exc.message]}) from exc
    use = services.probe_attach(
        exam=exam,
        probe=probe,
        by=request.user,
        cover_used=payload.cover_used,
        cover_lot=payload.cover_lot,
        gel=payload.gel.value,
        source=UseSource.API,
    )
    use = ProbeUse.objects.select_related("probe", "exam", "exam__order").get(pk=use.pk)
    return Status(201, _use_out(use))


@router.get(
    "/cycles",
    response=CycleListOut,
    summary="Reprocessing cycles, newest first",
    auth=requires(VIEW),
)
def list_cycles(request: HttpRequest, filters: Query[CycleFilters]) -> dict[str, Any]:
    found = selectors.cycles(probe_id=filters.probe, failed_only=filters.failed)
    total = found.count()
    shown = list(found[filters.offset : filters.offset + filters.limit])
    return {"count": total, "items": [_cycle_out(c) for c in shown]}


@router.post(
    "/cycles",
    response={201: CycleOut},
    summary="Record a reprocessing cycle",
    auth=requires(VIEW, "infection.add_reprocessing"),
)
def record_cycle(request: HttpRequest, payload: CycleIn) -> Status[dict[str, Any]]:
    """The cycle is stored whatever its outcome; ``passed`` and ``problems`` say whether it
    cleared the probe."""
    try:
        probe = selectors.probe_by_serial(payload.probe_serial)
    except NotFound as exc:
        raise ValidationFailed({"probe_serial": [exc.message]}) from exc
    device = agent = None
    if payload.device_id is not None:
        device = ReprocessingDevice.objects.filter(pk=payload.device_id).first()
        if device is None:
            raise ValidationFailed({"device_id": ["No reprocessing device has this id."]})
    if payload.agent_id is not None:
        agent = DisinfectionAgent.objects.filter(pk=payload.agent_id).first()
        if agent is None:
            raise ValidationFailed({"agent_id": ["No disinfectant has this id."]})
    cycle = services.reprocessing_record(
        probe=probe,
        by=request.user,
        method=payload.method.value,
        result=payload.result.value,
        indicator=payload.indicator.value,
        exposure_met=payload.exposure_met,
        device=device,
        agent=agent,
        cycle_id=payload.cycle_id,
        started_at=payload.started_at,
        ended_at=payload.ended_at,
        note=payload.note,
    )
    return Status(201, _cycle_out(selectors.cycle_get(cycle.pk)))


@router.get("/cycles/{cycle_id}", response=CycleOut, summary="One cycle", auth=requires(VIEW))
def get_cycle(request: HttpRequest, cycle_id: UUID) -> dict[str, Any]:
    return _cycle_out(selectors.cycle_get(cycle_id))
