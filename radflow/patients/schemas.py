from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from ninja import Schema
from pydantic import Field

from radflow.patients.models import AdministrativeSex


class AllergyOut(Schema):
    substance: str
    category: str
    severity: str
    reaction: str


class IdentifierOut(Schema):
    type: str
    value: str
    authority: str


class PatientSummaryOut(Schema):
    id: UUID
    mrn: str
    mrn_authority: str
    family_name: str
    given_name: str
    birth_date: date
    sex: str
    active: bool
    merged_into_id: UUID | None = None


class PatientOut(PatientSummaryOut):
    middle_name: str
    prefix: str
    suffix: str
    language: str
    interpreter_needed: bool
    phone: str
    email: str
    address_line: str
    city: str
    state: str
    postal_code: str
    created_at: datetime
    updated_at: datetime
    allergies: list[AllergyOut]
    identifiers: list[IdentifierOut]


class PatientListOut(Schema):
    count: int
    items: list[PatientSummaryOut]


class PatientIn(Schema):
    mrn: str = Field(min_length=1, max_length=32)
    mrn_authority: str = Field("RADFLOW", min_length=1, max_length=40)
    family_name: str = Field(min_length=1, max_length=80)
    given_name: str = Field(min_length=1, max_length=80)
    middle_name: str = Field("", max_length=80)
    prefix: str = Field("", max_length=20)
    suffix: str = Field("", max_length=20)
    birth_date: date
    sex: AdministrativeSex
    language: str = Field("en", max_length=8)
    interpreter_needed: bool = False
    phone: str = Field("", max_length=40)
    email: str = Field("", max_length=254)
    address_line: str = Field("", max_length=200)
    city: str = Field("", max_length=80)
    state: str = Field("", max_length=40)
    postal_code: str = Field("", max_length=16)


class PatientPatch(Schema):
    """Only the fields sent are changed."""

    mrn: str | None = Field(None, min_length=1, max_length=32)
    mrn_authority: str | None = Field(None, min_length=1, max_length=40)
    family_name: str | None = Field(None, min_length=1, max_length=80)
    given_name: str | None = Field(None, min_length=1, max_length=80)
    middle_name: str | None = Field(None, max_length=80)
    prefix: str | None = Field(None, max_length=20)
    suffix: str | None = Field(None, max_length=20)
    birth_date: date | None = None
    sex: AdministrativeSex | None = None
    language: str | None = Field(None, max_length=8)
    interpreter_needed: bool | None = None
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=254)
    address_line: str | None = Field(None, max_length=200)
    city: str | None = Field(None, max_length=80)
    state: str | None = Field(None, max_length=40)
    postal_code: str | None = Field(None, max_length=16)
