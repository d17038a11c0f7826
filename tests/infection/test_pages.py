"""The infection pages as their users see them: the reprocessing room, an exam's probes, the begin
page's refusal, the look-back with its CSV, the dashboard; every patient shown is logged."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from radflow.audit.models import AccessLog
from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam, Override
from radflow.exams.services import Actor, exam_begin_at_modality
from radflow.infection.models import ProbeUse, Reprocessing
from tests.conftest import client_for
from tests.infection.factories import (
    arrived_exam,
    at,
    attach,
    begin,
    cidex_opa,
    endocavitary_probe,
    hld,
    trophon,
    used_exam,
)

pytestmark = pytest.mark.django_db


def html(response: Any) -> str:
    text: str = response.content.decode()
    return text


def blocked_pair(technologist: User) -> tuple[Exam, Exam]:
    """The probe began the first exam and is attached to the second, not reprocessed."""
    probe = endocavitary_probe()
    first, second = arrived_exam(technologist, minutes=0), arrived_exam(technologist, minutes=5)
    attach(first, probe, technologist, minutes=1)
    attach(second, probe, technologist, minutes=6)
    begin(first, technologist, minutes=10)
    return first, second


def test_the_reprocessing_room_finds_a_scanned_serial_and_records_a_passing_cycle(
    technologist: User,
) -> None:
    probe = endocavitary_probe()
    used_exam(probe, technologist, minutes=0)
    device = trophon()
    client = client_for(technologist)
    url = reverse("infection:reprocess")
    with time_machine.travel(at(40), tick=False):
        page = html(client.get(url, {"serial": " ev-204417 "}))
        assert "Needs reprocessing" in page and "no passing high-level disinfection" in page
        response = client.post(
            url,
            {
                "serial": "EV-204417",
                "method": "hld_automated",
                "device": device.pk,
                "cycle_id": "004512",
                "indicator": "pass",
                "result": "pass",
                "exposure_met": "on",
            },
        )
    assert response.status_code == 302
    assert response["Location"] == f"{url}?serial=EV-204417"
    cycle = Reprocessing.objects.get()
    assert (cycle.level, cycle.cycle_id, cycle.operator) == ("high", "004512", technologist)
    assert cycle.ended_at == at(40) and cycle.started_at == at(33)
    with time_machine.travel(at(41), tick=False):
        page = html(client.get(response["Location"]))
    assert "high-level disinfection recorded — ready for the next patient" in page
    assert 'id="probe-state"' in page and "Ready" in page


def test_an_unknown_serial_and_a_cycle_without_readings_are_refused(technologist: User) -> None:
    probe = endocavitary_probe()
    client = client_for(technologist)
    url = reverse("infection:reprocess")
    missing = client.get(url, {"serial": "NOPE-1"})
    assert missing.status_code == 404
    assert "No probe has serial number &#x27;NOPE-1&#x27;." in html(missing)
    refused = client.post(
        url, {"serial": probe.serial_number, "method": "hld_automated", "device": trophon().pk}
    )
    assert refused.status_code == 422
    assert "Chemical indicator / test strip" in html(refused)
    assert not Reprocessing.objects.exists()


def test_the_exam_probe_page_attaches_by_serial_and_refuses_a_dirty_probe(
    technologist: User,
) -> None:
    probe = endocavitary_probe()
    used_exam(probe, technologist, minutes=0)
    exam = arrived_exam(technologist, minutes=30)
    client = client_for(technologist)
    url = reverse("infection:exam_probe_attach", args=[exam.pk])
    data = {"serial": "EV-204417", "cover_used": "on", "cover_lot": "CV-2291", "gel": "sterile"}
    with time_machine.travel(at(31), tick=False):
        refused = client.post(url, data)
    assert refused.status_code == 409
    assert "has not had a passing high-level disinfection since its last use" in html(refused)
    hld(probe, technologist, minutes=45)
    with time_machine.travel(at(46), tick=False):
        done = client.post(url, data)
    assert done.status_code == 302
    use = ProbeUse.objects.get(exam=exam)
    assert (use.cover_lot, use.gel, use.by) == ("CV-2291", "sterile", technologist)
    page = html(client.get(reverse("infection:exam_probes", args=[exam.pk])))
    assert "EV-204417" in page
    assert AccessLog.objects.filter(action="infection.exam_probes").count() >= 2


def test_the_begin_page_tells_a_technologist_only_an_infection_preventionist_may_override(
    technologist: User,
) -> None:
    _, second = blocked_pair(technologist)
    client = client_for(technologist)
    with time_machine.travel(at(40), tick=False):
        page = html(client.get(reverse("exams:begin", args=[second.pk])))
        assert "Probe not reprocessed: IC5-9-D Endocavitary (EV-204417)" in page
        assert "Only an infection preventionist may override the probe stop" in page
        assert 'name="override_probe"' not in page
        refused = client.post(reverse("exams:begin", args=[second.pk]), {})
    assert refused.status_code == 409
    assert "The exam cannot begin: Probe not reprocessed" in html(refused)
    assert Exam.objects.get(pk=second.pk).state == ExamState.ARRIVED
    detail = html(client.get(reverse("exams:detail", args=[second.pk])))
    assert reverse("infection:exam_probes", args=[second.pk]) in detail


def test_the_infection_preventionist_overrides_from_the_exams_probe_page(
    technologist: User, preventionist: User
) -> None:
    _, second = blocked_pair(technologist)
    url = reverse("infection:exam_probes", args=[second.pk])
    with time_machine.travel(at(40), tick=False):
        assert 'name="reason"' not in html(client_for(technologist).get(url))
        page = html(client_for(preventionist).get(url))
        assert "Override the probe stop" in page
        empty = client_for(preventionist).post(
            reverse("infection:exam_probe_override", args=[second.pk]), {"reason": ""}
        )
        assert empty.status_code == 422
        done = client_for(preventionist).post(
            reverse("infection:exam_probe_override", args=[second.pk]),
            {"reason": "Probe was sheathed and never inserted on the first patient."},
        )
    assert done.status_code == 302
    assert Override.objects.get(exam=second).by == preventionist
    assert begin(second, technologist, minutes=45).state == ExamState.IN_PROGRESS


def test_look_back_from_a_failed_cycle_lists_exactly_the_exposed_exams_and_exports_them(
    technologist: User, preventionist: User
) -> None:
    probe = endocavitary_probe()
    before = used_exam(probe, technologist, minutes=0)
    hld(probe, technologist, minutes=40)  # passing: opens the window
    exposed_1 = used_exam(probe, technologist, minutes=60)
    failed = hld(probe, technologist, minutes=100, passed=False)
    # The failed cycle went unnoticed: the scanner began the next patient's exam (MPPS, which
    # flags the stop but does not wait) and the probe was recorded afterwards.
    second = arrived_exam(technologist, minutes=110)
    with time_machine.travel(at(112), tick=False):
        exam_begin_at_modality(exam=second, by=Actor(label="mpps:US_WHC_01"))
        ProbeUse.objects.create(
            probe=probe, exam=second, at=at(112), cover_used=True, cover_lot="CV-1"
        )
    hld(probe, technologist, minutes=160)  # passing: closes the window
    after = used_exam(probe, technologist, minutes=200)

    client = client_for(preventionist)
    page = client.get(reverse("infection:lookback"), {"cycle": str(failed.pk)})
    assert page.status_code == 200
    text = html(page)
    for exam in (exposed_1, second):
        assert f'data-accession="{exam.accession_number}"' in text
    for exam in (before, after):
        assert f'data-accession="{exam.accession_number}"' not in text
    assert '<strong id="notify-count">2</strong> patients to notify' in text
    logged = set(
        AccessLog.objects.filter(action="infection.lookback").values_list("patient_id", flat=True)
    )
    assert logged == {exposed_1.order.patient_id, second.order.patient_id}

    export = client.get(reverse("infection:lookback_export"), {"cycle": str(failed.pk)})
    assert export["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert [r["Accession"] for r in rows] == [exposed_1.accession_number, second.accession_number]
    assert {r["Notify"] for r in rows} == {"yes"}


def test_look_back_from_a_patient_marks_their_exam_and_leaves_them_off_the_notify_list(
    technologist: User, preventionist: User
) -> None:
    probe = endocavitary_probe()
    index = used_exam(probe, technologist, minutes=0)
    hld(probe, technologist, minutes=40)
    other = used_exam(probe, technologist, minutes=60)
    patient = index.order.patient
    page = html(client_for(preventionist).get(reverse("infection:lookback"), {"mrn": patient.mrn}))
    assert f'data-accession="{index.accession_number}"' in page
    assert f'data-accession="{other.accession_number}"' not in page
    assert "Look-back started here" in page
    assert '<strong id="notify-count">0</strong> patients to notify' in page


def test_a_technologist_may_not_run_a_look_back(technologist: User) -> None:
    assert client_for(technologist).get(reverse("infection:lookback")).status_code == 403


def test_the_dashboard_shows_waiting_probes_failed_cycles_and_due_checks(
    technologist: User, director: User
) -> None:
    probe = endocavitary_probe()
    used_exam(probe, technologist, minutes=0)
    hld(probe, technologist, minutes=30, passed=False)
    hld(probe, technologist, minutes=40)
    used_exam(probe, technologist, minutes=60)
    cidex_opa()
    with time_machine.travel(at(120), tick=False):
        page = html(client_for(director).get(reverse("infection:dashboard")))
    assert 'id="probe-EV-204417"' in page  # waiting again after the second exam
    assert "the cycle failed" in page
    assert "Cidex OPA lot OPA-25117" in page and "Never done." in page
    assert '<dd id="turnaround-median">20 min</dd>' in page


def test_the_dashboard_does_not_query_per_probe_or_cycle(
    technologist: User, director: User, django_assert_max_num_queries: Any
) -> None:
    def busy(serial: str, start: int) -> None:
        probe = endocavitary_probe(serial_number=serial)
        used_exam(probe, technologist, minutes=start)
        hld(probe, technologist, minutes=start + 30, passed=False)
        hld(probe, technologist, minutes=start + 40)

    busy("EV-1", 0)
    client = client_for(director)
    with time_machine.travel(at(300), tick=False):
        client.get(reverse("infection:dashboard"))  # warm the permission cache
        with CaptureQueriesContext(connection) as few:
            assert client.get(reverse("infection:dashboard")).status_code == 200
    for n, serial in enumerate(("EV-2", "EV-3", "EV-4")):
        busy(serial, 60 * (n + 1))
    with (
        time_machine.travel(at(300), tick=False),
        django_assert_max_num_queries(len(few.captured_queries)),
    ):
        assert client.get(reverse("infection:dashboard")).status_code == 200
