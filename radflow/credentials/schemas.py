"""API shapes for credentials and the eligibility answer."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from ninja import Schema

from radflow.credentials.models import Credential


class CredentialOut(Schema):
    id: UUID
    staff_id: UUID
    staff_name: str
    credential_type: str
    credential_type_name: str
    issuer: str
    number: str
    issued_on: date
    expires_on: date | None
    verified_at: datetime | None
    verified_by: str | None
    verification_note: str
    has_evidence: bool

    @staticmethod
    def resolve_staff_name(obj: Credential) -> str:
        return str(obj.staff)

    @staticmethod
    def resolve_credential_type(obj: Credential) -> str:
        return obj.credential_type_id

    @staticmethod
    def resolve_credential_type_name(obj: Credential) -> str:
        return obj.credential_type.name

    @staticmethod
    def resolve_issuer(obj: Credential) -> str:
        return obj.credential_type.issuer

    @staticmethod
    def resolve_verified_by(obj: Credential) -> str | None:
        return obj.verified_by.get_username() if obj.verified_by is not None else None

    @staticmethod
    def resolve_has_evidence(obj: Credential) -> bool:
        return bool(obj.evidence)


class EligibilityOut(Schema):
    staff_id: UUID
    exam_type: str
    on: date
    ok: bool
    reasons: list[str]
