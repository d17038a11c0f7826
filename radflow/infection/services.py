"""Writes for infection control: attach a probe to an exam, record a reprocessing cycle, release
an exam's probe (the infection preventionist's override), probe status, disinfectants, devices,
solution tests and device checks.

Each function is one transaction. A probe row is locked (``select_for_update``) by every write
that reads its state, so an attach and a cycle for the same probe are decided one after the other.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from radflow.core import reprocessing as rules
from radflow.core.errors import Conflict, PermissionDenied, ValidationFailed
from radflow.core.exam_states import ExamAction, ExamState
from radflow.exams.models import Exam, HardStop, Override
from radflow.infection import selectors
from radflow.infection.models import (
    AgentKind,
    CheckFrequency,
    DeviceQcLog,
    DisinfectionAgent,
    GelType,
    IndicatorResult,
    PassFail,
    ProbeUse,
    Reprocessing,
    ReprocessingDevice,
    ReprocessingMethod,
    ReprocessorKind,
    SolutionTest,
    UseSource,
)
from radflow.scheduling.models import DeviceStatus, Probe, ProbeType
from radflow.staff.models import StaffMember

OVERRIDE_PERMISSION = "infection.override_probe_stop"
#: A recorded time may run this far ahead of the server's clock (a tablet's clock drifts).
FUTURE_SKEW = timedelta(minutes=5)
#: Exams a probe may be attached to: booked, arrived, or under way.
ATTACHABLE_STATES = frozenset({ExamState.SCHEDULED, ExamState.ARRIVED, ExamState.IN_PROGRESS})
#: Exams whose probe may still be taken off (the probe has not touched the patient).
DETACHABLE_STATES = frozenset({ExamState.SCHEDULED, ExamState.ARRIVED})

#: The devices each method runs in (the soak and the wipe need an agent instead).
DEVICE_KINDS: dict[str, frozenset[str]] = {
    ReprocessingMethod.HLD_AUTOMATED: frozenset(
        {
            ReprocessorKind.HYDROGEN_PEROXIDE_MIST,
            ReprocessorKind.UV_C,
            ReprocessorKind.AUTOMATED_REPROCESSOR,
        }
    ),
    ReprocessingMethod.STERILIZATION: frozenset({ReprocessorKind.STERILIZER}),
}


def _user(by: Any) -> Any:
    return by if getattr(by, "is_authenticated", False) else None


def _lock_probe(probe: Probe) -> Probe:
    return Probe.objects.select_for_update().get(pk=probe.pk)


def _roles(by: Any) -> str:
    return ", ".join(sorted(by.groups.values_list("name", flat=True)))


# --- probe uses --------------------------------------------------------------------------------


@transaction.atomic
def probe_attach(
    *,
    exam: Exam,
    probe: Probe,
    by: Any,
    cover_used: bool = False,
    cover_lot: str = "",
    gel: str = GelType.NON_STERILE,
    operator: StaffMember | None = None,
    source: str = UseSource.PAGE,
    at: datetime | None = None,
) -> ProbeUse:
    """Record that ``probe`` is used for ``exam``; refused for a semi-critical or critical probe
    that has not passed the reprocessing its class needs since its last use."""
    probe = _lock_probe(probe)
    exam = Exam.objects.select_related("technologist").get(pk=exam.pk)
    if exam.state not in ATTACHABLE_STATES:
        raise Conflict(
            f"Exam {exam.accession_number} is {ExamState(exam.state).label.lower()}: a probe is "
            "attached to an exam that is booked, arrived or under way.",
            field="exam",
            code="exam_not_attachable",
        )
    if probe.status != DeviceStatus.IN_SERVICE:
        raise Conflict(
            f"{probe} is out of service ({probe.get_status_display().lower()}): use another probe.",
            field="probe",
            code="probe_out_of_service",
        )
    errors: dict[str, list[str]] = {}
    cover_lot = cover_lot.strip()
    if probe.probe_type == ProbeType.ENDOCAVITARY and not (cover_used and cover_lot):
        errors["cover_lot"] = [
            "An endocavitary probe is used with a cover: record the cover's lot."
        ]
    if gel not in GelType.values:
        errors["gel"] = ["Choose the gel used."]
    when = at or timezone.now()
    if timezone.is_naive(when):
        errors["at"] = ["The time must carry its time zone."]
    elif when > timezone.now() + FUTURE_SKEW:
        errors["at"] = ["The time is in the future."]
    if errors:
        raise ValidationFailed(errors)
    if ProbeUse.objects.filter(exam=exam, probe=probe).exists():
        raise Conflict(
            f"{probe} is already attached to exam {exam.accession_number}.",
            field="probe",
            code="probe_already_attached",
        )
    state = selectors.probe_state(probe, exclude_exam=exam.pk)
    if state.guarded and state.waiting:
        last = state.waiting[-1]
        raise Conflict(
            f"{probe} has not had a passing {state.needs} since its last use (exam "
            f"{last.exam.accession_number}, {timezone.localtime(last.used_at):%Y-%m-%d %H:%M}): "  # type: ignore[attr-defined]
            "reprocess it first, or use another probe.",
            field="probe",
            code="probe_not_reprocessed",
        )
    use = ProbeUse(
        probe=probe,
        exam=exam,
        at=when,
        by=_user(by),
        operator=operator or exam.technologist,
        cover_used=cover_used,
        cover_lot=cover_lot,
        gel=gel,
        source=source,
    )
    try:
        with transaction.atomic():
            use.save()
    except IntegrityError as exc:  # a concurrent attach of the same probe to the same exam
        raise Conflict(
            f"{probe} is already attached to exam {exam.accession_number}.",
            field="probe",
            code="probe_already_attached",
        ) from exc
    return use


@transaction.atomic
def probe_detach(*, use: ProbeUse, by: Any) -> None:
    """Take a probe off an exam that has not begun (attached by mistake)."""
    use = ProbeUse.objects.select_related("exam", "probe").select_for_update().get(pk=use.pk)
    if use.exam.state not in DETACHABLE_STATES:
        raise Conflict(
            f"Exam {use.exam.accession_number} has begun: the probe touched the patient and its "
            "use stays on record.",
            field="probe",
            code="probe_use_kept",
        )
    use.delete()


@transaction.atomic
def probe_stop_override(*, exam: Exam, by: Any, reason: str) -> Override:
    """Release the exam's probes for this patient despite the stop: the infection
    preventionist's call alone, with a reason, listed on the override report.

    Only uses before this moment are released: a later use of the probe blocks again.
    """
    if by is None or not by.has_perm(OVERRIDE_PERMISSION):
        raise PermissionDenied("Only an infection preventionist may override the probe hard stop.")
    reason = reason.strip()
    if not reason:
        raise ValidationFailed({"reason": ["Give the reason for the override."]})
    exam = Exam.objects.select_for_update().get(pk=exam.pk)
    if exam.state not in DETACHABLE_STATES:
        raise Conflict(
            f"Exam {exam.accession_number} is {ExamState(exam.state).label.lower()}: the probe "
            "stop is overridden before the exam begins.",
            field="exam",
            code="exam_not_waiting",
        )
    problems = selectors.probe_problems(exam)
    if not problems:
        raise Conflict(
            "Nothing to override: the exam's probes are reprocessed.",
            field="exam",
            code="no_probe_stop",
        )
    released = [p for p in problems if "out of service" not in p]
    if len(released) < len(problems):
        raise Conflict(
            "A probe attached to this exam is out of service: return it to service or attach "
            "another probe; an override does not cover a probe that is down.",
            field="exam",
            code="probe_out_of_service",
        )
    detail = "Probe not reprocessed: " + "; ".join(problems) + "."
    return Override.objects.create(
        exam=exam,
        stop=HardStop.PROBE,
        detail=detail[:200],
        reason=reason,
        at=timezone.now(),
        by=by,
        roles=_roles(by),
        action=ExamAction.BEGIN.value,
    )


@transaction.atomic
def probe_status_set(*, probe: Probe, by: Any, status: str, reason: str) -> Probe:
    """Take a probe out of service (cracked, failed leak test, repeated failed cycles) or return
    it; the reason goes on the probe's history."""
    if status not in DeviceStatus.values:
        raise ValidationFailed({"status": ["Choose a status."]})
    reason = reason.strip()
    if not reason:
        raise ValidationFailed({"reason": ["Say why the probe's status changes."]})
    probe = _lock_probe(probe)
    if probe.status == status:
        raise Conflict(
            f"{probe} is already {probe.get_status_display().lower()}.",
            field="status",
            code="probe_status_unchanged",
        )
    probe.status = status
    probe._history_user = _user(by)  # type: ignore[attr-defined]
    probe._change_reason = reason[:100]  # type: ignore[attr-defined]
    probe.save(update_fields=["status", "updated_at"])
    return probe


# --- reprocessing ------------------------------------------------------------------------------


def _device_problems(device: ReprocessingDevice | None) -> tuple[str, ...]:
    if device is not None and device.status != DeviceStatus.IN_SERVICE:
        return (f"{device.name} is out of service ({device.get_status_display().lower()})",)
    return ()


def _agent_problems(agent: DisinfectionAgent | None, at: datetime) -> tuple[str, ...]:
    if agent is None:
        return ()
    return rules.agent_problems(
        label=str(agent),
        expires_on=agent.expires_on,
        opened_on=agent.opened_on,
        use_life_days=agent.use_life_days,
        discarded_at=agent.discarded_at,
        at=at,
        on=timezone.localdate(at),
    )


def _check_cycle_inputs(
    *,
    method: str,
    agent: DisinfectionAgent | None,
    device: ReprocessingDevice | None,
    result: str,
    indicator: str,
    started_at: datetime,
    ended_at: datetime,
) -> None:
    errors: dict[str, list[str]] = {}
    for name, value in (("started_at", started_at), ("ended_at", ended_at)):
        if timezone.is_naive(value):
            errors[name] = ["The time must carry its time zone."]
    if errors:
        raise ValidationFailed(errors)
    if method not in ReprocessingMethod.values:
        errors["method"] = ["Choose the method."]
    if result not in PassFail.values:
        errors["result"] = ["Say whether the cycle passed or failed."]
    if indicator not in IndicatorResult.values:
        errors["indicator"] = ["Read the chemical indicator or test strip: pass, fail or not read."]
    kinds = DEVICE_KINDS.get(method)
    if kinds is not None:
        if device is None:
            errors["device"] = ["Choose the device that ran the cycle."]
        elif device.kind not in kinds:
            errors["device"] = [
                f"{device.name} ({device.get_kind_display()}) does not run "
                f"{ReprocessingMethod(method).label.lower()}."
            ]
    elif method == ReprocessingMethod.HLD_SOAK:
        if agent is None:
            errors["agent"] = ["Choose the high-level disinfectant the probe soaked in."]
        elif not agent.high_level:
            errors["agent"] = [f"{agent.name} is a low-level disinfectant."]
    elif method == ReprocessingMethod.LLD_WIPE and agent is None:
        errors["agent"] = ["Choose the wipe used."]
    if ended_at < started_at:
        errors["ended_at"] = ["The cycle ends before it starts."]
    if ended_at > timezone.now() + FUTURE_SKEW:
        errors["ended_at"] = ["The cycle cannot end in the future."]
    if errors:
        raise ValidationFailed(errors)


@transaction.atomic
def reprocessing_record(
    *,
    probe: Probe,
    by: Any,
    method: str,
    result: str,
    indicator: str,
    exposure_met: bool,
    agent: DisinfectionAgent | None = None,
    device: ReprocessingDevice | None = None,
    cycle_id: str = "",
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
    note: str = "",
) -> Reprocessing:
    """Record one cycle and what it achieved: it clears the probe only when the result, the
    indicator, the exposure time and the agent (or device) all pass."""
    probe = _lock_probe(probe)
    now = timezone.now()
    ended = ended_at or now
    if started_at is None:
        minutes = (
            device.cycle_minutes
            if device is not None
            else (agent.min_exposure_minutes if agent and agent.min_exposure_minutes else 2)
        )
        started_at = ended - timedelta(minutes=minutes)
    _check_cycle_inputs(
        method=method,
        agent=agent,
        device=device,
        result=result,
        indicator=indicator,
        started_at=started_at,
        ended_at=ended,
    )
    outcome = rules.cycle_outcome(
        rules.CycleFacts(
            method=rules.Method(method),
            result_passed=result == PassFail.PASS,
            indicator=indicator,
            exposure_met=exposure_met,
            agent_problems=_agent_problems(agent, started_at) + _device_problems(device),
        )
    )
    cycle = Reprocessing(
        probe=probe,
        method=method,
        agent=agent,
        device=device,
        cycle_id=cycle_id.strip(),
        result=result,
        indicator=indicator,
        exposure_met=exposure_met,
        started_at=started_at,
        ended_at=ended,
        operator=_user(by),
        level=outcome.level.value,
        problems="\n".join(outcome.problems),
        note=note.strip(),
    )
    cycle.save()
    return cycle


# --- disinfectants, devices, tests and checks --------------------------------------------------


@transaction.atomic
def agent_create(
    *,
    by: Any,
    name: str,
    kind: str,
    lot_number: str,
    expires_on: Any,
    manufacturer: str = "",
    opened_on: Any = None,
    use_life_days: int | None = None,
    min_exposure_minutes: int | None = None,
    test_frequency: str = CheckFrequency.NOT_REQUIRED,
    room: Any = None,
) -> DisinfectionAgent:
    agent = DisinfectionAgent(
        name=name.strip(),
        kind=kind,
        manufacturer=manufacturer.strip(),
        lot_number=lot_number.strip(),
        expires_on=expires_on,
        opened_on=opened_on,
        use_life_days=use_life_days,
        min_exposure_minutes=min_exposure_minutes,
        test_frequency=test_frequency,
        room=room,
    )
    errors: dict[str, list[str]] = {}
    if kind == AgentKind.QUATERNARY_AMMONIUM and test_frequency != CheckFrequency.NOT_REQUIRED:
        errors["test_frequency"] = ["Wipes are not concentration-tested."]
    if opened_on is not None and opened_on > expires_on:
        errors["opened_on"] = ["Opened after the lot's expiry."]
    if errors:
        raise ValidationFailed(errors)
    _full_clean(agent, exclude=["room"])
    agent.save()
    return agent


def _full_clean(obj: Any, exclude: list[str] | None = None) -> None:
    from django.core.exceptions import ValidationError

    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise ValidationFailed(
            {name: [str(m) for m in messages] for name, messages in exc.message_dict.items()}
        ) from exc


@transaction.atomic
def agent_discard(*, agent: DisinfectionAgent, by: Any, reason: str) -> DisinfectionAgent:
    agent = DisinfectionAgent.objects.select_for_update().get(pk=agent.pk)
    if agent.discarded_at is not None:
        raise Conflict(f"{agent} was already discarded.", field="agent", code="agent_discarded")
    agent.discarded_at = timezone.now()
    agent.discard_reason = reason.strip()[:200] or "Discarded"
    agent.save(update_fields=["discarded_at", "discard_reason", "updated_at"])
    return agent


@transaction.atomic
def solution_test_record(
    *,
    agent: DisinfectionAgent,
    by: Any,
    result: str,
    strip_lot: str = "",
    note: str = "",
    at: datetime | None = None,
) -> SolutionTest:
    """A concentration test of a soak solution; a failed test discards the solution (below its
    minimum effective concentration, no cycle in it may count)."""
    agent = DisinfectionAgent.objects.select_for_update().get(pk=agent.pk)
    if result not in PassFail.values:
        raise ValidationFailed({"result": ["Say whether the strip passed or failed."]})
    if agent.discarded_at is not None:
        raise Conflict(f"{agent} was discarded.", field="agent", code="agent_discarded")
    when = at or timezone.now()
    if when > timezone.now() + FUTURE_SKEW:
        raise ValidationFailed({"at": ["The time is in the future."]})
    test = SolutionTest.objects.create(
        agent=agent,
        at=when,
        result=result,
        strip_lot=strip_lot.strip(),
        by=_user(by),
        note=note.strip(),
    )
    if result == PassFail.FAIL:
        agent.discarded_at = when
        agent.discard_reason = "Failed its minimum effective concentration test"
        agent.save(update_fields=["discarded_at", "discard_reason", "updated_at"])
    return test


@transaction.atomic
def device_create(
    *,
    by: Any,
    name: str,
    kind: str,
    manufacturer: str,
    model_name: str,
    serial_number: str,
    room: Any = None,
    cycle_minutes: int = 7,
    qc_frequency: str = CheckFrequency.DAILY,
    qc_check: str = "",
) -> ReprocessingDevice:
    if ReprocessingDevice.objects.filter(serial_number__iexact=serial_number.strip()).exists():
        raise ValidationFailed({"serial_number": ["A device has this serial number already."]})
    device = ReprocessingDevice(
        name=name.strip(),
        kind=kind,
        manufacturer=manufacturer.strip(),
        model_name=model_name.strip(),
        serial_number=serial_number.strip(),
        room=room,
        cycle_minutes=cycle_minutes,
        qc_frequency=qc_frequency,
        qc_check=qc_check.strip(),
    )
    _full_clean(device, exclude=["room"])
    device.save()
    return device


@transaction.atomic
def device_qc_record(
    *,
    device: ReprocessingDevice,
    by: Any,
    check_name: str,
    result: str,
    note: str = "",
    at: datetime | None = None,
) -> DeviceQcLog:
    """A scheduled device check; a failed check takes the device down until it passes one."""
    device = ReprocessingDevice.objects.select_for_update().get(pk=device.pk)
    errors: dict[str, list[str]] = {}
    if result not in PassFail.values:
        errors["result"] = ["Say whether the check passed or failed."]
    if not check_name.strip():
        errors["check_name"] = ["Name the check."]
    when = at or timezone.now()
    if when > timezone.now() + FUTURE_SKEW:
        errors["at"] = ["The time is in the future."]
    if errors:
        raise ValidationFailed(errors)
    log = DeviceQcLog.objects.create(
        device=device,
        at=when,
        check_name=check_name.strip(),
        result=result,
        by=_user(by),
        note=note.strip(),
    )
    if result == PassFail.FAIL and device.status == DeviceStatus.IN_SERVICE:
        device.status = DeviceStatus.DOWN
        device.save(update_fields=["status", "updated_at"])
    elif result == PassFail.PASS and device.status == DeviceStatus.DOWN:
        device.status = DeviceStatus.IN_SERVICE
        device.save(update_fields=["status", "updated_at"])
    return log
