"""The probe hard stop (issue 10): a semi-critical probe that has not passed high-level
disinfection since its last use can neither be attached to a new exam nor begin one; only an
infection preventionist may override it, with a reason that lands on the override report."""

from __future__ import annotations

import pytest
import time_machine
from django.contrib.auth.models import User
from django.urls import reverse

from radflow.core.errors import Conflict, PermissionDenied, ValidationFailed
from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam, Override
from radflow.exams.selectors import override_search
from radflow.infection.models import ProbeUse
from radflow.infection.selectors import probe_problems
from radflow.infection.services import probe_stop_override
from radflow.intake.selectors import exam_hard_stops
from tests.conftest import client_for
from tests.infection.factories import (
    arrived_exam,
    at,
    attach,
    begin,
    endocavitary_probe,
    hld,
    used_exam,
)

pytestmark = pytest.mark.django_db


def state_of(exam: Exam) -> str:
    return Exam.objects.get(pk=exam.pk).state


def test_a_probe_used_without_hld_since_cannot_be_attached_to_the_next_exam(
    technologist: User,
) -> None:
    probe = endocavitary_probe()
    first = used_exam(probe, technologist, minutes=0)
    second = arrived_exam(technologist, minutes=30)

    with pytest.raises(Conflict) as refused:
        attach(second, probe, technologist, minutes=31)

    assert refused.value.code == "probe_not_reprocessed"
    assert refused.value.message == (
        "IC5-9-D Endocavitary (EV-204417) has not had a passing high-level disinfection since "
        f"its last use (exam {first.accession_number}, 2026-03-02 08:02): reprocess it first, "
        "or use another probe."
    )
    assert not ProbeUse.objects.filter(exam=second).exists()


def test_use_then_no_hld_then_failed_cycle_then_passing_cycle(technologist: User) -> None:
    """Two exams hold the probe (attached at check-in); the first begins with it, so the second
    is refused until a passing cycle: a failed one changes nothing."""
    probe = endocavitary_probe()
    first = arrived_exam(technologist, minutes=0)
    second = arrived_exam(technologist, minutes=5)
    attach(first, probe, technologist, minutes=1)
    attach(second, probe, technologist, minutes=6)
    begin(first, technologist, minutes=10)

    # Used, no HLD: the second exam is refused, and says why.
    with pytest.raises(Conflict) as refused:
        begin(second, technologist, minutes=40)
    assert refused.value.code == "hard_stop"
    assert refused.value.message == (
        "The exam cannot begin: Probe not reprocessed: IC5-9-D Endocavitary (EV-204417) was "
        f"used on exam {first.accession_number} at 2026-03-02 08:10 with no passing high-level "
        "disinfection since."
    )
    assert state_of(second) == ExamState.ARRIVED

    # A failed cycle: still refused.
    failed = hld(probe, technologist, minutes=45, passed=False)
    assert not failed.passed
    with pytest.raises(Conflict):
        begin(second, technologist, minutes=50)
    assert state_of(second) == ExamState.ARRIVED

    # A cycle that passed but whose indicator failed is no better.
    hld(probe, technologist, minutes=55, indicator="fail")
    assert probe_problems(second) != ()

    # A passing cycle: the exam begins, with no override.
    hld(probe, technologist, minutes=60)
    assert probe_problems(second) == ()
    begun = begin(second, technologist, minutes=65)
    assert begun.state == ExamState.IN_PROGRESS
    assert not Override.objects.filter(exam=second).exists()


def test_a_technologist_may_not_override_the_probe_stop(technologist: User) -> None:
    probe = endocavitary_probe()
    first, second = arrived_exam(technologist, minutes=0), arrived_exam(technologist, minutes=5)
    attach(first, probe, technologist, minutes=1)
    attach(second, probe, technologist, minutes=6)
    begin(first, technologist, minutes=10)

    with pytest.raises(PermissionDenied) as refused:
        begin(second, technologist, minutes=40, overrides={"probe": "Patient waited an hour"})
    assert refused.value.message.startswith("Your role may not override the probe hard stop")
    with pytest.raises(PermissionDenied) as refused_again:
        probe_stop_override(exam=second, by=technologist, reason="Patient waited an hour")
    assert refused_again.value.message == (
        "Only an infection preventionist may override the probe hard stop."
    )
    assert state_of(second) == ExamState.ARRIVED
    assert not Override.objects.filter(exam=second).exists()


def test_a_coordinator_who_overrides_other_stops_may_not_override_this_one(
    technologist: User, coordinator: User
) -> None:
    probe = endocavitary_probe()
    first, second = arrived_exam(technologist, minutes=0), arrived_exam(technologist, minutes=5)
    attach(first, probe, technologist, minutes=1)
    attach(second, probe, technologist, minutes=6)
    begin(first, technologist, minutes=10)

    assert coordinator.has_perm("exams.override_hard_stop")
    with pytest.raises(PermissionDenied):
        probe_stop_override(exam=second, by=coordinator, reason="Urgent")
    assert not Override.objects.filter(exam=second).exists()


def test_an_infection_preventionist_overrides_with_a_reason_onto_the_override_report(
    technologist: User, preventionist: User, coordinator: User
) -> None:
    probe = endocavitary_probe()
    first, second = arrived_exam(technologist, minutes=0), arrived_exam(technologist, minutes=5)
    attach(first, probe, technologist, minutes=1)
    attach(second, probe, technologist, minutes=6)
    begin(first, technologist, minutes=10)

    with time_machine.travel(at(35), tick=False), pytest.raises(ValidationFailed):
        probe_stop_override(exam=second, by=preventionist, reason="   ")
    with time_machine.travel(at(35), tick=False):
        override = probe_stop_override(
            exam=second,
            by=preventionist,
            reason="First exam was aborted before insertion; probe sheathed and unused.",
        )
    assert (override.stop, override.action, override.roles) == (
        "probe",
        "begin",
        "infection_preventionist",
    )
    assert override.detail.startswith("Probe not reprocessed: IC5-9-D Endocavitary")

    # The technologist may now begin: the stop is released for this exam.
    assert "probe" not in [s.code for s in exam_hard_stops(second, on=at(40).date())]
    assert begin(second, technologist, minutes=40).state == ExamState.IN_PROGRESS

    # It is on the override report, which the coordinator reads.
    assert list(override_search(stop="probe")) == [override]
    html = client_for(coordinator).get(reverse("exams:overrides") + "?stop=probe").content.decode()
    assert second.accession_number in html
    assert "First exam was aborted before insertion" in html


def test_an_override_only_releases_the_uses_before_it(
    technologist: User, preventionist: User
) -> None:
    probe = endocavitary_probe()
    first, second, third = (arrived_exam(technologist, minutes=m) for m in (0, 5, 6))
    for exam, minute in ((first, 1), (second, 6), (third, 7)):
        attach(exam, probe, technologist, minutes=minute)
    begin(first, technologist, minutes=10)
    with time_machine.travel(at(35), tick=False):
        probe_stop_override(exam=second, by=preventionist, reason="Reviewed: aborted exam")
        probe_stop_override(exam=third, by=preventionist, reason="Reviewed: aborted exam")
    assert probe_problems(second) == ()
    begin(third, technologist, minutes=37)

    # The probe touched a patient after the override: the second exam is blocked again.
    assert probe_problems(second) == (
        "IC5-9-D Endocavitary (EV-204417) was used on exam "
        f"{third.accession_number} at 2026-03-02 08:37 with no passing high-level "
        "disinfection since",
    )


def test_a_probe_not_attached_to_the_exam_does_not_stop_it(technologist: User) -> None:
    probe = endocavitary_probe()
    used_exam(probe, technologist, minutes=0)
    other = arrived_exam(technologist, minutes=30)
    assert probe_problems(other) == ()
    assert begin(other, technologist, minutes=31).state == ExamState.IN_PROGRESS
