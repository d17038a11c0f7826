"""The demo's exam history: every state, believable rates, consistent timelines, a free future."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.utils import timezone
from pytest_django import DjangoDbBlocker

from radflow.core.exam_states import BEFORE_ARRIVAL, STARTED, ExamAction, ExamState
from radflow.demo import demo_generate
from radflow.exams import demo as exam_demo
from radflow.exams.models import AccessionSequence, Exam, ExamTransition, Override
from radflow.exams.services import HOLDS_ROOM
from radflow.intake.selectors import exam_hard_stops
from radflow.orders.models import (
    CompletenessRule,
    Order,
    OutreachEntry,
    PayerAuthRule,
    SlaEscalation,
)
from radflow.orders.selectors import missing_requirements

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 2)  # a Monday
NOW = datetime.combine(TODAY, time(10, 30), tzinfo=ZoneInfo("America/New_York"))


@pytest.fixture(scope="module", autouse=True)
def department(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[None]:
    """One small demo (six weeks of history at a tenth of the volume) shared by the module."""
    with pytest.MonkeyPatch.context() as patch, django_db_blocker.unblock():
        patch.setattr(exam_demo, "HISTORY_DAYS", 42)
        patch.setattr(exam_demo, "SCALE", 0.12)
        with transaction.atomic():
            demo_generate(seed=1, patients=200, today=TODAY)
            yield
            transaction.set_rollback(True)


def test_every_exam_state_appears() -> None:
    states = set(Exam.objects.values_list("state", flat=True).distinct())

    assert states == {state.value for state in ExamState}


def test_no_show_rates_stay_between_two_and_nine_percent_per_modality() -> None:
    booked = Exam.objects.filter(scheduled_start__lt=NOW - timedelta(hours=2)).exclude(
        state=ExamState.CANCELLED
    )
    totals: dict[str, int] = defaultdict(int)
    no_shows: dict[str, int] = defaultdict(int)
    for modality, state in booked.values_list("room__modality_id", "state"):
        totals[modality] += 1
        no_shows[modality] += state == ExamState.NO_SHOW

    for modality in ("US", "CT", "MR", "DX", "MG"):
        assert totals[modality] >= 40, modality
        assert 0.02 <= no_shows[modality] / totals[modality] <= 0.09, modality


def test_each_exams_transitions_run_forward_and_match_its_timestamps() -> None:
    exams = {exam.pk: exam for exam in Exam.objects.all()}
    timeline: dict[object, list[ExamTransition]] = defaultdict(list)
    for row in ExamTransition.objects.order_by("exam_id", "at", "id"):
        timeline[row.exam_id].append(row)

    for pk, exam in exams.items():
        state, last = ExamState.REQUESTED.value, exam.requested_at
        stamped: dict[str, datetime] = {}
        for row in timeline.get(pk, []):
            assert row.from_state == state, exam.accession_number
            assert row.at >= last, exam.accession_number
            state, last = row.to_state, row.at
            if row.action != ExamAction.RESCHEDULE:
                stamped[f"{row.to_state}_at"] = row.at
        assert exam.state == state, exam.accession_number
        assert exam.state_changed_at == last, exam.accession_number
        for target in ExamState:
            if target is ExamState.REQUESTED:
                continue
            name = f"{target.value}_at"
            assert getattr(exam, name) == stamped.get(name), (exam.accession_number, name)
        assert last <= NOW


def test_no_room_is_double_booked_among_active_bookings() -> None:
    bookings = Exam.objects.filter(state__in=HOLDS_ROOM).order_by("room_id", "scheduled_start")
    previous_room, previous_end = None, None
    for room_id, start, end in bookings.values_list("room_id", "scheduled_start", "scheduled_end"):
        assert room_id is not None and start is not None and end is not None
        if room_id == previous_room and previous_end is not None:
            assert start >= previous_end
        previous_room, previous_end = room_id, end


def test_the_next_four_weeks_hold_scheduled_exams() -> None:
    ahead = Exam.objects.filter(
        state=ExamState.SCHEDULED,
        scheduled_start__gte=NOW + timedelta(days=1),
        scheduled_start__lt=NOW + timedelta(days=29),
    )
    days = {timezone.localdate(start) for start in ahead.values_list("scheduled_start", flat=True)}

    assert len(days) >= 15
    assert ahead.filter(order__authorizations__status="pending").exists()


def test_the_accession_sequence_continues_after_the_last_number() -> None:
    numbers = sorted(int(n[2:]) for n in Exam.objects.values_list("accession_number", flat=True))

    assert numbers == list(range(1, len(numbers) + 1))
    assert AccessionSequence.objects.get(name="accession").next_value == numbers[-1] + 1


def test_open_stat_orders_have_their_clock_still_running() -> None:
    stats = Order.objects.filter(
        priority="stat", exam__state__in=[s.value for s in BEFORE_ARRIVAL], received_at__lte=NOW
    ).filter(received_at__gte=NOW - timedelta(hours=1))

    assert stats.count() >= 2
    for order in stats:
        assert order.sla_due_at is not None and order.sla_due_at > NOW


def test_incomplete_referrals_list_what_the_selector_finds_missing() -> None:
    incomplete = list(Order.objects.filter(is_complete=False))

    assert incomplete
    for order in incomplete:
        assert order.missing
        assert order.missing == missing_requirements(order)
        assert order.exam.state == ExamState.REQUESTED
        assert OutreachEntry.objects.filter(order=order).exists()
    complete = Order.objects.filter(is_complete=True).order_by("received_at")[:200]
    for order in complete:
        assert missing_requirements(order) == [], order.pk


def test_performed_exams_met_their_hard_stops_or_record_an_override() -> None:
    performed = Exam.objects.filter(state__in=[s.value for s in STARTED]).order_by("in_progress_at")
    for exam in performed[:150]:
        assert exam.in_progress_at is not None
        stops = exam_hard_stops(exam, on=timezone.localdate(exam.in_progress_at))
        overridden = set(Override.objects.filter(exam=exam).values_list("stop", flat=True))
        assert {stop.code for stop in stops} <= overridden, exam.accession_number


def test_billed_exams_carry_charges_and_the_payers_rules_exist() -> None:
    billed = Exam.objects.filter(state=ExamState.BILLED)

    assert billed.exists()
    assert not billed.filter(charges__isnull=True).exists()
    assert PayerAuthRule.objects.filter(payer__payer_code="ANT-PPO").exists()
    assert CompletenessRule.objects.filter(
        requirement="ordering_provider_npi", payer__payer_type="medicare"
    ).exists()


def test_clocks_that_passed_before_the_demo_are_not_escalated_again_by_the_worker() -> None:
    from radflow.orders.services import sla_escalate

    assert SlaEscalation.objects.exists()
    assert sla_escalate(now=NOW) == []
