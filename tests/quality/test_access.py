"""Interpreter and accessibility requests, met and unmet."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from radflow.audit.models import AccessLog
from radflow.core.errors import ValidationFailed
from radflow.intake.models import InterpreterLog
from radflow.quality.models import AccessibilityRequest, RequestStatus
from radflow.quality.rules import month_start, previous_month
from radflow.quality.selectors import accessibility_by_month, interpreter_by_month
from radflow.quality.services_access import (
    accessibility_request_add,
    accessibility_request_resolve,
)
from tests.conftest import client_for
from tests.patients.factories import PatientFactory
from tests.quality.factories import exam_done, local, person

pytestmark = pytest.mark.django_db

LAST = previous_month(month_start(timezone.localdate()))


def test_interpreter_needs_are_met_when_intake_logged_the_interpreter(
    coordinator: User, director: User
) -> None:
    sonographer = person()
    spanish = PatientFactory.create(language="es", interpreter_needed=True)
    somali = PatientFactory.create(language="so", interpreter_needed=True)
    english = PatientFactory.create(language="en", interpreter_needed=False)
    met = exam_done(performer=sonographer, completed_at=local(LAST), patient=spanish)
    unmet = exam_done(
        performer=sonographer, completed_at=local(LAST + dt.timedelta(days=3)), patient=somali
    )
    exam_done(performer=sonographer, completed_at=local(LAST), patient=english)
    InterpreterLog.objects.create(
        exam=met,
        language="es",
        interpreter_id="INT-042",
        at=met.in_progress_at,  # type: ignore[misc]
        by=coordinator,
    )

    [row] = interpreter_by_month(start=LAST, end=LAST)

    assert (row.requests, row.met, row.unmet, row.met_rate) == (2, 1, 1, 50.0)
    page = (
        client_for(director)
        .get(reverse("quality:access") + f"?month={LAST:%Y-%m}")
        .content.decode()
    )
    assert unmet.accession_number in page and met.accession_number not in page
    assert AccessLog.objects.filter(
        action="quality.access", patient_id=somali.pk, username="director"
    ).exists()


def test_the_front_desk_records_an_accessibility_request_and_its_outcome(
    scheduler: User,
) -> None:
    patient = PatientFactory.create(mrn="MRN-7781")
    client = client_for(scheduler)

    response = client.post(
        reverse("quality:access_new"),
        {"mrn": "MRN-7781", "need": "transfer", "detail": "Hoist", "needed_on": LAST.isoformat()},
    )

    request = AccessibilityRequest.objects.get()
    assert response.status_code == 302 and request.patient == patient
    refused = client.post(
        reverse("quality:access_detail", kwargs={"pk": request.pk}), {"status": "unmet"}
    )
    assert refused.status_code == 422
    assert "Say why the need was not met." in refused.content.decode()
    client.post(
        reverse("quality:access_detail", kwargs={"pk": request.pk}),
        {"status": "unmet", "note": "Hoist out of service; two-person transfer instead."},
    )
    request.refresh_from_db()
    assert request.status == RequestStatus.UNMET and request.resolved_at is not None


def test_the_month_counts_met_unmet_and_pending_and_leaves_cancelled_out(db: None) -> None:
    patient = PatientFactory.create()
    for outcome in ("met", "met", "unmet", "cancelled", None):
        request = accessibility_request_add(
            by=None, patient=patient, need="wheelchair", needed_on=LAST + dt.timedelta(days=2)
        )
        if outcome:
            accessibility_request_resolve(
                request=request, by=None, status=outcome, note="Lift broken."
            )

    [row] = accessibility_by_month(start=LAST, end=LAST)

    assert (row.requests, row.met, row.unmet, row.pending) == (4, 2, 1, 1)
    assert row.met_rate == round(200 / 3, 1)


def test_an_exam_must_be_the_patients_own(db: None) -> None:
    sonographer = person()
    exam = exam_done(performer=sonographer, completed_at=local(LAST))
    with pytest.raises(ValidationFailed) as refused:
        accessibility_request_add(
            by=None,
            patient=PatientFactory.create(),
            need="hearing",
            needed_on=LAST,
            exam=exam,
        )
    assert refused.value.errors["exam"] == ["That exam is another patient's."]
