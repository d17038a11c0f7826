"""The waitlist: who fits a freed slot (ranked, with the reason), one-click booking, and the list
page where schedulers add and remove entries."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import pytest
import time_machine
from django.contrib.auth.models import User
from django.urls import reverse

from radflow.audit.models import AccessLog
from radflow.core.errors import Conflict
from radflow.core.exam_states import ExamState
from radflow.core.roles import Role
from radflow.exams.models import Exam
from radflow.waitlist.models import WaitlistEntry, WaitlistStatus
from radflow.waitlist.selectors import candidates_for_slot
from radflow.waitlist.services import waitlist_add, waitlist_book
from tests.conftest import client_for, make_user
from tests.exams.factories import make_exam
from tests.scheduling.board_setup import (
    MONDAY,
    BoardSite,
    board_site,
    book,
    booking_clock,
    local,
)

pytestmark = pytest.mark.django_db
NOW = booking_clock(MONDAY)
SLOT = (local(MONDAY, 10), local(MONDAY, 10, 45))


@pytest.fixture
def admin(reference: None) -> User:
    return make_user(Role.ADMIN, "waitlist_admin")


@pytest.fixture
def place(reference: None) -> BoardSite:
    return board_site()


def waiting(
    admin: User, exam_type: str, *, days: int, priority: str = "routine", **kwargs: object
) -> Exam:
    """An authorized exam put on the waitlist ``days`` days before ``NOW``."""
    exam = make_exam(ExamState.AUTHORIZED, by=admin, exam_type=exam_type, priority=priority)
    entry = waitlist_add(order=exam.order, by=admin, **kwargs)  # type: ignore[arg-type]
    WaitlistEntry.objects.filter(pk=entry.pk).update(added_at=NOW - dt.timedelta(days=days))
    return exam


def test_candidates_rank_by_priority_then_days_waiting_then_fit(
    place: BoardSite, admin: User
) -> None:
    with time_machine.travel(NOW, tick=False):
        old_thyroid = waiting(admin, "us-thyroid", days=20)
        urgent = waiting(admin, "us-thyroid", days=1, priority="urgent")
        old_exact_fit = waiting(admin, "us-abdomen-complete", days=20)
        recent = waiting(admin, "us-renal-complete", days=5)
        waiting(admin, "ct-head-wo", days=30)  # a CT exam: not for an ultrasound room
        waiting(admin, "us-scrotum-doppler", days=30)  # needs a vascular room
        waiting(admin, "us-abdominal-duplex", days=30)  # 60 minutes: too long
        earlier = book(place.us2, local(MONDAY, 9), by=admin, exam_type="us-thyroid")
        waitlist_add(order=earlier.order, by=admin)  # already booked before the slot
        ranked = candidates_for_slot(room=place.us1, start=SLOT[0], end=SLOT[1])
    assert [c.exam for c in ranked] == [urgent, old_exact_fit, old_thyroid, recent]
    assert [c.rank for c in ranked] == [1, 2, 3, 4]
    assert ranked[0].reason == "Urgent · 1 day on the waitlist · 30-min exam, 15 min left over"
    assert (
        ranked[1].reason
        == "Routine · 20 days on the waitlist · 45-min exam, fills the slot exactly"
    )


def test_a_booked_patient_is_a_candidate_only_for_an_earlier_slot_and_their_preferences_show(
    place: BoardSite, admin: User
) -> None:
    with time_machine.travel(NOW, tick=False):
        later = book(place.us2, local(MONDAY + dt.timedelta(days=9), 9), by=admin)
        waitlist_add(
            order=later.order,
            by=admin,
            wanted_before=MONDAY + dt.timedelta(days=3),
            preferred_times="mornings",
        )
        ranked = candidates_for_slot(room=place.us1, start=SLOT[0], end=SLOT[1])
    assert [c.exam for c in ranked] == [later]
    assert ranked[0].reason.endswith(
        "booked 11 Mar 09:00, 9 days later · wants it before 05 Mar · prefers mornings"
    )


def test_a_preferred_site_keeps_the_entry_off_other_sites_slots(
    place: BoardSite, admin: User
) -> None:
    other = board_site("OTH")
    with time_machine.travel(NOW, tick=False):
        waiting(admin, "us-thyroid", days=3, preferred_site=other.site)
        here = candidates_for_slot(room=place.us1, start=SLOT[0], end=SLOT[1])
        there = candidates_for_slot(room=other.us1, start=SLOT[0], end=SLOT[1])
    assert here == []
    assert len(there) == 1


def test_the_slot_page_books_a_candidate_in_one_click(place: BoardSite, admin: User) -> None:
    client = client_for(make_user(Role.COORDINATOR))
    with time_machine.travel(NOW, tick=False):
        exam = waiting(admin, "us-thyroid", days=4)
        query = urlencode(
            {"room": place.us1.pk, "start": SLOT[0].isoformat(), "end": SLOT[1].isoformat()}
        )
        page = client.get(f"{reverse('waitlist:slot')}?{query}").content.decode()
        entry = WaitlistEntry.objects.get(order=exam.order)
        response = client.post(
            reverse("waitlist:book", kwargs={"pk": entry.pk}),
            {
                "room": place.us1.pk,
                "start": SLOT[0].isoformat(),
                "end": SLOT[1].isoformat(),
            },
        )
        board = client.get(response["Location"]).content.decode()
    assert exam.order.patient.display_name in page
    assert "Book 10:00" in page
    exam.refresh_from_db()
    assert (exam.state, exam.room, exam.scheduled_start) == ("scheduled", place.us1, SLOT[0])
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.BOOKED
    assert f"Exam {exam.accession_number} booked in Ultrasound 1 at 10:00" in board
    assert f'id="exam-{exam.accession_number}"' in board


def test_booking_moves_an_already_booked_exam_earlier(place: BoardSite, admin: User) -> None:
    with time_machine.travel(NOW, tick=False):
        later = book(place.us2, local(MONDAY + dt.timedelta(days=9), 9), by=admin)
        entry = waitlist_add(order=later.order, by=admin)
        waitlist_book(entry=entry, by=admin, room=place.us1, start=SLOT[0])
    later.refresh_from_db()
    assert (later.room, later.scheduled_start) == (place.us1, SLOT[0])
    assert later.transitions.filter(action="reschedule", reason_code="patient_request").exists()


def test_a_slot_taken_meanwhile_is_refused_with_the_clash_and_the_entry_stays(
    place: BoardSite, admin: User
) -> None:
    client = client_for(make_user(Role.SCHEDULER))
    with time_machine.travel(NOW, tick=False):
        exam = waiting(admin, "us-thyroid", days=4)
        book(place.us1, local(MONDAY, 10), by=admin)  # someone else took it first
        entry = WaitlistEntry.objects.get(order=exam.order)
        response = client.post(
            reverse("waitlist:book", kwargs={"pk": entry.pk}),
            {"room": place.us1.pk, "start": SLOT[0].isoformat(), "end": SLOT[1].isoformat()},
        )
    assert response.status_code == 409
    assert "Ultrasound 1 is already booked 10:00-10:30" in response.content.decode()
    entry.refresh_from_db()
    exam.refresh_from_db()
    assert (entry.status, exam.state) == (WaitlistStatus.ACTIVE, "authorized")


def test_the_list_page_adds_by_accession_refuses_a_second_entry_and_removes(
    place: BoardSite, admin: User
) -> None:
    scheduler = make_user(Role.SCHEDULER)
    client = client_for(scheduler)
    exam = make_exam(ExamState.AUTHORIZED, by=admin, exam_type="us-thyroid")
    added = client.post(
        reverse("waitlist:add"),
        {"accession": exam.accession_number.lower(), "preferred_times": "mornings"},
    )
    again = client.post(reverse("waitlist:add"), {"accession": exam.accession_number})
    listed = client.get(reverse("waitlist:list")).content.decode()
    entry = WaitlistEntry.objects.get(order=exam.order)
    removed = client.post(reverse("waitlist:remove", kwargs={"pk": entry.pk}), {"reason": "Fine"})
    after = client.get(reverse("waitlist:list")).content.decode()
    assert added.status_code == 302
    assert (entry.priority, entry.preferred_times, entry.added_by) == (
        "routine",
        "mornings",
        scheduler,
    )
    assert again.status_code == 409
    assert f"Exam {exam.accession_number} is already on the waitlist." in again.content.decode()
    assert f'id="entry-{exam.accession_number}"' in listed
    assert removed.status_code == 302
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.REMOVED
    assert f'id="entry-{exam.accession_number}"' not in after


def test_an_unknown_accession_and_a_finished_exam_are_refused(
    place: BoardSite, admin: User
) -> None:
    client = client_for(make_user(Role.COORDINATOR))
    done = make_exam(ExamState.COMPLETED, by=admin, exam_type="us-thyroid")
    unknown = client.post(reverse("waitlist:add"), {"accession": "RF99999999"})
    finished = client.post(reverse("waitlist:add"), {"accession": done.accession_number})
    assert unknown.status_code == 422
    assert "No exam has that accession number." in unknown.content.decode()
    assert finished.status_code == 409
    assert "only an exam still to be done can wait" in finished.content.decode()
    assert not WaitlistEntry.objects.exists()
    with pytest.raises(Conflict):
        waitlist_add(order=done.order, by=admin)


def test_the_list_logs_one_read_per_patient_shown(place: BoardSite, admin: User) -> None:
    exams = [waiting(admin, "us-thyroid", days=d) for d in (1, 2)]
    director = make_user(Role.DIRECTOR)
    page = client_for(director).get(reverse("waitlist:list")).content.decode()
    rows = AccessLog.objects.filter(username=director.username, action="waitlist.list")
    assert sorted(rows.values_list("patient_mrn", flat=True)) == sorted(
        e.order.patient.mrn for e in exams
    )
    assert "Add an exam to the waitlist" not in page  # the director reads only
    assert ">Remove</button>" not in page
