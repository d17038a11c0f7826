"""A small site for the board tests, bookings made through the exam services, and a reader of
the board's HTML that sees what a coordinator sees: which block sits in which room's column, at
which minute, with which colours and warnings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.urls import reverse

from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam
from radflow.exams.services import exam_schedule
from radflow.scheduling.models import Modality, Room, RoomOpeningHours, Site
from radflow.staff.models import StaffMember
from tests.exams.factories import make_exam
from tests.scheduling.factories import RoomFactory, SiteFactory

ZONE = ZoneInfo("America/New_York")
#: A plain Monday, the spring-forward Sunday (23 h) and the fall-back Sunday (25 h) of 2026.
MONDAY = dt.date(2026, 3, 2)
SPRING_FORWARD = dt.date(2026, 3, 8)
FALL_BACK = dt.date(2026, 11, 1)
#: Bookings are made the week before, at 07:00 local.
EXAM_TYPE = "us-renal-complete"  # 30 minutes, no fasting


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ZONE)


def booking_clock(day: dt.date) -> dt.datetime:
    """A moment a week before ``day``: bookings for ``day`` are in the future then."""
    return local(day - dt.timedelta(days=7), 7)


@dataclass
class BoardSite:
    site: Site
    us1: Room
    us2: Room
    ct: Room


def board_site(code: str = "RIV") -> BoardSite:
    """Two ultrasound rooms and a CT room, open 07:00-19:00 every day."""
    site = SiteFactory.create(code=code, name=f"Riverside {code}", time_zone="America/New_York")
    us = Modality.objects.get_or_create(code="US", defaults={"name": "Ultrasound"})[0]
    ct = Modality.objects.get_or_create(code="CT", defaults={"name": "Computed tomography"})[0]
    rooms = [
        RoomFactory.create(site=site, modality=us, code=f"{code}-US1", name="Ultrasound 1"),
        RoomFactory.create(site=site, modality=us, code=f"{code}-US2", name="Ultrasound 2"),
        RoomFactory.create(site=site, modality=ct, code=f"{code}-CT1", name="CT 1"),
    ]
    RoomOpeningHours.objects.bulk_create(
        RoomOpeningHours(room=room, weekday=weekday, opens=dt.time(7), closes=dt.time(19))
        for room in rooms
        for weekday in range(7)
    )
    return BoardSite(site, *rooms)


def book(
    room: Room,
    start: dt.datetime,
    *,
    by: User,
    exam_type: str = EXAM_TYPE,
    technologist: StaffMember | None = None,
    **order_kwargs: Any,
) -> Exam:
    """An exam booked into ``room`` at ``start`` (the clock must be before ``start``)."""
    exam = make_exam(ExamState.AUTHORIZED, by=by, exam_type=exam_type, **order_kwargs)
    return exam_schedule(exam=exam, by=by, room=room, start=start, technologist=technologist)


def board_url(site: Site, day: dt.date, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"site": site.code, "date": day, **params}.items())
    return f"{reverse('scheduling:board')}?{query}"


@dataclass
class ShownBlock:
    accession: str
    attrs: dict[str, str]
    room: str  # the data-room of the column it sits in
    classes: set[str]
    text: str

    @property
    def minute(self) -> int:
        return int(self.attrs["data-minute"])

    @property
    def warnings(self) -> list[str]:
        return self._warnings

    _warnings: list[str] = field(default_factory=list)


class _BoardParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.column = ""
        self.blocks: list[ShownBlock] = []
        self.current: ShownBlock | None = None
        self.depth = 0
        self.in_warning = False
        self.warning_text: list[str] = []
        self.hours: list[str] = []
        self.in_hour = False
        self.freed: list[str] = []
        self.in_freed = False
        self.freed_text: list[str] = []
        self.rooms: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = set(a.get("class", "").split())
        if tag == "section" and "board-col" in classes:
            self.column = a.get("data-room", "")
            self.rooms.append(self.column)
        if self.current is not None:
            self.depth += 1
            if tag == "li" and "warning" in classes:
                self.in_warning, self.warning_text = True, []
        elif tag == "article" and "appt" in classes:
            self.current = ShownBlock(
                accession=a.get("id", "").removeprefix("exam-"),
                attrs=a,
                room=self.column,
                classes=classes,
                text="",
            )
            self.depth = 1
        if tag == "div" and "hour-mark" in classes:
            self.in_hour = True
        if tag == "li" and "freed-item" in classes:
            self.in_freed, self.freed_text = True, []

    def handle_endtag(self, tag: str) -> None:
        if self.current is not None:
            if tag == "li" and self.in_warning:
                self.current._warnings.append("".join(self.warning_text).strip())
                self.in_warning = False
            self.depth -= 1
            if self.depth == 0:
                self.current.text = " ".join(self.current.text.split())
                self.blocks.append(self.current)
                self.current = None
        if tag == "div":
            self.in_hour = False
        if tag == "li" and self.in_freed:
            self.freed.append(" ".join("".join(self.freed_text).split()))
            self.in_freed = False

    def handle_data(self, data: str) -> None:
        if self.current is not None:
            self.current.text += data
            if self.in_warning:
                self.warning_text.append(data)
        if self.in_hour and data.strip():
            self.hours.append(data.strip())
        if self.in_freed:
            self.freed_text.append(data)


@dataclass
class ShownBoard:
    blocks: dict[str, ShownBlock]
    hours: list[str]
    freed: list[str]
    rooms: list[str]
    html: str


def read_board(response: Any) -> ShownBoard:
    parser = _BoardParser()
    html = response.content.decode()
    parser.feed(html)
    return ShownBoard(
        blocks={b.accession: b for b in parser.blocks},
        hours=parser.hours,
        freed=parser.freed,
        rooms=parser.rooms,
        html=html,
    )
