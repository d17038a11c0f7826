"""API shapes for payers."""

from __future__ import annotations

from uuid import UUID

from ninja import Field, Schema

from radflow.billing.models import PayerType


class PayerOut(Schema):
    id: UUID
    name: str
    plan: str
    payer_type: PayerType
    payer_code: str
    phone: str
    active: bool


class PayerIn(Schema):
    name: str = Field(..., min_length=1, max_length=120)
    plan: str = Field("", max_length=120)
    payer_type: PayerType
    payer_code: str = Field(..., min_length=1, max_length=20)
    phone: str = Field("", max_length=40)
    active: bool = True
