"""The work lists as each role sees them: the right exams, live sections, bounded queries."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from radflow.audit.models import AccessLog
from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam
from radflow.exams.services import exam_report, exam_schedule
from radflow.scheduling.models import Modality
from tests.conftest import client_for
from tests.exams.factories import advance, make_exam, ultrasound_room
from tests.staff.factories import StaffMemberFactory

pytestmark = pytest.mark.usefixtures("reference")

NY = ZoneInfo("America/New_York")
#: A Tuesday morning; exams are booked for 11:00 the same day.
MORNING = dt.datetime(2025, 3, 4, 8, 0, tzinfo=NY)
BOOKED = dt.datetime(2025, 3, 4, 11, 0, tzinfo=NY)


def _booked(admin_user: User, start: dt.datetime = BOOKED, **kwargs: Any) -> Exam:
    with time_machine.travel(MORNING, tick=False):
        exam = make_exam(ExamState.AUTHORIZED, by=admin_user)
        return exam_schedule(
            exam=exam, by=admin_user, room=ultrasound_room(), start=start, **kwargs
        )


def _get(client: Client, name: str, at: dt.datetime, **params: str) -> Any:
    with time_machine.travel(at, tick=False):
        return client.get(reverse(f"worklists:{name}"), params)


def _partial(client: Client, name: str, section: str, at: dt.datetime) -> Any:
    with time_machine.travel(at, tick=False):
        return client.get(
            reverse(f"worklists:{name}"), {"section": section}, headers={"HX-Request": "true"}
        )


def _section_html(response: Any, key: str) -> str:
    html: str = response.content.decode()
    start = html.index(f'id="section-{key}"')
    return html[start : html.index("</section>", start)]


# --- front desk --------------------------------------------------------------------------------


def test_front_desk_lists_todays_arrivals_by_time(admin_user: User, scheduler: User) -> None:
    late = _booked(admin_user, BOOKED)
    later = _booked(admin_user, BOOKED + dt.timedelta(hours=2))
    tomorrow = _booked(admin_user, BOOKED + dt.timedelta(days=1))
    response = _get(client_for(scheduler), "front_desk", BOOKED - dt.timedelta(hours=1))
    expected = _section_html(response, "expected")
    first = expected.index(late.order.patient.family_name.upper())
    assert first < expected.index(later.order.patient.family_name.upper())
    assert tomorrow.order.patient.family_name.upper() not in expected


def test_front_desk_flags_late_patients_then_no_show_candidates(
    admin_user: User, scheduler: User
) -> None:
    exam = _booked(admin_user)
    name = exam.order.patient.family_name.upper()
    client = client_for(scheduler)

    on_time = _get(client, "front_desk", BOOKED + dt.timedelta(minutes=5))
    assert name not in _section_html(on_time, "late")

    late = _get(client, "front_desk", BOOKED + dt.timedelta(minutes=20))
    assert name in _section_html(late, "late")
    assert name not in _section_html(late, "no_show")

    gone = _get(client, "front_desk", BOOKED + dt.timedelta(minutes=45))
    assert name in _section_html(gone, "no_show")
    assert name not in _section_html(gone, "late")


def test_front_desk_shows_arrived_patients_with_their_wait(
    admin_user: User, scheduler: User
) -> None:
    exam = _booked(admin_user)
    with time_machine.travel(BOOKED - dt.timedelta(minutes=10), tick=False):
        advance(exam, ExamState.ARRIVED, by=admin_user)
    response = _get(client_for(scheduler), "front_desk", BOOKED + dt.timedelta(minutes=15))
    waiting = _section_html(response, "waiting")
    assert exam.order.patient.family_name.upper() in waiting
    assert "25 min" in waiting
    assert exam.order.patient.family_name.upper() not in _section_html(response, "expected")


def test_a_section_refresh_returns_only_that_section_and_its_count(
    admin_user: User, scheduler: User
) -> None:
    _booked(admin_user)
    response = _partial(
        client_for(scheduler), "front_desk", "late", BOOKED + dt.timedelta(minutes=20)
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="section-late"' in html
    assert 'id="section-expected"' not in html
    assert "<html" not in html
    assert '<p class="card-figure" id="count-late" hx-swap-oob="true">1</p>' in html


def test_filters_are_kept_in_the_refresh_url(admin_user: User, scheduler: User) -> None:
    exam = _booked(admin_user)
    assert exam.room is not None
    site = str(exam.room.site_id)
    response = _get(client_for(scheduler), "front_desk", MORNING, site=site)
    assert f"?site={site}&amp;section=expected" in response.content.decode()


def test_the_site_filter_narrows_the_list(admin_user: User, scheduler: User) -> None:
    here, there = _booked(admin_user), _booked(admin_user, BOOKED + dt.timedelta(hours=1))
    assert here.room is not None
    response = _get(client_for(scheduler), "front_desk", MORNING, site=str(here.room.site_id))
    expected = _section_html(response, "expected")
    assert here.order.patient.family_name.upper() in expected
    assert there.order.patient.family_name.upper() not in expected


def test_every_patient_shown_is_logged_once_per_render(admin_user: User, scheduler: User) -> None:
    exam = _booked(admin_user)
    _get(client_for(scheduler), "front_desk", BOOKED + dt.timedelta(minutes=20))
    rows = AccessLog.objects.filter(action="worklist.front_desk")
    # Shown in two sections (expected, late) but logged once.
    assert list(rows.values_list("patient_id", flat=True)) == [exam.order.patient_id]


# --- technologist ------------------------------------------------------------------------------


def test_my_exams_lists_mine_in_order_and_unassigned_ones_in_my_modality(
    admin_user: User, technologist: User
) -> None:
    staff = StaffMemberFactory.create(
        user=technologist, modalities=[Modality.objects.get_or_create(code="US")[0]]
    )
    second = _booked(admin_user, BOOKED + dt.timedelta(hours=1), technologist=staff)
    first = _booked(admin_user, BOOKED, technologist=staff)
    free = _booked(admin_user, BOOKED + dt.timedelta(hours=2))
    response = _get(client_for(technologist), "my_exams", MORNING)
    mine = _section_html(response, "mine")
    assert mine.index(first.accession_number) < mine.index(second.accession_number)
    assert free.accession_number not in mine
    unassigned = _section_html(response, "unassigned")
    assert free.accession_number in unassigned
    assert "Identity not confirmed" in mine
    assert "Nothing to eat or drink for 8 hours" in mine


def test_my_exams_explains_an_unlinked_account(technologist: User) -> None:
    response = _get(client_for(technologist), "my_exams", MORNING)
    assert response.status_code == 200
    assert "not linked to a staff member" in response.content.decode()


# --- radiologist -------------------------------------------------------------------------------


def test_radiologist_sees_what_to_protocol_report_and_sign(
    admin_user: User, radiologist: User
) -> None:
    me = StaffMemberFactory.create(user=radiologist)
    with time_machine.travel(MORNING, tick=False):
        routine = make_exam(by=admin_user)
        stat = make_exam(by=admin_user, priority="stat")
    done = _booked(admin_user)
    mine = _booked(admin_user, BOOKED + dt.timedelta(hours=1))
    theirs = _booked(admin_user, BOOKED + dt.timedelta(hours=2))
    with time_machine.travel(BOOKED + dt.timedelta(hours=3), tick=False):
        for exam in (done, mine, theirs):
            advance(exam, ExamState.COMPLETED, by=admin_user)
        exam_report(exam=mine, by=radiologist, text="Normal.")
        advance(theirs, ExamState.REPORTED, by=admin_user)
    assert Exam.objects.get(pk=mine.pk).radiologist == me
    response = _get(client_for(radiologist), "radiologist", BOOKED + dt.timedelta(hours=4))
    protocol = _section_html(response, "protocol")
    assert protocol.index(stat.accession_number) < protocol.index(routine.accession_number)
    assert done.accession_number in _section_html(response, "report")
    assert mine.accession_number in _section_html(response, "sign_mine")
    assert theirs.accession_number not in _section_html(response, "sign_mine")
    assert theirs.accession_number in _section_html(response, "sign_others")


# --- billing -----------------------------------------------------------------------------------


def test_billing_sees_signed_exams_not_yet_billed(admin_user: User, billing_user: User) -> None:
    signed = _booked(admin_user)
    billed = _booked(admin_user, BOOKED + dt.timedelta(hours=1))
    with time_machine.travel(BOOKED + dt.timedelta(hours=3), tick=False):
        advance(signed, ExamState.SIGNED, by=admin_user)
        advance(billed, ExamState.BILLED, by=admin_user)
    response = _get(client_for(billing_user), "billing", BOOKED + dt.timedelta(hours=4))
    section = _section_html(response, "to_bill")
    assert signed.accession_number in section
    assert billed.accession_number not in section
    assert "76700" in section  # the exam type's procedure code


# --- coordinator -------------------------------------------------------------------------------


def test_coordinator_sees_triage_incomplete_and_todays_exceptions(
    admin_user: User, coordinator: User
) -> None:
    with time_machine.travel(MORNING, tick=False):
        ready = make_exam(by=admin_user)
        missing = make_exam(by=admin_user, complete=False)
        stat = make_exam(by=admin_user, priority="stat")
    late = _booked(admin_user)
    response = _get(client_for(coordinator), "coordinator", BOOKED + dt.timedelta(minutes=20))
    triage = _section_html(response, "triage")
    assert triage.index(stat.accession_number) < triage.index(ready.accession_number)
    assert missing.accession_number in _section_html(response, "incomplete")
    assert late.accession_number in _section_html(response, "late")
    # The STAT received at 08:00 breached at 09:00: an exception, and counted on the board.
    sla = _section_html(response, "sla")
    assert stat.accession_number in sla
    assert "overdue" in sla
    assert '<p class="card-figure">1</p>' in _section_html(response, "stat")


def test_a_room_taken_down_with_bookings_today_is_an_exception(
    admin_user: User, coordinator: User
) -> None:
    exam = _booked(admin_user)
    assert exam.room is not None
    exam.room.status = "down"
    exam.room.save(update_fields=["status"])
    response = _get(client_for(coordinator), "coordinator", MORNING)
    assert exam.room.name in _section_html(response, "rooms_down")


# --- roles and queries -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "role"),
    [
        ("coordinator", "scheduler"),
        ("front_desk", "technologist"),
        ("my_exams", "coordinator"),
        ("radiologist", "billing_user"),
        ("billing", "radiologist"),
    ],
)
def test_other_roles_are_refused(page: str, role: str, request: pytest.FixtureRequest) -> None:
    user: User = request.getfixturevalue(role)
    assert client_for(user).get(reverse(f"worklists:{page}")).status_code == 403


def _busy_day(admin_user: User, n: int, offset: int) -> None:
    for i in range(n):
        start = BOOKED + dt.timedelta(minutes=30 * (i + offset))
        _booked(admin_user, start)
        with time_machine.travel(MORNING, tick=False):
            make_exam(by=admin_user, priority="stat")
            make_exam(by=admin_user, complete=False)


@pytest.mark.parametrize("page", ["coordinator", "front_desk", "stat_board"])
def test_the_busiest_pages_do_not_query_per_row(
    page: str, admin_user: User, django_assert_max_num_queries: Any
) -> None:
    client = client_for(admin_user)
    _busy_day(admin_user, 2, 0)
    at = BOOKED + dt.timedelta(minutes=50)
    with CaptureQueriesContext(connection) as few:
        assert _get(client, page, at).status_code == 200
    _busy_day(admin_user, 5, 2)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert _get(client, page, at).status_code == 200
    assert len(few.captured_queries) <= 45


def test_the_arrive_button_checks_the_patient_in(admin_user: User, scheduler: User) -> None:
    exam = _booked(admin_user)
    client = client_for(scheduler)
    arrive = reverse("exams:arrive", args=[exam.pk])
    at = BOOKED - dt.timedelta(minutes=5)
    assert f'action="{arrive}"' in _section_html(_get(client, "front_desk", at), "expected")
    with time_machine.travel(at, tick=False):
        client.post(arrive)
    exam.refresh_from_db()
    assert exam.state == ExamState.ARRIVED
    after = _get(client, "front_desk", at + dt.timedelta(minutes=1))
    assert exam.accession_number in _section_html(after, "waiting")
    assert exam.accession_number not in _section_html(after, "expected")


def test_the_bill_button_posts_the_charges(admin_user: User, billing_user: User) -> None:
    exam = _booked(admin_user)
    with time_machine.travel(BOOKED + dt.timedelta(hours=3), tick=False):
        advance(exam, ExamState.SIGNED, by=admin_user)
    client = client_for(billing_user)
    bill = reverse("exams:bill", args=[exam.pk])
    at = BOOKED + dt.timedelta(hours=4)
    assert f'action="{bill}"' in _section_html(_get(client, "billing", at), "to_bill")
    with time_machine.travel(at, tick=False):
        client.post(bill)
    exam.refresh_from_db()
    assert exam.state == ExamState.BILLED
    assert exam.accession_number not in _section_html(_get(client, "billing", at), "to_bill")
