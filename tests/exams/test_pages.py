"""The exam page and its action pages, as each role uses them.

A refused action must say why and change nothing: the tests check the state and the number of
timeline rows before and after.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from radflow.audit.models import AccessLog
from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam, ExamTransition, Override
from radflow.intake.models import IdentityCheck, IdentityMethod, PrepCheck, ScreeningAnswer
from radflow.intake.selectors import exam_hard_stops
from radflow.scheduling.models import Room
from tests.conftest import client_for
from tests.exams.factories import advance, make_exam, next_slot, ultrasound_room
from tests.patients.factories import AllergyFactory, PatientFactory

pytestmark = pytest.mark.usefixtures("reference")


def url(name: str, exam: Exam) -> str:
    return reverse(f"exams:{name}", kwargs={"pk": exam.pk})


def local_input(moment: dt.datetime) -> str:
    """What a browser's ``<input type="datetime-local">`` sends for ``moment``."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def snapshot(exam: Exam) -> tuple[str, int]:
    exam.refresh_from_db()
    return exam.state, ExamTransition.objects.filter(exam=exam).count()


def complete_intake(exam: Exam, *, by: User) -> None:
    """Record what the intake screens would, so no hard stop is left."""
    now = timezone.now()
    IdentityCheck.objects.create(exam=exam, method=IdentityMethod.NAME_BIRTH_DATE, at=now, by=by)
    for item in exam.order.exam_type.required_screening.all():
        ScreeningAnswer.objects.create(
            exam=exam, item=item, answer="no", result="cleared", at=now, by=by
        )
    PrepCheck.objects.create(exam=exam, prep_ok=True, at=now, by=by)
    assert exam_hard_stops(exam, on=timezone.localdate()) == []


def page(response: Any) -> str:
    return str(response.content.decode())


# --- the exam page -----------------------------------------------------------------------------


def test_the_exam_page_shows_the_patient_the_order_and_logs_the_read(
    coordinator: User, admin_user: User
) -> None:
    patient = PatientFactory.create(family_name="Okafor", given_name="Ada")
    AllergyFactory.create(patient=patient, substance="Iodinated contrast")
    exam = make_exam(ExamState.SCHEDULED, by=admin_user, patient=patient)
    response = client_for(coordinator).get(url("detail", exam))
    assert response.status_code == 200
    html = page(response)
    assert "OKAFOR, Ada" in html
    assert "Iodinated contrast" in html and "badge-bad" in html
    assert exam.accession_number in html
    assert "US abdomen complete" in html
    assert "Scheduled" in html
    assert exam.room is not None and exam.room.name in html
    log = AccessLog.objects.get(action="exam.detail")
    assert log.patient_id == patient.pk and log.username == "coordinator"


def test_the_exam_page_lists_unmet_hard_stops_before_the_exam_begins(
    technologist: User, admin_user: User
) -> None:
    exam = make_exam(ExamState.ARRIVED, by=admin_user)
    html = page(client_for(technologist).get(url("detail", exam)))
    assert "Hard stops not yet met" in html
    assert "Identity not confirmed with two identifiers." in html


def test_the_exam_page_offers_only_what_the_user_may_do_now(
    scheduler: User, technologist: User, admin_user: User
) -> None:
    exam = make_exam(ExamState.AUTHORIZED, by=admin_user)
    html = page(client_for(scheduler).get(url("detail", exam)))
    assert url("schedule", exam) in html and url("cancel", exam) in html
    assert url("triage", exam) not in html and url("begin", exam) not in html
    html = page(client_for(technologist).get(url("detail", exam)))
    assert "What you can do now" not in html


# --- each action from the right role ---------------------------------------------------------


def test_an_exam_goes_from_referral_to_bill_through_the_pages(
    coordinator: User,
    scheduler: User,
    technologist: User,
    radiologist: User,
    billing_user: User,
    admin_user: User,
) -> None:
    exam = make_exam(ExamState.REQUESTED, by=admin_user)
    room = ultrasound_room()
    start = next_slot(hours=3)

    response = client_for(coordinator).post(
        url("triage", exam),
        {
            "exam_type": "us-abdomen-complete",
            "priority": "urgent",
            "protocol": "RUQ focused",
            "instructions": "Fast from midnight.",
        },
    )
    assert response.status_code == 302 and response["Location"] == url("detail", exam)
    assert snapshot(exam)[0] == ExamState.AUTHORIZED

    response = client_for(scheduler).post(
        url("schedule", exam), {"room": room.pk, "start": local_input(start)}
    )
    assert response.status_code == 302
    exam.refresh_from_db()
    assert exam.state == ExamState.SCHEDULED and exam.room == room
    assert exam.scheduled_start == start

    assert client_for(scheduler).post(url("arrive", exam)).status_code == 302
    complete_intake(exam, by=scheduler)
    assert client_for(technologist).post(url("begin", exam)).status_code == 302
    response = client_for(technologist).post(url("complete", exam), {"images_count": "42"})
    assert response.status_code == 302
    response = client_for(radiologist).post(url("report", exam), {"text": "Normal gallbladder."})
    assert response.status_code == 302
    assert client_for(radiologist).post(url("sign", exam)).status_code == 302
    billed = client_for(billing_user).post(url("bill", exam), follow=True)
    assert f"Exam {exam.accession_number} billed." in page(billed)

    exam.refresh_from_db()
    assert exam.state == ExamState.BILLED and exam.images_count == 42
    response = client_for(coordinator).get(url("detail", exam))
    html = page(response)
    for label in ("Triage", "Authorize", "Schedule", "Arrive", "Begin", "Complete", "Report"):
        assert f"<td>{label}</td>" in html, label
    assert "<td>Sign</td>" in html and "<td>Bill</td>" in html
    assert "Scheduled → Arrived" in html
    assert "Normal gallbladder." in html
    assert "76700" in html  # the charge


@pytest.mark.parametrize(
    ("action", "persona", "start_state", "reason_code", "label", "end_state"),
    [
        (
            "cancel",
            "coordinator",
            ExamState.SCHEDULED,
            "patient_request",
            "Patient asked to cancel",
            ExamState.CANCELLED,
        ),
        (
            "no_show",
            "scheduler",
            ExamState.SCHEDULED,
            "transport",
            "Transport problem",
            ExamState.NO_SHOW,
        ),
        (
            "discontinue",
            "technologist",
            ExamState.IN_PROGRESS,
            "equipment_failure",
            "Equipment failure",
            ExamState.DISCONTINUED,
        ),
    ],
)
def test_ending_an_exam_early_records_the_coded_reason_on_the_timeline(
    request: pytest.FixtureRequest,
    admin_user: User,
    action: str,
    persona: str,
    start_state: ExamState,
    reason_code: str,
    label: str,
    end_state: ExamState,
) -> None:
    user: User = request.getfixturevalue(persona)
    exam = make_exam(start_state, by=admin_user)
    client = client_for(user)
    assert client.get(url(action, exam)).status_code == 200
    response = client.post(url(action, exam), {"reason_code": reason_code, "reason": "Called at 9"})
    assert response.status_code == 302
    exam.refresh_from_db()
    assert exam.state == end_state and exam.reason_code == reason_code
    html = page(client_for(admin_user).get(url("detail", exam)))
    assert f"{label} — Called at 9" in html


def test_an_ending_without_a_reason_code_is_a_form_error(
    coordinator: User, admin_user: User
) -> None:
    exam = make_exam(ExamState.SCHEDULED, by=admin_user)
    before = snapshot(exam)
    response = client_for(coordinator).post(url("cancel", exam), {"reason": "no code"})
    assert response.status_code == 422
    assert "This field is required." in page(response)
    assert snapshot(exam) == before


# --- refusals change nothing ------------------------------------------------------------------


def test_an_illegal_transition_says_why_and_changes_nothing(
    radiologist: User, admin_user: User
) -> None:
    exam = make_exam(ExamState.SCHEDULED, by=admin_user)
    before = snapshot(exam)
    response = client_for(radiologist).post(url("sign", exam))
    assert response.status_code == 409
    assert "An exam that is scheduled cannot be signed" in page(response)
    assert snapshot(exam) == before


def test_an_action_page_that_is_not_possible_now_says_so(
    radiologist: User, admin_user: User
) -> None:
    exam = make_exam(ExamState.SCHEDULED, by=admin_user)
    response = client_for(radiologist).get(url("report", exam))
    assert response.status_code == 200
    html = page(response)
    assert "Not possible now" in html and "cannot be reported" in html
    assert "<textarea" not in html


def test_the_wrong_role_is_refused_and_nothing_changes(
    technologist: User, admin_user: User
) -> None:
    exam = make_exam(ExamState.AUTHORIZED, by=admin_user)
    before = snapshot(exam)
    room = ultrasound_room()
    response = client_for(technologist).post(
        url("schedule", exam), {"room": room.pk, "start": local_input(next_slot())}
    )
    assert response.status_code == 403
    assert "Your role does not allow this page." in page(response)
    assert snapshot(exam) == before


def test_a_second_arrival_is_refused(scheduler: User, admin_user: User) -> None:
    exam = make_exam(ExamState.SCHEDULED, by=admin_user)
    client = client_for(scheduler)
    assert client.post(url("arrive", exam)).status_code == 302
    before = snapshot(exam)
    response = client.post(url("arrive", exam))
    assert response.status_code == 409
    assert "An exam that is arrived cannot be arrived" in page(response)
    assert snapshot(exam) == before


def test_a_booking_in_the_past_is_refused(scheduler: User, admin_user: User) -> None:
    exam = make_exam(ExamState.AUTHORIZED, by=admin_user)
    before = snapshot(exam)
    yesterday = timezone.now() - dt.timedelta(days=1)
    response = client_for(scheduler).post(
        url("schedule", exam), {"room": ultrasound_room().pk, "start": local_input(yesterday)}
    )
    assert response.status_code == 422
    assert "A new booking cannot start in the past." in page(response)
    assert snapshot(exam) == before


def test_a_room_already_taken_says_already_booked(scheduler: User, admin_user: User) -> None:
    room = ultrasound_room(name="US Room 1")
    start = next_slot(hours=4)
    taken = make_exam(ExamState.AUTHORIZED, by=admin_user)
    advance(taken, ExamState.SCHEDULED, by=admin_user, room=room, start=start)
    exam = make_exam(ExamState.AUTHORIZED, by=admin_user)
    before = snapshot(exam)
    response = client_for(scheduler).post(
        url("schedule", exam), {"room": room.pk, "start": local_input(start)}
    )
    assert response.status_code == 409
    assert "US Room 1 is already booked" in page(response)
    assert snapshot(exam) == before


def test_the_schedule_form_offers_only_rooms_of_the_exam_modality(
    scheduler: User, admin_user: User
) -> None:
    from tests.scheduling.factories import ModalityFactory, RoomFactory

    us_room = ultrasound_room(name="Sono 2")
    ct_room = RoomFactory.create(name="CT Suite", modality=ModalityFactory.create(code="CT"))
    exam = make_exam(ExamState.AUTHORIZED, by=admin_user)
    html = page(client_for(scheduler).get(url("schedule", exam)))
    assert "Sono 2" in html and ct_room.name not in html
    assert 'type="datetime-local"' in html
    assert isinstance(us_room, Room)


def test_a_reschedule_keeps_the_old_room_and_time_on_the_timeline(
    scheduler: User, admin_user: User
) -> None:
    old_room = ultrasound_room(name="US Room A", code="USA")
    new_room = ultrasound_room(name="US Room B", code="USB")
    old_start = next_slot(hours=5)
    new_start = next_slot(hours=30)
    exam = make_exam(ExamState.AUTHORIZED, by=admin_user)
    exam = advance(exam, ExamState.SCHEDULED, by=admin_user, room=old_room, start=old_start)
    response = client_for(scheduler).post(
        url("reschedule", exam),
        {
            "room": new_room.pk,
            "start": local_input(new_start),
            "reason_code": "patient_request",
            "reason": "Prefers mornings",
        },
    )
    assert response.status_code == 302
    exam.refresh_from_db()
    assert exam.room == new_room and exam.scheduled_start == new_start
    html = page(client_for(scheduler).get(url("detail", exam)))
    old_text = f"{timezone.localtime(old_start):%Y-%m-%d %H:%M}"
    new_text = f"{timezone.localtime(new_start):%Y-%m-%d %H:%M}"
    assert f"Moved from USA at {old_text} to USB at {new_text}" in html
    assert "Patient asked for another time — Prefers mornings" in html


# --- beginning and hard stops ------------------------------------------------------------------


def test_a_technologist_cannot_begin_past_a_hard_stop(technologist: User, admin_user: User) -> None:
    exam = make_exam(ExamState.ARRIVED, by=admin_user)
    client = client_for(technologist)
    html = page(client.get(url("begin", exam)))
    assert "Identity not confirmed with two identifiers." in html
    assert "Your role may not override" in html
    before = snapshot(exam)
    response = client.post(url("begin", exam))
    assert response.status_code == 409
    assert "The exam cannot begin" in page(response)
    assert snapshot(exam) == before


def test_a_permitted_role_begins_with_a_reason_per_hard_stop(admin_user: User) -> None:
    exam = make_exam(ExamState.ARRIVED, by=admin_user)
    stops = exam_hard_stops(exam, on=timezone.localdate())
    client = client_for(admin_user)
    html = page(client.get(url("begin", exam)))
    for stop in stops:
        assert f'name="override_{stop.code}"' in html
    reasons = {f"override_{stop.code}": f"Emergency: {stop.code}" for stop in stops}
    response = client.post(url("begin", exam), reasons)
    assert response.status_code == 302
    exam.refresh_from_db()
    assert exam.state == ExamState.IN_PROGRESS
    assert sorted(Override.objects.filter(exam=exam).values_list("stop", flat=True)) == sorted(
        s.code for s in stops
    )
    detail = page(client.get(url("detail", exam)))
    assert "Hard stops overridden" in detail and "Emergency: identity" in detail


def test_the_action_pages_render_for_the_roles_that_may_use_them(
    coordinator: User, radiologist: User, billing_user: User, admin_user: User
) -> None:
    exam = make_exam(ExamState.REQUESTED, by=admin_user)
    triage = page(client_for(radiologist).get(url("triage", exam)))
    assert 'name="exam_type"' in triage and 'name="priority"' in triage
    signed = make_exam(ExamState.SIGNED, by=admin_user)
    bill = client_for(billing_user).get(url("bill", signed))
    assert bill.status_code == 200 and "Post the charges" in page(bill)
    scheduled = make_exam(ExamState.SCHEDULED, by=admin_user)
    reschedule = page(client_for(coordinator).get(url("reschedule", scheduled)))
    assert "Room or equipment down" in reschedule  # a reschedule reason from the reference data


# --- the authorization window ----------------------------------------------------------------


def pending_authorization_exam(by: User, lead_days: int = 10) -> Exam:
    """An exam whose payer needs 10 days to authorize: booking tomorrow is outside the window."""
    from radflow.exams.services import exam_triage
    from radflow.orders.models import PayerAuthRule
    from tests.billing.factories import PayerFactory
    from tests.orders.factories import make_order

    payer = PayerFactory.create()
    PayerAuthRule.objects.create(
        payer=payer, procedure_code_id="76700", auth_required=True, lead_time_days=lead_days
    )
    order = make_order(by=by, payer=payer)
    exam = exam_triage(exam=order.exam, by=by)
    assert exam.state == ExamState.PENDING_AUTH
    return exam


def test_booking_inside_the_payers_lead_time_needs_an_override_with_a_reason(
    coordinator: User, admin_user: User
) -> None:
    exam = pending_authorization_exam(admin_user)
    room = ultrasound_room()
    client = client_for(coordinator)
    form = page(client.get(url("schedule", exam)))
    assert "The payer needs 10 days to authorize" in form
    assert 'name="override_reason"' in form

    slot = {"room": room.pk, "start": local_input(next_slot(hours=26))}
    before = snapshot(exam)
    response = client.post(url("schedule", exam), slot)
    assert response.status_code == 409
    assert "The payer needs 10 days to authorize" in page(response)
    assert snapshot(exam) == before

    response = client.post(
        url("schedule", exam), {**slot, "override_reason": "Oncology follow-up cannot wait"}
    )
    assert response.status_code == 302
    override = Override.objects.get(exam=exam)
    assert override.stop == "authorization" and override.action == "schedule"
    assert override.reason == "Oncology follow-up cannot wait"


def test_a_scheduler_without_the_override_right_is_told_to_pick_another_day(
    scheduler: User, admin_user: User
) -> None:
    exam = pending_authorization_exam(admin_user)
    html = page(client_for(scheduler).get(url("schedule", exam)))
    assert "The payer needs 10 days to authorize" in html
    assert 'name="override_reason"' not in html
    assert "ask a coordinator" in html


def test_the_exam_page_runs_in_a_bounded_number_of_queries(
    coordinator: User, admin_user: User, django_assert_max_num_queries: Any
) -> None:
    exam = make_exam(ExamState.BILLED, by=admin_user)
    client = client_for(coordinator)
    client.get(url("detail", exam))
    with django_assert_max_num_queries(25):
        assert client.get(url("detail", exam)).status_code == 200
