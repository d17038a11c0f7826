"""``radflow roster-benchmark`` and ``radflow roster-evaluate``: the benchmark without Django.

They run before any Django setup (``radflow/__main__.py`` dispatches here), so a benchmark needs no
database and no SECRET_KEY. Each prints one JSON line on stdout; what went wrong with an input
goes to stderr with the line and section. Exit codes: 0 a feasible roster, 1 a roster that breaks
hard rules (or none found), 2 an input that cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from radflow.core.rostering.curtois import (
    InstanceFormatError,
    SolutionFormatError,
    load_curtois,
    read_solution,
    write_solution,
)
from radflow.core.rostering.evaluate import evaluate
from radflow.core.rostering.instance import Instance

#: Best known objective values of the benchmark's README (proven optima where one is proven).
BEST_KNOWN: dict[str, int] = {
    "Instance1": 607,
    "Instance2": 828,
    "Instance3": 1001,
    "Instance4": 1716,
    "Instance5": 1143,
    "Instance6": 1950,
    "Instance7": 1056,
    "Instance8": 1300,
    "Instance9": 439,
    "Instance10": 4631,
    "Instance11": 3443,
    "Instance12": 4040,
    "Instance13": 1348,
    "Instance14": 1278,
    "Instance15": 3828,
}

EXIT_OK, EXIT_VIOLATIONS, EXIT_MALFORMED = 0, 1, 2


def gap_pct(value: float | None, reference: float | None) -> float | None:
    """How far ``value`` is above ``reference``, in percent of the reference."""
    if value is None or reference is None:
        return None
    if reference == 0:
        return 0.0 if value == 0 else None
    return round(100.0 * (value - reference) / abs(reference), 2)


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


def _fail(message: str) -> int:
    sys.stderr.write(f"radflow: {message}\n")
    return EXIT_MALFORMED


def _load(path: Path) -> Instance:
    try:
        return load_curtois(path)
    except OSError as exc:
        raise InstanceFormatError(f"cannot read {path}: {exc.strerror or exc}") from None


def _emit(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


def benchmark(args: argparse.Namespace) -> int:
    try:
        instance = _load(args.file)
    except InstanceFormatError as exc:
        return _fail(f"{args.file}: {exc.message}")
    from radflow.core.rostering.solve import solve

    result = solve(instance, seconds=args.seconds, workers=args.workers, seed=args.seed)
    found = result.objective is not None
    evaluation = evaluate(instance, result.assignment) if found else None
    if found:
        args.solution_out.parent.mkdir(parents=True, exist_ok=True)
        args.solution_out.write_text(write_solution(instance, result.assignment), encoding="utf-8")
    best_known = BEST_KNOWN.get(instance.name)
    _emit(
        {
            "instance": instance.name,
            "status": result.status,
            "objective": result.objective,
            "best_bound": result.best_bound,
            "seconds": round(result.seconds, 2),
            "first_feasible_seconds": _rounded(result.first_feasible_seconds),
            "best_seconds": _rounded(result.best_seconds),
            "best_known": best_known,
            "gap_pct": gap_pct(result.objective, best_known),
            "evaluated_ok": evaluation is not None
            and evaluation.feasible
            and evaluation.objective == result.objective,
        }
    )
    return EXIT_OK if evaluation is not None and evaluation.feasible else EXIT_VIOLATIONS


def evaluate_command(args: argparse.Namespace) -> int:
    try:
        instance = _load(args.file)
    except InstanceFormatError as exc:
        return _fail(f"{args.file}: {exc.message}")
    try:
        assignment = read_solution(instance, args.solution.read_text(encoding="utf-8"))
    except OSError as exc:
        return _fail(f"{args.solution}: cannot read: {exc.strerror or exc}")
    except SolutionFormatError as exc:
        return _fail(f"{args.solution}: {exc.message}")
    evaluation = evaluate(instance, assignment)
    _emit(
        {
            "instance": instance.name,
            "feasible": evaluation.feasible,
            "objective": evaluation.objective,
            "breakdown": dict(evaluation.breakdown),
            "violations": [
                {
                    "rule": violation.rule,
                    "employee": violation.employee,
                    "day": violation.day,
                    "detail": violation.detail,
                }
                for violation in evaluation.violations
            ],
        }
    )
    return EXIT_OK if evaluation.feasible else EXIT_VIOLATIONS


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="radflow", description=__doc__.splitlines()[0])
    commands = root.add_subparsers(dest="command", required=True)

    bench = commands.add_parser(
        "roster-benchmark", help="solve one benchmark instance and print one JSON line"
    )
    bench.add_argument("file", type=Path, help="instance in the Curtois & Qu text format")
    bench.add_argument("--seconds", type=float, required=True, help="time limit")
    bench.add_argument("--workers", type=int, default=2)
    bench.add_argument("--seed", type=int, default=0)
    bench.add_argument("--solution-out", type=Path, required=True, help="solution file to write")
    bench.set_defaults(handler=benchmark)

    check = commands.add_parser(
        "roster-evaluate", help="check a solution file against its instance"
    )
    check.add_argument("file", type=Path, help="instance in the Curtois & Qu text format")
    check.add_argument("solution", type=Path, help="solution file: id, then a cell per day")
    check.set_defaults(handler=evaluate_command)
    return root


def main(argv: list[str] | None = None) -> int:
    """``argv`` without the program name: ``["roster-evaluate", FILE, SOLUTION]``."""
    args = parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
