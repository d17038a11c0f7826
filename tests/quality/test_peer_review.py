"""Radiologist peer review: random assignment to another radiologist, blinding both ways, and the
follow-up of significant discrepancies."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from radflow.core.errors import PermissionDenied, ValidationFailed
from radflow.core.roles import Role
from radflow.exams.models import Exam
from radflow.notifications.models import Notification
from radflow.quality.models import (
    DiscrepancyFollowUp,
    FollowUpStatus,
    PeerReview,
    ReviewStatus,
    SampleDraw,
)
from radflow.quality.rules import month_start, previous_month
from radflow.quality.services import quality_settings_save
from radflow.quality.services_peer import (
    follow_up_close,
    follow_up_update,
    peer_review_assign_month,
    peer_review_submit,
)
from radflow.staff.models import JobRole, StaffMember
from tests.conftest import client_for
from tests.quality.factories import exam_done, local, person

pytestmark = pytest.mark.django_db

LAST = previous_month(month_start(timezone.localdate()))


@dataclass
class Readers:
    nair: StaffMember
    okafor: StaffMember
    lindqvist: StaffMember
    reads: list[Exam]


@pytest.fixture
def readers(db: None) -> Readers:
    """Three radiologists with logins; each signed four reads last month."""
    nair = person(
        JobRole.RADIOLOGIST,
        role=Role.RADIOLOGIST,
        username="nair",
        given_name="Priya",
        family_name="Nair",
    )
    okafor = person(
        JobRole.RADIOLOGIST,
        role=Role.RADIOLOGIST,
        username="okafor",
        given_name="Chidi",
        family_name="Okafor",
    )
    lindqvist = person(
        JobRole.RADIOLOGIST,
        role=Role.RADIOLOGIST,
        username="lindqvist",
        given_name="Astrid",
        family_name="Lindqvist",
    )
    sonographer = person()
    reads = [
        exam_done(
            performer=sonographer,
            completed_at=local(LAST + dt.timedelta(days=n)),
            reader=reader,
            report_text="IMPRESSION: Normal.\nElectronically signed by Dr. "
            f"{reader.given_name} {reader.family_name.upper()}.",
        )
        for reader in (nair, okafor, lindqvist)
        for n in range(4)
    ]
    return Readers(nair=nair, okafor=okafor, lindqvist=lindqvist, reads=reads)


def test_each_radiologist_has_the_configured_number_of_reads_reviewed_by_someone_else(
    readers: Readers,
) -> None:
    quality_settings_save(by=None, peer_reviews_per_radiologist=2)

    result = peer_review_assign_month(month=LAST)

    reviews = list(PeerReview.objects.select_related("exam"))
    assert result.created == 6
    assert Counter(r.reader_id for r in reviews) == {
        readers.nair.pk: 2,
        readers.okafor.pk: 2,
        readers.lindqvist.pk: 2,
    }
    assert all(r.reviewer_id != r.reader_id for r in reviews)
    assert all(r.exam.radiologist_id == r.reader_id for r in reviews)
    # Spread near-evenly: each read goes to the least-loaded peer other than its reader.
    loads = Counter(r.reviewer_id for r in reviews)
    assert len(loads) == 3 and max(loads.values()) - min(loads.values()) <= 2


def test_the_same_month_is_assigned_the_same_way_again(readers: Readers) -> None:
    peer_review_assign_month(month=LAST)
    first = set(PeerReview.objects.values_list("exam_id", "reviewer_id"))
    assert peer_review_assign_month(month=LAST).created == 0

    PeerReview.objects.all().delete()
    SampleDraw.objects.all().delete()
    peer_review_assign_month(month=LAST)

    assert set(PeerReview.objects.values_list("exam_id", "reviewer_id")) == first


def test_the_database_refuses_a_review_of_ones_own_read(readers: Readers) -> None:
    read = readers.reads[0]
    with pytest.raises(IntegrityError):
        PeerReview.objects.create(
            exam=read,
            reader=readers.nair,
            reviewer=readers.nair,
            month=LAST,
            assigned_at=timezone.now(),
            due_on=timezone.localdate(),
        )


def test_reviewers_are_told_how_many_reviews_they_have_without_whose(readers: Readers) -> None:
    peer_review_assign_month(month=LAST)

    titles = list(Notification.objects.values_list("title", flat=True))
    assert len(titles) == 3
    assert all(t.startswith("4 peer reviews to do") for t in titles)
    assert not any(name in t for t in titles for name in ("Nair", "Okafor", "Lindqvist"))


def one_review(readers: Readers) -> PeerReview:
    peer_review_assign_month(month=LAST, notify_reviewers=False)
    return PeerReview.objects.select_related("reader__user", "reviewer__user", "exam").filter(
        reader=readers.nair
    )[0]


def test_the_reviewers_pages_never_show_who_read_the_study(readers: Readers) -> None:
    review = one_review(readers)
    reviewer = client_for(review.reviewer.user)  # type: ignore[arg-type]

    pages = [
        reviewer.get(reverse("quality:peer_mine")),
        reviewer.get(reverse("quality:peer_review", kwargs={"pk": review.pk})),
    ]

    assert all(p.status_code == 200 for p in pages)
    assert review.exam.accession_number in pages[1].content.decode()
    assert "Electronically signed by Dr. [reader] [reader]." in pages[1].content.decode()
    for page in pages:
        text = page.content.decode()
        assert not re.search(r"\b(nair|priya)\b", text, re.IGNORECASE)


def test_the_reader_sees_the_result_but_never_who_reviewed(readers: Readers) -> None:
    review = one_review(readers)
    peer_review_submit(
        review=review,
        by=review.reviewer.user,
        score="2a",
        comment="Small renal cyst not mentioned.",
    )
    reviewer = review.reviewer

    page = client_for(readers.nair.user).get(reverse("quality:peer_mine"))  # type: ignore[arg-type]

    text = page.content.decode()
    assert "Small renal cyst not mentioned." in text and ">2a<" in text
    assert reviewer.family_name not in text and reviewer.given_name not in text
    note = Notification.objects.get(recipient=readers.nair.user, kind="peer_review_result")
    assert reviewer.family_name not in note.title


def test_another_radiologist_cannot_open_a_review_assigned_to_someone_else(
    readers: Readers,
) -> None:
    review = one_review(readers)
    outsider = next(s for s in (readers.okafor, readers.lindqvist) if s.pk != review.reviewer_id)
    response = client_for(outsider.user).get(  # type: ignore[arg-type]
        reverse("quality:peer_review", kwargs={"pk": review.pk})
    )
    assert response.status_code == 403
    with pytest.raises(PermissionDenied):
        peer_review_submit(review=review, by=outsider.user, score="1")


def test_a_discrepancy_needs_a_comment(readers: Readers) -> None:
    review = one_review(readers)
    with pytest.raises(ValidationFailed) as refused:
        peer_review_submit(review=review, by=review.reviewer.user, score="3b")
    assert "Describe the discrepancy" in refused.value.errors["comment"][0]
    review.refresh_from_db()
    assert review.status == ReviewStatus.ASSIGNED


def test_concurring_and_2a_scores_open_no_follow_up(readers: Readers) -> None:
    peer_review_assign_month(month=LAST, notify_reviewers=False)
    reviews = list(PeerReview.objects.select_related("reviewer__user")[:2])
    peer_review_submit(review=reviews[0], by=reviews[0].reviewer.user, score="1")
    peer_review_submit(review=reviews[1], by=reviews[1].reviewer.user, score="2a", comment="Cyst.")
    assert not DiscrepancyFollowUp.objects.exists()


def test_a_significant_discrepancy_goes_to_the_follow_up_queue_and_is_closed(
    readers: Readers, director: User, coordinator: User
) -> None:
    quality_settings_save(by=None, follow_up_owner=director, follow_up_due_days=30)
    review = one_review(readers)

    peer_review_submit(
        review=review,
        by=review.reviewer.user,
        score="3b",
        comment="Non-occlusive popliteal DVT on the compression views.",
    )

    follow_up = DiscrepancyFollowUp.objects.get(review=review)
    assert follow_up.owner == director and follow_up.status == FollowUpStatus.OPEN
    assert follow_up.due_on == timezone.localdate() + dt.timedelta(days=30)
    assert Notification.objects.filter(recipient=director, kind="peer_follow_up").exists()
    queue = client_for(director).get(reverse("quality:follow_ups")).content.decode()
    assert review.exam.accession_number in queue and "3b" in queue

    with pytest.raises(ValidationFailed) as refused:
        follow_up_close(follow_up=follow_up, by=director, outcome="Done.")
    assert "Record the action" in refused.value.errors["action"][0]

    follow_up_update(
        follow_up=follow_up,
        by=director,
        owner=coordinator,
        due_on=follow_up.due_on,
        action_kind="addendum",
        action="Addendum issued; referrer phoned at 14:10.",
    )
    assert Notification.objects.filter(recipient=coordinator, kind="peer_follow_up").exists()
    client_for(coordinator).post(
        reverse("quality:follow_up_close", kwargs={"pk": follow_up.pk}),
        {"outcome": "Patient anticoagulated; case presented at conference."},
    )

    follow_up.refresh_from_db()
    assert follow_up.status == FollowUpStatus.CLOSED
    assert follow_up.closed_by == coordinator and follow_up.closed_at is not None


def test_a_radiologist_sees_only_the_follow_ups_they_own(readers: Readers, director: User) -> None:
    quality_settings_save(by=None, follow_up_owner=director)
    review = one_review(readers)
    peer_review_submit(review=review, by=review.reviewer.user, score="2b", comment="Missed nodule.")

    own_queue = client_for(readers.okafor.user).get(reverse("quality:follow_ups"))  # type: ignore[arg-type]

    assert own_queue.status_code == 200
    assert review.exam.accession_number not in own_queue.content.decode()
    follow_up = DiscrepancyFollowUp.objects.get()
    detail = client_for(readers.okafor.user).get(  # type: ignore[arg-type]
        reverse("quality:follow_up_detail", kwargs={"pk": follow_up.pk})
    )
    assert detail.status_code == 403


def test_managers_see_both_radiologists_on_the_program_page(
    readers: Readers, coordinator: User
) -> None:
    review = one_review(readers)
    page = (
        client_for(coordinator)
        .get(reverse("quality:peer_review", kwargs={"pk": review.pk}))
        .content.decode()
    )
    assert str(review.reader) in page and str(review.reviewer) in page


def test_a_reader_who_also_runs_the_program_still_cannot_see_who_reviewed_them(
    readers: Readers,
) -> None:
    from django.contrib.auth.models import Group

    review = one_review(readers)
    nair = readers.nair.user
    assert nair is not None
    nair.groups.add(Group.objects.get(name=Role.DIRECTOR.value))

    response = client_for(nair).get(reverse("quality:peer_review", kwargs={"pk": review.pk}))

    assert response.status_code == 403
