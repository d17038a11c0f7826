"""Check a plan against its day, independently of the optimizer.

Written from the rules in ``day.py`` alone and sharing no code with the dispatcher or the CP-SAT
model: when the model's objective and this one agree on a plan, and this finds no violation, a
rule read wrong on either side shows up as a failing test instead of a plausible wrong plan.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

from radflow.core.scheduling.day import Assignment, Day, Exam, Metrics, Plan, Priority, Window


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _span(start: int, end: int) -> str:
    return f"{_hhmm(start)}\u2013{_hhmm(end)}"


def _joined(windows: Sequence[Window]) -> list[list[int]]:
    """Windows sorted and joined where they touch or overlap."""
    joined: list[list[int]] = []
    for w in sorted(windows, key=lambda w: (w.start, w.end)):
        if w.end <= w.start:
            continue
        if joined and w.start <= joined[-1][1]:
            joined[-1][1] = max(joined[-1][1], w.end)
        else:
            joined.append([w.start, w.end])
    return joined


def _inside(windows: Sequence[Window], start: int, end: int, overrun: int) -> bool:
    """[start, end) lies in one window; the last window counts ``overrun`` minutes longer."""
    joined = _joined(windows)
    if joined:
        joined[-1][1] += overrun
    return any(a <= start and end <= b for a, b in joined)


def _who(exam: Exam) -> str:
    return f"{exam.label} ({exam.id})" if exam.label else exam.id


def validate(day: Day, plan: Plan) -> list[str]:
    """Every broken rule of ``plan``, one sentence each; [] when the plan is valid."""
    problems: list[str] = []
    exams = {e.id: e for e in day.exams}
    rooms = {r.id: r for r in day.rooms}
    staff = {s.id: s for s in day.staff}
    devices = {d.id: d for d in day.devices}
    resources = {r.id: r for r in day.resources}
    room_devices: dict[str, list[str]] = defaultdict(list)
    for device in day.devices:
        room_devices[device.room_id].append(device.id)

    for exam_id in sorted(set(plan.assignments) & set(plan.unscheduled)):
        problems.append(f"{exam_id} is both scheduled and listed as unscheduled.")
    for exam_id in sorted((set(plan.assignments) | set(plan.unscheduled)) - set(exams)):
        problems.append(f"{exam_id} is not an exam of this day.")
    for exam in day.exams:
        if exam.id not in plan.assignments and exam.id not in plan.unscheduled:
            problems.append(f"{_who(exam)} is neither scheduled nor listed as unscheduled.")
        if exam.id in plan.unscheduled and not plan.unscheduled[exam.id].strip():
            problems.append(f"{_who(exam)} is unscheduled without a reason.")
        if (
            exam.fixed
            and exam.current is not None
            and plan.assignments.get(exam.id) != exam.current
        ):
            problems.append(f"{_who(exam)} is in progress or done but was moved or dropped.")

    room_use: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    staff_use: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    device_use: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    resource_use: dict[str, list[tuple[int, int, str]]] = defaultdict(list)

    for exam_id, a in sorted(plan.assignments.items()):
        known = exams.get(exam_id)
        if known is None:
            continue
        exam = known
        who = _who(exam)
        if a.exam_id != exam_id:
            problems.append(f"{who}: its assignment names another exam ({a.exam_id}).")
        start, end = a.start, a.start + exam.duration
        occupied = end + exam.turnover
        room_use[a.room_id].append((start, occupied, who))
        staff_use[a.staff_id].append((start, end, who))
        if a.device_id is not None:
            device_use[a.device_id].append((start, end, who))
        for res in exam.resources:
            resource_use[res].append((start, end, who))
        if start < 0 or occupied > day.horizon:
            problems.append(
                f"{who}: {_span(start, occupied)} is outside the day (0\u2013{day.horizon} min)."
            )
        if exam.fixed:
            continue  # happening whatever the calendar says; only overlaps are checked

        room = rooms.get(a.room_id)
        if room is None:
            problems.append(f"{who}: room {a.room_id} is not a room of this day.")
        elif a.room_id not in exam.rooms:
            problems.append(f"{who}: room {a.room_id} is not eligible for it.")
        if room is not None and not _inside(room.open, start, occupied, day.max_overtime):
            problems.append(
                f"{who}: room {a.room_id} is not open {_span(start, occupied)} "
                f"(turnover included, overtime at most {day.max_overtime} min)."
            )
        person = staff.get(a.staff_id)
        if person is None:
            problems.append(f"{who}: staff member {a.staff_id} is not part of this day.")
        else:
            if a.staff_id not in exam.staff:
                problems.append(f"{who}: staff member {a.staff_id} is not eligible for it.")
            if not _inside(person.shifts, start, end, day.max_overtime):
                problems.append(
                    f"{who}: staff member {a.staff_id} is not on shift {_span(start, end)} "
                    f"(overtime at most {day.max_overtime} min)."
                )
        in_room = room_devices.get(a.room_id, [])
        if a.device_id is None:
            if in_room:
                problems.append(f"{who}: room {a.room_id} needs one of its devices, none given.")
        elif a.device_id not in devices or devices[a.device_id].room_id != a.room_id:
            problems.append(f"{who}: device {a.device_id} is not a device of room {a.room_id}.")
        else:
            device = devices[a.device_id]
            room_close = max((w.end for w in room.open), default=None) if room else None
            device_close = max((w.end for w in device.available), default=None)
            overrun = (
                day.max_overtime
                if room_close is not None
                and device_close is not None
                and device_close >= room_close
                else 0
            )
            if not _inside(device.available, start, end, overrun):
                problems.append(
                    f"{who}: device {a.device_id} is not in service {_span(start, end)}."
                )
        for res in sorted(exam.resources):
            if res not in resources:
                problems.append(f"{who}: resource {res} is not part of this day.")
            elif not _inside(resources[res].available, start, end, 0):
                problems.append(f"{who}: {res} is not available {_span(start, end)}.")
        if start < exam.release:
            problems.append(
                f"{who}: starts {_hhmm(start)}, before its release {_hhmm(exam.release)}."
            )
        if start < day.now:
            problems.append(f"{who}: starts {_hhmm(start)}, before now ({_hhmm(day.now)}).")
        if exam.window_end is not None and end > exam.window_end:
            problems.append(
                f"{who}: ends {_hhmm(end)}, after the end of its window {_hhmm(exam.window_end)}."
            )

    for kind, uses in (
        ("room", room_use),
        ("staff member", staff_use),
        ("device", device_use),
        ("resource", resource_use),
    ):
        for resource_id, spans in sorted(uses.items()):
            spans.sort()
            latest_end, latest_who = -(10**9), ""
            for start, end, who in spans:
                if start < latest_end:
                    problems.append(
                        f"{kind} {resource_id}: {who} at {_span(start, end)} overlaps {latest_who}"
                        f" (busy until {_hhmm(latest_end)})."
                    )
                if end > latest_end:
                    latest_end, latest_who = end, who
    return problems


def _gaps(windows: Sequence[Window]) -> list[tuple[int, int]]:
    joined = _joined(windows)
    return [(joined[i][1], joined[i + 1][0]) for i in range(len(joined) - 1)]


def metrics(day: Day, plan: Plan) -> Metrics:
    """The plan's figures, from the plan alone (see ``Metrics`` for the definitions)."""
    exams = {e.id: e for e in day.exams}
    placed = [(exams[i], a) for i, a in plan.assignments.items() if i in exams]
    stat = urgent = 0
    waits: list[int] = []
    changed = reassigned = 0
    for exam, a in placed:
        if exam.target_start is not None:
            late = max(0, a.start - exam.target_start)
            if exam.priority == Priority.STAT:
                stat += late
            elif exam.priority == Priority.URGENT:
                urgent += late
        if exam.booked_start is not None:
            waits.append(max(0, a.start - exam.booked_start))
        if exam.current is not None:
            if exam.notified and a.start != exam.current.start:
                changed += 1
            reassigned += int(a.room_id != exam.current.room_id)
            reassigned += int(a.staff_id != exam.current.staff_id)

    overtime = idle = 0
    for room in day.rooms:
        uses = [
            (a.start, a.start + e.duration + e.turnover) for e, a in placed if a.room_id == room.id
        ]
        if not uses or not room.open:
            continue
        first = min(s for s, _ in uses)
        last = max(e for _, e in uses)
        overtime += max(0, last - max(w.end for w in room.open))
        busy = sum(e - s for s, e in uses)
        closed = sum(b - a for a, b in _gaps(room.open) if first <= a and b <= last)
        idle += max(0, last - first - busy - closed)
    for person in day.staff:
        ends = [a.start + e.duration for e, a in placed if a.staff_id == person.id]
        if ends and person.shifts:
            overtime += max(0, max(ends) - max(w.end for w in person.shifts))

    waits.sort()
    p90 = float(waits[math.ceil(0.9 * len(waits)) - 1]) if waits else 0.0
    return Metrics(
        stat_lateness=stat,
        urgent_lateness=urgent,
        mean_wait=sum(waits) / len(waits) if waits else 0.0,
        p90_wait=p90,
        overtime=overtime,
        idle=idle,
        changed=changed,
        unscheduled=sum(1 for e in day.exams if e.id not in plan.assignments),
        total_wait=sum(waits),
        reassigned=reassigned,
    )


def objective(day: Day, plan: Plan) -> int:
    """The weighted objective of ``plan``, recomputed from the plan alone."""
    m = metrics(day, plan)
    w = day.weights
    return (
        w.stat_lateness * m.stat_lateness
        + w.urgent_lateness * m.urgent_lateness
        + w.wait * m.total_wait
        + w.overtime * m.overtime
        + w.idle * m.idle
        + w.change * m.changed
        + w.reassign * m.reassigned
        + w.unscheduled * m.unscheduled
    )


def bare_plan(assignments: dict[str, Assignment], unscheduled: dict[str, str]) -> Plan:
    """A plan with only its assignments, for checking hand-made or foreign schedules."""
    return Plan(
        assignments=assignments,
        unscheduled=unscheduled,
        objective=0,
        best_bound=None,
        gap=None,
        status="feasible",
        seconds=0.0,
        metrics=Metrics(0, 0, 0.0, 0.0, 0, 0, 0, 0),
    )
