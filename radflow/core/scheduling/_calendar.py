"""Calendars as the optimizer and the dispatcher see them: where each resource may be busy.

``evaluate.py`` implements the same rules on its own (see ``day.py``); keep the two apart so that a
rule read wrong in one shows up as a validation failure instead of a quietly wrong plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from radflow.core.scheduling.day import Day, Device, Exam, Window

#: Half-open spans of minutes, sorted and disjoint.
Spans = list[tuple[int, int]]


def clock(minute: int) -> str:
    """Minutes since midnight as hh:mm of elapsed time (on a DST day not the wall clock)."""
    sign = "-" if minute < 0 else ""
    minute = abs(minute)
    return f"{sign}{minute // 60:02d}:{minute % 60:02d}"


def merge(spans: Iterable[tuple[int, int]]) -> Spans:
    """Sorted, disjoint spans; touching spans join (an exam may run across a shift hand-over)."""
    result: Spans = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if result and start <= result[-1][1]:
            if end > result[-1][1]:
                result[-1] = (result[-1][0], end)
        else:
            result.append((start, end))
    return result


def subtract(spans: Spans, remove: Spans) -> Spans:
    """``spans`` minus ``remove`` (both sorted and disjoint)."""
    result: Spans = []
    for start, end in spans:
        cursor = start
        for r_start, r_end in remove:
            if r_end <= cursor or r_start >= end:
                continue
            if r_start > cursor:
                result.append((cursor, r_start))
            cursor = max(cursor, r_end)
            if cursor >= end:
                break
        if cursor < end:
            result.append((cursor, end))
    return result


def complement(spans: Spans, horizon: int) -> Spans:
    """The minutes of ``[0, horizon)`` outside ``spans``."""
    return subtract([(0, horizon)], spans)


def allowance(windows: Sequence[Window], extend: int, horizon: int) -> Spans:
    """Where a resource may be busy: its windows, the last one overrun by ``extend`` minutes."""
    spans = merge((w.start, w.end) for w in windows)
    if spans and extend > 0:
        spans[-1] = (spans[-1][0], spans[-1][1] + extend)
    return [(max(0, a), min(horizon, b)) for a, b in spans if min(horizon, b) > max(0, a)]


def last_close(windows: Sequence[Window]) -> int | None:
    return max((w.end for w in windows), default=None)


def device_allowance(day: Day, device: Device, room_close: int | None) -> Spans:
    """A device's last window is overrun like its room's only if it lasts until the room closes."""
    close = last_close(device.available)
    extend = (
        day.max_overtime
        if close is not None and room_close is not None and close >= room_close
        else 0
    )
    return allowance(device.available, extend, day.horizon)


def starts_within(spans: Spans, length: int, lo: int, hi: int) -> Spans:
    """Start minutes in ``[lo, hi]`` at which ``length`` minutes fit inside one span, as
    inclusive ranges ``(first, last)``."""
    result: Spans = []
    for a, b in spans:
        first, last = max(a, lo), min(b - length, hi)
        if first <= last:
            result.append((first, last))
    return result


def intersect_ranges(left: Spans, right: Spans) -> Spans:
    """Intersection of two lists of sorted, disjoint inclusive ranges."""
    result: Spans = []
    i = j = 0
    while i < len(left) and j < len(right):
        first = max(left[i][0], right[j][0])
        last = min(left[i][1], right[j][1])
        if first <= last:
            result.append((first, last))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return result


def union_ranges(ranges: Iterable[tuple[int, int]]) -> Spans:
    """Union of inclusive ranges, sorted and disjoint (adjacent ranges join)."""
    result: Spans = []
    for first, last in sorted(ranges):
        if result and first <= result[-1][1] + 1:
            if last > result[-1][1]:
                result[-1] = (result[-1][0], last)
        else:
            result.append((first, last))
    return result


def name(exam: Exam) -> str:
    return exam.label or exam.id


@dataclass
class Calendars:
    """Every resource's allowance in the day, computed once per day."""

    room: dict[str, Spans]
    room_close: dict[str, int | None]
    room_devices: dict[str, list[str]]
    device: dict[str, Spans]
    staff: dict[str, Spans]
    staff_close: dict[str, int | None]
    resource: dict[str, Spans]
    #: ``feasible_starts`` per exam id: a Calendars object serves one day only.
    starts: dict[str, Spans | str] = field(default_factory=dict)

    @classmethod
    def of(cls, day: Day) -> Calendars:
        room_close = {room.id: last_close(room.open) for room in day.rooms}
        room_devices: dict[str, list[str]] = {room.id: [] for room in day.rooms}
        for device in day.devices:
            if device.room_id in room_devices:
                room_devices[device.room_id].append(device.id)
        return cls(
            room={r.id: allowance(r.open, day.max_overtime, day.horizon) for r in day.rooms},
            room_close=room_close,
            room_devices=room_devices,
            device={d.id: device_allowance(day, d, room_close.get(d.room_id)) for d in day.devices},
            staff={s.id: allowance(s.shifts, day.max_overtime, day.horizon) for s in day.staff},
            staff_close={s.id: last_close(s.shifts) for s in day.staff},
            resource={r.id: allowance(r.available, 0, day.horizon) for r in day.resources},
        )


def start_bounds(day: Day, exam: Exam) -> tuple[int, int]:
    """Earliest and latest start of a movable exam: release, now, its window, the horizon."""
    lo = max(exam.release, day.now, 0)
    end = day.horizon if exam.window_end is None else min(exam.window_end, day.horizon)
    return lo, end - exam.duration


def feasible_starts(day: Day, cal: Calendars, exam: Exam) -> Spans | str:
    """The starts at which ``exam`` fits some eligible room (+ device), staff member and its
    resources when nothing else is booked (inclusive ranges); or why there are none."""
    known = cal.starts.get(exam.id)
    if known is None:
        known = cal.starts[exam.id] = _feasible_starts(day, cal, exam)
    return known


def _feasible_starts(day: Day, cal: Calendars, exam: Exam) -> Spans | str:
    lo, hi = start_bounds(day, exam)
    d, t = exam.duration, exam.turnover
    label = name(exam)
    end = hi + d
    if hi < lo:
        if exam.window_end is not None and exam.window_end < day.horizon:
            return (
                f"{label}: its window {clock(lo)}\u2013{clock(end)} is shorter than the exam "
                f"({d} min)."
            )
        return f"{label}: released at {clock(lo)}, too late in the day for a {d}-minute exam."
    rooms = [r for r in sorted(exam.rooms) if r in cal.room]
    staff = [s for s in sorted(exam.staff) if s in cal.staff]
    if not rooms:
        return f"{label}: no eligible room."
    if not staff:
        return f"{label}: no eligible staff member."
    room_starts: list[tuple[int, int]] = []
    room_only: list[tuple[int, int]] = []
    for r in rooms:
        starts = starts_within(cal.room[r], d + t, lo, hi)
        room_only.extend(starts)
        devices = cal.room_devices[r]
        if devices:
            starts = intersect_ranges(
                starts,
                union_ranges(
                    x for dev in devices for x in starts_within(cal.device[dev], d, lo, hi)
                ),
            )
        room_starts.extend(starts)
    if not room_only:
        return (
            f"{label}: no eligible room is open long enough for it ({d} min + {t} min turnover) "
            f"between {clock(lo)} and {clock(end)}."
        )
    if not room_starts:
        return (
            f"{label}: no device of an eligible room is in service long enough for it "
            f"between {clock(lo)} and {clock(end)}."
        )
    staff_starts = [x for k in staff for x in starts_within(cal.staff[k], d, lo, hi)]
    if not staff_starts:
        return (
            f"{label}: no eligible staff member is on shift long enough for it ({d} min) "
            f"between {clock(lo)} and {clock(end)}."
        )
    common = intersect_ranges(union_ranges(room_starts), union_ranges(staff_starts))
    if not common:
        return f"{label}: no eligible staff member is on shift while an eligible room is open."
    for res in sorted(exam.resources):
        if res not in cal.resource:
            return f"{label}: needs {res}, who is not part of the day."
        common = intersect_ranges(common, union_ranges(starts_within(cal.resource[res], d, lo, hi)))
        if not common:
            return (
                f"{label}: needs {res}, who is not available while an eligible room and staff "
                "member are."
            )
    return common


def static_reason(day: Day, cal: Calendars, exam: Exam) -> str | None:
    """Why ``exam`` cannot be placed whatever the other exams do, or None when it might be."""
    starts = feasible_starts(day, cal, exam)
    return starts if isinstance(starts, str) else None


def full_reason(exam: Exam) -> str:
    return (
        f"{name(exam)}: the day is full \u2014 every eligible room and staff member is taken "
        "whenever it could be done (more work than capacity)."
    )
