"""Start-up refuses a bad configuration with one clear line, as an operator would see it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_radflow(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "SECRET_KEY_FILE", "DATABASE_URL", "RADFLOW_TESTING", "DEBUG"}
    }
    base["RADFLOW_DATA_DIR"] = str(tmp_path)
    base.update(env)
    return subprocess.run(
        [sys.executable, "-m", "radflow", "migrate", "--check"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_it_refuses_to_start_without_a_secret_key_in_production(tmp_path: Path) -> None:
    result = run_radflow(tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "radflow: configuration error: "
        "SECRET_KEY (or SECRET_KEY_FILE) must be set when DEBUG is off"
    ]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "DATABASE_URL is not a valid database URL"),
        ("mysql://radflow@db/radflow", "unsupported database engine"),
        ("postgres://postgres@127.0.0.1:1/radflow", "cannot use the database"),
    ],
)
def test_it_stops_with_one_line_on_a_bad_database_url(
    tmp_path: Path, url: str, expected: str
) -> None:
    result = run_radflow(tmp_path, SECRET_KEY="x" * 50, DATABASE_URL=url)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.stderr


def test_secret_key_can_come_from_a_file(tmp_path: Path) -> None:
    key_file = tmp_path / "secret"
    key_file.write_text("k" * 50)
    result = run_radflow(tmp_path, SECRET_KEY_FILE=str(key_file))
    # migrate --check exits 1 when migrations are unapplied in the fresh database: it got that far.
    assert result.returncode == 1
    assert "configuration error" not in result.stderr
