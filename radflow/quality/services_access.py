"""Accessibility requests (wheelchair, sign language, hearing loop ...) and whether they were met.

Interpreter needs are not recorded here: the patient's ``interpreter_needed`` flag and intake's
interpreter log already say whether each exam had one (``selectors.interpreter_by_month``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from radflow.core.errors import Conflict, ValidationFailed
from radflow.exams.models import Exam
from radflow.patients.models import Patient
from radflow.quality.models import AccessibilityNeed, AccessibilityRequest, RequestStatus
from radflow.quality.services import full_clean_or_fail, save_as, user_or_none

#: What a request may end as.
OUTCOMES = (RequestStatus.MET, RequestStatus.UNMET, RequestStatus.CANCELLED)


@transaction.atomic
def accessibility_request_add(
    *,
    by: Any,
    patient: Patient,
    need: str,
    needed_on: date,
    detail: str = "",
    exam: Exam | None = None,
) -> AccessibilityRequest:
    errors: dict[str, list[str]] = {}
    if need not in AccessibilityNeed.values:
        errors["need"] = ["Choose the need from the list."]
    if need == AccessibilityNeed.OTHER and not detail.strip():
        errors["detail"] = ["Describe the need."]
    if exam is not None and exam.order.patient_id != patient.pk:
        errors["exam"] = ["That exam is another patient's."]
    if errors:
        raise ValidationFailed(errors)
    request = AccessibilityRequest(
        patient=patient,
        exam=exam,
        need=need,
        detail=detail.strip(),
        needed_on=needed_on,
        requested_at=timezone.now(),
        requested_by=user_or_none(by),
    )
    full_clean_or_fail(request)
    save_as(request, by)
    return request


@transaction.atomic
def accessibility_request_resolve(
    *, request: AccessibilityRequest, by: Any, status: str, note: str = ""
) -> AccessibilityRequest:
    """Met, not met (with the reason: the KPI counts it) or cancelled."""
    request = AccessibilityRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != RequestStatus.PENDING:
        raise Conflict("This request already has an outcome.")
    errors: dict[str, list[str]] = {}
    if status not in OUTCOMES:
        errors["status"] = ["Choose met, not met or cancelled."]
    elif status == RequestStatus.UNMET and not note.strip():
        errors["note"] = ["Say why the need was not met."]
    if errors:
        raise ValidationFailed(errors)
    request.status = status
    request.outcome_note = note.strip()[:300]
    request.resolved_at = timezone.now()
    request.resolved_by = user_or_none(by)
    save_as(request, by)
    return request
