"""Demo step: a handful of patients waiting for an earlier slot.

Half are booked a week or more ahead and would come sooner; half are authorized but not booked
yet. They are spread over the modalities the demo books, so freed slots on the board (demo
cancellations) have candidates to rank.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.utils import timezone

from radflow.core.exam_states import ExamState
from radflow.demo.context import DemoContext
from radflow.exams.models import Exam
from radflow.waitlist.models import WaitlistEntry

#: Entries made per kind (booked later / not booked yet).
PER_KIND = 6
PREFERENCES = ["", "", "mornings", "afternoons", "any time, short notice is fine", "not Fridays"]


def _now(ctx: DemoContext) -> datetime:
    if ctx.today == timezone.localdate():
        return timezone.now()
    naive = datetime.combine(ctx.today, time(10, 30))
    return naive.replace(tzinfo=ZoneInfo(timezone.get_current_timezone_name())).astimezone(UTC)


def generate(ctx: DemoContext) -> None:
    rng = ctx.random("waitlist")
    now = _now(ctx)
    by = User.objects.filter(username="scheduler").first()
    booked_later = list(
        Exam.objects.filter(state=ExamState.SCHEDULED, scheduled_start__gte=now + timedelta(days=7))
        .select_related("order")
        .order_by("accession_number")[:400]
    )
    unbooked = list(
        Exam.objects.filter(state=ExamState.AUTHORIZED)
        .select_related("order")
        .order_by("accession_number")[:400]
    )
    chosen = rng.sample(booked_later, min(PER_KIND, len(booked_later)))
    chosen += rng.sample(unbooked, min(PER_KIND, len(unbooked)))
    entries = []
    for exam in chosen:
        days = rng.randint(1, 20)
        wanted = exam.scheduled_start.date() if exam.scheduled_start else None
        entries.append(
            WaitlistEntry(
                order=exam.order,
                added_at=now - timedelta(days=days, minutes=rng.randint(0, 600)),
                added_by=by,
                wanted_before=wanted if wanted and rng.random() < 0.5 else None,
                preferred_times=rng.choice(PREFERENCES),
                priority=exam.order.priority,
                notes="Patient asked to be called if an earlier slot opens.",
            )
        )
    WaitlistEntry.objects.bulk_create(entries)
    ctx.log(f"{len(entries)} waitlist entries")
