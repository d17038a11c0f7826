"""Placing exams one at a time on free time: the greedy baseline and the re-plan's starting plan.

Each room, device, staff member and resource keeps its free time (its allowance minus what is
booked); an exam goes to the earliest start at which a room (+ a device of it), a staff member
and its resources are all free for long enough.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from radflow.core.scheduling._calendar import (
    Calendars,
    Spans,
    full_reason,
    merge,
    start_bounds,
    static_reason,
    subtract,
)
from radflow.core.scheduling.day import Assignment, Day, Exam, Priority


class Timeline:
    """One resource's free time, as sorted disjoint spans (and their ends, for bisection)."""

    __slots__ = ("ends", "free")

    def __init__(self, free: Spans) -> None:
        self._set(list(free))

    def _set(self, free: Spans) -> None:
        self.free = free
        self.ends = [b for _, b in free]

    def earliest(self, t: int, length: int) -> int | None:
        free = self.free
        for i in range(bisect_right(self.ends, t), len(free)):
            a, b = free[i]
            start = a if a > t else t
            if start + length <= b:
                return start
        return None

    def book(self, start: int, end: int) -> None:
        self._set(subtract(self.free, [(start, end)]))

    def release(self, start: int, end: int) -> None:
        """Free ``[start, end)`` again (it was booked by one exam: bookings never overlap)."""
        self._set(merge([*self.free, (start, end)]))


@dataclass(frozen=True)
class _Choice:
    room: str
    device: str | None
    staff: str
    start: int


class Dispatcher:
    """The day's free time, booked exam by exam."""

    def __init__(self, day: Day, cal: Calendars | None = None) -> None:
        self.day = day
        self.cal = cal or Calendars.of(day)
        self.rooms = {r: Timeline(s) for r, s in self.cal.room.items()}
        self.devices = {d: Timeline(s) for d, s in self.cal.device.items()}
        self.staff = {k: Timeline(s) for k, s in self.cal.staff.items()}
        self.resources = {r: Timeline(s) for r, s in self.cal.resource.items()}
        self.assignments: dict[str, Assignment] = {}
        self.unscheduled: dict[str, str] = {}
        # How many exams could use each room / staff member: at equal start, the dispatcher
        # takes the one fewer exams could use, keeping scarce rooms and people free.
        room_demand: Counter[str] = Counter()
        staff_demand: Counter[str] = Counter()
        for exam in day.exams:
            room_demand.update(exam.rooms)
            staff_demand.update(exam.staff)
        self.room_demand = room_demand
        self.staff_demand = staff_demand

    # -- booking ---------------------------------------------------------------------------

    def book(self, exam: Exam, assignment: Assignment) -> None:
        s, d = assignment.start, exam.duration
        if assignment.room_id in self.rooms:
            self.rooms[assignment.room_id].book(s, s + d + exam.turnover)
        if assignment.device_id is not None and assignment.device_id in self.devices:
            self.devices[assignment.device_id].book(s, s + d)
        if assignment.staff_id in self.staff:
            self.staff[assignment.staff_id].book(s, s + d)
        for res in exam.resources:
            if res in self.resources:
                self.resources[res].book(s, s + d)
        self.assignments[exam.id] = assignment

    def unbook(self, exam: Exam) -> Assignment:
        assignment = self.assignments.pop(exam.id)
        s, d = assignment.start, exam.duration
        if assignment.room_id in self.rooms:
            self.rooms[assignment.room_id].release(s, s + d + exam.turnover)
        if assignment.device_id is not None and assignment.device_id in self.devices:
            self.devices[assignment.device_id].release(s, s + d)
        if assignment.staff_id in self.staff:
            self.staff[assignment.staff_id].release(s, s + d)
        for res in exam.resources:
            if res in self.resources:
                self.resources[res].release(s, s + d)
        return assignment

    def place_by_moving(self, exam: Exam, groups: Iterable[tuple[Exam, ...]]) -> bool:
        """Make room for ``exam`` by moving a group of other exams (the first of ``groups`` for
        which it works) to their own earliest starts after it; nothing changes if none works."""
        for group in groups:
            if any(other.id not in self.assignments for other in group):
                continue
            before = [(other, self.unbook(other)) for other in group]
            if self.place(exam):
                moved: list[Exam] = []
                for other in group:
                    if not self.place(other):
                        break
                    moved.append(other)
                else:
                    return True
                for other in moved:
                    self.unbook(other)
                self.unbook(exam)
            for other, assignment in before:
                self.book(other, assignment)
        return False

    def squeeze_in(self) -> None:
        """Each unscheduled exam that could fit an empty day takes the place of routine exams
        held where and when it could go (ward patients before notified ones; one, else two or
        three in a row), which move to their own earliest free starts."""
        day = self.day
        movable = [e for e in day.exams if not e.fixed]
        for exam_id in list(self.unscheduled):
            exam = next(e for e in movable if e.id == exam_id)
            if static_reason(day, self.cal, exam) is not None:
                continue
            lo, hi = start_bounds(day, exam)
            candidates = sorted(
                (
                    e
                    for e in movable
                    if e.priority == Priority.ROUTINE
                    and (a := self.assignments.get(e.id)) is not None
                    and (a.room_id in exam.rooms or a.staff_id in exam.staff)
                    and lo - e.duration - e.turnover < a.start < hi + exam.duration
                ),
                key=lambda e: (e.notified, abs(self.assignments[e.id].start - lo), e.id),
            )[:MOVE_CANDIDATES]
            # One exam, else two or three in a row in the same room (a long exam needs a
            # long hole).
            by_room: dict[str, list[Exam]] = {}
            for e in sorted(candidates, key=lambda e: self.assignments[e.id].start):
                by_room.setdefault(self.assignments[e.id].room_id, []).append(e)
            groups: list[tuple[Exam, ...]] = [(e,) for e in candidates]
            for run in (2, 3):
                groups.extend(
                    tuple(exams[i : i + run])
                    for exams in by_room.values()
                    for i in range(len(exams) - run + 1)
                )
            if self.place_by_moving(exam, groups):
                del self.unscheduled[exam_id]

    def place_fixed(self, exams: Iterable[Exam]) -> None:
        for exam in exams:
            if exam.fixed:
                if exam.current is None:
                    raise ValueError(f"exam {exam.id} is fixed but has no current assignment")
                self.book(exam, exam.current)

    # -- search ----------------------------------------------------------------------------

    def _fit(self, parts: list[tuple[Timeline, int]], t: int, hi: int) -> int | None:
        """Earliest start >= t at which every timeline has ``length`` free minutes."""
        while True:
            moved = False
            for timeline, length in parts:
                x = timeline.earliest(t, length)
                if x is None or x > hi:
                    return None
                if x > t:
                    t, moved = x, True
            if not moved:
                return t

    def _room_options(self, exam: Exam) -> list[tuple[str, str | None]]:
        options: list[tuple[str, str | None]] = []
        for room in sorted(exam.rooms):
            if room not in self.rooms:
                continue
            devices = self.cal.room_devices[room]
            if devices:
                options.extend((room, dev) for dev in devices)
            else:
                options.append((room, None))
        return options

    def choose(self, exam: Exam, at: int | None = None) -> _Choice | None:
        """The earliest (or, with ``at``, exactly that) start over all room/device/staff combos;
        at equal start the least overtime, then the least demanded room and staff member."""
        lo, hi = start_bounds(self.day, exam)
        if at is not None:
            if at < lo or at > hi:
                return None
            lo = hi = at
        d, t = exam.duration, exam.turnover
        resources = [(self.resources[r], d) for r in sorted(exam.resources) if r in self.resources]
        if len(resources) < len(exam.resources):
            return None
        rooms: list[tuple[int, str, str | None]] = []
        for room, dev in self._room_options(exam):
            parts = [(self.rooms[room], d + t), *resources]
            if dev is not None:
                parts.append((self.devices[dev], d))
            er = self._fit(parts, lo, hi)
            if er is not None:
                rooms.append((er, room, dev))
        staff: list[tuple[int, str]] = []
        for k in sorted(exam.staff):
            if k in self.staff:
                ek = self._fit([(self.staff[k], d), *resources], lo, hi)
                if ek is not None:
                    staff.append((ek, k))
        pairs = sorted(
            ((max(er, ek), room, dev, k) for er, room, dev in rooms for ek, k in staff),
            key=lambda p: p[0],
        )
        best: tuple[int, int, int, int, str, str] | None = None
        choice: _Choice | None = None
        for bound, room, dev, k in pairs:
            if best is not None and bound > best[0]:
                break
            parts = [(self.rooms[room], d + t), (self.staff[k], d), *resources]
            if dev is not None:
                parts.append((self.devices[dev], d))
            s = self._fit(parts, bound, hi)
            if s is None:
                continue
            overtime = self._overtime(room, k, s, exam)
            key = (s, overtime, self.room_demand[room], self.staff_demand[k], room, k)
            if best is None or key < best:
                best, choice = key, _Choice(room, dev, k, s)
        return choice

    def _overtime(self, room: str, staff: str, start: int, exam: Exam) -> int:
        room_close = self.cal.room_close.get(room)
        staff_close = self.cal.staff_close.get(staff)
        over = 0
        if room_close is not None:
            over += max(0, start + exam.duration + exam.turnover - room_close)
        if staff_close is not None:
            over += max(0, start + exam.duration - staff_close)
        return over

    def place(self, exam: Exam, at: int | None = None) -> bool:
        choice = self.choose(exam, at)
        if choice is None:
            return False
        self.book(exam, Assignment(exam.id, choice.room, choice.device, choice.staff, choice.start))
        return True

    def place_exactly(self, exam: Exam, assignment: Assignment) -> bool:
        """Book ``assignment`` unchanged if it is still possible (eligible, free, in windows)."""
        lo, hi = start_bounds(self.day, exam)
        s, d = assignment.start, exam.duration
        if not lo <= s <= hi:
            return False
        if assignment.room_id not in exam.rooms or assignment.room_id not in self.rooms:
            return False
        if assignment.staff_id not in exam.staff or assignment.staff_id not in self.staff:
            return False
        devices = self.cal.room_devices[assignment.room_id]
        parts = [
            (self.rooms[assignment.room_id], d + exam.turnover),
            (self.staff[assignment.staff_id], d),
        ]
        if devices:
            if assignment.device_id not in devices:
                return False
            parts.append((self.devices[assignment.device_id], d))
        elif assignment.device_id is not None:
            return False
        for res in exam.resources:
            if res not in self.resources:
                return False
            parts.append((self.resources[res], d))
        if any(tl.earliest(s, length) != s for tl, length in parts):
            return False
        self.book(exam, assignment)
        return True

    def dispatch(self, exams: Iterable[Exam]) -> None:
        """Greedy in the order given: earliest feasible start, or unscheduled with the reason."""
        for exam in exams:
            if exam.id in self.assignments:
                continue
            reason = static_reason(self.day, self.cal, exam)
            if reason is not None:
                self.unscheduled[exam.id] = reason
            elif not self.place(exam):
                self.unscheduled[exam.id] = full_reason(exam)


def priority_order(exams: Iterable[Exam]) -> list[Exam]:
    return sorted(exams, key=lambda e: (int(e.priority), e.release, e.id))


def greedy(day: Day, cal: Calendars | None = None) -> Dispatcher:
    """The baseline: fixed exams kept, the rest by priority then release, each at its earliest."""
    dispatcher = Dispatcher(day, cal)
    dispatcher.place_fixed(day.exams)
    dispatcher.dispatch(priority_order(e for e in day.exams if not e.fixed))
    return dispatcher


def due_order(day: Day, exams: Iterable[Exam], *, urgent_first: bool) -> list[Exam]:
    """STATs by release, then (urgent exams by release when ``urgent_first``) every other exam
    by when it is due: a booked patient at the booked time, an urgent one at its target, an
    inpatient some time before its window closes. Booked patients then keep their slots and
    inpatients fill around them, which the priority order does not do."""

    def key(exam: Exam) -> tuple[int, int, str]:
        if exam.priority == Priority.STAT:
            return (0, exam.release, exam.id)
        if exam.priority == Priority.URGENT and urgent_first:
            return (1, exam.release, exam.id)
        if exam.booked_start is not None:
            return (2, exam.booked_start, exam.id)
        if exam.target_start is not None:
            return (2, exam.target_start, exam.id)
        end = day.horizon if exam.window_end is None else exam.window_end
        return (2, end - exam.duration - (60 if urgent_first else 90), exam.id)

    return sorted(exams, key=key)


def due_first(day: Day, cal: Calendars | None = None, *, urgent_first: bool = True) -> Dispatcher:
    """Fixed exams kept, the rest in ``due_order``, each at its earliest, then squeezed in."""
    dispatcher = Dispatcher(day, cal)
    dispatcher.place_fixed(day.exams)
    movable = (e for e in day.exams if not e.fixed)
    dispatcher.dispatch(due_order(day, movable, urgent_first=urgent_first))
    dispatcher.squeeze_in()
    return dispatcher


def repair(day: Day, cal: Calendars | None = None, *, cascade: bool = False) -> Dispatcher:
    """The plan in force, mended.

    STAT and urgent exams first (kept if on time and still possible, else at their earliest).
    Then routine exams: by default every assignment that still fits is kept, those that fit
    elsewhere at the same minute keep their time, and the rest go to their earliest free start
    after that (often late in the day: few patients change, some wait long). With
    ``cascade``, routine exams are taken in the order of their planned times, each kept if it
    still fits, else at the same minute elsewhere, else at its earliest free start, which may be
    another exam's slot, moving that one in turn (more patients change, each by less).
    """
    dispatcher = Dispatcher(day, cal)
    dispatcher.place_fixed(day.exams)
    movable = [e for e in day.exams if not e.fixed]
    for exam in priority_order(e for e in movable if e.priority != Priority.ROUTINE):
        # A late one goes to its earliest start (lateness costs more than a moved ward
        # patient), unless the patient was told the time.
        current = exam.current
        keep = current is not None and (
            exam.notified or exam.target_start is None or current.start <= exam.target_start
        )
        if not (keep and current and dispatcher.place_exactly(exam, current)):
            dispatcher.dispatch([exam])
    routine = [e for e in movable if e.priority == Priority.ROUTINE]
    if cascade:
        # Exams that must end by a time keep their slot if they can: a cascade of later exams
        # is cheap to absorb, a missed window is not.
        for exam in routine:
            if exam.window_end is not None and exam.current is not None:
                dispatcher.place_exactly(exam, exam.current)
        for exam in sorted(
            routine, key=lambda e: (e.current.start if e.current else e.release, e.id)
        ):
            if exam.id in dispatcher.assignments:
                continue
            current = exam.current
            kept = current is not None and (
                dispatcher.place_exactly(exam, current) or dispatcher.place(exam, at=current.start)
            )
            if not kept:
                dispatcher.dispatch([exam])
    else:
        planned = sorted(
            (e for e in routine if e.current is not None),
            key=lambda e: (e.current.start if e.current else 0, e.id),
        )
        displaced = [e for e in planned if e.current and not dispatcher.place_exactly(e, e.current)]
        rest: list[Exam] = []
        for exam in priority_order(displaced):
            if exam.current is None or not dispatcher.place(exam, at=exam.current.start):
                rest.append(exam)
        rest.extend(e for e in routine if e.current is None)
        dispatcher.dispatch(priority_order(rest))
    dispatcher.squeeze_in()
    return dispatcher


#: Exams a mended plan tries to move, per exam that does not fit, before giving up on it.
MOVE_CANDIDATES = 40
