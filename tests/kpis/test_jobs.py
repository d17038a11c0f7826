"""The KPI jobs: third-next-available snapshots, the nightly catch-up, the rebuild command."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command

from radflow.catalog.models import ExamType
from radflow.kpis import capacity
from radflow.kpis.jobs import kpi_nightly
from radflow.kpis.models import KpiBacklogSnapshot, KpiDirtyDay, KpiJobState, KpiRoomDay
from radflow.kpis.rollups import mark_dirty, rollups_refresh
from radflow.kpis.selectors import kpi_breakdown, kpi_values
from radflow.scheduling.models import Reservation, Room, RoomClosure
from radflow.worklists.management.commands import worker
from tests.scheduling.factories import ModalityFactory, RoomFactory, RoomOpeningHoursFactory

pytestmark = pytest.mark.django_db

NY = ZoneInfo("America/New_York")
MONDAY = datetime(2026, 3, 2, 7, 0, tzinfo=NY)


@pytest.fixture
def room(reference: None) -> Room:
    room = RoomFactory.create(code="US-TNA", modality=ModalityFactory.create(code="US"))
    RoomOpeningHoursFactory.create(room=room, weekday=0, opens=time(8), closes=time(10))
    return room


def abdomen_days() -> float | None:
    exam_type = ExamType.objects.get(code="us-abdomen-complete")
    return KpiBacklogSnapshot.objects.get(exam_type=exam_type.pk).days


def slot_minutes() -> int:
    exam_type = ExamType.objects.get(code="us-abdomen-complete")
    return exam_type.default_duration_min + exam_type.turnover_min


def test_the_third_slot_is_next_monday_a_week_of_real_time_across_the_clock_change(
    room: Room,
) -> None:
    # Mondays 08:00-10:00 hold two slots of 45 minutes plus turnover; the third is next Monday
    # 08:00 EDT, exactly 7 x 24 hours after 07:00 EST today (the clocks went forward Sunday).
    assert 40 < slot_minutes() <= 60
    capacity.backlog_snapshot(now=MONDAY)
    assert abdomen_days() == pytest.approx(7.0)
    (value,) = kpi_values(start=MONDAY.date(), end=MONDAY.date(), codes=["third_next_available"])
    assert value.count >= 1 and value.source == "rollup:backlog"
    rows = kpi_breakdown(
        "third_next_available", by="exam_type", start=MONDAY.date(), end=MONDAY.date()
    )
    assert "US abdomen complete" in {row.label for row in rows}


def test_a_booking_pushes_the_third_slot_later(room: Room) -> None:
    start = datetime.combine(MONDAY.date(), time(8), tzinfo=NY)
    Reservation.objects.create(room=room, start=start, end=start + timedelta(minutes=45))
    capacity.backlog_snapshot(now=MONDAY)
    # left: one slot today from 08:45, then next Monday 08:00 and one slot later
    assert abdomen_days() == pytest.approx(7 + slot_minutes() / 1440, abs=0.01)


def test_open_minutes_leave_out_closures(room: Room) -> None:
    start = datetime.combine(MONDAY.date(), time(9), tzinfo=NY)
    RoomClosure.objects.create(room=room, start=start, end=start + timedelta(minutes=30),
                               reason="Deep clean")  # fmt: skip
    capacity.room_days_rebuild(first=MONDAY.date(), last=MONDAY.date() + timedelta(days=6))
    (row,) = KpiRoomDay.objects.all()
    assert (row.day, row.open_s) == (MONDAY.date(), 90 * 60)


def test_the_nightly_catch_up_runs_once_a_day_after_its_hour(room: Room) -> None:
    with time_machine.travel(datetime(2026, 3, 3, 1, 30, tzinfo=NY), tick=False):
        assert kpi_nightly() == 0  # before 02:00
    with time_machine.travel(datetime(2026, 3, 3, 2, 30, tzinfo=NY), tick=False):
        assert kpi_nightly() == 1
        assert kpi_nightly() == 0
    state = KpiJobState.objects.get(name="nightly")
    assert state.last_day == date(2026, 3, 3)
    assert state.detail["room_days"] == 5  # the five Mondays of the last 35 days
    assert KpiBacklogSnapshot.objects.filter(day=date(2026, 3, 3)).exists()


def test_the_worker_runs_the_kpi_jobs() -> None:
    names = [name for name, _ in worker.JOBS]
    assert "kpi_rollups_refresh" in names and "kpi_nightly" in names


def test_a_refresh_clears_only_the_marks_it_saw(db: None) -> None:
    mark_dirty([date(2026, 3, 1), date(2026, 3, 2)])
    assert rollups_refresh() == 2
    assert not KpiDirtyDay.objects.exists()


def test_the_rebuild_command_reports_what_it_wrote(room: Room) -> None:
    out = StringIO()
    call_command("kpi", "rebuild", "--from", "2026-03-01", "--to", "2026-03-07", stdout=out)
    assert "KPI rollups rebuilt: fine 0, site 0, reasons 0, room_days 1, staff_days 0" in (
        out.getvalue()
    )


def test_the_rebuild_command_refuses_bad_dates(db: None) -> None:
    with pytest.raises(CommandError, match="not a date"):
        call_command("kpi", "rebuild", "--from", "March")
    with pytest.raises(CommandError, match="--to is before --from"):
        call_command("kpi", "rebuild", "--from", "2026-03-07", "--to", "2026-03-01")


def test_reloading_the_definitions_keeps_edited_defaults(db: None) -> None:
    from radflow.kpis.models import KpiDefinition

    KpiDefinition.objects.filter(code="no_show_rate").update(target=3.0, name="Old name")
    out = StringIO()
    call_command("kpi", "load-definitions", stdout=out)
    definition = KpiDefinition.objects.get(code="no_show_rate")
    assert (definition.target, definition.name) == (3.0, "No-show rate")
    assert "0 created, 1 updated" in out.getvalue()
