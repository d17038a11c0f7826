"""/api/staff: the staff directory."""

# No ``from __future__ import annotations``: ninja reads these signatures at run time, and
# ``@paginate`` wraps them in its own module, where string annotations would not resolve.

from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from radflow.accounts.api_auth import requires
from radflow.api_pagination import LimitOffsetPagination
from radflow.staff import selectors
from radflow.staff.models import JobRole
from radflow.staff.schemas import StaffMemberDetailOut, StaffMemberOut

router = Router(tags=["staff"])


@router.get("/", response=list[StaffMemberOut], auth=requires("staff.view_staffmember"))
@paginate(LimitOffsetPagination)
def list_staff(
    request: HttpRequest,
    site: UUID | None = None,
    job_role: JobRole | None = None,
    modality: str | None = None,
    q: str | None = None,
    active: bool | None = None,
) -> Any:
    return selectors.staff_list(
        site_id=site, job_role=job_role, modality=modality, q=q, active=active
    )


@router.get("/{staff_id}", response=StaffMemberDetailOut, auth=requires("staff.view_staffmember"))
def get_staff_member(request: HttpRequest, staff_id: UUID) -> Any:
    return selectors.staff_get(staff_id=staff_id)
