"""Demo step: credentials, CE logs, competency sign-offs and cross-training plans for the staff.

Every sonographer and technologist holds the credentials their modalities need and a current
sign-off for every competency their modalities' exam types require, from before the exam history
starts, so the generated exams pass the "performer" hard stop. The dashboard still has something
to show: credentials expiring within 90/60/30 days, three expired ones (none that blocks an exam
the demo assigns), competencies due or lapsed for people outside the exam rotation, CE
shortfalls, and cross-training plans toward skills outside the trainee's current modalities.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from radflow.catalog.models import ExamType
from radflow.credentials.models import (
    CECredit,
    CompetencySignoff,
    Credential,
    CredentialType,
    CreditCategory,
    CrossTrainingPlan,
    PlanStatus,
    SupervisedCase,
)
from radflow.credentials.reference import load_credential_reference
from radflow.credentials.rules import add_years
from radflow.credentials.services import valid_until_after
from radflow.demo.context import DemoContext
from radflow.staff.models import JobRole, StaffMember

#: The credentials a performer of each modality holds (a cover of every requirement).
MODALITY_CREDENTIALS: dict[str, tuple[str, ...]] = {
    "US": ("ardms-rdms-ab", "ardms-rdms-ob"),
    "CT": ("arrt-r", "arrt-ct", "state-rt-licence"),
    "MR": ("arrt-mr",),
    "DX": ("arrt-r", "state-rt-licence"),
    "RF": ("arrt-r", "state-rt-licence"),
    "MG": ("arrt-r", "arrt-m", "state-rt-licence"),
    "NM": ("nmtcb-cnmt",),
    "PT": ("nmtcb-cnmt",),
    "XA": ("arrt-r", "arrt-vi", "state-rt-licence"),
}
#: Extra credentials some sonographers hold, with the share who hold them.
US_EXTRAS = (("ardms-rvt", 0.3), ("ardms-rdms-br", 0.15), ("arrt-s", 0.1))
IONIZING = {"CT", "DX", "RF", "MG", "NM", "PT", "XA"}
#: Types whose expiry changes no performer's skills here (RDMS (OB/GYN) meets every US
#: requirement RDMS (AB) meets; the rest are extras or not exam requirements).
COVERED_ELSEWHERE = {
    "ardms-rdms-ab",
    "ardms-rvt",
    "ardms-rdms-br",
    "arrt-s",
    "bls",
    "acls",
    "radiation-safety",
}
PERFORMERS = {JobRole.SONOGRAPHER, JobRole.TECHNOLOGIST}

VERIFICATION = {
    "ARDMS": "ARDMS online credential verification",
    "ARRT": "ARRT online verification of credentials",
    "CCI": "CCI credential verification",
    "NMTCB": "NMTCB certificant verification",
}
CE_ACTIVITIES = [
    ("SDMS annual conference session: {topic}", "Society of Diagnostic Medical Sonography"),
    ("Webinar: {topic}", "ASRT"),
    ("Journal CME: {topic}", "Journal of Diagnostic Medical Sonography"),
    ("Directed reading: {topic}", "ASRT"),
    ("Grand rounds: {topic}", "Riverbend Health Imaging Education"),
    ("Online module: {topic}", "Gulfcoast Ultrasound Institute"),
]
CE_TOPICS = [
    "Doppler physics refresher",
    "Fetal growth restriction",
    "Carotid duplex criteria",
    "Liver elastography",
    "Radiation dose optimisation",
    "Contrast reactions and management",
    "MRI safety zones",
    "Thyroid nodule TI-RADS",
    "Ergonomics in scanning",
    "Pediatric hip dysplasia",
]


def _clinical_credentials(
    member: StaffMember, modalities: list[str], rng: random.Random
) -> list[str]:
    codes: list[str] = []
    if member.job_role == JobRole.RADIOLOGIST:
        codes = ["state-medical-licence", "abr-diagnostic", "bls"]
        if rng.random() < 0.5:
            codes.append("acls")
        return codes
    if member.job_role == JobRole.NURSE:
        return ["bls", "acls"]
    if member.job_role in (JobRole.COORDINATOR, JobRole.MANAGER):
        return [*(("ardms-rdms-ab",) if "US" in modalities else ()), "bls"]
    if member.job_role not in PERFORMERS:
        return []
    for modality in modalities:
        for code in MODALITY_CREDENTIALS.get(modality, ()):
            if code not in codes:
                codes.append(code)
    if "US" in modalities and member.job_role == JobRole.SONOGRAPHER:
        codes.extend(code for code, share in US_EXTRAS if rng.random() < share)
    codes.append("bls")
    if IONIZING & set(modalities):
        codes.append("radiation-safety")
    return codes


def _number(code: str, rng: random.Random) -> str:
    if code.startswith("ardms"):
        return str(rng.randint(100000, 999999))
    if code.startswith("arrt"):
        return str(rng.randint(100000000, 999999999))[:9]
    if code.startswith("state"):
        return (
            f"RT.{rng.randint(1000, 9999)}" if "rt" in code else f"MD.{rng.randint(30000, 59999)}"
        )
    if code in ("bls", "acls"):
        return f"AHA-{rng.randint(10**9, 10**10 - 1)}"
    return ""


def _dates(code: str, today: date, rng: random.Random) -> tuple[date, date | None]:
    """Originally certified years ago (before any demo exam); the current card expires ahead."""
    issued = today - timedelta(days=rng.randint(400, 12 * 365))
    if code in ("bls", "acls"):
        issued = today - timedelta(days=rng.randint(400, 700))
        return issued, issued + timedelta(days=2 * 365 + rng.randint(200, 400))
    if code == "abr-diagnostic":
        return issued, None
    return issued, today + timedelta(days=rng.randint(95, 365))


def _competencies_by_modality() -> dict[str, list[str]]:
    through = ExamType.required_competencies.through
    needed: dict[str, set[str]] = defaultdict(set)
    for modality, code in through.objects.filter(examtype__active=True).values_list(
        "examtype__modality_id", "competency_id"
    ):
        needed[modality].add(code)
    return {modality: sorted(codes) for modality, codes in needed.items()}


def generate(ctx: DemoContext) -> None:
    load_credential_reference()
    rng = ctx.random("credentials")
    today = ctx.today
    now = timezone.now()
    staff: list[StaffMember] = list(
        ctx.objects.get("staff") or StaffMember.objects.order_by("employee_number")
    )
    through = StaffMember.modalities.through
    modalities: dict[Any, list[str]] = defaultdict(list)
    for staff_id, code in through.objects.order_by("modality_id").values_list(
        "staffmember_id", "modality_id"
    ):
        modalities[staff_id].append(code)
    types = {t.code: t for t in CredentialType.objects.all()}

    credentials: list[Credential] = []
    by_person: dict[Any, list[Credential]] = defaultdict(list)
    for member in staff:
        for code in _clinical_credentials(member, modalities[member.pk], rng):
            issued, expires = _dates(code, today, rng)
            kind = types[code]
            credential = Credential(
                staff=member,
                credential_type=kind,
                number=_number(code, rng),
                issued_on=issued,
                expires_on=expires,
                verified_at=now,
                verification_note=VERIFICATION.get(kind.issuer, "Card sighted by the coordinator"),
            )
            credentials.append(credential)
            by_person[member.pk].append(credential)

    performers = [m for m in staff if m.job_role in PERFORMERS]
    _expiring_and_expired(ctx, rng, staff, performers, by_person, credentials, types)
    Credential.objects.bulk_create(credentials)

    _ce_credits(rng, today, staff, by_person)
    lapsed, plans = _competencies(ctx, rng, staff, performers, modalities)
    ctx.log(
        f"{len(credentials)} credentials, {lapsed} lapsed competencies, "
        f"{plans} cross-training plans"
    )


def _expiring_and_expired(
    ctx: DemoContext,
    rng: random.Random,
    staff: list[StaffMember],
    performers: list[StaffMember],
    by_person: dict[Any, list[Credential]],
    credentials: list[Credential],
    types: dict[str, CredentialType],
) -> None:
    """A handful expiring within 90/60/30 days; three expired that block no assigned exam."""
    today = ctx.today
    sonographers = [m for m in performers if m.job_role == JobRole.SONOGRAPHER]
    # The demo sonographer login sees a warning on "My credentials": BLS due in 20 days.
    for credential in by_person[sonographers[0].pk]:
        if credential.credential_type_id == "bls":
            credential.expires_on = today + timedelta(days=20)
    # Only credentials another one covers (RDMS (AB) beside RDMS (OB/GYN), extras, BLS ...):
    # the roster demo plans weeks ahead with the skills of each day, so no modality or
    # competency may drop out within its horizon.
    pool = [
        c
        for m in performers[1:]
        for c in by_person[m.pk]
        if c.expires_on is not None and c.credential_type_id in COVERED_ELSEWHERE
    ]
    chosen = rng.sample(pool, 8)
    for credential, days in zip(chosen, (9, 24, 41, 52, 58, 66, 77, 88), strict=True):
        credential.expires_on = today + timedelta(days=days)
    # One of them already sent in a renewal card that waits for verification.
    renewed = chosen[1]
    credentials.append(
        Credential(
            staff=renewed.staff,
            credential_type=renewed.credential_type,
            number=renewed.number,
            issued_on=today - timedelta(days=4),
            expires_on=add_years(today + timedelta(days=24), 1),
        )
    )
    # Expired: a sonographer's BLS, a sonographer's optional RVT (RDMS still covers vascular),
    # and the manager's only registry (the manager is outside the exam rotation).
    taken = {c.staff_id for c in chosen} | {sonographers[0].pk}
    expired_days = iter((12, 37, 5))
    bls_holder = next(m for m in sonographers[1:] if m.pk not in taken)
    _expire(by_person[bls_holder.pk], "bls", today - timedelta(days=next(expired_days)))
    rvt_holders = [
        m
        for m in sonographers
        if m.pk not in taken | {bls_holder.pk}
        and any(c.credential_type_id == "ardms-rvt" for c in by_person[m.pk])
    ]
    if rvt_holders:
        _expire(
            by_person[rvt_holders[0].pk], "ardms-rvt", today - timedelta(days=next(expired_days))
        )
    managers = [m for m in staff if m.job_role == JobRole.MANAGER]
    if managers:
        _expire(
            by_person[managers[0].pk], "ardms-rdms-ab", today - timedelta(days=next(expired_days))
        )


def _expire(held: list[Credential], code: str, on: date) -> None:
    for credential in held:
        if credential.credential_type_id == code:
            credential.expires_on = on
            if credential.issued_on >= on:
                credential.issued_on = on - timedelta(days=2 * 365)


def _ce_credits(
    rng: random.Random,
    today: date,
    staff: list[StaffMember],
    by_person: dict[Any, list[Credential]],
) -> None:
    """About three years of CE per person with a CE requirement; some fall short."""
    rows: list[CECredit] = []
    for member in staff:
        held = [c for c in by_person[member.pk] if c.credential_type.has_ce_requirement]
        if not held:
            continue
        yearly = max(
            float(c.credential_type.ce_credits_required or 0)
            / (c.credential_type.ce_cycle_years or 1)
            for c in held
        )
        effort = rng.choice((0.5, 0.7, 0.9, 1.0, 1.1, 1.2, 1.3))
        target = yearly * 3 * effort
        total = 0.0
        while total < target:
            credits = rng.choice((1, 1, 1.5, 2, 2, 3, 4))
            template, provider = rng.choice(CE_ACTIVITIES)
            category = (
                CreditCategory.ARRT_A
                if provider == "ASRT"
                else rng.choice((CreditCategory.SDMS, CreditCategory.ARDMS_CME))
            )
            rows.append(
                CECredit(
                    staff=member,
                    activity=template.format(topic=rng.choice(CE_TOPICS)),
                    provider=provider,
                    completed_on=today - timedelta(days=rng.randint(1, 3 * 365)),
                    credits=Decimal(str(credits)),
                    category=category,
                )
            )
            total += credits
    CECredit.objects.bulk_create(rows)


def _signoff(
    member: StaffMember,
    code: str,
    rng: random.Random,
    today: date,
    assessor: StaffMember | None,
    *,
    revalidated_days_ago: int,
) -> CompetencySignoff:
    signed = today - timedelta(days=rng.randint(400, 3000))
    revalidated = today - timedelta(days=revalidated_days_ago)
    return CompetencySignoff(
        staff=member,
        competency_id=code,
        signed_off_by=assessor,
        signed_off_on=signed,
        observed_cases=rng.choice((10, 15, 20, 25, 30)),
        revalidated_on=revalidated,
        revalidated_by=assessor,
        valid_until=valid_until_after(revalidated),
    )


def _competencies(
    ctx: DemoContext,
    rng: random.Random,
    staff: list[StaffMember],
    performers: list[StaffMember],
    modalities: dict[Any, list[str]],
) -> tuple[int, int]:
    today = ctx.today
    needed = _competencies_by_modality()
    leads: dict[str, list[StaffMember]] = defaultdict(list)
    for member in performers:
        for modality in modalities[member.pk]:
            leads[modality].append(member)
    signoffs: list[CompetencySignoff] = []

    def assessor_for(member: StaffMember, modality: str) -> StaffMember | None:
        others = [m for m in leads[modality] if m.pk != member.pk]
        return others[0] if others else None

    for member in performers:
        codes: dict[str, str] = {}
        for modality in modalities[member.pk]:
            for code in needed.get(modality, []):
                codes.setdefault(code, modality)
        for code, modality in sorted(codes.items()):
            # Re-validated within the last 300 days: current through the roster demo's horizon.
            days_ago = rng.randint(5, 300)
            signoffs.append(
                _signoff(
                    member,
                    code,
                    rng,
                    today,
                    assessor_for(member, modality),
                    revalidated_days_ago=days_ago,
                )
            )
    # Lapsed or due soon: the coordinator and manager (backup sonographers, outside the exam
    # rotation and the roster).
    lapsed = 0
    backups = [m for m in staff if m.job_role in (JobRole.COORDINATOR, JobRole.MANAGER)]
    for member in backups:
        for code in needed.get("US", []):
            if code == "iv-access":
                continue
            overdue = code in ("us-vascular-arterial", "us-vascular-venous", "us-fetal-detailed")
            due_soon = rng.random() < 0.3
            days_ago = (
                rng.randint(380, 500)
                if overdue
                else (rng.randint(340, 360) if due_soon else rng.randint(20, 300))
            )
            lapsed += overdue
            signoffs.append(
                _signoff(
                    member,
                    code,
                    rng,
                    today,
                    assessor_for(member, "US"),
                    revalidated_days_ago=days_ago,
                )
            )
    CompetencySignoff.objects.bulk_create(signoffs)
    return lapsed, _plans(ctx, rng, staff, performers, modalities, leads)


def _plans(
    ctx: DemoContext,
    rng: random.Random,
    staff: list[StaffMember],
    performers: list[StaffMember],
    modalities: dict[Any, list[str]],
    leads: dict[str, list[StaffMember]],
) -> int:
    """Plans toward a modality the trainee does not work in yet, so no demo exam depends on them."""
    today = ctx.today
    wanted = [("DX", "RF", "fluoroscopy"), ("CT", "MR", "mr"), ("MG", "US", "us-breast")]
    plans: list[CrossTrainingPlan] = []
    for home, other, target in wanted:
        trainee = next(
            (
                m
                for m in performers
                if home in modalities[m.pk]
                and other not in modalities[m.pk]
                and all(p.staff_id != m.pk for p in plans)
            ),
            None,
        )
        if trainee is None:
            continue
        plans.append(
            CrossTrainingPlan(
                staff=trainee,
                target_id=target,
                required_cases=rng.choice((25, 30, 40, 50)),
                mentor=leads[other][0] if leads[other] else None,
                started_on=today - timedelta(days=rng.randint(40, 150)),
                due_on=today + timedelta(days=rng.randint(45, 200)),
                note=f"Cross-training into {other} to cover the late shift.",
            )
        )
    coordinator = next((m for m in staff if m.job_role == JobRole.COORDINATOR), None)
    if coordinator is not None:
        plans.append(
            CrossTrainingPlan(
                staff=coordinator,
                target_id="us-vascular-venous",
                required_cases=25,
                mentor=leads["US"][1] if len(leads["US"]) > 1 else None,
                started_on=today - timedelta(days=200),
                due_on=today - timedelta(days=10),
                note="Re-training after the lapse, for on-call DVT coverage.",
            )
        )
    for plan in plans:
        plan.status = PlanStatus.ACTIVE
    CrossTrainingPlan.objects.bulk_create(plans)
    cases: list[SupervisedCase] = []
    for plan in plans:
        span = (today - plan.started_on).days
        done = rng.randint(plan.required_cases // 4, plan.required_cases - 3)
        for _ in range(done):
            cases.append(
                SupervisedCase(
                    plan=plan,
                    performed_on=plan.started_on + timedelta(days=rng.randint(0, span)),
                    supervisor=plan.mentor,
                )
            )
    SupervisedCase.objects.bulk_create(cases)
    return len(plans)
