"""The schedule board as a coordinator reads it: rooms as columns, bookings at their time,
coloured by status and priority, with the warnings that need acting on; filters, live updates,
the access log and a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from radflow.audit.models import AccessLog
from radflow.catalog.models import ScreeningItem
from radflow.core.exam_states import ExamState
from radflow.core.roles import Role
from radflow.credentials.reference import load_credential_reference
from radflow.exams.models import Exam
from radflow.exams.services import exam_arrive, exam_cancel
from radflow.intake.services import screening_record
from radflow.orders.models import Authorization, AuthStatus
from radflow.planning.models import DayPlanRun
from radflow.scheduling.board import _hours as board_hours
from radflow.scheduling.board import day_frame
from radflow.scheduling.models import RoomClosure, RoomOpeningHours, RoomStatus
from tests.conftest import client_for, make_user
from tests.credentials.factories import make_credential, make_signoff, sonographer
from tests.patients.factories import PatientFactory
from tests.scheduling.board_setup import (
    FALL_BACK,
    MONDAY,
    SPRING_FORWARD,
    BoardSite,
    board_site,
    board_url,
    book,
    booking_clock,
    local,
    read_board,
)

pytestmark = pytest.mark.django_db
DASH = "\N{EN DASH}"


@pytest.fixture
def admin(reference: None) -> User:
    return make_user(Role.ADMIN, "board_admin")


@pytest.fixture
def place(reference: None) -> BoardSite:
    return board_site()


@pytest.fixture
def coordinator_client(reference: None) -> Client:
    return client_for(make_user(Role.COORDINATOR))


def test_each_booking_sits_in_its_rooms_column_at_its_minute_from_midnight(
    place: BoardSite, admin: User, coordinator_client: Client
) -> None:
    with time_machine.travel(booking_clock(MONDAY), tick=False):
        nine = book(place.us1, local(MONDAY, 9), by=admin)
        half_ten = book(place.us2, local(MONDAY, 10, 30), by=admin)
        shown = read_board(coordinator_client.get(board_url(place.site, MONDAY)))
    assert shown.rooms == [str(place.ct.pk), str(place.us1.pk), str(place.us2.pk)]
    first, second = shown.blocks[nine.accession_number], shown.blocks[half_ten.accession_number]
    assert (first.room, first.minute) == (str(place.us1.pk), 9 * 60)
    assert (second.room, second.minute) == (str(place.us2.pk), 10 * 60 + 30)
    assert f"09:00{DASH}09:30" in first.text
    assert nine.order.patient.display_name in first.text
    assert f"MRN {nine.order.patient.mrn}" in first.text
    assert "US renal / retroperitoneum complete" in first.text


def test_on_the_spring_forward_day_positions_count_real_minutes(
    place: BoardSite, admin: User, coordinator_client: Client
) -> None:
    with time_machine.travel(booking_clock(SPRING_FORWARD), tick=False):
        exam = book(place.us1, local(SPRING_FORWARD, 9), by=admin)
        response = coordinator_client.get(board_url(place.site, SPRING_FORWARD))
    shown = read_board(response)
    # 02:00-03:00 does not exist that night: 09:00 EDT is 8 hours after midnight EST.
    assert shown.blocks[exam.accession_number].minute == 8 * 60
    assert "1380 min day" in shown.html
    frame = day_frame(place.site, SPRING_FORWARD)
    labels = [mark.label for mark in board_hours(frame, 0, frame.minutes)]
    assert labels[:4] == ["00:00", "01:00", "03:00", "04:00"]
    assert len(labels) == 23


def test_on_the_fall_back_day_positions_count_real_minutes(
    place: BoardSite, admin: User, coordinator_client: Client
) -> None:
    with time_machine.travel(booking_clock(FALL_BACK), tick=False):
        exam = book(place.us1, local(FALL_BACK, 9), by=admin)
        response = coordinator_client.get(board_url(place.site, FALL_BACK))
    shown = read_board(response)
    # 01:00-02:00 happens twice that night: 09:00 EST is 10 hours after midnight EDT.
    assert shown.blocks[exam.accession_number].minute == 10 * 60
    assert "1500 min day" in shown.html
    frame = day_frame(place.site, FALL_BACK)
    labels = [mark.label for mark in board_hours(frame, 0, frame.minutes)]
    assert labels[:4] == ["00:00", "01:00", "01:00", "02:00"]
    assert len(labels) == 25


def test_blocks_are_coloured_by_status_and_priority_and_ended_ones_dimmed(
    place: BoardSite, admin: User, coordinator_client: Client
) -> None:
    with time_machine.travel(booking_clock(MONDAY), tick=False):
        stat = book(place.us1, local(MONDAY, 9), by=admin, priority="stat")
        routine = book(place.us1, local(MONDAY, 10), by=admin)
        gone = book(place.us2, local(MONDAY, 11), by=admin)
    with time_machine.travel(local(MONDAY, 9, 5), tick=False):
        exam_arrive(exam=stat, by=admin)
    with time_machine.travel(local(MONDAY, 11, 20), tick=False):
        from radflow.exams.services import exam_no_show

        exam_no_show(exam=gone, by=admin)
        shown = read_board(coordinator_client.get(board_url(place.site, MONDAY)))
    assert {"st-arrived", "pr-stat"} <= shown.blocks[stat.accession_number].classes
    assert "STAT" in shown.blocks[stat.accession_number].text
    assert {"st-scheduled", "pr-routine"} <= shown.blocks[routine.accession_number].classes
    assert {"st-no_show", "dimmed"} <= shown.blocks[gone.accession_number].classes


def test_a_cancelled_booking_is_not_shown(
    place: BoardSite, admin: User, coordinator_client: Client
) -> None:
    with time_machine.travel(booking_clock(MONDAY), tick=False):
        exam = book(place.us1, local(MONDAY, 9), by=admin)
        exam_cancel(exam=exam, by=admin, reason_code="patient_request")
        shown = read_board(coordinator_client.get(board_url(place.site, MONDAY)))
    assert exam.accession_number not in shown.blocks


def test_an_expired_credential_of_the_booked_sonographer_is_a_warning(
    place: BoardSite, admin: User, coordinator_client: Client
) -> None:
    load_credential_reference()
    lapsed = sonographer()
    make_credential(lapsed, "ardms-rdms-ab", expires_on=dt.date(2026, 2, 28))
    make_signoff(lapsed, "us-abdominal", on=dt.date(2026, 1, 15))
    current = sonographer()
    make_credential(current, "ardms-rdms-ab")
    make_signoff(current, "us-abdominal", on=dt.date(2026, 1, 15))
    with time_machine.travel(booking_clock(MONDAY), tick=False):
        risky = book(place.us1, local(MONDAY, 9), by=admin, technologist=lapsed)
        fine = book(place.us2, local(MONDAY, 9), by=admin, technologist=current)
        shown = read_board(coordinator_client.get(board_url(place.site, MONDAY)))
    warnings = shown.blocks[risky.accession_number].warnings
    assert warnings == [f"{lapsed}: ARDMS RDMS (AB) expired on 2026-02-28"]
    assert shown.blocks[fine.accession_number].warnings == []
    assert str(current) in shown.blocks[fine.accession_number].text


def test_a_patient_who_needs_an_interpreter_with_none_booked_is_a_warning(
    place: BoardSite, admin: User, coordinator_client: Client
) -> None:
    needs = PatientFactory.create(language="es", interpreter_needed=True)
    with time_machine.travel(booking_clock(MONDAY), tick=False):
        exam = book(place.us1, local(MONDAY, 9), by=admin, patient=needs)
        shown = read_board(coordinator_client.get(board_url(place.site, MONDAY)))
    assert shown.blocks[exam.accession_number].warnings == ["Interpreter (ES) needed, not booked"]


def test_pending_authorization_and_inpatient_transport_are_warnings(
    place: BoardSite, admin: User, coordinator_client: Client
) -> None:
    with time_machine.travel(booking_clock(MONDAY), tick=False):
        waiting = book(place.us1, local(MONDAY, 9), by=admin)
        ward = book(place.us2, local(MONDAY, 9), by=admin, patient_class="inpatient")
        asked = booking_clock(MONDAY)
        Exam.objects.filter(pk=waiting.pk).update(pending_auth_at=asked)
        Authorization.objects.create(
            order=waiting.order, status=AuthStatus.PENDING, requested_at=asked
        )
        shown = read_board(coordinator_client.get(board_url(place.site, MONDAY)))
    assert shown.blocks[waiting.accession_number].warnings == ["Authorization pending"]
    assert shown.blocks[ward.accession_number].warnings == ["Inpatient: transport not booked"]


def test_closed_hours_closures_and_a_room_that_is_down_are_shaded(
    place: BoardSite, admin: User, coordinator_client: Client
) -> None:
    RoomOpeningHours.objects.filter(room=place.us1, weekday=MONDAY.weekday()).update(
        opens=dt.time(8), closes=dt.time(16)
    )
    RoomClosure.objects.create(
        room=place.us2, start=local(MONDAY, 12), end=local(MONDAY, 13), reason="Deep clean"
    )
    place.ct.status = RoomStatus.DOWN
    place.ct.status_note = "Tube failure"
    place.ct.save()
    with time_machine.travel(booking_clock(MONDAY), tick=False):
        html = coordinator_client.get(board_url(place.site, MONDAY)).content.decode()
    assert html.count('class="shade shade-closed"') == 2  # Ultrasound 1: 07-08 and 16-19
    assert "Closed: Deep clean" in html
    assert "Down: Tube failure" in html


def test_filters_by_modality_and_by_room(
    place: BoardSite, admin: User, coordinator_client: Client
) -> None:
    with time_machine.travel(booking_clock(MONDAY), tick=False):
        exam = book(place.us1, local(MONDAY, 9), by=admin)
        by_modality = read_board(
            coordinator_client.get(board_url(place.site, MONDAY, modality="CT"))
        )
        by_room = read_board(
            coordinator_client.get(board_url(place.site, MONDAY, room=str(place.us1.pk)))
        )
    assert by_modality.rooms == [str(place.ct.pk)]
    assert by_modality.blocks == {}
    assert by_room.rooms == [str(place.us1.pk)]
    assert list(by_room.blocks) == [exam.accession_number]


def test_the_board_opens_on_the_busiest_site_when_none_is_named(
    place: BoardSite, admin: User, coordinator_client: Client
) -> None:
    quiet = board_site("QUI")
    with time_machine.travel(local(MONDAY, 6), tick=False):
        book(place.us1, local(MONDAY, 9), by=admin)
        book(place.us2, local(MONDAY, 9), by=admin)
        book(quiet.us1, local(MONDAY, 10), by=admin)
        response = coordinator_client.get(reverse("scheduling:board"))
    assert response.status_code == 200
    assert read_board(response).rooms[0] in {str(r.pk) for r in (place.ct, place.us1, place.us2)}


def test_polling_answers_unchanged_until_something_changes_then_shows_the_new_booking(
    place: BoardSite, admin: User, coordinator_client: Client
) -> None:
    with time_machine.travel(booking_clock(MONDAY), tick=False):
        book(place.us1, local(MONDAY, 9), by=admin)
        page = coordinator_client.get(board_url(place.site, MONDAY))
        version = page.context["version"]
        body = reverse("scheduling:board_body")
        poll = f"{body}?site={place.site.code}&date={MONDAY}&version={version}"
        assert coordinator_client.get(poll, headers={"HX-Request": "true"}).status_code == 204
        later = book(place.us2, local(MONDAY, 14), by=admin)
        fresh = coordinator_client.get(poll, headers={"HX-Request": "true"})
    assert fresh.status_code == 200
    assert later.accession_number in read_board(fresh).blocks
    assert f"version={fresh['X-Board-Version']}" in fresh.content.decode()
    assert fresh["X-Board-Version"] != version


def test_every_patient_shown_is_one_access_log_row_and_an_unchanged_poll_logs_nothing(
    place: BoardSite, admin: User
) -> None:
    coordinator = make_user(Role.COORDINATOR, "reader")
    client = client_for(coordinator)
    with time_machine.travel(booking_clock(MONDAY), tick=False):
        exams = [book(place.us1, local(MONDAY, 8 + i), by=admin) for i in range(3)]
        page = client.get(board_url(place.site, MONDAY))
        version = page.context["version"]
        client.get(
            f"{reverse('scheduling:board_body')}?site={place.site.code}&date={MONDAY}"
            f"&version={version}"
        )
    rows = AccessLog.objects.filter(username="reader")
    assert sorted(rows.values_list("patient_mrn", flat=True)) == sorted(
        e.order.patient.mrn for e in exams
    )
    assert set(rows.values_list("action", flat=True)) == {"scheduling.board"}


def test_a_board_load_is_a_fixed_number_of_queries(
    place: BoardSite,
    admin: User,
    coordinator_client: Client,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    load_credential_reference()
    staff = [sonographer() for _ in range(3)]

    def load() -> None:
        coordinator_client.get(board_url(place.site, MONDAY))

    with time_machine.travel(booking_clock(MONDAY), tick=False):
        book(place.us1, local(MONDAY, 8), by=admin, technologist=staff[0])
        with django_assert_max_num_queries(40) as few:
            load()
        latex, _ = ScreeningItem.objects.get_or_create(
            code="latex-allergy", defaults={"name": "Latex", "question": "Latex allergy?"}
        )
        for i in range(12):
            exam = book(
                [place.us1, place.us2][i % 2],
                local(MONDAY, 9 + i // 2, 30 * (i % 2)),
                by=admin,
                technologist=staff[i % 3],
                patient_class="inpatient" if i % 4 == 0 else "outpatient",
            )
            # Screening answers are a block's state too (it once cost a query per answer).
            exam.order.exam_type.required_screening.add(latex)
            screening_record(
                exam=exam, by=admin, item_code="latex-allergy", answer="no", result="cleared"
            )
        with django_assert_max_num_queries(len(few.captured_queries)) as many:
            load()
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_freed_slot_shows_how_many_waitlist_entries_fit_it(
    place: BoardSite, admin: User, coordinator_client: Client
) -> None:
    from radflow.waitlist.services import waitlist_add
    from tests.exams.factories import make_exam

    with time_machine.travel(booking_clock(MONDAY), tick=False):
        leaving = book(place.us1, local(MONDAY, 10, 30), by=admin)
        waiting = make_exam(ExamState.AUTHORIZED, by=admin, exam_type="us-renal-complete")
        waitlist_add(order=waiting.order, by=admin)
        exam_cancel(exam=leaving, by=admin, reason_code="patient_request")
        shown = read_board(coordinator_client.get(board_url(place.site, MONDAY)))
    assert shown.freed == [f"Freed slot 10:30{DASH}11:00 Ultrasound 1: 1 waitlist candidate"]


def test_the_week_of_a_room_shows_each_booking_on_its_day(
    place: BoardSite, admin: User, coordinator_client: Client
) -> None:
    tuesday = MONDAY + dt.timedelta(days=1)
    with time_machine.travel(booking_clock(MONDAY), tick=False):
        monday_exam = book(place.us1, local(MONDAY, 9), by=admin)
        tuesday_exam = book(place.us1, local(tuesday, 15), by=admin)
        elsewhere = book(place.us2, local(tuesday, 15), by=admin)
        url = reverse("scheduling:board_room_week", kwargs={"pk": place.us1.pk})
        response = coordinator_client.get(f"{url}?start={tuesday}")
    shown = read_board(response)
    assert set(shown.blocks) == {monday_exam.accession_number, tuesday_exam.accession_number}
    assert elsewhere.accession_number not in shown.blocks
    week = response.context["week"]
    days = [column.day for column in week.columns if column.blocks]
    assert days == [MONDAY, tuesday]
    assert shown.blocks[tuesday_exam.accession_number].minute == 15 * 60


def test_coordinators_see_the_replan_button_and_the_latest_plan_run(
    place: BoardSite, admin: User, coordinator_client: Client
) -> None:
    plan = f"{reverse('scheduling:board_plan')}?site={place.site.code}&date={MONDAY}"
    with time_machine.travel(booking_clock(MONDAY), tick=False):
        page = coordinator_client.get(board_url(place.site, MONDAY)).content.decode()
        before = coordinator_client.get(plan).content.decode()
        run = DayPlanRun.objects.create(site=place.site, date=MONDAY, trigger="Room US-1 down")
        after = coordinator_client.get(plan).content.decode()
    assert f'hx-get="{plan.replace("&", "&amp;")}"' in page
    assert 'id="replan-button"' in before
    assert f'action="{reverse("planning:start")}"' in before
    assert 'id="plan-run"' not in before
    assert reverse("planning:run", kwargs={"pk": run.pk}) in after
    assert "solving…" in after
    assert 'hx-trigger="every 2s"' in after  # while it solves, the strip refreshes quickly


def test_a_room_marked_down_on_the_board_is_shaded_and_a_replan_is_suggested(
    place: BoardSite, admin: User, coordinator_client: Client
) -> None:
    with time_machine.travel(booking_clock(MONDAY), tick=False):
        book(place.us1, local(MONDAY, 9), by=admin)
        back = board_url(place.site, MONDAY)
        response = coordinator_client.post(
            reverse("scheduling:board_room_status"),
            {"room": place.us1.pk, "status": "down", "note": "Probe cable broken", "next": back},
        )
        board = coordinator_client.get(back).content.decode()
        plan = coordinator_client.get(
            f"{reverse('scheduling:board_plan')}?site={place.site.code}&date={MONDAY}"
        ).content.decode()
    assert (response.status_code, response["Location"]) == (302, back)
    assert "Ultrasound 1 is now down." in board
    assert "Down: Probe cable broken" in board
    assert "Re-plan suggested" in plan
    assert "Room RIV-US1 is down (Probe cable broken): 1 booking still in it." in plan


def test_two_coordinators_share_one_render_but_each_read_is_logged_and_each_form_works(
    place: BoardSite, admin: User
) -> None:
    first, second = make_user(Role.COORDINATOR, "first"), make_user(Role.COORDINATOR, "second")
    checked = Client(enforce_csrf_checks=True)
    checked.force_login(second)
    with time_machine.travel(booking_clock(MONDAY), tick=False):
        exam = book(place.us1, local(MONDAY, 9), by=admin)
        client_for(first).get(board_url(place.site, MONDAY))
        page = checked.get(board_url(place.site, MONDAY)).content.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token is not None
        response = checked.post(
            reverse("scheduling:board_room_status"),
            {
                "room": place.ct.pk,
                "status": "maintenance",
                "note": "Service",
                "csrfmiddlewaretoken": token.group(1),
            },
        )
    assert response.status_code == 302
    place.ct.refresh_from_db()
    assert place.ct.status == "maintenance"
    for user in (first, second):
        assert list(
            AccessLog.objects.filter(username=user.username).values_list("patient_mrn", flat=True)
        ) == [exam.order.patient.mrn]


def test_a_technologist_reads_the_board_but_cannot_move_or_replan(
    place: BoardSite, admin: User
) -> None:
    client = client_for(make_user(Role.TECHNOLOGIST))
    with time_machine.travel(booking_clock(MONDAY), tick=False):
        exam = book(place.us1, local(MONDAY, 9), by=admin)
        response = client.get(board_url(place.site, MONDAY))
        plan = client.get(f"{reverse('scheduling:board_plan')}?site={place.site.code}")
    block = read_board(response).blocks[exam.accession_number]
    assert response.status_code == 200
    assert "draggable" not in block.attrs
    assert "Move…" not in block.text
    assert 'id="room-status-template"' not in response.content.decode()
    assert plan.status_code == 200
    assert 'id="replan-button"' not in plan.content.decode()


def test_a_biomedical_engineer_may_not_open_the_board(place: BoardSite) -> None:
    response = client_for(make_user(Role.BIOMED)).get(board_url(place.site, MONDAY))
    assert response.status_code == 403


def test_an_unknown_site_is_not_found(coordinator_client: Client) -> None:
    response = coordinator_client.get(f"{reverse('scheduling:board')}?site=NOPE")
    assert response.status_code == 404


def test_the_board_answers_with_its_server_time(
    place: BoardSite, coordinator_client: Client
) -> None:
    response = coordinator_client.get(board_url(place.site, MONDAY))
    assert response["Server-Timing"].startswith("app;dur=")


def test_time_freed_in_a_room_that_is_down_is_not_offered(
    place: BoardSite, admin: User, coordinator_client: Client
) -> None:
    from radflow.waitlist.services import waitlist_add
    from tests.exams.factories import make_exam

    with time_machine.travel(booking_clock(MONDAY), tick=False):
        leaving = book(place.us1, local(MONDAY, 10, 30), by=admin)
        waiting = make_exam(ExamState.AUTHORIZED, by=admin, exam_type="us-renal-complete")
        waitlist_add(order=waiting.order, by=admin)
        exam_cancel(exam=leaving, by=admin, reason_code="patient_request")
        RoomClosure.objects.create(
            room=place.us1, start=local(MONDAY, 10), end=local(MONDAY, 11), reason="Leak"
        )
        closed = read_board(coordinator_client.get(board_url(place.site, MONDAY)))
        RoomClosure.objects.all().delete()
        place.us1.status = RoomStatus.DOWN
        place.us1.save()
        down = read_board(coordinator_client.get(board_url(place.site, MONDAY)))
    assert closed.freed == [] and down.freed == []
