"""What a scheduling day is: rooms, devices, staff, resources and the exams to place among them.

Time is an integer count of REAL elapsed minutes since the local midnight that starts the day, so
a daylight-saving day has a horizon of 1380 (spring) or 1500 (autumn) minutes and every duration
is plain subtraction. Converting aware datetimes to minutes is the Django side's job.

Occupancy rules, shared by the optimizer and the validator (each implements them on its own):

- an exam holds its room for ``duration + turnover`` minutes (cleaning keeps the room busy, the
  staff member is free again after ``duration``), its staff member, device and resources for
  ``duration`` minutes;
- a room's occupancy, a staff member's exam and a resource's time lie inside one of their
  windows; the LAST window of a room or a staff member may be overrun by up to
  ``Day.max_overtime`` minutes, paid at ``Weights.overtime`` per minute;
- a device's windows are hard, except that its last window may be overrun like its room's when
  it stays in service until the room closes (ends at or after the room's last close);
- nothing may end after ``Day.horizon``;
- a ``fixed`` exam (in progress or done) stays exactly at ``current`` and is exempt from the
  window, eligibility and release rules (it is happening whatever the calendar now says), but
  other exams may not overlap it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class Priority(IntEnum):
    STAT = 0
    URGENT = 1
    ROUTINE = 2


@dataclass(frozen=True)
class Window:
    """Half-open span of minutes ``[start, end)``."""

    start: int
    end: int


@dataclass(frozen=True)
class Room:
    id: str
    open: tuple[Window, ...]
    name: str = ""


@dataclass(frozen=True)
class Device:
    id: str
    room_id: str
    available: tuple[Window, ...]


@dataclass(frozen=True)
class Staff:
    id: str
    shifts: tuple[Window, ...]
    name: str = ""


@dataclass(frozen=True)
class Resource:
    """Something else an exam holds for its whole duration: an interpreter, a shared probe."""

    id: str
    available: tuple[Window, ...]


@dataclass(frozen=True)
class Assignment:
    exam_id: str
    room_id: str
    device_id: str | None
    staff_id: str
    start: int


@dataclass(frozen=True)
class Exam:
    id: str
    duration: int
    priority: Priority
    #: May not start before: arrival, request release (and ``Day.now`` when re-planning).
    release: int
    #: Must END by this (inpatient windows); None = the end of the day.
    window_end: int | None
    #: STAT/urgent: lateness = max(0, start - target_start).
    target_start: int | None
    #: The time the patient was given: wait = max(0, start - booked_start).
    booked_start: int | None
    #: The patient knows ``current``'s time: changing the start costs ``Weights.change``.
    notified: bool
    #: Eligible rooms / staff, already filtered by the Django side (capabilities, competencies).
    rooms: frozenset[str]
    staff: frozenset[str]
    #: Also needed for the whole exam (interpreter).
    resources: frozenset[str] = frozenset()
    #: Room cleaning after the exam: the room stays busy, the staff member is free.
    turnover: int = 0
    #: The plan in force; a re-plan compares against it.
    current: Assignment | None = None
    #: In progress or done: keep ``current`` exactly.
    fixed: bool = False
    #: For explanations (accession + exam name), never PHI.
    label: str = ""


@dataclass(frozen=True)
class Weights:
    """Objective weights, department settings: per minute, or per patient for ``change``."""

    stat_lateness: int = 50
    urgent_lateness: int = 10
    wait: int = 2
    overtime: int = 5
    idle: int = 1
    change: int = 30
    unscheduled: int = 10000
    #: Per exam whose room, and per exam whose staff member, differs from ``current``.
    reassign: int = 1


@dataclass(frozen=True)
class Day:
    rooms: tuple[Room, ...]
    devices: tuple[Device, ...]
    staff: tuple[Staff, ...]
    resources: tuple[Resource, ...]
    exams: tuple[Exam, ...]
    weights: Weights = field(default_factory=Weights)
    horizon: int = 1440
    now: int = 0
    max_overtime: int = 120


@dataclass
class Metrics:
    """A plan's figures, all recomputed from the plan by ``evaluate.metrics``.

    ``overtime`` adds rooms' and staff members' minutes past their last window; ``idle`` is the
    open minutes of each room between its first exam's start and its last occupancy's end that
    are not occupied; ``mean_wait``/``p90_wait`` are over scheduled exams with a booked time.
    """

    stat_lateness: int
    urgent_lateness: int
    mean_wait: float
    p90_wait: float
    overtime: int
    idle: int
    changed: int
    unscheduled: int
    total_wait: int = 0
    #: Room changes plus staff changes against ``current`` (exams scheduled in both).
    reassigned: int = 0


@dataclass
class Plan:
    assignments: dict[str, Assignment]
    #: Exam id -> why it could not be placed, as a sentence for the coordinator.
    unscheduled: dict[str, str]
    objective: int
    best_bound: int | None
    #: (objective - best_bound) / objective, a fraction; 0.0 when proven optimal.
    gap: float | None
    #: "optimal", "feasible", "greedy" or "infeasible".
    status: str
    seconds: float
    metrics: Metrics


__all__ = [
    "Assignment",
    "Day",
    "Device",
    "Exam",
    "Metrics",
    "Plan",
    "Priority",
    "Resource",
    "Room",
    "Staff",
    "Weights",
    "Window",
]
