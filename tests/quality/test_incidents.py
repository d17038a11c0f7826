"""The incident and near-miss log: reporting, CAPA lines with owners and due dates (overdue ones
highlighted), and closing only with a root cause and no action open."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from radflow.audit.models import AccessLog
from radflow.core.errors import ValidationFailed
from radflow.core.roles import Role
from radflow.notifications.models import Notification
from radflow.quality.models import ActionStatus, Incident, IncidentStatus
from radflow.quality.selectors import overdue_actions
from radflow.quality.services_incidents import (
    corrective_action_add,
    corrective_action_complete,
    incident_report,
    incident_update,
)
from tests.conftest import client_for, make_user
from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def report(by: User | None = None, **fields: object) -> Incident:
    values: dict[str, object] = {
        "kind": "incident",
        "category": "fall",
        "severity": "minor",
        "occurred_at": timezone.now() - dt.timedelta(days=20),
        "description": "Patient slipped getting off the couch; gel on the step.",
        "immediate_action": "Nurse assessed the patient; no injury.",
    }
    values.update(fields)
    return incident_report(by=by, **values)  # type: ignore[arg-type]


def test_a_technologist_reports_an_incident_from_the_page(technologist: User) -> None:
    patient = PatientFactory.create(mrn="MRN-4417")
    when = timezone.localtime() - dt.timedelta(hours=2)
    response = client_for(technologist).post(
        reverse("quality:incident_new"),
        {
            "kind": "near_miss",
            "category": "identification",
            "severity": "none",
            "occurred_at": when.strftime("%Y-%m-%dT%H:%M"),
            "mrn": "MRN-4417",
            "description": "Wrong patient answered to a first-name call; caught at the ID check.",
            "immediate_action": "Correct patient brought in.",
        },
    )

    assert response.status_code == 302 and response["Location"] == reverse("web:home")
    incident = Incident.objects.get()
    assert incident.number == f"INC-{TODAY.year}-0001"
    assert incident.patient == patient and incident.reported_by == technologist
    assert incident.status == IncidentStatus.OPEN


def test_a_report_in_the_future_or_without_a_description_is_refused(technologist: User) -> None:
    response = client_for(technologist).post(
        reverse("quality:incident_new"),
        {
            "kind": "incident",
            "category": "fall",
            "severity": "minor",
            "occurred_at": (timezone.localtime() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            "description": " ",
        },
    )
    assert response.status_code == 422
    text = response.content.decode()
    assert "This field is required." in text or "Describe what happened." in text
    assert not Incident.objects.exists()


def test_a_major_incident_is_sent_to_the_director_and_coordinator_at_once(
    director: User, coordinator: User, technologist: User
) -> None:
    incident = report(by=technologist, severity="major", category="contrast")
    recipients = set(
        Notification.objects.filter(kind="incident_major").values_list("recipient", flat=True)
    )
    assert recipients == {director.pk, coordinator.pk}
    assert incident.number in Notification.objects.filter(kind="incident_major").first().title  # type: ignore[union-attr]


def test_an_action_past_its_due_date_is_listed_as_overdue(coordinator: User) -> None:
    owner = make_user(Role.BIOMED, "biomed_owner")
    incident = report(category="equipment")
    late = corrective_action_add(
        incident=incident,
        by=coordinator,
        kind="corrective",
        description="Install the vendor's software patch on US-3.",
        owner=owner,
        due_on=TODAY - dt.timedelta(days=3),
    )
    corrective_action_add(
        incident=incident,
        by=coordinator,
        kind="preventive",
        description="Add the patch level to the monthly PM checklist.",
        owner=owner,
        due_on=TODAY + dt.timedelta(days=10),
    )

    assert list(overdue_actions(today=TODAY)) == [late]
    assert Notification.objects.filter(recipient=owner, kind="capa_assigned").count() == 2
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.ACTIONS
    log = client_for(coordinator).get(reverse("quality:incidents")).content.decode()
    assert "Install the vendor" in log and 'badge badge-bad">' + late.due_on.isoformat() in log
    detail = (
        client_for(coordinator)
        .get(reverse("quality:incident_detail", kwargs={"pk": incident.pk}))
        .content.decode()
    )
    assert detail.count("overdue</span>") == 1


def test_the_owner_closes_their_action_from_its_page(coordinator: User) -> None:
    owner = make_user(Role.BIOMED, "biomed_owner")
    action = corrective_action_add(
        incident=report(category="equipment"),
        by=coordinator,
        kind="corrective",
        description="Replace the footswitch cable.",
        owner=owner,
        due_on=TODAY,
    )
    client = client_for(owner)

    assert client.get(reverse("quality:action_detail", kwargs={"pk": action.pk})).status_code == 200
    client.post(
        reverse("quality:action_close", kwargs={"pk": action.pk}),
        {"outcome": "done", "note": "Cable replaced; tested on three exams."},
    )

    action.refresh_from_db()
    assert action.status == ActionStatus.DONE and action.completed_on == TODAY
    stranger = make_user(Role.BIOMED, "other_biomed")
    page = client_for(stranger).get(reverse("quality:action_detail", kwargs={"pk": action.pk}))
    assert page.status_code == 403


def test_an_incident_closes_only_with_a_root_cause_and_every_action_finished(
    coordinator: User,
) -> None:
    incident = report()
    action = corrective_action_add(
        incident=incident,
        by=coordinator,
        kind="corrective",
        description="Keep a step stool in every room.",
        owner=coordinator,
        due_on=TODAY + dt.timedelta(days=5),
    )
    close = {
        "incident": incident,
        "by": coordinator,
        "kind": "incident",
        "category": "fall",
        "severity": "minor",
        "status": "closed",
    }

    with pytest.raises(ValidationFailed) as refused:
        incident_update(**close)  # type: ignore[arg-type]
    assert "root cause" in refused.value.errors["root_cause"][0]
    assert "1 action is still open" in refused.value.errors["status"][0]

    corrective_action_complete(action=action, by=coordinator, note="Stools bought for all rooms.")
    incident_update(
        **close,  # type: ignore[arg-type]
        root_cause="Couch step not wiped between patients.",
        root_cause_category="environment",
    )

    incident.refresh_from_db()
    assert incident.status == IncidentStatus.CLOSED and incident.closed_by == coordinator


def test_reading_an_incident_about_a_patient_is_audited(director: User) -> None:
    patient = PatientFactory.create()
    incident = report(patient=patient)
    client_for(director).get(reverse("quality:incident_detail", kwargs={"pk": incident.pk}))
    assert AccessLog.objects.filter(
        action="quality.incident", patient_id=patient.pk, username="director"
    ).exists()


def test_the_auditor_reads_the_log_but_cannot_investigate(auditor: User) -> None:
    incident = report()
    client = client_for(auditor)
    assert client.get(reverse("quality:incidents")).status_code == 200
    assert (
        client.get(reverse("quality:incident_edit", kwargs={"pk": incident.pk})).status_code == 403
    )


def test_staff_who_may_report_cannot_read_the_log(technologist: User) -> None:
    assert client_for(technologist).get(reverse("quality:incidents")).status_code == 403
