"""Demo step: about seventy people across the three sites, with modalities, FTE and cost centres."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from radflow.demo.context import DemoContext
from radflow.demo.names import person_name, pick_origin
from radflow.scheduling.models import Department, Modality, Site
from radflow.staff.models import JobRole, StaffMember

EMAIL_DOMAIN = "riverbend-health.example"


@dataclass(frozen=True)
class StaffPlan:
    job_role: JobRole
    site: str
    count: int
    modalities: tuple[str, ...] = ()
    #: Some of the group are cross-trained in these too (one in ``cross_every``).
    cross_trained: tuple[str, ...] = ()
    cross_every: int = 3


PLAN: list[StaffPlan] = [
    StaffPlan(JobRole.SONOGRAPHER, "MAIN", 12, ("US",)),
    StaffPlan(JobRole.SONOGRAPHER, "OIC", 8, ("US",)),
    StaffPlan(JobRole.SONOGRAPHER, "WHC", 8, ("US",), ("MG",), 4),
    StaffPlan(JobRole.TECHNOLOGIST, "MAIN", 3, ("CT",), ("DX",), 2),
    StaffPlan(JobRole.TECHNOLOGIST, "OIC", 2, ("CT",), ("DX",), 2),
    StaffPlan(JobRole.TECHNOLOGIST, "MAIN", 2, ("MR",)),
    StaffPlan(JobRole.TECHNOLOGIST, "OIC", 2, ("MR",)),
    StaffPlan(JobRole.TECHNOLOGIST, "MAIN", 3, ("DX",), ("RF",), 1),
    StaffPlan(JobRole.TECHNOLOGIST, "OIC", 1, ("DX",)),
    StaffPlan(JobRole.TECHNOLOGIST, "OIC", 1, ("MG",)),
    StaffPlan(JobRole.TECHNOLOGIST, "WHC", 2, ("MG",), ("US",), 2),
    StaffPlan(JobRole.TECHNOLOGIST, "MAIN", 2, ("NM",), ("PT",), 1),
    StaffPlan(JobRole.TECHNOLOGIST, "MAIN", 1, ("XA",), ("RF",), 1),
    StaffPlan(JobRole.RADIOLOGIST, "MAIN", 5, ("US", "CT", "MR", "DX", "NM", "PT", "XA", "RF")),
    StaffPlan(JobRole.RADIOLOGIST, "OIC", 2, ("US", "CT", "MR", "DX", "MG")),
    StaffPlan(JobRole.RADIOLOGIST, "WHC", 1, ("US", "MG")),
    StaffPlan(JobRole.NURSE, "MAIN", 2),
    StaffPlan(JobRole.COORDINATOR, "MAIN", 1, ("US",)),
    StaffPlan(JobRole.SCHEDULER, "MAIN", 2),
    StaffPlan(JobRole.SCHEDULER, "OIC", 1),
    StaffPlan(JobRole.SCHEDULER, "WHC", 1),
    StaffPlan(JobRole.MANAGER, "MAIN", 1, ("US",)),
    StaffPlan(JobRole.DIRECTOR, "MAIN", 1),
    StaffPlan(JobRole.BILLING, "MAIN", 2),
    StaffPlan(JobRole.BIOMED, "MAIN", 2),
    StaffPlan(JobRole.INFECTION_PREVENTIONIST, "MAIN", 1),
    StaffPlan(JobRole.IT, "MAIN", 1),
]

FTE_CHOICES = [Decimal("1.00"), Decimal("0.80"), Decimal("0.60"), Decimal("0.50")]
FTE_WEIGHTS = [65, 18, 9, 8]


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def generate(ctx: DemoContext) -> None:
    rng = ctx.random("staff")
    sites: dict[str, Site] = ctx.objects["sites"]
    departments: dict[str, Department] = ctx.objects["departments"]
    modalities = {m.code: m for m in Modality.objects.all()}
    total = sum(plan.count for plan in PLAN)
    numbers = rng.sample(range(10000, 99999), total)
    emails: set[str] = set()
    staff: list[StaffMember] = []
    by_role: dict[str, list[StaffMember]] = {}
    for plan in PLAN:
        for index in range(plan.count):
            female = rng.random() < (0.8 if plan.job_role == JobRole.SONOGRAPHER else 0.55)
            given, _middle, family = person_name(ctx, "staff", rng, pick_origin(rng), female)
            email = f"{_ascii(given)}.{_ascii(family)}"
            suffix = 2
            while email in emails:
                email = f"{_ascii(given)}.{_ascii(family)}{suffix}"
                suffix += 1
            emails.add(email)
            fte = FTE_CHOICES[0]
            if plan.job_role not in (JobRole.DIRECTOR, JobRole.MANAGER, JobRole.COORDINATOR):
                fte = rng.choices(FTE_CHOICES, weights=FTE_WEIGHTS)[0]
            member = StaffMember(
                employee_number=f"E{numbers[len(staff)]}",
                family_name=family,
                given_name=given,
                email=f"{email}@{EMAIL_DOMAIN}",
                job_role=plan.job_role,
                fte=fte,
                cost_centre=departments[plan.site].cost_centre,
                home_site=sites[plan.site],
                hire_date=ctx.today - timedelta(days=rng.randint(60, 25 * 365)),
            )
            member.full_clean()
            member.save()
            codes = list(plan.modalities)
            if plan.cross_trained and index % plan.cross_every == 0:
                codes.extend(plan.cross_trained)
            member.modalities.set([modalities[code] for code in codes])
            staff.append(member)
            by_role.setdefault(plan.job_role.value, []).append(member)
    ctx.objects.update(staff=staff, staff_by_role=by_role)
    ctx.log(f"{len(staff)} staff members")
