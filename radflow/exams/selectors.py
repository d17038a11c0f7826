"""Reads for the exam pages and API: one exam with its timeline, the override report and the
documentation audit.

Every read that shows a patient goes through ``access_record`` here, in the same transaction as
the read (see ``radflow.audit.services``). The list reads are one query for the rows plus one for
the counts, whatever the number of exams: the audit's gaps are computed in SQL (``Exists`` and
``Case``), not per row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models, transaction
from django.db.models import BooleanField, Case, Count, Exists, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from radflow.audit.services import AccessSource, access_record
from radflow.billing.models import Charge
from radflow.core.errors import NotFound
from radflow.core.exam_states import TRANSITIONS, ExamAction, ExamState, actions_from
from radflow.exams.models import Exam, ExamTransition, HardStop, Override, ReasonCode, ReasonKind
from radflow.intake.models import Consent
from radflow.localtime import local_midnight
from radflow.patients.models import Allergy, Patient

Reader = AbstractBaseUser | AnonymousUser | None

#: Actions the machine takes by itself after triage; nobody presses a button for them.
AUTOMATIC_ACTIONS = frozenset({ExamAction.REQUIRE_AUTH, ExamAction.AUTHORIZE})

#: What the exam page and the action pages need, in one query.
EXAM_RELATED = (
    "order",
    "order__patient",
    "order__exam_type",
    "order__exam_type__modality",
    "order__site",
    "order__payer",
    "room",
    "room__site",
    "technologist",
    "radiologist",
)


def _parse_uuid(value: Any) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


# --- one exam ---------------------------------------------------------------------------------


@transaction.atomic
def exam_get_audited(*, user: Reader, exam_id: Any, action: str, source: AccessSource) -> Exam:
    """The exam with its order, patient (allergies prefetched) and room; logs one access row."""
    pk = _parse_uuid(exam_id)
    exam = (
        Exam.objects.select_related(*EXAM_RELATED)
        .prefetch_related(
            models.Prefetch(
                "order__patient__allergies",
                queryset=Allergy.objects.order_by("-recorded_at", "substance"),
            )
        )
        .filter(pk=pk)
        .first()
        if pk
        else None
    )
    if exam is None:
        raise NotFound("No exam has this id.", field="exam_id")
    access_record(user=user, patients=[exam.order.patient], action=action, source=source)
    return exam


def actions_for_user(exam: Exam, user: Any) -> list[ExamAction]:
    """The actions ``user`` may take on ``exam`` now: legal from its state and in their role."""
    return [
        action
        for action in actions_from(exam.state)
        if action not in AUTOMATIC_ACTIONS and user.has_perm(TRANSITIONS[action].permission)
    ]


def reason_choices(kind: str) -> list[tuple[str, str]]:
    """The active coded reasons of one kind, as (code, label) for a select."""
    return list(
        ReasonCode.objects.filter(kind=kind, active=True)
        .order_by("label")
        .values_list("code", "label")
    )


def _reason_kind(action: str) -> str | None:
    try:
        transition = TRANSITIONS[ExamAction(action)]
    except ValueError:
        return None
    if transition.action is ExamAction.RESCHEDULE:
        return ReasonKind.RESCHEDULE.value
    return transition.reason_kind


def _local(value: Any) -> str:
    if not value:
        return "—"
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return f"{moment:%Y-%m-%d %H:%M}"


_STOP_LABELS = dict(HardStop.choices)


def _details(action: str, details: dict[str, Any]) -> list[str]:
    """The transition's details as sentences a coordinator reads on the timeline."""
    if not details:
        return []
    if action == ExamAction.RESCHEDULE:
        return [
            f"Moved from {details.get('from_room') or '—'} at {_local(details.get('from_start'))}"
            f" to {details.get('room', '—')} at {_local(details.get('start'))}"
        ]
    if action == ExamAction.SCHEDULE:
        return [
            f"Booked {details.get('room', '—')} {_local(details.get('start'))}"
            f" to {_local(details.get('end'))[-5:]}"
        ]
    if action == ExamAction.TRIAGE:
        return [
            f"Exam type {details.get('exam_type', '—')}, priority {details.get('priority', '—')}"
        ]
    if action == ExamAction.BEGIN and details.get("overridden"):
        stops = ", ".join(str(_STOP_LABELS.get(code, code)) for code in details["overridden"])
        return [f"Hard stops overridden: {stops}"]
    if action in (ExamAction.REQUIRE_AUTH, ExamAction.AUTHORIZE):
        if not details.get("auth_required"):
            return ["No pre-authorization needed"]
        codes = ", ".join(str(code) for code in details.get("auth_codes", []))
        return [f"Pre-authorization needed for {codes}"]
    return [f"{key.replace('_', ' ')}: {value}" for key, value in sorted(details.items())]


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    action: str
    action_label: str
    from_state: str
    from_label: str
    to_state: str
    to_label: str
    actor: str
    reason_code: str
    reason_label: str
    reason: str
    details: list[str]


def exam_timeline(exam: Exam) -> list[TimelineEntry]:
    """Every transition of ``exam`` in order, with coded reasons spelled out (two queries)."""
    transitions = list(
        ExamTransition.objects.filter(exam=exam).select_related("by").order_by("at", "id")
    )
    labels = {
        (kind, code): label
        for kind, code, label in ReasonCode.objects.values_list("kind", "code", "label")
    }
    entries = []
    for row in transitions:
        kind = _reason_kind(row.action)
        entries.append(
            TimelineEntry(
                at=row.at,
                action=row.action,
                action_label=row.get_action_display().capitalize(),
                from_state=row.from_state,
                from_label=ExamState(row.from_state).label,
                to_state=row.to_state,
                to_label=ExamState(row.to_state).label,
                actor=row.by.get_username() if row.by is not None else row.actor,
                reason_code=row.reason_code,
                reason_label=labels.get((kind or "", row.reason_code), row.reason_code),
                reason=row.reason,
                details=_details(row.action, row.details or {}),
            )
        )
    return entries


def exam_overrides(exam: Exam) -> QuerySet[Override]:
    return Override.objects.filter(exam=exam).select_related("by").order_by("at", "id")


def exam_charges(exam: Exam) -> QuerySet[Charge]:
    return (
        Charge.objects.filter(exam=exam)
        .select_related("procedure_code", "payer")
        .order_by("posted_at", "id")
    )


# --- the override report ----------------------------------------------------------------------


def override_search(
    *,
    since: date | None = None,
    until: date | None = None,
    stop: str = "",
    user_id: int | None = None,
) -> QuerySet[Override]:
    """Overrides, newest first, in a date range (department days, ``until`` inclusive)."""
    rows = Override.objects.select_related("exam", "exam__order__patient", "by")
    if since:
        rows = rows.filter(at__gte=local_midnight(since))
    if until:
        rows = rows.filter(at__lt=local_midnight(until + timedelta(days=1)))
    if stop:
        rows = rows.filter(stop=stop)
    if user_id:
        rows = rows.filter(by_id=user_id)
    return rows.order_by("-at", "-id")


@dataclass(frozen=True)
class OverrideCounts:
    total: int
    by_stop: list[tuple[str, int]]
    by_user: list[tuple[str, int]]


def override_counts(rows: QuerySet[Override]) -> OverrideCounts:
    """How many overrides per hard stop and per person, for the top of the report (2 queries)."""
    by_stop = [
        (str(_STOP_LABELS.get(row["stop"], row["stop"])), int(row["n"]))
        for row in rows.order_by().values("stop").annotate(n=Count("id")).order_by("-n", "stop")
    ]
    by_user = [
        (str(row["by__username"]), int(row["n"]))
        for row in rows.order_by()
        .values("by__username")
        .annotate(n=Count("id"))
        .order_by("-n", "by__username")
    ]
    return OverrideCounts(total=sum(n for _, n in by_stop), by_stop=by_stop, by_user=by_user)


@transaction.atomic
def overrides_audited(
    *, user: Reader, source: AccessSource, rows: Sequence[Override], action: str
) -> list[Override]:
    """The overrides shown on a page or in an export; logs each patient they name."""
    shown = list(rows)
    patients = [o.exam.order.patient for o in shown]
    access_record(user=user, patients=patients, action=action, source=source)
    return shown


# --- the documentation audit -------------------------------------------------------------------


class Gap(models.TextChoices):
    """A required element missing from a performed exam's record."""

    REPORT = "report", "Report"
    SIGNATURE = "signature", "Signature"
    IMAGES = "images", "Images"
    CHARGE = "charge", "Charge"
    CONSENT = "consent", "Consent"


#: Who fixes each gap.
GAP_OWNER_ROLE = {
    Gap.REPORT: "radiologist",
    Gap.SIGNATURE: "radiologist",
    Gap.IMAGES: "technologist",
    Gap.CONSENT: "technologist",
    Gap.CHARGE: "billing",
}

#: Performed exams: the ones whose record must be complete.
PERFORMED_STATES = (
    ExamState.COMPLETED,
    ExamState.REPORTED,
    ExamState.SIGNED,
    ExamState.BILLED,
)


@dataclass(frozen=True)
class AuditRules:
    """How long each step may take before its absence is a gap (the department's defaults)."""

    report_hours: int = 24
    sign_hours: int = 24
    bill_days: int = 3


DEFAULT_RULES = AuditRules()


def _gap_conditions(now: datetime, rules: AuditRules) -> dict[Gap, Q]:
    """Each gap as a condition on an exam annotated with ``has_charge`` and ``has_consent``."""
    return {
        Gap.REPORT: Q(
            state=ExamState.COMPLETED,
            completed_at__lt=now - timedelta(hours=rules.report_hours),
        ),
        Gap.SIGNATURE: Q(
            state=ExamState.REPORTED,
            reported_at__lt=now - timedelta(hours=rules.sign_hours),
        ),
        Gap.IMAGES: Q(images_count=0),
        Gap.CHARGE: Q(state=ExamState.BILLED, has_charge=False)
        | Q(state=ExamState.SIGNED, signed_at__lt=now - timedelta(days=rules.bill_days)),
        Gap.CONSENT: Q(order__exam_type__consent_required=True, has_consent=False),
    }


def _flag(condition: Q) -> Case:
    return Case(
        When(condition, then=Value(True)), default=Value(False), output_field=BooleanField()
    )


def performed_exams(
    *,
    since: date | None = None,
    until: date | None = None,
    site: Any = None,
    modality: Any = None,
) -> QuerySet[Exam]:
    """Exams performed (begun, not discontinued or cancelled) between two department days."""
    exams = Exam.objects.filter(in_progress_at__isnull=False, state__in=PERFORMED_STATES)
    if since:
        exams = exams.filter(in_progress_at__gte=local_midnight(since))
    if until:
        exams = exams.filter(in_progress_at__lt=local_midnight(until + timedelta(days=1)))
    if site:
        # The room's site when booked; the order's site for an exam never given a room.
        exams = exams.filter(Q(room__site=site) | Q(room__isnull=True, order__site=site))
    if modality:
        exams = exams.filter(order__exam_type__modality=modality)
    return exams.annotate(
        has_charge=Exists(Charge.objects.filter(exam=OuterRef("pk"))),
        has_consent=Exists(Consent.objects.filter(exam=OuterRef("pk"))),
    )


def documentation_gaps(
    exams: QuerySet[Exam],
    *,
    gap: str = "",
    now: datetime | None = None,
    rules: AuditRules = DEFAULT_RULES,
) -> QuerySet[Exam]:
    """Of ``performed_exams``, those missing something (or ``gap`` only), oldest first.

    Each exam carries ``gap_<name>`` booleans, so the rows need no further query.
    """
    conditions = _gap_conditions(now or timezone.now(), rules)
    any_gap = Q()
    for condition in conditions.values():
        any_gap |= condition
    rows = exams.annotate(**{f"gap_{g.value}": _flag(c) for g, c in conditions.items()})
    rows = rows.filter(conditions[Gap(gap)] if gap else any_gap)
    return rows.select_related(
        "order__patient",
        "order__exam_type__modality",
        "order__site",
        "room__site",
        "technologist",
        "radiologist",
    ).order_by("in_progress_at", "accession_number")


@dataclass(frozen=True)
class GapCounts:
    by_gap: list[tuple[str, str, int]]  # (code, label, count)
    images_unknown: int


def documentation_gap_counts(
    exams: QuerySet[Exam], *, now: datetime | None = None, rules: AuditRules = DEFAULT_RULES
) -> GapCounts:
    """How many performed exams miss each element, in one query."""
    conditions = _gap_conditions(now or timezone.now(), rules)
    totals = exams.order_by().aggregate(
        images_unknown=Count("pk", filter=Q(images_count__isnull=True)),
        **{g.value: Count("pk", filter=c) for g, c in conditions.items()},
    )
    return GapCounts(
        by_gap=[(g.value, str(g.label), int(totals[g.value] or 0)) for g in conditions],
        images_unknown=int(totals["images_unknown"] or 0),
    )


@dataclass(frozen=True)
class GapRow:
    exam: Exam
    patient: Patient
    performed_at: datetime
    site: str
    gaps: list[tuple[str, str, str]] = field(default_factory=list)  # (code, label, owner)
    age_days: int = 0
    images_unknown: bool = False

    @property
    def missing_text(self) -> str:
        return ", ".join(label for _, label, _ in self.gaps)

    @property
    def owner_text(self) -> str:
        owners: list[str] = []
        for _, _, owner in self.gaps:
            if owner not in owners:
                owners.append(owner)
        return "; ".join(owners)


def _owner(gap: Gap, exam: Exam) -> str:
    role = GAP_OWNER_ROLE[gap]
    if role == "radiologist":
        return f"Radiologist {exam.radiologist}" if exam.radiologist else "Radiologist (unassigned)"
    if role == "technologist":
        if exam.technologist:
            return f"Technologist {exam.technologist}"
        return "Technologist (unassigned)"
    return "Billing"


def gap_rows(exams: Iterable[Exam], *, now: datetime | None = None) -> list[GapRow]:
    """Rows for the page and the export from ``documentation_gaps`` (no queries of its own)."""
    now = now or timezone.now()
    rows = []
    for exam in exams:
        gaps = [(g.value, str(g.label), _owner(g, exam)) for g in Gap if getattr(exam, f"gap_{g}")]
        performed = exam.in_progress_at or exam.state_changed_at
        site = exam.room.site if exam.room else exam.order.site
        rows.append(
            GapRow(
                exam=exam,
                patient=exam.order.patient,
                performed_at=performed,
                site=site.name if site else "",
                gaps=gaps,
                age_days=max(0, (now - performed).days),
                images_unknown=exam.images_count is None,
            )
        )
    return rows


@transaction.atomic
def gap_rows_audited(
    *, user: Reader, source: AccessSource, rows: list[GapRow], action: str
) -> list[GapRow]:
    """Logs each patient the audit shows (page or export)."""
    access_record(user=user, patients=[row.patient for row in rows], action=action, source=source)
    return rows


# --- the worklist (API) ---------------------------------------------------------------------


def exam_worklist(*, state: str = "", day: date | None = None) -> QuerySet[Exam]:
    """Exams in a state and/or booked on a department day, in the order they will happen."""
    exams = Exam.objects.select_related("order__patient", "order__exam_type", "room")
    if state:
        exams = exams.filter(state=state)
    if day:
        exams = exams.filter(
            scheduled_start__gte=local_midnight(day),
            scheduled_start__lt=local_midnight(day + timedelta(days=1)),
        )
    return exams.order_by(
        models.F("scheduled_start").asc(nulls_last=True), "requested_at", "accession_number"
    )


def transitions_for_exams(exams: Sequence[Exam]) -> dict[Any, list[ExamTransition]]:
    """Transitions of several exams in one query, grouped by exam id."""
    grouped: dict[Any, list[ExamTransition]] = {exam.pk: [] for exam in exams}
    for row in (
        ExamTransition.objects.filter(exam__in=[e.pk for e in exams])
        .select_related("by")
        .order_by("at", "id")
    ):
        grouped[row.exam_id].append(row)
    return grouped
