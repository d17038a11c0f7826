"""Credentials, sign-offs and plans as the coordinator records them (load the reference first)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from radflow.catalog.models import Competency
from radflow.credentials.models import (
    CompetencySignoff,
    Credential,
    CredentialType,
    CrossTrainingPlan,
)
from radflow.credentials.services import valid_until_after
from radflow.scheduling.models import Modality
from radflow.staff.models import JobRole, StaffMember
from tests.staff.factories import StaffMemberFactory


def sonographer(**kwargs: Any) -> StaffMember:
    us = Modality.objects.get_or_create(code="US", defaults={"name": "Ultrasound"})[0]
    kwargs.setdefault("job_role", JobRole.SONOGRAPHER)
    return StaffMemberFactory.create(modalities=[us], **kwargs)


def make_credential(
    staff: StaffMember,
    code: str = "ardms-rdms-ab",
    *,
    issued_on: dt.date = dt.date(2015, 6, 1),
    expires_on: dt.date | None = dt.date(2030, 6, 30),
    verified: bool = True,
    number: str = "123456",
) -> Credential:
    return Credential.objects.create(
        staff=staff,
        credential_type=CredentialType.objects.get(pk=code),
        number=number,
        issued_on=issued_on,
        expires_on=expires_on,
        verified_at=timezone.now() if verified else None,
        verification_note="ARDMS online verification" if verified else "",
    )


def make_signoff(
    staff: StaffMember,
    code: str = "us-abdominal",
    *,
    on: dt.date = dt.date(2026, 1, 15),
    signed_off_on: dt.date | None = None,
) -> CompetencySignoff:
    """Signed off (or last re-validated) on ``on``: valid for one year from then."""
    return CompetencySignoff.objects.create(
        staff=staff,
        competency=Competency.objects.get(pk=code),
        signed_off_on=signed_off_on or on,
        revalidated_on=on if signed_off_on else None,
        observed_cases=20,
        valid_until=valid_until_after(on),
    )


def qualified_sonographer(**kwargs: Any) -> StaffMember:
    """RDMS (AB) and (OB/GYN), and signed off for every ultrasound competency."""
    staff = sonographer(**kwargs)
    make_credential(staff, "ardms-rdms-ab")
    make_credential(staff, "ardms-rdms-ob", number="654321")
    for competency in Competency.objects.filter(modality_id="US"):
        make_signoff(staff, competency.code, on=dt.date(2026, 1, 15))
    return staff


def make_plan(staff: StaffMember, target: str = "us-vascular-venous", **kwargs: Any) -> Any:
    values: dict[str, Any] = {
        "required_cases": 3,
        "started_on": dt.date(2026, 1, 5),
        "due_on": dt.date(2026, 6, 30),
        **kwargs,
    }
    return CrossTrainingPlan.objects.create(staff=staff, target_id=target, **values)
