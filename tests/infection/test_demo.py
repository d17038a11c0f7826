"""The demo's probe history: every endocavitary exam traced to its probe, a passing cycle between
any two patients, a few failed cycles, tests and checks, and one probe left waiting for HLD."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, time
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from pytest_django import DjangoDbBlocker

from radflow.core.exam_states import ExamState
from radflow.demo import demo_generate
from radflow.exams import demo as exam_demo
from radflow.exams.models import Exam
from radflow.infection import selectors
from radflow.infection.demo import ENDOCAVITARY_EXAM_TYPES
from radflow.infection.models import DeviceQcLog, ProbeUse, Reprocessing, SolutionTest
from radflow.intake.selectors import exam_hard_stops

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 2)  # a Monday
NOW = datetime.combine(TODAY, time(10, 30), tzinfo=ZoneInfo("America/New_York"))


@pytest.fixture(scope="module", autouse=True)
def department(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch, django_db_blocker.unblock():
        patch.setattr(exam_demo, "HISTORY_DAYS", 42)
        patch.setattr(exam_demo, "SCALE", 0.12)
        with transaction.atomic():
            demo_generate(seed=1, patients=200, today=TODAY)
            yield
            transaction.set_rollback(True)


def test_every_endocavitary_exam_that_began_is_traced_to_a_probe() -> None:
    begun = Exam.objects.filter(
        in_progress_at__isnull=False,
        order__exam_type__code__in=ENDOCAVITARY_EXAM_TYPES,
        room__isnull=False,
    )
    traced = set(ProbeUse.objects.values_list("exam_id", flat=True))
    assert begun.count() >= 10
    assert set(begun.values_list("pk", flat=True)) <= traced
    assert not ProbeUse.objects.filter(cover_lot="").exists()


def test_between_any_two_patients_the_probe_passed_hld_but_for_the_waiting_probe() -> None:
    uses: dict[object, list[datetime]] = defaultdict(list)
    for row in selectors.begun_uses().values("probe_id", "used_at").order_by("used_at"):
        uses[row["probe_id"]].append(row["used_at"])
    passing: dict[object, list[datetime]] = defaultdict(list)
    for probe_id, ended in Reprocessing.objects.exclude(level="none").values_list(
        "probe_id", "ended_at"
    ):
        passing[probe_id].append(ended)
    for probe, times in uses.items():
        for before, after in pairwise(times):
            assert any(before < t < after for t in passing[probe]), probe


def test_a_few_cycles_failed_and_were_repeated() -> None:
    failed = list(Reprocessing.objects.filter(level="none"))
    assert len(failed) >= 4
    for cycle in failed:
        assert cycle.problems
        repeat = (
            Reprocessing.objects.filter(probe=cycle.probe, ended_at__gt=cycle.ended_at)
            .order_by("ended_at")
            .first()
        )
        assert repeat is not None and repeat.level == "high"


def test_solution_tests_and_device_checks_cover_the_year_with_a_failure_each() -> None:
    assert SolutionTest.objects.count() >= 300
    assert SolutionTest.objects.filter(result="fail").count() == 1
    assert DeviceQcLog.objects.filter(result="fail").count() >= 2
    statuses = {row.subject.name: row.status.state for row in selectors.device_qc_status(TODAY)}
    assert "due" in statuses.values()


def test_today_one_probe_waits_for_hld_and_its_exam_shows_the_stop() -> None:
    board = selectors.probe_board()
    endocavitary = [row for row in board if row.probe.probe_type == "endocavitary"]
    waiting = [row for row in endocavitary if row.readiness == "needs_reprocessing"]
    assert len(waiting) == 1
    assert {row.readiness for row in endocavitary} <= {"ready", "in_use", "needs_reprocessing"}
    blocked = ProbeUse.objects.get(
        probe=waiting[0].probe, exam__state__in=[ExamState.ARRIVED, ExamState.SCHEDULED]
    ).exam
    stops = {s.code: s.detail for s in exam_hard_stops(blocked, on=TODAY)}
    assert stops["probe"].startswith(f"Probe not reprocessed: {waiting[0].probe}")
