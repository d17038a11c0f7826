"""A small two-site department whose dashboard numbers are worked out by hand.

Tuesday 10 March 2026, one ultrasound room at each site (Northside, Southside), six appointments
made through the real services and rolled up as the worker does:

- Northside: N1 seen at 09:00; N2 a no-show at 10:00 (no contact); N3 a no-show at 11:00 (forgot).
- Southside: S1 seen at 09:00; S2 a no-show at 10:00 (no contact); S3 seen at 11:00.

So: exams performed 3 (Northside 1, Southside 2); no-show rate 3 of 6 = 50 % (Northside 2 of 3,
Southside 1 of 3); no-shows by reason: no contact 2 (N2, S2), forgot 1 (N3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import TypeVar
from zoneinfo import ZoneInfo

import time_machine
from django.contrib.auth.models import User

from radflow.exams.models import Exam
from radflow.exams.services import (
    exam_arrive,
    exam_begin,
    exam_complete,
    exam_no_show,
    exam_schedule,
    exam_triage,
)
from radflow.kpis.rollups import rollups_refresh
from radflow.scheduling.models import Modality, Room, Site
from tests.exams.factories import OVERRIDE_ALL
from tests.orders.factories import make_order
from tests.scheduling.factories import (
    DepartmentFactory,
    RoomFactory,
    RoomOpeningHoursFactory,
    SiteFactory,
)

NY = ZoneInfo("America/New_York")
DAY = date(2026, 3, 10)  # a Tuesday
T = TypeVar("T")

#: (name, site, hour, outcome): "seen" or a no-show reason code.
PLAN = [
    ("N1", "north", 9, "seen"),
    ("N2", "north", 10, "no_contact"),
    ("N3", "north", 11, "forgot"),
    ("S1", "south", 9, "seen"),
    ("S2", "south", 10, "no_contact"),
    ("S3", "south", 11, "seen"),
]


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=NY)


def on(when: datetime, action: Callable[[], T]) -> T:
    with time_machine.travel(when, tick=False):
        return action()


@dataclass
class TwoSites:
    north: Site
    south: Site
    rooms: dict[str, Room]
    exams: dict[str, Exam] = field(default_factory=dict)

    def accessions(self, *names: str) -> set[str]:
        return {self.exams[name].accession_number for name in names}


def build_two_sites(by: User, day: date = DAY) -> TwoSites:
    """The department above (reference data loaded first), rolled up."""
    modality, _ = Modality.objects.get_or_create(code="US", defaults={"name": "Ultrasound"})
    sites = {
        "north": SiteFactory.create(name="Northside Imaging", code="NTH"),
        "south": SiteFactory.create(name="Southside Imaging", code="STH"),
    }
    rooms = {}
    for key, site in sites.items():
        department = DepartmentFactory.create(site=site)
        room = RoomFactory.create(
            site=site, department=department, code=f"US-{site.code}", modality=modality
        )
        RoomOpeningHoursFactory.create(
            room=room, weekday=day.weekday(), opens=time(7), closes=time(19)
        )
        rooms[key] = room
    world = TwoSites(sites["north"], sites["south"], rooms)
    before = day - timedelta(days=2)
    for name, key, hour, outcome in PLAN:
        exam = on(at(before, 9), partial(make_order, by=by, site=sites[key])).exam
        on(at(before, 9, 5), partial(exam_triage, exam=exam, by=by))
        start = at(day, hour)
        on(
            at(before, 9, 10),
            partial(exam_schedule, exam=exam, by=by, room=rooms[key], start=start),
        )
        if outcome == "seen":
            on(start - timedelta(minutes=10), partial(exam_arrive, exam=exam, by=by))
            on(start, partial(exam_begin, exam=exam, by=by, overrides=OVERRIDE_ALL))
            on(start + timedelta(minutes=30), partial(exam_complete, exam=exam, by=by))
        else:
            no_show = partial(exam_no_show, exam=exam, by=by, reason_code=outcome)
            on(start + timedelta(minutes=45), no_show)
        exam.refresh_from_db()
        world.exams[name] = exam
    rollups_refresh()
    return world
