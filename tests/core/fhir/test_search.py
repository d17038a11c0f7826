"""FHIR search parameters parsed without a database: date precision and prefixes (across a DST
change), tokens, references, paging links."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from radflow.core.fhir.errors import InvalidRequest
from radflow.core.fhir.ids import parse_slot_id, slot_id
from radflow.core.fhir.paging import Page, page_links
from radflow.core.fhir.search import (
    Ref,
    Token,
    page_number,
    page_size,
    parse_date,
    parse_reference,
    parse_tokens,
)

NY = ZoneInfo("America/New_York")


def test_a_day_is_local_midnight_to_midnight_even_on_the_23_hour_day() -> None:
    param = parse_date("2026-03-08", zone=NY)
    assert param.instant_bounds() == (
        dt.datetime(2026, 3, 8, tzinfo=NY),
        dt.datetime(2026, 3, 9, tzinfo=NY),
    )
    assert param.hi - param.lo == dt.timedelta(hours=23)
    assert param.day_bounds() == (dt.date(2026, 3, 8), dt.date(2026, 3, 9))


@pytest.mark.parametrize(
    ("raw", "after", "before"),
    [
        ("2031-06", dt.date(2031, 6, 1), dt.date(2031, 7, 1)),
        ("2031-12", dt.date(2031, 12, 1), dt.date(2032, 1, 1)),
        ("2031", dt.date(2031, 1, 1), dt.date(2032, 1, 1)),
        ("ge2031-06-03", dt.date(2031, 6, 3), None),
        ("gt2031-06-03", dt.date(2031, 6, 4), None),
        ("lt2031-06-03", None, dt.date(2031, 6, 3)),
        ("le2031-06-03", None, dt.date(2031, 6, 4)),
    ],
)
def test_precision_and_prefix_make_the_range(
    raw: str, after: dt.date | None, before: dt.date | None
) -> None:
    assert parse_date(raw, zone=NY).day_bounds() == (after, before)


def test_a_time_with_an_offset_is_that_instant_and_one_without_is_local() -> None:
    utc = parse_date("ge2031-06-03T11:00:00Z", zone=NY)
    assert utc.instant_bounds() == (dt.datetime(2031, 6, 3, 11, tzinfo=dt.UTC), None)
    local = parse_date("2031-06-03T07:00", zone=NY)
    assert local.lo == dt.datetime(2031, 6, 3, 11, tzinfo=dt.UTC)
    assert local.hi - local.lo == dt.timedelta(minutes=1)
    assert parse_date("ne2031-06-03", zone=NY).negated


@pytest.mark.parametrize(
    "raw", ["03/06/2031", "2031-13-01", "2031-02-30", "ap2031", "", "2031-06-03T25:00"]
)
def test_a_malformed_date_is_a_bad_request_naming_the_parameter(raw: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_date(raw, zone=NY, name="birthdate")
    assert caught.value.http_status == 400
    assert caught.value.field == "birthdate"


def test_tokens_and_their_systems() -> None:
    assert parse_tokens("urn:x|A,B,|C", name="identifier") == [
        Token("urn:x", "A"),
        Token(None, "B"),
        Token("", "C"),
    ]
    with pytest.raises(InvalidRequest):
        parse_tokens("urn:x|", name="identifier")


def test_references_by_type_and_id_bare_id_or_absolute_url() -> None:
    assert parse_reference("Patient/abc-1", name="patient", types=("Patient",)) == Ref(
        "Patient", "abc-1"
    )
    assert parse_reference("abc-1", name="patient", types=("Patient",)) == Ref(None, "abc-1")
    url = "https://ehr.example/fhir/R4/Patient/abc-1"
    assert parse_reference(url, name="patient", types=("Patient",)) == Ref("Patient", "abc-1")
    with pytest.raises(InvalidRequest, match="must refer to Patient, not Device"):
        parse_reference("Device/abc-1", name="patient", types=("Patient",))
    with pytest.raises(InvalidRequest):
        parse_reference("Patient/has space", name="patient", types=("Patient",))


def test_count_defaults_to_20_and_is_served_as_at_most_100() -> None:
    assert page_size(None) == 20
    assert page_size(500) == 100
    assert page_size(0) == 0
    with pytest.raises(InvalidRequest):
        page_size(-1)
    with pytest.raises(InvalidRequest):
        page_number(0)


def test_links_keep_the_search_and_move_the_page() -> None:
    page = Page(number=2, size=10, total=25)
    links = page_links("http://h/fhir/R4/Patient", [("family", "ok"), ("_page", "2")], page)
    assert set(links) == {"self", "first", "last", "next", "previous"}
    query = parse_qs(urlsplit(links["next"]).query)
    assert query == {"family": ["ok"], "_count": ["10"], "_page": ["3"]}
    assert parse_qs(urlsplit(links["last"]).query)["_page"] == ["3"]
    last = page_links("http://h/x", [], Page(number=3, size=10, total=25))
    assert "next" not in last and "previous" in last
    empty = page_links("http://h/x", [], Page(number=1, size=10, total=0))
    assert "next" not in empty and "previous" not in empty


def test_a_slot_id_round_trips_room_start_and_length() -> None:
    room = __import__("uuid").UUID("70bdd428-9934-4a55-922a-3dc52b43c64f")
    start = dt.datetime(2031, 6, 3, 7, 0, tzinfo=NY)
    key = parse_slot_id(slot_id(room, start, start + dt.timedelta(minutes=45)))
    assert key is not None
    assert (key.room, key.start, key.minutes) == (room, start, 45)
    assert len(slot_id(room, start, start + dt.timedelta(days=1))) <= 64
    assert parse_slot_id("70bdd428-9934") is None
