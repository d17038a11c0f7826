"""``/api/patients``: search, read, create, change. Every response that carries a patient's
record is audited on the ``api`` channel, like the pages."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from django.db import transaction
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from radflow.accounts.api_auth import requires
from radflow.api_pagination import MAX_OFFSET
from radflow.audit.models import AccessChannel
from radflow.audit.services import AccessSource
from radflow.core.errors import ValidationFailed
from radflow.patients.models import Patient
from radflow.patients.schemas import PatientIn, PatientListOut, PatientOut, PatientPatch
from radflow.patients.selectors import patient_get_audited, patient_search, patient_slice_audited
from radflow.patients.services import patient_create, patient_update

router = Router(tags=["patients"])


def _api(request: HttpRequest) -> AccessSource:
    return AccessSource.from_request(request, AccessChannel.API)


class PatientFilters(Schema):
    q: str = ""
    mrn: str = ""
    birth_date: date | None = None
    limit: int = Field(25, ge=1, le=100)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


@router.get(
    "/", response=PatientListOut, summary="Search patients", auth=requires("patients.view_patient")
)
def list_patients(request: HttpRequest, filters: Query[PatientFilters]) -> dict[str, Any]:
    """Needs at least one of ``q``, ``mrn``, ``birth_date``; each patient returned is logged."""
    if not (filters.q.strip() or filters.mrn.strip() or filters.birth_date):
        raise ValidationFailed({"q": ["Give q, mrn or birth_date to search."]})
    queryset = patient_search(q=filters.q, mrn=filters.mrn, birth_date=filters.birth_date)
    total, shown = patient_slice_audited(
        user=request.user,
        source=_api(request),
        patients=queryset,
        offset=filters.offset,
        limit=filters.limit,
    )
    return {"count": total, "items": shown}


@router.get(
    "/{patient_id}",
    response=PatientOut,
    summary="Read one patient",
    auth=requires("patients.view_patient"),
)
def get_patient(request: HttpRequest, patient_id: UUID) -> Patient:
    return patient_get_audited(
        user=request.user, patient_id=patient_id, action="patient.detail", source=_api(request)
    )


@router.post(
    "/",
    response={201: PatientOut},
    summary="Create a patient",
    auth=requires("patients.add_patient"),
)
def create_patient(request: HttpRequest, payload: PatientIn) -> Status[Patient]:
    with transaction.atomic():
        created = patient_create(by=request.user, **payload.dict())
        # The answer carries the whole record back, so it is logged like any other read.
        shown = patient_get_audited(
            user=request.user, patient_id=created.pk, action="patient.create", source=_api(request)
        )
        return Status(201, shown)


@router.patch(
    "/{patient_id}",
    response=PatientOut,
    summary="Change a patient",
    auth=requires("patients.change_patient"),
)
def update_patient(request: HttpRequest, patient_id: UUID, payload: PatientPatch) -> Patient:
    changes = payload.dict(exclude_unset=True)
    nulls = [name for name, value in changes.items() if value is None]
    if nulls:
        raise ValidationFailed({name: ["This field cannot be null."] for name in nulls})
    # One transaction: a refused change leaves no access row for a record never sent back.
    with transaction.atomic():
        patient = patient_get_audited(
            user=request.user, patient_id=patient_id, action="patient.update", source=_api(request)
        )
        patient_update(patient=patient, by=request.user, changes=changes)
        patient.refresh_from_db()
        return patient
