"""Reads about orders: pre-authorization needs and windows, expiring approvals, SLA policies."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User

from radflow.catalog.models import ExamType
from radflow.core.exam_states import ExamState
from radflow.core.sla import ClockState
from radflow.exams.services import exam_schedule, exam_triage
from radflow.orders.models import Authorization, AuthStatus, Order, PayerAuthRule, SlaPolicy
from radflow.orders.selectors import (
    auth_booking_problem,
    auth_requirement,
    authorization_valid_on,
    expiring_authorizations,
    missing_requirements,
    order_clock,
    order_clock_state,
    requirement_labels,
    sla_policy_for,
)
from tests.billing.factories import PayerFactory
from tests.exams.factories import ultrasound_room
from tests.orders.factories import make_order

pytestmark = pytest.mark.django_db

#: Monday 9 March 2026, 09:00 in New York.
RECEIVED = dt.datetime(2026, 3, 9, 13, 0, tzinfo=dt.UTC)
MONDAY = dt.date(2026, 3, 9)


def day(offset: int) -> dt.date:
    return MONDAY + dt.timedelta(days=offset)


def auth_order(lead_time_days: int = 3, **fields: Any) -> Order:
    """An abdomen US order (CPT 76700) for a payer that needs a pre-authorization for it."""
    payer = PayerFactory.create(name="Cigna")
    PayerAuthRule.objects.create(
        payer=payer, procedure_code_id="76700", lead_time_days=lead_time_days
    )
    with time_machine.travel(RECEIVED, tick=False):
        return make_order(payer=payer, **fields)


def add_auth(
    order: Order, status: str, valid_from: int | None, valid_to: int | None
) -> Authorization:
    return Authorization.objects.create(
        order=order,
        status=status,
        number="CIG-1" if status == AuthStatus.APPROVED else "",
        valid_from=None if valid_from is None else day(valid_from),
        valid_to=None if valid_to is None else day(valid_to),
        requested_at=RECEIVED,
    )


# --- auth_requirement -------------------------------------------------------------------------


def test_an_order_without_a_payer_needs_no_authorization(reference: None) -> None:
    assert auth_requirement(make_order()).required is False


def test_a_payer_without_a_rule_for_the_code_needs_no_authorization(reference: None) -> None:
    payer = PayerFactory.create()
    PayerAuthRule.objects.create(payer=payer, procedure_code_id="76856", lead_time_days=5)
    assert auth_requirement(make_order(payer=payer)).required is False


def test_a_rule_saying_no_authorization_is_needed_is_respected(reference: None) -> None:
    payer = PayerFactory.create()
    PayerAuthRule.objects.create(payer=payer, procedure_code_id="76700", auth_required=False)
    assert auth_requirement(make_order(payer=payer)).required is False


def test_the_longest_lead_time_of_the_exams_codes_applies(reference: None) -> None:
    payer = PayerFactory.create()
    PayerAuthRule.objects.create(payer=payer, procedure_code_id="76705", lead_time_days=2)
    PayerAuthRule.objects.create(payer=payer, procedure_code_id="76981", lead_time_days=5)
    need = auth_requirement(make_order(payer=payer, exam_type="us-liver-elastography"))
    assert (need.required, need.lead_time_days, need.codes) == (True, 5, ("76705", "76981"))
    assert need.as_details() == {"auth_required": True, "auth_codes": ["76705", "76981"]}


# --- auth_booking_problem ---------------------------------------------------------------------


def test_no_authorization_needed_means_any_day_may_be_booked(reference: None) -> None:
    assert auth_booking_problem(make_order(), day(0)) == ""


def test_while_pending_a_booking_must_wait_for_the_lead_time(reference: None) -> None:
    order = auth_order(lead_time_days=3)
    add_auth(order, AuthStatus.PENDING, None, None)
    assert auth_booking_problem(order, day(2)) == (
        "The payer needs 3 days to authorize; without an approved authorization the earliest "
        "date is 2026-03-12."
    )
    assert auth_booking_problem(order, day(3)) == ""
    assert auth_booking_problem(order, day(30)) == ""


def test_with_no_request_yet_the_lead_time_also_applies(reference: None) -> None:
    order = auth_order(lead_time_days=1)
    assert auth_booking_problem(order, day(0)) != ""
    assert auth_booking_problem(order, day(1)) == ""


def test_an_approved_window_is_the_only_bookable_range(reference: None) -> None:
    order = auth_order()
    add_auth(order, AuthStatus.APPROVED, 1, 5)
    assert auth_booking_problem(order, day(1)) == ""
    assert auth_booking_problem(order, day(5)) == ""
    assert auth_booking_problem(order, day(0)) == (
        "2026-03-09 is outside the approved authorization window (2026-03-10 to 2026-03-14)."
    )
    assert "2026-03-15 is outside" in auth_booking_problem(order, day(6))


def test_any_of_several_approved_windows_will_do(reference: None) -> None:
    order = auth_order()
    add_auth(order, AuthStatus.APPROVED, 1, 2)
    add_auth(order, AuthStatus.APPROVED, 10, None)
    assert auth_booking_problem(order, day(2)) == ""
    assert auth_booking_problem(order, day(40)) == ""
    problem = auth_booking_problem(order, day(5))
    assert problem.startswith("2026-03-14 is outside the approved authorization window")
    assert "2026-03-10 to 2026-03-11" in problem and "2026-03-19 to …" in problem


def test_a_denial_blocks_booking_until_a_new_request_is_pending(reference: None) -> None:
    order = auth_order(lead_time_days=0)
    add_auth(order, AuthStatus.DENIED, None, None)
    assert auth_booking_problem(order, day(10)) == (
        "The payer denied the authorization; booking needs an override with a reason."
    )
    add_auth(order, AuthStatus.PENDING, None, None)
    assert auth_booking_problem(order, day(10)) == ""


def test_authorization_valid_on_reads_the_approved_window(reference: None) -> None:
    order = auth_order()
    add_auth(order, AuthStatus.DENIED, None, None)
    approved = add_auth(order, AuthStatus.APPROVED, 1, 5)
    assert authorization_valid_on(order, day(0)) is None
    assert authorization_valid_on(order, day(3)) == approved
    assert authorization_valid_on(order, day(6)) is None


# --- expiring_authorizations ------------------------------------------------------------------


def test_an_approval_ending_before_the_booked_day_is_flagged(
    reference: None, coordinator: User
) -> None:
    with time_machine.travel(RECEIVED, tick=False):
        expiring, fine = auth_order(), auth_order()
        for order, valid_to in ((expiring, 3), (fine, 4)):
            add_auth(order, AuthStatus.APPROVED, 0, valid_to)
            exam = exam_triage(exam=order.exam, by=coordinator)
            exam_schedule(
                exam=exam,
                by=coordinator,
                room=ultrasound_room(),
                start=RECEIVED + dt.timedelta(days=4),
                override_reason="Payer extension requested by phone",
            )
        # An unbooked order with an approval is not flagged, whatever its dates.
        unbooked = auth_order()
        add_auth(unbooked, AuthStatus.APPROVED, 0, 0)
    flagged = list(expiring_authorizations())
    assert [a.order_id for a in flagged] == [expiring.pk]
    assert flagged[0].booked_day == day(4)  # type: ignore[attr-defined]
    expiring.exam.refresh_from_db()
    assert expiring.exam.state == ExamState.SCHEDULED


# --- SLA --------------------------------------------------------------------------------------


def test_the_exam_types_own_policy_wins_over_the_general_one(reference: None) -> None:
    carotid = make_order(exam_type="us-carotid-duplex")
    policy = sla_policy_for(carotid)
    assert policy is not None
    assert (policy.exam_type, policy.target_minutes) == (carotid.exam_type, 10080)
    general = sla_policy_for(make_order())
    assert general is not None
    assert (general.exam_type, general.target_minutes) == (None, 20160)


def test_a_stat_order_uses_the_general_stat_policy_even_for_a_type_with_its_own_routine(
    reference: None,
) -> None:
    policy = sla_policy_for(make_order(exam_type="us-carotid-duplex", priority="stat"))
    assert policy is not None
    assert (policy.exam_type, policy.target_minutes) == (None, 60)


def test_without_a_policy_there_is_no_clock(reference: None) -> None:
    SlaPolicy.objects.filter(priority="urgent").delete()
    order = make_order(priority="urgent")
    assert sla_policy_for(order) is None
    assert (order.sla_due_at, order_clock(order), order_clock_state(order)) == (None, None, None)


def test_the_order_clock_reads_on_track_warning_breached_and_stopped(reference: None) -> None:
    with time_machine.travel(RECEIVED, tick=False):
        order = make_order(priority="stat")
    clock = order_clock(order)
    assert clock is not None and clock.due_at == RECEIVED + dt.timedelta(hours=1)

    def at(minutes: int) -> dt.datetime:
        return RECEIVED + dt.timedelta(minutes=minutes)

    assert order_clock_state(order, now=at(10)) is ClockState.ON_TRACK
    assert order_clock_state(order, now=at(50)) is ClockState.WARNING
    assert order_clock_state(order, now=at(61)) is ClockState.BREACHED
    assert order_clock_state(order, now=at(61), started=True) is ClockState.STOPPED


# --- completeness -----------------------------------------------------------------------------


def test_missing_requirements_follow_the_table_order_with_labels(reference: None) -> None:
    order = make_order(complete=False, exam_type="us-ob-standard")
    missing = missing_requirements(order)
    assert missing == [
        "clinical_indication",
        "diagnosis_code",
        "signed_order",
        "lmp",
        "ordering_provider",
    ]
    assert requirement_labels(missing) == [
        "Clinical indication",
        "ICD-10-CM diagnosis code",
        "Signed order",
        "Last menstrual period (LMP)",
        "Ordering provider",
    ]
    assert requirement_labels(["retired_rule"]) == ["retired_rule"]


def test_an_inactive_exam_type_still_reads_its_rules(reference: None) -> None:
    order = make_order(exam_type="us-ob-standard", lmp_date=MONDAY)
    ExamType.objects.filter(pk=order.exam_type_id).update(active=False)
    assert missing_requirements(order) == []
