"""Solve a roster: a full CP-SAT model for first rosters and the lower bound, plus a large
neighbourhood search (LNS) that re-optimises a few people or a few days at a time.

Why both: the full model of the larger benchmark instances is too big for CP-SAT alone to close
the gap within a minute on two cores, while a sub-model with most of the roster fixed is solved to
optimality in well under a second. With ``workers >= 2`` the full model runs in a background
thread (CP-SAT releases the GIL) with ``workers - 1`` workers and the LNS runs in the calling
thread with one; with a single worker the full model runs only until its first roster.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable

from ortools.sat.python import cp_model

from radflow.core.rostering.instance import Assignment, Instance, Progress, SolveResult
from radflow.core.rostering.model import (
    OFF,
    Grid,
    assignment_from_grid,
    build_model,
    grid_from_assignment,
    grid_objective,
)


class _State:
    """Best roster so far, shared by the full-model thread and the LNS loop."""

    def __init__(self, instance: Instance, on_progress: Callable[[Progress], None] | None) -> None:
        self.instance = instance
        self.on_progress = on_progress
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.grid: Grid | None = None
        self.objective: int | None = None
        self.bound = 0
        self.trace: list[Progress] = []
        self.first_feasible: float | None = None
        self.best_seconds: float | None = None
        self.full_status: int | None = None
        self.has_roster = threading.Event()
        self.done = threading.Event()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def offer(self, grid: Grid, objective: int | None = None) -> bool:
        if objective is None:
            objective = grid_objective(self.instance, grid)
        with self.lock:
            if self.objective is not None and objective >= self.objective:
                return False
            now = self.elapsed()
            self.grid = [row[:] for row in grid]
            self.objective = objective
            if self.first_feasible is None:
                self.first_feasible = now
            self.best_seconds = now
            progress = Progress(seconds=now, objective=objective, best_bound=self.bound)
            self.trace.append(progress)
        self.has_roster.set()
        if self.on_progress is not None:
            self.on_progress(progress)
        if objective <= self.bound:
            self.done.set()
        return True

    def raise_bound(self, bound: float) -> None:
        value = math.ceil(bound - 1e-6)
        with self.lock:
            if value > self.bound:
                self.bound = value
                if self.objective is not None and self.objective <= value:
                    self.done.set()

    def snapshot(self) -> tuple[Grid | None, int | None]:
        with self.lock:
            return self.grid, self.objective


class _Stopper:
    """Stops every running CP-SAT search when the caller's ``stop`` event is set."""

    def __init__(self, stop: threading.Event | None, state: _State) -> None:
        self.stop = stop
        self.state = state
        self.solvers: set[cp_model.CpSolver] = set()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        if stop is not None:
            self.thread = threading.Thread(target=self._watch, daemon=True)
            self.thread.start()

    def _watch(self) -> None:
        stop = self.stop
        while stop is not None and not self.state.done.is_set():
            if stop.wait(0.05):
                self.state.done.set()
                self.stop_all()
                return

    def stop_all(self) -> None:
        with self.lock:
            for solver in self.solvers:
                solver.stop_search()

    def run(
        self,
        solver: cp_model.CpSolver,
        model: cp_model.CpModel,
        callback: cp_model.CpSolverSolutionCallback | None = None,
    ) -> int:
        with self.lock:
            if self.state.done.is_set():
                return int(cp_model.UNKNOWN)
            self.solvers.add(solver)
        try:
            return int(solver.solve(model, callback))
        finally:
            with self.lock:
                self.solvers.discard(solver)


class _FullCallback(cp_model.CpSolverSolutionCallback):
    def __init__(
        self,
        state: _State,
        grid_of: Callable[[cp_model.CpSolverSolutionCallback], Grid],
        first_only: bool,
    ) -> None:
        super().__init__()
        self.state = state
        self.grid_of = grid_of
        self.first_only = first_only
        #: Searches that only look for a first roster, pointless once this one has found one.
        self.also_stop: list[cp_model.CpSolver] = []

    def on_solution_callback(self) -> None:
        self.state.raise_bound(self.best_objective_bound)
        self.state.offer(self.grid_of(self))
        if self.first_only:
            self.stop_search()
        for solver in self.also_stop:
            solver.stop_search()


def solve(
    instance: Instance,
    *,
    seconds: float,
    workers: int = 2,
    seed: int = 0,
    on_progress: Callable[[Progress], None] | None = None,
    hint: Assignment | None = None,
    stop: threading.Event | None = None,
) -> SolveResult:
    """Best roster found within ``seconds``; the lower bound proves how far from optimal it is."""
    state = _State(instance, on_progress)
    stopper = _Stopper(stop, state)
    deadline = state.started + seconds
    full = build_model(instance)
    hint_grid = grid_from_assignment(instance, hint) if hint else None
    if hint_grid is not None:
        full.add_hint(hint_grid)
    if hint_grid is None and not any(c.minimum > 0 for c in instance.cover):
        # Without hard cover every hard rule is one person's: build a first roster person by
        # person, each solved against the rest (found in seconds even where the full model
        # takes minutes for its first roster).
        _construct(instance, state, stopper, deadline, seed)
        if state.grid is not None:
            full.add_hint(state.grid)
    thread: threading.Thread | None = None
    if workers >= 2:
        # The full model with the tight LP (linearization level 2) finds good rosters on the
        # small and middle instances and is the source of the lower bound.
        full_solver = cp_model.CpSolver()
        full_solver.parameters.random_seed = seed
        full_solver.parameters.max_time_in_seconds = max(0.01, deadline - time.monotonic())
        full_solver.parameters.num_workers = workers - 1
        full_solver.parameters.linearization_level = 2
        full_solver.best_bound_callback = state.raise_bound
        callback = _FullCallback(state, full.grid, first_only=False)

        def run_full() -> None:
            status = stopper.run(full_solver, full.model, callback)
            _record_full_status(state, full_solver, status)

        thread = threading.Thread(target=run_full, name="roster-full-model", daemon=True)
        thread.start()

    if state.grid is None:
        first = build_model(instance)
        if hint_grid is not None:
            first.add_hint(hint_grid)
        solver = cp_model.CpSolver()
        solver.parameters.random_seed = seed
        solver.parameters.max_time_in_seconds = max(0.01, deadline - time.monotonic())
        solver.parameters.num_workers = 1
        if thread is not None:
            callback.also_stop.append(solver)
        if workers < 2:
            solver.best_bound_callback = state.raise_bound
        status = stopper.run(solver, first.model, _FullCallback(state, first.grid, first_only=True))
        if workers < 2:
            _record_full_status(state, solver, status)
        elif status == cp_model.INFEASIBLE:
            state.full_status = status
            state.done.set()

    if state.grid is not None:
        _lns(instance, state, stopper, deadline, seed)
    state.done.set()
    stopper.stop_all()
    if thread is not None:
        thread.join()

    return _result(instance, state, seconds)


def _record_full_status(state: _State, solver: cp_model.CpSolver, status: int) -> None:
    if state.full_status != cp_model.INFEASIBLE:
        state.full_status = status
    if status == cp_model.OPTIMAL:
        state.raise_bound(solver.objective_value)
    elif status == cp_model.FEASIBLE:
        state.raise_bound(solver.best_objective_bound)
    if status in (cp_model.OPTIMAL, cp_model.INFEASIBLE, cp_model.MODEL_INVALID):
        state.done.set()


def _result(instance: Instance, state: _State, seconds: float) -> SolveResult:
    elapsed = state.elapsed()
    if state.full_status == cp_model.MODEL_INVALID:
        raise ValueError("the roster model is invalid: " + instance.name)
    if state.grid is None or state.objective is None:
        if state.full_status == cp_model.INFEASIBLE:
            from radflow.core.rostering.explain import explain_infeasible

            conflicts = explain_infeasible(instance, seconds=max(2.0, min(10.0, seconds)))
            return SolveResult(
                status="infeasible",
                objective=None,
                best_bound=None,
                seconds=elapsed,
                assignment={},
                conflicts=conflicts,
            )
        return SolveResult(
            status="unknown", objective=None, best_bound=None, seconds=elapsed, assignment={}
        )
    bound = min(state.bound, state.objective)
    return SolveResult(
        status="optimal" if bound >= state.objective else "feasible",
        objective=state.objective,
        best_bound=bound,
        seconds=elapsed,
        assignment=assignment_from_grid(instance, state.grid),
        first_feasible_seconds=state.first_feasible,
        best_seconds=state.best_seconds,
        trace=tuple(state.trace),
    )


def _construct(
    instance: Instance, state: _State, stopper: _Stopper, deadline: float, seed: int
) -> None:
    """Greedy: give a few people at a time their best rows given the people placed before."""
    rng = random.Random(seed)  # noqa: S311 - search diversification, not security
    n = len(instance.employees)
    order = list(range(n))
    rng.shuffle(order)
    group = 1
    grid: Grid = [[OFF] * instance.horizon for _ in range(n)]
    for start in range(0, n, group):
        if state.done.is_set() or time.monotonic() >= deadline:
            return
        free = order[start : start + group]
        sub = build_model(instance, base=grid, free_employees=free)
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.linearization_level = 2
        solver.parameters.random_seed = seed
        for limit in (0.5, 3.0):  # a busy machine may need the second, longer try
            solver.parameters.max_time_in_seconds = max(
                0.01, min(limit, deadline - time.monotonic())
            )
            status = stopper.run(solver, sub.model)
            if status != cp_model.UNKNOWN:
                break
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return
        grid = sub.grid(solver)
    state.offer(grid)


class _Neighbourhood:
    """One kind of neighbourhood with a size that adapts: grow after a proof, shrink on timeout."""

    def __init__(self, name: str, size: float, low: float, high: float) -> None:
        self.name = name
        self.size = size
        self.low = low
        self.high = high
        self.tries = 0
        self.gains = 0

    def adapt(self, proved: bool) -> None:
        if proved:
            self.size = min(self.high, self.size * 1.15 + 0.3)
        else:
            self.size = max(self.low, self.size * 0.8)


def _lns(instance: Instance, state: _State, stopper: _Stopper, deadline: float, seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - search diversification, not security
    n = len(instance.employees)
    horizon = instance.horizon
    shift_sets = [
        {s.id for s in instance.shifts if employee.max_shifts.get(s.id, 0) > 0}
        for employee in instance.employees
    ]
    kinds = [
        _Neighbourhood("employees", min(n, 3), 2, n),
        _Neighbourhood("window", min(horizon, 4), 2, horizon),
        _Neighbourhood("block", min(n, 6), 3, n),
    ]
    current, current_objective = state.snapshot()
    if current is None or current_objective is None:
        return
    iteration = 0
    while not state.done.is_set():
        remaining = deadline - time.monotonic()
        if remaining < 0.05:
            break
        best, best_objective = state.snapshot()
        if best is not None and best_objective is not None and best_objective < current_objective:
            current, current_objective = best, best_objective
        kind = kinds[iteration % len(kinds)]
        iteration += 1
        free_employees, free_days = _pick(kind, rng, n, horizon, shift_sets)
        sub = build_model(
            instance, base=current, free_employees=free_employees, free_days=free_days
        )
        sub.add_hint(current)
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        # The LP of the consecutive-day and cover rules is what proves a neighbourhood optimal.
        solver.parameters.linearization_level = 2
        solver.parameters.random_seed = rng.randrange(1 << 30)
        solver.parameters.max_time_in_seconds = min(remaining, 2.0)
        status = stopper.run(solver, sub.model)
        kind.tries += 1
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            grid = sub.grid(solver)
            objective = grid_objective(instance, grid)
            if objective < current_objective:
                kind.gains += 1
                state.offer(grid, objective)
            if objective <= current_objective:
                current, current_objective = grid, objective
        kind.adapt(status == cp_model.OPTIMAL)


def _pick(
    kind: _Neighbourhood,
    rng: random.Random,
    n: int,
    horizon: int,
    shift_sets: list[set[str]],
) -> tuple[set[int], set[int]]:
    size = round(kind.size)
    if kind.name == "employees":
        return _related(rng, n, size, shift_sets), set(range(horizon))
    if kind.name == "window":
        length = min(horizon, size)
        start = rng.randrange(horizon - length + 1)
        return set(range(n)), set(range(start, start + length))
    length = min(horizon, 7 + rng.randrange(8))
    start = rng.randrange(horizon - length + 1)
    return _related(rng, n, size, shift_sets), set(range(start, start + length))


def _related(rng: random.Random, n: int, size: int, shift_sets: list[set[str]]) -> set[int]:
    """A random employee plus others who can work the same shifts, so work can move between them."""
    size = min(n, max(1, size))
    first = rng.randrange(n)
    chosen = {first}
    others = [e for e in range(n) if e != first]
    rng.shuffle(others)
    others.sort(key=lambda e: -len(shift_sets[e] & shift_sets[first]))
    for e in others:
        if len(chosen) >= size:
            break
        if rng.random() < 0.8 or len(others) - len(chosen) < size:
            chosen.add(e)
    for e in others:
        if len(chosen) >= size:
            break
        chosen.add(e)
    return chosen


__all__ = ["OFF", "solve"]
