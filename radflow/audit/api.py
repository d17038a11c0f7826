"""``/api/audit``: the access log for auditors and their tools."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from radflow.accounts.api_auth import requires
from radflow.api_pagination import MAX_OFFSET
from radflow.audit.selectors import access_log_search
from radflow.patients.selectors import patient_ids_matching

router = Router(tags=["audit"])


class AccessRowOut(Schema):
    seq: int
    at: datetime
    user_id: int | None
    username: str
    patient_id: UUID | None
    patient_mrn: str
    action: str
    channel: str
    ip_address: str | None
    row_hash: str


class AccessPageOut(Schema):
    count: int
    items: list[AccessRowOut]


class AccessFilters(Schema):
    patient: str = Field("", description="MRN, patient id or name as “family, given”")
    user: str = Field("", description="user name (exact, case-insensitive)")
    since: date | None = None
    until: date | None = Field(None, description="inclusive")
    channel: str = ""
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


@router.get(
    "/access",
    response=AccessPageOut,
    summary="Search the PHI access log",
    auth=requires("audit.view_accesslog"),
)
def access_list(request: HttpRequest, filters: Query[AccessFilters]) -> dict[str, Any]:
    patient = filters.patient.strip()
    ids: list[Any] | None = None
    if patient:
        try:
            ids = [UUID(patient)]
        except ValueError:
            ids = list(patient_ids_matching(q=patient))
    rows = access_log_search(
        patient=patient,
        patient_ids=ids,
        user=filters.user,
        since=filters.since,
        until=filters.until,
        channel=filters.channel,
    )
    total = rows.count()
    return {"count": total, "items": list(rows[filters.offset : filters.offset + filters.limit])}
