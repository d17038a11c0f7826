"""The plan diff the coordinator reviews before applying a re-plan."""

from __future__ import annotations

from radflow.core.scheduling.diff import plan_diff
from tests.core.scheduling.days import at, exam, plan_of, two_room_day


def test_the_diff_names_who_moves_where_and_who_must_be_called():
    day = two_room_day(
        exam("KEPT", current=at("KEPT", "R1", "S1", 480), notified=True),
        exam("LATER", current=at("LATER", "R2", "S2", 480), notified=True),
        exam("WARD", current=at("WARD", "R1", "S1", 540), notified=False),
        exam("RESTAFFED", current=at("RESTAFFED", "R2", "S2", 600), notified=True),
        exam("DROPPED", current=at("DROPPED", "R2", "S1", 660), notified=False),
        exam("NEW"),
    )
    plan = plan_of(
        at("KEPT", "R1", "S1", 480),
        at("LATER", "R2", "S2", 510),
        at("WARD", "R2", "S1", 570),
        at("RESTAFFED", "R2", "S1", 600),
        at("NEW", "R1", "S2", 620),
        unscheduled={"DROPPED": "the day is full"},
    )

    changes = {c.exam_id: c for c in plan_diff(day, plan)}

    assert "KEPT" not in changes
    later, ward = changes["LATER"], changes["WARD"]
    assert (later.time_changed, later.room_changed, later.must_call) == (True, False, True)
    assert (ward.time_changed, ward.room_changed, ward.must_call) == (True, True, False)
    restaffed = changes["RESTAFFED"]
    assert (restaffed.time_changed, restaffed.staff_changed, restaffed.must_call) == (
        False,
        True,
        False,
    )
    assert changes["DROPPED"].after is None
    assert changes["DROPPED"].must_call
    assert changes["NEW"].before is None
    assert not changes["NEW"].must_call
