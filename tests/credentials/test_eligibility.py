"""May this person perform this exam on this date: credentials, then competencies."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from radflow.catalog.models import ExamType
from radflow.credentials.models import Credential
from radflow.credentials.selectors import (
    eligible_staff,
    may_perform,
    staff_skills,
    staff_warnings,
)
from tests.credentials.factories import (
    make_credential,
    make_signoff,
    qualified_sonographer,
    sonographer,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("credential_reference")]

TODAY = dt.date(2026, 11, 23)
TOMORROW = TODAY + dt.timedelta(days=1)
DAY_AFTER = TODAY + dt.timedelta(days=2)


def exam(code: str) -> ExamType:
    return ExamType.objects.get(code=code)


def test_a_credential_expiring_tomorrow_makes_its_holder_ineligible_the_day_after() -> None:
    staff = sonographer()
    make_credential(staff, "ardms-rdms-ab", expires_on=TOMORROW)
    make_signoff(staff, "us-abdominal", on=dt.date(2026, 6, 1))
    abdomen = exam("us-abdomen-complete")

    assert may_perform(staff=staff, exam_type=abdomen, on=TODAY).ok
    assert may_perform(staff=staff, exam_type=abdomen, on=TOMORROW).ok
    after = may_perform(staff=staff, exam_type=abdomen, on=DAY_AFTER)
    assert not after.ok
    assert after.reasons == ("ARDMS RDMS (AB) expired on 2026-11-24",)
    assert staff not in eligible_staff(exam_type=abdomen, on=DAY_AFTER)


def test_the_board_warns_before_and_after_the_expiry() -> None:
    staff = sonographer()
    make_credential(staff, "ardms-rdms-ab", expires_on=TOMORROW)
    make_signoff(staff, "us-abdominal", on=dt.date(2026, 6, 1))

    assert staff_warnings(staff_ids=[staff.pk], on=TODAY) == {
        staff.pk: ["ARDMS RDMS (AB) expires on 2026-11-24 (in 1 day)"]
    }
    assert staff_warnings(staff_ids=[staff.pk], on=DAY_AFTER) == {
        staff.pk: ["ARDMS RDMS (AB) expired on 2026-11-24"]
    }


def test_a_renewal_supersedes_the_old_card_on_the_board_and_for_eligibility() -> None:
    staff = sonographer()
    make_credential(staff, "ardms-rdms-ab", expires_on=TOMORROW)
    make_credential(staff, "ardms-rdms-ab", issued_on=TODAY, expires_on=dt.date(2027, 11, 24))
    make_signoff(staff, "us-abdominal", on=dt.date(2026, 6, 1))

    assert may_perform(staff=staff, exam_type=exam("us-abdomen-complete"), on=DAY_AFTER).ok
    assert staff_warnings(staff_ids=[staff.pk], on=DAY_AFTER) == {staff.pk: []}


def test_any_one_credential_of_a_requirement_is_enough() -> None:
    staff = sonographer()
    make_credential(staff, "ardms-rdms-ab", expires_on=dt.date(2026, 1, 31))
    make_credential(staff, "arrt-s", expires_on=dt.date(2027, 1, 31))
    make_signoff(staff, "us-abdominal", on=dt.date(2026, 6, 1))

    assert may_perform(staff=staff, exam_type=exam("us-abdomen-complete"), on=TODAY).ok


def test_an_unverified_credential_does_not_count_and_says_so() -> None:
    staff = sonographer()
    make_credential(staff, "ardms-rdms-ab", verified=False)
    make_signoff(staff, "us-abdominal", on=dt.date(2026, 6, 1))

    verdict = may_perform(staff=staff, exam_type=exam("us-abdomen-complete"), on=TODAY)
    assert verdict.reasons == ("ARDMS RDMS (AB) not verified yet",)


def test_vascular_exams_need_a_vascular_registry_and_the_vascular_competency() -> None:
    staff = sonographer()
    make_credential(staff, "arrt-s")
    make_signoff(staff, "us-vascular-venous", on=dt.date(2025, 3, 1))

    verdict = may_perform(staff=staff, exam_type=exam("us-venous-bilateral"), on=TODAY)
    assert not verdict.ok
    assert verdict.reasons == (
        "no vascular registry credential",
        "no current Vascular: venous competency (lapsed 2026-03-01)",
    )


def test_someone_never_signed_off_is_told_which_competency_is_missing() -> None:
    staff = sonographer()
    make_credential(staff, "ardms-rdms-ab")
    verdict = may_perform(staff=staff, exam_type=exam("us-liver-elastography"), on=TODAY)
    assert verdict.reasons == (
        "no current Abdominal ultrasound competency (never signed off)",
        "no current Elastography competency (never signed off)",
    )


def test_mr_exams_need_arrt_mr() -> None:
    staff = sonographer()
    make_credential(staff, "arrt-r")
    mr = ExamType.objects.filter(modality_id="MR").order_by("code").first()
    assert mr is not None
    reasons = may_perform(staff=staff, exam_type=mr, on=TODAY).reasons
    assert reasons[0] == "no MR registry credential (ARRT (MR))"


def test_an_inactive_person_is_never_eligible() -> None:
    staff = qualified_sonographer(active=False)
    verdict = may_perform(staff=staff, exam_type=exam("us-abdomen-complete"), on=TODAY)
    assert verdict.reasons == ("not an active staff member",)


def test_eligible_staff_lists_only_who_may_perform_on_that_day() -> None:
    ready = qualified_sonographer(family_name="Abbott")
    lapsed = qualified_sonographer(family_name="Byrne")
    make_credential(lapsed, "arrt-s", expires_on=dt.date(2026, 2, 1))  # irrelevant extra
    Credential.objects.filter(staff=lapsed, credential_type_id="ardms-rdms-ab").update(
        expires_on=dt.date(2026, 11, 1)
    )
    Credential.objects.filter(staff=lapsed, credential_type_id="ardms-rdms-ob").delete()
    sonographer(family_name="Cole")  # nothing at all

    assert eligible_staff(exam_type=exam("us-abdomen-complete"), on=TODAY) == [ready]


def test_staff_skills_are_credentialed_modalities_plus_current_competencies(
    django_assert_num_queries: Callable[..., Any],
) -> None:
    ready = qualified_sonographer()
    expired = sonographer()
    make_credential(expired, "ardms-rdms-ab", expires_on=dt.date(2026, 1, 1))
    make_signoff(expired, "us-abdominal", on=dt.date(2026, 6, 1))
    make_signoff(expired, "us-breast", on=dt.date(2025, 1, 1))  # lapsed
    ct = sonographer()
    make_credential(ct, "arrt-ct")
    make_credential(ct, "state-rt-licence")
    make_signoff(ct, "ct", on=dt.date(2026, 6, 1))

    with django_assert_num_queries(5):
        skills = staff_skills(staff_ids=[ready.pk, expired.pk, ct.pk], on=TODAY)

    assert "US" in skills[ready.pk] and "us-vascular-venous" in skills[ready.pk]
    assert skills[expired.pk] == frozenset({"us-abdominal"})
    assert skills[ct.pk] == frozenset({"CT", "ct"})


def test_staff_skills_cost_the_same_queries_for_many_people(
    django_assert_num_queries: Callable[..., Any],
) -> None:
    people = [qualified_sonographer() for _ in range(6)]
    with django_assert_num_queries(5):
        skills = staff_skills(staff_ids=[p.pk for p in people], on=TODAY)
    assert all("US" in skills[p.pk] for p in people)


def test_eligible_staff_does_not_query_per_person(
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    for _ in range(6):
        qualified_sonographer()
    dialysis = exam("us-dialysis-access")
    with django_assert_max_num_queries(6):
        assert len(eligible_staff(exam_type=dialysis, on=TODAY)) == 6
