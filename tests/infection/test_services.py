"""Recording cycles, attaching probes, tests and checks: what counts, what is refused, and that a
refusal changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import User

from radflow.core.errors import Conflict, ValidationFailed
from radflow.infection import selectors
from radflow.infection.models import ProbeUse, Reprocessing
from radflow.infection.services import (
    device_qc_record,
    probe_attach,
    probe_detach,
    probe_status_set,
    reprocessing_record,
    solution_test_record,
)
from radflow.scheduling.models import ProbeType
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
from tests.scheduling.factories import ProbeFactory

pytestmark = pytest.mark.django_db


def soak(probe_serial: str, technologist: User, minutes: int, **kwargs: object) -> Reprocessing:
    probe = selectors.probe_by_serial(probe_serial)
    with time_machine.travel(at(minutes), tick=False):
        return reprocessing_record(
            probe=probe,
            by=technologist,
            method="hld_soak",
            result="pass",
            indicator="pass",
            exposure_met=True,
            started_at=at(minutes - 12),
            **kwargs,  # type: ignore[arg-type]
        )


def test_a_soak_in_an_expired_or_discarded_solution_does_not_count(technologist: User) -> None:
    probe = endocavitary_probe()
    used_exam(probe, technologist, minutes=0)
    past_use_life = cidex_opa(lot_number="OPA-1", opened_on=dt.date(2026, 2, 10))
    cycle = soak(probe.serial_number, technologist, 40, agent=past_use_life)
    assert cycle.level == "none"
    assert cycle.problem_list == [
        "Cidex OPA lot OPA-1 was opened on 2026-02-10: its 14-day use life ended on 2026-02-23"
    ]
    fresh = cidex_opa(lot_number="OPA-2")
    with time_machine.travel(at(20), tick=False):
        solution_test_record(agent=fresh, by=technologist, result="fail", strip_lot="MEC-7")
    fresh.refresh_from_db()
    assert fresh.discarded_at == at(20)
    assert soak(probe.serial_number, technologist, 50, agent=fresh).problem_list == [
        "Cidex OPA lot OPA-2 was discarded"
    ]
    assert selectors.probe_state(probe).readiness == "needs_reprocessing"
    good = cidex_opa(lot_number="OPA-3")
    assert soak(probe.serial_number, technologist, 60, agent=good).level == "high"
    assert selectors.probe_state(probe).ready


def test_a_cycle_on_a_device_that_failed_its_check_does_not_count(technologist: User) -> None:
    probe = endocavitary_probe()
    used_exam(probe, technologist, minutes=0)
    device = trophon()
    with time_machine.travel(at(25), tick=False):
        device_qc_record(
            device=device, by=technologist, check_name="Self-test", result="fail", note="E21"
        )
    device.refresh_from_db()
    assert device.status == "down"
    cycle = hld(probe, technologist, minutes=40, device=device)
    assert cycle.problem_list == [f"{device.name} is out of service (down)"]
    with time_machine.travel(at(45), tick=False):
        device_qc_record(device=device, by=technologist, check_name="Self-test", result="pass")
    device.refresh_from_db()
    assert device.status == "in_service"
    assert hld(probe, technologist, minutes=55, device=device).level == "high"


def test_bad_cycle_input_is_refused_and_nothing_is_recorded(technologist: User) -> None:
    probe = endocavitary_probe()
    wipe_agent = cidex_opa(
        name="Sani-Cloth Prime",
        lot_number="W-1",
        kind="quaternary_ammonium",
        test_frequency="not_required",
    )
    cases: list[dict[str, object]] = [
        {"method": "hld_automated", "device": None},
        {"method": "hld_soak", "agent": wipe_agent},
        {"method": "sterilization", "device": trophon()},
        {"method": "hld_automated", "device": trophon(), "indicator": "maybe"},
        {
            "method": "hld_automated",
            "device": trophon(),
            "started_at": at(50),
            "ended_at": at(40),
        },
        {
            "method": "hld_automated",
            "device": trophon(),
            "ended_at": dt.datetime(2026, 3, 2, 9, 0),  # noqa: DTZ001 (naive on purpose)
        },
    ]
    for case in cases:
        values: dict[str, object] = {
            "result": "pass",
            "indicator": "pass",
            "exposure_met": True,
            **case,
        }
        with time_machine.travel(at(60), tick=False), pytest.raises(ValidationFailed):
            reprocessing_record(probe=probe, by=technologist, **values)  # type: ignore[arg-type]
    assert not Reprocessing.objects.exists()


def test_an_endocavitary_probe_needs_its_cover_lot_and_an_out_of_service_probe_is_refused(
    technologist: User,
) -> None:
    probe = endocavitary_probe()
    exam = arrived_exam(technologist, minutes=0)
    with time_machine.travel(at(1), tick=False), pytest.raises(ValidationFailed) as caught:
        probe_attach(exam=exam, probe=probe, by=technologist, cover_used=True, cover_lot=" ")
    assert caught.value.errors == {
        "cover_lot": ["An endocavitary probe is used with a cover: record the cover's lot."]
    }
    with time_machine.travel(at(2), tick=False):
        probe_status_set(probe=probe, by=technologist, status="down", reason="Cracked lens")
    with pytest.raises(Conflict) as refused:
        attach(exam, probe, technologist, minutes=3)
    assert refused.value.code == "probe_out_of_service"
    assert not ProbeUse.objects.exists()
    latest = probe.history.order_by("-history_id").first()
    assert latest is not None and latest.history_change_reason == "Cracked lens"


def test_a_non_critical_probe_is_traced_but_never_blocks(technologist: User) -> None:
    linear = ProbeFactory.create(probe_type=ProbeType.LINEAR, model_name="ML6-15-D")
    first = used_exam(linear, technologist, minutes=0)
    second = arrived_exam(technologist, minutes=30)
    use = attach(second, linear, technologist, minutes=31)
    assert use.operator is None and use.cover_used
    assert selectors.probe_problems(second) == ()
    assert begin(second, technologist, minutes=32).state == "in_progress"
    assert ProbeUse.objects.filter(probe=linear).count() == 2
    assert first.pk != second.pk


def test_a_probe_comes_off_an_exam_that_has_not_begun_but_stays_on_one_that_has(
    technologist: User,
) -> None:
    probe = endocavitary_probe()
    waiting = arrived_exam(technologist, minutes=0)
    use = attach(waiting, probe, technologist, minutes=1)
    probe_detach(use=use, by=technologist)
    assert not ProbeUse.objects.filter(exam=waiting).exists()
    used = used_exam(probe, technologist, minutes=10)
    kept = ProbeUse.objects.get(exam=used)
    with pytest.raises(Conflict):
        probe_detach(use=kept, by=technologist)
    assert ProbeUse.objects.filter(exam=used).exists()


def test_attaching_twice_or_to_an_ended_exam_is_refused(technologist: User) -> None:
    probe = endocavitary_probe()
    exam = arrived_exam(technologist, minutes=0)
    attach(exam, probe, technologist, minutes=1)
    with pytest.raises(Conflict) as twice:
        attach(exam, probe, technologist, minutes=2)
    assert twice.value.code == "probe_already_attached"
    ended = used_exam(ProbeFactory.create(), technologist, minutes=10)
    with pytest.raises(Conflict) as late:
        attach(ended, probe, technologist, minutes=40)
    assert late.value.code == "exam_not_attachable"
