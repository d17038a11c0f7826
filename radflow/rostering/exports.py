"""A person's published shifts as an iCal feed, and a roster as an XLSX workbook.

The feed carries the site's zone (TZID plus its VTIMEZONE), so a calendar app shows a night across
a daylight-saving change at the wall-clock times the shift is worked.
"""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO
from typing import Any

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from openpyxl.worksheet.table import Table, TableStyleInfo  # type: ignore[import-untyped]
from openpyxl.worksheet.worksheet import Worksheet  # type: ignore[import-untyped]

from radflow.rostering.models import Roster
from radflow.rostering.selectors import fairness, person_shifts, roster_grid
from radflow.staff.models import StaffMember

#: How far back and ahead the feed reaches from today.
FEED_PAST_DAYS = 30
FEED_FUTURE_DAYS = 120
PRODUCT_ID = "-//RadFlow//Roster//EN"


def ical_feed(*, staff: StaffMember, today: Any = None) -> bytes:
    """The person's published shifts from a month ago to four months ahead.

    UIDs are stable per person, day and roster row, so a calendar app updates a changed shift
    (swap, sick cover) instead of adding a second one.
    """
    on = today or timezone.localdate()
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"Shifts: {staff.given_name} {staff.family_name}")
    host = settings.RADFLOW_BASE_URL.split("://")[-1].split("/")[0] or "radflow"
    stamp = timezone.now()
    for row in person_shifts(
        staff=staff,
        start=on - timedelta(days=FEED_PAST_DAYS),
        end=on + timedelta(days=FEED_FUTURE_DAYS),
    ):
        shift = row.shift_type
        event = Event()
        event.add("uid", f"shift-{staff.pk}-{row.date.isoformat()}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", row.start)
        event.add("dtend", row.end)
        summary = f"{shift.name} ({shift.code})"
        if row.on_call:
            summary = f"ON CALL: {summary}"
            event.add("categories", ["ON-CALL"])
            event.add("transp", "TRANSPARENT")
        else:
            event.add("categories", [shift.get_kind_display().upper()])
        event.add("summary", summary)
        event.add("location", row.site)
        if row.on_call and row.callback_minutes:
            event.add(
                "description",
                f"On call from home: reach {row.site} within {row.callback_minutes} minutes "
                "when called back.",
            )
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


def _sheet(
    workbook: Workbook, title: str, headers: list[str], rows: list[list[Any]], *, first: bool
) -> Worksheet:
    if first and workbook.active is not None:
        sheet = workbook.active
        sheet.title = title
    else:
        sheet = workbook.create_sheet(title)
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    for index, header in enumerate(headers, start=1):
        values = [header, *(r[index - 1] for r in rows)]
        width = max(len(str(v)) if v is not None else 0 for v in values) + 2
        sheet.column_dimensions[get_column_letter(index)].width = max(6, min(40, width))
    sheet.freeze_panes = "C2" if title == "Roster" else "A2"
    if rows:
        ref = f"A1:{get_column_letter(len(headers))}{len(rows) + 1}"
        table = Table(displayName=f"{title}Table", ref=ref)
        table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
        sheet.add_table(table)
    return sheet


def roster_xlsx(*, roster: Roster) -> bytes:
    """Three sheets, each an Excel table: the grid (people x days, shift codes, leave as
    "leave"), the cover reached per day and shift, and the fairness counts."""
    grid = roster_grid(roster=roster)
    day_headers = [f"{on:%a} {on.isoformat()}" for on in grid.days]
    grid_rows: list[list[Any]] = []
    for group in grid.groups:
        for person in group.people:
            cells = [
                cell.code or (f"leave ({cell.leave})" if cell.leave else "")
                for cell in person.cells
            ]
            grid_rows.append(
                [
                    f"{person.staff.family_name}, {person.staff.given_name}",
                    group.label,
                    *cells,
                    round(person.minutes / 60, 1),
                ]
            )
    workbook = Workbook()
    _sheet(workbook, "Roster", ["Person", "Group", *day_headers, "Hours"], grid_rows, first=True)
    cover_rows = [
        [item.date, item.shift, item.skill or "", item.minimum, item.preferred, item.assigned]
        for on in sorted(grid.coverage)
        for item in grid.coverage[on]
    ]
    cover_sheet = _sheet(
        workbook,
        "Coverage",
        ["Date", "Shift", "Skill", "Minimum", "Preferred", "Assigned"],
        cover_rows,
        first=False,
    )
    for row in cover_sheet.iter_rows(min_row=2, max_col=1):
        row[0].number_format = "yyyy-mm-dd"
    table = fairness(roster=roster)
    fair_rows = [
        [
            f"{row.staff.family_name}, {row.staff.given_name}",
            row.nights,
            row.weekends,
            row.holidays,
            row.on_call,
        ]
        for row in table.rows
    ]
    _sheet(
        workbook,
        "Fairness",
        ["Person", "Nights", "Weekend days", "Holidays", "On call"],
        fair_rows,
        first=False,
    )
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
