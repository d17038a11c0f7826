"""Many people booking the same room at the same time: exactly one wins, nobody double-books.

The PostgreSQL test runs 200 requests on real threads, each with its own database connection,
through a pool of ``POOL`` connections at a time (the server allows 100 in all and is shared);
the exclusion constraints are what guarantees the outcome there. The SQLite test runs a few
threads against the IMMEDIATE-transaction path.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone

from radflow.core.errors import Conflict
from radflow.core.exam_states import ExamState
from radflow.credentials.reference import load_credential_reference
from radflow.exams.models import Exam
from radflow.scheduling import booking
from radflow.scheduling.models import Reservation
from tests.exams.factories import make_exam
from tests.scheduling.factories import BookingWorld, at, booking_world

REQUESTS = 200
POOL = 16

#: Overlapping active reservations of one resource: must always be none.
OVERLAPS = """
SELECT count(*) FROM scheduling_reservation a
JOIN scheduling_reservation b ON a.id < b.id AND a.active AND b.active
 AND a.start < b."end" AND b.start < a."end"
 AND (a.room_id = b.room_id OR a.device_id = b.device_id OR a.staff_id = b.staff_id
      OR a.interpreter_id = b.interpreter_id)
"""


def overlaps() -> int:
    with connection.cursor() as cursor:
        cursor.execute(OVERLAPS)
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def the_day() -> dt.date:
    return timezone.localdate() + dt.timedelta(days=7)


def setup_world(admin_user: User, exams: int) -> tuple[BookingWorld, list[Exam]]:
    load_credential_reference()
    world = booking_world(on=the_day())
    return world, [
        make_exam(ExamState.AUTHORIZED, by=admin_user, exam_type="us-thyroid") for _ in range(exams)
    ]


def race(world: BookingWorld, exams: list[Exam], by: User, start: dt.datetime) -> list[Any]:
    """Every exam asks for the same room, sonographer and time at once; the outcomes."""
    go = threading.Event()
    pool = threading.BoundedSemaphore(POOL)
    outcomes: list[Any] = []
    lock = threading.Lock()

    def request(exam: Exam) -> None:
        go.wait(timeout=60)
        with pool:
            try:
                booking.appointment_book(
                    exam=exam, by=by, room=world.room, start=start, staff=world.sonographer
                )
                result: Any = "booked"
            except Conflict as exc:
                result = exc
            except Exception as exc:  # anything else is a failure the test reports
                result = repr(exc)
            finally:
                connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=request, args=(exam,)) for exam in exams]
    for thread in threads:
        thread.start()
    go.set()
    for thread in threads:
        thread.join(timeout=600)
    return outcomes


@pytest.mark.database("postgresql")
@pytest.mark.django_db(transaction=True)
def test_two_hundred_concurrent_requests_for_one_slot_book_it_exactly_once(
    reference: None, admin_user: User
) -> None:
    world, exams = setup_world(admin_user, REQUESTS)
    start = at(the_day(), 9)
    outcomes = race(world, exams, admin_user, start)

    assert len(outcomes) == REQUESTS
    assert outcomes.count("booked") == 1
    losers = [o for o in outcomes if o != "booked"]
    assert all(isinstance(o, Conflict) for o in losers), Counter(map(str, losers))
    assert {o.code for o in losers} == {"slot_taken"}
    just_taken = "That slot was just taken: Ultrasound 1 is booked 09:00\u201309:30."
    already = f"Ultrasound 1 is already booked 09:00-09:30 on {the_day()}."
    assert {o.message for o in losers} <= {just_taken, already}
    assert any(o.message == just_taken for o in losers)
    for loser in losers:
        assert loser.options, "every loser is offered other slots"
        assert all(option.start != start for option in loser.options)
    assert Exam.objects.filter(state=ExamState.SCHEDULED).count() == 1
    assert Reservation.objects.filter(active=True).count() == 3  # room, scanner, sonographer
    assert overlaps() == 0


@pytest.mark.database("postgresql")
@pytest.mark.django_db(transaction=True)
def test_the_exclusion_constraint_refuses_an_overlap_the_application_did_not_see(
    reference: None, admin_user: User
) -> None:
    world, (first, second) = setup_world(admin_user, 2)
    start = at(the_day(), 9)
    booking.appointment_book(exam=first, by=admin_user, room=world.room, start=start)
    with pytest.raises(IntegrityError), transaction.atomic():
        later = start + dt.timedelta(minutes=10)
        Reservation.objects.create(room=world.room, start=later, end=later + dt.timedelta(hours=1))
    # A writer that skips the check (a race lost between check and insert) is refused by the
    # database, and the loser is told plainly.
    original = booking._first_clash
    calls = {"n": 0}

    def blind_first_check(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        return None if calls["n"] == 1 else original(*args, **kwargs)

    booking._first_clash = blind_first_check
    try:
        with pytest.raises(Conflict) as caught:
            booking.appointment_book(exam=second, by=admin_user, room=world.room, start=start)
    finally:
        booking._first_clash = original
    assert caught.value.code == "slot_taken"
    assert (
        caught.value.message == "That slot was just taken: Ultrasound 1 is booked 09:00\u201309:30."
    )
    assert caught.value.options  # type: ignore[attr-defined]
    second.refresh_from_db()
    assert second.state == ExamState.AUTHORIZED
    assert overlaps() == 0


@pytest.mark.database("sqlite")
@pytest.mark.django_db(transaction=True)
def test_a_few_concurrent_requests_on_sqlite_book_the_slot_once(
    reference: None, admin_user: User
) -> None:
    world, exams = setup_world(admin_user, 4)
    start = at(the_day(), 10)
    outcomes = race(world, exams, admin_user, start)
    assert outcomes.count("booked") == 1, outcomes
    losers = [o for o in outcomes if o != "booked"]
    assert all(isinstance(o, Conflict) and o.code == "slot_taken" for o in losers), losers
    assert all(o.options for o in losers)
    assert Exam.objects.filter(state=ExamState.SCHEDULED).count() == 1
    assert overlaps() == 0
