"""Exam states on FHIR resources: every state is mapped, and a status search finds the states
that show that status (DESIGN.md, "Interoperability facts")."""

from __future__ import annotations

import pytest

from radflow.core.exam_states import ExamState
from radflow.core.fhir import statuses
from radflow.core.fhir.capability import RESOURCES, capability_statement
from radflow.core.fhir.errors import InvalidRequest
from radflow.core.fhir.outcome import Issue, operation_outcome


def test_every_exam_state_has_a_status_on_each_resource() -> None:
    for table in (
        statuses.APPOINTMENT_STATUS,
        statuses.SERVICE_REQUEST_STATUS,
        statuses.IMAGING_STUDY_STATUS,
    ):
        assert set(table) == set(ExamState)


@pytest.mark.parametrize(
    ("state", "appointment", "service_request"),
    [
        (ExamState.AUTHORIZED, None, "active"),
        (ExamState.PENDING_AUTH, None, "on-hold"),
        (ExamState.SCHEDULED, "booked", "active"),
        (ExamState.ARRIVED, "arrived", "active"),
        (ExamState.IN_PROGRESS, "fulfilled", "active"),
        (ExamState.COMPLETED, "fulfilled", "completed"),
        (ExamState.SIGNED, "fulfilled", "completed"),
        (ExamState.CANCELLED, "cancelled", "revoked"),
        (ExamState.NO_SHOW, "noshow", "revoked"),
    ],
)
def test_the_exam_shows_as(state: ExamState, appointment: str | None, service_request: str) -> None:
    assert statuses.APPOINTMENT_STATUS[state] == appointment
    assert statuses.SERVICE_REQUEST_STATUS[state] == service_request


def test_a_status_search_finds_the_states_behind_it() -> None:
    assert statuses.appointment_states(["booked"]) == {ExamState.SCHEDULED}
    assert statuses.appointment_states(["checked-in"]) == {ExamState.ARRIVED}
    assert ExamState.COMPLETED in statuses.appointment_states(["fulfilled"])
    assert statuses.appointment_states(["waitlist"]) == set()
    assert statuses.service_request_states(["on-hold"]) == {ExamState.PENDING_AUTH}
    with pytest.raises(InvalidRequest, match="Unknown Appointment status 'done'"):
        statuses.appointment_states(["done"])


def test_priorities_both_ways() -> None:
    assert statuses.priority_from_fhir("asap") == "urgent"
    assert statuses.PRIORITY_TO_FHIR["stat"] == "stat"
    with pytest.raises(InvalidRequest):
        statuses.priority_from_fhir("whenever")


def test_an_outcome_has_one_issue_per_field_with_the_http_status_code() -> None:
    outcome = operation_outcome(404, [Issue("No Patient with id x.", expression="id")])
    issue = outcome.issue[0]
    assert (issue.severity, issue.code, issue.expression) == ("error", "not-found", ["id"])
    assert operation_outcome(422, []).issue[0].code == "business-rule"


def test_the_capability_statement_serves_the_table() -> None:
    import datetime as dt

    statement = capability_statement(
        base_url="https://radflow.example/fhir/R4", version="1", at=dt.datetime.now(dt.UTC)
    )
    assert statement.rest is not None
    served = statement.rest[0].resource or []
    assert [r.type for r in served] == [r.type for r in RESOURCES]
    appointment = next(r for r in served if r.type == "Appointment")
    params = {p.name for p in appointment.searchParam or []}
    assert params >= {"date", "patient", "status", "actor"}
