"""Probes, exams ready to begin but for their probe, disinfectants, devices and cycles."""

from __future__ import annotations

import datetime as dt
from typing import Any

import time_machine
from django.contrib.auth.models import User
from django.utils import timezone

from radflow.catalog.models import ExamType
from radflow.core.exam_states import ExamState
from radflow.core.roles import Role
from radflow.exams.models import Exam
from radflow.exams.services import exam_begin, exam_complete
from radflow.infection.models import (
    AgentKind,
    CheckFrequency,
    DisinfectionAgent,
    ProbeUse,
    Reprocessing,
    ReprocessingDevice,
    ReprocessorKind,
)
from radflow.infection.services import probe_attach, reprocessing_record
from radflow.intake.models import IdentityCheck, IdentityMethod
from radflow.scheduling.models import Probe, ProbeType
from tests.catalog.factories import ExamTypeFactory
from tests.conftest import make_user
from tests.exams.factories import make_exam
from tests.patients.factories import PatientFactory
from tests.scheduling.factories import ModalityFactory, ProbeFactory

#: Monday 2 March 2026 in New York (the department's zone in the tests).
MORNING = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC) + dt.timedelta(hours=5)


def at(minutes: int) -> dt.datetime:
    """``minutes`` after 08:00 New York time on the test Monday."""
    return MORNING + dt.timedelta(minutes=minutes)


def endocavitary_probe(**kwargs: Any) -> Probe:
    values: dict[str, Any] = {
        "model_name": "IC5-9-D",
        "probe_type": ProbeType.ENDOCAVITARY,
        "serial_number": "EV-204417",
    }
    return ProbeFactory.create(**{**values, **kwargs})


def transvaginal_type() -> ExamType:
    """A transvaginal exam type that asks nothing at intake but identity (so only the probe
    stop is left once identity is confirmed)."""
    found = ExamType.objects.filter(code="us-tv-test").first()
    if found is not None:
        return found
    return ExamTypeFactory.create(
        code="us-tv-test",
        name="US transvaginal (non-obstetric)",
        modality=ModalityFactory.create(code="US"),
        body_part="Pelvis",
        prep_instructions="",
    )


def desk() -> User:
    """Who books and checks patients in for the tests (an administrator: every right)."""
    found = User.objects.filter(username="frontdesk-admin").first()
    return found or make_user(Role.ADMIN, "frontdesk-admin")


def arrived_exam(by: User, *, minutes: int = 0, **order: Any) -> Exam:
    """An exam of the transvaginal type, booked, arrived and identified at ``at(minutes)``
    (``by`` confirms the identity)."""
    with time_machine.travel(at(minutes) - dt.timedelta(hours=3), tick=False):
        exam = make_exam(
            ExamState.SCHEDULED,
            by=desk(),
            exam_type=transvaginal_type(),
            patient=order.pop("patient", None) or PatientFactory.create(),
            **order,
        )
    with time_machine.travel(at(minutes), tick=False):
        from radflow.exams.services import exam_arrive

        exam = exam_arrive(exam=exam, by=desk())
        IdentityCheck.objects.create(
            exam=exam, method=IdentityMethod.NAME_BIRTH_DATE, at=timezone.now(), by=by
        )
    return exam


def attach(exam: Exam, probe: Probe, by: User, *, minutes: int) -> ProbeUse:
    with time_machine.travel(at(minutes), tick=False):
        return probe_attach(exam=exam, probe=probe, by=by, cover_used=True, cover_lot="CV-2291")


def begin(exam: Exam, by: User, *, minutes: int, **kwargs: Any) -> Exam:
    with time_machine.travel(at(minutes), tick=False):
        return exam_begin(exam=exam, by=by, **kwargs)


def complete(exam: Exam, by: User, *, minutes: int) -> Exam:
    with time_machine.travel(at(minutes), tick=False):
        return exam_complete(exam=exam, by=by)


def used_exam(probe: Probe, by: User, *, minutes: int, **order: Any) -> Exam:
    """An exam that arrived, got ``probe``, began and ended: the probe touched its patient."""
    exam = arrived_exam(by, minutes=minutes, **order)
    attach(exam, probe, by, minutes=minutes + 1)
    begin(exam, by, minutes=minutes + 2)
    return complete(exam, by, minutes=minutes + 20)


def trophon() -> ReprocessingDevice:
    found = ReprocessingDevice.objects.filter(serial_number="TR5-88120").first()
    return found or ReprocessingDevice.objects.create(
        name="trophon2 — Women's imaging",
        kind=ReprocessorKind.HYDROGEN_PEROXIDE_MIST,
        manufacturer="Nanosonics",
        model_name="trophon2",
        serial_number="TR5-88120",
        cycle_minutes=7,
        qc_frequency=CheckFrequency.DAILY,
        qc_check="Self-test and chemical indicator",
    )


def cidex_opa(**kwargs: Any) -> DisinfectionAgent:
    values: dict[str, Any] = {
        "name": "Cidex OPA",
        "kind": AgentKind.OPA,
        "manufacturer": "ASP",
        "lot_number": "OPA-25117",
        "expires_on": dt.date(2026, 12, 31),
        "opened_on": dt.date(2026, 2, 25),
        "use_life_days": 14,
        "min_exposure_minutes": 12,
        "test_frequency": CheckFrequency.DAILY,
    }
    return DisinfectionAgent.objects.create(**{**values, **kwargs})


def hld(
    probe: Probe, by: User | None, *, minutes: int, passed: bool = True, **kwargs: Any
) -> Reprocessing:
    """An automated HLD cycle ending at ``at(minutes)``: passing, or failed by its result."""
    with time_machine.travel(at(minutes), tick=False):
        return reprocessing_record(
            probe=probe,
            by=by,
            method="hld_automated",
            device=kwargs.pop("device", None) or trophon(),
            cycle_id=kwargs.pop("cycle_id", f"C{minutes:04d}"),
            result="pass" if passed else "fail",
            indicator=kwargs.pop("indicator", "pass"),
            exposure_met=kwargs.pop("exposure_met", True),
            **kwargs,
        )
