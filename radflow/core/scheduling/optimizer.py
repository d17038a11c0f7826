"""Plan a day: the greedy baseline, the CP-SAT optimizer and the re-plan from the plan in force.

The optimizer starts from a complete plan (the greedy one, or for a re-plan the plan in force
mended where it broke) handed to CP-SAT as a hint, so that it always has a valid plan to return
and spends its time improving it. The objective it reports is the model's own cost of the plan it
returns, with every auxiliary at its tightest; ``evaluate.objective`` recomputes it independently
and the tests hold the two equal.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from ortools.sat.python import cp_model

from radflow.core.scheduling import evaluate
from radflow.core.scheduling._calendar import Calendars
from radflow.core.scheduling._dispatch import Dispatcher, due_first, greedy, repair
from radflow.core.scheduling._model import ScheduleModel, lower_bound, plan_cost
from radflow.core.scheduling._search import improve
from radflow.core.scheduling.day import Assignment, Day, Plan

#: progress(elapsed seconds, objective, best bound or None) on each improving plan.
Progress = Callable[[float, int, int | None], None]
#: Builds a starting plan.
Maker = Callable[[Day, Calendars], Dispatcher]


def dispatch_greedy(day: Day) -> Plan:
    """The baseline: fixed exams kept; the rest by priority, then release, each at the earliest
    start over its eligible room (+ device), staff member and resources; what cannot be placed
    is unscheduled with the reason."""
    started = time.monotonic()
    dispatcher = greedy(day)
    return _plan(day, dispatcher.assignments, dispatcher.unscheduled, started, status="greedy")


def optimize(
    day: Day,
    *,
    seconds: float,
    workers: int = 2,
    seed: int = 0,
    progress: Progress | None = None,
) -> Plan:
    """The best plan found within ``seconds`` (model building included), with a proven lower
    bound; never worse than the greedy plan. It starts from the cheapest of a few quick plans:
    the greedy one, the greedy one with the exams it left out squeezed in, and two placing
    booked patients at their booked times first (``due_first``).

    When exams already have a ``current`` assignment (a plan in force), it starts from whichever
    is cheaper: the greedy plan or the plan in force mended (see ``replan``).
    """
    started = time.monotonic()
    cal = Calendars.of(day)
    starts: tuple[Maker, ...] = (greedy, _squeezed, due_first, _due_by_target)
    if any(e.current is not None and not e.fixed for e in day.exams):
        starts = (*starts, repair, _cascade)
    start = _cheapest(day, cal, starts)
    return _solve(day, cal, start, started, seconds, workers, seed, progress)


def replan(
    day: Day,
    *,
    seconds: float,
    workers: int = 2,
    seed: int = 0,
    progress: Progress | None = None,
) -> Plan:
    """Re-solve the rest of the day from ``day.now``: fixed exams stay, nothing else starts
    before now, and each notified patient whose time changes costs ``Weights.change``.

    Starts from the cheapest, by the department's own weights, of: the plan in force mended
    (every assignment that still fits kept), the plan in force mended by a cascade (displaced
    exams take the next free slot, moving later exams in turn), and a greedy re-dispatch; the
    search then looks first at the exams that start moved.
    """
    started = time.monotonic()
    cal = Calendars.of(day)
    start = _cheapest(day, cal, (repair, _cascade, greedy))
    disturbed = frozenset(
        e.id
        for e in day.exams
        if not e.fixed and e.current is not None and start.assignments.get(e.id) != e.current
    )
    return _solve(day, cal, start, started, seconds, workers, seed, progress, disturbed)


def _cascade(day: Day, cal: Calendars) -> Dispatcher:
    return repair(day, cal, cascade=True)


def _due_by_target(day: Day, cal: Calendars) -> Dispatcher:
    return due_first(day, cal, urgent_first=False)


def _squeezed(day: Day, cal: Calendars) -> Dispatcher:
    """The greedy plan with what it left out squeezed in by moving one routine exam each."""
    dispatcher = greedy(day, cal)
    dispatcher.squeeze_in()
    return dispatcher


def _cheapest(day: Day, cal: Calendars, makers: tuple[Maker, ...]) -> Dispatcher:
    """The cheapest by the objective of the starting plans ``makers`` build (the first on ties)."""
    best = makers[0](day, cal)
    best_cost = plan_cost(day, cal, best.assignments, best.unscheduled)
    for make in makers[1:]:
        plan = make(day, cal)
        cost = plan_cost(day, cal, plan.assignments, plan.unscheduled)
        if cost < best_cost:
            best, best_cost = plan, cost
    return best


#: Optional intervals (exam x eligible room, exam x eligible staff member) up to which the whole
#: day is one CP-SAT model; above it the day is searched neighbourhood by neighbourhood.
WHOLE_MODEL_LIMIT = 1500


def model_size(day: Day) -> int:
    return sum(len(e.rooms) + len(e.staff) for e in day.exams if not e.fixed)


class _Progress(cp_model.CpSolverSolutionCallback):
    """Reports each CP-SAT solution whose plan is better than the last one reported, at its
    tight cost (a solution may carry slack in its auxiliaries)."""

    def __init__(
        self, started: float, progress: Progress, model: ScheduleModel, floor: int, last: int
    ) -> None:
        super().__init__()
        self.started = started
        self.progress = progress
        self.model = model
        self.floor = floor
        self.last = last
        #: The best plan reported (assignments, reasons): CP-SAT's final solution is the best
        #: by its own objective, which may carry slack, so it can cost more than this one.
        self.best: tuple[dict[str, Assignment], dict[str, str]] | None = None

    def on_solution_callback(self) -> None:
        assignments, reasons = self.model.read(self)
        cost = self.model.cost(self.model.values_of(assignments))
        if cost >= self.last:
            return
        self.last = cost
        self.best = (assignments, reasons)
        bound = max(self.floor, math.ceil(self.best_objective_bound - 1e-6))
        self.progress(time.monotonic() - self.started, cost, min(bound, cost))


def _solve(
    day: Day,
    cal: Calendars,
    start: Dispatcher,
    started: float,
    seconds: float,
    workers: int,
    seed: int,
    progress: Progress | None,
    focus: frozenset[str] = frozenset(),
) -> Plan:
    floor = lower_bound(day, cal)
    if model_size(day) <= WHOLE_MODEL_LIMIT:
        assignments, unscheduled, cost, bound = _whole(
            day, cal, start, started, seconds, workers, seed, progress, floor
        )
    else:
        assignments, unscheduled, cost, bound = _neighbourhoods(
            day, cal, start, started, seconds, workers, seed, progress, floor, focus
        )
    plan = _plan(day, assignments, unscheduled, started, status="feasible", objective=cost)
    plan.best_bound = min(bound, cost)
    plan.gap = (cost - plan.best_bound) / cost if cost > 0 else 0.0
    plan.status = "optimal" if plan.best_bound >= cost else "feasible"
    return plan


Solved = tuple[dict[str, Assignment], dict[str, str], int, int]


def _whole(
    day: Day,
    cal: Calendars,
    start: Dispatcher,
    started: float,
    seconds: float,
    workers: int,
    seed: int,
    progress: Progress | None,
    floor: int,
) -> Solved:
    """The day as one CP-SAT model, hinted with the starting plan."""
    model = ScheduleModel(day, cal)
    assignments, unscheduled = start.assignments, start.unscheduled
    try:
        cost = model.add_hint(assignments)
    except KeyError:  # the starting plan uses an option the model does not offer
        cost = plan_cost(day, cal, assignments, unscheduled)
    if progress is not None:
        progress(time.monotonic() - started, cost, floor)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, seconds - (time.monotonic() - started))
    solver.parameters.num_workers = max(1, workers)
    solver.parameters.random_seed = seed
    # Presolve probing took seconds of wall time on the bench day for nothing.
    solver.parameters.cp_model_probing_level = 0
    callback = _Progress(started, progress, model, floor, cost) if progress else None
    status = solver.solve(model.model, callback)
    bound = floor
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        bound = max(floor, math.ceil(solver.best_objective_bound - 1e-6))
        found, reasons = model.read(solver)
        found_cost = model.cost(model.values_of(found))
        if found_cost <= cost:
            assignments, unscheduled, cost = found, reasons, found_cost
    if callback is not None and callback.best is not None and callback.last < cost:
        (assignments, unscheduled), cost = callback.best, callback.last
    if progress is not None and callback is not None and cost < callback.last:
        # CP-SAT can hand back a better final solution than the last one it called back with
        # (found as the time ran out): the watcher still sees the plan it gets.
        progress(time.monotonic() - started, cost, min(bound, cost))
    return assignments, unscheduled, cost, bound


def _neighbourhoods(
    day: Day,
    cal: Calendars,
    start: Dispatcher,
    started: float,
    seconds: float,
    workers: int,
    seed: int,
    progress: Progress | None,
    floor: int,
    focus: frozenset[str],
) -> Solved:
    """The day improved a neighbourhood at a time (see ``_search``); the bound is the cheap one."""
    cost = plan_cost(day, cal, start.assignments, start.unscheduled)
    if progress is not None:
        progress(time.monotonic() - started, cost, floor)

    def improved(objective: int) -> None:
        if progress is not None:
            progress(time.monotonic() - started, objective, floor)

    best, _ = improve(
        day,
        cal,
        start.assignments,
        start.unscheduled,
        cost=cost,
        deadline=started + seconds,
        seed=seed,
        workers=workers,
        on_improve=improved,
        focus=focus,
        floor=floor,
    )
    return best.assignments, best.unscheduled, best.cost, floor


def _plan(
    day: Day,
    assignments: dict[str, Assignment],
    unscheduled: dict[str, str],
    started: float,
    *,
    status: str,
    objective: int | None = None,
) -> Plan:
    plan = evaluate.bare_plan(assignments, unscheduled)
    plan.metrics = evaluate.metrics(day, plan)
    plan.objective = evaluate.objective(day, plan) if objective is None else objective
    plan.status = status
    plan.seconds = time.monotonic() - started
    return plan


__all__ = ["Progress", "dispatch_greedy", "optimize", "replan"]
