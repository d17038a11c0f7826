"""Large-neighbourhood search over the CP-SAT model, for days too big to search whole.

Why: the whole-day model of the bench day (250 exams, 12 rooms, 20 staff: ~5,800 optional
intervals, ~30 per exam since nearly everyone may do general exams) is slow per search node, and
CP-SAT's own neighbourhood workers presolve the whole model again for every neighbourhood, which
on two shared cores took seconds each: in 10 s it did not improve the greedy plan once. Here each
step frees a handful of exams around a costly one (those in a few rooms, or of a few staff
members, around its time), keeps every other exam where it is (they enter the sub-model as
constants: blocked time and fixed costs) and lets CP-SAT solve that small model, usually to
optimality, in a tenth of a second. Each sub-model's objective is the whole day's, so steps
compare directly; a step is kept when it is no worse.

With several workers, each runs its own steps on neighbourhoods whose time spans do not overlap
those of the steps in flight, so their results can be merged: exams move only inside their own
span, hence two results on disjoint spans never collide. The merged plan's cost is recomputed.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from radflow.core.scheduling._calendar import Calendars, start_bounds, static_reason
from radflow.core.scheduling._model import ScheduleModel, plan_cost
from radflow.core.scheduling.day import Assignment, Day, Exam, Priority

#: How a step frees its exams: each keeps its staff member (``rooms``), its room (``staff``) or
#: neither (``both``). Freeing both is the most productive per step; the others are cheaper.
MODES = ("rooms", "staff", "both")
MODE_WEIGHTS = (1, 1, 2)
#: (minutes before, minutes after) the seed's time that a neighbourhood covers.
WINDOWS = ((60, 60), (30, 120), (90, 90), (45, 180))
MIN_SIZE = 6
MAX_SIZE = 24
STEP_SECONDS = 0.2

Only = dict[str, tuple[frozenset[str], frozenset[str]]]
Within = dict[str, tuple[int, int]]


@dataclass
class Incumbent:
    assignments: dict[str, Assignment]
    unscheduled: dict[str, str]
    cost: int


@dataclass
class SearchStats:
    steps: int = 0
    improvements: int = 0
    optimal_steps: int = 0
    merged: int = 0
    build_seconds: float = 0.0
    solve_seconds: float = 0.0


@dataclass
class Neighbourhood:
    free: set[str]
    only: Only
    within: Within
    mode: str
    #: Minutes the freed exams may occupy, before and after the step.
    span: tuple[int, int]


@dataclass
class _Worker:
    rng: random.Random
    stats: SearchStats = field(default_factory=SearchStats)


class Search:
    """Improve ``incumbent`` until ``deadline`` (``time.monotonic()``)."""

    def __init__(
        self,
        day: Day,
        cal: Calendars,
        incumbent: Incumbent,
        *,
        deadline: float,
        seed: int,
        workers: int,
        on_improve: Callable[[int], None] | None = None,
        focus: frozenset[str] = frozenset(),
        floor: int = 0,
    ) -> None:
        self.day = day
        #: A proven lower bound: a plan that reaches it is optimal and the search stops.
        self.floor = floor
        self.cal = cal
        self.best = incumbent
        self.deadline = deadline
        self.seed = seed
        self.workers = max(1, workers)
        self.on_improve = on_improve
        #: Exams a re-plan disturbed: neighbourhoods start from them more often.
        self.focus = sorted(focus)
        self.exams = {e.id: e for e in day.exams}
        # Exams that cannot be placed whatever the others do are left out of the search.
        self.movable = [e for e in day.exams if not e.fixed and static_reason(day, cal, e) is None]
        self.possible = frozenset(e.id for e in self.movable)
        #: Exams freed per step, per mode: grows while steps are solved to optimality.
        self.sizes = {"rooms": 12, "staff": 12, "both": 8}
        self.step_seconds = STEP_SECONDS
        self.stats = SearchStats()
        self.lock = threading.Lock()
        self.in_flight: dict[int, tuple[int, int]] = {}

    def run(self) -> Incumbent:
        if not self.movable:
            return self.best
        if self.workers == 1:
            self._loop(0)
            return self.best
        threads = [
            threading.Thread(target=self._loop, args=(i,), daemon=True) for i in range(self.workers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return self.best

    def _loop(self, index: int) -> None:
        worker = _Worker(random.Random(self.seed * 7919 + index))  # noqa: S311 - diversification
        while time.monotonic() < self.deadline - 0.02 and self.best.cost > self.floor:
            self.step(worker, index)

    # -- one step --------------------------------------------------------------------------

    def step(self, worker: _Worker | None = None, index: int = 0) -> None:
        worker = worker or _Worker(random.Random(self.seed))  # noqa: S311
        began = time.monotonic()
        with self.lock:
            best = self.best
            hood = None
            for _ in range(8):
                candidate = self._neighbourhood(worker.rng, best)
                if all(
                    candidate.span[1] <= a or b <= candidate.span[0]
                    for a, b in self.in_flight.values()
                ):
                    hood = candidate
                    break
            if hood is None:
                return
            self.in_flight[index] = hood.span
        try:
            self._solve(worker, best, hood, began)
        finally:
            with self.lock:
                self.in_flight.pop(index, None)

    def _solve(self, worker: _Worker, best: Incumbent, hood: Neighbourhood, began: float) -> None:
        free = hood.free
        sub = ScheduleModel(
            self.day,
            self.cal,
            frozen={i: a for i, a in best.assignments.items() if i not in free},
            frozen_out={i: r for i, r in best.unscheduled.items() if i not in free},
            within=hood.within,
            only=hood.only,
            possible=self.possible,
        )
        try:
            before = sub.add_hint({i: a for i, a in best.assignments.items() if i in free})
        except KeyError:  # pragma: no cover - the incumbent is always representable
            return
        built = time.monotonic()
        remaining = self.deadline - built
        if remaining < 0.02:
            return
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = min(remaining, self.step_seconds)
        solver.parameters.num_workers = 1
        solver.parameters.random_seed = worker.rng.randrange(1 << 30)
        solver.parameters.cp_model_probing_level = 0
        solver.parameters.linearization_level = 0  # small models: search beats the weak LP
        status = solver.solve(sub.model)
        solved = time.monotonic()
        with self.lock:
            self.stats.steps += 1
            self.stats.build_seconds += built - began
            self.stats.solve_seconds += solved - built
            size = self.sizes[hood.mode]
            if status == cp_model.OPTIMAL:
                self.stats.optimal_steps += 1
                self.sizes[hood.mode] = min(MAX_SIZE, size + 1)
            else:
                self.sizes[hood.mode] = max(MIN_SIZE, size - 1)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return
        assignments, unscheduled = sub.read(solver)
        after = sub.cost(sub.values_of({i: a for i, a in assignments.items() if i in free}))
        if after > before:
            return
        with self.lock:
            if self.best is best:
                candidate = Incumbent(assignments, unscheduled, after)
            else:  # another worker moved exams elsewhere in the day meanwhile: merge
                merged = dict(self.best.assignments)
                reasons = dict(self.best.unscheduled)
                for exam_id in free:
                    merged.pop(exam_id, None)
                    reasons.pop(exam_id, None)
                    if exam_id in assignments:
                        merged[exam_id] = assignments[exam_id]
                    else:
                        reasons[exam_id] = unscheduled[exam_id]
                cost = plan_cost(self.day, self.cal, merged, reasons)
                if cost > self.best.cost:
                    return
                self.stats.merged += 1
                candidate = Incumbent(merged, reasons, cost)
            improved = candidate.cost < self.best.cost
            self.best = candidate
            if improved:
                self.stats.improvements += 1
        if improved and self.on_improve is not None:
            self.on_improve(candidate.cost)

    # -- neighbourhoods --------------------------------------------------------------------

    def _own_cost(self, exam: Exam, best: Incumbent) -> int:
        """What an exam costs by itself in the incumbent: where to look for improvements."""
        w = self.day.weights
        a = best.assignments.get(exam.id)
        if a is None:
            return w.unscheduled
        cost = 0
        if exam.target_start is not None and exam.priority != Priority.ROUTINE:
            weight = w.stat_lateness if exam.priority == Priority.STAT else w.urgent_lateness
            cost += weight * max(0, a.start - exam.target_start)
        if exam.booked_start is not None:
            cost += w.wait * max(0, a.start - exam.booked_start)
        if exam.current is not None and exam.notified and a.start != exam.current.start:
            cost += w.change
        return cost

    def _seed(self, rng: random.Random, best: Incumbent) -> tuple[Exam, int]:
        """The exam a neighbourhood is built around, and the time around which it looks."""
        pick = rng.random()
        if self.focus and pick < 0.3:
            exam = self.exams[rng.choice(self.focus)]
        elif pick < 0.75:
            costs = [self._own_cost(e, best) for e in self.movable]
            exam = (
                rng.choices(self.movable, weights=costs)[0]
                if sum(costs)
                else rng.choice(self.movable)
            )
        else:
            exam = rng.choice(self.movable)
        a = best.assignments.get(exam.id)
        if a is not None:
            return exam, a.start
        lo, hi = start_bounds(self.day, exam)
        return exam, rng.randint(lo, max(lo, hi))

    def _neighbourhood(self, rng: random.Random, best: Incumbent) -> Neighbourhood:
        """Exams to free, the rooms and staff they may use, and the starts they may take.

        A few rooms (the seed exam's and some it could use instead), or a few staff members,
        around the seed's time: the exams they hold then are re-sequenced among them, which is
        where waiting patients, idle gaps and overtime are traded.
        """
        seed, centre = self._seed(rng, best)
        assignments = best.assignments
        own = assignments.get(seed.id)
        mode = rng.choices(MODES, weights=MODE_WEIGHTS)[0]
        size = self.sizes[mode]
        before, after = rng.choice(WINDOWS)
        if own is None:  # an unscheduled exam needs room made for it: look wider
            before, after = 2 * before, 2 * after
        first, last = centre - before, centre + after
        rooms: set[str] = set()
        staff: set[str] = set()
        if mode == "staff":
            staff = {own.staff_id} if own else set()
            others = sorted(k for k in seed.staff if k in self.cal.staff and k not in staff)
            staff.update(rng.sample(others, min(len(others), rng.randint(1, 3))))
        else:
            rooms = {own.room_id} if own else set()
            others = sorted(r for r in seed.rooms if r in self.cal.room and r not in rooms)
            rooms.update(rng.sample(others, min(len(others), rng.randint(1, 3))))
        near = [
            e
            for e in self.movable
            if e.id != seed.id
            and (a := assignments.get(e.id)) is not None
            and (a.staff_id in staff if mode == "staff" else a.room_id in rooms)
            and first <= a.start <= last
        ]
        near.sort(key=lambda e: (abs(assignments[e.id].start - centre), e.id))
        chosen = [seed, *near[: size - 1]]
        if rng.random() < 0.3:  # and an unscheduled exam that could go there
            waiting = [
                e
                for e in self.movable
                if e.id not in assignments
                and e.id != seed.id
                and (e.staff & staff if mode == "staff" else e.rooms & rooms)
            ]
            if waiting:
                chosen.append(rng.choice(waiting))
        if mode == "staff":
            rooms = {a.room_id for e in chosen if (a := assignments.get(e.id))}
            extra = sorted(r for r in seed.rooms if r in self.cal.room and r not in rooms)
            rooms.update(rng.sample(extra, min(len(extra), 1)))
        else:
            staff = {a.staff_id for e in chosen if (a := assignments.get(e.id))}
            extra = sorted(k for k in seed.staff if k in self.cal.staff and k not in staff)
            staff.update(rng.sample(extra, min(len(extra), rng.randint(1, 3))))
        only: Only = {}
        within: Within = {}
        span_start, span_end = first, last
        for exam in chosen:
            a = assignments.get(exam.id)
            if a is None:
                within[exam.id] = (first, last)
                only[exam.id] = (frozenset(rooms), frozenset(staff))
            else:
                within[exam.id] = (min(a.start, first), max(a.start, last))
                own_room, own_staff = frozenset({a.room_id}), frozenset({a.staff_id})
                only[exam.id] = (
                    own_room if mode == "staff" else frozenset(rooms) | own_room,
                    own_staff if mode == "rooms" else frozenset(staff) | own_staff,
                )
            lo, hi = within[exam.id]
            span_start = min(span_start, lo)
            span_end = max(span_end, hi + exam.duration + exam.turnover)
        return Neighbourhood({e.id for e in chosen}, only, within, mode, (span_start, span_end))


def improve(
    day: Day,
    cal: Calendars,
    assignments: Mapping[str, Assignment],
    unscheduled: Mapping[str, str],
    *,
    cost: int,
    deadline: float,
    seed: int,
    workers: int,
    on_improve: Callable[[int], None] | None = None,
    focus: frozenset[str] = frozenset(),
    floor: int = 0,
) -> tuple[Incumbent, SearchStats]:
    search = Search(
        day,
        cal,
        Incumbent(dict(assignments), dict(unscheduled), cost),
        deadline=deadline,
        seed=seed,
        workers=workers,
        on_improve=on_improve,
        focus=focus,
        floor=floor,
    )
    best = search.run()
    return best, search.stats
