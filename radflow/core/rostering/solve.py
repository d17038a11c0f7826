"""Solve a roster: one CP-SAT model of the whole roster, searched by CP-SAT's own portfolio.

Why this shape: on two cores, CP-SAT's portfolio (several differently-seeded neighbourhood searches
next to the LP-based search that raises the lower bound) beat a Python large-neighbourhood search
that rebuilt sub-models step by step, whose model building cost more than the solving on the
larger instances. The model is built once; a first roster comes from the model without its
objective and is handed to the search as a hint (except on the largest rosters, where such a
roster is late and poor and CP-SAT does better finding its own first roster under the objective).
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable

from ortools.sat.python import cp_model

from radflow.core.rostering.evaluate import evaluate
from radflow.core.rostering.instance import Assignment, Instance, Progress, SolveResult
from radflow.core.rostering.model import (
    OFF,
    Grid,
    RosterModel,
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
        """Record a better proven bound; with a roster known, it is a trace entry of its own."""
        value = math.ceil(bound - 1e-6)
        progress: Progress | None = None
        with self.lock:
            if value <= self.bound:
                return
            self.bound = value
            if self.objective is not None:
                value = min(value, self.objective)
                progress = Progress(
                    seconds=self.elapsed(), objective=self.objective, best_bound=value
                )
                self.trace.append(progress)
                if self.objective <= value:
                    self.done.set()
        if progress is not None and self.on_progress is not None:
            self.on_progress(progress)

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
    if hint:
        hint_grid = grid_from_assignment(instance, hint)
        full.add_hint(hint_grid)
        if not evaluate(instance, hint).violations:
            state.offer(hint_grid)
    size = sum(len(cell) for cell in full.cells.values())
    if (
        state.grid is None
        and _MIDDLE < size <= _LARGE
        and not any(c.minimum for c in instance.cover)
    ):
        # On middle-sized rosters the merely feasible first roster is so poor (instance 12:
        # 62,392 against 10,395) that CP-SAT spends most of the minute climbing down from it.
        # Without hard cover every hard rule is one person's: a roster built person by person,
        # each solved against the people placed before, is far better. Given a third of the time.
        _construct(instance, state, stopper, state.started + seconds / 3, seed)
    if state.grid is None and size <= _LARGE:
        _first_roster(full, state, stopper, deadline, seed, workers)
    if state.grid is not None:
        full.model.clear_hints()  # type: ignore[no-untyped-call]  # untyped in ortools
        full.add_hint(state.grid)
    if not state.done.is_set():
        solver = cp_model.CpSolver()
        solver.parameters.random_seed = seed
        solver.parameters.max_time_in_seconds = max(0.01, deadline - time.monotonic())
        solver.parameters.num_workers = _threads(workers, size)
        solver.best_bound_callback = state.raise_bound
        status = stopper.run(solver, full.model, _FullCallback(state, full.grid, first_only=False))
        _record_full_status(state, solver, status)
    state.done.set()
    stopper.stop_all()
    return _result(instance, state, seconds)


#: Shift variables (instance 11: 5,300, 12: 10,500, 13: 40,000) above which a roster is middle-sized
#: (first roster built person by person) and large (CP-SAT finds its own, with fewer threads).
_MIDDLE = 5_000
_LARGE = 20_000


def _threads(workers: int, size: int) -> int:
    """CP-SAT threads for ``workers`` cores and a model of ``size`` shift variables.

    More threads than cores pay on two cores: CP-SAT's portfolio then runs several
    differently-seeded neighbourhood searches side by side, which beat two threads at the same
    CPU time (instance 8 at 60 s: 2237 against 3135). Not on the largest rosters, where every
    thread's copy of the model is slow to load and the search needs the CPU (instance 13).
    """
    if workers <= 1:
        return 1
    if size > _LARGE:
        return workers
    return min(8, 4 * workers)


def _first_roster(
    full: RosterModel,
    state: _State,
    stopper: _Stopper,
    deadline: float,
    seed: int,
    workers: int,
) -> None:
    """A first roster from the model without its objective: feasibility alone takes CP-SAT a
    fraction of the time of its first roster under the objective on the large instances."""
    model = full.model.clone()
    model.clear_objective()  # type: ignore[no-untyped-call]  # untyped in ortools
    solver = cp_model.CpSolver()
    solver.parameters.random_seed = seed
    solver.parameters.max_time_in_seconds = max(0.01, deadline - time.monotonic())
    solver.parameters.num_workers = max(1, workers)
    status = stopper.run(solver, model, _FullCallback(state, full.grid, first_only=True))
    if status in (cp_model.INFEASIBLE, cp_model.MODEL_INVALID):
        state.full_status = status
        state.done.set()


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
    """Greedy: give one person at a time the best row given the people placed before."""
    rng = random.Random(seed)  # noqa: S311 - search diversification, not security
    n = len(instance.employees)
    order = list(range(n))
    rng.shuffle(order)
    grid: Grid = [[OFF] * instance.horizon for _ in range(n)]
    for e in order:
        if state.done.is_set() or time.monotonic() >= deadline:
            return
        sub = build_model(instance, base=grid, free_employees=[e])
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


__all__ = ["OFF", "solve"]
