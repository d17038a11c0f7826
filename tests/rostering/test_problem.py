"""The department's rows become the core instance the solver sees, and its answer comes back."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from radflow.rostering.models import (
    LeaveKind,
    LeaveRequest,
    PublicHoliday,
    RequestStatus,
    ShiftKind,
    ShiftPreference,
)
from radflow.rostering.problem import CLOSED_WEIGHT, build_problem, forbidden_successions
from tests.rostering.factories import (
    MONDAY,
    ShiftTypeFactory,
    cover,
    department,
    roster,
    sign_off,
)

pytestmark = pytest.mark.django_db


def test_minimum_rest_forbids_a_day_shift_after_a_night_but_not_a_night_after_a_day() -> None:
    dept = department()
    problem = build_problem(roster=roster())
    shifts = {shift.id: shift for shift in problem.instance.shifts}
    assert "US-D" in shifts["US-N"].forbidden_next  # 08:00 end, 08:00 start next day: 0 h rest
    assert "US-N" not in shifts["US-D"].forbidden_next
    assert "US-D" not in shifts["US-D"].forbidden_next
    late = ShiftTypeFactory.create(
        site=dept.site, modality=dept.us, code="US-E", start=time(14), end=time(22, 30)
    )
    rules = forbidden_successions([dept.day, dept.night, late], 11)
    assert "US-D" in rules["US-E"]  # 22:30 -> 08:00 is 9.5 h of rest
    assert rules["US-D"] == set()


def test_approved_leave_is_a_day_off_and_lowers_the_contracted_minutes() -> None:
    dept = department()
    member = dept.people[0]
    LeaveRequest.objects.create(
        staff=member,
        kind=LeaveKind.ANNUAL,
        start=MONDAY,
        end=MONDAY + timedelta(days=1),
        status=RequestStatus.APPROVED,
    )
    problem = build_problem(roster=roster())
    employee = next(e for e in problem.instance.employees if problem.staff_of[e.id] == member.pk)
    assert employee.days_off == frozenset({0, 1})
    # 2400 contracted less two weekdays of 480, flex 1200 either way.
    assert (employee.min_minutes, employee.max_minutes) == (240, 2640)


def test_leave_not_yet_decided_is_a_wish_to_be_off_every_shift_that_day() -> None:
    dept = department()
    member = dept.people[1]
    LeaveRequest.objects.create(
        staff=member,
        kind=LeaveKind.STUDY,
        start=MONDAY + timedelta(days=2),
        end=MONDAY + timedelta(days=2),
    )
    problem = build_problem(roster=roster())
    who = problem.employee_of[member.pk]
    wishes = {(r.employee, r.day, r.shift, r.weight) for r in problem.instance.shift_off}
    weight = dept.settings.leave_request_weight
    assert wishes == {(who, 2, "US-D", weight), (who, 2, "US-N", weight)}
    assert all(e.days_off == frozenset() for e in problem.instance.employees)


def test_preferences_become_requests_on_the_days_they_apply() -> None:
    dept = department()
    member = dept.people[2]
    ShiftPreference.objects.create(
        staff=member, shift_type=dept.night, weekday=4, wants=True, weight=7
    )
    ShiftPreference.objects.create(staff=member, on_date=MONDAY, wants=False, weight=9)
    problem = build_problem(roster=roster(weeks=2))
    who = problem.employee_of[member.pk]
    assert {(r.day, r.shift, r.weight) for r in problem.instance.shift_on if r.employee == who} == {
        (4, "US-N", 7),
        (11, "US-N", 7),
    }
    assert {(r.day, r.shift) for r in problem.instance.shift_off if r.employee == who} == {
        (0, "US-D"),
        (0, "US-N"),
    }


def test_cover_with_a_competency_counts_only_people_signed_off_for_it() -> None:
    dept = department()
    from radflow.catalog.models import Competency

    vascular = Competency.objects.create(code="us-vascular-venous", name="Venous")
    cover(dept.day, minimum=1, preferred=1, weekdays=(0,), competency=vascular)
    sign_off(dept.people[0], "us-vascular-venous")
    problem = build_problem(roster=roster())
    monday = [c for c in problem.instance.cover if c.day == 0 and c.shift == "US-D"]
    assert {(c.skill, c.minimum, c.requirement) for c in monday} == {
        (None, 2, 2),
        ("us-vascular-venous", 1, 1),
    }
    skilled = [e.id for e in problem.instance.employees if "us-vascular-venous" in e.skills]
    assert skilled == [problem.employee_of[dept.people[0].pk]]


def test_a_competency_lapsing_mid_roster_does_not_count_for_that_roster() -> None:
    dept = department()
    sign_off(dept.people[0], "us-msk", until=MONDAY + timedelta(days=3))
    problem = build_problem(roster=roster())
    assert all("us-msk" not in e.skills for e in problem.instance.employees)


def test_a_date_requirement_replaces_the_weekday_cover_and_unasked_shifts_are_closed() -> None:
    dept = department()
    from radflow.rostering.models import CoverageRequirement

    CoverageRequirement.objects.create(
        shift_type=dept.day, on_date=MONDAY + timedelta(days=3), minimum=1, preferred=1
    )
    weekend = ShiftTypeFactory.create(
        site=dept.site, modality=dept.us, code="US-W", kind=ShiftKind.WEEKEND, weekend_only=True
    )
    cover(weekend, minimum=1, weekdays=range(7))
    problem = build_problem(roster=roster())
    thursday = [c for c in problem.instance.cover if c.day == 3 and c.shift == "US-D"]
    assert [(c.minimum, c.requirement) for c in thursday] == [(1, 1)]
    tuesday_weekend = [c for c in problem.instance.cover if c.day == 1 and c.shift == "US-W"]
    assert [(c.requirement, c.over_weight) for c in tuesday_weekend] == [(0, CLOSED_WEIGHT)]
    assert (1, "US-W") in problem.closed and (5, "US-W") not in problem.closed


def test_fairness_terms_share_nights_weekends_and_holidays_among_who_may_work_them() -> None:
    dept = department()
    PublicHoliday.objects.create(on_date=MONDAY + timedelta(days=3), name="Founders' Day")
    problem = build_problem(roster=roster())
    terms = {f.name: f for f in problem.instance.fairness}
    assert set(terms) == {"nights US at TST", "weekends US at TST", "holidays US at TST"}
    assert terms["nights US at TST"].shifts == frozenset({"US-N"})
    assert len(terms["nights US at TST"].employees) == len(dept.people)
    assert terms["weekends US at TST"].days == frozenset({5, 6})
    assert terms["holidays US at TST"].days == frozenset({3})
    assert terms["nights US at TST"].weight == dept.settings.fairness_nights_weight


def test_a_nights_limit_is_split_over_several_night_shift_types() -> None:
    dept = department()
    ShiftTypeFactory.create(
        site=dept.site,
        modality=dept.us,
        code="US-N2",
        kind=ShiftKind.NIGHT,
        start=time(20),
        end=time(6),
        paid_minutes=600,
    )
    problem = build_problem(roster=roster(weeks=4))
    employee = problem.instance.employees[0]
    assert employee.max_shifts["US-N"] + employee.max_shifts["US-N2"] == 8
    assert employee.max_shifts["US-D"] == 28


def test_rows_and_assignments_map_back_and_forth() -> None:
    dept = department()
    problem = build_problem(roster=roster())
    who = problem.employee_of[dept.people[0].pk]
    rows = problem.rows({(who, 2): "US-N"})
    assert rows == [(dept.people[0].pk, MONDAY + timedelta(days=2), dept.night.pk)]
    assert problem.assignment_from_rows(rows) == {(who, 2): "US-N"}
    assert problem.humanize("works 6 days in a row (days 1\u20136) on day 2 (Wed)") == (
        "works 6 days in a row (Tue 2030-06-04 to Sun 2030-06-09) on Wed 2030-06-05"
    )
