"""Rostering benchmark: RadFlow's solver against CBC on the Curtois & Qu instances 1-15.

For each instance RadFlow's ``solve()`` runs 60 s (instances 11-15: one 300 s run, whose 60 s
figures are read from the same run's trace) and the CBC peer runs 60 s. Every roster is checked by
the independent evaluator: feasible, and its evaluated objective equal to the one reported. Prints
one JSON line per instance as it finishes, then the whole result, which also goes to ``--out``.

    .venv/bin/python bench/rostering.py                       # the full run, about 50 minutes
    .venv/bin/python bench/rostering.py --instances 1,2 --seconds 5 --long-seconds 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.peers.cbc_roster import THREADS as CBC_THREADS
from bench.peers.cbc_roster import solve_cbc
from radflow.core.rostering.cli import BEST_KNOWN, gap_pct
from radflow.core.rostering.curtois import load_curtois
from radflow.core.rostering.evaluate import evaluate
from radflow.core.rostering.instance import Assignment, Instance, SolveResult
from radflow.core.rostering.solve import solve

DEFAULT_DIR = Path("/work/shared/benchmarks/shift-scheduling")
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "rostering.json"
LONG_INSTANCES = frozenset({11, 12, 13, 14, 15})


def department_case() -> Instance | None:
    """The demo department's own roster problem, benchmarked beside the public instances.

    TODO(lead): build the demo department's Instance (skills, hard minimum cover, fairness,
    previous roster) and return it; until then the benchmark runs the public instances only.
    """
    return None


def load_average() -> list[float]:
    """The ``uptime`` load averages (1, 5, 15 min): other work on the machine skews timings."""
    return [round(value, 2) for value in os.getloadavg()]


def check(instance: Instance, assignment: Assignment, objective: int | None) -> dict[str, Any]:
    """The evaluator's verdict on a reported roster."""
    if objective is None:
        return {"evaluated_ok": None, "evaluated_objective": None, "violations": 0}
    evaluation = evaluate(instance, assignment)
    return {
        "evaluated_ok": evaluation.feasible and evaluation.objective == objective,
        "evaluated_objective": evaluation.objective,
        "violations": len(evaluation.violations),
    }


def gap_to_bound(objective: int | None, bound: float | None) -> float | None:
    """The MIP gap: (objective - bound) / objective, in percent."""
    if objective is None or bound is None:
        return None
    if objective == 0:
        return 0.0
    return round(100.0 * (objective - bound) / abs(objective), 2)


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def figures_at(result: SolveResult, seconds: float) -> dict[str, Any]:
    """What the run had reached ``seconds`` in: best roster and the bound recorded with it."""
    reached = [p for p in result.trace if p.seconds <= seconds]
    if not reached:
        return {"status": "unknown", "objective": None, "best_bound": None, "best_s": None}
    best = min(reached, key=lambda p: (p.objective, p.seconds))
    bound = max(p.best_bound for p in reached)
    return {
        "status": "optimal" if best.objective <= bound else "feasible",
        "objective": best.objective,
        "best_bound": bound,
        "best_s": rounded(best.seconds),
    }


def run_radflow(
    instance: Instance, *, seconds: float, long_seconds: float | None, workers: int, seed: int
) -> dict[str, Any]:
    best_known = BEST_KNOWN.get(instance.name)
    run_for = long_seconds if long_seconds is not None else seconds
    result = solve(instance, seconds=run_for, workers=workers, seed=seed)
    verdict = check(instance, result.assignment, result.objective)
    if long_seconds is None:
        figures: dict[str, Any] = {
            "status": result.status,
            "objective": result.objective,
            "best_bound": result.best_bound,
            "best_s": rounded(result.best_seconds),
        }
        first = result.first_feasible_seconds
    else:
        figures = figures_at(result, seconds)
        first = result.first_feasible_seconds
        if first is not None and first > seconds:
            first = None
    entry: dict[str, Any] = {
        **figures,
        "gap_to_best_known_pct": gap_pct(figures["objective"], best_known),
        "gap_to_bound_pct": gap_to_bound(figures["objective"], figures["best_bound"]),
        "first_feasible_s": rounded(first),
        "seconds": rounded(min(result.seconds, seconds)),
        **verdict,
    }
    if long_seconds is not None:
        entry["source"] = (
            f"trace of one {long_seconds:g} s run: the best roster found by {seconds:g} s and "
            "the bound recorded with the incumbents up to then (the bound may have risen "
            "since its last record); evaluated_ok checks the run's final roster"
        )
        entry["long_run"] = {
            "seconds": rounded(result.seconds),
            "status": result.status,
            "objective": result.objective,
            "best_bound": result.best_bound,
            "best_s": rounded(result.best_seconds),
            "gap_to_best_known_pct": gap_pct(result.objective, best_known),
            "gap_to_bound_pct": gap_to_bound(result.objective, result.best_bound),
            **verdict,
        }
    return entry


def run_cbc(instance: Instance, *, seconds: float) -> dict[str, Any]:
    result = solve_cbc(instance, seconds=seconds)
    return {
        "status": result.status,
        "objective": result.objective,
        "bound": None if result.bound is None else round(result.bound, 2),
        "gap_to_best_known_pct": gap_pct(result.objective, BEST_KNOWN.get(instance.name)),
        "gap_to_bound_pct": gap_to_bound(result.objective, result.bound),
        "seconds": rounded(result.seconds),
        "threads": result.threads,
        **check(instance, result.assignment, result.objective),
    }


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def mean(values: list[float]) -> float | None:
        return round(sum(values) / len(values), 2) if values else None

    radflow_gaps = [
        r["radflow"]["gap_to_best_known_pct"]
        for r in rows
        if r["radflow"]["gap_to_best_known_pct"] is not None
    ]
    cbc_gaps = [
        r["cbc"]["gap_to_best_known_pct"]
        for r in rows
        if r.get("cbc") and r["cbc"]["gap_to_best_known_pct"] is not None
    ]
    compared = [r for r in rows if r.get("cbc")]
    return {
        "instances": len(rows),
        "radflow_feasible": sum(1 for r in rows if r["radflow"]["objective"] is not None),
        "radflow_at_best_known": sum(
            1 for r in rows if r["radflow"]["gap_to_best_known_pct"] in (0, 0.0)
        ),
        "radflow_below_best_known": [
            r["instance"]
            for r in rows
            if r["radflow"]["gap_to_best_known_pct"] is not None
            and r["radflow"]["gap_to_best_known_pct"] < 0
        ],
        "radflow_mean_gap_to_best_known_pct": mean(radflow_gaps),
        "cbc_feasible": sum(1 for r in compared if r["cbc"]["objective"] is not None),
        "cbc_mean_gap_to_best_known_pct": mean(cbc_gaps),
        "radflow_better_than_cbc": sum(
            1
            for r in compared
            if r["radflow"]["objective"] is not None
            and (r["cbc"]["objective"] is None or r["radflow"]["objective"] < r["cbc"]["objective"])
        ),
        "cbc_better_than_radflow": sum(
            1
            for r in compared
            if r["cbc"]["objective"] is not None
            and (
                r["radflow"]["objective"] is None
                or r["cbc"]["objective"] < r["radflow"]["objective"]
            )
        ),
        "all_evaluated_ok": all(
            r["radflow"]["evaluated_ok"] is not False
            and (not r.get("cbc") or r["cbc"]["evaluated_ok"] is not False)
            for r in rows
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="where Instance*.txt are")
    parser.add_argument("--instances", default="1-15", help="e.g. 1,2,3 or 1-15")
    parser.add_argument("--seconds", type=float, default=60, help="each run (and CBC's)")
    parser.add_argument(
        "--long-seconds", type=float, default=300, help="the one run of instances 11-15"
    )
    parser.add_argument("--cbc-seconds", type=float, default=None, help="default: --seconds")
    parser.add_argument("--no-cbc", action="store_true", help="skip the peer")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    numbers: list[int] = []
    for part in args.instances.split(","):
        first, _, last = part.strip().partition("-")
        numbers.extend(range(int(first), int(last or first) + 1))
    cbc_seconds = args.cbc_seconds if args.cbc_seconds is not None else args.seconds

    started = time.time()
    load_start = load_average()
    cases: list[tuple[Instance, int | None]] = [
        (load_curtois(args.dir / f"Instance{n}.txt"), n) for n in numbers
    ]
    department = department_case()
    if department is not None:
        cases.append((department, None))

    rows: list[dict[str, Any]] = []
    for instance, number in cases:
        long_seconds = args.long_seconds if number in LONG_INSTANCES else None
        row: dict[str, Any] = {
            "instance": instance.name,
            "best_known": BEST_KNOWN.get(instance.name),
            "radflow": run_radflow(
                instance,
                seconds=args.seconds,
                long_seconds=long_seconds,
                workers=args.workers,
                seed=args.seed,
            ),
        }
        if not args.no_cbc:
            row["cbc"] = run_cbc(instance, seconds=cbc_seconds)
        row["load_average"] = load_average()
        rows.append(row)
        print(json.dumps(row), flush=True)

    report = {
        "benchmark": "rostering (Curtois & Qu shift scheduling)",
        "seconds": args.seconds,
        "long_seconds": args.long_seconds,
        "long_instances": sorted(LONG_INSTANCES & set(numbers)),
        "cbc_seconds": None if args.no_cbc else cbc_seconds,
        "cbc_threads": CBC_THREADS,
        "workers": args.workers,
        "seed": args.seed,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_average_start": load_start,
        "load_average_end": load_average(),
        "wall_seconds": round(time.time() - started, 1),
        "instances": rows,
        "summary": summary(rows),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
