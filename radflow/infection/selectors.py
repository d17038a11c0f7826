"""Reads for infection control: a probe's state, the probe hard stop, the look-back, QC schedules
and the dashboard's figures.

A probe *touched* a patient when the exam it is attached to began (``Exam.in_progress_at``), or
when it was attached if that was later; an exam that never began (cancelled, no-show, still
waiting) used no probe. ``probe_problems`` is the intake hook
(``radflow.intake.selectors.intake_facts``); the rules are ``radflow.core.reprocessing``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import F, Max, QuerySet
from django.db.models.functions import Greatest
from django.utils import timezone

from radflow.audit.services import AccessSource, access_record
from radflow.core import reprocessing as rules
from radflow.core.errors import NotFound
from radflow.core.exam_states import STARTED, ExamState
from radflow.core.reprocessing import GUARDED_CLASSES, REQUIRED_LEVEL, Level, QcStatus
from radflow.exams.models import Exam, HardStop, Override
from radflow.infection.models import (
    CheckFrequency,
    DeviceQcLog,
    DisinfectionAgent,
    IndicatorResult,
    ProbeUse,
    Reprocessing,
    ReprocessingDevice,
    SolutionTest,
)
from radflow.patients.models import Patient
from radflow.scheduling.models import DeviceStatus, Probe

#: What the level names mean to the people reading the messages.
LEVEL_WORDS = {
    Level.LOW: "low-level disinfection",
    Level.HIGH: "high-level disinfection",
    Level.STERILE: "sterilization",
}


def required_level(probe: Probe) -> Level:
    return REQUIRED_LEVEL.get(probe.spaulding_class, Level.LOW)


def levels_meeting(required: Level) -> list[str]:
    return [level.value for level in Level if rules.meets(level, required)]


def _local(at: datetime) -> str:
    return f"{timezone.localtime(at):%Y-%m-%d %H:%M}"


def begun_uses() -> QuerySet[Any]:
    """Probe uses whose exam began, with ``used_at``: when the probe touched the patient.

    (Typed ``Any``: the annotation is not a model field, which the type checker cannot see.)
    """
    found: QuerySet[Any] = ProbeUse.objects.filter(exam__in_progress_at__isnull=False).annotate(
        used_at=Greatest(F("at"), F("exam__in_progress_at"))
    )
    return found


def _after(uses: QuerySet[Any], floor: datetime | None) -> QuerySet[Any]:
    return uses if floor is None else uses.filter(used_at__gt=floor)


# --- one probe ---------------------------------------------------------------------------------


class Readiness:
    READY = "ready"
    #: On a patient now: its exam is under way (it needs reprocessing once the exam ends).
    IN_USE = "in_use"
    NEEDS_REPROCESSING = "needs_reprocessing"
    OUT_OF_SERVICE = "out_of_service"


READINESS_LABELS = {
    Readiness.READY: "Ready",
    Readiness.IN_USE: "In use",
    Readiness.NEEDS_REPROCESSING: "Needs reprocessing",
    Readiness.OUT_OF_SERVICE: "Out of service",
}


@dataclass(frozen=True)
class ProbeState:
    probe: Probe
    required: Level
    #: Semi-critical or critical: its reprocessing is a hard stop.
    guarded: bool
    readiness: str
    last_clear: Reprocessing | None
    last_cycle: Reprocessing | None
    #: Uses since the last cycle that met ``required`` (the newest last), with their exams.
    waiting: list[ProbeUse] = field(default_factory=list)

    @property
    def label(self) -> str:
        return READINESS_LABELS[self.readiness]

    @property
    def ready(self) -> bool:
        return self.readiness == Readiness.READY

    @property
    def needs(self) -> str:
        return LEVEL_WORDS.get(self.required, "reprocessing")

    @property
    def detail(self) -> str:
        if self.readiness == Readiness.OUT_OF_SERVICE:
            return f"Out of service ({self.probe.get_status_display().lower()})."
        if self.readiness == Readiness.IN_USE:
            exam = self.waiting[-1].exam
            return f"In use on exam {exam.accession_number}: reprocess it when the exam ends."
        if self.waiting:
            last = self.waiting[-1]
            used_at: datetime = getattr(last, "used_at", last.at)
            return (
                f"Used on exam {last.exam.accession_number} at {_local(used_at)}; no passing "
                f"{self.needs} since."
            )
        if self.last_clear is not None:
            return f"Passed {self.needs} at {_local(self.last_clear.ended_at)}."
        return "No use recorded since it was put in service."


def probe_state(
    probe: Probe, *, exclude_exam: Any = None, since: datetime | None = None
) -> ProbeState:
    """Where ``probe`` stands: ready, waiting for a cycle (and since which uses), or down.

    ``exclude_exam``: the exam asking (its own use does not block it); ``since``: an infection
    preventionist's override on that exam, which releases the uses before it.
    """
    required = required_level(probe)
    cycles = Reprocessing.objects.filter(probe=probe).select_related("agent", "device")
    last_cycle = cycles.order_by("-ended_at").first()
    last_clear = cycles.filter(level__in=levels_meeting(required)).order_by("-ended_at").first()
    floor = max(
        (t for t in (last_clear.ended_at if last_clear else None, since) if t is not None),
        default=None,
    )
    uses = _after(begun_uses().filter(probe=probe), floor)
    if exclude_exam is not None:
        uses = uses.exclude(exam_id=exclude_exam)
    waiting = list(uses.select_related("exam").order_by("used_at"))
    if probe.status != DeviceStatus.IN_SERVICE:
        readiness = Readiness.OUT_OF_SERVICE
    elif waiting and waiting[-1].exam.state == ExamState.IN_PROGRESS:
        readiness = Readiness.IN_USE
    elif waiting:
        readiness = Readiness.NEEDS_REPROCESSING
    else:
        readiness = Readiness.READY
    return ProbeState(
        probe=probe,
        required=required,
        guarded=probe.spaulding_class in GUARDED_CLASSES,
        readiness=readiness,
        last_clear=last_clear,
        last_cycle=last_cycle,
        waiting=waiting,
    )


def probe_by_serial(serial: str) -> Probe:
    """The probe a scanner or a person typed: exact serial, case and surrounding space ignored."""
    cleaned = serial.strip()
    probe = (
        Probe.objects.select_related("device", "device__room", "device__room__site")
        .filter(serial_number__iexact=cleaned)
        .first()
        if cleaned
        else None
    )
    if probe is None:
        raise NotFound(f"No probe has serial number {cleaned!r}.", field="serial")
    return probe


# --- the hard stop -----------------------------------------------------------------------------


def exam_probe_uses(exam: Exam) -> list[ProbeUse]:
    return list(
        ProbeUse.objects.filter(exam=exam)
        .select_related("probe", "probe__device", "by", "operator")
        .order_by("at")
    )


def probe_override_at(exam: Exam) -> datetime | None:
    """When an infection preventionist last released this exam's probes, if ever."""
    found: datetime | None = Override.objects.filter(exam=exam, stop=HardStop.PROBE).aggregate(
        at=Max("at")
    )["at"]
    return found


def exam_probe_states(exam: Exam) -> list[ProbeState]:
    """The state of each probe attached to ``exam``, as seen by that exam."""
    since = probe_override_at(exam)
    return [
        probe_state(use.probe, exclude_exam=exam.pk, since=since) for use in exam_probe_uses(exam)
    ]


def problems_of(state: ProbeState) -> list[str]:
    """What stops ``state``'s probe touching the next patient, in the words of the stop."""
    if state.readiness == Readiness.OUT_OF_SERVICE:
        return [f"{state.probe} is out of service"]
    if state.guarded and state.waiting:
        last = state.waiting[-1]
        used_at: datetime = getattr(last, "used_at", last.at)
        return [
            f"{state.probe} was used on exam {last.exam.accession_number} at "
            f"{_local(used_at)} with no passing {state.needs} since"
        ]
    return []


def probe_problems(exam: Exam) -> tuple[str, ...]:
    """Why a probe attached to ``exam`` may not touch its patient (the intake hard stop).

    One query when the exam has no probe; a few per attached probe otherwise. The stop guards
    the start: once the exam has begun, what its probe touched afterwards is not its stop (it is
    the next exam's), so a begun exam has none.
    """
    if exam.state in STARTED:
        return ()
    uses = [
        use
        for use in ProbeUse.objects.filter(exam=exam).select_related("probe")
        if use.probe.spaulding_class in GUARDED_CLASSES
        or use.probe.status != DeviceStatus.IN_SERVICE
    ]
    if not uses:
        return ()
    since = probe_override_at(exam)
    problems: list[str] = []
    for use in uses:
        problems.extend(problems_of(probe_state(use.probe, exclude_exam=exam.pk, since=since)))
    return tuple(problems)


def exam_has_guarded_probe(exam: Exam) -> bool:
    """Whether the probe stop applies to ``exam`` (for intake's checklist)."""
    return ProbeUse.objects.filter(
        exam=exam, probe__spaulding_class__in=sorted(GUARDED_CLASSES)
    ).exists()


# --- the dashboard's probe board ---------------------------------------------------------------


@dataclass(frozen=True)
class ProbeRow:
    probe: Probe
    readiness: str
    guarded: bool
    last_clear_at: datetime | None
    last_used_at: datetime | None

    @property
    def label(self) -> str:
        return READINESS_LABELS[self.readiness]


def probe_board() -> list[ProbeRow]:
    """Every probe's readiness in six queries (the dashboard and the API list)."""
    probes = list(
        Probe.objects.select_related("device", "device__room", "device__room__site").order_by(
            "serial_number"
        )
    )
    last_by_level: dict[Level, dict[Any, datetime]] = {}
    for required in (Level.LOW, Level.HIGH, Level.STERILE):
        rows = (
            Reprocessing.objects.filter(level__in=levels_meeting(required))
            .values("probe_id")
            .annotate(last=Max("ended_at"))
        )
        last_by_level[required] = {row["probe_id"]: row["last"] for row in rows}
    last_use = {
        row["probe_id"]: row["last"]
        for row in begun_uses().values("probe_id").annotate(last=Max("used_at"))
    }
    on_patient = set(
        ProbeUse.objects.filter(exam__state=ExamState.IN_PROGRESS).values_list(
            "probe_id", flat=True
        )
    )
    board: list[ProbeRow] = []
    for probe in probes:
        required = required_level(probe)
        cleared = last_by_level[required].get(probe.pk)
        used = last_use.get(probe.pk)
        if probe.status != DeviceStatus.IN_SERVICE:
            readiness = Readiness.OUT_OF_SERVICE
        elif used is not None and (cleared is None or used > cleared):
            in_use = probe.pk in on_patient
            readiness = Readiness.IN_USE if in_use else Readiness.NEEDS_REPROCESSING
        else:
            readiness = Readiness.READY
        board.append(
            ProbeRow(
                probe=probe,
                readiness=readiness,
                guarded=probe.spaulding_class in GUARDED_CLASSES,
                last_clear_at=cleared,
                last_used_at=used,
            )
        )
    return board


# --- the look-back -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ExposedExam:
    use: ProbeUse
    used_at: datetime
    #: The use (or the patient) the look-back started from.
    index: bool

    @property
    def exam(self) -> Exam:
        return self.use.exam

    @property
    def patient(self) -> Patient:
        return self.use.exam.order.patient


@dataclass(frozen=True)
class LookbackWindow:
    probe: Probe
    opened_by: Reprocessing | None
    closed_by: Reprocessing | None
    exams: list[ExposedExam]
    #: What the window was opened around: "exam RF00001234" or "failed cycle ...".
    anchor: str


@dataclass(frozen=True)
class Lookback:
    title: str
    windows: list[LookbackWindow]
    #: The patient the look-back started from, when it started from one.
    index_patient: Patient | None = None

    @property
    def exams(self) -> list[ExposedExam]:
        return [e for w in self.windows for e in w.exams]

    @property
    def patients_to_notify(self) -> list[Patient]:
        """Everyone who shared a probe inside a window, but the patient it started from."""
        seen: dict[Any, Patient] = {}
        for exposed in self.exams:
            patient = exposed.patient
            if self.index_patient is not None and patient.pk == self.index_patient.pk:
                continue
            seen.setdefault(patient.pk, patient)
        return sorted(seen.values(), key=lambda p: (p.family_name, p.given_name, p.mrn))

    @property
    def patients(self) -> list[Patient]:
        """Every patient named (what the access log records)."""
        seen: dict[Any, Patient] = {e.patient.pk: e.patient for e in self.exams}
        if self.index_patient is not None:
            seen.setdefault(self.index_patient.pk, self.index_patient)
        return list(seen.values())


def _history(probe: Probe) -> tuple[list[rules.Use], list[rules.Cycle], dict[Any, Reprocessing]]:
    uses = [
        rules.Use(ref=row["pk"], exam=row["exam_id"], at=row["used_at"])
        for row in begun_uses().filter(probe=probe).values("pk", "exam_id", "used_at")
    ]
    cycles = {c.pk: c for c in Reprocessing.objects.filter(probe=probe)}
    core_cycles = [
        rules.Cycle(ref=c.pk, at=c.ended_at, level=Level(c.level)) for c in cycles.values()
    ]
    return uses, core_cycles, cycles


def _window(probe: Probe, at: datetime, anchor: str, index_use: Any = None) -> LookbackWindow:
    uses, cycles, rows = _history(probe)
    window, exposed = rules.exposed_uses(uses, cycles, required_level(probe), at)
    loaded = {
        u.pk: u
        for u in begun_uses()
        .filter(pk__in=[e.ref for e in exposed])
        .select_related("exam", "exam__order__patient", "exam__order__exam_type", "operator")
    }
    return LookbackWindow(
        probe=probe,
        opened_by=rows[window.opened_by.ref] if window.opened_by else None,
        closed_by=rows[window.closed_by.ref] if window.closed_by else None,
        exams=[
            ExposedExam(use=loaded[e.ref], used_at=e.at, index=e.ref == index_use) for e in exposed
        ],
        anchor=anchor,
    )


def lookback_from_cycle(cycle: Reprocessing) -> Lookback:
    """Every exam that shared the cycle's probe between the passing cycles either side of it."""
    window = _window(
        cycle.probe,
        cycle.ended_at,
        f"{cycle.get_method_display().lower()} at {_local(cycle.started_at)}",
    )
    verdict = "failed" if not cycle.passed else "recorded"
    return Lookback(
        title=f"Look-back from the {verdict} cycle of {cycle.probe} at {_local(cycle.started_at)}",
        windows=[window],
    )


def lookback_from_patient(patient: Patient) -> Lookback:
    """For each probe use on ``patient``: the exams that shared that probe between the passing
    cycles either side of it (the patient's own use marked)."""
    index_uses = list(
        begun_uses()
        .filter(exam__order__patient=patient)
        .select_related("probe", "exam")
        .order_by("used_at")
    )
    windows = [
        _window(use.probe, use.used_at, f"exam {use.exam.accession_number}", index_use=use.pk)
        for use in index_uses
    ]
    return Lookback(
        title=f"Look-back from {patient.display_name} ({patient.mrn})",
        windows=windows,
        index_patient=patient,
    )


def lookback_audited(
    *, user: Any, lookback: Lookback, action: str, source: AccessSource
) -> Lookback:
    """A look-back names patients: each one shown (or exported) is logged as read."""
    access_record(user=user, patients=lookback.patients, action=action, source=source)
    return lookback


def cycle_get(cycle_id: Any) -> Reprocessing:
    cycle = (
        Reprocessing.objects.select_related("probe", "agent", "device", "operator")
        .filter(pk=cycle_id)
        .first()
    )
    if cycle is None:
        raise NotFound("No reprocessing cycle has this id.", field="cycle_id")
    return cycle


# --- cycles, solution tests and device checks -------------------------------------------------


def cycles(
    *, probe_id: Any = None, failed_only: bool = False, since: datetime | None = None
) -> QuerySet[Reprocessing]:
    found = Reprocessing.objects.select_related("probe", "agent", "device", "operator")
    if probe_id is not None:
        found = found.filter(probe_id=probe_id)
    if failed_only:
        found = found.filter(level="none")
    if since is not None:
        found = found.filter(started_at__gte=since)
    return found.order_by("-started_at", "-created_at")


def last_choices(user: Any) -> Reprocessing | None:
    """The user's last cycle, so the reprocessing room pre-selects their device and agent."""
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        Reprocessing.objects.filter(operator=user)
        .select_related("agent", "device")
        .order_by("-started_at")
        .first()
    )


def usable_agents(on: date) -> QuerySet[DisinfectionAgent]:
    return DisinfectionAgent.objects.filter(discarded_at__isnull=True, expires_on__gte=on)


def usable_devices() -> QuerySet[ReprocessingDevice]:
    return ReprocessingDevice.objects.filter(status=DeviceStatus.IN_SERVICE).select_related(
        "room", "room__site"
    )


@dataclass(frozen=True)
class QcRow:
    #: A ``DisinfectionAgent`` (solution test) or a ``ReprocessingDevice`` (device check).
    subject: Any
    kind: str  # "solution" or "device"
    frequency: str
    last_at: datetime | None
    last_result: str
    status: QcStatus

    @property
    def frequency_label(self) -> str:
        return str(CheckFrequency(self.frequency).label)


def _untested_cycles(
    field_name: str, ids: Sequence[Any], last: dict[Any, datetime | None]
) -> dict[Any, int]:
    """Per agent or device: cycles since its last test that carried no indicator reading."""
    counts: dict[Any, int] = defaultdict(int)
    rows = Reprocessing.objects.filter(
        **{f"{field_name}__in": ids}, indicator=IndicatorResult.NOT_READ
    ).values_list(field_name, "started_at")
    for key, started in rows:
        done = last.get(key)
        if done is None or started > done:
            counts[key] += 1
    return counts


def solution_test_status(today: date) -> list[QcRow]:
    """Solutions in use that need concentration tests, with the last test and what is due."""
    agents = list(
        usable_agents(today)
        .exclude(test_frequency=CheckFrequency.NOT_REQUIRED)
        .select_related("room")
    )
    last = _last_by(SolutionTest.objects.filter(agent__in=agents), "agent_id")
    per_cycle = [a.pk for a in agents if a.test_frequency == CheckFrequency.PER_CYCLE]
    untested = _untested_cycles("agent_id", per_cycle, {k: v[0] for k, v in last.items()})
    return [
        _qc_row(agent, "solution", agent.test_frequency, last.get(agent.pk), today, untested)
        for agent in agents
    ]


def device_qc_status(today: date) -> list[QcRow]:
    devices = list(usable_devices().exclude(qc_frequency=CheckFrequency.NOT_REQUIRED))
    last = _last_by(DeviceQcLog.objects.filter(device__in=devices), "device_id")
    per_cycle = [d.pk for d in devices if d.qc_frequency == CheckFrequency.PER_CYCLE]
    untested = _untested_cycles("device_id", per_cycle, {k: v[0] for k, v in last.items()})
    return [
        _qc_row(device, "device", device.qc_frequency, last.get(device.pk), today, untested)
        for device in devices
    ]


def _last_by(rows: QuerySet[Any], key: str) -> dict[Any, tuple[datetime, str]]:
    """The newest ``(at, result)`` per ``key``, in one query."""
    latest = {row[key]: row["last"] for row in rows.values(key).annotate(last=Max("at"))}
    found: dict[Any, tuple[datetime, str]] = {}
    for owner, at, result in rows.filter(at__in=set(latest.values())).values_list(
        key, "at", "result"
    ):
        if latest.get(owner) == at:
            found[owner] = (at, result)
    return found


def _qc_row(
    subject: Any,
    kind: str,
    frequency: str,
    last: tuple[datetime, str] | None,
    today: date,
    untested: dict[Any, int],
) -> QcRow:
    last_at = last[0] if last else None
    status = rules.qc_status(
        frequency,
        last_done=timezone.localdate(last_at) if last_at else None,
        today=today,
        cycles_since_last=untested.get(subject.pk, 0),
    )
    return QcRow(
        subject=subject,
        kind=kind,
        frequency=frequency,
        last_at=last_at,
        last_result=last[1] if last else "",
        status=status,
    )


# --- the dashboard's other figures -------------------------------------------------------------


@dataclass(frozen=True)
class Turnaround:
    summary: rules.TurnaroundSummary
    waiting_now: int


def turnaround(*, since: datetime) -> Turnaround:
    """Semi-critical and critical probes: from the end of each exam to its passing cycle."""
    uses = list(
        begun_uses()
        .filter(probe__spaulding_class__in=sorted(GUARDED_CLASSES), exam__in_progress_at__gte=since)
        .values(
            "pk",
            "probe_id",
            "exam_id",
            "used_at",
            "probe__spaulding_class",
            "exam__completed_at",
            "exam__discontinued_at",
        )
    )
    probes = {row["probe_id"] for row in uses}
    cycles: dict[Any, list[rules.Cycle]] = defaultdict(list)
    for pk, probe_id, started, level in Reprocessing.objects.filter(
        probe_id__in=probes, ended_at__gte=since
    ).values_list("pk", "probe_id", "ended_at", "level"):
        cycles[probe_id].append(rules.Cycle(ref=pk, at=started, level=Level(level)))
    by_probe: dict[Any, list[rules.Use]] = defaultdict(list)
    required: dict[Any, Level] = {}
    for row in uses:
        ended = row["exam__completed_at"] or row["exam__discontinued_at"]
        by_probe[row["probe_id"]].append(
            rules.Use(ref=row["pk"], exam=row["exam_id"], at=row["used_at"], ended=ended)
        )
        required[row["probe_id"]] = REQUIRED_LEVEL[row["probe__spaulding_class"]]
    durations: list[timedelta] = []
    waiting = 0
    for probe_id, probe_uses in by_probe.items():
        found = rules.turnarounds(probe_uses, cycles[probe_id], required[probe_id])
        durations.extend(d for _, d in found)
        if rules.uses_since_clear(probe_uses, cycles[probe_id], required[probe_id]):
            waiting += 1
    return Turnaround(summary=rules.summarise(durations), waiting_now=waiting)


def probe_overrides(*, since: datetime) -> QuerySet[Override]:
    return (
        Override.objects.filter(stop=HardStop.PROBE, at__gte=since)
        .select_related("exam", "by")
        .order_by("-at")
    )


def expiring_agents(*, today: date, within_days: int = 30) -> QuerySet[DisinfectionAgent]:
    return DisinfectionAgent.objects.filter(
        discarded_at__isnull=True,
        expires_on__gte=today,
        expires_on__lte=today + timedelta(days=within_days),
    ).order_by("expires_on")


def uses_audited(
    *, user: Any, uses: Iterable[ProbeUse], action: str, source: AccessSource
) -> list[ProbeUse]:
    """Probe uses shown with their patients: each patient logged as read."""
    shown = list(uses)
    access_record(
        user=user, patients=[u.exam.order.patient for u in shown], action=action, source=source
    )
    return shown
