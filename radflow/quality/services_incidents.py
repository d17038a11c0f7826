"""Incidents and near misses: reporting (anyone on staff), investigation with a root cause, and
corrective and preventive actions (CAPA) with an owner and a due date.

An incident closes only with a root cause written down and no action left open, so a closed
incident in the monthly report always says why it happened and what changed.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from radflow.core.errors import Conflict, ValidationFailed
from radflow.core.roles import Role
from radflow.exams.models import Exam
from radflow.notifications.services import notify
from radflow.patients.models import Patient
from radflow.quality.models import (
    SEVERITY_RANK,
    ActionKind,
    ActionStatus,
    CorrectiveAction,
    Incident,
    IncidentCategory,
    IncidentKind,
    IncidentStatus,
    RootCauseCategory,
    Severity,
)
from radflow.quality.services import full_clean_or_fail, next_number, save_as, user_or_none
from radflow.scheduling.models import Site

#: A report may be stamped a few minutes ahead of the server's clock (a tablet's clock).
CLOCK_SKEW = timedelta(minutes=5)
#: Incidents at or above this severity are sent to the director and coordinators at once.
ESCALATE_FROM = Severity.MAJOR


def _managers() -> list[User]:
    return list(
        User.objects.filter(
            groups__name__in=[Role.DIRECTOR.value, Role.COORDINATOR.value], is_active=True
        )
        .distinct()
        .order_by("pk")
    )


def _choice(value: str, choices: Any, field: str, label: str, errors: dict[str, list[str]]) -> None:
    if value not in choices.values:
        errors[field] = [f"Choose the {label} from the list."]


@transaction.atomic
def incident_report(
    *,
    by: Any,
    kind: str,
    category: str,
    severity: str,
    occurred_at: datetime,
    description: str,
    immediate_action: str = "",
    site: Site | None = None,
    location_detail: str = "",
    exam: Exam | None = None,
    patient: Patient | None = None,
) -> Incident:
    """File an incident or near miss; the patient follows from the exam when one is named."""
    errors: dict[str, list[str]] = {}
    _choice(kind, IncidentKind, "kind", "kind", errors)
    _choice(category, IncidentCategory, "category", "category", errors)
    _choice(severity, Severity, "severity", "severity", errors)
    now = timezone.now()
    if occurred_at > now + CLOCK_SKEW:
        errors["occurred_at"] = ["The time it happened cannot be in the future."]
    if not description.strip():
        errors["description"] = ["Describe what happened."]
    if exam is not None:
        exam_patient = exam.order.patient
        if patient is not None and patient.pk != exam_patient.pk:
            errors["patient"] = ["The patient is not the exam's patient."]
        patient = exam_patient
    if errors:
        raise ValidationFailed(errors)
    incident = Incident(
        number=next_number("INC", on=timezone.localdate(now)),
        kind=kind,
        category=category,
        severity=severity,
        occurred_at=occurred_at,
        reported_at=now,
        reported_by=user_or_none(by),
        site=site,
        location_detail=location_detail.strip(),
        exam=exam,
        patient=patient,
        description=description.strip(),
        immediate_action=immediate_action.strip(),
    )
    full_clean_or_fail(incident)
    save_as(incident, by)
    if SEVERITY_RANK[Severity(severity)] >= SEVERITY_RANK[ESCALATE_FROM]:
        notify(
            recipients=[u for u in _managers() if u.pk != getattr(user_or_none(by), "pk", None)],
            kind="incident_major",
            title=f"{incident.get_severity_display()} incident {incident.number} reported",
            body=str(incident.get_category_display()),
            url=reverse("quality:incident_detail", kwargs={"pk": incident.pk}),
        )
    return incident


@transaction.atomic
def incident_update(
    *,
    incident: Incident,
    by: Any,
    kind: str,
    category: str,
    severity: str,
    status: str,
    root_cause: str = "",
    root_cause_category: str = "",
) -> Incident:
    """The investigation: classification, root cause and status (closing checks the CAPA)."""
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    errors: dict[str, list[str]] = {}
    _choice(kind, IncidentKind, "kind", "kind", errors)
    _choice(category, IncidentCategory, "category", "category", errors)
    _choice(severity, Severity, "severity", "severity", errors)
    _choice(status, IncidentStatus, "status", "status", errors)
    if root_cause_category:
        _choice(root_cause_category, RootCauseCategory, "root_cause_category", "cause", errors)
    root_cause = root_cause.strip()
    if status == IncidentStatus.CLOSED:
        if not root_cause or not root_cause_category:
            errors["root_cause"] = ["Write the root cause and its category before closing."]
        open_actions = incident.actions.filter(status=ActionStatus.OPEN).count()
        if open_actions:
            errors["status"] = [
                f"{open_actions} action{'s are' if open_actions != 1 else ' is'} still open: "
                "complete or cancel them first."
            ]
    if errors:
        raise ValidationFailed(errors)
    was_closed = incident.status == IncidentStatus.CLOSED
    incident.kind, incident.category, incident.severity = kind, category, severity
    incident.root_cause, incident.root_cause_category = root_cause, root_cause_category
    incident.status = status
    if status == IncidentStatus.CLOSED and not was_closed:
        incident.closed_at, incident.closed_by = timezone.now(), user_or_none(by)
    elif status != IncidentStatus.CLOSED:
        incident.closed_at, incident.closed_by = None, None
    save_as(incident, by)
    return incident


@transaction.atomic
def corrective_action_add(
    *,
    incident: Incident,
    by: Any,
    kind: str,
    description: str,
    owner: Any,
    due_on: date,
) -> CorrectiveAction:
    """A CAPA line; the owner is told, and the incident moves on to "actions under way"."""
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if incident.status == IncidentStatus.CLOSED:
        raise Conflict("The incident is closed; reopen it to add an action.")
    errors: dict[str, list[str]] = {}
    _choice(kind, ActionKind, "kind", "kind of action", errors)
    if not description.strip():
        errors["description"] = ["Describe the action."]
    if owner is None:
        errors["owner"] = ["Every action needs an owner."]
    if due_on < timezone.localdate(incident.occurred_at):
        errors["due_on"] = ["The due date cannot be before the incident."]
    if errors:
        raise ValidationFailed(errors)
    action = CorrectiveAction(
        incident=incident, kind=kind, description=description.strip(), owner=owner, due_on=due_on
    )
    full_clean_or_fail(action)
    save_as(action, by)
    if incident.status in (IncidentStatus.OPEN, IncidentStatus.INVESTIGATING):
        incident.status = IncidentStatus.ACTIONS
        save_as(incident, by, update_fields=["status", "updated_at"])
    if owner.pk != getattr(user_or_none(by), "pk", None):
        notify(
            recipients=[owner],
            kind="capa_assigned",
            title=f"Action for incident {incident.number}, due {due_on:%Y-%m-%d}",
            url=reverse("quality:action_detail", kwargs={"pk": action.pk}),
        )
    return action


def _open_action(action: CorrectiveAction) -> CorrectiveAction:
    found = CorrectiveAction.objects.select_for_update().get(pk=action.pk)
    if found.status != ActionStatus.OPEN:
        raise Conflict("This action is already finished.")
    return found


@transaction.atomic
def corrective_action_complete(
    *, action: CorrectiveAction, by: Any, note: str, completed_on: date | None = None
) -> CorrectiveAction:
    action = _open_action(action)
    today = timezone.localdate()
    completed_on = completed_on or today
    errors: dict[str, list[str]] = {}
    if not note.strip():
        errors["note"] = ["Say what was done (the evidence the action worked)."]
    if completed_on > today:
        errors["completed_on"] = ["The completion date cannot be in the future."]
    if errors:
        raise ValidationFailed(errors)
    action.status = ActionStatus.DONE
    action.completed_on = completed_on
    action.completion_note = note.strip()
    save_as(action, by)
    return action


@transaction.atomic
def corrective_action_cancel(*, action: CorrectiveAction, by: Any, note: str) -> CorrectiveAction:
    action = _open_action(action)
    if not note.strip():
        raise ValidationFailed({"note": ["Say why the action is no longer needed."]})
    action.status = ActionStatus.CANCELLED
    action.completed_on = timezone.localdate()
    action.completion_note = note.strip()
    save_as(action, by)
    return action
