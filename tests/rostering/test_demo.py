"""The demo's roster step: a published six-week roster with every minimum cover met."""

from __future__ import annotations

import importlib
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from radflow.demo import STEPS, DemoContext
from radflow.rostering import selectors
from radflow.rostering.models import (
    LeaveRequest,
    Roster,
    RosterRun,
    RosterStatus,
    RunKind,
    RunStatus,
    ShiftType,
    SickCall,
    SwapRequest,
    SwapStatus,
)

pytestmark = pytest.mark.django_db(transaction=False)

TODAY = date(2026, 11, 25)  # a Wednesday; the roster holds Thanksgiving, Christmas, New Year
NEEDED = {
    "reference data",
    "sites, rooms and equipment",
    "staff",
    "credentials and competencies",
    "demo logins",
    "rosters",
}


@time_machine.travel(datetime(2026, 11, 25, 9, 0, tzinfo=ZoneInfo("America/New_York")))
def test_the_demo_publishes_a_roster_meeting_every_minimum_cover() -> None:
    ctx = DemoContext(seed=1, today=TODAY, patients_count=10)
    for step in STEPS:
        if step.name in NEEDED:
            importlib.import_module(step.module).generate(ctx)

    roster = Roster.objects.get()
    assert roster.status == RosterStatus.PUBLISHED
    assert roster.start == date(2026, 11, 23) and roster.weeks == 6
    run = RosterRun.objects.get(roster=roster, kind=RunKind.GENERATE)
    assert run.status == RunStatus.FINISHED
    assert run.coverage
    assert all(row["assigned"] >= row["minimum"] for row in run.coverage)
    assert not any(row["closed"] for row in run.coverage)
    assert {code[:4] for code in ShiftType.objects.values_list("code", flat=True)} >= {
        "MAIN",
        "OIC-",
        "WHC-",
    }
    assert LeaveRequest.objects.filter(status="requested").exists()
    assert LeaveRequest.objects.filter(status="approved").exists()
    assert SwapRequest.objects.filter(status=SwapStatus.REQUESTED).count() == 1
    sick = SickCall.objects.get()
    assert sick.run is not None
    assert sick.applied_at is not None, (sick.run.conflicts, sick.run.error)
    rota = selectors.on_call_rota(start=TODAY, end=TODAY + timedelta(days=6))
    assert all(day.shifts for day in rota)
