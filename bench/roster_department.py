"""The demo department's roster: 6 weeks, about 60 people, as the coordinator's Generate runs it.

Builds the demo department (seed 1) without its exam history in a throw-away SQLite database,
then times two solves of the same 6-week problem, each for ``--seconds``:

- ``core``: ``radflow.core.rostering.solve`` on the whole department at once;
- ``service``: ``solve_in_parts`` (independent teams one after the other, what the Generate
  button runs).

For each: time to the first roster meeting every minimum cover (the minimums are hard, so the
first feasible roster), the objective and bound at the end, the evaluator's verdict, and the
fairness spread (max - min over the people who may work them) of nights, weekend days, holidays
and on-call, per the solver's own fairness groups. Prints one JSON document.

    .venv/bin/python bench/roster_department.py [--seconds 60] [--out bench/results/...]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _django(data_dir: str) -> None:
    os.environ["RADFLOW_DATA_DIR"] = data_dir
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ["DJANGO_SETTINGS_MODULE"] = "radflow.settings"
    import django

    django.setup()


def _department(today: date) -> Any:
    """The demo's people, credentials and roster set-up; returns the unsolved 6-week Roster."""
    import importlib

    from django.core.management import call_command

    from radflow.demo import STEPS
    from radflow.demo.context import DemoContext
    from radflow.rostering import demo as roster_demo
    from radflow.rostering.models import Roster

    call_command("migrate", verbosity=0)
    call_command("load_reference", verbosity=0)
    ctx = DemoContext(seed=1, today=today, patients_count=50, log=lambda message: None)
    for step in STEPS:
        if step.module in ("radflow.exams.demo", "radflow.rostering.demo"):
            continue
        importlib.import_module(step.module).generate(ctx)
    start, _end = roster_demo.setup(ctx)
    return Roster.objects.create(start=start, weeks=roster_demo.WEEKS)


def _spread(instance: Any, assignment: dict[tuple[str, int], str]) -> dict[str, int]:
    """Largest max - min per fairness kind over the solver's own groups."""
    from radflow.rostering.problem import fairness_kind

    spread: dict[str, int] = {}
    for term in instance.fairness:
        counts = [
            sum(
                1
                for day in range(instance.horizon)
                if (not term.days or day in term.days)
                and assignment.get((employee, day)) in term.shifts
            )
            for employee in term.employees
        ]
        if len(counts) < 2:
            continue
        kind = fairness_kind(term.name)
        spread[kind] = max(spread.get(kind, 0), max(counts) - min(counts))
    return spread


def _report(instance: Any, result: Any, wall: float) -> dict[str, Any]:
    from radflow.core.rostering.evaluate import evaluate

    evaluation = evaluate(instance, result.assignment) if result.assignment else None
    return {
        "status": result.status,
        "objective": result.objective,
        "best_bound": result.best_bound,
        "seconds_to_full_minimum_cover": (
            round(result.first_feasible_seconds, 2)
            if result.first_feasible_seconds is not None
            else None
        ),
        "best_seconds": round(result.best_seconds, 2) if result.best_seconds else None,
        "wall_seconds": round(wall, 2),
        "evaluated_feasible": evaluation.feasible if evaluation else None,
        "evaluated_objective": evaluation.objective if evaluation else None,
        "violations": [v.detail for v in evaluation.violations][:5] if evaluation else [],
        "breakdown": dict(evaluation.breakdown) if evaluation else None,
        "fairness_spread": _spread(instance, result.assignment) if result.assignment else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--today", type=date.fromisoformat, default=date(2026, 11, 23))
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/roster_department.json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as data_dir:
        _django(data_dir)
        from radflow.core.rostering.solve import solve
        from radflow.rostering.problem import build_problem
        from radflow.rostering.services import solve_in_parts

        started = time.perf_counter()
        roster = _department(args.today)
        setup_seconds = time.perf_counter() - started
        problem = build_problem(roster=roster)
        instance = problem.instance
        output: dict[str, Any] = {
            "case": "demo department, seed 1",
            "weeks": roster.weeks,
            "days": instance.horizon,
            "people": len(instance.employees),
            "shift_types": len(instance.shifts),
            "covers": len(instance.cover),
            "hard_minimum_covers": sum(1 for cover in instance.cover if cover.minimum),
            "requests": len(instance.shift_on) + len(instance.shift_off),
            "setup_seconds": round(setup_seconds, 1),
            "seconds_limit": args.seconds,
            "load_average_start": [round(x, 2) for x in os.getloadavg()],
        }
        for name, run in (("core", solve), ("service", solve_in_parts)):
            began = time.perf_counter()
            result = run(instance, seconds=args.seconds, workers=args.workers)
            output[name] = _report(instance, result, time.perf_counter() - began)
            print(json.dumps({name: output[name]}), flush=True)
        output["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(output, indent=2))
    print(json.dumps(output, indent=2))


if __name__ == "__main__":
    main()
