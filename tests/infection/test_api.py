"""``/api/infection``: record cycles and attach probes as a machine client would; refusals are
problem+json and change nothing; reads that name exams are logged."""

from __future__ import annotations

import json
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client

from radflow.accounts.services import api_token_create
from radflow.audit.models import AccessLog
from radflow.infection.models import ProbeUse, Reprocessing
from tests.infection.factories import arrived_exam, at, endocavitary_probe, trophon, used_exam

pytestmark = pytest.mark.django_db


def call(user: User, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    token = api_token_create(user=user, name="reprocessor bridge")[1]
    return Client().generic(
        method,
        f"/api/infection{path}",
        data=json.dumps(body or {}) if body is not None else b"",
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


def test_a_cycle_posted_by_the_reprocessor_bridge_clears_the_probe(technologist: User) -> None:
    probe = endocavitary_probe()
    used_exam(probe, technologist, minutes=0)
    body = {
        "probe_serial": "EV-204417",
        "method": "hld_automated",
        "device_id": str(trophon().pk),
        "cycle_id": "118822",
        "result": "pass",
        "indicator": "pass",
        "exposure_met": True,
        "started_at": at(30).isoformat(),
        "ended_at": at(37).isoformat(),
    }
    with time_machine.travel(at(40), tick=False):
        response = call(technologist, "POST", "/cycles", body)
        assert response.status_code == 201, response.content
        cycle = response.json()
        assert (cycle["level"], cycle["passed"], cycle["problems"]) == ("high", True, [])
        probes = call(technologist, "GET", "/probes").json()
    assert [p["readiness"] for p in probes if p["serial_number"] == "EV-204417"] == ["ready"]


def test_a_cycle_with_a_failed_strip_is_stored_and_says_why_it_does_not_count(
    technologist: User,
) -> None:
    endocavitary_probe()
    body = {
        "probe_serial": "ev-204417",
        "method": "hld_automated",
        "device_id": str(trophon().pk),
        "result": "pass",
        "indicator": "fail",
        "exposure_met": True,
    }
    with time_machine.travel(at(40), tick=False):
        cycle = call(technologist, "POST", "/cycles", body).json()
    assert cycle["passed"] is False
    assert cycle["problems"] == ["the chemical indicator / test strip failed"]
    failed = call(technologist, "GET", "/cycles?failed=true").json()
    assert [c["id"] for c in failed["items"]] == [cycle["id"]]


def test_attaching_a_dirty_probe_answers_409_problem_json_and_attaches_nothing(
    technologist: User,
) -> None:
    probe = endocavitary_probe()
    used_exam(probe, technologist, minutes=0)
    exam = arrived_exam(technologist, minutes=30)
    body = {
        "exam_id": str(exam.pk),
        "probe_serial": "EV-204417",
        "cover_used": True,
        "cover_lot": "CV-2291",
        "gel": "sterile",
    }
    with time_machine.travel(at(31), tick=False):
        response = call(technologist, "POST", "/probe-uses", body)
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "probe_not_reprocessed"
    assert not ProbeUse.objects.filter(exam=exam).exists()
    unknown = call(technologist, "POST", "/probe-uses", {**body, "probe_serial": "NOPE"})
    assert unknown.status_code == 422
    assert unknown.json()["errors"] == [
        {"field": "probe_serial", "message": "No probe has serial number 'NOPE'."}
    ]


def test_probe_uses_are_listed_with_ids_only_and_each_patient_is_logged(
    technologist: User, auditor: User
) -> None:
    probe = endocavitary_probe()
    exam = used_exam(probe, technologist, minutes=0)
    listed = call(auditor, "GET", f"/probe-uses?exam={exam.pk}").json()
    assert listed["count"] == 1
    item = listed["items"][0]
    assert item["patient_id"] == str(exam.order.patient_id)
    assert item["used_at"] == at(2).isoformat().replace("+00:00", "Z")
    assert "family_name" not in json.dumps(item)
    assert AccessLog.objects.filter(
        action="infection.probe_uses", patient_id=exam.order.patient_id
    ).exists()


def test_a_director_reads_cycles_but_may_not_record_one(director: User) -> None:
    endocavitary_probe()
    assert call(director, "GET", "/cycles").status_code == 200
    refused = call(director, "POST", "/cycles", {"probe_serial": "EV-204417"})
    assert refused.status_code == 403
    assert not Reprocessing.objects.exists()
