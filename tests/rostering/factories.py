"""Small rostering departments: one site, a day and a night ultrasound shift, a few people.

Problems stay tiny (one or two weeks, four to eight people) so the real solver answers in a
second or two.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time, timedelta
from decimal import Decimal

from factory.declarations import Sequence, SubFactory
from factory.django import DjangoModelFactory

from radflow.catalog.models import Competency
from radflow.credentials.models import CompetencySignoff
from radflow.rostering.models import (
    CoverageRequirement,
    Roster,
    RosterSettings,
    ShiftKind,
    ShiftType,
    StaffRosterRules,
)
from radflow.scheduling.models import Modality, Site
from radflow.staff.models import JobRole, StaffMember
from tests.scheduling.factories import ModalityFactory, SiteFactory
from tests.staff.factories import StaffMemberFactory

#: A Monday well in the future (no "past" days), and a week with the US spring DST change.
MONDAY = date(2030, 6, 3)
DST_MONDAY = date(2030, 3, 4)  # DST starts Sunday 2030-03-10 in America/New_York


class ShiftTypeFactory(DjangoModelFactory[ShiftType]):
    class Meta:
        model = ShiftType

    site = SubFactory(SiteFactory)
    code = Sequence(lambda n: f"SH{n}")
    name = Sequence(lambda n: f"Shift {n}")
    kind = ShiftKind.DAY
    modality = SubFactory(ModalityFactory)
    start = time(8)
    end = time(16)
    paid_minutes = 480


@dataclass
class Department:
    site: Site
    us: Modality
    day: ShiftType
    night: ShiftType
    people: list[StaffMember]
    settings: RosterSettings
    extra: dict[str, ShiftType] = field(default_factory=dict)


def cover(
    shift: ShiftType,
    *,
    minimum: int,
    preferred: int | None = None,
    weekdays: range | tuple[int, ...] = range(7),
    competency: Competency | None = None,
) -> None:
    for weekday in weekdays:
        CoverageRequirement.objects.create(
            shift_type=shift,
            weekday=weekday,
            minimum=minimum,
            preferred=preferred if preferred is not None else minimum,
            competency=competency,
        )


def person(
    site: Site,
    modality: Modality,
    *,
    minutes_per_week: int = 2400,
    flex: int = 480,
    max_consecutive: int = 5,
    min_off: int = 1,
    max_weekends: int = 4,
    max_nights: int = 8,
    **fields: object,
) -> StaffMember:
    member = StaffMemberFactory.create(
        home_site=site,
        modalities=[modality],
        job_role=JobRole.SONOGRAPHER,
        fte=Decimal("1.00"),
        **fields,
    )
    StaffRosterRules.objects.create(
        staff=member,
        contracted_minutes_per_week=minutes_per_week,
        flex_minutes_per_week=flex,
        max_consecutive_days=max_consecutive,
        min_consecutive_days=1,
        min_consecutive_days_off=min_off,
        max_weekends_per_4_weeks=max_weekends,
        max_nights_per_4_weeks=max_nights,
    )
    return member


def department(
    *,
    people: int = 6,
    day_minimum: int = 2,
    day_preferred: int = 2,
    night_minimum: int = 1,
    min_rest_hours: int = 11,
) -> Department:
    """One site with a day (08-16) and a night (22-08) ultrasound shift, every day of the week."""
    site = SiteFactory.create(code="TST", time_zone="America/New_York")
    us = ModalityFactory.create(code="US")
    day = ShiftTypeFactory.create(site=site, modality=us, code="US-D", name="US day")
    night = ShiftTypeFactory.create(
        site=site,
        modality=us,
        code="US-N",
        name="US night",
        kind=ShiftKind.NIGHT,
        start=time(22),
        end=time(8),
        paid_minutes=600,
    )
    cover(day, minimum=day_minimum, preferred=day_preferred)
    cover(night, minimum=night_minimum)
    settings = RosterSettings.objects.create(min_rest_hours=min_rest_hours, solve_seconds=5)
    staff = [person(site, us, flex=1200) for _ in range(people)]
    return Department(site, us, day, night, staff, settings)


def roster(start: date = MONDAY, weeks: int = 1) -> Roster:
    return Roster.objects.create(start=start, weeks=weeks)


def sign_off(member: StaffMember, code: str, *, until: date | None = None) -> CompetencySignoff:
    competency, _ = Competency.objects.get_or_create(
        code=code, defaults={"name": code.replace("-", " ").title()}
    )
    return CompetencySignoff.objects.create(
        staff=member,
        competency=competency,
        signed_off_on=MONDAY - timedelta(days=400),
        observed_cases=20,
        valid_until=until or MONDAY + timedelta(days=365),
    )
