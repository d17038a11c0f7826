"""The calendar pages as the coordinator uses them: a site's holidays, weekly room grid with
booking templates, room closures with the bookings left inside, durations and turnover, staff
standard hours, interpreters; device downtime for biomed. Refusals come back on the form with
status 422 and change nothing; readers see the calendars without the forms."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from radflow.catalog.models import ExamType
from radflow.core.roles import Role
from radflow.rostering.models import Roster, RosterStatus
from radflow.scheduling import availability
from radflow.scheduling.models import (
    BookingTemplate,
    DeviceDowntime,
    Interpreter,
    RoomClosure,
    RoomOpeningHours,
    SiteClosure,
    StaffWorkingHours,
)
from tests.conftest import client_for, make_user
from tests.scheduling.board_setup import MONDAY, BoardSite, board_site, book, booking_clock, local
from tests.scheduling.factories import DeviceFactory, SiteFactory
from tests.staff.factories import StaffMemberFactory

pytestmark = pytest.mark.django_db
DASH = "\N{EN DASH}"


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    """The week before MONDAY (2026-03-02), so MONDAY and its bookings lie ahead."""
    with time_machine.travel(booking_clock(MONDAY), tick=False):
        yield


@pytest.fixture
def place(reference: None) -> BoardSite:
    return board_site()


@pytest.fixture
def coordinator() -> Client:
    return client_for(make_user(Role.COORDINATOR, "cal_coord"))


def site_url(place: BoardSite) -> str:
    return reverse("scheduling:calendars_site", kwargs={"pk": place.site.pk})


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# --- the site page ------------------------------------------------------------------------------


def test_the_site_page_shows_each_calendar_of_the_site(
    place: BoardSite, coordinator: Client
) -> None:
    SiteClosure.objects.create(site=place.site, date=MONDAY, reason="Snow day")
    BookingTemplate.objects.create(
        room=place.us1, weekday=0, starts=dt.time(8), ends=dt.time(12), label="OB mornings"
    )
    RoomClosure.objects.create(
        room=place.us2, start=local(MONDAY, 10), end=local(MONDAY, 14), reason="Ceiling leak"
    )
    person = StaffMemberFactory.create(home_site=place.site, given_name="Ana", family_name="Ruiz")
    StaffWorkingHours.objects.create(staff=person, weekday=1, starts=dt.time(7), ends=dt.time(15))
    Interpreter.objects.create(name="Lucía Ortega", languages="es,pt")
    Roster.objects.create(start=MONDAY, weeks=4, status=RosterStatus.PUBLISHED)

    html = page(coordinator, site_url(place))

    assert "Snow day" in html
    assert f"07:00{DASH}19:00" in html
    assert "OB mornings" in html and f"08:00{DASH}12:00" in html
    assert "Ceiling leak" in html
    assert "US renal / retroperitoneum complete" in html  # durations and turnover table
    assert "Ruiz" in html and f"07:00{DASH}15:00" in html
    assert "A published roster overrides these hours for the days it covers" in html
    assert f"2 Mar 2026 {DASH} 29 Mar 2026" in html
    assert "Lucía Ortega" in html and "es, pt" in html
    assert "Close the site for a day" in html and "Add a booking template" in html


def test_the_site_page_costs_a_fixed_number_of_queries(
    place: BoardSite,
    coordinator: Client,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    for weekday in range(5):
        BookingTemplate.objects.create(
            room=place.us1, weekday=weekday, starts=dt.time(8), ends=dt.time(12), label="OB"
        )
        BookingTemplate.objects.create(
            room=place.us2, weekday=weekday, starts=dt.time(13), ends=dt.time(17), label="Vasc"
        )
        StaffWorkingHours.objects.create(
            staff=StaffMemberFactory.create(home_site=place.site),
            weekday=weekday,
            starts=dt.time(7),
            ends=dt.time(15),
        )
    with django_assert_max_num_queries(22):
        coordinator.get(site_url(place))


def test_a_director_reads_the_calendars_without_any_form(place: BoardSite) -> None:
    html = page(client_for(make_user(Role.DIRECTOR, "cal_director")), site_url(place))
    assert "Ultrasound 1" in html
    assert "Close the site for a day" not in html
    assert "Add a booking template" not in html
    assert "Edit opening hours" not in html


def test_one_site_goes_straight_to_its_calendar_and_several_are_listed(
    place: BoardSite, coordinator: Client
) -> None:
    response = coordinator.get(reverse("scheduling:calendars"))
    assert response.status_code == 302 and response["Location"] == site_url(place)
    SiteFactory.create(name="Northgate Clinic", code="NGT")
    html = page(coordinator, reverse("scheduling:calendars"))
    assert "Northgate Clinic" in html and place.site.name in html


# --- holidays -----------------------------------------------------------------------------------


def test_a_holiday_added_on_the_page_counts_the_bookings_of_that_day(
    place: BoardSite, coordinator: Client
) -> None:
    book(place.us1, local(MONDAY, 9), by=make_user(Role.ADMIN, "cal_admin"))
    url = reverse("scheduling:calendars_holiday_add", kwargs={"pk": place.site.pk})
    response = coordinator.post(url, {"date": "2026-03-02", "reason": "Snow day"}, follow=True)
    html = response.content.decode()
    assert "is closed on Mon 02 Mar 2026. 1 booked exam(s) that day need moving." in html
    assert "1 to move" in html
    assert availability.room_windows(room=place.us1, on=MONDAY) == []

    again = coordinator.post(url, {"date": "2026-03-02", "reason": "Again"})
    assert again.status_code == 422
    assert "is already closed on Monday 02 March 2026 (Snow day)" in again.content.decode()
    assert SiteClosure.objects.count() == 1


def test_a_holiday_is_removed_with_its_button(place: BoardSite, coordinator: Client) -> None:
    closure = SiteClosure.objects.create(site=place.site, date=MONDAY, reason="Snow day")
    url = reverse("scheduling:calendars_holiday_remove", kwargs={"pk": closure.pk})
    response = coordinator.post(url)
    assert response.status_code == 302
    assert not SiteClosure.objects.exists()


# --- booking templates --------------------------------------------------------------------------


def template_post(place: BoardSite, **values: object) -> dict[str, object]:
    data: dict[str, object] = {
        "room": str(place.us1.pk),
        "label": "OB mornings",
        "weekdays": ["0", "1", "2", "3", "4"],
        "starts": "08:00",
        "ends": "12:00",
        "exam_types": [
            str(pk)
            for pk in ExamType.objects.filter(code__startswith="us-ob").values_list("pk", flat=True)
        ],
    }
    data.update(values)
    return data


def test_a_template_added_on_the_page_shows_on_each_weekday_of_the_rooms_grid(
    place: BoardSite, coordinator: Client
) -> None:
    url = reverse("scheduling:calendars_template_add", kwargs={"pk": place.site.pk})
    response = coordinator.post(url, template_post(place))
    assert response.status_code == 302
    assert response["Location"].endswith(f"#room-{place.us1.code}")
    html = page(coordinator, site_url(place))
    assert html.count("<strong>OB mornings</strong>") == 5
    assert f"OB mornings kept in {place.us1.code} on 5 weekday(s)." in html
    assert BookingTemplate.objects.filter(room=place.us1).count() == 5


def test_an_overlapping_template_is_refused_on_the_form_and_nothing_is_saved(
    place: BoardSite, coordinator: Client
) -> None:
    BookingTemplate.objects.create(
        room=place.us1, weekday=3, starts=dt.time(11), ends=dt.time(13), label="Vascular"
    )
    url = reverse("scheduling:calendars_template_add", kwargs={"pk": place.site.pk})
    response = coordinator.post(url, template_post(place))
    assert response.status_code == 422
    html = response.content.decode()
    assert "overlaps Vascular (Thursday 11:00-13:00)" in html
    assert BookingTemplate.objects.count() == 1


def test_a_template_whose_end_is_before_its_start_is_refused_on_the_until_field(
    place: BoardSite, coordinator: Client
) -> None:
    url = reverse("scheduling:calendars_template_add", kwargs={"pk": place.site.pk})
    response = coordinator.post(url, template_post(place, starts="12:00", ends="08:00"))
    assert response.status_code == 422
    assert "The end (08:00) must be after the start (12:00)" in response.content.decode()
    assert not BookingTemplate.objects.exists()


def test_a_template_is_removed_from_the_grid(place: BoardSite, coordinator: Client) -> None:
    template = BookingTemplate.objects.create(
        room=place.us1, weekday=0, starts=dt.time(8), ends=dt.time(12), label="OB mornings"
    )
    url = reverse("scheduling:calendars_template_remove", kwargs={"pk": template.pk})
    assert coordinator.post(url).status_code == 302
    html = page(coordinator, site_url(place))
    assert "OB mornings (Monday 08:00-12:00) removed from RIV-US1." in html
    assert "<strong>OB mornings</strong>" not in html


# --- room closures ------------------------------------------------------------------------------


def test_closing_a_room_over_a_booking_shows_the_booking_to_move_and_frees_nothing_else(
    place: BoardSite, coordinator: Client
) -> None:
    admin = make_user(Role.ADMIN, "cal_admin")
    inside = book(place.us1, local(MONDAY, 11), by=admin)
    outside = book(place.us1, local(MONDAY, 15), by=admin)
    url = reverse("scheduling:calendars_closure_add", kwargs={"pk": place.site.pk})
    response = coordinator.post(
        url,
        {
            "room": str(place.us1.pk),
            "start": "2026-03-02T10:00",
            "end": "2026-03-02T14:00",
            "reason": "Ceiling leak",
        },
    )
    closure = RoomClosure.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("scheduling:calendars_closure", args=[closure.pk])

    html = page(coordinator, response["Location"])
    assert "1 booked exam</strong> still sits in this time" in html
    assert inside.accession_number in html
    assert outside.accession_number not in html
    assert reverse("scheduling:board_move", kwargs={"pk": inside.pk}) in html
    assert "Re-plan Mon 2 Mar" in html
    assert inside.order.patient.family_name not in html  # no patient data on this page

    assert availability.room_windows(room=place.us1, on=MONDAY) == [
        (local(MONDAY, 7), local(MONDAY, 10)),
        (local(MONDAY, 14), local(MONDAY, 19)),
    ]
    assert "1 to move" in page(coordinator, site_url(place))


def test_a_closure_typed_backwards_is_refused_naming_the_until_field(
    place: BoardSite, coordinator: Client
) -> None:
    url = reverse("scheduling:calendars_closure_add", kwargs={"pk": place.site.pk})
    response = coordinator.post(
        url,
        {
            "room": str(place.us1.pk),
            "start": "2026-03-02T14:00",
            "end": "2026-03-02T10:00",
            "reason": "Ceiling leak",
        },
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert '<a href="#id_end">Until</a>: The end (Mon 02 Mar 2026 10:00) must be after' in html
    assert not RoomClosure.objects.exists()


def test_times_typed_on_a_chicago_sites_page_are_chicago_times(
    reference: None, coordinator: Client
) -> None:
    chicago = board_site("NGT")
    chicago.site.time_zone = "America/Chicago"
    chicago.site.save()
    url = reverse("scheduling:calendars_closure_add", kwargs={"pk": chicago.site.pk})
    coordinator.post(
        url,
        {
            "room": str(chicago.us1.pk),
            "start": "2026-03-02T10:00",
            "end": "2026-03-02T12:00",
            "reason": "Works",
        },
    )
    closure = RoomClosure.objects.get()
    zone = ZoneInfo("America/Chicago")
    assert closure.start == dt.datetime(2026, 3, 2, 10, tzinfo=zone)
    assert closure.end == dt.datetime(2026, 3, 2, 12, tzinfo=zone)
    html = page(coordinator, reverse("scheduling:calendars_closure", args=[closure.pk]))
    assert f"Mon 2 Mar 2026 10:00 {DASH} Mon 2 Mar 2026 12:00" in html


# --- opening hours ------------------------------------------------------------------------------


def test_opening_hours_are_edited_on_their_page_with_a_lunch_close(
    place: BoardSite, coordinator: Client
) -> None:
    url = reverse("scheduling:calendars_room_hours", kwargs={"pk": place.us1.pk})
    form = page(coordinator, url)
    assert 'name="monday_1_opens" value="07:00"' in form
    response = coordinator.post(
        url,
        {
            "monday_1_opens": "08:00",
            "monday_1_closes": "12:00",
            "monday_2_opens": "13:00",
            "monday_2_closes": "18:00",
            "tuesday_1_opens": "08:00",
            "tuesday_1_closes": "16:00",
        },
    )
    assert response.status_code == 302
    hours = RoomOpeningHours.objects.filter(room=place.us1).order_by("weekday", "opens")
    assert [(h.weekday, h.opens.hour, h.closes.hour) for h in hours] == [
        (0, 8, 12),
        (0, 13, 18),
        (1, 8, 16),
    ]


def test_opening_hours_that_overlap_or_lack_a_closing_are_refused(
    place: BoardSite, coordinator: Client
) -> None:
    url = reverse("scheduling:calendars_room_hours", kwargs={"pk": place.us1.pk})
    before = RoomOpeningHours.objects.filter(room=place.us1).count()
    lacking = coordinator.post(url, {"monday_1_opens": "08:00"})
    assert lacking.status_code == 422
    assert "Monday: give both the opening and closing." in lacking.content.decode()
    overlapping = coordinator.post(
        url,
        {
            "monday_1_opens": "08:00",
            "monday_1_closes": "12:00",
            "monday_2_opens": "11:00",
            "monday_2_closes": "18:00",
        },
    )
    assert overlapping.status_code == 422
    assert "Monday: 11:00-18:00 overlaps 08:00-12:00." in overlapping.content.decode()
    assert RoomOpeningHours.objects.filter(room=place.us1).count() == before


# --- staff hours and interpreters ----------------------------------------------------------------


def test_standard_hours_are_added_and_removed_on_the_persons_page(
    place: BoardSite, coordinator: Client
) -> None:
    person = StaffMemberFactory.create(home_site=place.site)
    url = reverse("scheduling:calendars_staff_hours", kwargs={"pk": person.pk})
    response = coordinator.post(
        url, {"weekdays": ["0", "1"], "starts": "07:00", "ends": "15:30", "site": ""}
    )
    assert response.status_code == 302
    html = page(coordinator, url)
    assert f"07:00{DASH}15:30" in html
    assert "A published roster overrides these hours" in html
    overlapping = coordinator.post(url, {"weekdays": ["1"], "starts": "15:00", "ends": "18:00"})
    assert overlapping.status_code == 422
    assert "already works Tuesday 07:00-15:30" in overlapping.content.decode()
    row = StaffWorkingHours.objects.get(staff=person, weekday=0)
    remove = reverse("scheduling:calendars_hours_remove", kwargs={"pk": row.pk})
    assert coordinator.post(remove).status_code == 302
    assert list(StaffWorkingHours.objects.values_list("weekday", flat=True)) == [1]


def test_an_interpreter_is_added_then_given_hours(coordinator: Client) -> None:
    response = coordinator.post(
        reverse("scheduling:calendars_interpreters"),
        {"name": "Lucía Ortega", "languages": "ES, pt", "phone": "", "active": "on"},
    )
    interpreter = Interpreter.objects.get()
    assert interpreter.languages == "es,pt"
    detail = reverse("scheduling:calendars_interpreter", kwargs={"pk": interpreter.pk})
    assert response["Location"] == detail
    added = coordinator.post(
        detail, {"form": "hours", "weekdays": ["0", "2"], "starts": "09:00", "ends": "13:00"}
    )
    assert added.status_code == 302
    html = page(coordinator, detail)
    assert html.count(f"09:00{DASH}13:00") == 2
    bad = coordinator.post(detail, {"form": "details", "name": "Lucía Ortega", "languages": "xx"})
    assert bad.status_code == 422
    assert "xx is not an ISO 639-1 language code" in bad.content.decode()


# --- device downtime ----------------------------------------------------------------------------


def test_biomed_records_downtime_that_the_scheduler_can_read_but_not_change(
    place: BoardSite,
) -> None:
    device = DeviceFactory.create(room=place.us1, modality=place.us1.modality)
    biomed = client_for(make_user(Role.BIOMED, "cal_biomed"))
    add = reverse("scheduling:device_downtime_add", kwargs={"pk": device.pk})
    response = biomed.post(
        add,
        {"start": "2026-03-02T07:00", "end": "2026-03-02T12:00", "reason": "Planned PM"},
    )
    assert response.status_code == 302
    assert availability.device_windows(device=device, on=MONDAY) == [
        (local(MONDAY, 12), local(MONDAY, 19))
    ]
    overlapping = biomed.post(
        add, {"start": "2026-03-02T11:00", "end": "2026-03-02T13:00", "reason": "Repair"}
    )
    assert overlapping.status_code == 422
    assert "already down" in overlapping.content.decode()

    scheduler = client_for(make_user(Role.SCHEDULER, "cal_scheduler"))
    html = page(scheduler, reverse("scheduling:device_downtime", kwargs={"pk": device.pk}))
    assert "Planned PM" in html and "Record downtime" not in html
    denied = scheduler.post(
        add, {"start": "2026-03-03T07:00", "end": "2026-03-03T12:00", "reason": "x"}
    )
    assert denied.status_code == 403
    assert DeviceDowntime.objects.count() == 1
