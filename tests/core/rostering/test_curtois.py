"""Reading the Curtois & Qu benchmark files and RadFlow's solution files, without a database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from radflow.core.rostering.curtois import (
    InstanceFormatError,
    SolutionFormatError,
    load_curtois,
    parse_curtois,
    read_solution,
    write_solution,
)

BENCHMARKS = Path("/work/shared/benchmarks/shift-scheduling")

needs_benchmarks = pytest.mark.skipif(
    not BENCHMARKS.is_dir(), reason="the benchmark files are not on this machine"
)


def section_rows(text: str, section: str) -> list[str]:
    """The data lines of one section, counted straight from the file for comparison."""
    rows, inside = [], False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("SECTION_"):
            inside = stripped == section
        elif inside and stripped and not stripped.startswith("#"):
            rows.append(stripped)
    return rows


@needs_benchmarks
@pytest.mark.parametrize("number", range(1, 16))
def test_every_benchmark_instance_reads_with_the_counts_its_file_states(number: int) -> None:
    path = BENCHMARKS / f"Instance{number}.txt"
    text = path.read_text()

    instance = load_curtois(path)

    assert instance.name == f"Instance{number}"
    assert instance.horizon == int(section_rows(text, "SECTION_HORIZON")[0])
    assert [s.id for s in instance.shifts] == [
        row.split(",")[0] for row in section_rows(text, "SECTION_SHIFTS")
    ]
    assert [e.id for e in instance.employees] == [
        row.split(",")[0] for row in section_rows(text, "SECTION_STAFF")
    ]
    assert len(instance.shift_on) == len(section_rows(text, "SECTION_SHIFT_ON_REQUESTS"))
    assert len(instance.shift_off) == len(section_rows(text, "SECTION_SHIFT_OFF_REQUESTS"))
    assert len(instance.cover) == len(section_rows(text, "SECTION_COVER"))
    days_off = sum(len(row.split(",")) - 1 for row in section_rows(text, "SECTION_DAYS_OFF"))
    assert sum(len(e.days_off) for e in instance.employees) == days_off


@needs_benchmarks
def test_instance1_is_read_field_by_field() -> None:
    instance = load_curtois(BENCHMARKS / "Instance1.txt")

    assert (instance.horizon, len(instance.shifts), len(instance.employees)) == (14, 1, 8)
    assert instance.shifts[0].id == "D"
    assert instance.shifts[0].minutes == 480
    assert instance.shifts[0].forbidden_next == frozenset()
    a = instance.employees[0]
    assert a.id == "A"
    assert dict(a.max_shifts) == {"D": 14}
    assert (a.max_minutes, a.min_minutes) == (4320, 3360)
    assert (a.max_consecutive, a.min_consecutive, a.min_consecutive_off) == (5, 2, 2)
    assert a.max_weekends == 1
    assert a.days_off == frozenset({0})
    assert instance.shift_on[0].employee == "A"
    assert (instance.shift_on[0].day, instance.shift_on[0].weight) == (2, 2)
    assert instance.cover[1].requirement == 7
    assert (instance.cover[1].under_weight, instance.cover[1].over_weight) == (100, 1)


@needs_benchmarks
def test_forbidden_next_shifts_are_read_from_the_bar_separated_list() -> None:
    instance = load_curtois(BENCHMARKS / "Instance12.txt")

    assert instance.shift("d1").forbidden_next == frozenset({"a1", "a2", "a3"})
    assert instance.shift("a1").forbidden_next == frozenset()


GOOD = """\
# A tiny instance
SECTION_HORIZON
7

SECTION_SHIFTS
# ShiftID, Length in mins, Shifts which cannot follow this shift | separated
E,480,
L,600,E

SECTION_STAFF
A,E=7|L=3,2400,960,5,2,2,1
B,E=7|L=3,2400,960,5,2,2,1

SECTION_DAYS_OFF
A,0,6

SECTION_SHIFT_ON_REQUESTS
A,2,E,2

SECTION_SHIFT_OFF_REQUESTS
B,3,L,1

SECTION_COVER
0,E,1,100,1
0,L,1,100,1
"""


def test_a_small_instance_reads_with_comments_and_blank_lines() -> None:
    instance = parse_curtois(GOOD, "tiny")

    assert instance.name == "tiny"
    assert instance.shift("L").minutes == 600
    assert instance.shift("L").forbidden_next == frozenset({"E"})
    assert instance.employees[0].days_off == frozenset({0, 6})
    assert instance.employees[1].days_off == frozenset()
    assert dict(instance.employees[1].max_shifts) == {"E": 7, "L": 3}


def last_line_of(text: str, start: str) -> int:
    """The number of the last line starting with ``start``: a duplicate is refused there."""
    return [n for n, line in enumerate(text.splitlines(), 1) if line.startswith(start)][-1]


def refused(text: str) -> InstanceFormatError:
    with pytest.raises(InstanceFormatError) as caught:
        parse_curtois(text, "bad")
    assert caught.value.code == "roster_instance_malformed"
    return caught.value


@pytest.mark.parametrize(
    ("old", "new", "section", "says"),
    [
        ("SECTION_COVER", "SECTION_COVERS", "SECTION_COVERS", "unknown section"),
        ("A,2,E,2", "A,2,E", "SECTION_SHIFT_ON_REQUESTS", "expected 4 fields"),
        ("A,E=7|L=3,2400,960,5,2,2,1", "A,E=7|L=3,2400,960,5,2,2", "SECTION_STAFF", "expected 8"),
        ("A,E=7|L=3,2400,960,5,2,2,1", "A,E=7|L=3,2400,lots,5,2,2,1", "SECTION_STAFF", "integer"),
        ("A,E=7|L=3,2400,960,5,2,2,1", "A,E=x|L=3,2400,960,5,2,2,1", "SECTION_STAFF", "integer"),
        ("A,E=7|L=3,2400,960,5,2,2,1", "A,E=7|N=3,2400,960,5,2,2,1", "SECTION_STAFF", "'N'"),
        ("L,600,E", "L,600,E|N", "SECTION_SHIFTS", "unknown shift id"),
        ("A,2,E,2", "A,2,N,2", "SECTION_SHIFT_ON_REQUESTS", "unknown shift id 'N'"),
        ("B,3,L,1", "Z,3,L,1", "SECTION_SHIFT_OFF_REQUESTS", "unknown employee id 'Z'"),
        ("A,0,6", "Z,0,6", "SECTION_DAYS_OFF", "unknown employee id 'Z'"),
        ("A,0,6", "A,0,7", "SECTION_DAYS_OFF", "day 7 is outside the horizon"),
        ("0,L,1,100,1", "9,L,1,100,1", "SECTION_COVER", "day 9 is outside the horizon"),
        ("0,L,1,100,1", "0,L,-1,100,1", "SECTION_COVER", "at least 0"),
        ("0,L,1,100,1", "0,E,1,100,1", "SECTION_COVER", "second cover line"),
        ("L,600,E", "E,600,", "SECTION_SHIFTS", "defined twice"),
        ("B,E=7|L=3,2400,960,5,2,2,1", "A,E=7|L=3,2400,960,5,2,2,1", "SECTION_STAFF", "twice"),
    ],
)
def test_a_malformed_line_is_refused_naming_its_line_section_and_fault(
    old: str, new: str, section: str, says: str
) -> None:
    text = GOOD.replace(old, new, 1)
    line = last_line_of(text, new)

    error = refused(text)

    assert error.line == line
    assert error.section == section
    assert f"line {line}" in error.message
    assert section in error.message
    assert says in error.message


def test_a_missing_section_is_named() -> None:
    text = re.sub(r"SECTION_COVER\n(.*\n)*", "", GOOD)

    error = refused(text)

    assert "missing section(s): SECTION_COVER" in error.message


def test_a_section_given_twice_is_refused_at_its_second_header() -> None:
    text = GOOD + "\nSECTION_COVER\n1,E,1,100,1\n"

    error = refused(text)

    assert error.line == len(GOOD.splitlines()) + 2
    assert "section appears twice" in error.message


def test_data_before_the_first_section_is_refused_with_its_line() -> None:
    error = refused("7\n" + GOOD)

    assert error.line == 1
    assert "data before the first section" in error.message


def test_a_horizon_that_is_not_a_number_is_refused() -> None:
    text = GOOD.replace("SECTION_HORIZON\n7", "SECTION_HORIZON\nseven")

    error = refused(text)

    assert (error.line, error.section) == (3, "SECTION_HORIZON")
    assert "horizon must be an integer, found 'seven'" in error.message


def test_a_second_days_off_line_for_one_person_is_refused() -> None:
    text = GOOD.replace("A,0,6\n", "A,0,6\nA,3\n")

    error = refused(text)

    assert (error.line, error.section) == (last_line_of(text, "A,3"), "SECTION_DAYS_OFF")


def tiny():
    return parse_curtois(GOOD, "tiny")


def test_a_solution_is_written_one_line_per_employee_with_a_cell_per_day() -> None:
    instance = tiny()

    text = write_solution(instance, {("A", 1): "E", ("A", 2): "L", ("B", 6): "E"})

    assert text == "A\t\tE\tL\t\t\t\t\nB\t\t\t\t\t\t\tE\n"


def test_a_written_solution_reads_back_unchanged() -> None:
    instance = tiny()
    assignment = {("A", 1): "E", ("A", 2): "L", ("B", 0): "E", ("B", 6): "L"}

    assert read_solution(instance, write_solution(instance, assignment)) == assignment


def test_a_cell_with_an_unknown_shift_is_kept_for_the_evaluator_to_report() -> None:
    text = "A\tX\t\t\t\t\t\t\nB\t\t\t\t\t\t\t\n"

    assert read_solution(tiny(), text) == {("A", 0): "X"}


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("A\t\t\t\t\t\t\t\nB\t\t\t\n", 2, "has 3 day cells; the horizon has 7 days"),
        ("A\t\t\t\t\t\t\t\nZ\t\t\t\t\t\t\t\n", 2, "unknown employee 'Z'"),
        ("A\t\t\t\t\t\t\t\nA\t\t\t\t\t\t\t\n", 2, "employee 'A' appears twice"),
    ],
)
def test_a_malformed_solution_is_refused_naming_the_line(text: str, line: int, says: str) -> None:
    with pytest.raises(SolutionFormatError) as caught:
        read_solution(tiny(), text)

    assert caught.value.line == line
    assert caught.value.message.startswith(f"line {line}: ")
    assert says in caught.value.message


def test_a_solution_missing_an_employee_names_who() -> None:
    with pytest.raises(SolutionFormatError, match="no line for employee"):
        read_solution(tiny(), "A\t\t\t\t\t\t\t\n")
