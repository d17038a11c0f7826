"""Reads: who may perform what on which day, what expires when, CE shortfalls, the dashboard.

Every function here answers for many people in a fixed number of queries (no per-person query):
scheduling, intake, the roster solver and the dashboard call them with whole lists of staff.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from radflow.catalog.models import ExamType
from radflow.credentials.models import (
    CECredit,
    CompetencySignoff,
    Credential,
    CredentialRequirement,
    CredentialType,
    CrossTrainingPlan,
    PlanStatus,
)
from radflow.credentials.rules import (
    CECycle,
    Eligibility,
    HeldCompetency,
    HeldCredential,
    Requirement,
    ce_cycle,
    evaluate,
)
from radflow.db import get_or_not_found
from radflow.staff.models import StaffMember

__all__ = [
    "Eligibility",
    "ce_status",
    "dashboard",
    "eligible_staff",
    "expiring",
    "may_perform",
    "staff_skills",
    "staff_warnings",
]

#: Dashboard bands: (label, the most days left that still falls in the band).
BANDS: tuple[tuple[str, int], ...] = (("≤ 30 days", 30), ("≤ 60 days", 60), ("≤ 90 days", 90))
WARN_DAYS = 30


@dataclass(frozen=True)
class _Req:
    modality_id: str | None
    competency_id: str | None
    requirement: Requirement


def _requirements() -> list[_Req]:
    rows = CredentialRequirement.objects.prefetch_related("credential_types").order_by("code")
    result = []
    for row in rows:
        types = sorted(row.credential_types.all(), key=lambda t: t.name)
        result.append(
            _Req(
                row.modality_id,
                row.competency_id,
                Requirement(
                    label=row.label,
                    type_codes=frozenset(t.code for t in types),
                    type_names=tuple(t.name for t in types),
                ),
            )
        )
    return result


def _applicable(reqs: list[_Req], modality: str, competencies: set[str]) -> list[Requirement]:
    return [
        r.requirement
        for r in reqs
        if (r.modality_id is None or r.modality_id == modality)
        and (r.competency_id is None or r.competency_id in competencies)
    ]


def _held_credentials(staff_ids: Iterable[UUID]) -> dict[UUID, list[HeldCredential]]:
    held: dict[UUID, list[HeldCredential]] = defaultdict(list)
    rows = Credential.objects.filter(staff_id__in=list(staff_ids)).values_list(
        "staff_id",
        "credential_type_id",
        "credential_type__name",
        "issued_on",
        "expires_on",
        "verified_at",
    )
    for staff_id, code, name, issued, expires, verified_at in rows:
        held[staff_id].append(HeldCredential(code, name, issued, expires, verified_at is not None))
    return held


def _held_competencies(
    staff_ids: Iterable[UUID], codes: Iterable[str] | None = None
) -> dict[UUID, dict[str, HeldCompetency]]:
    rows = CompetencySignoff.objects.filter(staff_id__in=list(staff_ids))
    if codes is not None:
        rows = rows.filter(competency_id__in=list(codes))
    held: dict[UUID, dict[str, HeldCompetency]] = defaultdict(dict)
    for staff_id, code, name, signed, until in rows.values_list(
        "staff_id", "competency_id", "competency__name", "signed_off_on", "valid_until"
    ):
        held[staff_id][code] = HeldCompetency(code, name, signed, until)
    return held


def _evaluate_many(
    staff: list[StaffMember], exam_type: ExamType, on: date
) -> dict[UUID, Eligibility]:
    competencies = sorted(
        exam_type.required_competencies.all().values_list("code", "name"), key=lambda c: c[1]
    )
    required = _applicable(_requirements(), exam_type.modality_id, {c for c, _ in competencies})
    ids = [s.pk for s in staff]
    credentials = _held_credentials(ids) if required else {}
    signoffs = _held_competencies(ids, [c for c, _ in competencies]) if competencies else {}
    return {
        s.pk: evaluate(
            on=on,
            active=s.active,
            requirements=required,
            credentials=credentials.get(s.pk, []),
            competencies=competencies,
            signoffs=signoffs.get(s.pk, {}),
        )
        for s in staff
    }


def may_perform(*, staff: StaffMember, exam_type: ExamType, on: date) -> Eligibility:
    """May ``staff`` perform ``exam_type`` on ``on``: credentials current and verified for the
    exam's modality and competencies, and every required competency signed off and current."""
    return _evaluate_many([staff], exam_type, on)[staff.pk]


def eligible_staff(*, exam_type: ExamType, on: date) -> list[StaffMember]:
    """Active staff who may perform ``exam_type`` on ``on`` (scheduling's candidate list)."""
    staff = list(
        StaffMember.objects.filter(active=True)
        .select_related("home_site")
        .order_by("family_name", "given_name", "employee_number")
    )
    verdicts = _evaluate_many(staff, exam_type, on)
    return [s for s in staff if verdicts[s.pk].ok]


def staff_skills(*, staff_ids: Iterable[UUID], on: date) -> dict[UUID, frozenset[str]]:
    """Per person, the modality codes they are credentialed for on ``on`` plus the competency
    codes current on ``on``: the roster solver's skills. Five queries for any number of people.

    A modality counts when every requirement of the modality alone is met or, for a modality
    without requirements, when a current credential qualifies for it.
    """
    ids = list(staff_ids)
    by_modality: dict[str, list[Requirement]] = defaultdict(list)
    for r in _requirements():
        if r.modality_id is not None and r.competency_id is None:
            by_modality[r.modality_id].append(r.requirement)
    qualifies: dict[str, set[str]] = defaultdict(set)
    for type_code, modality in CredentialType.modalities.through.objects.values_list(
        "credentialtype_id", "modality_id"
    ):
        qualifies[type_code].add(modality)
    credentials = _held_credentials(ids)
    current = (
        CompetencySignoff.objects.filter(
            staff_id__in=ids, signed_off_on__lte=on, valid_until__gte=on
        )
        .values_list("staff_id", "competency_id")
        .order_by()
    )
    skills: dict[UUID, set[str]] = {pk: set() for pk in ids}
    for staff_id, code in current:
        skills[staff_id].add(code)
    for staff_id in ids:
        held = credentials.get(staff_id, [])
        modalities = {m for c in held if c.current_on(on) for m in qualifies[c.type_code]}
        modalities |= set(by_modality)
        for modality in modalities:
            reqs = by_modality.get(modality)
            if reqs is None:
                skills[staff_id].add(modality)
            elif not held:
                continue
            elif all(
                any(c.current_on(on) and c.type_code in r.type_codes for c in held) for r in reqs
            ):
                skills[staff_id].add(modality)
    return {pk: frozenset(values) for pk, values in skills.items()}


def _latest(credentials: Iterable[Credential]) -> list[Credential]:
    """Per person and type, only the credential that expires last (a renewal supersedes)."""
    best: dict[tuple[UUID, str], Credential] = {}
    for credential in credentials:
        key = (credential.staff_id, credential.credential_type_id)
        seen = best.get(key)
        if seen is None or _expiry_key(credential) > _expiry_key(seen):
            best[key] = credential
    return list(best.values())


def _expiry_key(credential: Credential) -> date:
    return credential.expires_on or date.max


def staff_warnings(*, staff_ids: Iterable[UUID], on: date) -> dict[UUID, list[str]]:
    """What the roster board warns about per person: credentials expired or expiring within 30
    days (renewals supersede), competencies lapsed or due within 30 days. Two queries."""
    ids = list(staff_ids)
    warnings: dict[UUID, list[str]] = {pk: [] for pk in ids}
    credentials = _latest(
        Credential.objects.filter(staff_id__in=ids, expires_on__isnull=False).select_related(
            "credential_type"
        )
    )
    for c in sorted(credentials, key=lambda c: (_expiry_key(c), c.credential_type.name)):
        if c.expires_on is None:
            continue
        days = (c.expires_on - on).days
        if days < 0:
            warnings[c.staff_id].append(f"{c.credential_type.name} expired on {c.expires_on}")
        elif days <= WARN_DAYS:
            when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
            warnings[c.staff_id].append(
                f"{c.credential_type.name} expires on {c.expires_on} ({when})"
            )
    signoffs = (
        CompetencySignoff.objects.filter(
            staff_id__in=ids, valid_until__lte=on + timedelta(days=WARN_DAYS)
        )
        .select_related("competency")
        .order_by("valid_until")
    )
    for s in signoffs:
        if s.valid_until < on:
            warnings[s.staff_id].append(
                f"{s.competency.name} competency lapsed {s.valid_until + timedelta(days=1)}"
            )
        else:
            warnings[s.staff_id].append(
                f"{s.competency.name} competency due for revalidation by {s.valid_until}"
            )
    return warnings


@dataclass(frozen=True)
class ExpiringCredential:
    credential: Credential
    days_left: int

    @property
    def band(self) -> str:
        if self.days_left < 0:
            return "Expired"
        for label, limit in BANDS:
            if self.days_left <= limit:
                return label
        return f"> {BANDS[-1][1]} days"


def expiring(*, within_days: int, on: date) -> list[ExpiringCredential]:
    """Active staff's credentials expired or expiring within ``within_days``, soonest first.

    Superseded credentials (a renewal of the same type expires later) are left out.
    """
    limit = on + timedelta(days=within_days)
    candidates = Credential.objects.filter(
        staff__active=True, expires_on__isnull=False, expires_on__lte=limit
    ).select_related("credential_type", "staff")
    keys = {(c.staff_id, c.credential_type_id) for c in candidates}
    later = set(
        Credential.objects.filter(
            staff_id__in={k[0] for k in keys},
            credential_type_id__in={k[1] for k in keys},
        )
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gt=limit))
        .values_list("staff_id", "credential_type_id")
    )
    rows = [
        ExpiringCredential(c, (c.expires_on - on).days)  # type: ignore[operator]
        for c in _latest(candidates)
        if (c.staff_id, c.credential_type_id) not in later
    ]
    return sorted(
        rows,
        key=lambda r: (
            r.days_left,
            r.credential.staff.family_name,
            r.credential.credential_type.name,
        ),
    )


@dataclass(frozen=True)
class CEStatus:
    credential: Credential
    cycle: CECycle


def ce_status(staff: StaffMember, *, on: date | None = None) -> list[CEStatus]:
    """Per credential with a CE requirement, the current cycle's credits and the shortfall."""
    on = on or timezone.localdate()
    credentials = _latest(
        Credential.objects.filter(staff=staff, credential_type__ce_credits_required__gt=0)
        .filter(credential_type__ce_cycle_years__gt=0, issued_on__lte=on)
        .select_related("credential_type")
    )
    credits = list(CECredit.objects.filter(staff=staff).values_list("completed_on", "credits"))
    return [
        CEStatus(
            c,
            ce_cycle(
                issued_on=c.issued_on,
                cycle_years=c.credential_type.ce_cycle_years or 1,
                required=c.credential_type.ce_credits_required or Decimal(0),
                credits=credits,
                on=on,
            ),
        )
        for c in sorted(credentials, key=lambda c: c.credential_type.name)
    ]


def ce_shortfalls(*, staff_ids: Iterable[UUID], on: date) -> dict[UUID, Decimal]:
    """The largest CE shortfall per person (0 when every cycle is covered). Two queries."""
    ids = list(staff_ids)
    credits: dict[UUID, list[tuple[date, Decimal]]] = defaultdict(list)
    for staff_id, day, amount in CECredit.objects.filter(staff_id__in=ids).values_list(
        "staff_id", "completed_on", "credits"
    ):
        credits[staff_id].append((day, amount))
    worst: dict[UUID, Decimal] = {pk: Decimal(0) for pk in ids}
    credentials = _latest(
        Credential.objects.filter(
            staff_id__in=ids,
            credential_type__ce_credits_required__gt=0,
            credential_type__ce_cycle_years__gt=0,
            issued_on__lte=on,
        ).select_related("credential_type")
    )
    for c in credentials:
        cycle = ce_cycle(
            issued_on=c.issued_on,
            cycle_years=c.credential_type.ce_cycle_years or 1,
            required=c.credential_type.ce_credits_required or Decimal(0),
            credits=credits[c.staff_id],
            on=on,
        )
        worst[c.staff_id] = max(worst[c.staff_id], cycle.shortfall)
    return worst


def plans_with_progress() -> QuerySet[CrossTrainingPlan]:
    return CrossTrainingPlan.objects.select_related("staff", "target", "mentor").annotate(
        cases_done=Count("cases")
    )


@dataclass
class Dashboard:
    on: date
    bands: dict[str, list[ExpiringCredential]] = field(default_factory=dict)
    lapsed: list[CompetencySignoff] = field(default_factory=list)
    due_soon: list[CompetencySignoff] = field(default_factory=list)
    plans: list[Any] = field(default_factory=list)
    unverified: list[Credential] = field(default_factory=list)

    @property
    def expired_count(self) -> int:
        return len(self.bands.get("Expired", []))


def dashboard(*, on: date) -> Dashboard:
    """What expires when, lapsed competencies and cross-training plans: a handful of queries."""
    board = Dashboard(on=on)
    board.bands = {"Expired": [], **{label: [] for label, _ in BANDS}}
    for row in expiring(within_days=BANDS[-1][1], on=on):
        board.bands[row.band].append(row)
    signoffs = (
        CompetencySignoff.objects.filter(
            staff__active=True, valid_until__lte=on + timedelta(days=WARN_DAYS)
        )
        .select_related("staff", "competency")
        .order_by("valid_until", "staff__family_name")
    )
    for s in signoffs:
        (board.lapsed if s.valid_until < on else board.due_soon).append(s)
    board.plans = list(
        plans_with_progress()
        .filter(status=PlanStatus.ACTIVE)
        .order_by("due_on", "staff__family_name")
    )
    board.unverified = list(
        Credential.objects.filter(staff__active=True, verified_at__isnull=True)
        .select_related("staff", "credential_type")
        .order_by("created_at")
    )
    return board


@dataclass
class PersonRecord:
    staff: StaffMember
    credentials: list[Credential]
    ce: list[CEStatus]
    credits: list[CECredit]
    signoffs: list[CompetencySignoff]
    plans: list[Any]
    warnings: list[str]
    on: date


def person_record(*, staff_id: UUID, on: date) -> PersonRecord:
    staff = get_or_not_found(
        StaffMember.objects.select_related("home_site", "user"), pk=staff_id, label="staff member"
    )
    return PersonRecord(
        staff=staff,
        credentials=list(
            Credential.objects.filter(staff=staff)
            .select_related("credential_type", "verified_by")
            .order_by("credential_type__name", "-expires_on")
        ),
        ce=ce_status(staff, on=on),
        credits=list(CECredit.objects.filter(staff=staff).order_by("-completed_on")),
        signoffs=list(
            CompetencySignoff.objects.filter(staff=staff)
            .select_related("competency", "signed_off_by", "revalidated_by")
            .order_by("competency__name")
        ),
        plans=list(
            plans_with_progress()
            .filter(staff=staff)
            .prefetch_related("cases")
            .order_by("-started_on")
        ),
        warnings=staff_warnings(staff_ids=[staff.pk], on=on)[staff.pk],
        on=on,
    )


def credential_get(*, credential_id: UUID) -> Credential:
    return get_or_not_found(
        Credential.objects.select_related("staff", "credential_type", "verified_by"),
        pk=credential_id,
        label="credential",
    )


def plan_get(*, plan_id: UUID) -> Any:
    return get_or_not_found(plans_with_progress(), pk=plan_id, label="cross-training plan")


def credentials_list(
    *, staff_id: UUID | None = None, credential_type: str | None = None
) -> QuerySet[Credential]:
    rows = Credential.objects.select_related("staff", "credential_type", "verified_by")
    if staff_id is not None:
        rows = rows.filter(staff_id=staff_id)
    if credential_type:
        rows = rows.filter(credential_type_id=credential_type)
    return rows.order_by("staff__family_name", "staff__given_name", "credential_type__name")
