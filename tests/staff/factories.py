"""Factories for the staff directory."""

from __future__ import annotations

from decimal import Decimal

from factory.declarations import LazyAttribute, Sequence, SubFactory
from factory.django import DjangoModelFactory
from factory.faker import Faker
from factory.helpers import post_generation

from radflow.staff.models import JobRole, StaffMember
from tests.scheduling.factories import SiteFactory


class StaffMemberFactory(DjangoModelFactory[StaffMember]):
    class Meta:
        model = StaffMember
        skip_postgeneration_save = True

    employee_number = Sequence(lambda n: f"E{104500 + n}")
    family_name = Faker("last_name")
    given_name = Faker("first_name")
    email = LazyAttribute(lambda o: f"{o.given_name}.{o.family_name}@hospital.example".lower())
    job_role = JobRole.SONOGRAPHER
    fte = Decimal("1.00")
    cost_centre = "CC-4100"
    home_site = SubFactory(SiteFactory)
    hire_date = Faker("date_between", start_date="-15y", end_date="-60d")

    @post_generation  # type: ignore[untyped-decorator]
    def modalities(self, create: bool, extracted: list[object] | None) -> None:
        if create and extracted:
            self.modalities.set(extracted)
