"""The demo step: every performer may perform their modalities' exams; the board has content."""

from __future__ import annotations

import datetime as dt
import importlib
from collections import defaultdict

import pytest

from radflow.catalog.models import ExamType
from radflow.credentials.models import CrossTrainingPlan, SupervisedCase
from radflow.credentials.selectors import _evaluate_many, ce_shortfalls, dashboard
from radflow.demo import STEPS, DemoContext
from radflow.staff.models import JobRole, StaffMember

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 2)


@pytest.fixture
def demo_staff() -> DemoContext:
    ctx = DemoContext(seed=1, today=TODAY, patients_count=10)
    names = [step.name for step in STEPS]
    for step in STEPS[: names.index("credentials and competencies") + 1]:
        importlib.import_module(step.module).generate(ctx)
    return ctx


def test_every_demo_performer_may_perform_their_modalities_exams_all_year(
    demo_staff: DemoContext,
) -> None:
    performers = list(
        StaffMember.objects.filter(
            job_role__in=[JobRole.SONOGRAPHER, JobRole.TECHNOLOGIST]
        ).prefetch_related("modalities")
    )
    by_modality: dict[str, list[StaffMember]] = defaultdict(list)
    for member in performers:
        for modality in member.modalities.all():
            by_modality[modality.code].append(member)
    problems = []
    for exam_type in ExamType.objects.filter(active=True):
        people = by_modality[exam_type.modality_id]
        for day in (TODAY - dt.timedelta(days=366), TODAY):
            for pk, verdict in _evaluate_many(people, exam_type, day).items():
                if not verdict.ok:
                    problems.append((exam_type.code, day, pk, verdict.reasons))
    assert problems == []


def test_the_demo_board_has_expiring_expired_lapsed_and_plans(demo_staff: DemoContext) -> None:
    board = dashboard(on=TODAY)
    assert board.expired_count == 3
    assert all(board.bands[band] for band in ("≤ 30 days", "≤ 60 days", "≤ 90 days"))
    assert len(board.lapsed) >= 3
    assert len(board.plans) == 4
    assert SupervisedCase.objects.count() > 0
    assert {p.status for p in CrossTrainingPlan.objects.all()} == {"active"}
    assert len(board.unverified) == 1
    shortfalls = ce_shortfalls(staff_ids=StaffMember.objects.values_list("pk", flat=True), on=TODAY)
    assert 0 < sum(1 for value in shortfalls.values() if value > 0) < len(shortfalls)


def test_the_manager_whose_registry_expired_is_not_eligible_for_ultrasound(
    demo_staff: DemoContext,
) -> None:
    from radflow.credentials.selectors import may_perform

    manager = StaffMember.objects.get(job_role=JobRole.MANAGER)
    verdict = may_perform(
        staff=manager, exam_type=ExamType.objects.get(code="us-abdomen-complete"), on=TODAY
    )
    assert verdict.reasons[0].startswith("ARDMS RDMS (AB) expired on 2026-02-")
