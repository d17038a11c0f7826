"""The demo's waitlist: a handful of open entries, some booked later, some not booked yet, that
the board's freed slots can rank."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from radflow.core.exam_states import ExamState
from radflow.demo import demo_generate
from radflow.exams import demo as exam_demo
from radflow.waitlist.models import WaitlistEntry, WaitlistStatus

pytestmark = pytest.mark.django_db


def test_the_demo_puts_booked_and_unbooked_exams_on_the_waitlist(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(exam_demo, "HISTORY_DAYS", 14)
    monkeypatch.setattr(exam_demo, "SCALE", 0.12)
    with transaction.atomic():
        demo_generate(seed=1, patients=200, today=timezone.localdate())
        entries = list(WaitlistEntry.objects.select_related("order__exam"))
        states = {e.order.exam.state for e in entries}
        transaction.set_rollback(True)
    assert 6 <= len(entries) <= 12
    assert {e.status for e in entries} == {WaitlistStatus.ACTIVE}
    assert states == {ExamState.SCHEDULED, ExamState.AUTHORIZED}
    assert all(e.priority == e.order.priority for e in entries)
