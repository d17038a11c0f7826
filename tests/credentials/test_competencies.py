"""Sign-off, annual re-validation, cross-training plans and supervised cases."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import User

from radflow.catalog.models import Competency, ExamType
from radflow.core.errors import Conflict, ValidationFailed
from radflow.credentials.models import CompetencySignoff, PlanStatus, SupervisedCase
from radflow.credentials.selectors import may_perform, plan_get, staff_warnings
from radflow.credentials.services import (
    competency_revalidate,
    competency_sign_off,
    plan_save,
    supervised_case_log,
)
from tests.credentials.factories import make_credential, make_plan, sonographer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("credential_reference")]

NOW = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)


def abdominal() -> Competency:
    return Competency.objects.get(pk="us-abdominal")


def test_a_competency_lapses_one_year_after_sign_off_until_revalidated(
    coordinator: User,
) -> None:
    staff = sonographer()
    make_credential(staff)
    assessor = sonographer()
    abdomen = ExamType.objects.get(code="us-abdomen-complete")
    with time_machine.travel(NOW, tick=False):
        signoff = competency_sign_off(
            by=coordinator,
            staff=staff,
            competency=abdominal(),
            signed_off_on=dt.date(2025, 3, 2),
            observed_cases=25,
            assessor=assessor,
        )
    assert signoff.valid_until == dt.date(2026, 3, 1)
    assert may_perform(staff=staff, exam_type=abdomen, on=dt.date(2026, 3, 1)).ok
    lapsed = may_perform(staff=staff, exam_type=abdomen, on=dt.date(2026, 3, 2))
    assert lapsed.reasons == ("no current Abdominal ultrasound competency (lapsed 2026-03-02)",)
    assert staff_warnings(staff_ids=[staff.pk], on=dt.date(2026, 3, 5))[staff.pk] == [
        "Abdominal ultrasound competency lapsed 2026-03-02"
    ]

    with time_machine.travel(NOW, tick=False):
        competency_revalidate(
            by=coordinator, signoff=signoff, revalidated_on=dt.date(2026, 3, 9), assessor=assessor
        )
    signoff.refresh_from_db()
    assert (signoff.revalidated_on, signoff.valid_until) == (
        dt.date(2026, 3, 9),
        dt.date(2027, 3, 8),
    )
    assert may_perform(staff=staff, exam_type=abdomen, on=dt.date(2026, 3, 9)).ok
    assert signoff.history.count() == 2


def test_a_revalidation_in_the_future_or_before_the_sign_off_is_refused(
    coordinator: User,
) -> None:
    staff = sonographer()
    with time_machine.travel(NOW, tick=False):
        signoff = competency_sign_off(
            by=coordinator,
            staff=staff,
            competency=abdominal(),
            signed_off_on=dt.date(2025, 3, 2),
            observed_cases=25,
        )
        for day in (dt.date(2026, 3, 11), dt.date(2025, 1, 1)):
            with pytest.raises(ValidationFailed) as caught:
                competency_revalidate(by=coordinator, signoff=signoff, revalidated_on=day)
            assert "revalidated_on" in caught.value.errors
    assert CompetencySignoff.objects.get(pk=signoff.pk).valid_until == dt.date(2026, 3, 1)


def test_nobody_signs_themselves_off(coordinator: User) -> None:
    staff = sonographer()
    with pytest.raises(ValidationFailed) as caught:
        competency_sign_off(
            by=coordinator,
            staff=staff,
            competency=abdominal(),
            signed_off_on=dt.date(2025, 3, 2),
            observed_cases=25,
            assessor=staff,
        )
    assert caught.value.errors == {"assessor": ["A person cannot sign themselves off."]}
    assert not CompetencySignoff.objects.exists()


def test_supervised_cases_count_toward_the_plan_and_sign_off_completes_it(
    coordinator: User,
) -> None:
    trainee, mentor = sonographer(), sonographer()
    plan = make_plan(trainee, "us-vascular-venous", mentor=mentor)
    with time_machine.travel(NOW, tick=False):
        for day in (dt.date(2026, 1, 20), dt.date(2026, 2, 3)):
            supervised_case_log(by=coordinator, plan=plan, performed_on=day)
        assert plan_get(plan_id=plan.pk).cases_done == 2
        assert SupervisedCase.objects.filter(plan=plan, supervisor=mentor).count() == 2
        competency_sign_off(
            by=coordinator,
            staff=trainee,
            competency=Competency.objects.get(pk="us-vascular-venous"),
            signed_off_on=dt.date(2026, 3, 9),
            observed_cases=2,
            assessor=mentor,
        )
        plan.refresh_from_db()
        assert plan.status == PlanStatus.COMPLETED
        with pytest.raises(Conflict) as caught:
            supervised_case_log(by=coordinator, plan=plan, performed_on=dt.date(2026, 3, 9))
    assert caught.value.code == "plan_not_active"


def test_a_case_with_an_unknown_accession_or_before_the_plan_is_refused(
    coordinator: User,
) -> None:
    plan = make_plan(sonographer())
    with time_machine.travel(NOW, tick=False), pytest.raises(ValidationFailed) as caught:
        supervised_case_log(
            by=coordinator,
            plan=plan,
            performed_on=dt.date(2025, 12, 1),
            accession_number="rf99999999",
        )
    assert caught.value.errors == {
        "performed_on": ["The case is before the plan started (2026-01-05)."],
        "accession_number": ["No exam with accession number RF99999999."],
    }
    assert not SupervisedCase.objects.exists()


def test_a_second_active_plan_toward_the_same_competency_is_refused(coordinator: User) -> None:
    staff = sonographer()
    target = Competency.objects.get(pk="us-vascular-venous")
    values = {
        "by": coordinator,
        "staff": staff,
        "target": target,
        "required_cases": 20,
        "started_on": dt.date(2026, 1, 1),
        "due_on": dt.date(2026, 6, 1),
    }
    plan_save(**values)  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed) as caught:
        plan_save(**values)  # type: ignore[arg-type]
    assert "target" in caught.value.errors
