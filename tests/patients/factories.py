from __future__ import annotations

import datetime as dt

from factory.declarations import Iterator, Sequence, SubFactory
from factory.django import DjangoModelFactory
from factory.faker import Faker

from radflow.patients.models import (
    AdministrativeSex,
    Allergy,
    AllergyCategory,
    AllergySeverity,
    Patient,
)


class PatientFactory(DjangoModelFactory[Patient]):
    class Meta:
        model = Patient

    mrn = Sequence(lambda n: f"MRN{100000 + n}")
    mrn_authority = "RADFLOW"
    family_name = Faker("last_name")
    given_name = Faker("first_name")
    birth_date = Faker(
        "date_between", start_date=dt.date(1930, 1, 1), end_date=dt.date(2020, 12, 31)
    )
    sex = Iterator([AdministrativeSex.FEMALE, AdministrativeSex.MALE])
    language = "en"
    phone = Faker("phone_number")


class AllergyFactory(DjangoModelFactory[Allergy]):
    class Meta:
        model = Allergy

    patient = SubFactory(PatientFactory)
    substance = "Iodinated contrast"
    category = AllergyCategory.CONTRAST
    severity = AllergySeverity.SEVERE
    reaction = "Hives"
