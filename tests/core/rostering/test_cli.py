"""``radflow roster-evaluate`` and ``radflow roster-benchmark`` run as a user would run them.

Each runs in a fresh process with no SECRET_KEY, no database and no Django settings, as on a
benchmark machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = Path("/work/shared/benchmarks/shift-scheduling")
INSTANCE1 = BENCHMARKS / "Instance1.txt"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "rostering"

pytestmark = pytest.mark.skipif(
    not BENCHMARKS.is_dir(), reason="the benchmark files are not on this machine"
)

BARE_ENV_DROPS = ("SECRET_KEY", "SECRET_KEY_FILE", "RADFLOW_TESTING", "DATABASE_URL")


def radflow(*args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in BARE_ENV_DROPS}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "radflow", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def one_json_line(stdout: str) -> dict[str, Any]:
    lines = stdout.splitlines()
    assert len(lines) == 1, stdout
    result: dict[str, Any] = json.loads(lines[0])
    return result


def test_evaluating_a_feasible_roster_prints_its_objective_and_exits_0() -> None:
    done = radflow("roster-evaluate", INSTANCE1, FIXTURES / "Instance1.solution")

    assert done.returncode == 0, done.stderr
    result = one_json_line(done.stdout)
    assert list(result) == ["instance", "feasible", "objective", "breakdown", "violations"]
    assert result["instance"] == "Instance1"
    assert result["feasible"] is True
    assert result["objective"] == 607
    assert result["breakdown"]["cover_under"] == 600
    assert result["violations"] == []


def test_evaluating_a_roster_that_breaks_rules_lists_them_and_exits_1(tmp_path: Path) -> None:
    solution = tmp_path / "nobody-works.solution"
    solution.write_text("".join(f"{who}" + "\t" * 14 + "\n" for who in "ABCDEFGH"))

    done = radflow("roster-evaluate", INSTANCE1, solution)

    assert done.returncode == 1, done.stderr
    result = one_json_line(done.stdout)
    assert result["feasible"] is False
    assert {v["rule"] for v in result["violations"]} == {"min_minutes"}
    assert result["violations"][0] == {
        "rule": "min_minutes",
        "employee": "A",
        "day": None,
        "detail": "A works 0 minutes; at least 3360",
    }


def test_a_malformed_instance_exits_2_naming_the_line_and_section(tmp_path: Path) -> None:
    text = INSTANCE1.read_text().replace("B,0,D,3", "B,zero,D,3")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if row.startswith("B,zero"))
    broken = tmp_path / "Broken.txt"
    broken.write_text(text)

    done = radflow("roster-evaluate", broken, FIXTURES / "Instance1.solution")

    assert done.returncode == 2
    assert done.stdout == ""
    assert f"line {line}, SECTION_SHIFT_ON_REQUESTS: day must be an integer" in done.stderr


def test_a_malformed_solution_exits_2_naming_the_line(tmp_path: Path) -> None:
    rows = (FIXTURES / "Instance1.solution").read_text().splitlines()
    rows[2] = rows[2].rsplit("\t", 3)[0]
    solution = tmp_path / "short.solution"
    solution.write_text("\n".join(rows) + "\n")

    done = radflow("roster-evaluate", INSTANCE1, solution)

    assert done.returncode == 2
    assert "line 3: employee 'C' has 11 day cells; the horizon has 14 days" in done.stderr


def test_a_missing_file_exits_2_with_a_message(tmp_path: Path) -> None:
    done = radflow("roster-evaluate", tmp_path / "nothing.txt", tmp_path / "nothing.solution")

    assert done.returncode == 2
    assert "cannot read" in done.stderr


def test_the_benchmark_solves_instance1_writes_the_roster_and_prints_one_json_line(
    tmp_path: Path,
) -> None:
    out = tmp_path / "Instance1.solution"

    done = radflow(
        "roster-benchmark", INSTANCE1, "--seconds", "5", "--solution-out", out, timeout=120
    )

    assert done.returncode == 0, done.stderr
    result = one_json_line(done.stdout)
    assert list(result)[:5] == ["instance", "status", "objective", "best_bound", "seconds"]
    assert result["instance"] == "Instance1"
    assert result["status"] in {"optimal", "feasible"}
    assert result["best_known"] == 607
    assert result["best_bound"] <= 607 <= result["objective"]
    assert result["seconds"] <= 5 + 2
    assert result["evaluated_ok"] is True
    checked = one_json_line(radflow("roster-evaluate", INSTANCE1, out).stdout)
    assert checked["feasible"] is True
    assert checked["objective"] == result["objective"]


def test_the_benchmark_refuses_a_malformed_instance_with_exit_2(tmp_path: Path) -> None:
    broken = tmp_path / "Broken.txt"
    broken.write_text(INSTANCE1.read_text().replace("SECTION_COVER", "SECTION_KOVER"))

    done = radflow(
        "roster-benchmark", broken, "--seconds", "1", "--solution-out", tmp_path / "x.solution"
    )

    assert done.returncode == 2
    assert "SECTION_KOVER" in done.stderr
    assert "unknown section" in done.stderr
    assert not (tmp_path / "x.solution").exists()
