"""The eligibility page: for an exam type, a day and a site, the rooms, devices and performers
that may take it, and for every one excluded the reason a coordinator can act on (a missing
capability, a room down or closed that day, a device in downtime, a credential expired, a
competency lapsed). No patient is involved, so nothing is written to the access log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from radflow.audit.models import AccessLog
from radflow.core.roles import Role
from radflow.credentials.models import CompetencySignoff
from radflow.credentials.reference import load_credential_reference
from radflow.scheduling.models import (
    DeviceDowntime,
    Room,
    RoomCapability,
    RoomClosure,
    RoomStatus,
    SiteClosure,
)
from tests.conftest import client_for, make_user
from tests.credentials.factories import make_credential, make_signoff, sonographer
from tests.scheduling.board_setup import MONDAY, BoardSite, board_site, booking_clock, local
from tests.scheduling.factories import DeviceFactory, qualified_performer, works_every_day

pytestmark = pytest.mark.django_db
YESTERDAY = MONDAY - dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(booking_clock(MONDAY), tick=False):
        yield


@pytest.fixture
def place(reference: None) -> BoardSite:
    load_credential_reference()
    return board_site()


@pytest.fixture
def coordinator() -> Client:
    return client_for(make_user(Role.COORDINATOR, "elig_coord"))


def url(exam_type: str, site: str = "RIV", on: dt.date = MONDAY, **extra: str) -> str:
    query = f"exam_type={exam_type}&date={on}&site={site}"
    for key, value in extra.items():
        query += f"&{key}={value}"
    return f"{reverse('scheduling:eligibility')}?{query}"


class _Rows(HTMLParser):
    """Text of each row of the tables ``eligible-rooms``, ``eligible-staff`` and ``excluded``."""

    def __init__(self) -> None:
        super().__init__()
        self.table = ""
        self.rows: dict[str, list[str]] = {
            "eligible-rooms": [],
            "eligible-staff": [],
            "excluded": [],
        }
        self.current: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table" and found.get("id") in self.rows:
            self.table = found["id"] or ""
        elif tag == "tr" and self.table:
            self.current = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr" and self.current is not None and self.table:
            text = " ".join(" ".join(self.current).split())
            if text and not text.startswith(("Room Open", "Person Works", "Kind Who")):
                self.rows[self.table].append(text)
            self.current = None
        elif tag == "table":
            self.table = ""

    def handle_data(self, data: str) -> None:
        if self.current is not None:
            self.current.append(data)


def rows(client: Client, address: str) -> dict[str, list[str]]:
    response = client.get(address)
    assert response.status_code == 200, response.content.decode()[:500]
    parser = _Rows()
    parser.feed(response.content.decode())
    return parser.rows


def row_of(found: list[str], name: str) -> str:
    matches = [row for row in found if name in row]
    assert len(matches) == 1, (name, found)
    return matches[0]


def test_a_sonographer_whose_credential_expired_yesterday_is_excluded_with_the_reason(
    place: BoardSite, coordinator: Client
) -> None:
    expired = sonographer(home_site=place.site, given_name="Dana", family_name="Holt")
    make_credential(expired, "ardms-rdms-ab", expires_on=YESTERDAY)
    make_signoff(expired, "us-abdominal", on=dt.date(2026, 1, 15))
    works_every_day(expired, dt.time(7), dt.time(19))
    current = qualified_performer(place.site, on=MONDAY, given_name="Maria", family_name="Lopez")
    works_every_day(current, dt.time(7), dt.time(15, 30))
    logged = AccessLog.objects.count()

    shown = rows(coordinator, url("us-abdomen-complete"))

    excluded = row_of(shown["excluded"], "Holt")
    assert excluded.startswith("Staff")
    assert "ARDMS RDMS (AB) expired on 2026-03-01" in excluded
    eligible = row_of(shown["eligible-staff"], "Lopez")
    assert "07:00-15:30" in eligible
    assert not [row for row in shown["eligible-staff"] if "Holt" in row]
    assert AccessLog.objects.count() == logged


def test_a_lapsed_competency_and_a_missing_one_are_named(
    place: BoardSite, coordinator: Client
) -> None:
    lapsed = sonographer(home_site=place.site, family_name="Okafor")
    make_credential(lapsed, "ardms-rdms-ab")
    signoff = make_signoff(lapsed, "us-abdominal", on=dt.date(2025, 1, 10))
    CompetencySignoff.objects.filter(pk=signoff.pk).update(valid_until=YESTERDAY)
    never = sonographer(home_site=place.site, family_name="Brennan")
    make_credential(never, "ardms-rdms-ab")

    shown = rows(coordinator, url("us-abdomen-complete"))

    assert "no current Abdominal ultrasound competency (lapsed 2026-03-02)" in row_of(
        shown["excluded"], "Okafor"
    )
    assert "no current Abdominal ultrasound competency (never signed off)" in row_of(
        shown["excluded"], "Brennan"
    )


def test_rooms_are_excluded_for_a_missing_capability_being_down_or_a_device_in_downtime(
    place: BoardSite, coordinator: Client
) -> None:
    vascular = RoomCapability.objects.get(code="vascular")
    place.us1.capabilities.add(vascular)  # its only scanner is in downtime all day
    scanner = DeviceFactory.create(room=place.us1, modality=place.us1.modality)
    DeviceDowntime.objects.create(
        device=scanner, start=local(MONDAY, 6), end=local(MONDAY, 20), reason="Planned PM"
    )
    down = Room.objects.create(
        site=place.site,
        name="Ultrasound 3",
        code="RIV-US3",
        modality=place.us1.modality,
        status=RoomStatus.DOWN,
        status_note="Cable damaged",
    )
    down.capabilities.add(vascular)
    partly = Room.objects.create(
        site=place.site, name="Ultrasound 4", code="RIV-US4", modality=place.us1.modality
    )
    partly.capabilities.add(vascular)
    for weekday in range(7):
        partly.opening_hours.create(weekday=weekday, opens=dt.time(8), closes=dt.time(17))
    RoomClosure.objects.create(
        room=partly, start=local(MONDAY, 10), end=local(MONDAY, 12), reason="Deep clean"
    )

    shown = rows(coordinator, url("us-carotid-duplex"))

    assert "Ultrasound 2 lacks Vascular package (duplex Doppler)." in row_of(
        shown["excluded"], "RIV-US2"
    )
    assert "Ultrasound 3 is down (Cable damaged)." in row_of(shown["excluded"], "RIV-US3")
    device_row = row_of(shown["excluded"], scanner.serial_number)
    assert device_row.startswith("Device")
    assert "In downtime for all of RIV-US1's hours on Mon 02 Mar 2026." in device_row
    assert "Down 06:00-20:00: Planned PM." in device_row
    assert "No device of Ultrasound 1 is available on Mon 02 Mar 2026." in row_of(
        shown["excluded"], "RIV-US1 Ultrasound 1"
    )
    eligible = row_of(shown["eligible-rooms"], "RIV-US4")
    assert "08:00-10:00, 12:00-17:00" in eligible
    assert "Closed 10:00-12:00: Deep clean." in eligible
    assert not [row for row in shown["excluded"] if "RIV-CT1" in row]  # another modality


def test_a_holiday_excludes_every_room_of_the_site_that_day_only(
    place: BoardSite, coordinator: Client
) -> None:
    SiteClosure.objects.create(site=place.site, date=MONDAY, reason="Snow day")

    shown = rows(coordinator, url("us-renal-complete"))
    assert shown["eligible-rooms"] == ["No room can take this exam on that day."]
    assert f"{place.site.name} is closed on Mon 02 Mar 2026: Snow day." in row_of(
        shown["excluded"], "RIV-US1"
    )
    tuesday = rows(coordinator, url("us-renal-complete", on=MONDAY + dt.timedelta(days=1)))
    assert len(tuesday["eligible-rooms"]) == 2


def test_the_blank_page_asks_the_question_and_a_bad_exam_type_is_refused(
    place: BoardSite, coordinator: Client
) -> None:
    blank = coordinator.get(reverse("scheduling:eligibility"))
    assert blank.status_code == 200
    assert "Excluded, and why" not in blank.content.decode()
    bad = coordinator.get(url("no-such-exam"))
    assert bad.status_code == 422
    assert "Select a valid choice" in bad.content.decode()


def test_a_technologist_may_not_open_the_eligibility_page(place: BoardSite) -> None:
    client = client_for(make_user(Role.TECHNOLOGIST, "elig_tech"))
    assert client.get(url("us-renal-complete")).status_code == 403
