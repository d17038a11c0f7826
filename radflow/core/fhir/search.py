"""FHIR search parameters parsed into typed values (R4 "Search", sections 3.1.1.4 and 3.1.1.5).

Rules the Django side relies on:

* a value list separated by commas is an OR (``status=booked,arrived``); a repeated parameter is
  an AND (``date=ge2031-06-01&date=le2031-06-07``);
* a date's precision makes it a range: ``2031-06`` is the whole month, ``2031-06-03`` the day (in
  the department's zone when no offset is given), ``2031-06-03T09:00`` the minute; prefixes
  ``eq ne gt lt ge le sa eb`` compare a point in time with that range;
* string parameters match case-insensitively from the start of the value;
* anything malformed raises ``InvalidRequest`` (HTTP 400) naming the parameter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import TypeVar

from radflow.core.fhir.errors import InvalidRequest

DEFAULT_COUNT = 20
MAX_COUNT = 100
#: Pages past this are refused (400) rather than sent to the database as an offset no integer
#: column holds.
MAX_PAGE = 1_000_000

_DATE = re.compile(
    r"^(?P<prefix>eq|ne|gt|lt|ge|le|sa|eb)?"
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d+)?)?"
    r"(?P<offset>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")

T = TypeVar("T", bound=date)


@dataclass(frozen=True)
class DateParam:
    """One ``date``-type value: ``lo``/``hi`` bound its implied range [lo, hi) as instants; the
    ``*_day`` pair is the same range in calendar days (for date-only fields such as birthDate)."""

    prefix: str
    lo: datetime
    hi: datetime
    lo_day: date
    hi_day: date

    def instant_bounds(self) -> tuple[datetime | None, datetime | None]:
        """[after, before) a point in time must fall in (``ne`` is the complement of ``eq``)."""
        return _bounds(self.prefix, self.lo, self.hi)

    def day_bounds(self) -> tuple[date | None, date | None]:
        return _bounds(self.prefix, self.lo_day, self.hi_day)

    @property
    def negated(self) -> bool:
        return self.prefix == "ne"


def _bounds(prefix: str, lo: T, hi: T) -> tuple[T | None, T | None]:
    if prefix in ("gt", "sa"):
        return hi, None
    if prefix == "ge":
        return lo, None
    if prefix in ("lt", "eb"):
        return None, lo
    if prefix == "le":
        return None, hi
    return lo, hi  # eq, and ne (negated by the caller)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def parse_date(raw: str, *, zone: tzinfo, name: str = "date") -> DateParam:
    """``[prefix]YYYY[-MM[-DD[Thh:mm[:ss[.f]][Z|±hh:mm]]]]`` as a range; no offset: ``zone``."""
    match = _DATE.match(raw.strip())
    if match is None:
        raise InvalidRequest(
            f"{name}={raw!r} is not a FHIR date (e.g. 2031-06-03, ge2031-06-03T09:00Z).",
            field=name,
        )
    parts = match.groupdict()
    prefix = parts["prefix"] or "eq"
    try:
        year = int(parts["year"])
        month = int(parts["month"] or 1)
        day = int(parts["day"] or 1)
        first_day = date(year, month, day)
        if parts["day"]:
            step_day = first_day + timedelta(days=1)
        elif parts["month"]:
            step_day = _add_months(first_day, 1)
        else:
            step_day = date(year + 1, 1, 1)
        if parts["hour"] is None:
            # Kept in UTC: two datetimes sharing a ZoneInfo subtract by wall clock, which is an
            # hour off across a DST change.
            lo = datetime(year, month, day, tzinfo=zone).astimezone(UTC)
            hi = datetime(step_day.year, step_day.month, step_day.day, tzinfo=zone).astimezone(UTC)
            return DateParam(prefix, lo, hi, first_day, step_day)
        offset = parts["offset"]
        moment = datetime.fromisoformat(
            f"{first_day.isoformat()}T{parts['hour']}:{parts['minute']}:{parts['second'] or '00'}"
            + ("+00:00" if offset == "Z" else offset or "")
        )
    except ValueError as exc:
        raise InvalidRequest(f"{name}={raw!r} is not a valid date: {exc}.", field=name) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    moment = moment.astimezone(UTC)
    width = timedelta(seconds=1) if parts["second"] else timedelta(minutes=1)
    local_day = moment.astimezone(zone).date()
    return DateParam(prefix, moment, moment + width, local_day, local_day + timedelta(days=1))


def parse_dates(values: list[str], *, zone: tzinfo, name: str) -> list[DateParam]:
    return [parse_date(value, zone=zone, name=name) for value in values if value.strip()]


@dataclass(frozen=True)
class Token:
    """``system|code``; ``system`` is ``None`` when not given and ``""`` for ``|code``."""

    system: str | None
    code: str


def parse_tokens(raw: str, *, name: str) -> list[Token]:
    """One parameter value's comma-separated alternatives."""
    tokens = []
    for part in split_or(raw):
        system, bar, code = part.rpartition("|")
        if not code:
            raise InvalidRequest(f"{name}={raw!r} has no code after '|'.", field=name)
        tokens.append(Token(system if bar else None, code))
    if not tokens:
        raise InvalidRequest(f"{name} is empty.", field=name)
    return tokens


def split_or(raw: str) -> list[str]:
    r"""Comma-separated alternatives (``\,`` is a literal comma)."""
    parts = re.split(r"(?<!\\),", raw)
    return [part.replace("\\,", ",").strip() for part in parts if part.strip()]


@dataclass(frozen=True)
class Ref:
    resource_type: str | None
    id: str


def parse_reference(raw: str, *, name: str, types: tuple[str, ...]) -> Ref:
    """``Type/id``, a bare ``id`` or an absolute URL ending in ``Type/id``; the type, when given,
    must be one of ``types``."""
    value = raw.strip()
    if not value:
        raise InvalidRequest(f"{name} is empty.", field=name)
    segments = [s for s in value.split("?", 1)[0].split("/") if s]
    if len(segments) >= 2 and segments[-2][:1].isupper():
        ref = Ref(segments[-2], segments[-1])
    elif len(segments) == 1:
        ref = Ref(None, segments[0])
    else:
        raise InvalidRequest(f"{name}={raw!r} is not a reference (Type/id).", field=name)
    if ref.resource_type is not None and ref.resource_type not in types:
        raise InvalidRequest(
            f"{name} must refer to {' or '.join(types)}, not {ref.resource_type}.", field=name
        )
    if not _ID.match(ref.id):
        raise InvalidRequest(f"{name}={raw!r} does not end in a FHIR id.", field=name)
    return ref


def parse_references(raw: str, *, name: str, types: tuple[str, ...]) -> list[Ref]:
    return [parse_reference(part, name=name, types=types) for part in split_or(raw)]


def string_values(raw: str) -> list[str]:
    """A string parameter's alternatives, folded for a case-insensitive prefix match."""
    return [part.casefold() for part in split_or(raw)]


def page_size(count: int | None) -> int:
    """``_count``: 20 unless asked; more than 100 is served as 100 (R4 lets a server cap it);
    ``0`` asks for the total alone."""
    if count is None:
        return DEFAULT_COUNT
    if count < 0:
        raise InvalidRequest("_count cannot be negative.", field="_count")
    return min(count, MAX_COUNT)


def page_number(page: int | None) -> int:
    if page is None:
        return 1
    if page < 1 or page > MAX_PAGE:
        raise InvalidRequest(f"_page runs from 1 to {MAX_PAGE}.", field="_page")
    return page


def is_fhir_id(value: str) -> bool:
    return bool(_ID.match(value))
