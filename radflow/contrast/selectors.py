"""Reads for contrast: what an exam type asks, what a patient has on file, the dashboard.

``exam_contrast_problems`` is the intake hook (``intake.selectors.intake_facts``); the rule it
applies is ``radflow.contrast.rules``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from radflow.catalog.models import ExamType
from radflow.contrast import rules
from radflow.contrast.models import (
    AdverseEvent,
    ContrastAdministration,
    ContrastAgent,
    ContrastRequirement,
    EgfrResult,
    Premedication,
    ReactionKind,
)
from radflow.contrast.rules import AgentClass, Grade
from radflow.exams.models import Exam, HardStop, Override
from radflow.patients.models import Allergy, AllergyCategory, Patient

#: The agent class an exam type takes when nothing is saved for it, by modality; others iodinated.
DEFAULT_CLASS_BY_MODALITY: dict[str, AgentClass] = {
    "MR": AgentClass.GADOLINIUM,
    "US": AgentClass.ULTRASOUND,
}


def default_requirement(modality: str) -> rules.Requirement:
    """The department default before anyone saves settings for an exam type.

    Renal screening uses intake's long-standing numbers (ACR: 30 mL/min/1.73 m², 30 days).
    Ultrasound enhancing agents are not nephrotoxic, so they need no eGFR; every class screens
    for prior reactions.
    """
    from radflow.intake.services import EGFR_CONTRAST_MIN, EGFR_MAX_AGE_DAYS

    agent_class = DEFAULT_CLASS_BY_MODALITY.get(modality, AgentClass.IODINATED)
    return rules.Requirement(
        agent_class=agent_class,
        egfr_required=agent_class is not AgentClass.ULTRASOUND,
        egfr_window_days=EGFR_MAX_AGE_DAYS,
        egfr_minimum=Decimal(EGFR_CONTRAST_MIN),
        reaction_screening=True,
    )


def _as_rule(saved: ContrastRequirement) -> rules.Requirement | None:
    if not saved.gives_contrast:
        return None
    return rules.Requirement(
        agent_class=AgentClass(saved.agent_class),
        egfr_required=saved.egfr_required,
        egfr_window_days=saved.egfr_window_days,
        egfr_minimum=saved.egfr_minimum,
        reaction_screening=saved.reaction_screening,
    )


def requirement_for(exam_type: ExamType) -> rules.Requirement | None:
    """What ``exam_type`` asks before contrast (None: it takes none)."""
    saved = ContrastRequirement.objects.filter(exam_type_id=exam_type.pk).first()
    if saved is not None:
        return _as_rule(saved)
    if exam_type.contrast:
        return default_requirement(exam_type.modality_id)
    return None


@dataclass(frozen=True)
class RequirementRow:
    exam_type: ExamType
    rule: rules.Requirement | None
    saved: ContrastRequirement | None


def requirements_table() -> list[RequirementRow]:
    """Every exam type that takes contrast or has saved settings, in catalog order."""
    saved = {r.exam_type_id: r for r in ContrastRequirement.objects.select_related("updated_by")}
    types = ExamType.objects.filter(Q(contrast=True) | Q(pk__in=list(saved))).select_related(
        "modality"
    )
    rows = []
    for exam_type in types.order_by("modality", "name"):
        row_saved = saved.get(exam_type.pk)
        rule = (
            _as_rule(row_saved)
            if row_saved is not None
            else default_requirement(exam_type.modality_id)
        )
        rows.append(RequirementRow(exam_type=exam_type, rule=rule, saved=row_saved))
    return rows


# --- one patient --------------------------------------------------------------------------------


def latest_egfr(patient: Patient, *, on: date) -> EgfrResult | None:
    """The patient's most recent eGFR dated on or before ``on``."""
    return (
        EgfrResult.objects.filter(patient=patient, measured_on__lte=on)
        .order_by("-measured_on", "-recorded_at")
        .first()
    )


def egfr_history(patient: Patient, *, limit: int = 10) -> list[EgfrResult]:
    return list(
        EgfrResult.objects.filter(patient=patient)
        .select_related("recorded_by")
        .order_by("-measured_on", "-recorded_at")[:limit]
    )


def _day_end(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=timezone.get_current_timezone())


def prior_reactions(
    patient: Patient, *, on: date | None = None, exclude_exam: Exam | None = None
) -> list[rules.PriorReaction]:
    """Allergic-like reactions recorded here, then the contrast allergies on the patient's list
    that no recorded reaction accounts for (from the EHR, or typed at registration).

    With ``on``, only what was known by the end of that day; ``exclude_exam``'s own doses are
    not "prior" to it.
    """
    events = (
        AdverseEvent.objects.filter(
            administration__exam__order__patient=patient, kind=ReactionKind.ALLERGIC_LIKE
        )
        .select_related("administration__agent")
        .order_by("-onset_at")
    )
    linked = set(
        AdverseEvent.objects.filter(
            administration__exam__order__patient=patient, allergy__isnull=False
        ).values_list("allergy_id", flat=True)
    )
    allergies = Allergy.objects.filter(patient=patient, category=AllergyCategory.CONTRAST)
    if on is not None:
        events = events.filter(onset_at__lt=_day_end(on))
        allergies = allergies.filter(recorded_at__lt=_day_end(on))
    if exclude_exam is not None:
        events = events.exclude(administration__exam=exclude_exam)
    found: list[rules.PriorReaction] = []
    for event in events:
        agent = event.administration.agent
        found.append(
            rules.PriorReaction(
                agent_class=AgentClass(agent.agent_class),
                grade=Grade(event.grade),
                what=(
                    f"{event.grade} reaction to {agent.name} on "
                    f"{timezone.localtime(event.onset_at):%Y-%m-%d}"
                ),
            )
        )
    for allergy in allergies.exclude(pk__in=linked).order_by("-recorded_at"):
        found.append(
            rules.PriorReaction(
                agent_class=rules.agent_class_of(allergy.substance),
                grade=Grade(allergy.severity),
                what=f"{allergy.severity} allergy to {allergy.substance} on the patient's list",
            )
        )
    return found


# --- one exam ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContrastScreen:
    """Everything the contrast checks looked at for one exam, and what is still unmet."""

    requirement: rules.Requirement | None
    egfr: EgfrResult | None
    reactions: list[rules.PriorReaction]
    premedications: list[Premedication]
    problems: tuple[str, ...]
    override: Override | None

    @property
    def applies(self) -> bool:
        return self.requirement is not None

    @property
    def cleared(self) -> bool:
        """Contrast may be given: nothing unmet, or a radiologist overrode the stop."""
        return not self.problems or self.override is not None


def exam_screen(exam: Exam, *, on: date) -> ContrastScreen:
    """The contrast screen of ``exam`` for day ``on`` (a handful of queries, none when the exam
    type takes no contrast beyond the one that says so)."""
    requirement = requirement_for(exam.order.exam_type)
    if requirement is None:
        return ContrastScreen(None, None, [], [], (), None)
    patient = exam.order.patient
    egfr = latest_egfr(patient, on=on)
    reactions = (
        rules.relevant_reactions(requirement, prior_reactions(patient, on=on, exclude_exam=exam))
        if requirement.reaction_screening
        else []
    )
    premedications = list(
        Premedication.objects.filter(exam=exam)
        .prefetch_related("doses")
        .select_related("recorded_by")
    )
    problems = rules.screening_problems(
        requirement,
        today=on,
        egfr=rules.Egfr(egfr.value, egfr.measured_on) if egfr is not None else None,
        reactions=reactions,
        premedicated=any(p.doses.all() for p in premedications),
    )
    override = (
        Override.objects.filter(exam=exam, stop=HardStop.CONTRAST).order_by("-at").first()
        if problems
        else None
    )
    return ContrastScreen(requirement, egfr, reactions, premedications, problems, override)


def exam_contrast_problems(exam: Exam, *, on: date) -> tuple[str, ...]:
    """Why the contrast the exam type takes may not be given yet (the intake hard stop)."""
    return exam_screen(exam, on=on).problems


def contrast_applies(exam_type: ExamType) -> bool:
    return requirement_for(exam_type) is not None


def exam_administrations(exam: Exam) -> list[ContrastAdministration]:
    return list(
        ContrastAdministration.objects.filter(exam=exam)
        .select_related("agent", "lot", "given_by")
        .prefetch_related("adverse_events")
        .order_by("given_at")
    )


# --- lists -------------------------------------------------------------------------------------


def agents(*, active_only: bool = False) -> QuerySet[ContrastAgent]:
    found = ContrastAgent.objects.select_related("supply_item")
    return found.filter(active=True) if active_only else found


def administrations(
    *, agent_id: Any = None, month: date | None = None
) -> QuerySet[ContrastAdministration]:
    found = ContrastAdministration.objects.select_related(
        "agent", "lot", "given_by", "exam", "exam__order__patient", "exam__order__exam_type"
    ).annotate(events=Count("adverse_events"))
    if agent_id is not None:
        found = found.filter(agent_id=agent_id)
    if month is not None:
        start = _month_start(month)
        found = found.filter(given_at__gte=start, given_at__lt=_month_start(_next_month(month)))
    return found.order_by("-given_at")


def adverse_events(*, grade: str = "") -> QuerySet[AdverseEvent]:
    found = AdverseEvent.objects.select_related(
        "administration__agent",
        "administration__exam__order__patient",
        "administration__exam__order__exam_type",
        "recorded_by",
    )
    if grade:
        found = found.filter(grade=grade)
    return found.order_by("-onset_at")


# --- the dashboard -----------------------------------------------------------------------------


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _month_start(day: date) -> datetime:
    """Midnight on the first of ``day``'s month in the department's zone."""
    zone = timezone.get_current_timezone()
    return datetime.combine(date(day.year, day.month, 1), time(), tzinfo=zone)


@dataclass(frozen=True)
class AgentMonth:
    agent: str
    doses: list[int]  # one per month of ``Dashboard.months``
    total: int


@dataclass(frozen=True)
class RateRow:
    label: str
    doses: int
    reactions: int
    moderate_or_severe: int
    rate: Decimal | None  # reactions per 1,000 doses


@dataclass(frozen=True)
class Dashboard:
    on: date
    months: list[date]
    by_agent: list[AgentMonth]
    month_totals: list[int]
    rates: list[RateRow]
    overall: RateRow
    expiring: list[Any]  # radflow.supplies.selectors.ExpiringLot of contrast items
    recent_events: int


def dashboard(*, on: date, months: int = 12, expiring_within_days: int = 60) -> Dashboard:
    """Doses per agent and month, reactions per 1,000 doses, contrast lots about to expire."""
    from radflow.supplies.models import ItemCategory
    from radflow.supplies.selectors import expiring_lots

    first = date(on.year, on.month, 1)
    for _ in range(months - 1):
        first = date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)
    month_list = [first]
    while len(month_list) < months:
        month_list.append(_next_month(month_list[-1]))
    since = _month_start(first)
    until = _month_start(_next_month(on))
    window = ContrastAdministration.objects.filter(given_at__gte=since, given_at__lt=until)
    counts: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    rows = (
        window.annotate(month=TruncMonth("given_at"))
        .values("agent__name", "month")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        month = row["month"]
        key = month.date() if hasattr(month, "date") else month
        counts[row["agent__name"]][date(key.year, key.month, 1)] += row["n"]
    by_agent = sorted(
        (
            AgentMonth(
                agent=name,
                doses=[per_month.get(m, 0) for m in month_list],
                total=sum(per_month.values()),
            )
            for name, per_month in counts.items()
        ),
        key=lambda a: (-a.total, a.agent),
    )
    month_totals = [sum(a.doses[i] for a in by_agent) for i in range(len(month_list))]

    dose_by_class = dict(
        window.values_list("agent__agent_class").annotate(n=Count("id")).order_by()
    )
    events = AdverseEvent.objects.filter(
        administration__given_at__gte=since, administration__given_at__lt=until
    )
    reacted = {
        row["administration__agent__agent_class"]: row
        for row in events.values("administration__agent__agent_class")
        .annotate(
            n=Count("administration", distinct=True),
            serious=Count(
                "administration",
                distinct=True,
                filter=Q(grade__in=[Grade.MODERATE, Grade.SEVERE]),
            ),
        )
        .order_by()
    }

    def rate_row(label: str, doses: int, reactions: int, serious: int) -> RateRow:
        return RateRow(label, doses, reactions, serious, rules.rate_per_thousand(reactions, doses))

    rates = []
    for agent_class in AgentClass:
        doses = dose_by_class.get(agent_class.value, 0)
        hit = reacted.get(agent_class.value, {})
        if doses or hit:
            rates.append(rate_row(agent_class.label, doses, hit.get("n", 0), hit.get("serious", 0)))
    overall = rate_row(
        "All contrast",
        sum(r.doses for r in rates),
        sum(r.reactions for r in rates),
        sum(r.moderate_or_severe for r in rates),
    )
    expiring = [
        row
        for row in expiring_lots(within_days=expiring_within_days, on=on)
        if row.lot.item.category == ItemCategory.CONTRAST
    ]
    recent = AdverseEvent.objects.filter(onset_at__gte=timezone.now() - timedelta(days=30)).count()
    return Dashboard(
        on=on,
        months=month_list,
        by_agent=by_agent,
        month_totals=month_totals,
        rates=rates,
        overall=overall,
        expiring=expiring,
        recent_events=recent,
    )


def doses_issued(agent: ContrastAgent) -> Decimal:
    """Everything recorded for an agent, in its dose unit (the agents page)."""
    total = agent.administrations.aggregate(total=Sum("dose"))["total"]
    return Decimal(total or 0)
