"""API shapes for the staff directory."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

from ninja import Field, Schema

from radflow.staff.models import JobRole, StaffMember


class HomeSiteOut(Schema):
    id: UUID
    code: str
    name: str


class StaffMemberOut(Schema):
    id: UUID
    employee_number: str
    family_name: str
    given_name: str
    job_role: JobRole
    home_site: HomeSiteOut
    modalities: list[str]
    fte: Decimal
    active: bool

    @staticmethod
    def resolve_modalities(obj: StaffMember) -> list[str]:
        return [modality.code for modality in obj.modalities.all()]


class StaffMemberDetailOut(StaffMemberOut):
    email: str
    cost_centre: str
    hire_date: date | None
    username: str | None = Field(None, description="The RadFlow login, if the person has one.")

    @staticmethod
    def resolve_username(obj: StaffMember) -> str | None:
        return obj.user.get_username() if obj.user is not None else None
