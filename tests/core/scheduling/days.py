"""Small hand-made days for the scheduling tests: every figure in them can be checked by hand."""

from __future__ import annotations

from dataclasses import replace

from radflow.core.scheduling.day import (
    Assignment,
    Day,
    Device,
    Exam,
    Plan,
    Priority,
    Resource,
    Room,
    Staff,
    Weights,
    Window,
)
from radflow.core.scheduling.evaluate import bare_plan

H = 60


def exam(exam_id: str, **fields: object) -> Exam:
    """A 30-minute routine exam released at 08:00 that either room and staff member may do."""
    base = Exam(
        id=exam_id,
        duration=30,
        priority=Priority.ROUTINE,
        release=8 * H,
        window_end=None,
        target_start=None,
        booked_start=None,
        notified=False,
        rooms=frozenset({"R1", "R2"}),
        staff=frozenset({"S1", "S2"}),
        label=f"ACC-{exam_id} US abdomen",
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def two_room_day(*exams: Exam, **fields: object) -> Day:
    """R1 (device D1) and R2 (no device) open 08:00-12:00, S1 and S2 on shift 08:00-12:00,
    interpreter INT 08:00-10:00; overtime up to 30 minutes."""
    day = Day(
        rooms=(
            Room("R1", (Window(8 * H, 12 * H),), "Room 1"),
            Room("R2", (Window(8 * H, 12 * H),), "Room 2"),
        ),
        devices=(Device("D1", "R1", (Window(0, 24 * H),)),),
        staff=(Staff("S1", (Window(8 * H, 12 * H),)), Staff("S2", (Window(8 * H, 12 * H),))),
        resources=(Resource("INT", (Window(8 * H, 10 * H),)),),
        exams=tuple(exams),
        weights=Weights(),
        max_overtime=30,
    )
    return replace(day, **fields)  # type: ignore[arg-type]


def at(exam_id: str, room: str, staff: str, start: int, device: str | None = None) -> Assignment:
    if device is None and room == "R1":
        device = "D1"
    return Assignment(exam_id, room, device, staff, start)


def plan_of(*assignments: Assignment, unscheduled: dict[str, str] | None = None) -> Plan:
    return bare_plan({a.exam_id: a for a in assignments}, dict(unscheduled or {}))
