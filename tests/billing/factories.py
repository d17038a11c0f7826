"""Factories for payers."""

from __future__ import annotations

from factory.declarations import Iterator, Sequence
from factory.django import DjangoModelFactory
from factory.faker import Faker

from radflow.billing.models import Payer, PayerType


class PayerFactory(DjangoModelFactory[Payer]):
    class Meta:
        model = Payer

    name = Iterator(["Aetna", "Blue Cross Blue Shield", "Cigna", "UnitedHealthcare"])
    plan = Sequence(lambda n: f"PPO {n}")
    payer_type = PayerType.COMMERCIAL
    payer_code = Sequence(lambda n: f"PAY{n:04d}")
    phone = Faker("numerify", text="(800) ###-####")
