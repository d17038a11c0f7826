"""Exams walked through the real state machine to the state a test needs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam
from radflow.exams.services import (
    exam_arrive,
    exam_begin,
    exam_bill,
    exam_complete,
    exam_report,
    exam_schedule,
    exam_sign,
    exam_triage,
)
from radflow.scheduling.models import Modality, Room
from tests.orders.factories import make_order
from tests.scheduling.factories import RoomFactory

#: The path from requested to billed, in order.
PATH = [
    ExamState.REQUESTED,
    ExamState.AUTHORIZED,  # triage moves on to authorized when no authorization is needed
    ExamState.SCHEDULED,
    ExamState.ARRIVED,
    ExamState.IN_PROGRESS,
    ExamState.COMPLETED,
    ExamState.REPORTED,
    ExamState.SIGNED,
    ExamState.BILLED,
]

#: Every hard stop overridden, for tests that are not about intake.
OVERRIDE_ALL = {
    code: "Test: intake is not what this test is about"
    for code in ("identity", "screening", "consent", "prep", "interpreter", "authorization")
}


def ultrasound_room(**kwargs: Any) -> Room:
    modality, _ = Modality.objects.get_or_create(code="US", defaults={"name": "Ultrasound"})
    return RoomFactory.create(modality=modality, **kwargs)


def next_slot(hours: int = 2) -> dt.datetime:
    """A start time safely in the future, on the minute."""
    return (timezone.now() + dt.timedelta(hours=hours)).replace(second=0, microsecond=0)


def advance(
    exam: Exam,
    to: ExamState,
    *,
    by: User,
    room: Room | None = None,
    start: dt.datetime | None = None,
) -> Exam:
    """Move ``exam`` along ``PATH`` to ``to`` with ``by`` (a superuser unless a test says)."""
    exam.refresh_from_db()
    steps = {
        ExamState.AUTHORIZED: lambda e: exam_triage(exam=e, by=by),
        ExamState.SCHEDULED: lambda e: exam_schedule(
            exam=e, by=by, room=room or ultrasound_room(), start=start or next_slot()
        ),
        ExamState.ARRIVED: lambda e: exam_arrive(exam=e, by=by),
        ExamState.IN_PROGRESS: lambda e: exam_begin(exam=e, by=by, overrides=OVERRIDE_ALL),
        ExamState.COMPLETED: lambda e: exam_complete(exam=e, by=by),
        ExamState.REPORTED: lambda e: exam_report(exam=e, by=by, text="Normal study."),
        ExamState.SIGNED: lambda e: exam_sign(exam=e, by=by),
        ExamState.BILLED: lambda e: exam_bill(exam=e, by=by),
    }
    target = PATH.index(to)
    while PATH.index(ExamState(exam.state)) < target:
        nxt = PATH[PATH.index(ExamState(exam.state)) + 1]
        exam = steps[nxt](exam)
    return exam


def make_exam(to: ExamState = ExamState.REQUESTED, *, by: User, **order_kwargs: Any) -> Exam:
    order = make_order(by=by, **order_kwargs)
    return advance(order.exam, to, by=by)
