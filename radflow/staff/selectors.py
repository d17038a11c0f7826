"""Reads of the staff directory shared by pages and the API."""

from __future__ import annotations

from uuid import UUID

from django.db.models import Q, QuerySet

from radflow.db import get_or_not_found
from radflow.staff.models import StaffMember


def staff_list(
    *,
    site_id: UUID | None = None,
    job_role: str | None = None,
    modality: str | None = None,
    q: str | None = None,
    active: bool | None = None,
) -> QuerySet[StaffMember]:
    members = StaffMember.objects.select_related("home_site").prefetch_related("modalities")
    if site_id:
        members = members.filter(home_site_id=site_id)
    if job_role:
        members = members.filter(job_role=job_role)
    if modality:
        members = members.filter(
            pk__in=StaffMember.modalities.through.objects.filter(modality_id=modality).values(
                "staffmember_id"
            )
        )
    if active is not None:
        members = members.filter(active=active)
    if q:
        for word in q.split():
            members = members.filter(
                Q(family_name__icontains=word)
                | Q(given_name__icontains=word)
                | Q(employee_number__iexact=word)
            )
    return members.order_by("family_name", "given_name", "employee_number")


def staff_get(*, staff_id: UUID) -> StaffMember:
    return get_or_not_found(
        StaffMember.objects.select_related("home_site", "user").prefetch_related("modalities"),
        pk=staff_id,
        label="staff member",
    )
