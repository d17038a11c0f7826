"""/api/credentials: list/get credentials and "may this person perform this exam on this day"."""

# No ``from __future__ import annotations``: ninja reads these signatures at run time, and
# ``@paginate`` wraps them in its own module, where string annotations would not resolve.

import datetime as dt
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router
from ninja.pagination import paginate

from radflow.accounts.api_auth import requires
from radflow.api_pagination import LimitOffsetPagination
from radflow.catalog.models import ExamType
from radflow.core.errors import NotFound
from radflow.credentials import selectors
from radflow.credentials.schemas import CredentialOut, EligibilityOut
from radflow.db import get_or_not_found
from radflow.staff.models import StaffMember

router = Router(tags=["credentials"])


@router.get("/", response=list[CredentialOut], auth=requires("credentials.view_credential"))
@paginate(LimitOffsetPagination)
def list_credentials(
    request: HttpRequest, staff: UUID | None = None, credential_type: str | None = None
) -> Any:
    return selectors.credentials_list(staff_id=staff, credential_type=credential_type)


@router.get(
    "/eligibility",
    response=EligibilityOut,
    auth=requires("credentials.check_eligibility"),
    summary="May this person perform this exam type on this date",
)
def eligibility(
    request: HttpRequest, staff: UUID, exam_type: str, on: dt.date | None = None
) -> Any:
    """``exam_type`` is the exam type's code or id; ``on`` defaults to today (department zone)."""
    member = get_or_not_found(StaffMember.objects.all(), pk=staff, label="staff member")
    try:
        kind = ExamType.objects.filter(pk=UUID(exam_type)).first()
    except ValueError:
        kind = ExamType.objects.filter(code=exam_type).first()
    if kind is None:
        raise NotFound(f"No exam type {exam_type}.", field="exam_type")
    day = on or timezone.localdate()
    verdict = selectors.may_perform(staff=member, exam_type=kind, on=day)
    return {
        "staff_id": member.pk,
        "exam_type": kind.code,
        "on": day,
        "ok": verdict.ok,
        "reasons": list(verdict.reasons),
    }


@router.get(
    "/{credential_id}", response=CredentialOut, auth=requires("credentials.view_credential")
)
def get_credential(request: HttpRequest, credential_id: UUID) -> Any:
    return selectors.credential_get(credential_id=credential_id)
