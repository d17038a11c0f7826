"""The Curtois & Qu shift-scheduling benchmark format, and RadFlow's solution file beside it.

The benchmark's text files (schedulingbenchmarks.org) state a problem in seven sections: HORIZON,
SHIFTS, STAFF, DAYS_OFF, SHIFT_ON_REQUESTS, SHIFT_OFF_REQUESTS and COVER, comma-separated, with
``#`` comments and blank lines. A file that does not follow it is refused with the line, the
section and what is wrong, because a benchmark silently read wrong measures nothing.

The solution file (``write_solution``/``read_solution``) is one line per employee in STAFF order:
the employee id, then one tab-separated cell per day holding a shift id or nothing for a day off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from radflow.core.errors import RadflowError
from radflow.core.rostering.instance import (
    Assignment,
    Cover,
    Employee,
    Instance,
    Request,
    ShiftType,
)

SECTIONS = (
    "SECTION_HORIZON",
    "SECTION_SHIFTS",
    "SECTION_STAFF",
    "SECTION_DAYS_OFF",
    "SECTION_SHIFT_ON_REQUESTS",
    "SECTION_SHIFT_OFF_REQUESTS",
    "SECTION_COVER",
)


class InstanceFormatError(RadflowError):
    """A benchmark file that cannot be read; the message names the line and the section."""

    code = "roster_instance_malformed"

    def __init__(
        self, message: str, *, line: int | None = None, section: str | None = None
    ) -> None:
        where = []
        if line is not None:
            where.append(f"line {line}")
        if section is not None:
            where.append(section)
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.line = line
        self.section = section


class SolutionFormatError(RadflowError):
    """A solution file that does not fit its instance; the message names the line."""

    code = "roster_solution_malformed"

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.line = line


@dataclass(frozen=True)
class _Line:
    number: int
    section: str
    fields: list[str]

    def error(self, message: str) -> InstanceFormatError:
        return InstanceFormatError(message, line=self.number, section=self.section)

    def expect(self, count: int, what: str) -> None:
        if len(self.fields) != count:
            raise self.error(f"expected {count} fields ({what}), found {len(self.fields)}")

    def integer(self, index: int, what: str, *, minimum: int = 0) -> int:
        text = self.fields[index]
        try:
            value = int(text)
        except ValueError:
            raise self.error(f"{what} must be an integer, found {text!r}") from None
        if value < minimum:
            raise self.error(f"{what} must be at least {minimum}, found {value}")
        return value

    def day(self, index: int, horizon: int) -> int:
        day = self.integer(index, "day")
        if day >= horizon:
            raise self.error(
                f"day {day} is outside the horizon of {horizon} days (0-{horizon - 1})"
            )
        return day


def _split_sections(text: str) -> dict[str, list[_Line]]:
    """Group the data lines by section, keeping their line numbers for the messages."""
    sections: dict[str, list[_Line]] = {}
    current: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        content = raw.split("#", 1)[0].strip()
        if not content:
            continue
        if content.startswith("SECTION_"):
            if content not in SECTIONS:
                raise InstanceFormatError(
                    f"unknown section {content}; expected one of {', '.join(SECTIONS)}",
                    line=number,
                    section=content,
                )
            if content in sections:
                raise InstanceFormatError("section appears twice", line=number, section=content)
            sections[content] = []
            current = content
            continue
        if current is None:
            raise InstanceFormatError(f"data before the first section: {content!r}", line=number)
        fields = [field.strip() for field in content.split(",")]
        sections[current].append(_Line(number, current, fields))
    missing = [name for name in SECTIONS if name not in sections]
    if missing:
        raise InstanceFormatError(f"missing section(s): {', '.join(missing)}", section=missing[0])
    return sections


def _ids(value: str, line: _Line, what: str) -> str:
    if not value:
        raise line.error(f"{what} is empty")
    return value


def _known(value: str, known: Callable[[str], bool], line: _Line, what: str) -> str:
    if not known(value):
        raise line.error(f"unknown {what} {value!r}")
    return value


def _max_shifts(line: _Line, shift_ids: set[str]) -> dict[str, int]:
    """``D=14|N=4``: the most times each shift type may be worked."""
    result: dict[str, int] = {}
    for item in (part.strip() for part in line.fields[1].split("|")):
        if not item:
            continue
        shift_id, sep, count = (part.strip() for part in item.partition("="))
        if not sep:
            raise line.error(f"MaxShifts entry {item!r} is not ShiftID=count")
        _known(shift_id, shift_ids.__contains__, line, "shift id in MaxShifts")
        if shift_id in result:
            raise line.error(f"MaxShifts names shift {shift_id!r} twice")
        try:
            result[shift_id] = int(count)
        except ValueError:
            raise line.error(
                f"MaxShifts for {shift_id!r} must be an integer, found {count!r}"
            ) from None
        if result[shift_id] < 0:
            raise line.error(f"MaxShifts for {shift_id!r} must be at least 0")
    return result


def parse_curtois(text: str, name: str) -> Instance:
    """Read one benchmark instance; ``name`` is what reports call it (the file stem)."""
    sections = _split_sections(text)

    horizon_lines = sections["SECTION_HORIZON"]
    if len(horizon_lines) != 1:
        line = horizon_lines[1] if horizon_lines else None
        raise InstanceFormatError(
            f"expected one line with the number of days, found {len(horizon_lines)}",
            line=line.number if line else None,
            section="SECTION_HORIZON",
        )
    horizon_line = horizon_lines[0]
    horizon_line.expect(1, "the number of days")
    horizon = horizon_line.integer(0, "horizon", minimum=1)

    shift_rows: list[tuple[_Line, str, int, list[str]]] = []
    for line in sections["SECTION_SHIFTS"]:
        line.expect(3, "ShiftID, Length in mins, Shifts which cannot follow")
        shift_id = _ids(line.fields[0], line, "shift id")
        if any(shift_id == row[1] for row in shift_rows):
            raise line.error(f"shift {shift_id!r} is defined twice")
        minutes = line.integer(1, "length in minutes")
        forbidden = [item.strip() for item in line.fields[2].split("|") if item.strip()]
        shift_rows.append((line, shift_id, minutes, forbidden))
    if not shift_rows:
        raise InstanceFormatError("no shift types", section="SECTION_SHIFTS")
    shift_ids = {row[1] for row in shift_rows}
    shifts = []
    for line, shift_id, minutes, forbidden in shift_rows:
        for other in forbidden:
            _known(other, shift_ids.__contains__, line, "shift id in the forbidden-next list")
        shifts.append(ShiftType(id=shift_id, minutes=minutes, forbidden_next=frozenset(forbidden)))

    staff: list[Employee] = []
    for line in sections["SECTION_STAFF"]:
        line.expect(
            8,
            "ID, MaxShifts, MaxTotalMinutes, MinTotalMinutes, MaxConsecutiveShifts, "
            "MinConsecutiveShifts, MinConsecutiveDaysOff, MaxWeekends",
        )
        employee_id = _ids(line.fields[0], line, "employee id")
        if any(employee.id == employee_id for employee in staff):
            raise line.error(f"employee {employee_id!r} is defined twice")
        staff.append(
            Employee(
                id=employee_id,
                max_shifts=_max_shifts(line, shift_ids),
                max_minutes=line.integer(2, "MaxTotalMinutes"),
                min_minutes=line.integer(3, "MinTotalMinutes"),
                max_consecutive=line.integer(4, "MaxConsecutiveShifts"),
                min_consecutive=line.integer(5, "MinConsecutiveShifts"),
                min_consecutive_off=line.integer(6, "MinConsecutiveDaysOff"),
                max_weekends=line.integer(7, "MaxWeekends"),
            )
        )
    if not staff:
        raise InstanceFormatError("no employees", section="SECTION_STAFF")
    staff_ids = {employee.id for employee in staff}
    known_employee = staff_ids.__contains__

    days_off: dict[str, frozenset[int]] = {}
    for line in sections["SECTION_DAYS_OFF"]:
        if len(line.fields) < 1 or not line.fields[0]:
            raise line.error("expected EmployeeID, then day indexes")
        employee_id = _known(line.fields[0], known_employee, line, "employee id")
        if employee_id in days_off:
            raise line.error(f"employee {employee_id!r} has a second days-off line")
        days_off[employee_id] = frozenset(
            line.day(index, horizon) for index in range(1, len(line.fields)) if line.fields[index]
        )

    def requests(section: str) -> tuple[Request, ...]:
        result = []
        seen: set[tuple[str, int, str]] = set()
        for line in sections[section]:
            line.expect(4, "EmployeeID, Day, ShiftID, Weight")
            employee_id = _known(line.fields[0], known_employee, line, "employee id")
            day = line.day(1, horizon)
            shift_id = _known(line.fields[2], shift_ids.__contains__, line, "shift id")
            if (employee_id, day, shift_id) in seen:
                raise line.error(f"a second request of {employee_id} for {shift_id} on day {day}")
            seen.add((employee_id, day, shift_id))
            weight = line.integer(3, "weight")
            result.append(Request(employee=employee_id, day=day, shift=shift_id, weight=weight))
        return tuple(result)

    shift_on = requests("SECTION_SHIFT_ON_REQUESTS")
    shift_off = requests("SECTION_SHIFT_OFF_REQUESTS")

    cover = []
    seen_cover: set[tuple[int, str]] = set()
    for line in sections["SECTION_COVER"]:
        line.expect(5, "Day, ShiftID, Requirement, Weight for under, Weight for over")
        day = line.day(0, horizon)
        shift_id = _known(line.fields[1], shift_ids.__contains__, line, "shift id")
        if (day, shift_id) in seen_cover:
            raise line.error(f"a second cover line for {shift_id} on day {day}")
        seen_cover.add((day, shift_id))
        cover.append(
            Cover(
                day=day,
                shift=shift_id,
                requirement=line.integer(2, "requirement"),
                under_weight=line.integer(3, "weight for under"),
                over_weight=line.integer(4, "weight for over"),
            )
        )

    employees = tuple(
        replace(employee, days_off=days_off.get(employee.id, frozenset())) for employee in staff
    )
    return Instance(
        name=name,
        horizon=horizon,
        shifts=tuple(shifts),
        employees=employees,
        shift_on=shift_on,
        shift_off=shift_off,
        cover=tuple(cover),
    )


def load_curtois(path: str | Path) -> Instance:
    path = Path(path)
    return parse_curtois(path.read_text(encoding="utf-8"), path.stem)


def write_solution(instance: Instance, assignment: Assignment) -> str:
    """One line per employee in STAFF order: the id, then a cell per day (empty for off)."""
    lines = []
    for employee in instance.employees:
        cells = [assignment.get((employee.id, day), "") for day in range(instance.horizon)]
        lines.append("\t".join([employee.id, *cells]))
    return "\n".join(lines) + "\n"


def read_solution(instance: Instance, text: str) -> Assignment:
    """Read a solution file against its instance.

    The shape is checked here (every employee once, a cell for every day); a cell naming a shift
    the instance does not have is kept, so the evaluator reports it as a broken rule of the roster
    rather than a broken file.
    """
    known = {employee.id for employee in instance.employees}
    seen: set[str] = set()
    assignment: Assignment = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        cells = raw.rstrip("\r\n").split("\t")
        employee_id = cells[0].strip()
        if employee_id not in known:
            raise SolutionFormatError(f"unknown employee {employee_id!r}", line=number)
        if employee_id in seen:
            raise SolutionFormatError(f"employee {employee_id!r} appears twice", line=number)
        seen.add(employee_id)
        days = cells[1:]
        if len(days) != instance.horizon:
            raise SolutionFormatError(
                f"employee {employee_id!r} has {len(days)} day cells; "
                f"the horizon has {instance.horizon} days",
                line=number,
            )
        for day, cell in enumerate(days):
            if cell.strip():
                assignment[(employee_id, day)] = cell.strip()
    missing = [employee.id for employee in instance.employees if employee.id not in seen]
    if missing:
        raise SolutionFormatError(f"no line for employee(s) {', '.join(missing)}")
    return assignment
