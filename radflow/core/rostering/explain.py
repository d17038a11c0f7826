"""Why a roster problem has no solution, as a short list of rules people can act on.

Every rule group (one per employee and kind of rule, one per hard minimum cover, one per day off
and frozen day) is guarded by a CP-SAT assumption. CP-SAT returns a sufficient set of assumptions
for infeasibility; a deletion filter then drops each one whose removal keeps the problem
infeasible, so what is left is minimal when the time allows.
"""

from __future__ import annotations

import time

from ortools.sat.python import cp_model

from radflow.core.rostering.instance import Instance
from radflow.core.rostering.model import build_model


def explain_infeasible(instance: Instance, *, seconds: float = 10.0) -> tuple[str, ...]:
    """A small set of rules that cannot all hold; empty when the instance is feasible or unknown."""
    deadline = time.monotonic() + seconds
    built = build_model(instance, explain=True)
    model = built.model
    assumptions = list(built.groups)

    def infeasible_core(active: list[int]) -> list[int] | None:
        """The core among ``active`` if infeasible within the time left, else None."""
        remaining = deadline - time.monotonic()
        if remaining <= 0.01:
            return None
        model.clear_assumptions()
        model.proto.assumptions.extend(active)
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.max_time_in_seconds = remaining
        status = solver.solve(model)
        if status != cp_model.INFEASIBLE:
            return None
        core = set(solver.sufficient_assumptions_for_infeasibility())
        return [index for index in active if index in core] or active

    core = infeasible_core(assumptions)
    if core is None:
        return ()
    position = 0
    while position < len(core):
        candidate = core[:position] + core[position + 1 :]
        smaller = infeasible_core(candidate) if candidate else None
        if smaller is not None:
            core = smaller
            # Everything before ``position`` was needed; keep that prefix order.
            position = min(position, len(core))
        else:
            if time.monotonic() >= deadline:
                break
            position += 1
    return tuple(built.groups[index] for index in core)
