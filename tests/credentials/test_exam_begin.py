"""The "performer" hard stop: an exam may not begin by someone not credentialed or competent."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import User

from radflow.core.errors import Conflict, PermissionDenied
from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam, Override
from radflow.exams.services import exam_begin
from radflow.intake.models import IdentityCheck, IdentityMethod, PrepCheck, ScreeningAnswer
from radflow.intake.selectors import exam_hard_stops
from tests.credentials.factories import make_credential, make_signoff, sonographer
from tests.exams.factories import OVERRIDE_ALL, make_exam

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("credential_reference")]

#: Wednesday 25 November 2026, 10:00 in New York.
WEDNESDAY = dt.datetime(2026, 11, 25, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def arrived(admin_user: User) -> Exam:
    with time_machine.travel(WEDNESDAY - dt.timedelta(hours=3), tick=False):
        return make_exam(ExamState.ARRIVED, by=admin_user)


def test_begin_is_refused_when_the_performers_credential_expired_and_says_why(
    arrived: Exam, technologist: User
) -> None:
    staff = sonographer(user=technologist, given_name="Rosa", family_name="Diaz")
    make_credential(staff, "ardms-rdms-ab", expires_on=dt.date(2026, 11, 24))
    make_signoff(staff, "us-abdominal", on=dt.date(2026, 6, 1))

    with time_machine.travel(WEDNESDAY, tick=False), pytest.raises(Conflict) as caught:
        exam_begin(exam=arrived, by=technologist, overrides=OVERRIDE_ALL)
    assert caught.value.code == "hard_stop"
    assert caught.value.message == (
        "The exam cannot begin: Rosa Diaz may not perform this exam: "
        "ARDMS RDMS (AB) expired on 2026-11-24."
    )
    arrived.refresh_from_db()
    assert arrived.state == ExamState.ARRIVED
    assert arrived.technologist is None
    assert not Override.objects.filter(exam=arrived).exists()


def intake_done(exam: Exam, by: User) -> None:
    at = exam.state_changed_at
    IdentityCheck.objects.create(exam=exam, method=IdentityMethod.NAME_BIRTH_DATE, at=at, by=by)
    ScreeningAnswer.objects.create(
        exam=exam, item_id="npo", answer="Nothing since 22:00", result="cleared", at=at, by=by
    )
    PrepCheck.objects.create(exam=exam, prep_ok=True, at=at, by=by)


def test_a_technologist_may_not_override_the_performer_stop(
    arrived: Exam, technologist: User
) -> None:
    sonographer(user=technologist)
    intake_done(arrived, technologist)
    with time_machine.travel(WEDNESDAY, tick=False), pytest.raises(PermissionDenied) as caught:
        exam_begin(exam=arrived, by=technologist, overrides={"performer": "Nobody else on shift"})
    assert caught.value.message.startswith("Your role may not override the performer hard stop")
    assert Exam.objects.get(pk=arrived.pk).state == ExamState.ARRIVED


def test_a_permitted_role_overrides_the_performer_stop_with_a_reason(
    arrived: Exam, admin_user: User
) -> None:
    newcomer = sonographer(given_name="Sam", family_name="Ng")
    with time_machine.travel(WEDNESDAY, tick=False):
        exam = exam_begin(
            exam=arrived,
            by=admin_user,
            technologist=newcomer,
            overrides={**OVERRIDE_ALL, "performer": "STAT, supervised by the lead sonographer"},
        )
    assert exam.state == ExamState.IN_PROGRESS
    assert exam.technologist == newcomer
    row = Override.objects.get(exam=exam, stop="performer")
    assert row.reason == "STAT, supervised by the lead sonographer"
    assert row.detail.startswith("Sam Ng may not perform this exam: no sonography registry")
    assert "no current Abdominal ultrasound competency (never signed off)" in row.detail


def test_a_credentialed_competent_performer_meets_the_stop(
    arrived: Exam, technologist: User
) -> None:
    staff = sonographer(user=technologist)
    make_credential(staff, "ardms-rdms-ab")
    make_signoff(staff, "us-abdominal", on=dt.date(2026, 6, 1))
    intake_done(arrived, technologist)
    with time_machine.travel(WEDNESDAY, tick=False):
        exam = exam_begin(exam=arrived, by=technologist)
    assert exam.state == ExamState.IN_PROGRESS
    assert exam.technologist == staff
    assert not Override.objects.filter(exam=exam).exists()


def test_intake_shows_the_stop_for_the_assigned_technologist_ahead_of_time(
    arrived: Exam,
) -> None:
    arrived.technologist = sonographer(given_name="Ann", family_name="Lee")
    arrived.save()
    stops = exam_hard_stops(arrived, on=dt.date(2026, 11, 25))
    assert stops[-1].code == "performer"
    assert stops[-1].detail.startswith("Ann Lee may not perform this exam:")


def test_no_known_performer_means_no_performer_stop(arrived: Exam) -> None:
    codes = [s.code for s in exam_hard_stops(arrived, on=dt.date(2026, 11, 25))]
    assert "performer" not in codes
