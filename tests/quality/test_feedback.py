"""Complaints and compliments: the response deadline in working days, the overdue list, the
resolution and the monthly counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from radflow.core.errors import ValidationFailed
from radflow.notifications.models import Notification
from radflow.quality.models import Feedback, FeedbackStatus
from radflow.quality.selectors import complaints_by_month, overdue_complaints
from radflow.quality.services import quality_settings_save
from radflow.quality.services_feedback import feedback_record, feedback_resolve
from radflow.scheduling.models import Site, SiteClosure
from tests.conftest import client_for
from tests.scheduling.factories import SiteFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
CHRISTMAS_EVE = dt.date(2025, 12, 24)  # a Wednesday


def complaint(received_on: dt.date, by: User | None = None, **fields: object) -> Feedback:
    values: dict[str, object] = {
        "kind": "complaint",
        "channel": "phone",
        "category": "wait",
        "summary": "Waited over an hour past the appointment time.",
    }
    values.update(fields)
    return feedback_record(by=by, received_on=received_on, **values)  # type: ignore[arg-type]


@pytest.fixture
def two_sites(db: None) -> tuple[Site, Site]:
    return SiteFactory.create(code="MAIN"), SiteFactory.create(code="OIC")


def test_the_deadline_skips_weekends_and_days_every_site_is_closed(
    two_sites: tuple[Site, Site],
) -> None:
    for site in two_sites:
        SiteClosure.objects.create(site=site, date=dt.date(2025, 12, 25), reason="Christmas Day")
        SiteClosure.objects.create(site=site, date=dt.date(2026, 1, 1), reason="New Year's Day")

    # Fri 26, Mon 29, Tue 30, Wed 31, (Thu 1 closed), Fri 2.
    assert complaint(CHRISTMAS_EVE).response_due_on == dt.date(2026, 1, 2)


def test_a_snow_day_at_one_site_does_not_move_the_deadline(
    two_sites: tuple[Site, Site],
) -> None:
    SiteClosure.objects.create(site=two_sites[0], date=dt.date(2025, 12, 25), reason="Snow")
    # Thu 25, Fri 26, Mon 29, Tue 30, Wed 31.
    assert complaint(CHRISTMAS_EVE).response_due_on == dt.date(2025, 12, 31)


def test_the_number_of_working_days_is_a_setting(db: None) -> None:
    quality_settings_save(by=None, complaint_response_working_days=10)
    friday = dt.date(2026, 2, 6)
    assert complaint(friday).response_due_on == dt.date(2026, 2, 20)


def test_the_owner_is_told_and_late_complaints_are_on_the_overdue_list(
    coordinator: User, director: User
) -> None:
    late = complaint(TODAY - dt.timedelta(days=20), by=coordinator, owner=director)
    complaint(TODAY, by=coordinator)

    assert list(overdue_complaints(today=TODAY)) == [late]
    assert Notification.objects.filter(recipient=director, kind="feedback_owner").exists()
    page = client_for(director).get(reverse("quality:feedback")).content.decode()
    assert late.number in page and "Past the response deadline" in page


def test_resolving_a_complaint_records_the_response_and_date(coordinator: User) -> None:
    received = TODAY - dt.timedelta(days=6)
    item = complaint(received, by=coordinator)

    response = client_for(coordinator).post(
        reverse("quality:feedback_resolve", kwargs={"pk": item.pk}),
        {"resolution": "Called the patient and apologised.", "resolved_on": TODAY.isoformat()},
    )

    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == FeedbackStatus.RESOLVED and item.resolved_on == TODAY
    assert item.resolved_by == coordinator
    assert not overdue_complaints(today=TODAY).exists()


def test_a_resolution_before_the_complaint_arrived_is_refused(coordinator: User) -> None:
    item = complaint(TODAY - dt.timedelta(days=2))
    with pytest.raises(ValidationFailed) as refused:
        feedback_resolve(
            feedback=item,
            by=coordinator,
            resolution="Apologised.",
            resolved_on=TODAY - dt.timedelta(days=5),
        )
    assert "before the complaint arrived" in refused.value.errors["resolved_on"][0]
    item.refresh_from_db()
    assert item.status == FeedbackStatus.OPEN


def test_a_compliment_has_no_deadline(coordinator: User) -> None:
    item = feedback_record(
        by=coordinator,
        kind="compliment",
        channel="letter",
        category="staff",
        received_on=TODAY,
        summary="The sonographer was kind and explained everything.",
    )
    assert item.response_due_on is None and not item.is_overdue(TODAY + dt.timedelta(days=30))


def test_the_month_counts_complaints_compliments_and_the_median_resolution(db: None) -> None:
    month = dt.date(2025, 11, 1)
    for days_to_resolve in (1, 3, 10):
        item = complaint(month + dt.timedelta(days=2))
        feedback_resolve(
            feedback=item,
            by=None,
            resolution="Answered.",
            resolved_on=month + dt.timedelta(days=2 + days_to_resolve),
        )
    feedback_record(
        by=None,
        kind="compliment",
        channel="web",
        category="staff",
        received_on=month,
        summary="Thank you.",
    )

    [row] = complaints_by_month(start=month, end=month, today=TODAY)

    assert (row.complaints, row.compliments, row.resolved) == (3, 1, 3)
    assert row.median_resolution_days == 3.0
    assert row.resolved_late == 1  # 10 calendar days is past 5 working days


def test_a_complaint_dated_tomorrow_is_refused_on_the_form(coordinator: User) -> None:
    response = client_for(coordinator).post(
        reverse("quality:feedback_new"),
        {
            "kind": "complaint",
            "channel": "phone",
            "category": "wait",
            "received_on": (TODAY + dt.timedelta(days=1)).isoformat(),
            "summary": "Waited an hour.",
        },
    )
    assert response.status_code == 422
    assert "The date received cannot be in the future." in response.content.decode()
    assert not Feedback.objects.exists()
